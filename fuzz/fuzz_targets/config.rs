//! `Config::parse` on arbitrary text: it returns a config or an error, never panics, and the
//! error can be printed (its position is computed from the same text).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = fairmark::config::Config::parse(text, "fuzz.toml") {
        let _ = error.to_string();
    }
});
