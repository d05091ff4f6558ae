//! Policy packs: one TOML file per jurisdiction, listing legal bases and, per check, whether
//! it runs, its severity, the provisions it cites and its thresholds. Built-in packs are
//! compiled into the binary from `policies/`; any other pack is loaded from a path.
//!
//! A pack is validated when it loads: unknown checks and keys, undefined citations, and
//! thresholds outside their range (each settings type's [`Validate`]) are errors that name the
//! pack file, line and column.
//!
//! Several packs combine into one [`EffectivePolicy`] by taking the strictest reading: a
//! check runs if any pack enables it, at the highest severity any pack gives it, citing every
//! pack's provisions, with thresholds merged by the check's own notion of "stricter"
//! ([`Strictest`]). The result does not depend on the order the packs are given in.
//!
//! Here: the public names and the tests of the whole. Beside it: loading one pack ([`pack`]),
//! the settings contract every check's settings type meets ([`settings`]), and the packs
//! combined ([`effective`]).

mod effective;
mod pack;
mod settings;

pub use effective::{EffectiveCheck, EffectivePolicy};
pub use pack::{
    AttributeClass, AttributeClasses, BUILT_IN, CheckCatalog, CheckPolicy, CheckSpec, LegalBasis,
    PolicyPack,
};
pub use settings::{NoSettings, Strictest, Validate, validate_as, within};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::pack::{BUILT_IN_SOURCE, built_in_file};
    use super::*;
    use crate::checks::{self, Registry, mail, pricing, privacy};
    use crate::findings::Severity;

    #[test]
    fn built_in_packs_parse_and_cite_every_enabled_check() {
        for pack in PolicyPack::built_in(&Registry) {
            assert!(!pack.legal_bases.is_empty(), "{}", pack.name);
            for (id, check) in pack.checks.iter().filter(|(_, c)| c.enabled) {
                assert!(
                    !check.legal_bases.is_empty(),
                    "{}: {id} cites nothing",
                    pack.name
                );
            }
        }
    }

    #[test]
    fn every_check_default_is_within_its_own_bounds() {
        for check in checks::ALL.iter().map(|c| c.info()) {
            (check.validate_settings)(&toml::Table::new())
                .unwrap_or_else(|e| panic!("{}: {e}", check.id));
        }
    }

    #[test]
    fn unknown_pack_names_and_checks_are_clear_errors() {
        let message = PolicyPack::load("mars", Path::new("."), &Registry)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("mars") && message.contains("cn, eu, us"),
            "{message}"
        );
        let text = "name = \"x\"\ntitle = \"x\"\n[checks.\"privacy.nope\"]\nseverity = \"high\"\n";
        let message = PolicyPack::parse(text, "x.toml", "x.toml", &Registry)
            .unwrap_err()
            .to_string();
        assert!(message.contains("x.toml:3:9"), "{message}");
        assert!(message.contains("privacy.nope"), "{message}");
    }

    const HEADER: &str = "name = \"custom\"\ntitle = \"Custom\"\n[[legal_basis]]\nid = \"x\"\ncitation = \"X\"\ngist = \"x\"\n";

    /// The error for a pack of `HEADER` (six lines) and `body`.
    fn error_for(body: &str) -> String {
        let text = format!("{HEADER}{body}");
        PolicyPack::parse(
            &text,
            "policies/custom.toml",
            "policies/custom.toml",
            &Registry,
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn out_of_range_settings_name_the_file_line_column_and_bound() {
        let cases = [
            (
                "[checks.\"mail.frequency-cap\"]\nlegal_bases = [\"x\"]\nwindow_days = 0\n",
                "policies/custom.toml:9:1: checks.\"mail.frequency-cap\".window_days must be between 1 and 366",
            ),
            (
                "[checks.\"mail.frequency-cap\"]\nmax_messages = 0\n",
                "custom.toml:8:1: checks.\"mail.frequency-cap\".max_messages must be at least 1",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\ntimezone = \"Asia/Atlantis\"\n",
                "custom.toml:8:1: checks.\"mail.quiet-hours\".timezone = \"Asia/Atlantis\" is not an IANA time zone",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\nquiet = { sms = [\"25:00\", \"08:00\"] }\n",
                "custom.toml:8:11: checks.\"mail.quiet-hours\".quiet.sms = [\"25:00\", \"08:00\"]: \"25:00\" is not a time of day",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\nquiet.email = [\"21:00\", \"21:00\"]\n",
                "custom.toml:8:7: checks.\"mail.quiet-hours\".quiet.email = [\"21:00\", \"21:00\"] is empty",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\nquiet = { fax = [\"21:00\", \"08:00\"] }\n",
                "custom.toml:8:11: checks.\"mail.quiet-hours\".quiet.fax: channel `fax` must be one of email, sms, push",
            ),
            (
                "[checks.\"mail.no-consent\"]\nopt_in_required = [\"SMS\"]\n",
                "custom.toml:8:1: checks.\"mail.no-consent\".opt_in_required: channel `SMS` must be one of",
            ),
            (
                "[checks.\"mail.after-opt-out\"]\ngrace_days = 91\n",
                "custom.toml:8:1: checks.\"mail.after-opt-out\".grace_days must be between 0 and 90",
            ),
            (
                "[checks.\"mail.after-opt-out\"]\ngrace_business_days = -1\n",
                "custom.toml:8:1: checks.\"mail.after-opt-out\".grace_business_days must be between 0 and 90",
            ),
            (
                // A rule across two keys is reported at the check's header.
                "[checks.\"mail.after-opt-out\"]\ngrace_days = 3\ngrace_business_days = 3\n",
                "custom.toml:7:9: checks.\"mail.after-opt-out\": grace_days and grace_business_days are both set",
            ),
            (
                "[checks.\"mail.unsolicited-bulk\"]\nmin_share = 1.5\n",
                "custom.toml:8:1: checks.\"mail.unsolicited-bulk\".min_share must be between 0 and 1",
            ),
            (
                "[checks.\"mail.missing-unsubscribe\"]\none_click_min_messages = 0\n",
                "custom.toml:8:1: checks.\"mail.missing-unsubscribe\".one_click_min_messages must be at least 1",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nk = 1\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".k must be at least 2",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nmax_suppression = -0.1\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".max_suppression must be between 0 and 1",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\ngeneralization = { age = 1, city = 5 }\n",
                "custom.toml:8:29: checks.\"privacy.k-anonymity\".generalization.city must be between 0 and 2",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nk = \"ten\"\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".k: expected a whole number",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nkk = 10\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".kk: unknown field `kk`",
            ),
            (
                "[checks.\"privacy.undeclared-pii\"]\nmin_matches = 0\n",
                "custom.toml:8:1: checks.\"privacy.undeclared-pii\".min_matches must be at least 1",
            ),
            (
                "[checks.\"pricing.tenure-overcharge\"]\nalpha = 1.0\n",
                "custom.toml:8:1: checks.\"pricing.tenure-overcharge\".alpha must be strictly between 0 and 1",
            ),
            (
                "[checks.\"pricing.device-overcharge\"]\nalpha = nan\n",
                "custom.toml:8:1: checks.\"pricing.device-overcharge\".alpha must be strictly between 0 and 1",
            ),
            (
                "[checks.\"pricing.protected-overcharge\"]\nmin_gap = 1.0\n",
                "custom.toml:8:1: checks.\"pricing.protected-overcharge\".min_gap must be at least 0 and less than 1",
            ),
            (
                "[checks.\"pricing.tenure-overcharge\"]\nmin_strata = 0\n",
                "custom.toml:8:1: checks.\"pricing.tenure-overcharge\".min_strata must be at least 1",
            ),
            (
                "[checks.\"pricing.simulated-disparity\"]\nold_tenure_days = 20\nnew_tenure_days = 10\ntolerance = -0.01\n",
                "custom.toml:10:1: checks.\"pricing.simulated-disparity\".tolerance must be at least 0 and less than 1",
            ),
            (
                // New customers of up to 400 days would overlap the default 365-day old cohort.
                "[checks.\"pricing.simulated-disparity\"]\nnew_tenure_days = 400\n",
                "custom.toml:8:1: checks.\"pricing.simulated-disparity\".new_tenure_days must be at most old_tenure_days",
            ),
            (
                "[checks.\"pricing.simulated-disparity\"]\nold_tenure_days = 200\nnew_tenure_days = 300\n",
                "custom.toml:7:9: checks.\"pricing.simulated-disparity\": new_tenure_days must be at most old_tenure_days",
            ),
            (
                "[checks.\"mail.frequency-cap\"]\nlegal_bases = [\"x\", \"y\"]\n",
                "custom.toml:8:21: [checks.\"mail.frequency-cap\"] cites `y`",
            ),
            (
                "[[legal_basis]]\nid = \"x\"\ncitation = \"again\"\ngist = \"\"\n",
                "custom.toml:8:1: [[legal_basis]] `x` is defined twice",
            ),
            (
                "[checks.\"mail.frequency-cap\"]\nseverity = \"dire\"\n",
                "custom.toml:8:12: `checks.mail.frequency-cap.severity`: not a value this key takes; expected one of",
            ),
            (
                "[checks.\"mail.frequency-cap\"\nwindow_days = 3\n",
                "custom.toml:7:",
            ),
        ];
        for (body, expected) in cases {
            let message = error_for(body);
            assert!(
                message.contains(expected),
                "{body}\n  expected: {expected}\n  got:      {message}"
            );
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn errors_in_a_built_in_pack_name_the_file_it_was_compiled_from() {
        let text = BUILT_IN[0].1.replace("window_days = 7", "window_days = 0");
        let message = PolicyPack::parse(&text, BUILT_IN_SOURCE, &built_in_file("cn"), &Registry)
            .unwrap_err()
            .to_string();
        let line = text.lines().position(|l| l == "window_days = 0").unwrap() + 1;
        assert!(
            message.starts_with(&format!("policy policies/cn.toml:{line}:1 (built-in): ")),
            "{message}"
        );
    }

    fn pack(text: &str) -> PolicyPack {
        PolicyPack::parse(text, "test.toml", "test.toml", &Registry).unwrap()
    }

    #[test]
    fn combining_packs_takes_the_highest_severity_and_all_citations() {
        let a = "name = \"a\"\ntitle = \"a\"\n[[legal_basis]]\nid = \"x\"\ncitation = \"X\"\ngist = \"x\"\n[checks.\"privacy.k-anonymity\"]\nseverity = \"low\"\nlegal_bases = [\"x\"]\nk = 5\n";
        let b = a
            .replace("name = \"a\"", "name = \"b\"")
            .replace("\"low\"", "\"high\"")
            .replace("k = 5", "k = 20");
        let policy = EffectivePolicy::combine(vec![pack(a), pack(&b)]);
        let check = policy.check("privacy.k-anonymity").unwrap();
        assert_eq!(check.severity, Severity::High);
        assert_eq!(check.legal_bases.len(), 2);
        let settings: privacy::k_anonymity::Settings =
            policy.settings("privacy.k-anonymity").unwrap();
        assert_eq!(settings.k, 20);
        // The same pack twice counts once: its citations are not repeated.
        let twice = EffectivePolicy::combine(vec![pack(a), pack(a)]);
        assert_eq!(twice.packs.len(), 1);
        assert_eq!(
            twice
                .check("privacy.k-anonymity")
                .unwrap()
                .legal_bases
                .len(),
            1
        );
    }

    #[test]
    fn two_different_packs_with_one_name_are_refused_and_one_pack_twice_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "title = \"Mine\"\nname = \"cn\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("cn-copy.toml"), BUILT_IN[0].1).unwrap();
        let references = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let message =
            EffectivePolicy::load(&references(&["mine.toml", "cn"]), dir.path(), &Registry)
                .unwrap_err()
                .to_string();
        let mine = dir.path().join("mine.toml").display().to_string();
        assert!(
            message.starts_with(&format!("policy {mine}:2:1: pack name `cn` is already the name of policies/cn.toml:5:1 (built-in)")),
            "{message}"
        );
        let policy =
            EffectivePolicy::load(&references(&["cn-copy.toml", "cn"]), dir.path(), &Registry)
                .unwrap();
        assert_eq!(policy.packs.len(), 1);
    }

    /// The built-in packs by name.
    fn built_in(names: &[&str]) -> Vec<PolicyPack> {
        PolicyPack::built_in(&Registry)
            .into_iter()
            .filter(|p| names.contains(&p.name.as_str()))
            .collect()
    }

    #[test]
    fn graces_in_days_and_business_days_merge_to_the_earliest_deadline() {
        let opt_out = |packs: Vec<PolicyPack>| -> mail::after_opt_out::Settings {
            EffectivePolicy::combine(packs)
                .settings(mail::after_opt_out::INFO.id)
                .unwrap()
        };
        let grace = |line: &str| {
            pack(&format!(
                "name = \"g{}\"\ntitle = \"g\"\n[checks.\"mail.after-opt-out\"]\n{line}\n",
                line.len()
            ))
        };
        // cn gives 0 calendar days, us 10 business days: the opt-out applies at once.
        let cn_us = opt_out(built_in(&["cn", "us"]));
        assert_eq!((cn_us.grace_days, cn_us.grace_business_days), (0, 0));
        // 5 calendar days end before 10 business days.
        let mixed = opt_out(vec![built_in(&["us"]).remove(0), grace("grace_days = 5")]);
        assert_eq!((mixed.grace_days, mixed.grace_business_days), (5, 0));
        // Business days against business days: the shorter.
        let business = opt_out(vec![
            built_in(&["us"]).remove(0),
            grace("grace_business_days = 3"),
        ]);
        assert_eq!((business.grace_days, business.grace_business_days), (0, 3));
    }

    #[test]
    fn quiet_hours_merge_to_the_longer_window_and_the_first_zone_by_name() {
        let quiet = |name: &str, zone: &str, window: &str| {
            pack(&format!(
                "name = \"{name}\"\ntitle = \"q\"\n[checks.\"mail.quiet-hours\"]\ntimezone = \"{zone}\"\nquiet = {{ sms = {window} }}\n"
            ))
        };
        let nested = quiet("a", "Europe/Paris", "[\"22:00\", \"7:00\"]");
        let wider = quiet("b", "America/New_York", "[\"21:00\", \"08:00\"]");
        let same_length = quiet("c", "Asia/Shanghai", "[\"20:00\", \"07:00\"]");
        for packs in [
            vec![nested.clone(), wider.clone()],
            vec![wider.clone(), nested.clone()],
        ] {
            let merged: mail::quiet_hours::Settings = EffectivePolicy::combine(packs)
                .settings(mail::quiet_hours::INFO.id)
                .unwrap();
            assert_eq!(merged.timezone, "America/New_York");
            assert_eq!(merged.quiet["sms"], ["21:00", "08:00"]);
        }
        // Two 11-hour windows: the earlier start, written HH:MM.
        let merged: mail::quiet_hours::Settings =
            EffectivePolicy::combine(vec![wider, same_length])
                .settings(mail::quiet_hours::INFO.id)
                .unwrap();
        assert_eq!(merged.quiet["sms"], ["20:00", "07:00"]);
    }

    #[test]
    fn tenure_cohorts_broaden_but_never_overlap() {
        let tenure = |name: &str, old: i64, new: i64| {
            pack(&format!(
                "name = \"{name}\"\ntitle = \"t\"\n[checks.\"pricing.simulated-disparity\"]\nold_tenure_days = {old}\nnew_tenure_days = {new}\n"
            ))
        };
        let merged: pricing::simulated_disparity::Settings =
            EffectivePolicy::combine(vec![tenure("a", 100, 90), tenure("b", 80, 10)])
                .settings(pricing::simulated_disparity::ID)
                .unwrap();
        assert_eq!((merged.old_tenure_days, merged.new_tenure_days), (80, 80));
    }
}
