#![doc = include_str!("no_consent.md")]

use super::consent::without_consent_in;
use super::{CONSENT_NEEDS, per_campaign};
use crate::findings::Severity;

pub use super::consent::{NO_CONSENT, OptInSettings as Settings};

check_info!(
    INFO,
    NO_CONSENT,
    "mail",
    "Marketing sent without consent",
    "未经同意发送营销信息",
    Severity::High,
    "no_consent.md",
    Settings
);

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
