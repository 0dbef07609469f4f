//! Parsers for single processor values, shared by `processor.toml` and the environment.
//!
//! Each takes the raw value and returns the typed one or a one-line message; none knows
//! which file or variable the value came from (the caller adds that).

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use super::limits::{format_duration, BROKERS_BYTES, TOPIC_BYTES};
use super::parse_duration;
use super::raw::DurationText;

pub(crate) fn duration(text: DurationText) -> Result<Duration, String> {
    parse_duration(&text.0)
}

/// A duration within `min..=max`. A zero below a positive minimum is "must be longer than
/// zero" (an interval the service waits on).
pub(crate) fn duration_in(
    text: DurationText,
    (min, max): (Duration, Duration),
) -> Result<Duration, String> {
    let value = duration(text.clone())?;
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    let (min, max) = (format_duration(min), format_duration(max));
    if value.is_zero() {
        Err(format!(
            "must be longer than zero (between {min} and {max})"
        ))
    } else {
        Err(format!("must be between {min} and {max}, got {:?}", text.0))
    }
}

/// Text of `min..=max` bytes without control characters; blank text is "must not be empty"
/// when `min` is positive.
pub(crate) fn text_in(text: String, (min, max): (usize, usize)) -> Result<String, String> {
    if min > 0 && text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else if text.len() < min || text.len() > max {
        Err(format!(
            "must be {min} to {max} bytes, got {} bytes",
            text.len()
        ))
    } else if text.chars().any(super::is_unsafe_char) {
        Err(format!("must not contain control characters, got {text:?}"))
    } else {
        Ok(text)
    }
}

pub(crate) fn in_range<T: TryFrom<i64>>(value: i64, (min, max): (i64, i64)) -> Result<T, String> {
    if (min..=max).contains(&value) {
        T::try_from(value).map_err(|_| format!("must be between {min} and {max}, got {value}"))
    } else {
        Err(format!("must be between {min} and {max}, got {value}"))
    }
}

pub(crate) fn broker_list(text: String) -> Result<String, String> {
    let text = text_in(text, BROKERS_BYTES)?;
    if text.split(',').any(|broker| broker.trim().is_empty()) {
        Err(format!(
            "expected comma-separated host:port entries, got {text:?}"
        ))
    } else {
        Ok(text)
    }
}

/// Kafka's rule: 1 to 249 characters of `[A-Za-z0-9._-]`, not `.` or `..`.
pub(crate) fn topic_name(name: String) -> Result<String, String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let (min, max) = TOPIC_BYTES;
    if name.len() < min || name.len() > max || !valid_chars || name == "." || name == ".." {
        Err(format!(
            "invalid Kafka topic name {name:?}: use {min} to {max} characters of A-Z, a-z, 0-9, '.', '_', '-'"
        ))
    } else {
        Ok(name)
    }
}

/// An `IP:port` address; host names are not resolved here.
pub(crate) fn socket_address(text: String) -> Result<SocketAddr, String> {
    SocketAddr::from_str(&text)
        .map_err(|_| format!("expected IP:port such as \"0.0.0.0:9464\", got {text:?}"))
}

/// An optional `IP:port`: `""` is none (the listener is off).
pub(crate) fn optional_socket_address(text: String) -> Result<Option<SocketAddr>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    socket_address(text).map(Some)
}

/// An optional API base URL (`http://host:port`): `""` is none (derived from `api.listen`).
pub(crate) fn optional_base_url(text: String) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_base_url(&text).map(Some)
}

/// A file the process can open for reading (`api.jwks_file`, TLS files). An empty path
/// unsets the setting. Its contents are read, and checked, where they are used.
pub(crate) fn readable_file(path: String) -> Result<Option<std::path::PathBuf>, String> {
    if path.is_empty() {
        return Ok(None);
    }
    let file = std::fs::File::open(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path} is not a file"));
    }
    Ok(Some(path.into()))
}

/// A warning for a `log.level` that is a single word but no level name: the logging filter
/// would read it as a target name (e.g. `"verbose"`), which is almost never meant.
pub(crate) fn log_level_warning(level: &str) -> Option<String> {
    let word = level.trim();
    let is_bare_word = !word.is_empty() && !word.contains(['=', ',', '[', '{', ':']);
    (is_bare_word && !is_level_name(word)).then(|| {
        format!(
            "{level:?} is not a level (trace, debug, info, warn, error, off); \
             it will be read as a target name"
        )
    })
}

fn is_level_name(word: &str) -> bool {
    ["trace", "debug", "info", "warn", "error", "off"]
        .iter()
        .any(|level| level.eq_ignore_ascii_case(word))
}

