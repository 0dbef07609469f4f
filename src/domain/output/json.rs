//! The outputs written as JSON straight from their fields, without going through serde:
//! byte for byte what `serde_json::to_vec` makes of the derived `Serialize` (same field
//! order, compact form, same escapes; the tests below hold the two together), at a fraction
//! of the cost. Field names are written as constants; dates, week labels, enum names,
//! numbers and employee ids, which never need escaping, are copied as they are; any other
//! text is scanned and, only when it holds a character JSON must escape, handed to
//! serde_json.
//!
//! Replay's files and the Kafka payloads both come from here (`WriteJson`), so both keep
//! the exact bytes they had.

use super::{ComplianceChange, DeadLetter, Decision, ManagerAlert, WeekDays};
use crate::domain::time::Ascii;
use crate::domain::Week;

/// A value written as one compact JSON document.
pub trait WriteJson {
    /// Appends the JSON of `self` to `out`: the bytes of `serde_json::to_vec(self)`.
    fn write_json(&self, out: &mut Vec<u8>);

    /// The JSON of `self` in a new buffer.
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_json(&mut out);
        out
    }
}

/// Whether serde_json writes `text` as it is between quotes: no control character
/// (below U+0020), no `"` and no `\`. Checked 16 bytes at a time without branches, which
/// the compiler turns into vector instructions.
fn needs_no_escape(text: &str) -> bool {
    fn plain(b: u8) -> bool {
        (b >= 0x20) & (b != b'"') & (b != b'\\')
    }
    let mut chunks = text.as_bytes().chunks_exact(16);
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |ok, &b| ok & plain(b)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| plain(b))
}

/// The output buffer, with a writer per kind of JSON value.
struct Out<'a>(&'a mut Vec<u8>);

impl Out<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn u32(&mut self, value: u32) {
        // Most numbers in outputs are one digit (versions, day counts, revisions).
        if value < 10 {
            self.0.push(b'0' + value as u8);
        } else {
            self.raw(itoa::Buffer::new().format(value).as_bytes());
        }
    }

    fn bool(&mut self, value: bool) {
        self.raw(if value { b"true" } else { b"false" });
    }

    /// A string known to need no escaping (ASCII digits, letters and `-_.:@W`).
    fn plain(&mut self, text: &[u8]) {
        debug_assert!(std::str::from_utf8(text).is_ok_and(needs_no_escape));
        self.0.reserve(text.len() + 2);
        self.0.push(b'"');
        self.0.extend_from_slice(text);
        self.0.push(b'"');
    }

    /// [`Out::plain`] for a text of a length known at compile time (dates, week labels):
    /// copied without a call to `memcpy`.
    fn ascii<const N: usize>(&mut self, text: &Ascii<N>) {
        self.0.reserve(N + 2);
        self.0.push(b'"');
        self.0.extend_from_slice(text.as_bytes());
        self.0.push(b'"');
    }

    /// Any string, escaped as serde_json escapes it.
    fn text(&mut self, text: &str) {
        if needs_no_escape(text) {
            self.plain(text.as_bytes());
        } else {
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *self.0, text);
        }
    }

    fn opt_text(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.text(text),
            None => self.raw(b"null"),
        }
    }

    /// A JSON array of `items`, each written by `write`.
    fn array<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut write: impl FnMut(&mut Self, T),
    ) {
        self.0.push(b'[');
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                self.0.push(b',');
            }
            write(self, item);
        }
        self.0.push(b']');
    }

    fn days(&mut self, days: WeekDays) {
        self.array(days.iter(), |o, day| o.ascii(&day.date_text()));
    }

    fn weeks(&mut self, weeks: &[Week]) {
        self.array(weeks, |o, week| o.ascii(&week.label_text()));
    }

    fn texts(&mut self, texts: &[String]) {
        self.array(texts, |o, text| o.text(text));
    }
}

