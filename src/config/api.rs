//! Cross-setting checks of `[api]` (SPEC §10), run once after the last layer: a listener
//! needs an audience and a key source, TLS needs both files (a certificate chain and its
//! key, read as at start-up: [`super::tls`]), the advertised URL's scheme is the listener's
//! (`https` with TLS on), `api.forward_ca_file` holds certificates, and the API cannot share
//! the metrics listener's address.

use super::limits::{MIN_HS256_SECRET_BYTES, SECRET_FILE_MAX_BYTES};
use super::tls::{ForwardTrust, TlsIdentity};
use super::{Findings, ProcessorConfig};

/// Records the problems of `config.api`; `of(path)` names the file and field of a setting.
pub(crate) fn check(
    config: &ProcessorConfig,
    of: impl Fn(&str) -> (String, String),
    findings: &mut Findings,
) {
    let api = &config.api;
    let error = |findings: &mut Findings, path: &str, message: String| {
        let (file, field) = of(path);
        findings.error(&file, &field, message);
    };
    if let Some(secret) = &api.hs256_secret_file {
        let len = secret.secret.expose().len();
        if len < MIN_HS256_SECRET_BYTES {
            error(
                findings,
                "api.hs256_secret_file",
                format!(
                    "{} holds {len} bytes; an HS256 secret needs {MIN_HS256_SECRET_BYTES} to \
                     {SECRET_FILE_MAX_BYTES}",
                    secret.path.display()
                ),
            );
        }
    }
    if api.tls_cert_file.is_some() != api.tls_key_file.is_some() {
        let missing = if api.tls_cert_file.is_some() {
            "api.tls_key_file"
        } else {
            "api.tls_cert_file"
        };
        error(
            findings,
            missing,
            "api.tls_cert_file and api.tls_key_file go together; set both or neither".into(),
        );
    }
    // Read and checked as at start-up, so that a configuration that checks clean starts.
    if let (Some(cert), Some(key)) = (&api.tls_cert_file, &api.tls_key_file) {
        match TlsIdentity::read(cert, key) {
            Ok(identity) => {
                if let Some(warning) = identity.validity_warning() {
                    let (file, field) = of("api.tls_cert_file");
                    findings.warn(&file, &field, warning);
                }
            }
            Err(problem) => error(findings, problem.setting, problem.message),
        }
    }
    if let Some(ca) = &api.forward_ca_file {
        if let Err(problem) = ForwardTrust::read(Some(ca), None) {
            error(findings, problem.setting, problem.message);
        }
    }
    let Some(listen) = api.listen else {
        return;
    };
    if api.audience.is_empty() {
        error(
            findings,
            "api.audience",
            "required when api.listen is set: the `aud` callers' tokens must carry".into(),
        );
    }
    if api.jwks_file.is_none() && api.hs256_secret_file.is_none() {
        error(
            findings,
            "api.listen",
            "the record API needs api.jwks_file or api.hs256_secret_file to verify tokens".into(),
        );
    }
    match api.advertised_url() {
        None => error(
            findings,
            "api.advertise_url",
            format!(
                "required when api.listen ({listen}) has no specific IP: other instances \
                 forward record requests to this base URL, e.g. \"{}://pod-0.attendance:{}\"",
                api.scheme(),
                listen.port()
            ),
        ),
        // The forwarder sends the caller's token: never in clear to an instance serving TLS.
        Some(url) if api.tls_cert_file.is_some() && !url.starts_with("https://") => error(
            findings,
            "api.advertise_url",
            format!(
                "{url} is plain HTTP but api.tls_cert_file puts TLS on api.listen; advertise \
                 the https:// URL other instances reach this one at"
            ),
        ),
        Some(url) if api.tls_cert_file.is_none() && url.starts_with("https://") => {
            let (file, field) = of("api.advertise_url");
            findings.warn(
                &file,
                &field,
                format!(
                    "{url} is HTTPS but api.listen serves plain HTTP (no api.tls_cert_file): \
                     forwards to this instance fail unless a proxy in front of it terminates TLS"
                ),
            );
        }
        Some(_) => {}
    }
    if listen == config.http.listen {
        error(
            findings,
            "api.listen",
            format!("{listen} is also http.listen; the record API needs its own listener"),
        );
    }
}
