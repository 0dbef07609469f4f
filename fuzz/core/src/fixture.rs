//! What every target shares: the configuration `generate` writes (`fuzz/fixture/config/`), a
//! processor built from it, and the checks on dead letters.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::config::Config;
use crate::domain::output::{DeadLetter, Source};
use crate::domain::Timestamp;
use crate::engine::Output;
use crate::processor::Processor;

/// The fuzz fixture configuration: what `attendance-compliance generate` writes (8 sites in 8 zones).
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixture/config")
}

/// The example configuration, loaded once.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| match Config::load_with_env(&config_dir(), Vec::new()) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("the example configuration must load: {e}"),
    })
}

/// A fresh processor for the example configuration (cloned from a prototype: building the
/// rules once per input would dominate the run).
pub fn processor() -> Processor {
    static PROTOTYPE: OnceLock<Processor> = OnceLock::new();
    PROTOTYPE.get_or_init(|| Processor::new(config())).clone()
}

/// The processing clock the decoder targets use: 2026-05-10T00:00:00Z.
pub fn now() -> Timestamp {
    Timestamp::from_unix(1_778_371_200, 0)
}

/// A replay-style source for dead letters.
pub fn source() -> Source {
    Source::File {
        file: "fuzz.jsonl".into(),
        line: 1,
    }
}

/// Whether `c` starts a new line for some reader (C0/C1 controls, DEL, U+2028/U+2029).
pub fn breaks_lines(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// A rejection's detail must be one printable line, whatever the input echoed into it.
pub fn check_detail(detail: &str) {
    assert!(!detail.is_empty(), "empty dead-letter detail");
    assert!(
        !detail.chars().any(breaks_lines),
        "dead-letter detail is not one printable line: {detail:?}"
    );
}

/// Checks every output: dead letters have a one-line detail and serialize to one JSON line.
pub fn check_outputs(outputs: &[Output]) {
    for output in outputs {
        if let Output::DeadLetter(dead) = output {
            check_dead_letter(dead);
        }
    }
}

fn check_dead_letter(dead: &DeadLetter) {
    check_detail(&dead.detail);
    match serde_json::to_string(dead) {
        Ok(json) => assert!(!json.contains('\n'), "dead letter JSON spans lines"),
        Err(e) => panic!("dead letter does not serialize: {e}"),
    }
}
