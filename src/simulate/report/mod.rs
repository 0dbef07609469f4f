//! `report.html` (§9): one self-contained page that a person reads to decide between the
//! current and the alternative policies — inline CSS and SVG only (no script, no font, no
//! request of any kind), printable, with a text alternative for every chart and tables a
//! screen reader can navigate. Every string from input (org names are free text) is
//! escaped ([`html::esc`]).
//!
//! Rendered from the [`Summary`] alone, so it shows exactly what `summary.json` holds.

mod html;
mod sections;
mod svg;
mod tables;

use std::fmt::Write as _;

use super::summary::{Compared, Summary};
use html::{esc, percent, rate};

const STYLE: &str = r#"
:root { --current: #1f5fa8; --alternative: #c8500a; --ink: #1d1d1f; --muted: #5b5b66;
  --rule: #d6d6de; --better: #14672f; --worse: #a3171d; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1100px; padding: 24px; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.2em; margin: 0 0 8px; }
section { border-top: 1px solid var(--rule); padding: 16px 0; }
p.lead, p.note { color: var(--muted); margin: 4px 0 12px; }
dl.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 8px;
  margin: 12px 0; }
dl.figures div { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 10px; }
dl.figures dt { color: var(--muted); font-size: .85em; } dl.figures dd { margin: 0; font-size: 1.1em; }
figure.chart-figure { margin: 12px 0 4px; break-inside: avoid; }
figcaption { font-weight: 600; font-size: .95em; }
.chart { width: 100%; max-width: 720px; height: auto; display: block; margin: 8px 0; }
.chart .grid { stroke: var(--rule); stroke-width: 1; }
.chart .axis { font-size: 11px; fill: var(--muted); }
.chart .legend text { font-size: 12px; fill: var(--ink); }
.chart .series { fill: none; stroke-width: 2.5; }
.chart .series.current, .chart .point.current { stroke: var(--current); }
.chart .series.alternative, .chart .point.alternative { stroke: var(--alternative); stroke-dasharray: 7 4; }
.chart .point { fill: #fff; stroke-width: 2; }
.chart .bar.current, .chart .legend.current rect { fill: var(--current); }
.chart .bar.alternative, .chart .legend.alternative rect { fill: var(--alternative); }
.chart .bar.alternative { fill-opacity: .75; stroke: var(--alternative); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th[scope=row] { white-space: nowrap; }
th, td { border-bottom: 1px solid var(--rule); padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); font-size: .9em; }
td.num, td.better, td.worse, td.same, td.more, td.fewer { text-align: right; white-space: nowrap; }
td.better { color: var(--better); font-weight: 600; } td.worse { color: var(--worse); font-weight: 600; }
td.more { color: var(--worse); } td.fewer { color: var(--better); }
tr:has(td.better), tr:has(td.worse) { background: #fbf8ec; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; }
.swatch.current { background: var(--current); } .swatch.alternative { background: var(--alternative); }
footer { color: var(--muted); font-size: .85em; border-top: 1px solid var(--rule); padding-top: 12px; }
@media print {
  body { font-size: 10pt; max-width: none; padding: 0; }
  section { break-inside: avoid-page; }
  table { break-inside: auto; } tr { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// The whole page.
pub fn render(summary: &Summary) -> String {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        page,
        "<title>Policy simulation: {} vs {} — attendance-compliance</title>",
        esc(&summary.inputs.config),
        esc(&summary.inputs.alternative)
    );
    let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>");
    page.push_str(&header(summary));
    page.push_str("<main>\n");
    page.push_str(&sections::compliance(summary));
    page.push_str(&sections::office_days(summary));
    page.push_str(&sections::alerts(summary));
    page.push_str(&tables::orgs(summary));
    page.push_str(&tables::policies(summary));
    page.push_str(&tables::inputs(summary));
    page.push_str("</main>\n");
    page.push_str(FOOTER);
    page.push_str("</body>\n</html>\n");
    page
}

const FOOTER: &str =
    "<footer><p>Written by <code>attendance-compliance simulate</code> (SPEC §9). \
Counts are of employee-weeks: each employee's final decision (latest revision) per week, on each \
side. The compliance rate is compliant among compliant and non-compliant (exempt weeks are left \
out). Alert counts are the records emitted, corrections' re-issued alerts included and \
retractions not netted out. Orgs with fewer than 5 employees holding a decision in a week, on \
either side, are counted under “other” for that week. No employee or manager is named.</p>\
</footer>\n";

/// Every week's counts added up.
pub(crate) fn totals(summary: &Summary) -> Compared {
    let mut all = Compared::default();
    for week in &summary.weeks {
        all.add(&week.all);
    }
    all
}

fn header(summary: &Summary) -> String {
    let all = totals(summary);
    let (c, a) = (&all.current, &all.alternative);
    let weeks = match (summary.weeks.first(), summary.weeks.last()) {
        (Some(first), Some(last)) if first.week != last.week => {
            format!(
                "{} to {} ({} weeks)",
                first.week,
                last.week,
                summary.weeks.len()
            )
        }
        (Some(first), _) => format!("{} (1 week)", first.week),
        _ => "no week with a decision or an alert".to_owned(),
    };
    let figure = |label: &str, current: String, alternative: String| {
        format!(
            "<div><dt>{}</dt><dd><span class=\"swatch current\"></span> {} &nbsp; \
             <span class=\"swatch alternative\"></span> {}</dd></div>",
            esc(label),
            esc(&current),
            esc(&alternative)
        )
    };
    let mut html = String::from("<header>\n<h1>Policy simulation</h1>\n");
    let _ = writeln!(
        html,
        "<p class=\"lead\">The same history replayed twice: <span class=\"swatch current\"></span> \
         <strong>current</strong> policies (<code>{}</code>) against <span class=\"swatch \
         alternative\"></span> <strong>alternative</strong> policies (<code>{}</code>). \
         Weeks: {}.</p>",
        esc(&summary.inputs.config),
        esc(&summary.inputs.alternative),
        esc(&weeks)
    );
    html.push_str("<dl class=\"figures\">\n");
    html.push_str(&figure(
        "Compliance rate",
        percent(rate(c.employees.compliant, c.employees.non_compliant)),
        percent(rate(a.employees.compliant, a.employees.non_compliant)),
    ));
    html.push_str(&figure(
        "Non-compliant employee-weeks",
        c.employees.non_compliant.to_string(),
        a.employees.non_compliant.to_string(),
    ));
    html.push_str(&figure(
        "Non-compliant alerts",
        c.alerts.non_compliant.to_string(),
        a.alerts.non_compliant.to_string(),
    ));
    html.push_str(&figure(
        "At-risk alerts",
        c.alerts.at_risk.to_string(),
        a.alerts.at_risk.to_string(),
    ));
    let _ = write!(
        html,
        "<div><dt>Employee-weeks whose status changes</dt><dd>{}</dd></div>\n</dl>\n</header>\n",
        all.changed
    );
    html
}
