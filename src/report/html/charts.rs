//! Inline SVG charts for `report.html`. Each draws rows already read from the report; colours
//! come from the page's stylesheet by class, sizes from the view box, so the page scales them.
//! Every chart is paired with a table of its numbers by the caller.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

use crate::escape::xml as escape;
use crate::findings::evidence::Episode;

/// View box widths: charts are drawn about as wide as the page shows them, so their text
/// reads at the page's size. `WIDE` spans a section, `HALF` sits beside a table.
pub const WIDE: f64 = 1160.0;
pub const HALF: f64 = 700.0;
/// Roughly how wide a character of the charts' 12px text is, to lay out legends.
const CHAR_WIDTH: f64 = 6.6;

/// A coordinate, to one decimal.
fn at(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_string)
}

/// A gap as a signed percentage, `+8.3%`; zero as `0%`.
pub fn signed_percent(fraction: f64) -> String {
    let percent = 100.0 * fraction;
    if percent.abs() < 0.05 {
        "0%".to_string()
    } else {
        format!("{percent:+.1}%")
    }
}

/// An axis label in percent, without a needless decimal.
fn tick_percent(fraction: f64) -> String {
    let percent = 100.0 * fraction;
    if percent.abs() < 1e-9 {
        "0%".to_string()
    } else if (percent - percent.round()).abs() < 1e-6 {
        format!("{:+}%", percent.round() as i64)
    } else {
        format!("{percent:+.1}%")
    }
}

/// Evenly spaced round values (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering `lo..=hi`, about
/// `target` of them; the first and last are the axis ends.
pub fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    // The tolerance keeps a value a rounding error past a tick from adding a whole step.
    let first = (lo / step + 1e-9).floor() as i64;
    let last = (hi / step - 1e-9).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A linear map from values to x positions.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    left: f64,
    right: f64,
}

impl Scale {
    fn x(&self, v: f64) -> f64 {
        if self.hi <= self.lo {
            return self.left;
        }
        self.left + (v - self.lo) / (self.hi - self.lo) * (self.right - self.left)
    }
}

fn open_svg(svg: &mut String, id: &str, kind: &str, (width, height): (f64, f64), title: &str) {
    let _ = write!(
        svg,
        "<svg id=\"{id}\" class=\"chart {kind}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        at(width),
        at(height),
        escape(title)
    );
}

/// Draws a legend entry's mark with its top left corner at `(x, y)`.
type Swatch<'a> = &'a dyn Fn(f64, f64) -> String;

/// A line of legend entries, each a swatch drawn by `swatch(x, y)` and its name; returns the
/// y below the legend (entries wrap to a second line when the first is full).
fn legend(
    svg: &mut String,
    entries: &[(&str, Swatch<'_>)],
    (left, top): (f64, f64),
    width: f64,
) -> f64 {
    let (mut x, mut y) = (left, top);
    for (name, swatch) in entries {
        let entry = 18.0 + CHAR_WIDTH * name.chars().count() as f64 + 16.0;
        if x + entry > width && x > left {
            x = left;
            y += 18.0;
        }
        let _ = write!(
            svg,
            "<g class=\"legend\">{}<text x=\"{}\" y=\"{}\">{}</text></g>",
            swatch(x, y),
            at(x + 18.0),
            at(y + 4.0),
            escape(name)
        );
        x += entry;
    }
    y + 16.0
}

/// Text cut to `max` characters with an ellipsis; the whole is in the row's tooltip.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Every other row of `height` on a light band, so a row's marks read across to its label.
fn band(body: &mut String, row: usize, y: f64, width: f64, height: f64) {
    if row % 2 == 1 {
        let _ = write!(
            body,
            "<rect class=\"band\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            at(y - height / 2.0),
            at(width),
            at(height)
        );
    }
}

/// A row's two-line label left of `left`, linked to its finding when it has one; cut to what
/// fits (the tooltip has it whole).
fn row_label(
    svg: &mut String,
    (left, y): (f64, f64),
    label: &str,
    sublabel: &str,
    anchor: Option<&str>,
) {
    let fits = |char_width: f64| ((left - 16.0) / char_width) as usize;
    let text = format!(
        "<text class=\"label\" x=\"8\" y=\"{}\">{}</text><text class=\"sublabel\" x=\"8\" y=\"{}\">{}</text><title>{}</title>",
        at(y - 1.0),
        escape(&clip(label, fits(CHAR_WIDTH))),
        at(y + 11.0),
        escape(&clip(sublabel, fits(0.87 * CHAR_WIDTH))),
        escape(&format!("{label} {sublabel}"))
    );
    match anchor {
        Some(anchor) => {
            let _ = write!(svg, "<a href=\"#{anchor}\">{text}</a>");
        }
        None => {
            let _ = write!(svg, "<g>{text}</g>");
        }
    }
}

/// One flagged SKU comparison in the forest plot; gaps are fractions (0.05 is +5%).
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    pub label: String,
    pub sublabel: String,
    /// The finding's element id.
    pub anchor: String,
    pub severity: &'static str,
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub hodges_lehmann: Option<f64>,
    pub median: Option<f64>,
    pub episode_gap: Option<f64>,
}

/// The names of the forest plot's marks.
pub struct ForestNames<'a> {
    pub mean_ci: &'a str,
    pub hodges_lehmann: &'a str,
    pub median: &'a str,
    pub episode_gap: &'a str,
}

