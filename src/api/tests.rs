//! The record API's security cases (issue 11, point 5), with tokens made here by
//! `jsonwebtoken`'s encoder and the test-only keys in tests/fixtures/api/.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::domain::EmployeeId;
use crate::engine::tests::Company;
use crate::engine::{Engine, Record};
use crate::processor::Outcome;

use super::*;

const AUDIENCE: &str = "attendance-record";
const SECRET: &[u8] = b"a test-only HS256 secret of more than 32 bytes\n";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/api/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rsa(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture(name)).expect("rsa key")
}

fn ec() -> EncodingKey {
    EncodingKey::from_ec_pem(&fixture("ec-a.pem")).expect("ec key")
}

/// A JWKS with rsa-a (kid "rsa-a") and ec-a (kid "ec-a").
fn jwks() -> String {
    let mut rsa_jwk = Jwk::from_encoding_key(&rsa("rsa-a.pem"), Algorithm::RS256).expect("jwk");
    rsa_jwk.common.key_id = Some("rsa-a".into());
    let mut ec_jwk = Jwk::from_encoding_key(&ec(), Algorithm::ES256).expect("jwk");
    ec_jwk.common.key_id = Some("ec-a".into());
    serde_json::to_string(&JwkSet {
        keys: vec![rsa_jwk, ec_jwk],
    })
    .expect("jwks")
}

fn verifier() -> Verifier {
    Verifier::new(AUDIENCE, Some(&jwks()), Some(SECRET)).expect("verifier")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({"sub": sub, "roles": roles, "aud": AUDIENCE, "exp": now() + 600})
}

fn token(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).expect("token")
}

fn rs256(claims: &Value) -> String {
    token(Algorithm::RS256, Some("rsa-a"), &rsa("rsa-a.pem"), claims)
}

fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

fn verify(token: &str) -> Result<Caller, AuthError> {
    verifier().verify(Some(&bearer(token)))
}

#[test]
fn valid_tokens_of_each_algorithm_name_the_caller_and_roles() {
    let c = claims("e-1", &["hr"]);
    let expected = Ok(Caller {
        sub: "e-1".into(),
        hr: true,
    });
    assert_eq!(verify(&rs256(&c)), expected);
    assert_eq!(
        verify(&token(Algorithm::ES256, Some("ec-a"), &ec(), &c)),
        expected
    );
    let hs = EncodingKey::from_secret(&SECRET[..SECRET.len() - 1]);
    assert_eq!(verify(&token(Algorithm::HS256, None, &hs, &c)), expected);
    // Without a kid every key of the algorithm is tried; without roles, no hr.
    let plain = json!({"sub": "e-2", "aud": AUDIENCE, "exp": now() + 60});
    let t = token(Algorithm::RS256, None, &rsa("rsa-a.pem"), &plain);
    assert_eq!(
        verify(&t),
        Ok(Caller {
            sub: "e-2".into(),
            hr: false
        })
    );
}

#[test]
fn expired_not_yet_valid_wrong_audience_and_missing_claims_are_refused() {
    let base = claims("e-1", &[]);
    let with = |key: &str, value: Value| {
        let mut c = base.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = base.clone();
        c.as_object_mut().map(|o| o.remove(key));
        c
    };
    for bad in [
        with("exp", json!(now() - 3600)),
        with("nbf", json!(now() + 3600)),
        with("aud", json!("another-service")),
        without("exp"),
        without("aud"),
        without("sub"),
        with("roles", json!("hr")),
    ] {
        assert_eq!(verify(&rs256(&bad)), Err(AuthError::Invalid), "{bad}");
    }
    // Within the leeway, and an nbf in the past, are accepted.
    assert!(verify(&rs256(&with("exp", json!(now() - 10)))).is_ok());
    assert!(verify(&rs256(&with("nbf", json!(now() - 10)))).is_ok());
}

#[test]
fn a_token_signed_with_another_key_is_refused() {
    let c = claims("e-1", &["hr"]);
    let other = token(Algorithm::RS256, Some("rsa-a"), &rsa("rsa-b.pem"), &c);
    assert_eq!(verify(&other), Err(AuthError::Invalid));
    let other_secret = EncodingKey::from_secret(b"another secret of more than thirty-two bytes");
    let t = token(Algorithm::HS256, None, &other_secret, &c);
    assert_eq!(verify(&t), Err(AuthError::Invalid));
}

