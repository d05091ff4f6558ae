//! `pricing.probe-device`: see `probe_device.md`.

use super::probe::{NEEDS, Settings, run};
use crate::derived::cohorts::CohortKind;
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.probe-device",
    "pricing",
    "iOS twins quoted higher prices by the pricing service",
    "定价服务向 iOS 孪生画像报更高价格",
    Severity::High,
    "probe_device.md",
    Settings
);

check!(
    ProbeDevice,
    INFO,
    needs: NEEDS,
    run: |cx, check| run(cx, &INFO, check, CohortKind::Device)
);
