//! SPEC v2 inputs live: a site outage and an adjustment arriving late for a closed week
//! correct it to replay's final decisions, an invalid outage is dead-lettered once however
//! many instances read it, and a restarted instance (restore) keeps the outages in force.
//!
//! Replay applies outages and adjustments before any badge (§7), so its decisions are final
//! at revision 0 while live ones reach the same content through corrections: the late test
//! compares the *final* decision per employee and week (§7: "the same final decisions").

use std::collections::BTreeMap;
use std::time::Duration;

use attendance_compliance::generate::GenerateOptions;
use chrono::{Datelike, Days, NaiveDate};

use crate::harness::{assert_unique_ids, Topics};
use crate::harness::{partition_of, start_monday, Company, Kafka, Outputs, Service, ServiceEnv};

fn env<'a>(kafka: &'a Kafka, topics: &'a Topics, group: &'a str, id: &'a str) -> ServiceEnv<'a> {
    ServiceEnv {
        kafka,
        topics,
        group,
        instance: id,
        extra: vec![(
            "ATTENDANCE__STATE__BATCH_MAX_MESSAGES".to_owned(),
            "1000".to_owned(),
        )],
    }
}

/// An active roster employee with a manager other than themself: (employee, home site,
/// approver).
fn someone(company: &Company) -> (String, String, String) {
    let roster =
        std::fs::read_to_string(company.dir.path().join("roster.jsonl")).expect("roster file");
    roster
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| {
            let id = v["employee_id"].as_str()?;
            let manager = v["manager_id"].as_str().filter(|m| *m != id)?;
            (v["status"] == "active").then(|| {
                let site = v["home_site"].as_str().unwrap_or_default();
                (id.to_owned(), site.to_owned(), manager.to_owned())
            })
        })
        .expect("an active employee with a manager")
}

fn iso_week(monday: NaiveDate) -> String {
    let iso = monday.iso_week();
    format!("{}-W{:02}", iso.year(), iso.week())
}

fn outage(id: &str, site: &str, date: NaiveDate) -> String {
    format!(
        r#"{{"outage_id":"{id}","site_id":"{site}","start_date":"{date}","end_date":"{date}","status":"active","reason":"badge readers offline"}}"#
    )
}

/// The last revision of each (employee, week), without what only says how it was reached
/// (decision_id, revision, correction).
fn final_decisions(lines: &[String]) -> BTreeMap<(String, String), String> {
    let mut latest: BTreeMap<(String, String), (u64, serde_json::Value)> = BTreeMap::new();
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("decision JSON");
        let key = (
            v["employee_id"].as_str().unwrap_or_default().to_owned(),
            v["week"].as_str().unwrap_or_default().to_owned(),
        );
        let revision = v["revision"].as_u64().unwrap_or_default();
        if latest.get(&key).is_none_or(|(r, _)| revision >= *r) {
            latest.insert(key, (revision, v));
        }
    }
    latest
        .into_iter()
        .map(|(k, (_, mut v))| {
            if let Some(map) = v.as_object_mut() {
                for field in ["decision_id", "revision", "correction"] {
                    map.remove(field);
                }
            }
            (k, v.to_string())
        })
        .collect()
}

