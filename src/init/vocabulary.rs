//! The words `fairmark init` reads column names and small vocabularies by: what a column's
//! name says it holds, and which sets of values are channels, consent actions, genders, device
//! operating systems or flags.

use std::collections::BTreeSet;

use crate::pseudonym::IdentifierClass;

/// A column name as lower-case words: `list_unit_price` and `listUnitPrice` are `list`,
/// `unit`, `price`.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut word));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    words.push(word);
    words.retain(|w| !w.is_empty());
    words
}

/// Whether the name has one of `hints` as a word.
pub fn named(name: &str, hints: &[&str]) -> bool {
    name_words(name).iter().any(|w| hints.contains(&w.as_str()))
}

/// Whether the name has every one of `words`.
pub fn named_all(name: &str, words: &[&str]) -> bool {
    let found = name_words(name);
    words.iter().all(|w| found.iter().any(|f| f == w))
}

/// A consent action word, spaces and hyphens read as underscores: `opt-in`, `Opt In`, `opt_in`.
fn action_key(word: &str) -> String {
    word.trim().to_lowercase().replace([' ', '-'], "_")
}

const OPT_IN_WORDS: [&str; 16] = [
    "subscribe",
    "subscribed",
    "resubscribe",
    "opt_in",
    "optin",
    "opted_in",
    "consent",
    "consented",
    "grant",
    "granted",
    "accept",
    "accepted",
    "agree",
    "agreed",
    "start",
    "unstop",
];
const OPT_OUT_WORDS: [&str; 22] = [
    "unsubscribe",
    "unsubscribed",
    "opt_out",
    "optout",
    "opted_out",
    "withdraw",
    "withdrawn",
    "revoke",
    "revoked",
    "deny",
    "denied",
    "decline",
    "declined",
    "refuse",
    "refused",
    "reject",
    "rejected",
    "stop",
    // 退订: what Chinese SMS recipients reply to unsubscribe.
    "td",
    "cancel",
    "cancelled",
    "quit",
];

/// The spellings written beside those seen, so that rows past the sample spelled the usual way
/// are read too (the audit refuses an action value mapped to neither side).
pub const USUAL_OPT_IN: [&str; 2] = ["subscribe", "opt_in"];
pub const USUAL_OPT_OUT: [&str; 4] = ["unsubscribe", "opt_out", "STOP", "TD"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OptIn,
    OptOut,
}

pub fn action_of(word: &str) -> Option<Action> {
    let key = action_key(word);
    if OPT_IN_WORDS.contains(&key.as_str()) {
        Some(Action::OptIn)
    } else if OPT_OUT_WORDS.contains(&key.as_str()) {
        Some(Action::OptOut)
    } else {
        None
    }
}

/// Whether every word is a channel fairmark knows (`email`, `sms`, `push`, in any case).
pub fn all_channels(words: &BTreeSet<String>) -> bool {
    !words.is_empty()
        && words
            .iter()
            .all(|w| IdentifierClass::of_channel(w).is_some())
}

const GENDER_WORDS: [&str; 16] = [
    "f", "m", "female", "male", "w", "woman", "man", "women", "men", "男", "女", "other",
    "unknown", "u", "x", "未知",
];

/// Whether the words read as genders: at least two, every one a gender word.
pub fn all_genders(words: &BTreeSet<String>) -> bool {
    words.len() >= 2 && words.iter().all(|w| GENDER_WORDS.contains(&w.as_str()))
}

const OS_WORDS: [&str; 12] = [
    "ios",
    "android",
    "harmonyos",
    "harmony",
    "ipados",
    "windows",
    "macos",
    "mac",
    "linux",
    "web",
    "other",
    "unknown",
];

/// Whether the words read as device operating systems: at least two named systems, and
/// nothing else.
pub fn all_operating_systems(words: &BTreeSet<String>) -> bool {
    let named = words
        .iter()
        .filter(|w| !matches!(w.as_str(), "other" | "unknown"))
        .count();
    named >= 2 && words.iter().all(|w| OS_WORDS.contains(&w.as_str()))
}

/// The words the audit reads a text flag with (`mail` compares them lower-cased).
const FLAG_WORDS: [&str; 10] = ["true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"];

pub fn all_flags(words: &BTreeSet<String>) -> bool {
    !words.is_empty() && words.iter().all(|w| FLAG_WORDS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn names_split_into_words() {
        assert_eq!(name_words("list_unit_price"), ["list", "unit", "price"]);
        assert_eq!(name_words("listUnitPrice"), ["list", "unit", "price"]);
        assert_eq!(name_words("has-unsub"), ["has", "unsub"]);
        assert!(named("ordered_at", &["at"]) && !named("ordered_at", &["order"]));
        assert!(named_all("list_unsubscribe_post", &["unsubscribe", "post"]));
    }

    #[test]
    fn vocabularies_are_read_whole() {
        assert_eq!(action_of("Opt-In"), Some(Action::OptIn));
        assert_eq!(action_of("TD"), Some(Action::OptOut));
        assert_eq!(action_of("bounce"), None);
        assert!(all_channels(&set(&["email", "SMS"])));
        assert!(!all_channels(&set(&["email", "web"])));
        assert!(all_genders(&set(&["f", "m"])) && !all_genders(&set(&["m"])));
        assert!(all_operating_systems(&set(&[
            "ios",
            "android",
            "harmonyos"
        ])));
        assert!(!all_operating_systems(&set(&["web", "app"])));
        assert!(all_flags(&set(&["yes", "no"])) && !all_flags(&set(&["yes", "maybe"])));
    }
}
