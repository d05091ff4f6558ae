#![doc = include_str!("expired.md")]

use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "waiver.expired",
    "waiver",
    "Waiver expired",
    Severity::Medium,
    "expired.md",
    NoSettings
);
