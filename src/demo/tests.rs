//! The demo's record API end to end on a small company: the curl command it prints, run as
//! printed, reads the record from the live pipeline on the mock cluster.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

use super::{start, DemoApi};

/// `GET` of the printed command's URL with its token, without curl: status and body.
fn get_without_curl(api: &DemoApi) -> (u16, String) {
    let token = api
        .curl
        .split("Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the command carries a token");
    let path = format!("/v1/employees/{}/record", api.caller.employee_id);
    let mut stream = std::net::TcpStream::connect(api.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

/// The printed command, run by the shell as a person would paste it, with `-w` added to
/// learn the status: status and body. `None` when the machine has no curl.
fn run_printed_command(api: &DemoApi) -> Option<(u16, String)> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} --max-time 10 -w '\\n%{{http_code}}'", api.curl))
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.code() == Some(127) {
        return None;
    }
    assert!(
        output.status.success(),
        "the printed command failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (body, status) = stdout.rsplit_once('\n').expect("curl's -w line");
    Some((status.parse().expect("a status"), body.to_owned()))
}

#[test]
fn the_printed_curl_command_reads_a_record_from_the_running_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut running = start(dir.path(), 40, 2).expect("the demo starts and processes");
    let api = running.api.clone();
    assert!(api.addr.ip().is_loopback(), "{}", api.addr);
    assert!(
        !api.caller.hr,
        "a real manager of the company is the caller"
    );
    let (status, body) = run_printed_command(&api).unwrap_or_else(|| {
        eprintln!("curl is not installed: the request is sent without it");
        get_without_curl(&api)
    });
    assert_eq!(status, 200, "{body}");
    let record: Value = serde_json::from_str(&body).expect("a JSON record");
    assert_eq!(
        record["employee_id"].as_str(),
        Some(api.caller.employee_id.as_str())
    );
    let weeks = record["weeks"].as_array().expect("weeks");
    assert!(
        !weeks.is_empty(),
        "the processed weeks are in the record: {record}"
    );
    let summary = running.summary().expect("summary");
    drop(summary);
    running.stop().expect("the demo stops cleanly");
}
