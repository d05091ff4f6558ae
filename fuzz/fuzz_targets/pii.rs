//! The PII recognizers and the error-path redactor: never a panic, spans are in bounds and on
//! character boundaries, and masking is complete: nothing the recognizers flag survives
//! `mask_spans`, `error::redact` or `error::for_terminal`.
#![no_main]

use fairmark::error::{for_terminal, redact};
use fairmark::pii::{find_spans, kind_mask, mask_spans};
use libfuzzer_sys::fuzz_target;

/// What fairmark's error path puts in place of an identifier.
const REPLACEMENT: &str = "<redacted>";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for span in find_spans(text) {
        assert!(
            span.start < span.end && text.get(span.start..span.end).is_some(),
            "{span:?} is not a span of {text:?}"
        );
    }
    let _ = kind_mask(text);
    for (step, masked) in [
        ("mask_spans", mask_spans(text, REPLACEMENT)),
        ("redact", redact(text)),
        ("for_terminal", for_terminal(text)),
    ] {
        let left = find_spans(&masked);
        assert!(
            left.is_empty(),
            "{step} of {text:?} gives {masked:?}, in which {left:?} are still flagged"
        );
    }
});
