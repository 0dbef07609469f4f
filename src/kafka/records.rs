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
//! `ce_source` is `/attendance-compliance/<group id>`, `ce_time` the processing time, and
//! `content-type` is `application/json`. Every `ce_id` is deterministic, so consumers can
//! de-duplicate on it.

use rdkafka::message::{Header, OwnedHeaders};

use crate::config::{OutputTopic, TopicsConfig};
use crate::domain::output::{DeadLetter, Source};
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

fn headers(
    id: &str,
    ce_type: &str,
    source: &str,
    time: &str,
    subject: Option<&str>,
) -> OwnedHeaders {
    let mut h = OwnedHeaders::new_with_capacity(7)
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
                &d.decision_id,
                CE_TYPE_DECISION,
                ce_source,
                ce_time,
                Some(d.employee_id.as_str()),
            ),
        },
        Output::Change(c) => OutputRecord {
            topic: topics.output(OutputTopic::Changes),
            key: Some(c.employee_id.as_str().as_bytes()),
            payload: json(c),
            headers: headers(
                &c.change_id,
                CE_TYPE_CHANGE,
                ce_source,
                ce_time,
                Some(c.employee_id.as_str()),
            ),
        },
        Output::Alert(a) => OutputRecord {
            topic: topics.output(OutputTopic::Alerts),
            key: Some(a.manager_id.as_bytes()),
            payload: json(a),
            headers: headers(
                &a.alert_id,
                CE_TYPE_ALERT,
                ce_source,
                ce_time,
                Some(a.employee_id.as_str()),
            ),
        },
        Output::DeadLetter(dl) => OutputRecord {
            topic: topics.output(OutputTopic::DeadLetters),
            key: input_key,
            payload: json(dl),
            headers: headers(
                &dead_letter_id(dl),
                CE_TYPE_DEAD_LETTER,
                ce_source,
                ce_time,
                input_key
                    .and_then(|k| std::str::from_utf8(k).ok())
                    .filter(|k| !k.is_empty()),
            ),
        },
        Output::AlertWithoutManager(_) | Output::WeekClosed(_) => return None,
    };
    Some(record)
}

/// Serializing these plain structs into a Vec cannot fail.
fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
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
        let value: serde_json::Value = serde_json::from_slice(&record.payload).expect("valid JSON");
        assert_eq!(value["source"]["offset"], 1881);
    }
}
