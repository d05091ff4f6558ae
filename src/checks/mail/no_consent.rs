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

#[cfg(test)]
mod tests {
    use super::super::test_log::{Consent, Flagged, Message, flagged};
    use super::*;

    #[tokio::test]
    async fn a_send_without_an_opt_in_on_its_channel_is_flagged() {
        let at = "2026-03-02T10:00:00";
        let opted_in = Message::email(1, "spring", at);
        // An opt-in at the send's own instant is in force for it: the near miss.
        let opted_in_as_sent = Message::email(2, "spring", at);
        let never_asked = Message::email(3, "spring", at);
        // Opted in to e-mail only: a text needs its own opt-in.
        let texted = Message::sms(4, "spring", at);
        let consents = [
            Consent::opt_in(&opted_in, "2026-01-05T09:00:00"),
            Consent::opt_in(&opted_in_as_sent, at),
            Consent::opt_in(&Message::email(4, "spring", at), "2026-01-05T09:00:00"),
        ];
        let sends = [opted_in, opted_in_as_sent, never_asked, texted];
        assert_eq!(
            flagged(&NoConsent, &sends, &consents).await,
            [
                Flagged::new(
                    Severity::High,
                    "spring",
                    "email",
                    "In campaign `spring` (email), 1 of its 3 messages were sent without consent on record (33.3%), to 1 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
                ),
                Flagged::new(
                    Severity::High,
                    "spring",
                    "sms",
                    "In campaign `spring` (sms), 1 of its 1 messages were sent without consent on record (100.0%), to 1 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
                ),
            ]
        );
    }
}
