//! Logging: format selection, JSON lines, filter, pseudonyms.

use std::io::Write;
use std::sync::{Arc, Mutex};

use attendance_compliance::config::{LogConfig, LogFormat, PrivacyConfig, Secret};
use attendance_compliance::telemetry::{subscriber, uses_json, Pseudonym};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("buffer").clone()).expect("utf-8 logs")
    }
}

fn log(format: LogFormat, level: &str) -> LogConfig {
    LogConfig {
        format,
        level: level.to_owned(),
    }
}

#[test]
fn auto_is_text_on_a_terminal_and_json_otherwise() {
    assert!(!uses_json(LogFormat::Auto, true));
    assert!(uses_json(LogFormat::Auto, false));
    assert!(uses_json(LogFormat::Json, true));
    assert!(!uses_json(LogFormat::Text, false));
}

#[test]
fn json_lines_carry_level_message_and_fields() {
    let buffer = Buffer::default();
    let sub = subscriber(&log(LogFormat::Auto, "info"), false, buffer.clone()).expect("subscriber");
    tracing::subscriber::with_default(sub, || {
        tracing::info!(partitions = 3, "partitions assigned");
        tracing::debug!("per batch detail, filtered out at info");
    });
    let text = buffer.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let value: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
    assert_eq!(value["level"], "INFO");
    assert_eq!(value["message"], "partitions assigned");
    assert_eq!(value["partitions"], 3);
}

#[test]
fn text_format_is_human_readable() {
    let buffer = Buffer::default();
    let sub =
        subscriber(&log(LogFormat::Text, "debug"), false, buffer.clone()).expect("subscriber");
    tracing::subscriber::with_default(sub, || tracing::debug!(records = 10, "restore finished"));
    let text = buffer.text();
    assert!(
        text.contains("DEBUG") && text.contains("restore finished records=10"),
        "{text}"
    );
    assert!(serde_json::from_str::<serde_json::Value>(text.trim()).is_err());
}

#[test]
fn an_invalid_filter_is_reported() {
    let error = subscriber(
        &log(LogFormat::Json, "info,=[bad"),
        false,
        Buffer::default(),
    )
    .err()
    .expect("invalid filter");
    assert!(error.to_string().contains("log.level"), "{error}");
}

#[test]
fn pseudonyms_are_keyed_stable_and_hide_the_id() {
    let privacy = |key: &str, raw: bool| PrivacyConfig {
        log_employee_ids: raw,
        pseudonym_key: Secret::new(key),
    };
    let a = Pseudonym::new(&privacy("key-a", false));
    let b = Pseudonym::new(&privacy("key-b", false));
    let name = a.name("e-42");
    assert_eq!(name, a.name("e-42"), "stable");
    assert_ne!(name, a.name("e-43"));
    assert_ne!(name, b.name("e-42"), "depends on the key");
    assert!(name.starts_with("p:") && name.len() == 18, "{name}");
    assert!(!name.contains("42"));
    // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
    let rfc = Pseudonym::keyed(b"Jefe");
    assert_eq!(
        rfc.name("what do ya want for nothing?"),
        "p:5bdcc146bf60754e"
    );
    let raw = Pseudonym::new(&privacy("key-a", true));
    assert!(raw.logs_raw_ids());
    assert_eq!(raw.name("e-42"), "e-42");
    assert!(!format!("{a:?}").contains("key-a"));
}

#[test]
fn per_employee_events_are_logged_at_debug_under_the_pseudonym_only() {
    use attendance_compliance::engine::Output;
    use attendance_compliance::telemetry::log_output;

    let outputs = crate::helpers::drive_basic_week(&attendance_compliance::metrics::Metrics::new());
    assert!(outputs.iter().any(|o| matches!(o, Output::Decision(_))));
    let pseudonym = Pseudonym::new(&PrivacyConfig {
        log_employee_ids: false,
        pseudonym_key: Secret::new("key-a"),
    });

    let debug = Buffer::default();
    let sub = subscriber(&log(LogFormat::Json, "debug"), false, debug.clone()).expect("subscriber");
    tracing::subscriber::with_default(sub, || {
        outputs.iter().for_each(|o| log_output(&pseudonym, o))
    });
    let text = debug.text();
    let mut named = 0;
    for output in &outputs {
        if let Output::Decision(d) = output {
            let id = d.employee_id.as_str();
            assert!(
                text.contains(&pseudonym.name(id)),
                "no pseudonym for a decision: {text}"
            );
            assert!(
                !text.contains(&format!("\"{id}\"")),
                "raw id {id} in the logs: {text}"
            );
            named += 1;
        }
    }
    assert!(named > 0);

    let info = Buffer::default();
    let sub = subscriber(&log(LogFormat::Json, "info"), false, info.clone()).expect("subscriber");
    tracing::subscriber::with_default(sub, || {
        outputs.iter().for_each(|o| log_output(&pseudonym, o))
    });
    assert_eq!(info.text(), "", "per-employee events are DEBUG only");
}
