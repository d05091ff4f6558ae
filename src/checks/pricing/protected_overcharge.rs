//! `pricing.protected-overcharge`: see `protected_overcharge.md`.

use super::observed::{NEEDS, Settings, overcharge};
use crate::derived::cohorts::CohortKind;
use crate::findings::Severity;

check_info!(
    INFO,
    "pricing.protected-overcharge",
    "pricing",
    "Protected groups offered different prices",
    "受保护群体被报不同价格",
    Severity::Critical,
    "protected_overcharge.md",
    Settings
);

check!(
    ProtectedOvercharge,
    INFO,
    needs: NEEDS,
    run: |cx, check| overcharge(cx, &INFO, check, CohortKind::Protected).await
);
