//! docs/api/openapi.yaml against the record API's real answers: every answer the router
//! gives (in-process, through a stand-in pipeline and a stopped one) has a documented status,
//! a body valid against that status's JSON schema, the documented content type and every
//! documented header with a value its schema allows; and every documented status is one the
//! router gives.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use serde_json::Value;
use tower::ServiceExt;

use super::api::tests::{app_without_pipeline, test_app, token, token_with_roles};
use crate::metrics::Metrics;

const PATH: &str = "/v1/employees/{employee_id}/record";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn json_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn openapi() -> Value {
    let path = root().join("docs/api/openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml: {e}"))
}

/// The document's responses of `GET /v1/employees/{employee_id}/record`, by status.
fn responses(doc: &Value) -> &serde_json::Map<String, Value> {
    doc["paths"][PATH]["get"]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("openapi.yaml documents no responses for GET {PATH}"))
}

/// `schema` with a top-level `$ref` replaced by what it names: a `#/…` pointer into the
/// document, or a file relative to docs/api/.
fn resolved(doc: &Value, schema: &Value) -> (Value, Option<PathBuf>) {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(pointer) if pointer.starts_with('#') => {
            let target = doc
                .pointer(&pointer[1..])
                .unwrap_or_else(|| panic!("openapi.yaml: dangling $ref {pointer}"));
            (target.clone(), None)
        }
        Some(file) => {
            let path = root().join("docs/api").join(file);
            (json_file(&path), Some(path))
        }
        None => (schema.clone(), None),
    }
}

