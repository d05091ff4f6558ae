#![doc = include_str!("unmatched.md")]

use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "waiver.unmatched",
    "waiver",
    "Waiver matches no finding",
    "豁免未匹配任何发现",
    Severity::Low,
    "unmatched.md",
    NoSettings
);
