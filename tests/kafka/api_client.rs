//! What the record API's Kafka tests and benchmark share: HS256 tokens, the service's
//! `[api]` settings for an instance on a loopback port, and one HTTP/1.1 GET.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::{Kafka, Topics};

/// The HS256 secret the services are given (`api.hs256_secret_file`).
pub(crate) const SECRET: &str = "a test-only HS256 secret of more than 32 bytes";

/// A token for `sub` (audience `attendance`, valid for an hour).
pub(crate) fn token(sub: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    let claims = serde_json::json!({"sub": sub, "aud": "attendance", "exp": exp});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token")
}

/// A free loopback port (bound, then released for the service).
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// The access-log topic and the secret file of one test's services.
pub(crate) struct ApiSetup {
    /// The audit topic (`api.access_log_topic`), created with one partition.
    pub(crate) access_log: String,
    secret: PathBuf,
}

impl ApiSetup {
    /// Creates `<badges>-access-log` and writes [`SECRET`] to `dir/api-secret`.
    pub(crate) fn new(kafka: &Kafka, topics: &Topics, dir: &std::path::Path) -> Self {
        let access_log = format!("{}-access-log", topics.badges);
        kafka.create_topic(&access_log, 1);
        let secret = dir.join("api-secret");
        std::fs::write(&secret, SECRET).expect("secret file");
        Self { access_log, secret }
    }

    /// The settings of an instance serving the API on `127.0.0.1:port` (a specific IP: its
    /// advertised URL is derived from it).
    pub(crate) fn env(&self, port: u16) -> Vec<(String, String)> {
        vec![
            (
                "ATTENDANCE__API__LISTEN".into(),
                format!("127.0.0.1:{port}"),
            ),
            ("ATTENDANCE__API__AUDIENCE".into(), "attendance".into()),
            (
                "ATTENDANCE__API__ACCESS_LOG_TOPIC".into(),
                self.access_log.clone(),
            ),
            (
                "ATTENDANCE__API__HS256_SECRET_FILE".into(),
                self.secret.to_str().expect("utf-8 path").into(),
            ),
        ]
    }
}

/// One answer of the API.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: String,
    /// From connect to the last byte.
    pub(crate) elapsed: Duration,
}

/// `GET path` on `port` on a new connection (HTTP/1.1, `Connection: close`).
pub(crate) fn get(port: u16, path: &str, bearer: Option<&str>) -> Answer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the API");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let elapsed = started.elapsed();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let retry_after = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().to_owned())
    });
    Answer {
        status,
        retry_after,
        body: body.to_owned(),
        elapsed,
    }
}
