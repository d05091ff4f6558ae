//! `fairmark policy list` and `fairmark policy show NAME`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use fairmark::checks::Registry;
use fairmark::escape::terminal;
use fairmark::policy::PolicyPack;

pub fn list() -> anyhow::Result<ExitCode> {
    for pack in PolicyPack::built_in(&Registry) {
        let enabled = pack.checks.values().filter(|c| c.enabled).count();
        println!(
            "{:<4} {} — {} legal bases, {enabled} checks enabled",
            pack.name,
            pack.title,
            pack.legal_bases.len()
        );
    }
    println!(
        "`fairmark policy show NAME` prints a pack; a pack file is used by giving its path in `policies`."
    );
    Ok(ExitCode::SUCCESS)
}

pub fn show(name: &str) -> anyhow::Result<ExitCode> {
    let pack = PolicyPack::load(name, Path::new("."), &Registry)?;
    let mut text = format!("{} — {}\n", pack.name, pack.title);
    if !pack.description.is_empty() {
        let _ = writeln!(text, "{}", pack.description);
    }
    let _ = writeln!(
        text,
        "source: {}  sha256: {}\n\nLegal bases:",
        pack.source, pack.sha256
    );
    for basis in &pack.legal_bases {
        let _ = writeln!(
            text,
            "  {:<14} {}\n  {:<14} {}",
            basis.id, basis.citation, "", basis.gist
        );
    }
    text.push_str("\nChecks:\n");
    for (id, check) in &pack.checks {
        let state = if check.enabled {
            check.severity.to_string()
        } else {
            "disabled".to_string()
        };
        let cites: Vec<&str> = check.legal_bases.iter().map(|c| c.id.as_str()).collect();
        let _ = writeln!(text, "  {id:<26} {state:<9} cites {}", cites.join(", "));
        for (key, value) in &check.settings {
            let _ = writeln!(text, "  {:<26} {key} = {value}", "");
        }
    }
    // A pack file is anyone's text: its control characters are written out, not sent.
    print!("{}", terminal(&text));
    Ok(ExitCode::SUCCESS)
}
