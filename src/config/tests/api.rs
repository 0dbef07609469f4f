//! `[api]` (SPEC §10): off by default, and the cross-setting rules when it is on.

use super::*;

/// A temporary config dir whose directory also holds `jwks.json` and a secret file of
/// `secret_len` bytes; `api` is the `[api]` section's body, `{dir}` replaced by the path.
fn with_api(api: &str, secret_len: usize) -> TempConfig {
    let config = TempConfig::new();
    let dir = config.path().to_str().expect("utf-8 path").to_owned();
    std::fs::write(config.path().join("jwks.json"), r#"{"keys":[]}"#).expect("write");
    std::fs::write(config.path().join("secret"), "s".repeat(secret_len) + "\n").expect("write");
    let text = format!("[api]\n{}", api.replace("{dir}", &dir));
    config.with("processor.toml", &text)
}

#[test]
fn the_api_is_off_by_default() {
    let loaded = load_ok(TempConfig::new().path(), no_env());
    assert_eq!(loaded.config.processor.api, ApiConfig::default());
    assert_eq!(loaded.config.processor.api.listen, None);
}

#[test]
fn a_complete_api_section_loads() {
    let dir = with_api(
        "listen = \"127.0.0.1:8443\"\njwks_file = \"{dir}/jwks.json\"\n\
         hs256_secret_file = \"{dir}/secret\"\naudience = \"attendance\"\n",
        32,
    );
    let loaded = load_ok(dir.path(), no_env());
    let api = &loaded.config.processor.api;
    assert_eq!(api.listen, Some("127.0.0.1:8443".parse().expect("address")));
    assert_eq!(api.audience, "attendance");
    assert_eq!(
        api.hs256_secret_file
            .as_ref()
            .map(|s| s.secret.expose().len()),
        Some(32)
    );
    assert!(api.jwks_file.is_some());
    assert!(loaded.warnings.iter().all(|w| !w.field.starts_with("api.")));
}

/// `with_api` with the TLS settings naming `cert.pem` and `key.pem`, which hold `cert` and
/// `key`.
fn with_tls(cert: &[u8], key: &[u8]) -> TempConfig {
    let dir = with_api(
        "tls_cert_file = \"{dir}/cert.pem\"\ntls_key_file = \"{dir}/key.pem\"\n",
        32,
    );
    std::fs::write(dir.path().join("cert.pem"), cert).expect("write");
    std::fs::write(dir.path().join("key.pem"), key).expect("write");
    dir
}

#[test]
fn a_certificate_chain_and_its_key_load() {
    let pki = crate::config::tls::testing::pki();
    let dir = with_tls(&pki.chain_pem, &pki.key_pem);
    let loaded = load_ok(dir.path(), no_env());
    let api = &loaded.config.processor.api;
    let (cert, key) = (api.tls_cert_file.as_ref(), api.tls_key_file.as_ref());
    let identity =
        crate::config::tls::TlsIdentity::read(cert.expect("cert path"), key.expect("key path"))
            .expect("identity");
    assert_eq!(identity.chain.len(), 2, "leaf and CA");
    assert_eq!(identity.validity_warning(), None);
    assert!(loaded.warnings.iter().all(|w| !w.field.starts_with("api.")));
}

#[test]
fn tls_files_that_are_not_a_certificate_and_its_key_are_errors() {
    let pki = crate::config::tls::testing::pki();
    let other = crate::config::tls::testing::pki();
    // Certificate file without a certificate.
    let dir = with_tls(&pki.key_pem, &pki.key_pem);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.tls_cert_file",
        "holds no PEM certificate",
    );
    // Key file without a key.
    let dir = with_tls(&pki.chain_pem, &pki.ca_pem);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.tls_key_file",
        "holds no PEM private key",
    );
    // Another certificate's key.
    let dir = with_tls(&pki.chain_pem, &other.key_pem);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.tls_key_file",
        "is not the private key of the first certificate",
    );
    // An encrypted key: refused, never a passphrase prompt.
    let key = openssl::pkey::PKey::private_key_from_pem(&pki.key_pem).expect("key");
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pass")
        .expect("encrypted pem");
    let dir = with_tls(&pki.chain_pem, &encrypted);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.tls_key_file",
        "is an encrypted private key",
    );
}

#[test]
fn an_expired_certificate_loads_with_a_warning() {
    let pki = crate::config::tls::testing::pki_valid((1_600_000_000, 1_600_086_400));
    let dir = with_tls(&pki.chain_pem, &pki.key_pem);
    let loaded = load_ok(dir.path(), no_env());
    let warned = loaded
        .warnings
        .iter()
        .any(|w| w.field == "api.tls_cert_file" && w.message.contains("expired on"));
    assert!(warned, "{:?}", loaded.warnings);
}

#[test]
fn a_listener_needs_an_audience_a_key_source_and_its_own_address() {
    let problems = load_err(with_api("listen = \"0.0.0.0:9464\"\n", 32).path(), no_env());
    assert_problem(&problems, "processor.toml", "api.audience", "required");
    assert_problem(
        &problems,
        "processor.toml",
        "api.listen",
        "needs api.jwks_file or api.hs256_secret_file",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "api.listen",
        "also http.listen",
    );
}

