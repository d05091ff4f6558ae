//! `pricing.device-overcharge`: see `device_overcharge.md`.

use futures::future::BoxFuture;

use super::cohorts::CohortKind;
use super::observed::{NEEDS, Settings, overcharge};
use crate::checks::{Check, CheckInfo, Context, Need, Outcome};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::EffectiveCheck;

check_info!(
    INFO,
    "pricing.device-overcharge",
    "pricing",
    "iOS customers offered higher prices",
    Severity::High,
    "device_overcharge.md",
    Settings
);

pub struct DeviceOvercharge;

impl Check for DeviceOvercharge {
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
        Box::pin(overcharge(cx, &INFO, check, CohortKind::Device))
    }
}
