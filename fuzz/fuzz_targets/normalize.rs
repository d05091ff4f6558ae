//! Identifier normalization for every kind: never a panic, and a fixed point, so that a value
//! and its normalized form get one token (`normalize(normalize(x)) == normalize(x)`).
#![no_main]

use fairmark::pseudonym::IdentifierClass;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for class in IdentifierClass::ALL {
        if let Some(normalized) = class.normalize(raw) {
            assert_eq!(
                class.normalize(&normalized).as_deref(),
                Some(normalized.as_str()),
                "{class:?}: {raw:?} normalizes to {normalized:?}, which normalizes differently"
            );
        }
    }
});
