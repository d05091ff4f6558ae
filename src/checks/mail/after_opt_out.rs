#![doc = include_str!("after_opt_out.md")]

use serde::Deserialize;

use super::{CONSENT_NEEDS, per_campaign, without_consent_in};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::{Strictest, Validate, within};

check_info!(
    INFO,
    "mail.after-opt-out",
    "mail",
    "Marketing sent after an opt-out",
    "退订后仍发送营销信息",
    Severity::Critical,
    "after_opt_out.md",
    Settings
);

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub grace_days: i64,
    pub grace_business_days: i64,
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        // A pack's grace is in business days when it gives them, else in calendar days. N
        // business days never end before N calendar days, so two business-day graces merge to
        // the shorter, and any calendar-day grace in the mix to the smallest number of either,
        // counted in calendar days: never later than any pack's deadline (possibly a day or two
        // earlier than a business-day pack's alone), and the same in any order.
        let days = |s: &Self| {
            if s.grace_business_days > 0 {
                s.grace_business_days
            } else {
                s.grace_days
            }
        };
        let shortest = days(&self).min(days(&other));
        if self.grace_business_days > 0 && other.grace_business_days > 0 {
            Settings {
                grace_days: 0,
                grace_business_days: shortest,
            }
        } else {
            Settings {
                grace_days: shortest,
                grace_business_days: 0,
            }
        }
    }
}

/// The longest grace a pack may give, in calendar or business days.
const MAX_GRACE_DAYS: i64 = 90;

/// One grace, 0 to 90 days of one kind: when both are set the business days would silently
/// win.
impl Validate for Settings {
    fn validate(&self) -> Result<(), String> {
        within("grace_days", self.grace_days, 0..=MAX_GRACE_DAYS)?;
        within(
            "grace_business_days",
            self.grace_business_days,
            0..=MAX_GRACE_DAYS,
        )?;
        if self.grace_days > 0 && self.grace_business_days > 0 {
            return Err(
                "grace_days and grace_business_days are both set; give the grace in one of them"
                    .into(),
            );
        }
        Ok(())
    }
}

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
