//! `fairmark checks` and `fairmark explain ID`.

use std::process::ExitCode;

use anyhow::bail;
use fairmark::checks;
use fairmark::policy::PolicyPack;
use tabled::settings::Style;
use tabled::{Table, Tabled};

#[derive(Tabled)]
struct Row {
    id: &'static str,
    title: &'static str,
    #[tabled(rename = "default severity")]
    severity: String,
    #[tabled(rename = "enabled by")]
    packs: String,
}

pub fn list() -> anyhow::Result<ExitCode> {
    let packs = PolicyPack::built_in(&checks::Registry);
    let rows: Vec<Row> = checks::ALL
        .iter()
        .map(|check| check.info())
        .chain(checks::waiver::INFOS)
        .map(|check| {
            let enabling: Vec<String> = packs
                .iter()
                .filter_map(|p| {
                    p.checks
                        .get(check.id)
                        .filter(|c| c.enabled)
                        .map(|c| format!("{} ({})", p.name, c.severity))
                })
                .collect();
            Row {
                id: check.id,
                title: check.title,
                severity: check.default_severity.to_string(),
                // The waiver checks judge the config's [[waiver]] list in every audit.
                packs: if check.family == "waiver" {
                    "every audit with [[waiver]]".to_string()
                } else {
                    enabling.join(", ")
                },
            }
        })
        .collect();
    println!("{}", Table::new(rows).with(Style::rounded()));
    println!("`fairmark explain ID` prints a check's documentation.");
    Ok(ExitCode::SUCCESS)
}

pub fn explain(id: &str) -> anyhow::Result<ExitCode> {
    let Some(info) = checks::info(id) else {
        let ids: Vec<&str> = checks::ALL
            .iter()
            .map(|c| c.info())
            .chain(checks::waiver::INFOS)
            .map(|i| i.id)
            .collect();
        bail!("no check `{id}`; checks are: {}", ids.join(", "));
    };
    print!("{}", info.doc);
    Ok(ExitCode::SUCCESS)
}
