#![doc = include_str!("expired.md")]

use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "waiver.expired",
    "waiver",
    "Waiver expired",
    "豁免已过期",
    Severity::Medium,
    "expired.md",
    NoSettings
);
