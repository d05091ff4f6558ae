#![doc = include_str!("missing_sender_id.md")]

use super::{per_campaign, sends_map};
use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "mail.missing-sender-id",
    "mail",
    "Sender not identified",
    "未标明发送者身份",
    Severity::Medium,
    "missing_sender_id.md",
    NoSettings
);

check!(
    MissingSenderId,
    INFO,
    needs: &[Need::Table(Table::JudgedSends)],
    run: |cx, check| {
        if !sends_map(cx, |s| s.sender_id.is_some()) {
            return Ok(Outcome::Skipped("the sends map no sender_id".into()));
        }
        let predicate = "(sender_id IS NULL OR trim(sender_id) = '')";
        let what = "messages do not identify the sender";
        per_campaign(cx, &INFO, check, predicate, what).await
    }
);

#[cfg(test)]
mod tests {
    use super::super::test_log::{Consent, Flagged, Message, flagged};
    use super::*;

    #[tokio::test]
    async fn a_send_with_an_empty_or_blank_sender_is_flagged() {
        let at = "2026-03-02T10:00:00";
        let named = Message::email(1, "spring", at);
        let sends = [
            Message {
                sender_id: "",
                ..Message::email(2, "spring", at)
            },
            Message {
                sender_id: "   ",
                ..Message::email(3, "spring", at)
            },
            // The near miss: any name at all identifies the sender, however short.
            Message {
                sender_id: "X",
                ..Message::email(4, "spring", at)
            },
            named.clone(),
        ];
        let consents = [Consent::opt_in(&named, "2026-01-05T09:00:00")];
        assert_eq!(
            flagged(&MissingSenderId, &sends, &consents).await,
            [Flagged::new(
                Severity::Medium,
                "spring",
                "email",
                "In campaign `spring` (email), 2 of its 4 messages do not identify the sender (50.0%), to 2 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
            )]
        );
    }
}
