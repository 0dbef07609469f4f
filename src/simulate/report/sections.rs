//! The report's chart sections: compliance per week, office days, alerts. Each chart comes
//! with a table of the same numbers.

use super::html::{count_delta, esc, percent, rate, rate_delta, Cell, Table};
use super::svg::{bar_chart, line_chart, Frame, Series};
use crate::simulate::summary::{SideCounts, Summary};

const CURRENT: &str = "current";
const ALTERNATIVE: &str = "alternative";

pub(super) fn side_rate(side: &SideCounts) -> Option<f64> {
    rate(side.employees.compliant, side.employees.non_compliant)
}

fn labels(summary: &Summary) -> Vec<String> {
    summary.weeks.iter().map(|w| w.week.clone()).collect()
}

fn series_text(name: &str, values: &[Option<f64>], labels: &[String], unit: &str) -> String {
    let points: Vec<String> = labels
        .iter()
        .zip(values)
        .map(|(label, v)| match v {
            Some(v) if unit == "%" => format!("{label} {v:.1}%"),
            Some(v) => format!("{label} {v:.0}"),
            None => format!("{label} none"),
        })
        .collect();
    format!("{name}: {}.", points.join(", "))
}

pub(super) fn section(id: &str, title: &str, intro: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\" aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{}</h2>\n\
         <p class=\"note\">{}</p>\n{body}</section>\n",
        esc(title),
        esc(intro)
    )
}

/// Compliance rate per week, both sides: a line chart and the table of it.
pub(super) fn compliance(summary: &Summary) -> String {
    let labels = labels(summary);
    let current: Vec<Option<f64>> = summary
        .weeks
        .iter()
        .map(|w| side_rate(&w.all.current))
        .collect();
    let alternative: Vec<Option<f64>> = summary
        .weeks
        .iter()
        .map(|w| side_rate(&w.all.alternative))
        .collect();
    let desc = format!(
        "Line chart of the compliance rate per week. {} {}",
        series_text(CURRENT, &current, &labels, "%"),
        series_text(ALTERNATIVE, &alternative, &labels, "%")
    );
    let chart = line_chart(
        &Frame {
            id: "chart-compliance",
            title: "Compliance rate per week, current and alternative",
            desc: &desc,
            labels: &labels,
            y_max: Some(100.0),
            unit: "%",
        },
        &[
            Series {
                name: CURRENT,
                class: CURRENT,
                values: current,
            },
            Series {
                name: ALTERNATIVE,
                class: ALTERNATIVE,
                values: alternative,
            },
        ],
    );
    let rows = summary
        .weeks
        .iter()
        .map(|w| {
            let (c, a) = (&w.all.current, &w.all.alternative);
            let (delta, class) = rate_delta(side_rate(c), side_rate(a));
            let cells = vec![
                Cell::num(c.employees.decided()),
                Cell::num(percent(side_rate(c))),
                Cell::num(a.employees.decided()),
                Cell::num(percent(side_rate(a))),
                Cell::classed(class, &delta),
                Cell::num(c.employees.non_compliant),
                Cell::num(a.employees.non_compliant),
                Cell::num(w.all.changed),
            ];
            (w.week.clone(), cells)
        })
        .collect();
    let table = Table {
        caption: "Per week: employees decided, compliance rate and status changes",
        headers: &[
            "Week",
            "Decided (current)",
            "Rate (current)",
            "Decided (alternative)",
            "Rate (alternative)",
            "Difference",
            "Non-compliant (current)",
            "Non-compliant (alternative)",
            "Changed",
        ],
        rows,
    };
    section(
        "compliance",
        "Compliance rate per week",
        "Compliant among the employees held to the requirement that week (exempt weeks left out). \
         Current is the solid line, alternative the dashed one.",
        &(chart + &table.render()),
    )
}

