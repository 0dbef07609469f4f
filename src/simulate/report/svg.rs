//! Inline SVG charts: a line chart (one polyline per series) and a grouped bar chart. Each
//! is an `<svg role="img">` with a `<title>` and a `<desc>` (its text alternative, the
//! numbers it shows) linked by `aria-labelledby`; every point and bar has a `<title>` with
//! its value. Series are told apart by colour and by dash or hatching, for print and for
//! colour-blind readers.

use std::fmt::Write as _;

use super::html::esc;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// One series: its name (shown in the legend), CSS class and values (`None`: no point).
pub(crate) struct Series<'a> {
    /// Legend text.
    pub(crate) name: &'a str,
    /// `current` or `alternative`: the class that colours it.
    pub(crate) class: &'static str,
    /// One value per x label.
    pub(crate) values: Vec<Option<f64>>,
}

/// What a chart shows: its id (for `aria-labelledby`), title, description (the text
/// alternative), x labels, y axis maximum and the unit suffix of values (`%` or empty).
pub(crate) struct Frame<'a> {
    /// A unique id prefix.
    pub(crate) id: &'a str,
    /// The title, plain text.
    pub(crate) title: &'a str,
    /// The text alternative, plain text.
    pub(crate) desc: &'a str,
    /// One label per x position.
    pub(crate) labels: &'a [String],
    /// The top of the y axis (`None`: from the data).
    pub(crate) y_max: Option<f64>,
    /// Appended to values on the axis and in point titles.
    pub(crate) unit: &'a str,
}

fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(max)
}

fn value_text(value: f64, unit: &str) -> String {
    if unit == "%" {
        format!("{value:.1}%")
    } else {
        format!("{value:.0}{unit}")
    }
}

impl Frame<'_> {
    fn y_top(&self, series: &[Series<'_>]) -> f64 {
        self.y_max.unwrap_or_else(|| {
            let max = series
                .iter()
                .flat_map(|s| s.values.iter().flatten())
                .fold(0.0f64, |a, b| a.max(*b));
            nice_max(max)
        })
    }

    fn y(&self, value: f64, top: f64) -> f64 {
        TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value / top)
    }

    /// Opens the `<svg>` with title, description, grid, y axis labels and x labels at
    /// `xs`.
    fn open(&self, top: f64, xs: &[f64], series: &[Series<'_>]) -> String {
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<figure class=\"chart-figure\"><figcaption>{title}</figcaption>\n\
             <svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
             aria-labelledby=\"{id}-title {id}-desc\">\n\
             <title id=\"{id}-title\">{title}</title>\n<desc id=\"{id}-desc\">{desc}</desc>\n",
            id = esc(self.id),
            title = esc(self.title),
            desc = esc(self.desc),
        );
        for step in 0..=4 {
            let value = top * f64::from(step) / 4.0;
            let y = self.y(value, top);
            let _ = writeln!(
                svg,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                esc(&value_text(value, self.unit)),
            );
        }
        // At most ~16 x labels: every k-th when there are more.
        let every = self.labels.len().div_ceil(16).max(1);
        for (index, (label, x)) in self.labels.iter().zip(xs).enumerate() {
            if index % every == 0 {
                let _ = writeln!(
                    svg,
                    "<text class=\"axis\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    HEIGHT - BOTTOM + 16.0,
                    esc(label)
                );
            }
        }
        for (index, s) in series.iter().enumerate() {
            let x = LEFT + 8.0 + 180.0 * index as f64;
            let y = HEIGHT - 10.0;
            let _ = writeln!(
                svg,
                "<g class=\"legend {class}\"><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"14\" \
                 height=\"10\"/><text x=\"{:.1}\" y=\"{y:.1}\">{}</text></g>",
                y - 9.0,
                x + 18.0,
                esc(s.name),
                class = s.class,
            );
        }
        svg
    }
}

