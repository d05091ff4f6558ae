//! `report.html`: one self-contained page (inline CSS, inline SVG and a small inline script;
//! nothing is fetched) that opens with the verdict, what changed since the baseline and a
//! table of contents, then has a section per area: its charts, each beside a table of its
//! numbers, and its findings. Without the script every finding is shown; with it they can be
//! filtered by severity and area.
//!
//! The page draws what the report holds; it computes nothing beyond counting findings by area
//! and reading the numbers checks put in their evidence. Every word it adds comes from
//! [`labels::Labels`]; what the checks wrote is shown as written, `code` spans as `<code>`.

mod areas;
mod charts;
pub mod labels;

use std::fmt::Write;

use self::charts::{Series, StackRow};
use self::labels::Labels;
use super::{Report, evidence_text, i18n};
use crate::checks::CheckStatus;
use crate::config::Lang;
use crate::findings::{BaselineStatus, Finding, Severity};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");
/// Marks a script error on the page (for people and for the browser test) before anything
/// else runs.
const ERROR_MARKER: &str = "window.addEventListener(\"error\",function(e){document.documentElement.setAttribute(\"data-script-error\",String(e.message||e));});";

/// Check families with a section of their own, in page order; other families follow by name.
const AREAS: [&str; 4] = ["pricing", "mail", "privacy", "waiver"];

/// Severities from the most severe, as the page lists them.
const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Text for element content and attribute values: [`crate::escape::xml`], which writes control
/// and bidirectional characters out and escapes `&`, `<`, `>`, `"` and `'`.
pub fn escape(text: &str) -> String {
    crate::escape::xml(text)
}

/// Escaped text whose Markdown code spans (`` `x` ``) become `<code>x</code>`; a backtick
/// without its pair stays a backtick.
pub fn inline(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut html = String::new();
    for (i, part) in parts.iter().enumerate() {
        let closed = i + 1 < parts.len() || i % 2 == 0;
        match (i % 2 == 1, closed) {
            (true, true) => {
                let _ = write!(html, "<code>{}</code>", escape(part));
            }
            (true, false) => {
                let _ = write!(html, "`{}", escape(part));
            }
            (false, _) => html.push_str(&escape(part)),
        }
    }
    html
}

/// The check family of a check id: the part before the dot.
pub fn area(check: &str) -> &str {
    check.split_once('.').map_or(check, |(family, _)| family)
}

/// The element id of the `index`th finding (in report order).
fn finding_id(index: usize) -> String {
    format!("f-{}", index + 1)
}

/// A table cell holding a number, right-aligned; `–` when there is none.
fn num_cell(value: Option<String>) -> String {
    match value {
        Some(v) => format!("<td class=\"num\">{}</td>", escape(&v)),
        None => "<td class=\"num zero\">–</td>".to_string(),
    }
}

fn count_cell(n: u64) -> String {
    if n == 0 {
        "<td class=\"num zero\">0</td>".to_string()
    } else {
        format!("<td class=\"num\">{n}</td>")
    }
}

/// A header row; names ending in `#` are numeric columns (right-aligned), without the `#`.
fn header(names: &[&str]) -> String {
    let mut row = String::from("<thead><tr>");
    for name in names {
        match name.strip_suffix('#') {
            Some(name) => {
                let _ = write!(row, "<th class=\"num\">{}</th>", escape(name));
            }
            None => {
                let _ = write!(row, "<th>{}</th>", escape(name));
            }
        }
    }
    row.push_str("</tr></thead>");
    row
}

/// Areas in page order: those with a section of their own first, then the others by name.
fn sort_areas(areas: &mut Vec<String>) {
    areas.sort_by_key(|a| {
        (
            AREAS
                .iter()
                .position(|known| known == a)
                .unwrap_or(AREAS.len()),
            a.clone(),
        )
    });
    areas.dedup();
}

/// The areas with findings, in page order.
fn areas_with_findings(report: &Report) -> Vec<String> {
    let mut areas: Vec<String> = report
        .findings
        .iter()
        .map(|f| area(&f.check).to_string())
        .collect();
    sort_areas(&mut areas);
    areas
}

