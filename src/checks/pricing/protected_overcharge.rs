//! `pricing.protected-overcharge`: see `protected_overcharge.md`.

use futures::future::BoxFuture;

use super::cohorts::CohortKind;
use super::observed::{NEEDS, Settings, overcharge};
use crate::checks::{Check, CheckInfo, Context, Need, Outcome};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::EffectiveCheck;

check_info!(
    INFO,
    "pricing.protected-overcharge",
    "pricing",
    "Protected groups offered different prices",
    Severity::Critical,
    "protected_overcharge.md",
    Settings
);

pub struct ProtectedOvercharge;

impl Check for ProtectedOvercharge {
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
        Box::pin(overcharge(cx, &INFO, check, CohortKind::Protected))
    }
}
