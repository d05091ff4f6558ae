//! The check reference, generated from the registry and the built-in packs: the rows that
//! `fairmark checks` prints, the README's check table and `docs/checks.md`. Each check's doc
//! lives once, beside its code; these renderers only arrange it, and a test fails when a
//! committed copy is stale (`FAIRMARK_UPDATE_DOCS=1 cargo test --lib generated_docs` rewrites
//! it). Another test follows every link between the README and `docs/`. Nothing outside the
//! tests reads or writes a file.

use std::fmt::Write as _;

use super::{ALL, CheckInfo, waiver};
use crate::policy::{CheckPolicy, PolicyPack};

/// Where the full reference lives, relative to the repository root; the README links to it.
pub const REFERENCE_PAGE: &str = "docs/checks.md";

/// The command that rewrites the generated files, named in each of them.
pub const REGENERATE: &str = "FAIRMARK_UPDATE_DOCS=1 cargo test --lib generated_docs";

/// One check as the reference shows it: its registry entry and the packs that enable it.
pub struct CheckRow<'p> {
    pub info: &'static CheckInfo,
    /// The packs that enable the check, in the order given, each with its reading of it.
    pub enabled_by: Vec<(&'p str, &'p CheckPolicy)>,
}

impl CheckRow<'_> {
    /// Who turns the check on, in one line: `cn (high), eu (medium)`.
    pub fn enabled_by_summary(&self) -> String {
        // The waiver checks judge the config's [[waiver]] list in every audit.
        if self.info.family == "waiver" {
            return "every audit with [[waiver]]".to_string();
        }
        self.enabled_by
            .iter()
            .map(|(pack, policy)| format!("{pack} ({})", policy.severity))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every check of the registry, in run order, then the waiver checks.
pub fn rows(packs: &[PolicyPack]) -> Vec<CheckRow<'_>> {
    ALL.iter()
        .map(|check| check.info())
        .chain(waiver::INFOS)
        .map(|info| CheckRow {
            info,
            enabled_by: packs
                .iter()
                .filter_map(|pack| {
                    pack.checks
                        .get(info.id)
                        .filter(|policy| policy.enabled)
                        .map(|policy| (pack.name.as_str(), policy))
                })
                .collect(),
        })
        .collect()
}

/// The README's check table: id (linked to its section of the reference page), title,
/// default severity and the packs that enable it.
pub fn readme_table(rows: &[CheckRow]) -> String {
    let mut out =
        String::from("| id | title | default severity | enabled by |\n|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| [`{id}`]({REFERENCE_PAGE}#{anchor}) | {title} | {severity} | {packs} |",
            id = row.info.id,
            anchor = anchor(row.info.id),
            title = cell(row.info.title),
            severity = row.info.default_severity,
            packs = cell(&row.enabled_by_summary()),
        );
    }
    out
}

/// `docs/checks.md`: a contents table, then per family each check with its titles, severities,
/// the packs that enable it (settings and legal bases included) and its doc.
pub fn reference_page(rows: &[CheckRow]) -> String {
    let mut out = format!(
        "<!-- Generated from the check registry and policies/*.toml; do not edit. Regenerate with: {REGENERATE} -->\n\
         # Check reference\n\n\
         Every check fairmark runs, generated from the registry (`src/checks/`) and the built-in\n\
         policy packs (`policies/*.toml`). `fairmark checks` prints the table below in the terminal;\n\
         `fairmark explain ID` prints one check's doc.\n\n\
         A pack *enables* a check when it has a `[checks.\"ID\"]` table that does not say\n\
         `enabled = false`. Its severity, its settings and the law it cites are the pack's own.\n\
         When several packs are in force they combine by the strictest reading\n\
         (see [Configuration](configuration.md#combining-packs)).\n\n"
    );
    out.push_str(&readme_table(rows).replace(&format!("{REFERENCE_PAGE}#"), "#"));
    let mut family = "";
    for row in rows {
        if row.info.family != family {
            family = row.info.family;
            let _ = write!(out, "\n## {family}\n");
        }
        check_section(&mut out, row);
    }
    out
}

