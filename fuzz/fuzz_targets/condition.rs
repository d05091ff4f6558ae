//! The analyser invariant: what the SQL printed from a condition selects is what the analysed
//! tree selects. `Condition::to_sql` of an accepted condition must parse again, into the same
//! tree (positions aside). The same text as a rule's `when` also goes through
//! `RulesFile::parse`, which runs the direction analysis on the tree, and must not panic.
#![no_main]

use fairmark::pricing::condition::Condition;
use fairmark::pricing::rules::RulesFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(condition) = Condition::parse(text) {
        let sql = condition.to_sql();
        let again = Condition::parse(&sql).unwrap_or_else(|e| {
            panic!("the SQL printed from {text:?} does not parse again: {sql:?}: {e:?}")
        });
        assert_eq!(
            again.without_positions(),
            condition.without_positions(),
            "{text:?} prints as {sql:?}, which reads as another condition"
        );
    }
    let rules = format!(
        "[[rule]]\nid = \"fuzz\"\nwhen = {}\nadjust = \"+6%\"\n",
        toml::Value::String(text.to_string())
    );
    let known = &fairmark_fuzz::KNOWN_ATTRIBUTES;
    if let Err(error) = RulesFile::parse(&rules, "rules.toml", known) {
        let _ = error.to_string();
    }
});
