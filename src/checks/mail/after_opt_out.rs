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

#[cfg(test)]
mod tests {
    use super::super::test_log::{Consent, Flagged, Message, flagged};
    use super::*;

    #[tokio::test]
    async fn a_send_from_the_instant_of_the_opt_out_on_is_flagged() {
        // The cn pack gives no grace: the opt-out holds from its own instant.
        let opt_out_at = "2026-03-02T10:00:00";
        let before = Message::email(1, "spring", "2026-03-02T09:59:59");
        let at_the_instant = Message::email(1, "spring", opt_out_at);
        let a_day_later = Message::email(1, "summer", "2026-03-03T10:00:00");
        let consents = [
            Consent::opt_in(&before, "2026-01-05T09:00:00"),
            Consent::opt_out(&before, opt_out_at),
        ];
        let sends = [before, at_the_instant, a_day_later];
        assert_eq!(
            flagged(&AfterOptOut, &sends, &consents).await,
            [
                Flagged::new(
                    Severity::Critical,
                    "spring",
                    "email",
                    "In campaign `spring` (email), 1 of its 2 messages were sent after the recipient opted out (50.0%), to 1 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
                ),
                Flagged::new(
                    Severity::Critical,
                    "summer",
                    "email",
                    "In campaign `summer` (email), 1 of its 1 messages were sent after the recipient opted out (100.0%), to 1 recipients, between 2026-03-03T10:00:00 and 2026-03-03T10:00:00."
                ),
            ]
        );
    }
}
