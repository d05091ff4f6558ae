//! Every rendering of a report stays well-formed and inert whatever text the data holds: the
//! renderers are given a report whose every field that may come from the data or the config
//! holds a known attack or an arbitrary text, and each output is read as its readers read it.

use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag};
use quick_xml::events::Event as XmlEvent;

use super::fixture::hostile_report;
use super::{Report, html, json, junit, markdown, sarif, table};
use crate::escape::{is_hidden, visible};

/// The payloads of the security review, and others of the same families.
const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<javascript:alert(1)>",
    "![pixel](http://tracker.invalid/p.png)",
    "[ref]: javascript:alert(1)",
    "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[1A",
    "\u{fffe}\u{ffff}\u{0}\u{1}\u{b}",
    "a|b\n| c | d |",
    "`x` `` ``` ",
    "&lt;script&gt; &#60;b&#62;",
    "\u{202e}fdp.exe",
    "<!-- comment --> <?xml?> <![CDATA[x]]>",
    "# heading\n> quote\n- item\n1. one",
    "*em* _em_ **strong** ~~gone~~ $x$",
    "Refund at https://evil.example/r or WWW.evil.example, ask billing@evil.example",
    "   - indented\n    code\n\t1. one",
    "zero\u{200b}width\u{2060}joiner\u{feff}\u{e0041}tag",
];

fn markdown_problem(md: &str) -> Option<String> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(md, options) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => return Some(format!("raw HTML {h:?}")),
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                return Some(format!("a link to {dest_url:?}"));
            }
            _ => {}
        }
    }
    None
}

/// GitHub links a URL, a `www.` address or an email address without any markup (pulldown-cmark
/// does not): each must reach the page split by an escape, outside code spans.
fn bare_link_problem(md: &str) -> Option<String> {
    for (event, range) in Parser::new_ext(md, Options::ENABLE_TABLES).into_offset_iter() {
        let Event::Text(_) = event else { continue };
        let source = &md[range.clone()];
        let unescaped = |needle: &str| {
            source
                .match_indices(needle)
                .any(|(at, _)| !md[..range.start + at].ends_with('\\'))
        };
        if unescaped("://") || unescaped("@") || source.to_ascii_lowercase().contains("www.") {
            return Some(format!("a bare link in {source:?}"));
        }
    }
    None
}

/// Every row of a Markdown table has as many cell borders as its header: a value holding a `|`
/// would add a column.
fn table_problem(md: &str) -> Option<String> {
    let borders = |line: &str| {
        line.char_indices()
            .filter(|(at, c)| {
                *c == '|' && line[..*at].chars().rev().take_while(|p| *p == '\\').count() % 2 == 0
            })
            .count()
    };
    let mut header: Option<usize> = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        match header {
            None => header = Some(borders(line)),
            Some(expected) if borders(line) != expected => {
                return Some(format!(
                    "a table row with another number of cells: {line:?}"
                ));
            }
            Some(_) => {}
        }
    }
    None
}

/// The text a Markdown reader sees, code spans included.
fn markdown_text(md: &str) -> String {
    Parser::new_ext(md, Options::ENABLE_TABLES)
        .filter_map(|event| match event {
            Event::Text(t) | Event::Code(t) => Some(t.into_string()),
            _ => None,
        })
        .collect()
}

fn xml_problem(xml: &str) -> Option<String> {
    if let Some(c) = xml.chars().find(|c| is_hidden(*c) && *c != '\r') {
        return Some(format!("character U+{:04X}", u32::from(c)));
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Err(e) => return Some(format!("not XML: {e}")),
            Ok(XmlEvent::Eof) => return None,
            Ok(XmlEvent::Text(t)) => {
                if let Err(e) = t.decode() {
                    return Some(format!("bad text: {e}"));
                }
            }
            Ok(XmlEvent::Start(e) | XmlEvent::Empty(e)) => {
                for attribute in e.attributes() {
                    match attribute {
                        Ok(a) => {
                            if let Err(e) = a.unescape_value() {
                                return Some(format!("bad attribute: {e}"));
                            }
                        }
                        Err(e) => return Some(format!("bad attribute: {e}")),
                    }
                }
            }
            Ok(_) => {}
        }
    }
}

/// Every rendering of `report`, checked as its readers read it.
fn check_outputs(report: &Report) -> Result<(), String> {
    let md = markdown::render(report);
    if let Some(problem) = markdown_problem(&md) {
        return Err(format!("report.md: {problem}"));
    }
    if let Some(problem) = table_problem(&md) {
        return Err(format!("report.md: {problem}"));
    }
    if let Some(problem) = bare_link_problem(&md) {
        return Err(format!("report.md: {problem}"));
    }
    if md.chars().any(is_hidden) {
        return Err("report.md: a control character".into());
    }
    if let Some(problem) = xml_problem(&junit::render(report)) {
        return Err(format!("report.junit.xml: {problem}"));
    }
    serde_json::from_str::<serde_json::Value>(&json::render(report))
        .map_err(|e| format!("report.json: {e}"))?;
    let sarif: serde_json::Value = serde_json::from_str(&sarif::render_report(report))
        .map_err(|e| format!("report.sarif: {e}"))?;
    for result in sarif["runs"][0]["results"].as_array().into_iter().flatten() {
        let text = result["message"]["text"].as_str().unwrap_or_default();
        let bracket_unescaped = text.char_indices().any(|(at, c)| {
            matches!(c, '[' | ']')
                && text[..at].chars().rev().take_while(|p| *p == '\\').count() % 2 == 0
        });
        if bracket_unescaped || text.chars().any(is_hidden) {
            return Err(format!(
                "report.sarif: a message could carry a link: {text:?}"
            ));
        }
    }
    if table::render(report).chars().any(is_hidden) {
        return Err("the terminal table: a control character".into());
    }
    if html::render(report).chars().any(is_hidden) {
        return Err("report.html: a control character".into());
    }
    Ok(())
}

#[test]
fn known_attacks_come_out_as_text() {
    for payload in PAYLOADS {
        let report = hostile_report(payload);
        check_outputs(&report).unwrap_or_else(|problem| panic!("{payload:?}: {problem}"));
        // Shown as itself, not swallowed as markup: each line of it, its controls written out.
        let seen = markdown_text(&markdown::render(&report));
        for line in visible(payload)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            assert!(
                seen.contains(line),
                "{payload:?}: {line:?} not shown in {seen}"
            );
        }
        // The page has the same elements as a page of plain names.
        let page = html::render(&report);
        let plain = html::render(&hostile_report("plain"));
        for tag in [
            "<script",
            "<img",
            "<a ",
            "<style",
            "<iframe",
            "href=\"javascript",
        ] {
            assert_eq!(
                page.matches(tag).count(),
                plain.matches(tag).count(),
                "{payload:?}: {tag}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_text_leaves_every_output_well_formed_and_inert(text in proptest::collection::vec(any::<char>(), 0..48).prop_map(String::from_iter)) {
        let report = hostile_report(&text);
        if let Err(problem) = check_outputs(&report) {
            return Err(TestCaseError::fail(problem));
        }
    }

    #[test]
    fn markup_heavy_text_leaves_every_output_inert(text in "[<>&\"'`|\\[\\]()!*_#\\\\\n\r\t\u{0}\u{1b}\u{7}\u{9b}\u{202e}\u{2066}\u{200b}\u{fffe}\u{fdd0}@./:wa-z:=-]{0,40}") {
        let report = hostile_report(&text);
        if let Err(problem) = check_outputs(&report) {
            return Err(TestCaseError::fail(problem));
        }
    }
}
