//! `pricing.tenure-overcharge`: see `tenure_overcharge.md`.

use futures::future::BoxFuture;

use super::cohorts::CohortKind;
use super::observed::{NEEDS, Settings, overcharge};
use crate::checks::{Check, CheckInfo, Context, Need, Outcome};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::EffectiveCheck;

check_info!(
    INFO,
    "pricing.tenure-overcharge",
    "pricing",
    "Long-tenure customers offered higher prices",
    Severity::High,
    "tenure_overcharge.md",
    Settings
);

pub struct TenureOvercharge;

impl Check for TenureOvercharge {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn needs(&self) -> &'static [Need] {
        NEEDS
    }

    fn run<'a>(
        &'a self,
        cx: &'a Context<'a>,
        check: &'a EffectiveCheck,
    ) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(overcharge(cx, &INFO, check, CohortKind::Tenure))
    }
}
