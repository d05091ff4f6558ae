#![doc = include_str!("frequency_overcharge.md")]

use super::cohorts::CohortKind;
use super::observed::{NEEDS, Settings, overcharge};
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.frequency-overcharge",
    "pricing",
    "Frequent buyers offered higher prices",
    "高频购买客户被报更高价格（按购买频次差别定价）",
    Severity::High,
    "frequency_overcharge.md",
    Settings
);

check!(
    FrequencyOvercharge,
    INFO,
    needs: NEEDS,
    run: |cx, check| overcharge(cx, &INFO, check, CohortKind::Frequency).await
);
