//! The SPEC v2 inputs of a generated company: stays (`out` badges), site
//! outages (§1.5) and attendance adjustments (§1.6).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Timelike};
use chrono_tz::Tz;
use serde_json::Value;

use super::{read, run, small};
use crate::generate::adjustments::BAD_ADJUSTMENT_REASONS;
use crate::generate::config::SITES;
use crate::generate::outages::BAD_OUTAGE_REASONS;
use crate::generate::GenerateOptions;

/// Half a year of a mid-sized company: enough outages and adjustments that
/// every kind of record occurs.
fn half_year() -> GenerateOptions {
    GenerateOptions {
        employees: 400,
        weeks: 26,
        ..small()
    }
}

fn zone_of(site: &str) -> Option<Tz> {
    SITES.iter().find(|s| s.id == site).map(|s| s.zone)
}

/// A well-formed badge line as (employee, site, unix seconds, local date, direction out).
fn badge(value: &Value) -> Option<(String, String, i64, NaiveDate, bool)> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let (employee, site) = (text("employee_id")?, text("site_id")?);
    let at = DateTime::parse_from_rfc3339(&text("timestamp")?).ok()?;
    let local = at.with_timezone(&zone_of(&site)?);
    let out = value.get("direction").and_then(Value::as_str) == Some("out");
    Some((employee, site, at.timestamp(), local.date_naive(), out))
}

fn badges(dir: &Path) -> Vec<(String, String, i64, NaiveDate, bool)> {
    read(dir, "badges.jsonl")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| badge(&value))
        .collect()
}

fn date(value: &Value, key: &str) -> Option<NaiveDate> {
    value.get(key)?.as_str()?.parse().ok()
}

#[test]
fn stays_have_the_documented_shares_and_every_out_follows_an_in() {
    let (dir, summary) = run(&GenerateOptions {
        employees: 1000,
        weeks: 4,
        late_fraction: 0.0,
        duplicate_fraction: 0.0,
        bad_fraction: 0.0,
        ..small()
    });
    let visits = summary.regular_stays
        + summary.coffee_stays
        + summary.late_night_stays
        + summary.stays_without_out;
    let share = |count: u64| count as f64 / visits as f64;
    assert!(visits > 5000, "{visits} visits");
    assert!((0.84..0.92).contains(&share(summary.regular_stays)));
    assert!((0.02..0.06).contains(&share(summary.coffee_stays)));
    assert!((0.012..0.03).contains(&share(summary.late_night_stays)));
    assert!((0.045..0.075).contains(&share(summary.stays_without_out)));

    let mut last_in: HashMap<String, i64> = HashMap::new();
    let (mut outs, mut after_midnight, mut coffee_like) = (0u64, 0u64, 0u64);
    for (employee, site, at, _, out) in badges(dir.path()) {
        if !out {
            last_in.insert(employee, at);
            continue;
        }
        outs += 1;
        let since = last_in.get(&employee).map(|arrived| at - arrived);
        let Some(since) = since else {
            panic!("an out of {employee} before any in");
        };
        // Coffee badges leave at least 5 minutes after arrival (a double
        // badge is at most 90 s later); late nights at most 02:30 next day.
        assert!((200..=20 * 3600).contains(&since), "{employee}: {since} s");
        coffee_like += u64::from(since <= 50 * 60);
        let zone = zone_of(&site).expect("known site");
        let local = DateTime::from_timestamp(at, 0)
            .expect("time")
            .with_timezone(&zone);
        after_midnight += u64::from(local.hour() < 3);
    }
    assert_eq!(outs, summary.out_badges);
    assert_eq!(after_midnight, summary.late_night_stays);
    assert!(coffee_like >= summary.coffee_stays, "{coffee_like}");
}