/// Flattens `[kafka.client]`, where `security.protocol = "SSL"` written without quotes is a
/// nested table, into `("security.protocol", "SSL")` pairs; numbers and booleans become text.
pub(crate) fn flatten_client(
    table: toml::Table,
    prefix: &str,
    out: &mut Vec<(String, Result<String, String>)>,
) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        let text = match value {
            toml::Value::Table(nested) => {
                flatten_client(nested, &name, out);
                continue;
            }
            toml::Value::String(text) => Ok(text),
            toml::Value::Integer(number) => Ok(number.to_string()),
            toml::Value::Float(number) => Ok(number.to_string()),
            toml::Value::Boolean(flag) => Ok(flag.to_string()),
            other => Err(format!(
                "expected a string, number or boolean, got {}",
                other.type_str()
            )),
        };
        out.push((name, text));
    }
}

/// Reads a secret file (`kafka.sasl_password_file`, ...). An empty path unsets the setting.
/// Messages name the path and the problem, never the contents.
pub(crate) fn secret_file(path: String) -> Result<Option<super::SecretFile>, String> {
    if path.is_empty() {
        return Ok(None);
    }
    let max = super::limits::SECRET_FILE_MAX_BYTES;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(&path).map_err(|e| format!("cannot read {path}: {e}"))?,
            max as u64 + 1,
        ),
        &mut bytes,
    )
    .map_err(|e| format!("cannot read {path}: {e}"))?;
    if bytes.len() > max {
        return Err(format!("{path} holds more than {max} bytes"));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))?;
    let secret = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if secret.is_empty() {
        return Err(format!("{path} is empty"));
    }
    if secret.contains(['\n', '\r', '\0']) {
        return Err(format!("{path} holds more than one line"));
    }
    Ok(Some(super::SecretFile {
        path: path.into(),
        secret: super::Secret::new(secret),
    }))
}

/// Longest API base URL, in bytes.
pub const MAX_URL_BYTES: usize = 256;

/// An API base URL other instances can reach: `http://host[:port]` or `https://host[:port]`,
/// no path, query or user info (the forwarder speaks HTTP/1.1, over TLS for `https`).
/// Returns the URL without a trailing `/`.
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let shape = "expected http://host:port or https://host:port, such as \
                 \"https://pod-0.attendance:8081\"";
    if text.len() > MAX_URL_BYTES {
        return Err(format!(
            "{shape}; got {} bytes, at most {MAX_URL_BYTES}",
            text.len()
        ));
    }
    let Some((scheme, authority)) = ["https://", "http://"]
        .into_iter()
        .find_map(|scheme| Some((scheme, text.strip_prefix(scheme)?)))
    else {
        return Err(format!("{shape}, got {text:?}"));
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        // [v6]:port
        let Some((v6, after)) = rest.split_once(']') else {
            return Err(format!("{shape}, got {text:?}"));
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{shape}, got {text:?}"));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| format!("{shape}, got {text:?}"))?,
            ),
        };
        (v6, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && (authority.starts_with('[')
            || host
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) && p.parse::<u16>().is_ok()
    });
    if !host_ok || !port_ok {
        return Err(format!("{shape}, got {text:?}"));
    }
    Ok(format!("{scheme}{authority}"))
}

#[cfg(test)]
mod secret_file_tests {
    use super::secret_file;

    fn file(contents: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, contents).expect("write");
        f
    }

    fn path(f: &tempfile::NamedTempFile) -> String {
        f.path().to_str().expect("utf-8 path").to_owned()
    }

    #[test]
    fn one_trailing_newline_is_dropped_and_the_secret_never_prints() {
        let f = file(b"s3cret-value\r\n");
        let read = secret_file(path(&f)).expect("readable").expect("set");
        assert_eq!(read.secret.expose(), "s3cret-value");
        let printed = format!("{read:?} {}", read.secret);
        assert!(!printed.contains("s3cret"), "{printed}");
    }

    #[test]
    fn empty_path_unsets_and_bad_files_are_named_without_their_contents() {
        assert_eq!(secret_file(String::new()), Ok(None));
        let empty = file(b"\n");
        let message = secret_file(path(&empty)).expect_err("empty");
        assert!(message.ends_with("is empty"), "{message}");
        let two = file(b"line-one-secret\nline-two-secret\n");
        let message = secret_file(path(&two)).expect_err("two lines");
        assert!(!message.contains("line-one"), "{message}");
        let missing = secret_file("/nonexistent/password".to_owned()).expect_err("missing");
        assert!(message.contains(&path(&two)), "{message}");
        assert!(missing.contains("/nonexistent/password"), "{missing}");
    }
}