/// Two instances share two partitions. After the whole company is processed, an outage of
/// one site (both instances read it), an invalid outage and an adjustment arrive for the
/// third of four weeks, which has closed: live ends with replay's final decisions, and with
/// its dead letters, the invalid outage's exactly once.
pub(crate) fn late_outage_and_adjustment(kafka: &Kafka) {
    let partitions = 2;
    let topics = Topics::unique("late");
    kafka.create_topics(&topics, partitions, &[("outages", 3)]);
    let weeks = 4;
    let options = GenerateOptions {
        employees: 600,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 23,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, partitions, "late");
    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let services = ["late-a", "late-b"].map(|id| {
        Service::spawn(
            &company.config_dir(),
            &env(kafka, &topics, &group, id),
            company.dir.path().join(format!("{id}.log")),
        )
    });
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));

    // Week 3 closed when week 4's badges moved the watermark past its Monday + 24 h.
    let (employee, site, approver) = someone(&company);
    let monday = options.start_monday + Days::new(14);
    let valid = company.add_outage(&outage("o-late-1", &site, monday + Days::new(2)));
    kafka.produce(&valid, &topics.outages, 0);
    let invalid = company.add_outage(&outage("o-late-bad", "XX-9", monday + Days::new(2)));
    kafka.produce(&invalid, &topics.outages, 1);
    let p = partition_of(employee.as_bytes(), partitions);
    let adjustment = format!(
        r#"{{"adjustment_id":"adj-late-1","employee_id":"{employee}","date":"{}","action":"credit_office_day","status":"approved","reason":"badge reader at door 3 faulty","approved_by":"{approver}"}}"#,
        monday + Days::new(1)
    );
    let file = company.add_adjustment(p, &adjustment);
    kafka.produce(&file, &topics.adjustments, p);
    kafka.wait_committed(
        &group,
        &topics,
        partitions,
        company.messages() + 1,
        Duration::from_secs(120),
    );
    kafka.wait_outages_committed(&group, &topics.outages, Duration::from_secs(120));

    let live = Outputs::read(kafka, &topics);
    let expected = company.expected(None);
    let want = final_decisions(&expected.decisions);
    let week = iso_week(monday);
    let target = want
        .get(&(employee.clone(), week.clone()))
        .unwrap_or_else(|| panic!("replay has no decision for {employee} in {week}"));
    assert!(target.contains("adj-late-1"), "{target}");
    let got = final_decisions(&live.decisions);
    for (key, decision) in &want {
        assert_eq!(got.get(key), Some(decision), "final decision of {key:?}");
    }
    assert_eq!(got.len(), want.len(), "(employee, week) pairs decided");
    assert_eq!(
        live.dead_letters, expected.dead_letters,
        "dead letters (the invalid outage's exactly once)"
    );
    assert_unique_ids(&live.decisions, "decision_id");
    for service in services {
        let log = service.log_text();
        assert!(log.contains("site outages read"), "{log}");
        let status = service.terminate(Duration::from_secs(60));
        assert!(status.success(), "exit status after SIGTERM: {status}");
    }
}

/// An outage known before its week closes is in force after a restart: instance A reads the
/// first half of the badges and stops; instance B restores the state, reads the outage table
/// again, and closes the outage's week with the rest. Outputs equal replay's exactly.
pub(crate) fn restart_keeps_outages(kafka: &Kafka) {
    let partitions = 2;
    let topics = Topics::unique("orestart");
    kafka.create_topics(&topics, partitions, &[("outages", 2)]);
    let weeks = 5;
    let options = GenerateOptions {
        employees: 600,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 29,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, partitions, "outage-restart");
    let (_, site, _) = someone(&company);
    let monday = options.start_monday + Days::new(21);
    let file = company.add_outage(&outage("o-restart", &site, monday + Days::new(2)));
    company.produce_tables(kafka, &topics);
    kafka.produce(&file, &topics.outages, 1);

    // Each partition's badges in two halves, in file order.
    let mut first = 0i64;
    for p in 0..partitions {
        let data = std::fs::read(company.part(p, "badges.keyed")).expect("keyed badges");
        let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
        let half = lines.len() / 2;
        first += half as i64;
        for (name, slice) in [("a", &lines[..half]), ("b", &lines[half..])] {
            let part = company.part(p, &format!("badges-{name}.keyed"));
            std::fs::write(&part, slice.concat()).expect("half");
        }
    }
    let group = format!("{}-group", topics.badges);
    for p in 0..partitions {
        kafka.produce(&company.part(p, "badges-a.keyed"), &topics.badges, p);
    }
    let a = Service::spawn(
        &company.config_dir(),
        &env(kafka, &topics, &group, "orestart-a"),
        company.dir.path().join("a.log"),
    );
    let tables = company.counts_tables();
    kafka.wait_committed(
        &group,
        &topics,
        partitions,
        tables + first,
        Duration::from_secs(180),
    );
    let status = a.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status of A after SIGTERM: {status}");
    let week = iso_week(monday);
    let before = Outputs::read(kafka, &topics);
    assert!(
        !before
            .decisions
            .iter()
            .any(|d| d.contains(&format!("\"week\":\"{week}\""))),
        "the outage's week {week} closed before the restart: the test would prove nothing"
    );

    for p in 0..partitions {
        kafka.produce(&company.part(p, "badges-b.keyed"), &topics.badges, p);
    }
    let b = Service::spawn(
        &company.config_dir(),
        &env(kafka, &topics, &group, "orestart-b"),
        company.dir.path().join("b.log"),
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));
    let b_log = b.log_text();
    let status = b.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status of B after SIGTERM: {status}");
    let live = Outputs::read(kafka, &topics);
    let expected = company.expected(None);
    assert!(
        expected
            .decisions
            .iter()
            .any(|d| d.contains(&format!("\"week\":\"{week}\""))),
        "replay closed no decision in {week}"
    );
    live.assert_same(&expected, "outage kept across a restart");
    assert!(
        b_log.contains("site outages applied"),
        "B did not apply its outage table after the restore: {b_log}"
    );
}