impl WriteJson for Decision {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Out(out);
        o.raw(b"{\"schema_version\":");
        o.u32(self.schema_version);
        o.raw(b",\"decision_id\":");
        o.plain(self.decision_id.as_bytes());
        o.raw(b",\"employee_id\":");
        o.plain(self.employee_id.as_str().as_bytes());
        o.raw(b",\"week\":");
        o.ascii(&self.week.label_text());
        o.raw(b",\"week_start\":");
        o.ascii(&self.week_start.date_text());
        o.raw(b",\"status\":");
        o.plain(self.status.as_str().as_bytes());
        o.raw(b",\"reason\":");
        o.plain(self.reason.as_str().as_bytes());
        o.raw(b",\"office_days\":");
        o.days(self.office_days);
        o.raw(b",\"required_days\":");
        o.u32(self.required_days);
        o.raw(b",\"exempt_days\":");
        o.days(self.exempt_days);
        o.raw(b",\"short_days\":");
        o.days(self.short_days);
        o.raw(b",\"unverified_days\":");
        o.days(self.unverified_days);
        o.raw(b",\"adjustments\":");
        o.texts(&self.adjustments);
        o.raw(b",\"policy\":{\"id\":");
        o.text(&self.policy.id);
        o.raw(b",\"version\":");
        o.u32(self.policy.version);
        o.raw(b"},\"window\":{\"weeks\":");
        o.weeks(&self.window.weeks);
        o.raw(b",\"office_days\":");
        o.u32(self.window.office_days);
        o.raw(b",\"required_days\":");
        o.u32(self.window.required_days);
        o.raw(b",\"missed_weeks\":");
        o.u32(self.window.missed_weeks);
        o.raw(b"},\"revision\":");
        o.u32(self.revision);
        o.raw(b",\"correction\":");
        o.bool(self.correction);
        o.raw(b",\"consecutive_non_compliant_weeks\":");
        o.u32(self.consecutive_non_compliant_weeks);
        o.raw(b",\"manager_id\":");
        o.opt_text(self.manager_id.as_deref());
        o.raw(b",\"org\":");
        o.text(&self.org);
        o.raw(b",\"explanation\":");
        o.text(&self.explanation);
        o.raw(b"}");
    }
}

impl WriteJson for ComplianceChange {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Out(out);
        o.raw(b"{\"schema_version\":");
        o.u32(self.schema_version);
        o.raw(b",\"change_id\":");
        o.plain(self.change_id.as_bytes());
        o.raw(b",\"employee_id\":");
        o.plain(self.employee_id.as_str().as_bytes());
        o.raw(b",\"week\":");
        o.ascii(&self.week.label_text());
        o.raw(b",\"previous_status\":");
        match self.previous_status {
            Some(status) => o.plain(status.as_str().as_bytes()),
            None => o.raw(b"null"),
        }
        o.raw(b",\"status\":");
        o.plain(self.status.as_str().as_bytes());
        o.raw(b",\"correction\":");
        o.bool(self.correction);
        o.raw(b",\"decision_id\":");
        o.plain(self.decision_id.as_bytes());
        o.raw(b",\"manager_id\":");
        o.opt_text(self.manager_id.as_deref());
        o.raw(b",\"org\":");
        o.text(&self.org);
        o.raw(b"}");
    }
}

impl WriteJson for ManagerAlert {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Out(out);
        o.raw(b"{\"schema_version\":");
        o.u32(self.schema_version);
        o.raw(b",\"alert_id\":");
        o.plain(self.alert_id.as_bytes());
        o.raw(b",\"manager_id\":");
        o.text(&self.manager_id);
        o.raw(b",\"vp_id\":");
        o.opt_text(self.vp_id.as_deref());
        o.raw(b",\"employee_id\":");
        o.plain(self.employee_id.as_str().as_bytes());
        o.raw(b",\"week\":");
        o.ascii(&self.week.label_text());
        o.raw(b",\"kind\":");
        o.plain(self.kind.as_str().as_bytes());
        o.raw(b",\"escalation_level\":");
        o.opt_text(self.escalation_level.as_deref());
        o.raw(b",\"consecutive_non_compliant_weeks\":");
        o.u32(self.consecutive_non_compliant_weeks);
        o.raw(b",\"promotion_requires_vp_approval\":");
        o.bool(self.promotion_requires_vp_approval);
        o.raw(b",\"decision_id\":");
        match &self.decision_id {
            Some(id) => o.plain(id.as_bytes()),
            None => o.raw(b"null"),
        }
        o.raw(b",\"explanation\":");
        o.text(&self.explanation);
        o.raw(b"}");
    }
}

/// Dead letters are rare: serde_json writes them.
impl WriteJson for DeadLetter {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Serializing this plain struct into a Vec cannot fail.
        let _ = serde_json::to_writer(out, self);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::ids;
    use crate::domain::output::{PolicyRef, Window};
    use crate::domain::{AlertKind, EmployeeId, Reason, Status};

    fn serde<T: serde::Serialize>(value: &T) -> String {
        String::from_utf8(serde_json::to_vec(value).unwrap_or_default()).unwrap_or_default()
    }

    fn direct<T: WriteJson>(value: &T) -> String {
        String::from_utf8(value.to_json()).unwrap_or_default()
    }

    const TEXTS: [&str; 9] = [
        "",
        "plain text, with spaces; and (parentheses)",
        "quote \" and backslash \\ inside",
        "controls \n \t \r \u{1} \u{1f} and DEL \u{7f}",
        "non-ASCII: é, ü, 日本, 🙂 and U+2028 \u{2028}",
        "exactly sixteen!",
        "a longer text of more than sixteen bytes that ends in a quote\"",
        "\u{0}",
        "/ slash </script>",
    ];