#[test]
fn alg_none_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("e-1", &["hr"]).to_string());
    for t in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_eq!(verify(&t), Err(AuthError::Invalid));
    }
}

#[test]
fn an_hs256_token_made_with_the_public_key_as_secret_is_refused() {
    let c = claims("e-1", &["hr"]);
    let public = EncodingKey::from_secret(&fixture("rsa-a.pub.pem"));
    let t = token(Algorithm::HS256, Some("rsa-a"), &public, &c);
    // With JWKS keys alone HS256 is not accepted at all; with a secret too, only the secret.
    let jwks_only = Verifier::new(AUDIENCE, Some(&jwks()), None).expect("verifier");
    assert_eq!(jwks_only.verify(Some(&bearer(&t))), Err(AuthError::Invalid));
    assert_eq!(verify(&t), Err(AuthError::Invalid));
    // And an RS256 token is never checked against the secret.
    let secret_only = Verifier::new(AUDIENCE, None, Some(SECRET)).expect("verifier");
    assert_eq!(
        secret_only.verify(Some(&bearer(&rs256(&c)))),
        Err(AuthError::Invalid)
    );
}

#[test]
fn oversized_missing_and_malformed_headers_are_refused() {
    let mut c = claims("e-1", &[]);
    c["pad"] = json!("x".repeat(MAX_TOKEN_BYTES));
    assert_eq!(verify(&rs256(&c)), Err(AuthError::TooLarge));
    let v = verifier();
    assert_eq!(v.verify(None), Err(AuthError::Missing));
    let good = rs256(&claims("e-1", &[]));
    assert_eq!(
        v.verify(Some(format!("Basic {good}").as_bytes())),
        Err(AuthError::Missing)
    );
    assert_eq!(v.verify(Some(good.as_bytes())), Err(AuthError::Missing));
    assert_eq!(v.verify(Some(b"Bearer not.a.jwt")), Err(AuthError::Invalid));
    assert_eq!(v.verify(Some(b"Bearer \xff\xfe")), Err(AuthError::Invalid));
    assert!(v.verify(Some(format!("bearer {good}").as_bytes())).is_ok());
}

