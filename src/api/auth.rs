//! Bearer-token authentication of the record API (§10): JWTs verified with the
//! `jsonwebtoken` crate against RS256/ES256 keys from a JWKS file or an HS256 shared secret,
//! `exp` and `sub` required, `aud` equal to the configured audience, `nbf` honoured.
//!
//! Each algorithm is bound to its own keys: an HS256 token is checked only against the
//! shared secret and an RS256/ES256 token only against JWKS keys of that algorithm, so a
//! public key can never serve as an HMAC secret (HS/RS confusion). `alg: none` and every other
//! algorithm are refused before any key is tried.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Longest `Authorization` value accepted, in bytes; longer ones are refused unparsed.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Most keys a JWKS file may hold.
pub const MAX_JWKS_KEYS: usize = 32;

pub use crate::config::limits::MIN_HS256_SECRET_BYTES;

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;

/// Who called, as the token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The `sub` claim: the caller's employee id.
    pub sub: String,
    /// Whether `roles` holds `hr`.
    pub hr: bool,
}

/// Why a request is not authenticated (all answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header, or not the Bearer scheme.
    Missing,
    /// The header is longer than [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// The token is not a JWT this verifier accepts: malformed, an algorithm without keys
    /// here, a bad signature, expired, not yet valid, wrong audience, missing claims.
    Invalid,
}

impl AuthError {
    /// The `WWW-Authenticate` value (RFC 6750 §3).
    pub fn challenge(self) -> &'static str {
        match self {
            AuthError::Missing => "Bearer",
            AuthError::TooLarge | AuthError::Invalid => "Bearer error=\"invalid_token\"",
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
}

/// One verification key.
struct Key {
    alg: Algorithm,
    kid: Option<String>,
    key: DecodingKey,
}

/// Verifies bearer tokens; built once from the configured files.
pub struct Verifier {
    keys: Vec<Key>,
    audience: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("audience", &self.audience)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `audience` with the RS256/ES256 keys of the JWKS document `jwks` (JSON
    /// text) and/or the HS256 `secret` (a file's bytes; one trailing newline is dropped).
    /// Errors name what is wrong in one line.
    pub fn new(audience: &str, jwks: Option<&str>, secret: Option<&[u8]>) -> Result<Self, String> {
        if audience.is_empty() {
            return Err("the API audience is empty".into());
        }
        let mut keys = Vec::new();
        if let Some(text) = jwks {
            let set: JwkSet =
                serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
            if set.keys.is_empty() || set.keys.len() > MAX_JWKS_KEYS {
                return Err(format!(
                    "a JWKS file must hold 1 to {MAX_JWKS_KEYS} keys, this one holds {}",
                    set.keys.len()
                ));
            }
            for (n, jwk) in set.keys.iter().enumerate() {
                let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
                    (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => {
                        Algorithm::RS256
                    }
                    (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                        if p.curve == EllipticCurve::P256 =>
                    {
                        Algorithm::ES256
                    }
                    _ => {
                        return Err(format!(
                            "JWKS key {n}: only RSA keys for RS256 and P-256 keys for ES256 \
                             are accepted (an HS256 secret goes in its own file)"
                        ))
                    }
                };
                let key = DecodingKey::from_jwk(jwk)
                    .map_err(|e| format!("JWKS key {n} is not usable: {e}"))?;
                keys.push(Key {
                    alg,
                    kid: jwk.common.key_id.clone(),
                    key,
                });
            }
        }
        if let Some(secret) = secret {
            let secret = trim_newline(secret);
            if secret.len() < MIN_HS256_SECRET_BYTES {
                return Err(format!(
                    "the HS256 secret has {} bytes, at least {MIN_HS256_SECRET_BYTES} are needed",
                    secret.len()
                ));
            }
            keys.push(Key {
                alg: Algorithm::HS256,
                kid: None,
                key: DecodingKey::from_secret(secret),
            });
        }
        if keys.is_empty() {
            return Err("the API needs a JWKS file or an HS256 secret file".into());
        }
        Ok(Self {
            keys,
            audience: audience.to_owned(),
        })
    }

    /// The caller named by the `Authorization` header value, when it carries a valid token.
    pub fn verify(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        let value = authorization.ok_or(AuthError::Missing)?;
        if value.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge);
        }
        let value = std::str::from_utf8(value).map_err(|_| AuthError::Invalid)?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(AuthError::Missing),
        };
        // `alg: none` and unknown algorithms fail to parse here.
        let header = decode_header(token).map_err(|_| AuthError::Invalid)?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let candidates = self.keys.iter().filter(|k| {
            k.alg == header.alg && (header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
        });
        for key in candidates {
            if let Ok(data) = decode::<Claims>(token, &key.key, &validation) {
                let claims = data.claims;
                return Ok(Caller {
                    hr: claims.roles.iter().any(|r| r == "hr"),
                    sub: claims.sub,
                });
            }
        }
        Err(AuthError::Invalid)
    }
}

fn trim_newline(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}