    fn decision(text: &str, n: usize) -> Decision {
        let week = Week(2940 + n as i32);
        Decision {
            schema_version: 2,
            decision_id: ids::decision_id(text, week, n as u32),
            employee_id: EmployeeId::parse("e-1.x_y:z@w").unwrap_or_else(|| unreachable!()),
            week,
            week_start: week.monday(),
            status: [Status::Compliant, Status::NonCompliant, Status::Exempt][n % 3],
            reason: [
                Reason::RemoteApproved,
                Reason::NewHireGrace,
                Reason::FullyExcused,
                Reason::MetRequirement,
                Reason::BelowRequired,
                Reason::TooManyMissedWeeks,
            ][n % 6],
            office_days: WeekDays::new(week, (n as u8).wrapping_mul(37)),
            required_days: n as u32,
            exempt_days: WeekDays::new(week, 0x7f),
            short_days: WeekDays::none(week),
            unverified_days: WeekDays::new(week, 1 << (n % 7)),
            adjustments: (0..n % 3).map(|i| format!("adj-{i}{text}")).collect(),
            policy: PolicyRef {
                id: text.into(),
                version: u32::MAX - n as u32,
            },
            window: Window {
                weeks: (0..n % 4).map(|i| week.plus(-(i as i32))).collect(),
                office_days: 0,
                required_days: 10,
                missed_weeks: n as u32 % 2,
            },
            revision: n as u32,
            correction: n % 2 == 1,
            consecutive_non_compliant_weeks: 1_000_000 * n as u32,
            manager_id: (n % 2 == 0).then(|| text.into()),
            org: text.into(),
            explanation: text.to_owned(),
        }
    }

    fn change(text: &str, n: usize) -> ComplianceChange {
        let statuses = [Status::Compliant, Status::NonCompliant, Status::Exempt];
        ComplianceChange {
            schema_version: 1,
            change_id: ids::change_id(text),
            employee_id: EmployeeId::parse("e-2").unwrap_or_else(|| unreachable!()),
            week: Week(-5 + n as i32),
            previous_status: (n % 4 != 0).then(|| statuses[n % 3]),
            status: statuses[(n + 1) % 3],
            correction: n % 2 == 0,
            decision_id: ids::decision_id(text, Week(n as i32), 0),
            manager_id: (n % 2 == 1).then(|| text.into()),
            org: text.into(),
        }
    }

    fn alert(text: &str, n: usize) -> ManagerAlert {
        let kinds = [
            AlertKind::NonCompliant,
            AlertKind::Resolved,
            AlertKind::AtRisk,
            AlertKind::Retracted,
        ];
        ManagerAlert {
            schema_version: 1,
            alert_id: ids::at_risk_alert_id(text, Week(n as i32)),
            manager_id: format!("m{text}").into(),
            vp_id: (n % 2 == 0).then(|| text.into()),
            employee_id: EmployeeId::parse("e-3").unwrap_or_else(|| unreachable!()),
            week: Week(2900 + 53 * n as i32),
            kind: kinds[n % 4],
            escalation_level: (n % 3 == 0).then(|| format!("level {text}").into()),
            consecutive_non_compliant_weeks: n as u32,
            promotion_requires_vp_approval: n % 2 == 1,
            decision_id: (n % 3 != 1).then(|| ids::change_id(text)),
            explanation: text.to_owned(),
        }
    }

    #[test]
    fn decisions_changes_and_alerts_are_the_bytes_serde_json_writes() {
        for (n, text) in TEXTS.iter().enumerate() {
            for k in [n, n + 7, n + 13] {
                let d = decision(text, k);
                assert_eq!(direct(&d), serde(&d), "decision {k}");
                let c = change(text, k);
                assert_eq!(direct(&c), serde(&c), "change {k}");
                let a = alert(text, k);
                assert_eq!(direct(&a), serde(&a), "alert {k}");
            }
        }
    }

    #[test]
    fn the_escape_check_agrees_with_serde_json_on_every_character_class() {
        for c in (0u32..0x300)
            .chain([0x2028, 0x1f642])
            .filter_map(char::from_u32)
        {
            for text in [
                c.to_string(),
                format!("{}{c}", "x".repeat(16)),
                format!("{c}x"),
            ] {
                let mut out = Vec::new();
                Out(&mut out).text(&text);
                assert_eq!(out, serde_json::to_vec(&text).unwrap_or_default(), "{c:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(text in any::<String>(), n in 0usize..64) {
            let d = decision(&text, n);
            prop_assert_eq!(direct(&d), serde(&d));
            let a = alert(&text, n);
            prop_assert_eq!(direct(&a), serde(&a));
            let c = change(&text, n);
            prop_assert_eq!(direct(&c), serde(&c));
        }
    }

    #[test]
    fn a_dead_letter_is_written_by_serde_json() {
        let dl = DeadLetter::new(
            crate::domain::DeadLetterReason::MalformedJson,
            "bad \"json\"".into(),
            crate::domain::output::Source::File {
                file: "badges.jsonl".into(),
                line: 3,
            },
            b"{\"x\x01",
        );
        assert_eq!(direct(&dl), serde(&dl));
    }
}
