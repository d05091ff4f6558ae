//! `pricing.device-overcharge`: see `device_overcharge.md`.

use super::observed::{NEEDS, Settings, overcharge};
use crate::derived::cohorts::CohortKind;
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.device-overcharge",
    "pricing",
    "iOS customers offered higher prices",
    "iOS 用户被报更高价格",
    Severity::High,
    "device_overcharge.md",
    Settings
);

check!(
    DeviceOvercharge,
    INFO,
    needs: NEEDS,
    run: |cx, check| overcharge(cx, &INFO, check, CohortKind::Device).await
);
