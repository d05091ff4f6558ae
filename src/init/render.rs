//! The proposal written out as a commented `fairmark.toml`: each setting on its own line with
//! the reason it was chosen, and each column left unmapped listed with why.

use std::fmt::Write as _;

use super::infer::{DatasetProposal, Line, Value};

/// A setting's comment starts at this column when the setting is shorter, so the reasons
/// read as one column.
const COMMENT_COLUMN: usize = 40;

/// One dataset section: the proposal, the `path` it reads and why.
pub struct Section {
    pub proposal: DatasetProposal,
    pub path: String,
    pub path_why: String,
}

/// What the top of the file sets, each with why.
pub struct Header {
    pub key: (String, String),
    pub pricing_rules: Option<(String, String)>,
    /// Lines of comment on files not used.
    pub notes: Vec<String>,
}

pub fn render(header: &Header, sections: &[Section]) -> String {
    let mut text = String::from(
        "# Proposed by `fairmark init` from the first rows of each data file it names. Each\n\
         # setting says why it was chosen: review them before the first audit. Nothing from the\n\
         # data is written here but column names and counts and shares of what values read as.\n",
    );
    for note in &header.notes {
        let _ = writeln!(text, "# {note}");
    }
    commented(
        &mut text,
        "policies = [\"cn\"]",
        "the default pack; add \"eu\" or \"us\" where those laws apply",
    );
    commented(&mut text, &format!("key = {}", header.key.0), &header.key.1);
    if let Some((path, why)) = &header.pricing_rules {
        commented(&mut text, &format!("pricing_rules = {}", string(path)), why);
    }
    for section in sections {
        let role = section.proposal.role.name();
        let _ = writeln!(text, "\n[datasets.{role}]");
        commented(
            &mut text,
            &format!("path = {}", string(&section.path)),
            &section.path_why,
        );
        for line in &section.proposal.lines {
            write_line(&mut text, line);
        }
        for (table, lines) in &section.proposal.tables {
            let _ = writeln!(text, "\n[datasets.{role}.{table}]");
            for line in lines {
                write_line(&mut text, line);
            }
        }
        if !section.proposal.unmapped.is_empty() {
            text.push_str("\n# Left unmapped:\n");
            for column in &section.proposal.unmapped {
                let _ = writeln!(text, "#   {}: {}", column.label, column.why);
            }
        }
    }
    text
}

fn write_line(text: &mut String, line: &Line) {
    let key = key(&line.key);
    match &line.value {
        Value::Text(value) => commented(text, &format!("{key} = {}", string(value)), &line.why),
        Value::Words(words) => {
            let words: Vec<String> = words.iter().map(|w| string(w)).collect();
            commented(text, &format!("{key} = [{}]", words.join(", ")), &line.why);
        }
        Value::Columns(columns) => {
            commented(text, &format!("{key} = ["), &line.why);
            for (column, why) in columns {
                commented(text, &format!("    {},", string(column)), why);
            }
            text.push_str("]\n");
        }
    }
}

fn commented(text: &mut String, setting: &str, why: &str) {
    let _ = writeln!(text, "{setting:<COMMENT_COLUMN$} # {why}");
}

/// A TOML basic string.
pub fn string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A TOML key: bare when it can be, quoted otherwise (a `.` would make a dotted key).
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { name.to_string() } else { string(name) }
}

#[cfg(test)]
mod tests {
    use super::super::infer::{Role, Unmapped};
    use super::*;

    #[test]
    fn every_setting_carries_its_reason_and_the_text_parses() {
        let proposal = DatasetProposal {
            role: Role::Customers,
            lines: vec![
                Line {
                    key: "id".into(),
                    value: Value::Text("uid".into()),
                    why: "unique".into(),
                },
                Line {
                    key: "attributes".into(),
                    value: Value::Columns(vec![("vip".into(), "true/false".into())]),
                    why: "usable in cohorts".into(),
                },
            ],
            tables: vec![(
                "identifiers",
                vec![Line {
                    key: "e.mail".into(),
                    value: Value::Text("email".into()),
                    why: "98% e-mail addresses".into(),
                }],
            )],
            unmapped: vec![Unmapped {
                label: "notes".into(),
                why: "free text".into(),
            }],
            mapped: 3,
        };
        let header = Header {
            key: ("{ env = \"FAIRMARK_KEY\" }".into(), "no key file".into()),
            pricing_rules: None,
            notes: vec!["Not used: x.csv".into()],
        };
        let section = Section {
            proposal,
            path: "customers.csv".into(),
            path_why: "read as customers".into(),
        };
        let text = render(&header, &[section]);
        let config = crate::config::Config::parse(&text, "fairmark.toml").unwrap();
        let customers = config.datasets.customers.unwrap();
        assert_eq!(customers.attributes, ["vip"]);
        assert!(customers.identifiers.contains_key("e.mail"));
        for line in text
            .lines()
            .filter(|l| l.contains(" = ") && !l.starts_with('#'))
        {
            assert!(line.contains(" # "), "a setting without its reason: {line}");
        }
        assert!(text.contains("#   notes: free text"), "{text}");
    }
}