fn check_section(out: &mut String, row: &CheckRow) {
    let info = row.info;
    let (subtitle, doc) = split_title(info.doc, info.id);
    let _ = write!(out, "\n### {}\n\n", info.id);
    if let Some(subtitle) = subtitle {
        let _ = writeln!(out, "*{subtitle}*\n");
    }
    let _ = writeln!(out, "- Title: {}", info.title);
    let _ = writeln!(out, "- Title in Chinese: {}", info.title_zh);
    let _ = writeln!(out, "- Default severity: {}", info.default_severity);
    if row.enabled_by.is_empty() {
        let _ = writeln!(out, "- Enabled by: {}", row.enabled_by_summary());
    } else {
        out.push_str("\n| pack | severity | settings |\n|---|---|---|\n");
        for (pack, policy) in &row.enabled_by {
            let _ = writeln!(
                out,
                "| `{pack}` | {} | {} |",
                policy.severity,
                settings(policy)
            );
        }
        out.push_str("\nLegal bases the packs cite for it:\n\n");
        for (pack, policy) in &row.enabled_by {
            for basis in &policy.legal_bases {
                let _ = writeln!(
                    out,
                    "- `{pack}` `{}`: {}. {}",
                    basis.id, basis.citation, basis.gist
                );
            }
        }
    }
    out.push('\n');
    out.push_str(&demote_headings(doc.trim_start_matches('\n'), 2));
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

/// A doc's first line is `# ID: what it finds`; the page gives the id its own heading and keeps
/// the rest as a subtitle.
fn split_title<'d>(doc: &'d str, id: &str) -> (Option<&'d str>, &'d str) {
    let (first, rest) = doc.split_once('\n').unwrap_or((doc, ""));
    match first.strip_prefix("# ").and_then(|t| t.strip_prefix(id)) {
        Some(title) => (Some(title.trim_start_matches(':').trim()), rest),
        None => (None, doc),
    }
}

