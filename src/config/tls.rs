//! The record API's TLS identity (`api.tls_cert_file`, `api.tls_key_file`, SPEC §10) and the
//! certificates trusted when forwarding to another instance (`api.forward_ca_file`): the PEM
//! files read and checked the same way by `check-config` and at start-up, so that a
//! configuration that checks clean also starts. Every problem names the setting it is in.
//!
//! Checked: the certificate file holds at least one PEM certificate (the leaf first, then
//! any intermediates), the key file holds one unencrypted PEM private key, and that key is
//! the leaf's. A leaf outside its validity period is reported separately
//! ([`TlsIdentity::validity_warning`]): the process can start, clients will refuse it.

use std::io::Read;
use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::limits::TLS_PEM_MAX_BYTES;

/// A certificate chain, leaf first, and the leaf's private key.
pub struct TlsIdentity {
    /// The certificates of `api.tls_cert_file`, in file order (leaf first).
    pub chain: Vec<X509>,
    /// The private key of `api.tls_key_file`.
    pub key: PKey<Private>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("chain", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A problem with one of the two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsProblem {
    /// The setting whose file it is: `api.tls_cert_file` or `api.tls_key_file`.
    pub setting: &'static str,
    /// What is wrong, naming the file.
    pub message: String,
}

impl std::fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

impl std::error::Error for TlsProblem {}

const CERT: &str = "api.tls_cert_file";
const KEY: &str = "api.tls_key_file";
const FORWARD_CA: &str = "api.forward_ca_file";

fn problem(setting: &'static str, message: String) -> TlsProblem {
    TlsProblem { setting, message }
}

/// The file's bytes, at most [`TLS_PEM_MAX_BYTES`].
fn read_pem(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsProblem> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| problem(setting, format!("cannot read {shown}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(TLS_PEM_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| problem(setting, format!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > TLS_PEM_MAX_BYTES {
        return Err(problem(
            setting,
            format!("{shown} is larger than {TLS_PEM_MAX_BYTES} bytes; a PEM file is not"),
        ));
    }
    Ok(bytes)
}

impl TlsIdentity {
    /// Reads and checks the certificate chain at `cert` and the private key at `key`.
    pub fn read(cert: &Path, key: &Path) -> Result<Self, TlsProblem> {
        let cert_pem = read_pem(CERT, cert)?;
        let chain = X509::stack_from_pem(&cert_pem).unwrap_or_default();
        let Some(leaf) = chain.first() else {
            return Err(problem(
                CERT,
                format!(
                    "{} holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
                    cert.display()
                ),
            ));
        };
        let key_pem = read_pem(KEY, key)?;
        // A passphrase callback that answers nothing: an encrypted key fails here instead of
        // OpenSSL prompting on the terminal.
        let mut encrypted = false;
        let private = PKey::private_key_from_pem_callback(&key_pem, |_| {
            encrypted = true;
            Ok(0)
        });
        let private = match private {
            Ok(private) => private,
            Err(_) if encrypted => {
                return Err(problem(
                    KEY,
                    format!(
                        "{} is an encrypted private key; give the key unencrypted, in a file \
                         only the service's user can read",
                        key.display()
                    ),
                ))
            }
            Err(_) => {
                return Err(problem(
                    KEY,
                    format!(
                        "{} holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\")",
                        key.display()
                    ),
                ))
            }
        };
        let matches = leaf
            .public_key()
            .is_ok_and(|public| public.public_eq(&private));
        if !matches {
            return Err(problem(
                KEY,
                format!(
                    "{} is not the private key of the first certificate in {}",
                    key.display(),
                    cert.display()
                ),
            ));
        }
        Ok(Self {
            chain,
            key: private,
        })
    }

    /// A warning when the leaf certificate is expired or not valid yet (clients refuse it).
    pub fn validity_warning(&self) -> Option<String> {
        let leaf = self.chain.first()?;
        let now = Asn1Time::days_from_now(0).ok()?;
        if leaf.not_after() < now {
            Some(format!(
                "the certificate expired on {}; TLS clients will refuse it",
                leaf.not_after()
            ))
        } else if leaf.not_before() > now {
            Some(format!(
                "the certificate is not valid before {}; TLS clients will refuse it until then",
                leaf.not_before()
            ))
        } else {
            None
        }
    }
}

/// What the forwarder trusts in an `https` owner's certificate chain (SPEC §10 "Routing",
/// docs/SECURITY.md): the certificates of `api.forward_ca_file` alone when it is set, else
/// the system's roots plus every certificate of `api.tls_cert_file` (when set). Every
/// certificate listed is a trust anchor, an intermediate or a leaf included (OpenSSL's
/// partial-chain verification), so instances sharing one certificate, or one issuing CA
/// whose certificate the chain file carries, trust each other without more settings.
#[derive(Clone)]
pub struct ForwardTrust {
    /// The trust anchors read from the files.
    pub anchors: Vec<X509>,
    /// Whether the system's default roots are trusted too.
    pub system_roots: bool,
}

impl std::fmt::Debug for ForwardTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardTrust")
            .field("anchors", &self.anchors.len())
            .field("system_roots", &self.system_roots)
            .finish()
    }
}

impl ForwardTrust {
    /// Reads the trust of an instance with `forward_ca_file` and `tls_cert_file` (either may
    /// be unset).
    pub fn read(
        forward_ca_file: Option<&Path>,
        tls_cert_file: Option<&Path>,
    ) -> Result<Self, TlsProblem> {
        let (setting, path, system_roots) = match (forward_ca_file, tls_cert_file) {
            (Some(ca), _) => (FORWARD_CA, ca, false),
            (None, Some(cert)) => (CERT, cert, true),
            (None, None) => {
                return Ok(Self {
                    anchors: Vec::new(),
                    system_roots: true,
                })
            }
        };
        let pem = read_pem(setting, path)?;
        let anchors = X509::stack_from_pem(&pem).unwrap_or_default();
        if anchors.is_empty() {
            return Err(problem(
                setting,
                format!(
                    "{} holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
                    path.display()
                ),
            ));
        }
        Ok(Self {
            anchors,
            system_roots,
        })
    }
}

/// Certificates made at test time with the openssl crate: a CA and a leaf it signs for
/// `localhost` and `127.0.0.1`.
#[cfg(test)]
pub(crate) mod testing {
    use openssl::asn1::{Asn1Integer, Asn1Time};
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
    use openssl::x509::{X509Name, X509};