/// Estimates with their intervals, one row per flagged SKU, on a percent axis with a zero line.
pub fn forest(
    (id, title, width): (&str, &str, f64),
    rows: &[ForestRow],
    names: &ForestNames<'_>,
) -> String {
    const LEFT: f64 = 320.0;
    const ROW: f64 = 34.0;
    let values = rows.iter().flat_map(|r| {
        [Some(r.mean), Some(r.low), Some(r.high)]
            .into_iter()
            .chain([r.hodges_lehmann, r.median, r.episode_gap])
            .flatten()
    });
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // A little room beyond the extremes, so no mark sits on the frame (zero included).
    let pad = 0.03 * (hi - lo).max(0.01);
    let ticks = ticks(lo - pad, hi + pad, 6);
    let scale = Scale {
        lo: ticks[0],
        hi: ticks[ticks.len() - 1],
        left: LEFT,
        right: width - 20.0,
    };
    let mut body = String::new();
    let square = |x: f64, y: f64| {
        format!(
            "<line class=\"ci\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/><rect class=\"mean\" x=\"{}\" y=\"{}\" width=\"8\" height=\"8\"/>",
            at(x),
            at(x + 14.0),
            at(y),
            at(y),
            at(x + 3.0),
            at(y - 4.0)
        )
    };
    let diamond = |x: f64, y: f64| {
        format!(
            "<path class=\"hl\" d=\"M{} {}l5 5l-5 5l-5 -5z\"/>",
            at(x + 7.0),
            at(y - 5.0)
        )
    };
    let bar = |x: f64, y: f64| {
        format!(
            "<line class=\"median\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>",
            at(x + 7.0),
            at(x + 7.0),
            at(y - 6.0),
            at(y + 6.0)
        )
    };
    let circle = |x: f64, y: f64| {
        format!(
            "<circle class=\"episode\" cx=\"{}\" cy=\"{}\" r=\"4\"/>",
            at(x + 7.0),
            at(y)
        )
    };
    let mut entries: Vec<(&str, Swatch<'_>)> = vec![
        (names.mean_ci, &square),
        (names.hodges_lehmann, &diamond),
        (names.median, &bar),
    ];
    if rows.iter().any(|r| r.episode_gap.is_some()) {
        entries.push((names.episode_gap, &circle));
    }
    let axis = legend(&mut body, &entries, (8.0, 12.0), width) + 8.0;
    let top = axis + 8.0;
    let height = top + ROW * rows.len() as f64 + 8.0;
    for tick in &ticks {
        let x = scale.x(*tick);
        let class = if tick.abs() < 1e-12 { "zero" } else { "grid" };
        let _ = write!(
            body,
            "<line class=\"{class}\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
            at(x),
            at(top - 2.0),
            at(height - 4.0),
            at(axis),
            tick_percent(*tick)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + ROW * i as f64 + ROW / 2.0;
        band(&mut body, i, y, width, ROW);
        row_label(
            &mut body,
            (LEFT, y),
            &row.label,
            &row.sublabel,
            Some(&row.anchor),
        );
        let (low, high, mean) = (scale.x(row.low), scale.x(row.high), scale.x(row.mean));
        let _ = write!(
            body,
            "<g class=\"estimate sev-{}\"><title>{} {}: {} ({} to {})</title><line class=\"ci\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>",
            row.severity,
            escape(&row.label),
            escape(names.mean_ci),
            signed_percent(row.mean),
            signed_percent(row.low),
            signed_percent(row.high),
            at(low),
            at(high),
            y = at(y),
        );
        // The interval's ends, then the estimates, the mean on top.
        for x in [low, high] {
            let _ = write!(
                body,
                "<line class=\"ci\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>",
                at(x),
                at(y - 5.0),
                at(y + 5.0)
            );
        }
        let marks: [(Option<f64>, Swatch<'_>, &str); 3] = [
            (row.median, &bar, names.median),
            (row.hodges_lehmann, &diamond, names.hodges_lehmann),
            (row.episode_gap, &circle, names.episode_gap),
        ];
        for (value, draw, name) in marks {
            if let Some(v) = value {
                let _ = write!(
                    body,
                    "<g>{}<title>{}: {}</title></g>",
                    draw(scale.x(v) - 7.0, y),
                    escape(name),
                    signed_percent(v)
                );
            }
        }
        let _ = write!(
            body,
            "<rect class=\"mean\" x=\"{}\" y=\"{}\" width=\"10\" height=\"10\"/></g>",
            at(mean - 5.0),
            at(y - 5.0)
        );
    }
    let mut svg = String::new();
    open_svg(&mut svg, id, "forest", (width, height), title);
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub label: String,
    pub sublabel: String,
    pub anchor: String,
    pub episodes: Vec<Episode>,
}

/// Episodes on a shared time axis, one row per SKU comparison; taller marks cover a whole
/// bucket, shorter ones one condition value, darker ones a larger gap.
pub fn timeline(
    (id, title, width): (&str, &str, f64),
    rows: &[TimelineRow],
    whole_bucket: &str,
    one_condition: &str,
) -> String {
    const LEFT: f64 = 320.0;
    const ROW: f64 = 34.0;
    let days = || {
        rows.iter()
            .flat_map(|r| r.episodes.iter().filter_map(Episode::day))
    };
    let (Some(first), Some(last)) = (days().min(), days().max()) else {
        return String::new();
    };
    let number = |day: NaiveDate| f64::from(day.num_days_from_ce());
    let scale = Scale {
        lo: number(first) - 3.0,
        hi: number(last) + 4.0,
        left: LEFT,
        right: width - 20.0,
    };
    // Marks follow the gap as the finding states it, to a tenth of a percent: episodes stated
    // alike look alike.
    let stated_gap = |e: &Episode| (1000.0 * e.gap).round() / 1000.0;
    let largest = rows
        .iter()
        .flat_map(|r| r.episodes.iter().filter(|e| e.day().is_some()))
        .map(|e| stated_gap(e).abs())
        .fold(0.0f64, f64::max);
    let mut body = String::new();
    let tall = |x: f64, y: f64| {
        format!(
            "<rect class=\"ep\" x=\"{}\" y=\"{}\" width=\"6\" height=\"14\"/>",
            at(x + 4.0),
            at(y - 7.0)
        )
    };
    let short = |x: f64, y: f64| {
        format!(
            "<rect class=\"ep\" x=\"{}\" y=\"{}\" width=\"6\" height=\"7\"/>",
            at(x + 4.0),
            at(y)
        )
    };
    let entries: [(&str, Swatch<'_>); 2] = [(whole_bucket, &tall), (one_condition, &short)];
    let axis = legend(&mut body, &entries, (8.0, 12.0), width) + 8.0;
    let top = axis + 8.0;
    let height = top + ROW * rows.len() as f64 + 8.0;
    // Month starts, thinned to at most about eight labels.
    let mut months = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).unwrap_or(first);
    while month <= last {
        if month >= first - chrono::Days::new(3) {
            months.push(month);
        }
        month = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(last + chrono::Days::new(1));
    }
    let every = months.len().div_ceil(8).max(1);
    for (i, month) in months.iter().enumerate() {
        let x = scale.x(number(*month));
        let _ = write!(
            body,
            "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>",
            at(x),
            at(top - 2.0),
            at(height - 4.0)
        );
        if i % every == 0 {
            let _ = write!(
                body,
                "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                at(x),
                at(axis),
                month.format("%Y-%m")
            );
        }
    }
    let day_width = (scale.x(1.0) - scale.x(0.0)).max(2.5);
    for (i, row) in rows.iter().enumerate() {
        let y = top + ROW * i as f64 + ROW / 2.0;
        band(&mut body, i, y, width, ROW);
        row_label(
            &mut body,
            (LEFT, y),
            &row.label,
            &row.sublabel,
            Some(&row.anchor),
        );
        let _ = write!(
            body,
            "<line class=\"track\" x1=\"{}\" x2=\"{}\" y1=\"{2}\" y2=\"{2}\"/>",
            at(LEFT),
            at(width - 20.0),
            at(y + 7.0)
        );
        for episode in &row.episodes {
            let Some(day) = episode.day() else {
                continue;
            };
            let gap = stated_gap(episode);
            let strength = if largest > 0.0 {
                0.35 + 0.65 * gap.abs() / largest
            } else {
                1.0
            };
            let (top, height) = if episode.condition.is_none() {
                (y - 7.0, 14.0)
            } else {
                (y, 7.0)
            };
            let _ = write!(
                body,
                "<rect class=\"ep{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill-opacity=\"{:.2}\"><title>{}</title></rect>",
                if gap < 0.0 { " below" } else { "" },
                at(scale.x(number(day)) - day_width / 2.0),
                at(top),
                at(day_width),
                at(height),
                strength,
                escape(&episode.to_string())
            );
        }
    }
    let mut svg = String::new();
    open_svg(&mut svg, id, "timeline", (width, height), title);
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

/// One bar of a stacked bar chart: its parts in the order of the series.
#[derive(Debug, Clone, PartialEq)]
pub struct StackRow {
    pub label: String,
    pub sublabel: String,
    pub anchor: Option<String>,
    pub parts: Vec<u64>,
    /// Written right of the bar (a total, a share).
    pub note: String,
}

/// A series of a stacked chart: its name in the legend and its class (colour).
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
}

/// Horizontal stacked bars; `shares` draws every bar full width (parts as shares of the bar),
/// else bars are as long as their totals, the longest full width.
pub fn stacked(
    (id, kind, title, width): (&str, &str, &str, f64),
    rows: &[StackRow],
    series: &[Series<'_>],
    shares: bool,
) -> String {
    const LEFT: f64 = 200.0;
    const ROW: f64 = 30.0;
    const NOTE: f64 = 110.0;
    let mut body = String::new();
    let swatches: Vec<(String, String)> = series
        .iter()
        .map(|s| (s.name.to_string(), s.class.to_string()))
        .collect();
    let draw: Vec<Box<dyn Fn(f64, f64) -> String>> = swatches
        .iter()
        .map(|(_, class)| {
            let class = class.clone();
            Box::new(move |x: f64, y: f64| {
                format!(
                    "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"12\" height=\"12\"/>",
                    at(x),
                    at(y - 6.0)
                )
            }) as Box<dyn Fn(f64, f64) -> String>
        })
        .collect();
    let entries: Vec<(&str, Swatch<'_>)> = swatches
        .iter()
        .zip(&draw)
        .map(|((name, _), draw)| (name.as_str(), draw.as_ref()))
        .collect();
    let top = if series.len() > 1 {
        legend(&mut body, &entries, (8.0, 12.0), width) + 4.0
    } else {
        6.0
    };
    let height = top + ROW * rows.len() as f64 + 6.0;
    let longest = rows
        .iter()
        .map(|r| r.parts.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let right = width - NOTE;
    for (i, row) in rows.iter().enumerate() {
        let y = top + ROW * i as f64 + ROW / 2.0;
        row_label(
            &mut body,
            (LEFT, y),
            &row.label,
            &row.sublabel,
            row.anchor.as_deref(),
        );
        let total: u64 = row.parts.iter().sum();
        let full = if shares { total } else { longest };
        let mut x = LEFT;
        let _ = write!(
            body,
            "<rect class=\"track\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\"/>",
            at(LEFT),
            at(y - 9.0),
            at(right - LEFT)
        );
        for (part, s) in row.parts.iter().zip(series) {
            if *part == 0 || full == 0 {
                continue;
            }
            let part_width = (right - LEFT) * *part as f64 / full as f64;
            let _ = write!(
                body,
                "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\"><title>{}: {} ({:.1}%)</title></rect>",
                s.class,
                at(x),
                at(y - 9.0),
                at(part_width),
                escape(s.name),
                part,
                100.0 * *part as f64 / total.max(1) as f64
            );
            x += part_width;
        }
        let _ = write!(
            body,
            "<text class=\"note\" x=\"{}\" y=\"{}\">{}</text>",
            at(right + 8.0),
            at(y + 4.0),
            escape(&row.note)
        );
    }
    let mut svg = String::new();
    open_svg(&mut svg, id, kind, (width, height), title);
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

/// One panel of a small-multiples chart: a measure per row, on the panel's own scale.
pub struct Panel<'a> {
    pub title: &'a str,
    pub values: Vec<Option<f64>>,
}

/// Side-by-side bar panels sharing the row labels, e.g. a median per segment per measure.
pub fn panels(
    (id, title, width): (&str, &str, f64),
    labels: &[String],
    panels: &[Panel<'_>],
) -> String {
    const LEFT: f64 = 130.0;
    const ROW: f64 = 22.0;
    const TOP: f64 = 26.0;
    const GAP: f64 = 14.0;
    let height = TOP + ROW * labels.len() as f64 + 6.0;
    let panel_width = (width - LEFT - GAP * panels.len() as f64) / panels.len().max(1) as f64;
    let mut body = String::new();
    for (i, label) in labels.iter().enumerate() {
        let y = TOP + ROW * i as f64 + ROW / 2.0;
        let _ = write!(
            body,
            "<text class=\"label\" x=\"8\" y=\"{}\">{}</text>",
            at(y + 4.0),
            escape(&clip(label, 18))
        );
    }
    for (p, panel) in panels.iter().enumerate() {
        let left = LEFT + (panel_width + GAP) * p as f64;
        let largest = panel.values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        let _ = write!(
            body,
            "<text class=\"panel-title\" x=\"{}\" y=\"14\">{}</text><line class=\"zero\" x1=\"{2}\" x2=\"{2}\" y1=\"{3}\" y2=\"{4}\"/>",
            at(left),
            escape(panel.title),
            at(left),
            at(TOP - 4.0),
            at(height - 4.0)
        );
        for (i, value) in panel.values.iter().enumerate() {
            let y = TOP + ROW * i as f64 + ROW / 2.0;
            let (bar, text) = match value {
                Some(v) if largest > 0.0 => ((panel_width - 56.0) * v / largest, compact(*v)),
                Some(v) => (0.0, compact(*v)),
                None => (0.0, "–".to_string()),
            };
            let _ = write!(
                body,
                "<rect class=\"bar p{p}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\"><title>{}: {text}</title></rect><text class=\"note\" x=\"{}\" y=\"{}\">{text}</text>",
                at(left),
                at(y - 7.0),
                at(bar),
                escape(&labels[i]),
                at(left + bar + 4.0),
                at(y + 4.0)
            );
        }
    }
    let mut svg = String::new();
    open_svg(&mut svg, id, "panels", (width, height), title);
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

/// A number in few characters: 16280 → 16.3k, 2.5 → 2.5, 263.5 → 264.
pub fn compact(v: f64) -> String {
    let magnitude = v.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if magnitude >= 100.0 || (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(0.0, 0.15, 6);
        let expected = [0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15];
        assert_eq!(t.len(), expected.len(), "{t:?}");
        assert!(
            t.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{t:?}"
        );
        let t = ticks(-0.031, 0.082, 5);
        assert!(t[0] <= -0.031 && *t.last().unwrap() >= 0.082, "{t:?}");
        assert!(t.iter().any(|v| v.abs() < 1e-12), "zero is a tick: {t:?}");
        assert_eq!(ticks(0.0, 0.0, 4).len(), 5);
    }

    #[test]
    fn percentages_and_compact_numbers() {
        assert_eq!(signed_percent(0.0831), "+8.3%");
        assert_eq!(signed_percent(-0.0004), "0%");
        assert_eq!(tick_percent(0.05), "+5%");
        assert_eq!(tick_percent(0.025), "+2.5%");
        assert_eq!(compact(16280.0), "16.3k");
        assert_eq!(compact(263.5), "264");
        assert_eq!(compact(2.0), "2");
        assert_eq!(compact(1.25), "1.2");
    }

    #[test]
    fn a_forest_plot_has_a_row_per_comparison_and_a_zero_line() {
        let row = |label: &str, mean: f64| ForestRow {
            label: label.into(),
            sublabel: "iOS vs Android".into(),
            anchor: "f-1".into(),
            severity: "high",
            mean,
            low: mean - 0.02,
            high: mean + 0.02,
            hodges_lehmann: Some(mean),
            median: Some(0.0),
            episode_gap: None,
        };
        let names = ForestNames {
            mean_ci: "mean",
            hodges_lehmann: "hl",
            median: "median",
            episode_gap: "episode",
        };
        let svg = forest(
            ("chart-forest", "t", HALF),
            &[row("A", 0.05), row("B<", 0.08)],
            &names,
        );
        assert_eq!(svg.matches("class=\"estimate ").count(), 2);
        assert!(svg.contains("class=\"zero\""), "{svg}");
        assert!(svg.contains("B&lt;") && !svg.contains("B<"), "{svg}");
        assert!(
            !svg.contains(">episode<"),
            "no episode gaps, no legend entry"
        );
    }
}
