//! What an error about a configuration file may say. A config file is where credentials get
//! pasted by mistake (a key where its source belongs, a token in the wrong field), so an error
//! names the file, line, column and key and says what was expected, never the text found.
//!
//! The `toml` crate's messages quote what they found (`invalid type: string "…", expected
//! …`, `unknown variant `…``) and its `Display` adds the offending source line; both are
//! rebuilt here from the error's span, its key path and the kind of what was found.

use std::path::Path;

use crate::error::Error;

/// What a person is told to write instead of a key.
pub const GIVE_THE_KEYS_SOURCE: &str = "this looks like a key; give its source (`key = { env = \"VAR\" }` or `{ file = \"path\" }`), never the key itself";

/// Whether `text` reads as key material rather than a name a person wrote: 32 or more hex
/// digits, or 20 or more characters of the base64 alphabets whose letters and digits change
/// class (lower, upper, digit) as random text does. Words change class rarely
/// (`FAIRMARK_KEY_2024`, `prodKey`, `secrets/fairmark`); a random base64 string does so at
/// about every other character, so a quarter is far from both.
pub fn looks_like_key(text: &str) -> bool {
    let text = text.trim();
    if text.len() >= 32 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return true;
    }
    if text.len() < 20
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c))
    {
        return false;
    }
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Lower,
        Upper,
        Digit,
        Other,
    }
    let class = |c: char| match c {
        'a'..='z' => Class::Lower,
        'A'..='Z' => Class::Upper,
        '0'..='9' => Class::Digit,
        _ => Class::Other,
    };
    let changes = text
        .chars()
        .zip(text.chars().skip(1))
        .map(|(a, b)| (class(a), class(b)))
        .filter(|&(a, b)| {
            // A capital starting a word (`Key`) is how names are written, not a change.
            a != b
                && a != Class::Other
                && b != Class::Other
                && (a, b) != (Class::Upper, Class::Lower)
        })
        .count();
    changes * 4 >= text.len()
}

/// Whether a name written in the config (a key, a column, a rule id, a variable or file name)
/// may be repeated in an error: one line, at most 64 characters, nothing key-shaped and
/// nothing the PII recognizers know.
pub fn shown(name: &str) -> bool {
    name.chars().count() <= 64
        && !name.chars().any(char::is_control)
        && !looks_like_key(name)
        && crate::pii::kind_mask(name) == 0
}

/// Whether a path written in the config may be repeated in an error: each of its parts may
/// (a long absolute path is still a path a person wrote).
pub fn shown_path(path: &str) -> bool {
    path.split(['/', '\\'])
        .all(|part| part.is_empty() || shown(part))
}

/// `path` as it is when it may be shown, else `instead`.
pub fn path_or(path: &Path, instead: &str) -> String {
    let path = path.display().to_string();
    match shown_path(&path) {
        true => path,
        false => instead.to_string(),
    }
}

/// `name` in backquotes when it may be shown, else `instead` (e.g. "a key not shown").
pub fn quoted_or(name: &str, instead: &str) -> String {
    match shown(name) {
        true => format!("`{name}`"),
        false => instead.to_string(),
    }
}

/// `name` as it is when it may be shown, else `instead`.
pub fn shown_or(name: &str, instead: &str) -> String {
    match shown(name) {
        true => name.to_string(),
        false => instead.to_string(),
    }
}

/// A dataset's `path` as errors name it: as written, unless it may not be shown.
pub fn dataset_path(path: &str) -> String {
    path_or(Path::new(path), "the path given")
}

/// How an error names a file the config names under `key`: by its path when that may be
/// shown, else as the config's key (`fairmark.toml: `waivers``), so that a key pasted where a
/// path belongs is not echoed.
pub fn named_file(path: &Path, config_file: &str, key: &str) -> String {
    path_or(path, &format!("{config_file}: `{key}`"))
}