#[test]
fn out_badges_are_delayed_and_duplicated_like_in_badges() {
    let (dir, summary) = run(&small());
    let text = read(dir.path(), "badges.jsonl");
    let mut seen = BTreeSet::new();
    let mut duplicated_outs = 0;
    let (mut latest, mut late_outs) = (i64::MIN, 0);
    for line in text.lines() {
        let Some(value) = serde_json::from_str::<Value>(line).ok() else {
            continue;
        };
        let Some((_, _, at, _, out)) = badge(&value) else {
            continue;
        };
        if out && !seen.insert(line) {
            duplicated_outs += 1;
        }
        late_outs += u32::from(out && at < latest - 3600);
        latest = latest.max(at);
    }
    assert!(summary.out_badges > summary.badges / 3, "{summary:?}");
    assert!(duplicated_outs > 0 && late_outs > 0);
}

#[test]
fn outages_are_valid_some_cancelled_and_every_bad_kind_occurs() {
    let (dir, summary) = run(&half_year());
    let mut bad: BTreeMap<&str, u64> = BTreeMap::new();
    let mut latest: BTreeMap<String, (String, NaiveDate, NaiveDate, bool)> = BTreeMap::new();
    let (mut cancelled_after_active, mut multi_day) = (0, 0);
    for line in read(dir.path(), "outages.jsonl").lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            *bad.entry("truncated").or_default() += 1;
            continue;
        };
        let site = value["site_id"].as_str().unwrap_or_default().to_owned();
        let (Some(start), Some(end)) = (date(&value, "start_date"), date(&value, "end_date"))
        else {
            *bad.entry("missing end").or_default() += 1;
            continue;
        };
        let kind = if zone_of(&site).is_none() {
            "unknown site"
        } else if end < start {
            "ends before it starts"
        } else if (end - start).num_days() + 1 > 366 {
            "over 366 days"
        } else {
            ""
        };
        if !kind.is_empty() {
            *bad.entry(kind).or_default() += 1;
            continue;
        }
        let id = value["outage_id"].as_str().expect("outage_id").to_owned();
        let cancelled = match value["status"].as_str() {
            Some("cancelled") => true,
            Some("active") => false,
            other => panic!("status {other:?} in {line}"),
        };
        let before = latest.insert(id, (site, start, end, cancelled));
        cancelled_after_active += u32::from(cancelled && before.is_some_and(|b| !b.3));
        multi_day += u32::from((end - start).num_days() >= 2);
    }
    assert_eq!(bad.len(), 5, "{bad:?}");
    assert_eq!(bad.values().sum::<u64>(), summary.bad_outage_lines);
    assert_eq!(latest.len() as u64, summary.outages);
    assert!(cancelled_after_active > 0 && multi_day > 0);
    let reasons = &summary.expected_dead_letters_by_file["outages.jsonl"];
    assert!(BAD_OUTAGE_REASONS.iter().all(|r| reasons.contains_key(*r)));

    // Nobody's arrival is recorded at a site on a day of a standing outage.
    let standing: Vec<_> = latest.values().filter(|outage| !outage.3).collect();
    assert!(!standing.is_empty());
    for (employee, site, _, day, _) in badges(dir.path()).into_iter().filter(|b| !b.4) {
        let down = standing
            .iter()
            .any(|(s, start, end, _)| *s == site && (*start..=*end).contains(&day));
        assert!(!down, "{employee} badged at {site} on {day}, an outage day");
    }
}

