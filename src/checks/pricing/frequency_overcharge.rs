#![doc = include_str!("frequency_overcharge.md")]

use super::observed::{NEEDS, Settings, overcharge};
use crate::derived::cohorts::{CohortKind, FREQUENCY_CHECK};
use crate::findings::Severity;

check_info!(
    INFO,
    FREQUENCY_CHECK,
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