/// One line about `error` in `text`: `file:line:column: `key.path`: what is wrong`.
pub fn toml_error(file: &str, text: &str, error: &toml::de::Error) -> Error {
    let at = match error.span() {
        Some(span) => {
            let (line, column) = line_and_column(text, span.start);
            format!("{file}:{line}:{column}")
        }
        None => file.to_string(),
    };
    Error::config(at, toml_message(error))
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The key path of `error` (when it may be shown) and what is wrong, without the text found.
pub fn toml_message(error: &toml::de::Error) -> String {
    let problem = toml_problem(error.message());
    match key_path(error) {
        Some(path) => format!("`{path}`: {problem}"),
        None => problem,
    }
}

/// The dotted key path the error is under, `None` when it has none or a step may not be
/// shown. `toml` keeps the path private and prints it only when it has no source text to
/// quote, so it is read from that rendering.
fn key_path(error: &toml::de::Error) -> Option<String> {
    let mut bare = error.clone();
    bare.set_input(None);
    let rendered = bare.to_string();
    let path = rendered
        .lines()
        .last()?
        .strip_prefix("in `")?
        .strip_suffix('`')?;
    path.split('.').all(shown).then(|| path.to_string())
}

/// What is wrong, from the message of a `toml` or serde error, in words that never hold the
/// text found. serde quotes what it found (`invalid type: string "…", expected …`,
/// `unknown variant `…`, expected …`, `unknown field `…`, …`); those are rebuilt from what
/// was expected and the kind of what was found. Every other message (syntax errors, missing
/// fields, fairmark's own refusals) says nothing found.
pub fn toml_problem(message: &str) -> String {
    let message = message.replace('\n', " ");
    let found_and_expected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some(rest) = found_and_expected {
        // serde writes what it expected after what it found, and found text is Debug-quoted,
        // so the last ", expected " is the separator.
        let (found, expected) = rest
            .rsplit_once(", expected ")
            .unwrap_or((rest, "another value"));
        if let Some(text) = found.strip_prefix("string ")
            && looks_like_key(text.trim_matches('"'))
        {
            return GIVE_THE_KEYS_SOURCE.to_string();
        }
        return format!(
            "expected {}, found {}",
            expected_kind(expected),
            found_kind(found)
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return match rest.rsplit_once(", expected ") {
            Some((_, expected)) => format!("not a value this key takes; expected {expected}"),
            None => "not a value this key takes".to_string(),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest
            .rsplit_once("`, expected ")
            .map(|(field, expected)| (field, format!("; expected {expected}")))
            .or_else(|| {
                rest.rsplit_once("`, there are no fields")
                    .map(|(field, _)| (field, "; this table takes no keys".to_string()))
            })
            .unwrap_or((rest.trim_end_matches('`'), String::new()));
        let field = quoted_or(field, "(its name is not shown)");
        return format!("unknown field {field}{expected}");
    }
    if let Some(rest) = message.strip_prefix("unexpected keys in table: ") {
        let available = rest
            .rsplit_once(", available keys: ")
            .map(|(_, keys)| format!("; available keys: {keys}"))
            .unwrap_or_default();
        return format!("unknown keys{available}");
    }
    message
}

/// serde's name for an expected type, as a config author would say it.
fn expected_kind(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a string" => "text (a quoted string)".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        other if other.starts_with("struct ") => "a table".to_string(),
        other => other.to_string(),
    }
}

/// The kind of serde's description of what it found (`string "…"`, `integer `5``,
/// `sequence`), never the value itself.
fn found_kind(found: &str) -> &'static str {
    let kind = found.split(['"', '`']).next().unwrap_or("").trim();
    match kind {
        "string" | "character" => "text",
        "integer" => "a whole number",
        "floating point" => "a number",
        "boolean" => "a boolean",
        "sequence" => "an array",
        "map" => "a table",
        _ => "another kind of value",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const HEX_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn keys_look_like_keys_and_names_do_not() {
        for key in [
            HEX_KEY,
            "9F86D081884C7D659A2FEAA0C55AD015",
            "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
            "Zx9_kP2-qR7vT1wY3mN5bC8dF0gH4jL6",
        ] {
            assert!(looks_like_key(key), "{key}");
        }
        for name in [
            "FAIRMARK_KEY",
            "FAIRMARK_PSEUDONYM_KEY_PRODUCTION_2024",
            "secrets/fairmark.key",
            "/etc/fairmark/pseudonym-key",
            "../../shared/keys/fairmarkProductionKey",
            "customer_registered_at",
            "deadbeef",
        ] {
            assert!(!looks_like_key(name), "{name}");
        }
    }

    #[test]
    fn found_values_are_dropped_and_keys_get_their_own_message() {
        let cases = [
            (
                format!("invalid type: string \"{HEX_KEY}\", expected a table"),
                GIVE_THE_KEYS_SOURCE.to_string(),
            ),
            (
                "invalid type: string \"hunter2, expected nothing\", expected u32".to_string(),
                "expected a whole number, 0 or more, found text".to_string(),
            ),
            (
                "invalid type: integer `5`, expected a string".to_string(),
                "expected text (a quoted string), found a whole number".to_string(),
            ),
            (
                "unknown variant `hunter2`, expected one of `phone`, `email`".to_string(),
                "not a value this key takes; expected one of `phone`, `email`".to_string(),
            ),
            (
                format!("unknown field `{HEX_KEY}`, expected `env` or `file`"),
                "unknown field (its name is not shown); expected `env` or `file`".to_string(),
            ),
            (
                "unknown field `ammount`, expected one of `path`, `amount`".to_string(),
                "unknown field `ammount`; expected one of `path`, `amount`".to_string(),
            ),
            (
                "unexpected keys in table: hunter2, available keys: env, file".to_string(),
                "unknown keys; available keys: env, file".to_string(),
            ),
        ];
        for (message, said) in cases {
            assert_eq!(toml_problem(&message), said, "{message}");
        }
    }

    #[test]
    fn a_toml_error_names_file_line_column_and_key_and_not_the_value() {
        let text = "[table]\nretries = \"sk_live_hunter2\"\n";
        let error = toml::from_str::<BTreeMap<String, BTreeMap<String, u32>>>(text).unwrap_err();
        let said = toml_error("f.toml", text, &error).to_string();
        assert_eq!(
            said,
            "f.toml:2:11: `table.retries`: expected a whole number, 0 or more, found text"
        );
    }
}