#[test]
fn adjustments_are_approved_by_the_manager_some_cancelled_and_every_bad_kind_occurs() {
    let (dir, summary) = run(&half_year());
    // Who may approve: a manager or VP that a roster record names.
    let mut approvers: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in read(dir.path(), "roster.jsonl").lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(id) = value["employee_id"].as_str() else {
            continue;
        };
        let ids = ["manager_id", "vp_id"]
            .iter()
            .filter_map(|key| value[*key].as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        approvers.entry(id.to_owned()).or_default().extend(ids);
    }
    let mut bad: BTreeMap<&str, u64> = BTreeMap::new();
    let mut actions = BTreeSet::new();
    let mut status: HashMap<(String, String), bool> = HashMap::new();
    let (mut valid, mut cancelled_after_approval) = (0, 0);
    let mut credited = BTreeSet::new();
    for line in read(dir.path(), "adjustments.jsonl").lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            *bad.entry("truncated").or_default() += 1;
            continue;
        };
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        let employee = text("employee_id").expect("employee_id");
        let approved_by = text("approved_by").expect("approved_by");
        let kind = match (text("reason"), date(&value, "date")) {
            (None, _) => "no reason",
            (_, None) => "bad date",
            _ if text("requested_by").as_deref() == Some("") => "empty requested_by",
            _ if approved_by == employee => "self-approved",
            _ => "",
        };
        if !kind.is_empty() {
            *bad.entry(kind).or_default() += 1;
            continue;
        }
        valid += 1;
        let reason = text("reason").unwrap_or_default();
        assert!((1..=500).contains(&reason.len()), "{line}");
        let named = approvers.get(&employee);
        assert!(
            named.is_some_and(|ids| ids.contains(&approved_by)),
            "{line}"
        );
        let action = text("action").expect("action");
        actions.insert(action.clone());
        let cancelled = text("status").as_deref() == Some("cancelled");
        let id = text("adjustment_id").expect("adjustment_id");
        let before = status.insert((employee.clone(), id), cancelled);
        cancelled_after_approval += u32::from(cancelled && before == Some(false));
        if action == "credit_office_day" {
            let day = date(&value, "date").expect("date");
            if cancelled {
                credited.remove(&(employee, day));
            } else {
                credited.insert((employee, day));
            }
        }
    }
    assert_eq!(bad.len(), 5, "{bad:?}");
    assert_eq!(bad.values().sum::<u64>(), summary.bad_adjustment_lines);
    assert_eq!(valid, summary.adjustment_records);
    assert_eq!(
        actions.into_iter().collect::<Vec<_>>(),
        ["credit_office_day", "excuse_day"]
    );
    assert!(cancelled_after_approval > 0);
    let reasons = &summary.expected_dead_letters_by_file["adjustments.jsonl"];
    assert!(BAD_ADJUSTMENT_REASONS
        .iter()
        .all(|r| reasons.contains_key(*r)));

    // A credited day has no arrival of its employee: the reader missed it.
    assert!(!credited.is_empty());
    for (employee, site, _, day, _) in badges(dir.path()).into_iter().filter(|b| !b.4) {
        let key = (employee, day);
        assert!(
            !credited.contains(&key),
            "{key:?} credited, yet badged at {site}"
        );
    }
}

#[test]
fn the_generated_configuration_loads_with_every_rule_kind() {
    use crate::config::{Config, Rule, UnverifiedPresence};
    let (dir, _) = run(&GenerateOptions {
        employees: 20,
        weeks: 2,
        ..small()
    });
    let loaded = Config::load_with_env(&dir.path().join("config"), Vec::new());
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => panic!("generated configuration is invalid: {errors}"),
    };
    // (processor.toml warns that no pseudonym key is set, as it should.)
    let policy_warnings = loaded.warnings.iter().filter(|w| w.file == "policies.toml");
    assert_eq!(policy_warnings.count(), 0, "{:?}", loaded.warnings);
    let policies = &loaded.config.policies;
    let rules: Vec<Rule> = policies.iter().map(|policy| policy.rule).collect();
    assert!(rules.contains(&Rule::Weekly));
    assert!(rules.contains(&Rule::RollingAverage { weeks: 4 }));
    assert!(rules.contains(&Rule::MissedWeeks {
        weeks: 8,
        max_missed: 4
    }));
    let two_hours = Some(std::time::Duration::from_secs(2 * 3600));
    let presence: Vec<_> = policies
        .iter()
        .filter(|policy| policy.min_presence == two_hours)
        .map(|policy| policy.unverified_presence)
        .collect();
    assert!(presence.contains(&UnverifiedPresence::Count));
    assert!(presence.contains(&UnverifiedPresence::Ignore));
}
