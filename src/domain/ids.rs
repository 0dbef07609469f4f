//! Identities: the employee id of §1.1, and the deterministic output ids of §6 (name-based
//! UUIDs, version 5, of what the output is about), so the same input always yields the same
//! ids and consumers can de-duplicate.

use std::borrow::Borrow;
use std::fmt;

use compact_str::CompactString;
use uuid::Uuid;

use super::{AlertKind, Week};

/// An employee id as §1.1 allows it: 1 to 64 bytes of `[A-Za-z0-9._:@-]`. Built by
/// [`EmployeeId::parse`] from input, so a value of this type is always valid.
///
/// Held as a [`CompactString`]: an id of up to 24 bytes (all those seen in practice) is
/// inline, so an output's copy of the engine's id does not allocate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmployeeId(CompactString);

impl EmployeeId {
    /// The longest id, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Whether `s` follows §1.1's rule.
    pub fn is_valid(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'@' | b'-'))
    }

    /// `s` as an employee id, `None` when it breaks §1.1's rule.
    pub fn parse(s: &str) -> Option<Self> {
        Self::is_valid(s).then(|| Self(CompactString::new(s)))
    }

    /// An id that was parsed before and kept as text (the engine's compact state).
    pub(crate) fn from_parsed(id: &str) -> Self {
        debug_assert!(Self::is_valid(id), "{id:?} was never a parsed employee id");
        Self(CompactString::new(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for EmployeeId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmployeeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for EmployeeId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for EmployeeId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for EmployeeId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// An id this service mints: a version-5 UUID in its hyphenated lower-case form, 36 ASCII
/// bytes held inline, so that minting, copying and dropping one never allocates (a week close
/// mints two or three per employee, and each output holds one or two).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputId([u8; uuid::fmt::Hyphenated::LENGTH]);

impl OutputId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only the UUID's hex digits and hyphens are ever written (`name_based`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id's bytes: ASCII hex digits and hyphens, never in need of JSON escaping.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for OutputId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for OutputId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for OutputId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for OutputId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for OutputId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for OutputId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for OutputId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<OutputId> for String {
    fn eq(&self, other: &OutputId) -> bool {
        self == other.as_str()
    }
}

/// Namespace of every id this service mints.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a8e_53b4_4c1d_9e7a_0b2f_8d3c_41a7);

/// A version-5 UUID (RFC 9562 §5.5) in [`NAMESPACE`] of the name made of `parts`, end to
/// end. Computed with the RustCrypto SHA-1, which uses the CPU's SHA extensions: a week
/// close mints 2–3 ids per employee and the portable SHA-1 inside `uuid` was 12% of it. The
/// parts are hashed one after the other, which is the hash of their concatenation: no name
/// is built.
fn name_based(parts: &[&[u8]]) -> OutputId {
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    hasher.update(NAMESPACE.as_bytes());
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Builder::from_sha1_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text);
    OutputId(text)
}

/// Id of revision `revision` of the decision for `employee_id` in `week`.
pub fn decision_id(employee_id: &str, week: Week, revision: u32) -> OutputId {
    let mut digits = itoa::Buffer::new();
    name_based(&[
        b"decision/",
        employee_id.as_bytes(),
        b"/",
        week.label_text().as_bytes(),
        b"/",
        digits.format(revision).as_bytes(),
    ])
}

/// Id of the compliance change caused by decision `decision_id`.
pub fn change_id(decision_id: &str) -> OutputId {
    name_based(&[b"change/", decision_id.as_bytes()])
}

/// Id of an alert about a decision (non-compliant, resolved, retracted).
pub fn decision_alert_id(kind: AlertKind, decision_id: &str) -> OutputId {
    name_based(&[
        b"alert/",
        kind.as_str().as_bytes(),
        b"/",
        decision_id.as_bytes(),
    ])
}

/// Id of the at-risk alert of `employee_id` in `week` (at most one per week).
pub fn at_risk_alert_id(employee_id: &str, week: Week) -> OutputId {
    name_based(&[
        b"alert/at_risk/",
        employee_id.as_bytes(),
        b"/",
        week.label_text().as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_standard_version_5_uuids() {
        for name in ["decision/e-1/2026-W19/0", "", "alert/at_risk/e-é/2026-W01"] {
            assert_eq!(
                name_based(&[name.as_bytes()]),
                Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
            );
        }
    }

    #[test]
    fn ids_are_stable_and_distinct_per_revision() {
        let a = decision_id("e-1", Week(2940), 0);
        assert_eq!(a, decision_id("e-1", Week(2940), 0));
        assert_ne!(a, decision_id("e-1", Week(2940), 1));
        assert_ne!(a, decision_id("e-2", Week(2940), 0));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn ids_hash_the_names_they_always_hashed() {
        let v5 = |name: &str| Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string();
        let week = Week(2940);
        let label = week.label();
        assert_eq!(
            decision_id("e-1", week, 12),
            v5(&format!("decision/e-1/{label}/12"))
        );
        let d = decision_id("e-1", week, 0);
        assert_eq!(change_id(&d), v5(&format!("change/{d}")));
        assert_eq!(
            decision_alert_id(AlertKind::NonCompliant, &d),
            v5(&format!("alert/non_compliant/{d}"))
        );
        assert_eq!(
            at_risk_alert_id("e-1", week),
            v5(&format!("alert/at_risk/e-1/{label}"))
        );
    }
}
