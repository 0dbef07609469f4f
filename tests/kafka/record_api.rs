//! The record API served by `run` (SPEC §10) on the real broker: one instance owning the
//! only partition answers an employee's record with `weeks` equal to the latest decisions
//! the decisions topic carries for them, newest first; 401 without a token, 403 for a
//! stranger; and the request counter moves. With `api.tls_cert_file` and `api.tls_key_file`
//! (a certificate made by the `openssl` command), the same record is served over TLS and
//! plain HTTP on the port gets no answer.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;
use serde_json::Value;

use crate::api_client::{free_port, get, token, ApiSetup};
use crate::harness::{start_monday, Company, Kafka, Outputs, Service, ServiceEnv, Topics};

pub(crate) fn served_record_equals_the_decisions_topic(kafka: &Kafka) {
    let topics = Topics::unique("record");
    kafka.create_topics(&topics, 1, &[]);
    let weeks = 3;
    let options = GenerateOptions {
        employees: 60,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 11,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, 1, "record");
    let api = ApiSetup::new(kafka, &topics, company.dir.path());
    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let port = free_port();
    let group = format!("{}-group", topics.badges);
    let env = ServiceEnv {
        kafka,
        topics: &topics,
        group: &group,
        instance: "record-0",
        extra: api.env(port),
    };
    let service = Service::spawn(
        &company.config_dir(),
        &env,
        company.dir.path().join("service.log"),
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));

    // The latest decision of each week of one employee, newest first, as the topic has them.
    let live = Outputs::read(kafka, &topics);
    let mut latest: BTreeMap<(String, String), (u64, Value)> = BTreeMap::new();
    for line in &live.decisions {
        let v: Value = serde_json::from_str(line).expect("decision JSON");
        let key = (
            v["employee_id"].as_str().unwrap_or_default().to_owned(),
            v["week"].as_str().unwrap_or_default().to_owned(),
        );
        let revision = v["revision"].as_u64().unwrap_or_default();
        if latest.get(&key).is_none_or(|(r, _)| revision >= *r) {
            latest.insert(key, (revision, v));
        }
    }
    let (employee, _) = latest.keys().next().cloned().expect("some decision");
    let mut expected: Vec<Value> = latest
        .iter()
        .filter(|((e, _), _)| *e == employee)
        .map(|(_, (_, v))| v.clone())
        .collect();
    expected.reverse();
    assert!(!expected.is_empty());

    let path = format!("/v1/employees/{employee}/record");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let answer = get(port, &path, Some(&token(&employee)));
        let (status, body) = (answer.status, answer.body);
        // 503 until the pipeline's main loop answers (bounded).
        if status != 503 || Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status, 200, "{body}\n{}", service.log_text());
    let record: Value = serde_json::from_str(&body).expect("record JSON");
    assert_eq!(record["employee_id"], Value::from(employee.clone()));
    assert_eq!(record["weeks"], Value::from(expected));
    assert!(record["as_of"].is_string());

    assert_eq!(get(port, &path, None).status, 401);
    assert_eq!(get(port, &path, Some(&token("a-stranger"))).status, 403);
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // Every request is on record, in order: any 503s, the 200, the 401, the 403.
    let schema = access_schema();
    let audit: Vec<Value> = kafka
        .read(&api.access_log, "%k\t%s\n")
        .iter()
        .map(|line| {
            let (key, value) = line.split_once('\t').expect("key and value");
            let v: Value = serde_json::from_str(value).expect("access JSON");
            assert!(schema.is_valid(&v), "{v}");
            let named = v["employee_id"].as_str().unwrap_or_default();
            assert_eq!(key, named, "keyed by the employee the path named");
            v
        })
        .filter(|v| v["outcome"] != 503)
        .collect();
    let outcomes: Vec<(Value, Value)> = audit
        .iter()
        .map(|v| (v["outcome"].clone(), v["caller"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Value::from(200), Value::from(employee.clone())),
            (Value::from(401), Value::Null),
            (Value::from(403), Value::from("a-stranger")),
        ]
    );
    assert!(audit.iter().all(|v| v["instance"] == "record-0"));
}

