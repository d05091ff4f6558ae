//! A configuration error names the file, line, column and key, and never repeats what was
//! written there: a key pasted where its source belongs, or a secret in a field of the wrong
//! type, is refused without being shown.

use crate::support::Fixture;

/// 64 hex digits: what `openssl rand -hex 32` prints, pasted where its source belongs.
const PASTED_KEY: &str = "4f7d0c3b9e2a81f6d5c4b3a2918e7f6a5d4c3b2a1908f7e6d5c4b3a29180f7e6";
/// A password: nothing like a key, so only the type error catches it.
const PASSWORD: &str = "Tr0ub4dor&3 Sommer2026!";

/// Runs the audit expecting exit 2 and one line on stderr that names `file` with a line and
/// column, and `key`; checks `secret` is in neither stdout nor stderr, and returns the line.
fn refused(fixture: &Fixture, secret: &str, file: &str, key: &str) -> String {
    let output = fixture.audit("report").code(2).get_output().clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains(secret), "echoed on stdout: {stdout}");
    assert!(!stderr.contains(secret), "echoed on stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let at = format!("fairmark: error: {file}");
    assert!(stderr.starts_with(&at), "{stderr}");
    let position = stderr[at.len()..].split(": ").next().unwrap();
    let numbers: Vec<&str> = position.split(':').skip(1).collect();
    assert!(
        numbers.len() == 2 && numbers.iter().all(|n| n.parse::<u32>().is_ok()),
        "line and column: {stderr}"
    );
    assert!(stderr.contains(&format!("`{key}`")), "{stderr}");
    stderr.into_owned()
}

/// The config file as errors name it: as given on the command line.
fn config_file(fixture: &Fixture) -> String {
    fixture.data.config.display().to_string()
}

#[test]
fn a_key_pasted_where_its_source_belongs_is_refused_without_being_shown() {
    let written = [
        ("key", format!("key = \"{PASTED_KEY}\"")),
        ("key.env", format!("key = {{ env = \"{PASTED_KEY}\" }}")),
        ("key.file", format!("key = {{ file = \"{PASTED_KEY}\" }}")),
    ];
    for (key, written) in written {
        let fixture = Fixture::small();
        fixture.edit_config("key = { file = \"demo.key\" }", &written);
        let stderr = refused(&fixture, PASTED_KEY, &config_file(&fixture), key);
        assert!(
            stderr.contains("this looks like a key; give its source"),
            "{stderr}"
        );
    }
}

#[test]
fn a_secret_in_a_wrongly_typed_field_of_the_config_is_not_shown() {
    let fixture = Fixture::small();
    let text = std::fs::read_to_string(&fixture.data.config).unwrap();
    std::fs::write(
        &fixture.data.config,
        format!("{text}\n[segmentation]\nat_risk_after_days = \"{PASSWORD}\"\n"),
    )
    .unwrap();
    let stderr = refused(
        &fixture,
        PASSWORD,
        &config_file(&fixture),
        "segmentation.at_risk_after_days",
    );
    assert!(
        stderr.contains("expected a whole number, 0 or more, found text"),
        "{stderr}"
    );
    // Any key-shaped text gets the key's own message, wherever it is written.
    let fixture = Fixture::small();
    fixture.edit_config(
        "price_sensitivity\"]",
        &format!("price_sensitivity\"]\nattribute_kinds = \"{PASTED_KEY}\""),
    );
    let stderr = refused(
        &fixture,
        PASTED_KEY,
        &config_file(&fixture),
        "datasets.customers.attribute_kinds",
    );
    assert!(stderr.contains("this looks like a key"), "{stderr}");
}

#[test]
fn a_secret_in_a_wrongly_typed_field_of_a_rules_file_is_not_shown() {
    let fixture = Fixture::small();
    let rules = std::fs::read_to_string(&fixture.data.rules_file).unwrap();
    let rules = rules.replacen(
        "disclosed = true",
        &format!("disclosed = \"{PASSWORD}\""),
        1,
    );
    std::fs::write(&fixture.data.rules_file, rules).unwrap();
    let stderr = refused(&fixture, PASSWORD, "rules.toml", "rule.disclosed");
    assert!(
        stderr.contains("expected a boolean, found text"),
        "{stderr}"
    );
}

#[test]
fn a_missing_key_file_with_a_written_name_is_named() {
    let fixture = Fixture::small();
    fixture.edit_config(
        "key = { file = \"demo.key\" }",
        "key = { file = \"secrets/missing.key\" }",
    );
    let output = fixture.audit("report").code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read key file") && stderr.contains("secrets/missing.key"),
        "{stderr}"
    );
}

#[test]
fn a_key_pasted_as_a_dataset_path_or_a_file_name_is_not_shown() {
    for (from, to) in [
        (
            "path = \"customers.csv\"",
            format!("path = \"{PASTED_KEY}\""),
        ),
        (
            "pricing_rules = \"rules.toml\"",
            format!("pricing_rules = \"{PASTED_KEY}\""),
        ),
        (
            "policies = [\"cn\"]",
            format!("policies = [\"{PASTED_KEY}\"]"),
        ),
    ] {
        let fixture = Fixture::small();
        fixture.edit_config(from, &to);
        let output = fixture.audit("report").code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains(PASTED_KEY), "{from}: {stderr}");
        assert!(!String::from_utf8_lossy(&output.stdout).contains(PASTED_KEY));
    }
}