/// A validator for `schema`, with the repository's schemas/ registered under their `$id`
/// (the record schema refers to the decision schema by it).
fn validator(schema: &Value) -> jsonschema::Validator {
    let mut options = jsonschema::options();
    let schemas = root().join("schemas");
    for entry in std::fs::read_dir(&schemas).unwrap_or_else(|e| panic!("schemas/: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("schemas/: {e}")).path();
        if path.extension().is_some_and(|e| e == "json") {
            let value = json_file(&path);
            if let Some(id) = value.get("$id").and_then(Value::as_str).map(str::to_owned) {
                let resource = jsonschema::Resource::from_contents(value).expect("resource");
                options = options.with_resource(id, resource);
            }
        }
    }
    options
        .build(schema)
        .unwrap_or_else(|e| panic!("schema compiles: {e}: {schema}"))
}

/// One real answer.
struct Answer {
    what: &'static str,
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn call(
    app: &axum::Router,
    what: &'static str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{what}: the body is not JSON ({e})"));
    Answer {
        what,
        status,
        headers,
        body,
    }
}

/// Every kind of answer the record API gives.
async fn real_answers() -> Vec<Answer> {
    let (app, _, pipeline) = test_app(std::sync::Arc::new(Metrics::new()));
    let record = "/v1/employees/e-1/record";
    let e1 = token("e-1");
    let manager = token("m-1");
    let hr = token_with_roles("hr-1", &["hr"]);
    let peer = token("e-2");
    let mut answers = vec![
        call(&app, "own record", "GET", record, Some(&e1)).await,
        call(&app, "the manager", "GET", record, Some(&manager)).await,
        call(&app, "hr", "GET", record, Some(&hr)).await,
        call(&app, "no token", "GET", record, None).await,
        call(&app, "a bad token", "GET", record, Some("not.a.jwt")).await,
        call(&app, "a peer", "GET", record, Some(&peer)).await,
        call(
            &app,
            "unknown, not hr",
            "GET",
            "/v1/employees/x-9/record",
            Some(&e1),
        )
        .await,
        call(
            &app,
            "unknown, hr",
            "GET",
            "/v1/employees/x-9/record",
            Some(&hr),
        )
        .await,
        call(&app, "another path", "GET", "/v1/employees", Some(&e1)).await,
        call(
            &app,
            "a traversal",
            "GET",
            "/v1/employees/../record",
            Some(&hr),
        )
        .await,
        call(&app, "POST", "POST", record, Some(&e1)).await,
    ];
    drop(app);
    pipeline.join().expect("pipeline thread");
    let stopped = app_without_pipeline();
    answers.push(call(&stopped, "no pipeline", "GET", record, Some(&e1)).await);
    answers
}

/// A header's value as the JSON its schema describes (integers parsed).
fn header_json(schema: &Value, value: &str) -> Value {
    if schema.get("type").and_then(Value::as_str) == Some("integer") {
        value
            .parse::<i64>()
            .map_or_else(|_| Value::String(value.to_owned()), Value::from)
    } else {
        Value::String(value.to_owned())
    }
}

#[tokio::test]
async fn real_answers_match_the_openapi_document() {
    let doc = openapi();
    let documented = responses(&doc);
    let answers = real_answers().await;
    let expected_statuses = [
        ("own record", 200),
        ("the manager", 200),
        ("hr", 200),
        ("no token", 401),
        ("a bad token", 401),
        ("a peer", 403),
        ("unknown, not hr", 403),
        ("unknown, hr", 404),
        ("another path", 404),
        ("a traversal", 404),
        ("POST", 405),
        ("no pipeline", 503),
    ];
    let got: Vec<(&str, u16)> = answers.iter().map(|a| (a.what, a.status)).collect();
    assert_eq!(got, expected_statuses, "the answers this test checks");
    // The record checked has every part: a closed week's decision and the open week.
    let own = &answers[0].body;
    assert!(
        own["weeks"].as_array().is_some_and(|w| !w.is_empty()) && own["current_week"].is_object(),
        "{own}"
    );
    for answer in &answers {
        let at = format!("{} ({})", answer.what, answer.status);
        let response = documented
            .get(&answer.status.to_string())
            .unwrap_or_else(|| panic!("{at}: status not documented"));
        let content_type = answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media = response["content"]
            .get(content_type)
            .unwrap_or_else(|| panic!("{at}: content type {content_type:?} not documented"));
        let (schema, file) = resolved(&doc, &media["schema"]);
        let errors: Vec<String> = validator(&schema)
            .iter_errors(&answer.body)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{at}: the body violates {}: {errors:?}\n{}",
            file.map_or_else(|| "its schema".to_owned(), |f| f.display().to_string()),
            answer.body
        );
        let headers = response
            .get("headers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (name, header) in &headers {
            let value = answer
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{at}: documented header {name} is missing"));
            let schema = &header["schema"];
            let value = header_json(schema, value);
            assert!(
                validator(schema).is_valid(&value),
                "{at}: header {name}: {value} does not match {schema}"
            );
        }
    }
    let produced: BTreeSet<String> = answers.iter().map(|a| a.status.to_string()).collect();
    let listed: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(
        listed, produced,
        "every documented status is one the API gives"
    );
    let counted: BTreeSet<String> = crate::metrics::API_OUTCOMES
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        listed, counted,
        "the documented statuses are the ones the metric counts"
    );
}

#[test]
fn the_documented_employee_id_pattern_is_the_one_the_router_accepts() {
    let doc = openapi();
    let parameters = doc["paths"][PATH]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let id = parameters
        .iter()
        .find(|p| p["name"] == "employee_id")
        .expect("the employee_id parameter");
    let schema = validator(&id["schema"]);
    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    for candidate in [
        "e-42",
        "E.1:x@y_z",
        &long,
        &too_long,
        "",
        "a b",
        "a/b",
        "é",
        "a%2Fb",
        "a+b",
    ] {
        let documented = schema.is_valid(&Value::String(candidate.to_owned()));
        let accepted = matches!(
            crate::api::route(&format!("/v1/employees/{candidate}/record")),
            crate::api::Route::Record(_)
        );
        assert_eq!(documented, accepted, "{candidate:?}");
    }
}