    /// PEM texts of a test CA and a leaf it signed.
    pub(crate) struct TestPki {
        /// The CA certificate (what a client trusts: `curl --cacert`).
        pub(crate) ca_pem: Vec<u8>,
        /// The leaf certificate followed by the CA's: a chain, leaf first.
        pub(crate) chain_pem: Vec<u8>,
        /// The leaf's private key, PKCS#8, unencrypted.
        pub(crate) key_pem: Vec<u8>,
        /// The CA's private key, PKCS#8, unencrypted.
        pub(crate) ca_key_pem: Vec<u8>,
    }

    fn p256() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        PKey::from_ec_key(EcKey::generate(&group).expect("ec key")).expect("pkey")
    }

    fn name(cn: &str) -> X509Name {
        let mut name = X509Name::builder().expect("name");
        name.append_entry_by_nid(Nid::COMMONNAME, cn).expect("cn");
        name.build()
    }

    fn certificate(
        subject: &str,
        key: &PKey<Private>,
        issuer: Option<(&X509, &PKey<Private>)>,
        valid: (i64, i64),
        dns: &str,
    ) -> X509 {
        let mut b = X509::builder().expect("builder");
        b.set_version(2).expect("v3");
        let serial = BigNum::from_u32(rand::random::<u32>() >> 1)
            .and_then(|n| Asn1Integer::from_bn(&n))
            .expect("serial");
        b.set_serial_number(&serial).expect("serial");
        b.set_subject_name(&name(subject)).expect("subject");
        let issuer_name = issuer.map_or_else(
            || name(subject),
            |(ca, _)| ca.subject_name().to_owned().expect("name"),
        );
        b.set_issuer_name(&issuer_name).expect("issuer");
        b.set_pubkey(key).expect("pubkey");
        b.set_not_before(&Asn1Time::from_unix(valid.0).expect("time"))
            .expect("not before");
        b.set_not_after(&Asn1Time::from_unix(valid.1).expect("time"))
            .expect("not after");
        if issuer.is_none() {
            b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
                .expect("bc");
        } else {
            let mut san = SubjectAlternativeName::new();
            san.dns(dns);
            if dns == "localhost" {
                san.ip("127.0.0.1");
            }
            let san = san
                .build(&b.x509v3_context(issuer.map(|(ca, _)| &**ca), None))
                .expect("san");
            b.append_extension(san).expect("san");
        }
        let signer = issuer.map_or(key, |(_, k)| k);
        b.sign(signer, MessageDigest::sha256()).expect("sign");
        b.build()
    }

    /// A CA and a leaf valid from `valid.0` to `valid.1` (Unix seconds).
    pub(crate) fn pki_valid(valid: (i64, i64)) -> TestPki {
        pki_for("localhost", valid)
    }

    /// A CA and a leaf for the host name `dns` only (`localhost` adds `127.0.0.1`), valid
    /// from `valid.0` to `valid.1` (Unix seconds).
    pub(crate) fn pki_for(dns: &str, valid: (i64, i64)) -> TestPki {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let ca_key = p256();
        let ca = certificate(
            "attendance test CA",
            &ca_key,
            None,
            (now - 3600, now + 86_400),
            dns,
        );
        issue(&ca, &ca_key, dns, valid)
    }

    /// A leaf for `dns` signed by `pki`'s CA, with that CA (valid from an hour ago for a day).
    pub(crate) fn leaf_signed_by(pki: &TestPki, dns: &str) -> TestPki {
        let ca = X509::from_pem(&pki.ca_pem).expect("CA");
        let ca_key = PKey::private_key_from_pem(&pki.ca_key_pem).expect("CA key");
        issue(&ca, &ca_key, dns, a_day())
    }

    fn issue(ca: &X509, ca_key: &PKey<Private>, dns: &str, valid: (i64, i64)) -> TestPki {
        let key = p256();
        let leaf = certificate(dns, &key, Some((ca, ca_key)), valid, dns);
        let ca_pem = ca.to_pem().expect("pem");
        let mut chain_pem = leaf.to_pem().expect("pem");
        chain_pem.extend_from_slice(&ca_pem);
        TestPki {
            ca_pem,
            chain_pem,
            key_pem: key.private_key_to_pem_pkcs8().expect("pem"),
            ca_key_pem: ca_key.private_key_to_pem_pkcs8().expect("pem"),
        }
    }

    /// A CA and a leaf for `localhost` and `127.0.0.1`, valid from an hour ago for a day.
    pub(crate) fn pki() -> TestPki {
        pki_for("localhost", a_day())
    }

    /// From an hour ago for a day, in Unix seconds.
    pub(crate) fn a_day() -> (i64, i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        (now - 3600, now + 86_400)
    }
}
