//! Tests of the summary's tallies.

use super::*;

fn decision(employee: &str, week: &str, revision: u64, status: &str, days: [&str; 4]) -> String {
    let list = |n: &str| {
        let items: Vec<String> = (0..n.parse::<usize>().unwrap_or(0))
            .map(|i| format!("\"2026-05-0{}\"", i + 4))
            .collect();
        format!("[{}]", items.join(","))
    };
    format!(
        r#"{{"employee_id":"{employee}","week":"{week}","revision":{revision},"status":"{status}","short_days":{},"unverified_days":{},"exempt_days":{},"adjustments":{},"explanation":"x"}}"#,
        list(days[0]),
        list(days[1]),
        list(days[2]),
        list(days[3]),
    )
}

#[test]
fn the_latest_revision_of_each_decision_counts_its_days() {
    let mut summary = Summary::default();
    let records = [
        decision("e-1", "2026-W19", 0, "non_compliant", ["2", "1", "0", "0"]),
        // A correction after an adjustment: the short day is credited.
        decision("e-1", "2026-W19", 1, "compliant", ["1", "1", "0", "1"]),
        decision("e-2", "2026-W19", 0, "exempt", ["0", "0", "3", "0"]),
        decision("e-2", "2026-W20", 0, "compliant", ["1", "0", "1", "0"]),
    ];
    for record in &records {
        summary.add(0, record.as_bytes());
    }
    // A stale revision arriving late changes nothing.
    summary.add(0, records[0].as_bytes());
    assert_eq!(summary.decision_records, 5);
    assert_eq!(
        summary.day_totals(),
        DayTotals {
            short: 2,
            unverified: 1,
            exempt: 4,
            adjustments: 1,
        }
    );
    let weeks = summary.weeks();
    assert_eq!(weeks["2026-W19"], [1, 0, 1, 1, 1]);
    assert_eq!(weeks["2026-W20"], [1, 0, 0, 1, 0]);
    assert!(summary.examples.contains_key("week with short days"));
    assert!(summary.examples.contains_key("week with an adjustment"));
}
