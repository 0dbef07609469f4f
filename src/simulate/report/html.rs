//! HTML text helpers: escaping (every string from input goes through [`esc`]) and number
//! formatting shared by the charts and tables.

use std::fmt::Write as _;

/// `text` with `&`, `<`, `>`, `"` and `'` escaped: safe in element content and in quoted
/// attribute values alike.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Compliance rate in percent: compliant among the employees held to the requirement
/// (compliant + non-compliant); `None` when there are none.
pub(crate) fn rate(compliant: u64, non_compliant: u64) -> Option<f64> {
    let held = compliant + non_compliant;
    (held > 0).then(|| compliant as f64 * 100.0 / held as f64)
}

/// `81.2%`, or `–` for no rate.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{r:.1}%"))
}

/// A difference cell's content and class: `+3.0 pp ▲` (better), `−3.0 pp ▼` (worse),
/// `±0.0 pp`; the arrow says it without colour.
pub(crate) fn rate_delta(current: Option<f64>, alternative: Option<f64>) -> (String, &'static str) {
    match (current, alternative) {
        (Some(c), Some(a)) => {
            let d = a - c;
            if d >= 0.05 {
                (format!("+{d:.1} pp ▲"), "better")
            } else if d <= -0.05 {
                (format!("−{:.1} pp ▼", -d), "worse")
            } else {
                ("±0.0 pp".to_owned(), "same")
            }
        }
        _ => ("–".to_owned(), "same"),
    }
}

/// A count difference: `+3`, `−3` or `0`, with a class (`more` / `fewer` / `same`).
pub(crate) fn count_delta(current: u64, alternative: u64) -> (String, &'static str) {
    match alternative.cmp(&current) {
        std::cmp::Ordering::Greater => (format!("+{}", alternative - current), "more"),
        std::cmp::Ordering::Less => (format!("−{}", current - alternative), "fewer"),
        std::cmp::Ordering::Equal => ("0".to_owned(), "same"),
    }
}

/// A table: `caption`, column headers (`<th scope="col">`), and rows whose first cell is a
/// row header (`<th scope="row">`). Cells are HTML already (escaped by the caller);
/// a cell may carry a class as `(class, html)`.
pub(crate) struct Table<'a> {
    /// The caption (plain text, escaped here).
    pub(crate) caption: &'a str,
    /// The column headers (plain text, escaped here).
    pub(crate) headers: &'a [&'a str],
    /// Rows: the row header (plain text, escaped here) and the cells.
    pub(crate) rows: Vec<(String, Vec<Cell>)>,
}

/// One table cell: HTML content and an optional class.
pub(crate) struct Cell {
    /// The class attribute, or empty.
    pub(crate) class: &'static str,
    /// The content, HTML.
    pub(crate) html: String,
}

impl Cell {
    /// A number cell.
    pub(crate) fn num(n: impl std::fmt::Display) -> Self {
        Self {
            class: "num",
            html: n.to_string(),
        }
    }

    /// A cell of plain text (escaped here).
    pub(crate) fn text(text: &str) -> Self {
        Self {
            class: "",
            html: esc(text),
        }
    }

    /// A cell with a class, of plain text (escaped here).
    pub(crate) fn classed(class: &'static str, text: &str) -> Self {
        Self {
            class,
            html: esc(text),
        }
    }
}

impl Table<'_> {
    /// The table's HTML.
    pub(crate) fn render(&self) -> String {
        let mut html = String::new();
        let _ = write!(
            html,
            "<div class=\"table-wrap\"><table>\n<caption>{}</caption>\n<thead><tr>",
            esc(self.caption)
        );
        for header in self.headers {
            let _ = write!(html, "<th scope=\"col\">{}</th>", esc(header));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        for (head, cells) in &self.rows {
            let _ = write!(html, "<tr><th scope=\"row\">{}</th>", esc(head));
            for cell in cells {
                if cell.class.is_empty() {
                    let _ = write!(html, "<td>{}</td>", cell.html);
                } else {
                    let _ = write!(html, "<td class=\"{}\">{}</td>", cell.class, cell.html);
                }
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n</table></div>\n");
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn rates_and_deltas() {
        assert_eq!(rate(0, 0), None);
        assert_eq!(percent(rate(3, 1)), "75.0%");
        assert_eq!(rate_delta(Some(50.0), Some(75.0)).1, "better");
        assert_eq!(rate_delta(Some(75.0), Some(50.0)).0, "−25.0 pp ▼");
        assert_eq!(rate_delta(Some(75.0), None).1, "same");
        assert_eq!(count_delta(2, 5), ("+3".to_owned(), "more"));
        assert_eq!(count_delta(5, 2), ("−3".to_owned(), "fewer"));
    }
}
