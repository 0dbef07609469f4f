//! Engine outputs as Kafka records (§6): topic, key, JSON value and CloudEvents 1.0
//! binary-mode headers.
//!
//! | output | topic | key | `ce_type` | `ce_id` |
//! |---|---|---|---|---|
//! | decision | `topics.decisions` | employee_id | `com.attendance.decision.v1` | decision_id |
//! | compliance change | `topics.changes` | employee_id | `com.attendance.compliance_change.v1` | change_id |
//! | manager alert | `topics.alerts` | manager_id | `com.attendance.manager_alert.v1` | alert_id |
//! | dead letter | `topics.dead_letters` | the input's key, as received | `com.attendance.dead_letter.v1` | `dead-letter:<topic>:<partition>:<offset>` |
//!
//! `ce_subject` is the employee id (for a dead letter: the input key when it is UTF-8),
//! `ce_source` is `/attendance-compliance/<group id>`, `ce_time` the processing time,
//! `ce_dataschema` the `$id` of the value's JSON Schema in `schemas/` with the value's
//! `schema_version` as query (`…/schemas/decision.schema.json?schema_version=2`), and
//! `content-type` is `application/json`. Every `ce_id` is deterministic, so consumers can
//! de-duplicate on it. docs/CONSUMERS.md is the consumer's contract.

use rdkafka::message::{Header, OwnedHeaders};

use crate::config::{OutputTopic, TopicsConfig};
use crate::domain::output::{
    DeadLetter, Source, WriteJson, DECISION_SCHEMA_VERSION, SCHEMA_VERSION,
};
use crate::engine::Output;

/// CloudEvents `specversion`.
pub const CE_SPECVERSION: &str = "1.0";
/// `ce_type` of decisions.
pub const CE_TYPE_DECISION: &str = "com.attendance.decision.v1";
/// `ce_type` of compliance changes.
pub const CE_TYPE_CHANGE: &str = "com.attendance.compliance_change.v1";
/// `ce_type` of manager alerts.
pub const CE_TYPE_ALERT: &str = "com.attendance.manager_alert.v1";
/// `ce_type` of dead letters.
pub const CE_TYPE_DEAD_LETTER: &str = "com.attendance.dead_letter.v1";

/// The `$id` prefix of the project's JSON Schemas (`schemas/*.schema.json`).
pub const SCHEMA_ID_BASE: &str = "https://attendance-compliance.example/schemas/";

/// `ce_dataschema` of decisions: `$id` of schemas/decision.schema.json, version 2.
pub const CE_DATASCHEMA_DECISION: &str =
    "https://attendance-compliance.example/schemas/decision.schema.json?schema_version=2";
/// `ce_dataschema` of compliance changes (schemas/compliance-change.schema.json, version 1).
pub const CE_DATASCHEMA_CHANGE: &str =
    "https://attendance-compliance.example/schemas/compliance-change.schema.json?schema_version=1";
/// `ce_dataschema` of manager alerts (schemas/manager-alert.schema.json, version 1).
pub const CE_DATASCHEMA_ALERT: &str =
    "https://attendance-compliance.example/schemas/manager-alert.schema.json?schema_version=1";
/// `ce_dataschema` of dead letters (schemas/dead-letter.schema.json, version 1).
pub const CE_DATASCHEMA_DEAD_LETTER: &str =
    "https://attendance-compliance.example/schemas/dead-letter.schema.json?schema_version=1";

// The versions in the URIs are the ones the values carry.
const _: () = assert!(DECISION_SCHEMA_VERSION == 2 && SCHEMA_VERSION == 1);

/// One output record, ready to send.
#[derive(Debug)]
pub struct OutputRecord<'a> {
    /// Destination topic.
    pub topic: &'a str,
    /// Record key (`None`: a dead letter of a message that had no key).
    pub key: Option<&'a [u8]>,
    /// JSON value.
    pub payload: Vec<u8>,
    /// CloudEvents headers.
    pub headers: OwnedHeaders,
}

/// The deterministic CloudEvents id of a dead letter.
pub fn dead_letter_id(dead_letter: &DeadLetter) -> String {
    match &dead_letter.source {
        Source::Kafka {
            topic,
            partition,
            offset,
        } => format!("dead-letter:{topic}:{partition}:{offset}"),
        Source::File { file, line } => format!("dead-letter:{file}:{line}"),
    }
}

/// What a record's CloudEvents headers say of the record itself.
struct Event<'a> {
    id: &'a str,
    ce_type: &'static str,
    dataschema: &'static str,
    subject: Option<&'a str>,
}

fn headers(event: &Event<'_>, source: &str, time: &str) -> OwnedHeaders {
    let Event {
        id,
        ce_type,
        dataschema,
        subject,
    } = *event;
    let mut h = OwnedHeaders::new_with_capacity(8)
        .insert(Header {
            key: "ce_specversion",
            value: Some(CE_SPECVERSION),
        })
        .insert(Header {
            key: "ce_id",
            value: Some(id),
        })
        .insert(Header {
            key: "ce_type",
            value: Some(ce_type),
        })
        .insert(Header {
            key: "ce_source",
            value: Some(source),
        })
        .insert(Header {
            key: "ce_time",
            value: Some(time),
        })
        .insert(Header {
            key: "ce_dataschema",
            value: Some(dataschema),
        });
    if let Some(subject) = subject {
        h = h.insert(Header {
            key: "ce_subject",
            value: Some(subject),
        });
    }
    h.insert(Header {
        key: "content-type",
        value: Some("application/json"),
    })
}

