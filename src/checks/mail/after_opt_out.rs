#![doc = include_str!("after_opt_out.md")]

use super::consent::without_consent_in;
use super::{CONSENT_NEEDS, per_campaign};
use crate::findings::Severity;

pub use super::consent::{AFTER_OPT_OUT, OptOutGrace as Settings};

check_info!(
    INFO,
    AFTER_OPT_OUT,
    "mail",
    "Marketing sent after an opt-out",
    "退订后仍发送营销信息",
    Severity::Critical,
    "after_opt_out.md",
    Settings
);

check!(
    AfterOptOut,
    INFO,
    needs: CONSENT_NEEDS,
    run: |cx, check| {
        let (_, after_opt_out) = without_consent_in(cx.policy)?;
        let what = "messages were sent after the recipient opted out";
        per_campaign(cx, &INFO, check, &after_opt_out, what).await
    }
);