/// The findings of `area_name`, with their index in the report.
fn findings_in<'r>(
    report: &'r Report,
    area_name: &'r str,
) -> impl Iterator<Item = (usize, &'r Finding)> {
    report
        .findings
        .iter()
        .enumerate()
        .filter(move |(_, f)| area(&f.check) == area_name)
}

/// A chart in a figure, with its caption when it has one.
fn figure(chart: &str, caption: &str) -> String {
    if caption.is_empty() {
        format!("<figure>{chart}</figure>")
    } else {
        format!(
            "<figure>{chart}<figcaption>{}</figcaption></figure>",
            escape(caption)
        )
    }
}

/// The page for `report`, in the report's language.
pub fn render(report: &Report) -> String {
    let labels = match report.lang {
        Lang::En => &labels::EN,
        Lang::ZhCn => &labels::ZH,
    };
    render_with(report, labels)
}

/// The page for `report` in the words of `labels`.
pub fn render_with(report: &Report, labels: &Labels) -> String {
    let mut page = Page {
        report,
        l: labels,
        html: String::new(),
    };
    page.write();
    page.html
}

/// What a section of the page shows.
enum Part {
    SinceBaseline,
    /// What `fairmark probe` asked of the pricing service.
    Probe,
    /// A check family: its charts, if it has any, and its findings.
    Area(String),
    Segments,
    Checks,
    Inputs,
}

/// A section of the page, for the table of contents.
struct Section {
    part: Part,
    title: String,
    /// The area's findings, shown in the contents.
    findings: Option<usize>,
}

impl Section {
    /// The section's element id, the contents' link target.
    fn id(&self) -> String {
        match &self.part {
            Part::SinceBaseline => "since-baseline".into(),
            Part::Probe => "probe".into(),
            Part::Area(area) => format!("area-{area}"),
            Part::Segments => "segments".into(),
            Part::Checks => "checks".into(),
            Part::Inputs => "inputs".into(),
        }
    }
}

struct Page<'a> {
    report: &'a Report,
    l: &'a Labels,
    html: String,
}

