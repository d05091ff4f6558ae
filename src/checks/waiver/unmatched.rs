#![doc = include_str!("unmatched.md")]

use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "waiver.unmatched",
    "waiver",
    "Waiver matches no finding",
    Severity::Low,
    "unmatched.md",
    NoSettings
);
