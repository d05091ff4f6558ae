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