impl Page<'_> {
    /// The sections after the verdict, in page order: the baseline, the areas with findings
    /// or charts (segments after pricing and mail), checks and inputs.
    fn sections(&self) -> Vec<Section> {
        let (r, l) = (self.report, self.l);
        let section = |part: Part, title: &str| Section {
            part,
            title: title.to_string(),
            findings: None,
        };
        let mut sections = Vec::new();
        if r.baseline.is_some() {
            sections.push(section(Part::SinceBaseline, l.since_baseline));
        }
        if r.probe.is_some() {
            sections.push(section(Part::Probe, l.probe));
        }
        let mut areas = areas_with_findings(r);
        let anonymity = r
            .segmentation
            .as_ref()
            .is_some_and(|s| s.anonymity.is_some());
        for (area, has_data) in [
            ("pricing", !r.coverage.is_empty()),
            ("mail", r.mail.is_some()),
            ("privacy", anonymity),
        ] {
            if has_data && !areas.iter().any(|a| a == area) {
                areas.push(area.to_string());
            }
        }
        sort_areas(&mut areas);
        let mut segments = r.segmentation.is_some();
        for a in areas {
            if segments && a != "pricing" && a != "mail" {
                sections.push(section(Part::Segments, l.segments));
                segments = false;
            }
            sections.push(Section {
                title: (l.area_name)(&a),
                findings: Some(findings_in(r, &a).count()),
                part: Part::Area(a),
            });
        }
        if segments {
            sections.push(section(Part::Segments, l.segments));
        }
        sections.push(section(Part::Checks, l.checks));
        sections.push(section(Part::Inputs, l.inputs));
        sections
    }

    fn write(&mut self) {
        let l = self.l;
        let _ = write!(
            self.html,
            "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<script>{ERROR_MARKER}</script>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
            l.lang,
            escape(l.title)
        );
        self.header();
        self.verdict();
        let sections = self.sections();
        // What changed since the baseline comes before the contents, the rest after them.
        let (first, rest) = sections.split_at(usize::from(self.report.baseline.is_some()));
        self.sections_of(first);
        self.contents(&sections);
        self.filters();
        self.sections_of(rest);
        let _ = write!(
            self.html,
            "</main>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
        );
    }

    /// The probe's requests and what was held equal, as the report's sentences say them.
    fn probe(&mut self) {
        if let Some(probe) = &self.report.probe {
            for sentence in super::probe_sentences(probe) {
                let _ = writeln!(self.html, "<p>{}</p>", escape(&sentence));
            }
        }
    }

    fn sections_of(&mut self, sections: &[Section]) {
        for section in sections {
            let _ = writeln!(
                self.html,
                "<section id=\"{}\">\n<h2>{}</h2>",
                escape(&section.id()),
                escape(&section.title)
            );
            match &section.part {
                Part::SinceBaseline => self.since_baseline(),
                Part::Probe => self.probe(),
                Part::Segments => self.segments(),
                Part::Checks => self.checks(),
                Part::Inputs => self.inputs(),
                Part::Area(area) => {
                    match area.as_str() {
                        "pricing" => self.pricing(),
                        "mail" => self.mail(),
                        "privacy" => self.privacy(),
                        _ => {}
                    }
                    self.area_findings(area);
                }
            }
            self.html.push_str("</section>\n");
        }
    }

    fn header(&mut self) {
        let (r, l) = (self.report, self.l);
        let packs: Vec<String> = r
            .policies
            .iter()
            .map(|p| format!("<code>{}</code> ({})", escape(&p.name), escape(&p.title)))
            .collect();
        let _ = writeln!(
            self.html,
            "<header>\n<h1>{}</h1>\n<p class=\"meta\">{} {} · {} {} · {} <code>{}</code> · {} <code>{}</code> · {}: {}</p>\n</header>",
            escape(l.title),
            escape(r.tool.name),
            escape(r.tool.version),
            escape(l.report_schema),
            escape(r.schema_version),
            escape(l.config),
            escape(&r.config),
            escape(l.key_id),
            escape(&r.key_id),
            escape(l.policy_packs),
            packs.join(", ")
        );
    }

    fn verdict(&mut self) {
        let (r, l) = (self.report, self.l);
        let (class, word) = if r.failed() {
            ("fail", l.fail)
        } else {
            ("pass", l.pass)
        };
        let _ = writeln!(
            self.html,
            "<section id=\"verdict\" class=\"verdict {class}\">\n<p class=\"badge\">{}</p>\n<div class=\"gate\"><p>{}</p><p><strong>{}</strong></p><p>{}</p></div>",
            escape(word),
            escape(&(l.gate)(
                (l.severity)(r.outcome.fail_on),
                r.outcome.fail_on_new
            )),
            escape(&if r.findings.is_empty() {
                l.no_findings.to_string()
            } else {
                (l.failing)(r.outcome.failing_findings, r.findings.len())
            }),
            escape(&(l.waived)(
                r.outcome.waived_findings,
                r.waivers_judged_on.as_deref()
            )),
        );
        let areas = areas_with_findings(self.report);
        if !areas.is_empty() {
            let counts: Vec<Vec<u64>> = areas
                .iter()
                .map(|a| {
                    SEVERITIES
                        .iter()
                        .map(|s| {
                            findings_in(self.report, a)
                                .filter(|(_, f)| f.severity == *s)
                                .count() as u64
                        })
                        .collect()
                })
                .collect();
            let rows: Vec<StackRow> = areas
                .iter()
                .zip(&counts)
                .map(|(a, parts)| StackRow {
                    label: (l.area_name)(a),
                    sublabel: String::new(),
                    anchor: Some(format!("area-{a}")),
                    parts: parts.clone(),
                    note: parts.iter().sum::<u64>().to_string(),
                })
                .collect();
            let series: Vec<Series<'_>> = SEVERITIES
                .iter()
                .map(|s| Series {
                    name: (l.severity)(*s),
                    class: match s {
                        Severity::Critical => "s-critical",
                        Severity::High => "s-high",
                        Severity::Medium => "s-medium",
                        Severity::Low => "s-low",
                        Severity::Info => "s-info",
                    },
                })
                .collect();
            let chart = charts::stacked(
                ("chart-areas", "areas", l.by_area, charts::HALF),
                &rows,
                &series,
                false,
            );
            let mut table = String::from("<table id=\"table-areas\" class=\"numbers\">");
            let mut names = vec![l.area];
            let severity_names: Vec<String> = SEVERITIES
                .iter()
                .map(|s| format!("{}#", (l.severity)(*s)))
                .collect();
            names.extend(severity_names.iter().map(String::as_str));
            let total_name = format!("{}#", l.total);
            names.push(&total_name);
            table.push_str(&header(&names));
            table.push_str("<tbody>");
            for (a, parts) in areas.iter().zip(&counts) {
                let _ = write!(
                    table,
                    "<tr><td><a href=\"#area-{}\">{}</a></td>",
                    escape(a),
                    escape(&(l.area_name)(a))
                );
                for n in parts {
                    table.push_str(&count_cell(*n));
                }
                let _ = write!(table, "{}</tr>", count_cell(parts.iter().sum()));
            }
            let _ = write!(table, "<tr class=\"total\"><td>{}</td>", escape(l.total));
            for s in SEVERITIES {
                let n = r.outcome.findings_by_severity.get(&s).copied().unwrap_or(0);
                table.push_str(&count_cell(n as u64));
            }
            let _ = write!(
                table,
                "{}</tr></tbody></table>",
                count_cell(r.findings.len() as u64)
            );
            self.pair(&chart, l.by_area_caption, &table);
        }
        self.html.push_str("</section>\n");
    }

    /// A chart with its caption, beside the table of its numbers.
    fn pair(&mut self, chart: &str, caption: &str, table: &str) {
        let _ = writeln!(
            self.html,
            "<div class=\"pair\">{}<div class=\"table-wrap\">{table}</div></div>",
            figure(chart, caption)
        );
    }

    /// A chart with its caption, above the table of its numbers (for wide tables).
    fn stack(&mut self, chart: &str, caption: &str, table: &str) {
        let _ = writeln!(
            self.html,
            "<div class=\"stack\">{}<div class=\"table-wrap\">{table}</div></div>",
            figure(chart, caption)
        );
    }

    fn contents(&mut self, sections: &[Section]) {
        let l = self.l;
        let _ = write!(
            self.html,
            "<nav id=\"contents\" class=\"toc\" aria-label=\"{0}\"><section><h2>{0}</h2><ol>",
            escape(l.contents)
        );
        for s in sections {
            let count = s.findings.map_or_else(String::new, |n| {
                format!(
                    " <span class=\"count\">({n} {})</span>",
                    escape(&l.findings.to_lowercase())
                )
            });
            let _ = write!(
                self.html,
                "<li><a href=\"#{}\">{}</a>{count}</li>",
                escape(&s.id()),
                escape(&s.title)
            );
        }
        self.html.push_str("</ol></section></nav>\n");
    }

    /// The filter bar: hidden until the script shows it, so without the script nothing is
    /// hidden and no control that does nothing is shown.
    fn filters(&mut self) {
        let (r, l) = (self.report, self.l);
        if r.findings.is_empty() {
            return;
        }
        let _ = write!(
            self.html,
            "<form id=\"filters\" class=\"filters\" hidden><strong>{}</strong><fieldset><legend>{}</legend>",
            escape(l.filter),
            escape(l.filter_severity)
        );
        for s in SEVERITIES {
            let n = r.findings.iter().filter(|f| f.severity == s).count();
            if n > 0 {
                let _ = write!(
                    self.html,
                    "<label><input type=\"checkbox\" name=\"severity\" value=\"{0}\" checked> <span class=\"sev {0}\">{1}</span> {n}</label>",
                    s.name(),
                    escape((l.severity)(s))
                );
            }
        }
        let _ = write!(
            self.html,
            "</fieldset><fieldset><legend>{}</legend>",
            escape(l.filter_area)
        );
        for a in areas_with_findings(self.report) {
            let n = findings_in(self.report, &a).count();
            let _ = write!(
                self.html,
                "<label><input type=\"checkbox\" name=\"area\" value=\"{}\" checked> {} {n}</label>",
                escape(&a),
                escape(&(l.area_name)(&a))
            );
        }
        let _ = writeln!(
            self.html,
            "</fieldset><output id=\"filter-count\" data-template=\"{}\"></output></form>",
            escape(l.filter_count)
        );
    }

    fn since_baseline(&mut self) {
        let l = self.l;
        let Some(baseline) = &self.report.baseline else {
            return;
        };
        let _ = write!(
            self.html,
            "<p>{}</p><dl class=\"counts\"><div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div></dl>",
            escape(&(l.compared_with)(&baseline.source)),
            escape(l.new),
            baseline.new,
            escape(l.persisting),
            baseline.persisting,
            escape(l.resolved),
            baseline.resolved.len()
        );
        let _ = write!(self.html, "<h3>{}</h3>", escape(l.resolved_findings));
        if baseline.resolved.is_empty() {
            let _ = write!(self.html, "<p>{}</p>", escape(l.none_resolved));
        } else {
            let mut table = String::from("<table id=\"table-resolved\">");
            table.push_str(&header(&[
                l.filter_severity,
                l.findings,
                l.check,
                l.subject,
                l.fingerprint,
            ]));
            table.push_str("<tbody>");
            for f in &baseline.resolved {
                let _ = write!(
                    table,
                    "<tr><td><span class=\"sev {0}\">{1}</span></td><td>{2}</td><td><code>{3}</code></td><td>{4}</td><td><code>{5}</code></td></tr>",
                    f.severity.name(),
                    escape((l.severity)(f.severity)),
                    inline(&i18n::title(self.report.lang, f)),
                    escape(&f.check),
                    escape(&i18n::subject(self.report.lang, &f.subject)),
                    escape(&f.fingerprint)
                );
            }
            table.push_str("</tbody></table>");
            self.html.push_str(&table);
        }
        let _ = write!(self.html, "<h3>{}</h3>", escape(l.segment_shift));
        match (&baseline.segment_shift, &baseline.segment_shift_skipped) {
            (Some(shift), _) => {
                let _ = write!(
                    self.html,
                    "<p>{}</p>",
                    escape(&(l.shift_counts)(
                        shift.stayed,
                        shift.moved,
                        shift.entered,
                        shift.left
                    ))
                );
                if !shift.moves.is_empty() {
                    let customers = format!("{}#", l.customers);
                    let mut table = String::from("<table id=\"table-segment-shift\">");
                    table.push_str(&header(&[l.from_segment, l.to_segment, &customers]));
                    table.push_str("<tbody>");
                    for step in &shift.moves {
                        let _ = write!(
                            table,
                            "<tr><td>{}</td><td>{}</td>{}</tr>",
                            escape(&step.from),
                            escape(&step.to),
                            count_cell(step.customers)
                        );
                    }
                    table.push_str("</tbody></table>");
                    self.html.push_str(&table);
                }
            }
            (None, Some(why)) => {
                let _ = write!(self.html, "<p>{}</p>", escape(&(l.shift_skipped)(why)));
            }
            (None, None) => {}
        }
    }

    fn area_findings(&mut self, area_name: &str) {
        let l = self.l;
        let findings: Vec<(usize, &Finding)> = findings_in(self.report, area_name).collect();
        let _ = writeln!(
            self.html,
            "<h3>{} ({})</h3>",
            escape(l.findings),
            findings.len()
        );
        if findings.is_empty() {
            let _ = writeln!(self.html, "<p>{}</p>", escape(l.no_findings_in_area));
        }
        for (index, finding) in findings {
            self.finding(index, finding);
        }
    }

    fn finding(&mut self, index: usize, finding: &Finding) {
        let l = self.l;
        let severity = finding.severity.name();
        let mut tags = String::new();
        match finding.baseline {
            Some(BaselineStatus::New) => {
                let _ = write!(tags, "<span class=\"tag new\">{}</span>", escape(l.new));
            }
            Some(BaselineStatus::Persisting) => {
                let _ = write!(
                    tags,
                    "<span class=\"tag persisting\">{}</span>",
                    escape(l.persisting)
                );
            }
            None => {}
        }
        if let Some(waiver) = &finding.waiver {
            let _ = write!(
                tags,
                "<span class=\"tag waived\">{}</span>",
                escape(&(l.waived_until)(&waiver.expires))
            );
        }
        let _ = write!(
            self.html,
            "<article class=\"finding {severity}\" id=\"{}\" data-severity=\"{severity}\" data-area=\"{}\">\n<h4><span class=\"sev {severity}\">{}</span> {}{tags}</h4>\n<p class=\"where\"><code>{}</code> · {} · {} <code>{}</code></p>\n",
            finding_id(index),
            escape(area(&finding.check)),
            escape((l.severity)(finding.severity)),
            inline(&i18n::title(self.report.lang, finding)),
            escape(&finding.check),
            escape(&i18n::subject(self.report.lang, &finding.subject)),
            escape(l.fingerprint),
            escape(&finding.fingerprint)
        );
        if let Some(waiver) = &finding.waiver {
            let _ = writeln!(
                self.html,
                "<p class=\"waiver\">{}</p>",
                escape(&(l.waived_by)(
                    &waiver.owner,
                    &waiver.expires,
                    &waiver.reason
                ))
            );
        }
        let _ = writeln!(
            self.html,
            "<p>{}{}</p>",
            escape(l.message),
            inline(&finding.message)
        );
        if !finding.evidence.is_empty() {
            let _ = write!(
                self.html,
                "<dl class=\"evidence\" aria-label=\"{}\">",
                escape(l.evidence)
            );
            for (name, value) in &finding.evidence.fields() {
                let (class, value) = match value {
                    serde_json::Value::Array(items) => {
                        let items: Vec<String> = items
                            .iter()
                            .map(|v| format!("<li>{}</li>", escape(&evidence_text(v))))
                            .collect();
                        (" class=\"list\"", format!("<ul>{}</ul>", items.concat()))
                    }
                    // Long values (token lists, conditions) get a row of their own.
                    other => {
                        let value = evidence_text(other);
                        let class = if value.chars().count() > 28 {
                            " class=\"wide\""
                        } else {
                            ""
                        };
                        (class, escape(&value))
                    }
                };
                let _ = write!(
                    self.html,
                    "<div{class}><dt>{}</dt><dd>{value}</dd></div>",
                    escape(name)
                );
            }
            self.html.push_str("</dl>\n");
        }
        if !finding.legal_bases.is_empty() {
            let _ = write!(
                self.html,
                "<ul class=\"legal\" aria-label=\"{}\">",
                escape(l.legal_basis)
            );
            for basis in &finding.legal_bases {
                let (citation, gist) = i18n::citation(self.report.lang, basis);
                let _ = write!(
                    self.html,
                    "<li><strong>{}</strong> ({}:{}): {}</li>",
                    escape(citation),
                    escape(&basis.pack),
                    escape(&basis.id),
                    inline(gist)
                );
            }
            self.html.push_str("</ul>\n");
        }
        self.html.push_str("</article>\n");
    }

    fn checks(&mut self) {
        let l = self.l;
        let _ = write!(
            self.html,
            "<table id=\"table-checks\">{}<tbody>",
            header(&[l.check, l.status])
        );
        for run in &self.report.checks {
            let status = match &run.status {
                CheckStatus::Ran { findings } => (l.ran)(*findings),
                CheckStatus::Skipped { reason } => (l.skipped)(reason),
                CheckStatus::Disabled { reason } => (l.disabled)(reason),
            };
            let _ = write!(
                self.html,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape(run.id),
                inline(&status)
            );
        }
        self.html.push_str("</tbody></table>\n");
    }

    fn inputs(&mut self) {
        let l = self.l;
        let rows = format!("{}#", l.rows);
        let files = format!("{}#", l.files);
        let _ = write!(
            self.html,
            "<table id=\"table-inputs\">{}<tbody>",
            header(&[l.role, l.path, l.format, &rows, &files, l.sha256])
        );
        for input in &self.report.inputs {
            let first = input
                .files
                .first()
                .map_or(String::new(), |f| f.sha256.chars().take(16).collect());
            let _ = write!(
                self.html,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td>{}{}<td><code>{}…</code></td></tr>",
                escape(input.role),
                escape(&input.location),
                escape(input.format),
                count_cell(input.rows),
                count_cell(input.files.len() as u64),
                escape(&first)
            );
        }
        self.html.push_str("</tbody></table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{BaselineSummary, SegmentMove, SegmentShift};
    use crate::report::fixture::{finding, full_report, report};

    #[test]
    fn the_page_opens_with_the_verdict_then_the_contents_then_the_areas() {
        let html = render(&full_report());
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("no {needle} in the page"))
        };
        assert!(html.starts_with("<!doctype html>"));
        assert!(
            html.contains("<p class=\"badge\">FAIL</p>"),
            "a high finding fails"
        );
        assert!(at("id=\"verdict\"") < at("id=\"contents\""));
        assert!(at("id=\"contents\"") < at("id=\"filters\""));
        assert!(at("id=\"filters\"") < at("id=\"area-pricing\""));
        assert!(at("id=\"area-pricing\"") < at("id=\"area-mail\""));
        assert!(at("id=\"area-mail\"") < at("id=\"segments\""));
        assert!(at("id=\"segments\"") < at("id=\"area-privacy\""));
        assert!(at("id=\"area-privacy\"") < at("id=\"checks\""));
        for section in [
            "area-pricing",
            "area-mail",
            "segments",
            "area-privacy",
            "checks",
        ] {
            assert!(
                html.contains(&format!("<li><a href=\"#{section}\">")),
                "contents link to {section}"
            );
        }
        // Counts by area × severity: pricing has two high findings.
        assert!(html.contains("id=\"table-areas\""));
        assert!(
            !html.contains("id=\"since-baseline\""),
            "no baseline, no section"
        );
        // Self-contained: nothing to fetch.
        for external in ["src=", "href=\"http", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }

    #[test]
    fn every_area_with_data_has_its_chart_and_the_chart_its_table() {
        let html = render(&full_report());
        for (chart, table) in [
            ("chart-areas", "table-areas"),
            ("chart-forest", "table-forest"),
            ("chart-episodes", "table-episodes"),
            ("chart-mail", "table-mail"),
            ("chart-segments", "table-segments"),
            ("chart-rfm", "table-rfm"),
            ("chart-anonymity", "table-anonymity"),
        ] {
            assert_eq!(
                html.matches(&format!("<svg id=\"{chart}\"")).count(),
                1,
                "{chart}"
            );
            assert!(html.contains(&format!("<table id=\"{table}\"")), "{table}");
        }
        // Two SKUs in the forest plot, linked to their findings; one with episodes.
        assert_eq!(html.matches("class=\"estimate sev-high\"").count(), 2);
        assert!(html.contains("<a href=\"#f-1\">"));
        assert_eq!(
            html.matches("<rect class=\"ep").count(),
            4,
            "two episodes, two legend marks"
        );
        assert!(html.contains("2 of 3 episodes shown"));
        assert!(html.contains("id=\"table-generalization\""));
        assert!(html.contains("1 of 3"), "birth year at level 1 of 3");
        assert!(html.contains("The policy does not judge quiet hours"));

        // Without data, no chart and no empty section.
        let bare = render(&report(vec![finding(
            "pricing.rule-surcharge",
            Severity::High,
            "Rule",
        )]));
        assert!(!bare.contains("<svg id=\"chart-forest\""));
        assert!(!bare.contains("id=\"area-mail\""));
        assert!(!bare.contains("id=\"segments\""));
        assert!(bare.contains("<svg id=\"chart-areas\""));
    }

    #[test]
    fn text_is_escaped_and_code_spans_become_code() {
        let mut hostile = finding(
            "privacy.undeclared-pii",
            Severity::Medium,
            "Column `notes` <script>alert(1)</script> & \"more\"",
        );
        hostile.message = "Declare `notes` under `identifiers`, or a lone ` stays".into();
        hostile = hostile.with_evidence(crate::findings::evidence::DeclaredMismatch {
            column: "<b>notes</b>".into(),
            declared_as: "email".into(),
            matching_cells: 1,
            non_empty_cells: 10,
        });
        hostile.subject.column = Some("a'b".into());
        let html = render(&report(vec![hostile]));
        assert!(!html.contains("<script>alert"), "title escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;"));
        assert!(html.contains("<code>notes</code>"));
        assert!(html.contains(
            "Declare <code>notes</code> under <code>identifiers</code>, or a lone ` stays"
        ));
        assert!(html.contains("&lt;b&gt;notes&lt;/b&gt;"));
        assert!(html.contains("column a&#39;b"));
        assert!(
            html.contains("no <code>quiet</code> hours"),
            "check reasons too"
        );
        // No Markdown backtick is left around a code span anywhere in the findings.
        let findings = &html[html.find("id=\"area-privacy\"").unwrap()..];
        assert_eq!(findings.matches('`').count(), 1, "only the lone backtick");
        assert_eq!(inline("`a` b `c"), "<code>a</code> b `c");
        assert_eq!(inline("x < y"), "x &lt; y");
    }

    #[test]
    fn findings_carry_what_the_filters_and_the_baseline_need() {
        let mut r = full_report();
        r.findings[0].baseline = Some(BaselineStatus::New);
        r.findings[1].baseline = Some(BaselineStatus::Persisting);
        let resolved = finding("mail.quiet-hours", Severity::Medium, "Campaign `night`");
        r.baseline = Some(BaselineSummary {
            source: "last-month/".into(),
            new: 1,
            persisting: 1,
            resolved: vec![resolved],
            segment_shift: Some(SegmentShift {
                stayed: 90,
                moved: 8,
                entered: 2,
                left: 0,
                moves: vec![SegmentMove {
                    from: "loyal".into(),
                    to: "at_risk".into(),
                    customers: 8,
                }],
            }),
            segment_shift_skipped: None,
        });
        let html = render(&r);
        let at = |needle: &str| html.find(needle).unwrap();
        assert!(at("id=\"verdict\"") < at("id=\"since-baseline\""));
        assert!(at("id=\"since-baseline\"") < at("id=\"contents\""));
        assert!(html.contains("<table id=\"table-resolved\">"));
        assert!(html.contains("Campaign <code>night</code>"));
        assert!(html.contains("<table id=\"table-segment-shift\">"));
        assert!(html.contains("<td>loyal</td><td>at_risk</td>"));
        assert!(html.contains("<span class=\"tag new\">new</span>"));
        assert!(html.contains("<span class=\"tag persisting\">persisting</span>"));
        assert!(html.contains("<span class=\"tag waived\">waived until 2027-01-01</span>"));
        assert!(html.contains("Waived by pricing team until 2027-01-01: price test"));
        // Every finding can be filtered; the filter bar waits for the script.
        assert_eq!(html.matches("<article class=\"finding ").count(), 4);
        assert_eq!(html.matches(" data-severity=\"").count(), 4);
        assert!(html.contains("data-area=\"pricing\"") && html.contains("data-area=\"mail\""));
        assert!(html.contains("<form id=\"filters\" class=\"filters\" hidden>"));
        assert!(html.contains("name=\"area\" value=\"privacy\""));
    }

    #[test]
    fn a_report_without_findings_passes_and_says_so() {
        let html = render(&report(Vec::new()));
        assert!(html.contains("<p class=\"badge\">PASS</p>"));
        assert!(html.contains("<strong>No findings.</strong>"));
        assert!(!html.contains("id=\"filters\"") && !html.contains("<svg"));
        assert!(html.contains("<section id=\"checks\">"));
    }

    #[test]
    fn every_label_of_the_page_comes_from_labels() {
        // A page in other words has none of the English ones the page adds.
        let other = Labels {
            lang: "xx",
            title: "TITLE",
            contents: "CONTENTS",
            forest_title: "FOREST",
            ..labels::EN
        };
        let html = render_with(&full_report(), &other);
        assert!(html.contains("<html lang=\"xx\">"));
        assert!(html.contains("<h1>TITLE</h1>") && html.contains("<h2>CONTENTS</h2>"));
        assert!(html.contains("<h3>FOREST</h3>"));
        assert!(!html.contains(labels::EN.forest_title));
    }
}