fn access_schema() -> jsonschema::Validator {
    let path = format!(
        "{}/schemas/access-log.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// A self-signed certificate for `localhost` and 127.0.0.1 made with the `openssl` command
/// (as docs/SECURITY.md shows): the certificate and key files.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("api-cert.pem"), dir.join("api-key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command runs");
    assert!(
        made.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    (cert, key)
}

/// `GET path` over TLS on `port`, trusting `ca` and checking the name `localhost`: status
/// and body, or why the connection failed.
fn get_tls(
    ca: &std::path::Path,
    port: u16,
    path: &str,
    bearer: &str,
) -> Result<(u16, String), String> {
    use openssl::ssl::{SslConnector, SslMethod};
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    builder.set_ca_file(ca).map_err(|e| e.to_string())?;
    let connector = builder.build();
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect("localhost", tcp)
        .map_err(|e| e.to_string())?;
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {bearer}\r\n\
         Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // The server may close without close_notify after the answer.
    let _ = tls.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer: {response:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status: {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// `run` with `api.tls_cert_file` and `api.tls_key_file`: the record is served over TLS to a
/// client that trusts the certificate (and to `curl --cacert` when the machine has curl),
/// plain HTTP on the port gets no answer, and the service stops cleanly.
pub(crate) fn served_over_tls_by_run(kafka: &Kafka) {
    let topics = Topics::unique("recordtls");
    kafka.create_topics(&topics, 1, &[]);
    let weeks = 2;
    let options = GenerateOptions {
        employees: 20,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 12,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, 1, "recordtls");
    let api = ApiSetup::new(kafka, &topics, company.dir.path());
    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let (cert, key) = self_signed(company.dir.path());
    let port = free_port();
    let group = format!("{}-group", topics.badges);
    let path_of = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let env = ServiceEnv {
        kafka,
        topics: &topics,
        group: &group,
        instance: "recordtls-0",
        extra: api
            .env(port)
            .into_iter()
            .chain([
                ("ATTENDANCE__API__TLS_CERT_FILE".into(), path_of(&cert)),
                ("ATTENDANCE__API__TLS_KEY_FILE".into(), path_of(&key)),
            ])
            .collect(),
    };
    let service = Service::spawn(
        &company.config_dir(),
        &env,
        company.dir.path().join("service.log"),
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));
    let live = Outputs::read(kafka, &topics);
    let first: Value = serde_json::from_str(live.decisions.first().expect("some decision"))
        .expect("decision JSON");
    let employee = first["employee_id"]
        .as_str()
        .expect("employee_id")
        .to_owned();
    let path = format!("/v1/employees/{employee}/record");

    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let answer = get_tls(&cert, port, &path, &token(&employee));
        // 503 until the pipeline's main loop answers (bounded).
        let retry = matches!(answer, Ok((503, _)));
        if !retry || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (status, body) = answer.unwrap_or_else(|e| panic!("TLS GET: {e}\n{}", service.log_text()));
    assert_eq!(status, 200, "{body}");
    let record: Value = serde_json::from_str(&body).expect("record JSON");
    assert_eq!(record["employee_id"], Value::from(employee.clone()));

    match std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("--cacert")
        .arg(&cert)
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", token(&employee)))
        .arg(format!("https://localhost:{port}{path}"))
        .output()
    {
        Ok(out) => assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "200",
            "curl: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("curl is not installed: checked with the OpenSSL client only");
        }
        Err(e) => panic!("cannot run curl: {e}"),
    }

    // Plain HTTP on the TLS port: closed without an HTTP answer.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // One write (`write!` sends the pieces separately): the server may reset the connection
    // as soon as its first bytes are not TLS, which fails a later piece, or this write.
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut received = Vec::new();
    let closed = match plain.write_all(request.as_bytes()) {
        Ok(()) => plain.read_to_end(&mut received),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(std::io::ErrorKind::ConnectionReset.into())
        }
        Err(e) => Err(e),
    };
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "not closed: {closed:?}"
    );
    assert!(!received.starts_with(b"HTTP/"), "answered in plain HTTP");

    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