/// The pack's settings for the check as `key = value` code spans, or a note that it sets none.
fn settings(policy: &CheckPolicy) -> String {
    if policy.settings.is_empty() {
        return "the check's defaults".to_string();
    }
    policy
        .settings
        .iter()
        .map(|(key, value)| cell(&format!("`{key} = {value}`")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Moves every ATX heading of `markdown` down `levels` levels, leaving fenced code alone (a
/// TOML comment is not a heading).
fn demote_headings(markdown: &str, levels: usize) -> String {
    let mut out = String::with_capacity(markdown.len() + 64);
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let hashes = line.len() - line.trim_start_matches('#').len();
        let is_heading = !in_fence && hashes > 0 && line[hashes..].starts_with(' ');
        if is_heading {
            out.push_str(&"#".repeat((hashes + levels).min(6)));
            out.push_str(&line[hashes..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Text made safe for a Markdown table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The anchor GitHub gives a heading: lower case, punctuation but `-` and `_` dropped,
/// spaces as hyphens.
pub fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::checks::Registry;

    const README_BEGIN: &str = "<!-- begin: checks (generated by ";
    const README_END: &str = "<!-- end: checks -->";

    /// The README with its check table replaced by `table`; `None` when a marker is missing.
    fn splice_readme(readme: &str, table: &str) -> Option<String> {
        let begin = readme.find(README_BEGIN)?;
        let body = begin + readme[begin..].find('\n')? + 1;
        let end = body + readme[body..].find(README_END)?;
        Some(format!("{}{table}{}", &readme[..body], &readme[end..]))
    }

    #[test]
    fn generated_docs_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let packs = PolicyPack::built_in(&Registry);
        let rows = rows(&packs);
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let Some(expected_readme) = splice_readme(&readme, &readme_table(&rows)) else {
            panic!("README.md lacks the `{README_BEGIN}…-->` and `{README_END}` markers");
        };
        let update = std::env::var_os("FAIRMARK_UPDATE_DOCS").is_some();
        let mut stale = Vec::new();
        for (file, expected) in [
            (REFERENCE_PAGE, reference_page(&rows)),
            ("README.md", expected_readme),
        ] {
            let path = root.join(file);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(expected.as_str()) {
                continue;
            }
            if update {
                std::fs::write(&path, expected).unwrap();
            } else {
                stale.push(file);
            }
        }
        assert!(
            stale.is_empty(),
            "{} out of date with the check registry; regenerate with `{REGENERATE}`",
            stale.join(" and ")
        );
    }

    /// The link targets and the heading anchors of a Markdown page, as GitHub renders it.
    fn links_and_anchors(markdown: &str) -> (Vec<String>, Vec<String>) {
        use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
        let (mut links, mut anchors) = (Vec::new(), Vec::new());
        let mut heading: Option<String> = None;
        let mut seen = std::collections::HashMap::new();
        for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
            match event {
                Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                    links.push(dest_url.to_string())
                }
                Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
                Event::Text(text) | Event::Code(text) => {
                    if let Some(heading) = heading.as_mut() {
                        heading.push_str(&text);
                    }
                }
                Event::End(TagEnd::Heading(_)) => {
                    let base = anchor(&heading.take().unwrap_or_default());
                    // GitHub numbers a repeated heading's anchor: `checks`, `checks-1`, …
                    let repeats = seen.entry(base.clone()).or_insert(0);
                    anchors.push(match *repeats {
                        0 => base,
                        n => format!("{base}-{n}"),
                    });
                    *repeats += 1;
                }
                _ => {}
            }
        }
        (links, anchors)
    }

    #[test]
    fn links_between_the_readme_and_the_docs_resolve() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut pages = vec![root.join("README.md")];
        let docs = std::fs::read_dir(root.join("docs")).unwrap();
        pages.extend(
            docs.map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|e| e == "md")),
        );
        let mut broken = Vec::new();
        for page in &pages {
            let (links, _) = links_and_anchors(&std::fs::read_to_string(page).unwrap());
            for link in links
                .iter()
                .filter(|l| !l.contains("://") && !l.starts_with("mailto:"))
            {
                let (file, fragment) = link.split_once('#').unwrap_or((link, ""));
                let target = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                let Ok(text) = std::fs::read_to_string(&target) else {
                    if !target.exists() {
                        broken.push(format!(
                            "{}: {link}",
                            page.strip_prefix(root).unwrap().display()
                        ));
                    }
                    continue;
                };
                if !fragment.is_empty() && !links_and_anchors(&text).1.iter().any(|a| a == fragment)
                {
                    broken.push(format!(
                        "{}: {link}",
                        page.strip_prefix(root).unwrap().display()
                    ));
                }
            }
        }
        assert!(
            broken.is_empty(),
            "links that lead nowhere:\n{}",
            broken.join("\n")
        );
    }

    #[test]
    fn the_reference_has_one_section_per_check_and_demotes_doc_headings() {
        let packs = PolicyPack::built_in(&Registry);
        let rows = rows(&packs);
        let page = reference_page(&rows);
        for row in &rows {
            assert_eq!(
                page.matches(&format!("\n### {}\n", row.info.id)).count(),
                1,
                "{}",
                row.info.id
            );
        }
        assert_eq!(page.matches("\n#### What it does\n").count(), rows.len());
        assert!(!page.contains("\n## What it does"));
        assert!(!page.contains("\n# privacy."));
    }

    #[test]
    fn headings_in_code_stay_and_anchors_follow_github() {
        let doc = "## What it does\nx\n```toml\n# a comment\n```\n#not a heading\n";
        assert_eq!(
            demote_headings(doc, 2),
            "#### What it does\nx\n```toml\n# a comment\n```\n#not a heading\n"
        );
        assert_eq!(anchor("privacy.k-anonymity"), "privacyk-anonymity");
        assert_eq!(anchor("Combining packs"), "combining-packs");
    }

    #[test]
    fn waiver_checks_are_enabled_by_every_audit_with_waivers() {
        let packs = PolicyPack::built_in(&Registry);
        let rows = rows(&packs);
        let expired = rows.iter().find(|r| r.info.id == "waiver.expired").unwrap();
        assert_eq!(expired.enabled_by_summary(), "every audit with [[waiver]]");
        let quiet = rows
            .iter()
            .find(|r| r.info.id == "mail.quiet-hours")
            .unwrap();
        assert_eq!(quiet.enabled_by_summary(), "cn (medium), us (high)");
    }
}