#[test]
fn short_secrets_lone_tls_files_and_missing_files_are_errors() {
    let problems = load_err(
        with_api(
            "hs256_secret_file = \"{dir}/secret\"\ntls_cert_file = \"{dir}/jwks.json\"\n\
             jwks_file = \"{dir}/absent.json\"\n",
            31,
        )
        .path(),
        no_env(),
    );
    assert_problem(
        &problems,
        "processor.toml",
        "api.hs256_secret_file",
        "holds 31 bytes",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "api.tls_key_file",
        "go together",
    );
    assert_problem(&problems, "processor.toml", "api.jwks_file", "cannot read");
    let dir = with_api("tls_key_file = \"{dir}\"\n", 32);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.tls_key_file",
        "not a file",
    );
}

#[test]
fn the_environment_sets_api_keys() {
    let dir = with_api("", 32);
    let secret = dir.path().join("secret");
    let loaded = load_ok(
        dir.path(),
        env(&[
            ("ATTENDANCE__API__LISTEN", "127.0.0.1:8443"),
            ("ATTENDANCE__API__AUDIENCE", "attendance"),
            (
                "ATTENDANCE__API__HS256_SECRET_FILE",
                secret.to_str().expect("utf-8 path"),
            ),
        ]),
    );
    assert_eq!(loaded.config.processor.api.audience, "attendance");
    assert!(loaded.config.processor.api.listen.is_some());
}

#[test]
fn the_advertised_url_is_derived_from_a_specific_listen_address_or_required() {
    let base = "hs256_secret_file = \"{dir}/secret\"\naudience = \"attendance\"\n";
    let dir = with_api(&format!("listen = \"127.0.0.1:8443\"\n{base}"), 32);
    let api = load_ok(dir.path(), no_env()).config.processor.api;
    assert_eq!(api.advertise_url, None);
    assert_eq!(
        api.advertised_url().as_deref(),
        Some("http://127.0.0.1:8443")
    );

    let dir = with_api(&format!("listen = \"0.0.0.0:8081\"\n{base}"), 32);
    let problems = load_err(dir.path(), no_env());
    assert_problem(&problems, "processor.toml", "api.advertise_url", "required");

    let loaded = load_ok(
        dir.path(),
        env(&[(
            "ATTENDANCE__API__ADVERTISE_URL",
            "http://pod-0.attendance:8081/",
        )]),
    );
    assert_eq!(
        loaded.config.processor.api.advertised_url().as_deref(),
        Some("http://pod-0.attendance:8081")
    );

    let dir = with_api(
        &format!("listen = \"[::]:8081\"\nadvertise_url = \"ftp://pod-0:8081\"\n{base}"),
        32,
    );
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.advertise_url",
        "expected http://host:port or https://host:port",
    );
    // Without a listener nothing is advertised.
    assert_eq!(ApiConfig::default().advertised_url(), None);
}

/// `with_api` listening on `listen` with `extra` settings, TLS on with a test certificate.
fn with_tls_listener(listen: &str, extra: &str) -> TempConfig {
    let pki = crate::config::tls::testing::pki();
    let dir = with_api(
        &format!(
            "listen = \"{listen}\"\nhs256_secret_file = \"{{dir}}/secret\"\n\
             audience = \"attendance\"\ntls_cert_file = \"{{dir}}/cert.pem\"\n\
             tls_key_file = \"{{dir}}/key.pem\"\n{extra}"
        ),
        32,
    );
    std::fs::write(dir.path().join("cert.pem"), &pki.chain_pem).expect("write");
    std::fs::write(dir.path().join("key.pem"), &pki.key_pem).expect("write");
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).expect("write");
    dir
}

#[test]
fn with_tls_on_the_advertised_url_is_https() {
    // Derived from a specific listen address: https.
    let dir = with_tls_listener("127.0.0.1:8443", "");
    let api = load_ok(dir.path(), no_env()).config.processor.api;
    assert_eq!(
        api.advertised_url().as_deref(),
        Some("https://127.0.0.1:8443")
    );
    // Set: it must be https.
    let dir = with_tls_listener(
        "[::]:8443",
        "advertise_url = \"https://pod-0.attendance:8443\"\n\
         forward_ca_file = \"{dir}/ca.pem\"\n",
    );
    let loaded = load_ok(dir.path(), no_env());
    assert!(
        loaded.warnings.iter().all(|w| !w.field.starts_with("api.")),
        "{:?}",
        loaded.warnings
    );
    let dir = with_tls_listener(
        "[::]:8443",
        "advertise_url = \"http://pod-0.attendance:8443\"\n",
    );
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.advertise_url",
        "is plain HTTP but api.tls_cert_file puts TLS on api.listen",
    );
}

#[test]
fn an_https_url_advertised_by_a_plain_listener_is_a_warning() {
    let dir = with_api(
        "listen = \"[::]:8081\"\nadvertise_url = \"https://pod-0:8081\"\n\
         hs256_secret_file = \"{dir}/secret\"\naudience = \"attendance\"\n",
        32,
    );
    let loaded = load_ok(dir.path(), no_env());
    let warning = loaded
        .warnings
        .iter()
        .find(|w| w.field == "api.advertise_url")
        .expect("a warning");
    assert!(
        warning.message.contains("api.listen serves plain HTTP"),
        "{warning:?}"
    );
}

#[test]
fn a_forward_ca_file_without_certificates_is_an_error() {
    let dir = with_tls_listener("127.0.0.1:8443", "forward_ca_file = \"{dir}/key.pem\"\n");
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "api.forward_ca_file",
        "holds no PEM certificate",
    );
}
