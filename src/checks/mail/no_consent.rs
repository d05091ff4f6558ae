#![doc = include_str!("no_consent.md")]

use serde::Deserialize;

use super::{CONSENT_NEEDS, known_channel, per_campaign, without_consent_in};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::{Strictest, Validate};

check_info!(
    INFO,
    "mail.no-consent",
    "mail",
    "Marketing sent without consent",
    "未经同意发送营销信息",
    Severity::High,
    "no_consent.md",
    Settings
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Channels on which marketing needs a prior opt-in.
    pub opt_in_required: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            opt_in_required: vec!["email".into(), "sms".into(), "push".into()],
        }
    }
}

impl Strictest for Settings {
    fn strictest(mut self, other: Self) -> Self {
        self.opt_in_required.extend(other.opt_in_required);
        self.opt_in_required.sort();
        self.opt_in_required.dedup();
        self
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), String> {
        self.opt_in_required
            .iter()
            .try_for_each(|channel| known_channel("opt_in_required", channel))
    }
}

check!(
    NoConsent,
    INFO,
    needs: CONSENT_NEEDS,
    run: |cx, check| {
        let (no_consent, _) = without_consent_in(cx.policy)?;
        let what = "messages were sent without consent on record";
        per_campaign(cx, &INFO, check, &no_consent, what).await
    }
);
