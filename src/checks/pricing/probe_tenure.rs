//! `pricing.probe-tenure`: see `probe_tenure.md`.

use super::probe::{NEEDS, Settings, run};
use crate::derived::cohorts::CohortKind;
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.probe-tenure",
    "pricing",
    "Long-tenure twins quoted higher prices by the pricing service",
    "定价服务向老客户孪生画像报更高价格（大数据杀熟）",
    Severity::High,
    "probe_tenure.md",
    Settings
);

check!(
    ProbeTenure,
    INFO,
    needs: NEEDS,
    run: |cx, check| run(cx, &INFO, check, CohortKind::Tenure)
);
