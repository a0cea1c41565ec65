//! Server-rendered SVG charts and CSV export for the supervision pages. Pure functions of
//! their data: no script runs in the browser to draw them, and every chart has a table
//! beside it on the page for screen readers.

use std::fmt::Write as _;

/// One series of a chart: its label and its colour (chosen for contrast on white, and told
/// apart by position and the legend, not by colour alone).
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Fill colour (CSS).
    pub colour: &'static str,
}

/// The colours of the outcome series: allowed, denied, in progress.
pub const OUTCOME_COLOURS: [&str; 3] = ["#1b6e3a", "#a4161a", "#5a5f66"];

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal stacked bar chart: one bar per row, one segment per series.
/// `rows` holds `(label, counts per series)`.
pub fn hbar(title: &str, series: &[Series], rows: &[(String, Vec<i64>)]) -> String {
    let width = 640.0;
    let label_w = 180.0;
    let bar_h = 22.0;
    let gap = 8.0;
    let legend_h = 28.0;
    let max = rows
        .iter()
        .map(|(_, c)| c.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = legend_h + rows.len() as f64 * (bar_h + gap) + gap;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" class="chart"><title>{t}</title>"#,
        t = esc(title)
    );
    legend(&mut svg, series);
    for (i, (label, counts)) in rows.iter().enumerate() {
        let y = legend_h + i as f64 * (bar_h + gap);
        let total: i64 = counts.iter().sum();
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{ty}" text-anchor="end" font-size="13">{l}</text>"#,
            x = label_w - 6.0,
            ty = y + bar_h * 0.7,
            l = esc(label)
        );
        let mut x = label_w;
        for (s, &n) in counts.iter().enumerate() {
            let w = (width - label_w - 60.0) * n as f64 / max;
            if n > 0 {
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{bar_h}" fill="{c}"><title>{l}: {s_label} {n}</title></rect>"#,
                    c = series.get(s).map(|s| s.colour).unwrap_or("#333"),
                    l = esc(label),
                    s_label = esc(series.get(s).map(|s| s.label.as_str()).unwrap_or("")),
                );
            }
            x += w;
        }
        let _ = write!(
            svg,
            r#"<text x="{tx:.1}" y="{ty}" font-size="13">{total}</text>"#,
            tx = x + 4.0,
            ty = y + bar_h * 0.7
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A vertical stacked bar chart over time: one column per period, one segment per series.
/// `columns` holds `(period label, counts per series)`, oldest first.
pub fn timeline(title: &str, series: &[Series], columns: &[(String, Vec<i64>)]) -> String {
    let width = 640.0;
    let height = 240.0;
    let top = 28.0;
    let bottom = 24.0;
    let left = 40.0;
    let plot_h = height - top - bottom;
    let max = columns
        .iter()
        .map(|(_, c)| c.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (width - left) / columns.len().max(1) as f64;
    let bar_w = (slot * 0.8).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" class="chart"><title>{t}</title>"#,
        t = esc(title)
    );
    legend(&mut svg, series);
    let _ = write!(
        svg,
        r##"<text x="{x}" y="{y}" text-anchor="end" font-size="12">{max}</text><line x1="{left}" y1="{top}" x2="{width}" y2="{top}" stroke="#ccc"/><line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#333"/>"##,
        x = left - 4.0,
        y = top + 4.0,
        max = max as i64,
        base = top + plot_h,
    );
    let label_every = (columns.len() / 6).max(1);
    for (i, (label, counts)) in columns.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar_w) / 2.0;
        let mut y = top + plot_h;
        for (s, &n) in counts.iter().enumerate() {
            let h = plot_h * n as f64 / max;
            if n > 0 {
                y -= h;
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{c}"><title>{l}: {s_label} {n}</title></rect>"#,
                    c = series.get(s).map(|s| s.colour).unwrap_or("#333"),
                    l = esc(label),
                    s_label = esc(series.get(s).map(|s| s.label.as_str()).unwrap_or("")),
                );
            }
        }
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{y}" font-size="11">{l}</text>"#,
                y = height - 6.0,
                l = esc(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn legend(svg: &mut String, series: &[Series]) {
    let mut x = 4.0;
    for s in series {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="6" width="12" height="12" fill="{c}"/><text x="{tx}" y="16" font-size="12">{l}</text>"#,
            c = s.colour,
            tx = x + 16.0,
            l = esc(&s.label)
        );
        x += 24.0 + 8.0 * s.label.chars().count() as f64;
    }
}

/// One CSV field (RFC 4180): always quoted, quotes doubled. A field a spreadsheet would run as
/// a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed with `'` (OWASP CSV
/// injection guidance).
pub fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

/// One CSV line, CRLF-terminated (RFC 4180).
pub fn csv_line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Series> {
        vec![
            Series {
                label: "allowed".into(),
                colour: OUTCOME_COLOURS[0],
            },
            Series {
                label: "denied <x>".into(),
                colour: OUTCOME_COLOURS[1],
            },
        ]
    }

    #[test]
    fn bars_scale_to_the_largest_row_and_escape_labels() {
        let svg = hbar(
            "By partner",
            &series(),
            &[("RU".into(), vec![3, 1]), ("CN & co".into(), vec![2, 0])],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("CN &amp; co") && svg.contains("denied &lt;x&gt;"));
        assert!(!svg.contains("<x>"));
        // The largest row spans the full plot width (640 - 180 - 60 = 400), split 3:1.
        assert!(
            svg.contains(r#"width="300.0""#) && svg.contains(r#"width="100.0""#),
            "{svg}"
        );
        // Zero segments are not drawn: the second row has one rect of 2/4 of the width.
        assert!(svg.contains(r#"width="200.0""#));
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 3,
            "2 legend swatches + 3 segments"
        );
    }

    #[test]
    fn timeline_stacks_segments_from_the_axis() {
        let svg = timeline(
            "Over time",
            &series(),
            &[("d1".into(), vec![2, 2]), ("d2".into(), vec![0, 0])],
        );
        // Plot height 188, max 4: each segment of 2 is 94 high; the first sits on the axis.
        assert!(
            svg.contains(r#"y="122.0""#) && svg.contains(r#"height="94.0""#),
            "{svg}"
        );
        assert!(svg.contains(r#"y="28.0""#));
        assert!(svg.contains(">4</text>"), "the axis names the maximum");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(
            csv_line(&["a", "b\"c", "=1+1", "-2", "x,y"]),
            "\"a\",\"b\"\"c\",\"'=1+1\",\"'-2\",\"x,y\"\r\n"
        );
    }
}
