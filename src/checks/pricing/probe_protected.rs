//! `pricing.probe-protected`: see `probe_protected.md`.

use super::probe::{NEEDS, Settings, run};
use crate::derived::cohorts::CohortKind;
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.probe-protected",
    "pricing",
    "Protected-group twins quoted different prices by the pricing service",
    "定价服务向受保护群体孪生画像报不同价格",
    Severity::Critical,
    "probe_protected.md",
    Settings
);

check!(
    ProbeProtected,
    INFO,
    needs: NEEDS,
    run: |cx, check| run(cx, &INFO, check, CohortKind::Protected)
);