/// The distribution of office days per employee-week, both sides.
pub(super) fn office_days(summary: &Summary) -> String {
    let total = super::totals(summary);
    let labels: Vec<String> = (0..=7).map(|n| n.to_string()).collect();
    let share = |side: &SideCounts| -> Vec<Option<f64>> {
        let all: u64 = side.office_days.iter().sum();
        side.office_days
            .iter()
            .map(|n| {
                Some(if all == 0 {
                    0.0
                } else {
                    *n as f64 * 100.0 / all as f64
                })
            })
            .collect()
    };
    let (current, alternative) = (share(&total.current), share(&total.alternative));
    let desc = format!(
        "Bar chart of the share of employee-weeks by number of office days, 0 to 7. {} {}",
        series_text(CURRENT, &current, &labels, "%"),
        series_text(ALTERNATIVE, &alternative, &labels, "%")
    );
    let chart = bar_chart(
        &Frame {
            id: "chart-office-days",
            title: "Office days per employee-week, current and alternative",
            desc: &desc,
            labels: &labels,
            y_max: None,
            unit: "%",
        },
        &[
            Series {
                name: CURRENT,
                class: CURRENT,
                values: current,
            },
            Series {
                name: ALTERNATIVE,
                class: ALTERNATIVE,
                values: alternative,
            },
        ],
    );
    let rows = (0..=7)
        .map(|n| {
            let (c, a) = (
                total.current.office_days[n],
                total.alternative.office_days[n],
            );
            let (delta, class) = count_delta(c, a);
            (
                format!("{n} days"),
                vec![Cell::num(c), Cell::num(a), Cell::classed(class, &delta)],
            )
        })
        .collect();
    let table = Table {
        caption: "Employee-weeks by office days, all weeks",
        headers: &["Office days", "Current", "Alternative", "Difference"],
        rows,
    };
    section(
        "office-days",
        "Office days per week",
        "How many employee-weeks had 0 to 7 office days, as each side's policies count them \
         (a minimum stay or weekend rule changes what counts), over all weeks.",
        &(chart + &table.render()),
    )
}

/// Alerts per week by kind: non-compliant and at-risk charts, and a table of all four kinds.
pub(super) fn alerts(summary: &Summary) -> String {
    let labels = labels(summary);
    let mut body = String::new();
    type Pick = fn(&SideCounts) -> u64;
    let kinds: [(&str, &str, Pick); 2] = [
        ("Non-compliant", "chart-alerts-non-compliant", |s| {
            s.alerts.non_compliant
        }),
        ("At-risk", "chart-alerts-at-risk", |s| s.alerts.at_risk),
    ];
    for (kind, id, pick) in kinds {
        let values = |current: bool| -> Vec<Option<f64>> {
            summary
                .weeks
                .iter()
                .map(|w| {
                    Some(pick(if current {
                        &w.all.current
                    } else {
                        &w.all.alternative
                    }) as f64)
                })
                .collect()
        };
        let (current, alternative) = (values(true), values(false));
        let title = format!("{kind} alerts per week, current and alternative");
        let desc = format!(
            "Line chart of {} alerts per week. {} {}",
            kind.to_lowercase(),
            series_text(CURRENT, &current, &labels, ""),
            series_text(ALTERNATIVE, &alternative, &labels, "")
        );
        body.push_str(&line_chart(
            &Frame {
                id,
                title: &title,
                desc: &desc,
                labels: &labels,
                y_max: None,
                unit: "",
            },
            &[
                Series {
                    name: CURRENT,
                    class: CURRENT,
                    values: current,
                },
                Series {
                    name: ALTERNATIVE,
                    class: ALTERNATIVE,
                    values: alternative,
                },
            ],
        ));
    }
    let rows = summary
        .weeks
        .iter()
        .map(|w| {
            let (c, a) = (&w.all.current.alerts, &w.all.alternative.alerts);
            let cells = [
                (c.non_compliant, a.non_compliant),
                (c.at_risk, a.at_risk),
                (c.resolved, a.resolved),
                (c.retracted, a.retracted),
            ]
            .into_iter()
            .flat_map(|(c, a)| [Cell::num(c), Cell::num(a)])
            .collect();
            (w.week.clone(), cells)
        })
        .collect();
    let table = Table {
        caption: "Alerts per week by kind (current, alternative)",
        headers: &[
            "Week",
            "Non-compliant (current)",
            "Non-compliant (alternative)",
            "At-risk (current)",
            "At-risk (alternative)",
            "Resolved (current)",
            "Resolved (alternative)",
            "Retracted (current)",
            "Retracted (alternative)",
        ],
        rows,
    };
    body.push_str(&table.render());
    section(
        "alerts",
        "Alerts to managers per week",
        "Alert records each side would have sent, by kind; corrections' re-issued alerts \
         are included and retractions are not netted out.",
        &body,
    )
}