#[test]
fn verifier_configuration_problems_are_reported() {
    assert!(Verifier::new(AUDIENCE, None, None).is_err());
    assert!(Verifier::new("", None, Some(SECRET)).is_err());
    assert!(Verifier::new(AUDIENCE, None, Some(b"short\n")).is_err());
    assert!(Verifier::new(AUDIENCE, Some("{}"), None).is_err());
    assert!(Verifier::new(AUDIENCE, Some(r#"{"keys":[]}"#), None).is_err());
    let oct = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}"#;
    assert!(Verifier::new(AUDIENCE, Some(oct), None).is_err());
}

#[test]
fn routes_accept_only_valid_ids() {
    assert_eq!(
        route("/v1/employees/e-1/record"),
        Route::Record(EmployeeId::parse("e-1").expect("id"))
    );
    assert_eq!(
        route("/v1/employees/a.b_c:d@e/record?x=1"),
        Route::Record(EmployeeId::parse("a.b_c:d@e").expect("id"))
    );
    for bad in [
        "/v1/employees/../record",
        "/v1/employees/./record",
        "/v1/employees/%2e%2e/record",
        "/v1/employees/e-1/../e-2/record",
        "/v1/employees/e%201/record",
        "/v1/employees//record",
        "/v1/employees/é/record",
        "/v1/employees/e-1/record/",
        "/v1/employees/e-1",
        "/v2/employees/e-1/record",
        &format!("/v1/employees/{}/record", "x".repeat(65)),
    ] {
        assert_eq!(route(bad), Route::NotFound, "{bad}");
    }
}

/// An engine with e-1 and e-2 reporting to m-1 (VP vp-1), m-1 reporting to vp-1, and a
/// counter of state look-ups.
struct Source {
    engine: Engine,
    restoring: bool,
    lookups: Cell<u32>,
}

impl RecordSource for Source {
    fn lookup(&self, employee_id: &EmployeeId) -> Lookup {
        self.lookups.set(self.lookups.get() + 1);
        if self.restoring {
            return Lookup::Unavailable {
                retry_after_seconds: 5,
            };
        }
        Lookup::Served(self.engine.reporting(employee_id.as_str()))
    }

    fn record(&self, employee_id: &EmployeeId) -> Option<Record> {
        self.engine.record(employee_id.as_str())
    }
}

fn source() -> Source {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "corporate", "SEA-1");
    let m1 = r#"{"employee_id":"m-1","manager_id":"vp-1","vp_id":"vp-1","org":"retail","policy_group":"corporate","home_site":"SEA-1","hire_date":"2020-01-06","status":"active"}"#;
    assert_eq!(c.roster(m1), Outcome::Applied);
    Source {
        engine: c.processor.engine().clone(),
        restoring: false,
        lookups: Cell::new(0),
    }
}

fn get(source: &Source, caller: &str, roles: &[&str], employee: &str) -> Answer {
    let auth = bearer(&rs256(&claims(caller, roles)));
    let target = format!("/v1/employees/{employee}/record");
    answer(&verifier(), source, "GET", &target, Some(&auth))
}

#[test]
fn self_manager_vp_and_hr_may_read_and_get_the_engines_record() {
    let s = source();
    for (caller, roles) in [
        ("e-1", &[][..]),
        ("m-1", &[]),
        ("vp-1", &[]),
        ("h-9", &["hr"]),
    ] {
        let a = get(&s, caller, roles, "e-1");
        assert_eq!(a.status, 200, "{caller}");
        let body: Value = serde_json::from_str(&a.body).expect("json");
        let expected = serde_json::to_value(s.engine.record("e-1")).expect("json");
        assert_eq!(body, expected);
        assert_eq!(a.caller.as_deref(), Some(caller));
        assert_eq!(a.employee_id.as_ref().map(EmployeeId::as_str), Some("e-1"));
    }
}

#[test]
fn others_get_403_and_only_hr_learns_that_an_employee_does_not_exist() {
    let s = source();
    assert_eq!(get(&s, "m-2", &[], "e-1").status, 403, "not their report");
    assert_eq!(get(&s, "e-2", &[], "e-1").status, 403, "a peer");
    assert_eq!(
        get(&s, "e-1", &[], "m-1").status,
        403,
        "a report reads the manager"
    );
    assert_eq!(get(&s, "e-1", &["auditor"], "m-1").status, 403);
    assert_eq!(get(&s, "e-1", &[], "nobody").status, 403, "no enumeration");
    assert_eq!(get(&s, "m-1", &[], "nobody").status, 403);
    assert_eq!(get(&s, "h-9", &["hr"], "nobody").status, 404);
    assert_eq!(get(&s, "h-9", &["hr"], "m-1").status, 200);
}

#[test]
fn unauthenticated_requests_get_401_with_a_bearer_challenge_before_anything_else() {
    let s = source();
    let expired = rs256(&json!({"sub":"e-1","aud":AUDIENCE,"exp":now() - 3600}));
    for auth in [None, Some(bearer(&expired))] {
        let a = answer(
            &verifier(),
            &s,
            "GET",
            "/v1/employees/e-1/record",
            auth.as_deref(),
        );
        assert_eq!(a.status, 401);
        let challenge = a.headers.iter().find(|(h, _)| *h == "WWW-Authenticate");
        assert!(challenge.is_some_and(|(_, v)| v.starts_with("Bearer")));
        assert_eq!((a.caller, a.employee_id), (None, None));
    }
    assert_eq!(s.lookups.get(), 0);
}

#[test]
fn bad_paths_get_404_without_touching_state_and_other_methods_405() {
    let s = source();
    let auth = bearer(&rs256(&claims("h-9", &["hr"])));
    for target in ["/v1/employees/../record", "/v1/employees/e%2D1/record", "/"] {
        let a = answer(&verifier(), &s, "GET", target, Some(&auth));
        assert_eq!(a.status, 404, "{target}");
    }
    assert_eq!(s.lookups.get(), 0);
    let a = answer(
        &verifier(),
        &s,
        "DELETE",
        "/v1/employees/e-1/record",
        Some(&auth),
    );
    assert_eq!(a.status, 405);
    assert_eq!(s.lookups.get(), 0);
}

#[test]
fn a_restoring_partition_gets_503_with_retry_after() {
    let mut s = source();
    s.restoring = true;
    let a = get(&s, "e-1", &[], "e-1");
    assert_eq!(a.status, 503);
    assert!(a
        .headers
        .iter()
        .any(|(h, v)| *h == "Retry-After" && v == "5"));
}
