//! `RulesFile::parse` on arbitrary text, against a fixed set of known attributes: never a panic,
//! and every rule that loads prints SQL for its condition and its price adjustment.
#![no_main]

use fairmark::pricing::rules::RulesFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RulesFile::parse(text, "rules.toml", &fairmark_fuzz::KNOWN_ATTRIBUTES) {
        Ok(file) => {
            for rule in &file.rules {
                let condition = rule.condition.to_sql();
                let _ = rule.adjust.apply_sql("price", &condition);
                let _ = rule.adjust.describe();
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
