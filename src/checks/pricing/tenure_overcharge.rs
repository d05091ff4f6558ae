//! `pricing.tenure-overcharge`: see `tenure_overcharge.md`.

use super::observed::{NEEDS, Settings, overcharge};
use crate::derived::cohorts::CohortKind;
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.tenure-overcharge",
    "pricing",
    "Long-tenure customers offered higher prices",
    "老客户被报更高价格（大数据杀熟）",
    Severity::High,
    "tenure_overcharge.md",
    Settings
);

check!(
    TenureOvercharge,
    INFO,
    needs: NEEDS,
    run: |cx, check| overcharge(cx, &INFO, check, CohortKind::Tenure).await
);