/// The record for `output`; `None` for outputs that are not records (an alert without a
/// manager). `input_key` is the key of the input message being processed (dead letters
/// keep it); `ce_source` and `ce_time` fill the headers of the same names.
pub fn to_record<'a>(
    output: &'a Output,
    topics: &'a TopicsConfig,
    input_key: Option<&'a [u8]>,
    ce_source: &str,
    ce_time: &str,
) -> Option<OutputRecord<'a>> {
    let record = match output {
        Output::Decision(d) => OutputRecord {
            topic: topics.output(OutputTopic::Decisions),
            key: Some(d.employee_id.as_str().as_bytes()),
            payload: json(d),
            headers: headers(
                &Event {
                    id: &d.decision_id,
                    ce_type: CE_TYPE_DECISION,
                    dataschema: CE_DATASCHEMA_DECISION,
                    subject: Some(d.employee_id.as_str()),
                },
                ce_source,
                ce_time,
            ),
        },
        Output::Change(c) => OutputRecord {
            topic: topics.output(OutputTopic::Changes),
            key: Some(c.employee_id.as_str().as_bytes()),
            payload: json(c),
            headers: headers(
                &Event {
                    id: &c.change_id,
                    ce_type: CE_TYPE_CHANGE,
                    dataschema: CE_DATASCHEMA_CHANGE,
                    subject: Some(c.employee_id.as_str()),
                },
                ce_source,
                ce_time,
            ),
        },
        Output::Alert(a) => OutputRecord {
            topic: topics.output(OutputTopic::Alerts),
            key: Some(a.manager_id.as_bytes()),
            payload: json(a),
            headers: headers(
                &Event {
                    id: &a.alert_id,
                    ce_type: CE_TYPE_ALERT,
                    dataschema: CE_DATASCHEMA_ALERT,
                    subject: Some(a.employee_id.as_str()),
                },
                ce_source,
                ce_time,
            ),
        },
        Output::DeadLetter(dl) => OutputRecord {
            topic: topics.output(OutputTopic::DeadLetters),
            key: input_key,
            payload: json(dl),
            headers: headers(
                &Event {
                    id: &dead_letter_id(dl),
                    ce_type: CE_TYPE_DEAD_LETTER,
                    dataschema: CE_DATASCHEMA_DEAD_LETTER,
                    subject: input_key
                        .and_then(|k| std::str::from_utf8(k).ok())
                        .filter(|k| !k.is_empty()),
                },
                ce_source,
                ce_time,
            ),
        },
        Output::AlertWithoutManager(_) | Output::WeekClosed(_) => return None,
    };
    Some(record)
}

/// The payload: the same bytes as the replay files' lines (without the newline).
fn json<T: WriteJson>(value: &T) -> Vec<u8> {
    value.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DeadLetterReason;
    use rdkafka::message::Headers;

    #[test]
    fn dead_letter_keeps_the_input_key_and_gets_a_deterministic_id() {
        let topics = TopicsConfig::default();
        let dl = DeadLetter::new(
            DeadLetterReason::MalformedJson,
            "not json".into(),
            Source::Kafka {
                topic: "badge-events".into(),
                partition: 3,
                offset: 1881,
            },
            b"{oops",
        );
        let output = Output::DeadLetter(dl);
        let record = to_record(
            &output,
            &topics,
            Some(b"e-42"),
            "/attendance-compliance/g",
            "2026-05-05T10:00:00Z",
        )
        .expect("a dead letter is a record");
        assert_eq!(record.topic, "attendance-dead-letters");
        assert_eq!(record.key, Some(&b"e-42"[..]));
        let headers: Vec<(String, String)> = record
            .headers
            .iter()
            .map(|h| {
                (
                    h.key.to_owned(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect();
        assert!(headers.contains(&("ce_id".into(), "dead-letter:badge-events:3:1881".into())));
        assert!(headers.contains(&("ce_subject".into(), "e-42".into())));
        assert!(headers.contains(&("ce_specversion".into(), "1.0".into())));
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
        assert!(headers.contains(&("ce_dataschema".into(), CE_DATASCHEMA_DEAD_LETTER.into())));
        assert_eq!(headers.len(), 8, "{headers:?}");
        let value: serde_json::Value = serde_json::from_slice(&record.payload).expect("valid JSON");
        assert_eq!(value["source"]["offset"], 1881);
    }

    /// `ce_dataschema` names the schema file by its `$id` and the version the values carry.
    #[test]
    fn dataschema_is_the_schema_id_and_its_version() {
        for (uri, file, version) in [
            (CE_DATASCHEMA_DECISION, "decision", DECISION_SCHEMA_VERSION),
            (CE_DATASCHEMA_CHANGE, "compliance-change", SCHEMA_VERSION),
            (CE_DATASCHEMA_ALERT, "manager-alert", SCHEMA_VERSION),
            (CE_DATASCHEMA_DEAD_LETTER, "dead-letter", SCHEMA_VERSION),
        ] {
            let path = format!("{}/schemas/{file}.schema.json", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("schema file");
            let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
            let id = schema["$id"].as_str().expect("$id");
            assert_eq!(id, format!("{SCHEMA_ID_BASE}{file}.schema.json"));
            assert_eq!(uri, format!("{id}?schema_version={version}"));
            // The schema pins the version the URI names.
            assert_eq!(
                schema["properties"]["schema_version"]["const"],
                serde_json::json!(version),
                "{file}"
            );
        }
    }
}