/// A line chart: one `<polyline class="series {class}">` per series, a `<circle>` with a
/// `<title>` per point.
pub(crate) fn line_chart(frame: &Frame<'_>, series: &[Series<'_>]) -> String {
    let top = frame.y_top(series);
    let n = frame.labels.len();
    let plot = WIDTH - LEFT - RIGHT;
    let xs: Vec<f64> = (0..n)
        .map(|i| {
            if n <= 1 {
                LEFT + plot / 2.0
            } else {
                LEFT + 12.0 + (plot - 24.0) * i as f64 / (n - 1) as f64
            }
        })
        .collect();
    let mut svg = frame.open(top, &xs, series);
    for s in series {
        let points: Vec<(f64, f64, f64, &String)> = s
            .values
            .iter()
            .zip(&xs)
            .zip(frame.labels)
            .filter_map(|((v, x), label)| v.map(|v| (*x, frame.y(v, top), v, label)))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y, _, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            svg,
            "<g class=\"series-group {class}\"><polyline class=\"series {class}\" \
             data-series=\"{class}\" points=\"{}\"/>",
            path.join(" "),
            class = s.class,
        );
        for (x, y, v, label) in &points {
            let _ = writeln!(
                svg,
                "<circle class=\"point {class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\">\
                 <title>{} {}: {}</title></circle>",
                esc(label),
                esc(s.name),
                esc(&value_text(*v, frame.unit)),
                class = s.class,
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// A grouped bar chart: per x label one `<rect class="bar {class}">` per series.
pub(crate) fn bar_chart(frame: &Frame<'_>, series: &[Series<'_>]) -> String {
    let top = frame.y_top(series);
    let n = frame.labels.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    let xs: Vec<f64> = (0..n).map(|i| LEFT + slot * (i as f64 + 0.5)).collect();
    let mut svg = frame.open(top, &xs, series);
    let bar = (slot * 0.8 / series.len().max(1) as f64).min(40.0);
    for (index, s) in series.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<g class=\"series-group {class}\" data-series=\"{class}\">",
            class = s.class
        );
        let offset = bar * (index as f64 - series.len() as f64 / 2.0);
        for ((v, x), label) in s.values.iter().zip(&xs).zip(frame.labels) {
            let Some(v) = v else { continue };
            let y = frame.y(*v, top);
            let base = frame.y(0.0, top);
            let _ = writeln!(
                svg,
                "<rect class=\"bar {class}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" \
                 height=\"{:.1}\"><title>{} {}: {}</title></rect>",
                x + offset,
                (bar - 1.0).max(1.0),
                (base - y).max(0.0),
                esc(label),
                esc(s.name),
                esc(&value_text(*v, frame.unit)),
                class = s.class,
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg></figure>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame<'a>(labels: &'a [String]) -> Frame<'a> {
        Frame {
            id: "t",
            title: "T <1>",
            desc: "D & d",
            labels,
            y_max: None,
            unit: "",
        }
    }

    #[test]
    fn line_chart_has_one_polyline_per_series_and_skips_missing_points() {
        let labels = vec!["W1".to_owned(), "W2".to_owned(), "W3".to_owned()];
        let series = [
            Series {
                name: "current",
                class: "current",
                values: vec![Some(1.0), None, Some(3.0)],
            },
            Series {
                name: "alternative",
                class: "alternative",
                values: vec![Some(2.0), Some(2.0), Some(2.0)],
            },
        ];
        let svg = line_chart(&frame(&labels), &series);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(svg.contains("<title id=\"t-title\">T &lt;1&gt;</title>"));
        assert!(svg.contains("role=\"img\""));
    }

    #[test]
    fn bar_chart_has_a_bar_per_value() {
        let labels = vec!["0".to_owned(), "1".to_owned()];
        let series = [Series {
            name: "<b>",
            class: "current",
            values: vec![Some(4.0), Some(0.0)],
        }];
        let svg = bar_chart(&frame(&labels), &series);
        assert_eq!(svg.matches("<rect class=\"bar current\"").count(), 2);
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(2.0), 2.0);
    }
}
