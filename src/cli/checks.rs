//! `fairmark checks` and `fairmark explain ID`.

use std::process::ExitCode;

use anyhow::bail;
use fairmark::checks::{self, reference};
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
    let rows: Vec<Row> = reference::rows(&packs)
        .iter()
        .map(|row| Row {
            id: row.info.id,
            title: row.info.title,
            severity: row.info.default_severity.to_string(),
            packs: row.enabled_by_summary(),
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
