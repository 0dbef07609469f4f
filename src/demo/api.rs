//! The demo's record API (SPEC §10): a random HS256 secret per run (written to the demo's
//! temporary directory, removed with it), `api.listen` on a free loopback port, and one
//! token for a real manager of the generated company, so that one printed curl command
//! reads their report's record while the demo runs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use rand::RngCore;
use serde_json::Value;

use crate::config::{ApiConfig, Secret, SecretFile};

/// The `aud` of the demo's tokens.
pub const AUDIENCE: &str = "attendance-demo";

/// How long the demo's token is valid. The secret that signs it dies with the demo, so the
/// token is useless afterwards whatever its `exp`.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Bytes of randomness in the demo's secret (hex-encoded in its file).
const SECRET_BYTES: usize = 32;

/// Who the printed request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The employee whose record is read.
    pub employee_id: String,
    /// The token's `sub`: the employee's manager, or `demo-hr` with the `hr` role when no
    /// employee has a manager.
    pub sub: String,
    /// Whether the token carries `roles: ["hr"]`.
    pub hr: bool,
}

/// The record API settings for the demo: listener on `127.0.0.1:0`, audience [`AUDIENCE`],
/// a fresh random HS256 secret written to `dir`.
pub fn settings(dir: &Path) -> anyhow::Result<ApiConfig> {
    let mut bytes = [0_u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let mut secret = String::with_capacity(2 * SECRET_BYTES);
    for b in bytes {
        let _ = write!(secret, "{b:02x}");
    }
    let path = dir.join("api-hs256.secret");
    write_private(&path, &secret).with_context(|| format!("while writing {}", path.display()))?;
    Ok(ApiConfig {
        listen: Some(([127, 0, 0, 1], 0).into()),
        hs256_secret_file: Some(SecretFile {
            path,
            secret: Secret::new(secret),
        }),
        audience: AUDIENCE.to_owned(),
        ..ApiConfig::default()
    })
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The first employee of `roster_jsonl` (in file order, by their last roster record) who is
/// active, was hired by `hired_by` and has a manager: a manager reading a report's record.
/// Without one, any employee, read by an `hr` caller.
pub fn pick_caller(roster_jsonl: &str, hired_by: &str) -> Option<Caller> {
    let mut order = Vec::new();
    let mut last: HashMap<String, Value> = HashMap::new();
    for line in roster_jsonl.lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(id) = value["employee_id"].as_str().map(str::to_owned) else {
            continue;
        };
        if !last.contains_key(&id) {
            order.push(id.clone());
        }
        last.insert(id, value);
    }
    let managed = order.iter().find_map(|id| {
        let v = last.get(id)?;
        let manager = v["manager_id"].as_str().filter(|m| !m.is_empty())?;
        let active = v["status"].as_str() == Some("active");
        // ISO dates compare as text.
        let hired = v["hire_date"].as_str().is_some_and(|d| d <= hired_by);
        (active && hired).then(|| Caller {
            employee_id: id.clone(),
            sub: manager.to_owned(),
            hr: false,
        })
    });
    managed.or_else(|| {
        order.first().map(|id| Caller {
            employee_id: id.clone(),
            sub: "demo-hr".to_owned(),
            hr: true,
        })
    })
}

/// A token for `caller` signed with `settings`' secret, valid for [`TOKEN_LIFETIME`].
pub fn token(settings: &ApiConfig, caller: &Caller) -> anyhow::Result<String> {
    let secret = settings
        .hs256_secret_file
        .as_ref()
        .context("the demo's API has no secret")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let roles: &[&str] = if caller.hr { &["hr"] } else { &[] };
    let claims = serde_json::json!({
        "sub": caller.sub,
        "aud": settings.audience,
        "iat": now,
        "exp": now + TOKEN_LIFETIME.as_secs(),
        "roles": roles,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.secret.expose().as_bytes()),
    )
    .context("while signing the demo's token")
}

/// The one curl command the demo prints.
pub fn curl(addr: std::net::SocketAddr, token: &str, employee_id: &str) -> String {
    format!(
        "curl -sS -H 'Authorization: Bearer {token}' http://{addr}/v1/employees/{employee_id}/record"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manager_of_an_active_employee_hired_in_time_is_picked() {
        let roster = [
            r#"{"employee_id":"e-1","manager_id":"m-1","status":"active","hire_date":"2026-09-01"}"#,
            r#"{"employee_id":"e-2","manager_id":null,"status":"active","hire_date":"2020-01-01"}"#,
            r#"{"employee_id":"e-3","manager_id":"m-1","status":"active","hire_date":"2020-01-01"}"#,
            "not json",
            r#"{"employee_id":"e-4","manager_id":"m-2","status":"active","hire_date":"2020-01-01"}"#,
            r#"{"employee_id":"e-3","manager_id":"m-1","status":"terminated","hire_date":"2020-01-01"}"#,
        ]
        .join("\n");
        let caller = pick_caller(&roster, "2026-01-05").expect("a caller");
        assert_eq!(
            caller,
            Caller {
                employee_id: "e-4".into(),
                sub: "m-2".into(),
                hr: false
            }
        );
        let nobody_managed = r#"{"employee_id":"e-2","manager_id":"","status":"active"}"#;
        let caller = pick_caller(nobody_managed, "2026-01-05").expect("a caller");
        assert!(caller.hr && caller.employee_id == "e-2");
        assert_eq!(pick_caller("", "2026-01-05"), None);
    }

    #[test]
    fn the_token_verifies_against_the_demo_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = settings(dir.path()).expect("settings");
        let on_disk = std::fs::read_to_string(dir.path().join("api-hs256.secret")).expect("file");
        assert_eq!(on_disk.len(), 2 * SECRET_BYTES);
        let other = tempfile::tempdir().expect("tempdir");
        assert_ne!(
            on_disk,
            std::fs::read_to_string(settings_path(
                &super::settings(other.path()).expect("settings")
            ))
            .expect("file"),
            "a new secret per run"
        );
        let caller = Caller {
            employee_id: "e-1".into(),
            sub: "m-1".into(),
            hr: false,
        };
        let token = token(&settings, &caller).expect("token");
        let verifier =
            crate::api::Verifier::new(AUDIENCE, None, Some(on_disk.as_bytes())).expect("verifier");
        let header = format!("Bearer {token}");
        let verified = verifier.verify(Some(header.as_bytes())).expect("valid");
        assert_eq!((verified.sub.as_str(), verified.hr), ("m-1", false));
        let line = curl(([127, 0, 0, 1], 8080).into(), &token, "e-1");
        assert!(
            line.ends_with("http://127.0.0.1:8080/v1/employees/e-1/record"),
            "{line}"
        );
    }

    fn settings_path(settings: &ApiConfig) -> std::path::PathBuf {
        settings
            .hs256_secret_file
            .as_ref()
            .map(|s| s.path.clone())
            .expect("secret file")
    }
}
