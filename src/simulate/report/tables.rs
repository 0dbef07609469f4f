//! The report's table sections: per org, per policy, and the inputs with both sides'
//! policies.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::html::{count_delta, esc, percent, rate_delta, Cell, Table};
use super::sections::{section, side_rate};
use crate::simulate::summary::{Compared, PolicyCounts, PolicyInfo, Summary, OTHER_ORG};

fn compared_row(name: &str, row: &Compared) -> (String, Vec<Cell>) {
    let (c, a) = (&row.current, &row.alternative);
    let (delta, class) = rate_delta(side_rate(c), side_rate(a));
    let (alerts, alerts_class) = count_delta(c.alerts.non_compliant, a.alerts.non_compliant);
    let cells = vec![
        Cell::num(c.employees.decided()),
        Cell::num(percent(side_rate(c))),
        Cell::num(percent(side_rate(a))),
        Cell::classed(class, &delta),
        Cell::num(c.alerts.non_compliant),
        Cell::num(a.alerts.non_compliant),
        Cell::classed(alerts_class, &alerts),
        Cell::num(row.changed),
    ];
    (name.to_owned(), cells)
}

/// The per-org table, all weeks added up.
pub(super) fn orgs(summary: &Summary) -> String {
    let mut orgs: BTreeMap<&str, Compared> = BTreeMap::new();
    for week in &summary.weeks {
        for (org, counts) in &week.by_org {
            orgs.entry(org.as_str()).or_default().add(counts);
        }
    }
    let rows = orgs
        .iter()
        .map(|(org, row)| compared_row(org, row))
        .collect();
    let table = Table {
        caption: "Per org, employee-weeks of all weeks",
        headers: &[
            "Org",
            "Employee-weeks decided",
            "Rate (current)",
            "Rate (alternative)",
            "Difference",
            "Non-compliant alerts (current)",
            "Non-compliant alerts (alternative)",
            "Alert difference",
            "Changed",
        ],
        rows,
    };
    let intro = format!(
        "Each org's weeks added up. In a week where an org has fewer than 5 employees with a \
         decision on either side, its counts are under “{OTHER_ORG}”. Rows whose rate differs \
         are highlighted; ▲ means a higher compliance rate under the alternative."
    );
    section("orgs", "Per org", &intro, &table.render())
}

fn policy_table(caption: &str, rows: &BTreeMap<&str, PolicyCounts>) -> String {
    let rows = rows
        .iter()
        .map(|(id, p)| {
            let e = &p.counts.employees;
            let cells = vec![
                Cell::num(e.compliant),
                Cell::num(e.non_compliant),
                Cell::num(e.exempt),
                Cell::num(percent(side_rate(&p.counts))),
                Cell::num(p.counts.alerts.non_compliant),
                Cell::num(p.counts.alerts.at_risk),
                Cell::num(p.changed),
            ];
            ((*id).to_owned(), cells)
        })
        .collect();
    Table {
        caption,
        headers: &[
            "Policy id",
            "Compliant",
            "Non-compliant",
            "Exempt",
            "Rate",
            "Non-compliant alerts",
            "At-risk alerts",
            "Changed",
        ],
        rows,
    }
    .render()
}

/// The per-policy tables, one per side, all weeks added up.
pub(super) fn policies(summary: &Summary) -> String {
    let mut sides: [BTreeMap<&str, PolicyCounts>; 2] = Default::default();
    for week in &summary.weeks {
        let by = &week.by_policy;
        for (side, rows) in sides.iter_mut().zip([&by.current, &by.alternative]) {
            for (id, counts) in rows {
                let row = side.entry(id.as_str()).or_default();
                row.changed += counts.changed;
                row.counts.add(&counts.counts);
            }
        }
    }
    let body = policy_table("Current policies, employee-weeks of all weeks", &sides[0])
        + &policy_table(
            "Alternative policies, employee-weeks of all weeks",
            &sides[1],
        );
    section(
        "policies",
        "Per policy",
        "Each side grouped by the policy id of its own decisions; “changed” counts the \
         employee-weeks of that policy whose status differs on the other side.",
        &body,
    )
}

fn policy_list(caption: &str, policies: &[PolicyInfo]) -> String {
    let rows = policies
        .iter()
        .map(|p| {
            let presence = p.min_presence_minutes.map_or_else(
                || "none".to_owned(),
                |m| format!("{m} min, unverified days: {}", p.unverified_presence),
            );
            let cells = vec![
                Cell::num(p.version),
                Cell::text(&p.effective_from),
                Cell::text(&p.policy_groups.join(", ")),
                Cell::num(p.required_days),
                Cell::text(&p.rule),
                Cell::text(&presence),
                Cell::text(if p.count_weekends { "yes" } else { "no" }),
            ];
            (p.id.clone(), cells)
        })
        .collect();
    Table {
        caption,
        headers: &[
            "Policy id",
            "Version",
            "Effective from",
            "Groups",
            "Required days",
            "Rule",
            "Minimum presence",
            "Weekends count",
        ],
        rows,
    }
    .render()
}

/// The inputs: files and line counts, the clock, and the policies of both sides.
pub(super) fn inputs(summary: &Summary) -> String {
    let i = &summary.inputs;
    let rows = i
        .files
        .iter()
        .map(|f| {
            (
                f.kind.to_owned(),
                vec![Cell::text(&f.file), Cell::num(f.lines)],
            )
        })
        .collect();
    let files = Table {
        caption: "Input files, in order of application",
        headers: &["Input", "File", "Lines"],
        rows,
    }
    .render();
    let mut body = files;
    let _ = writeln!(
        body,
        "<p>Configuration <code>{}</code>; alternative policies <code>{}</code>; clock \
         (<code>--now</code>) {}; {} lines dead-lettered; {} late badges applied as corrections.</p>",
        esc(&i.config),
        esc(&i.alternative),
        i.now.as_deref().map_or_else(|| "not given".to_owned(), |n| format!("<code>{}</code>", esc(n))),
        i.dead_letters,
        i.late_badges
    );
    body.push_str(&policy_list("Current policies", &summary.policies.current));
    body.push_str(&policy_list(
        "Alternative policies",
        &summary.policies.alternative,
    ));
    section(
        "inputs",
        "Inputs",
        "What this report was computed from.",
        &body,
    )
}
