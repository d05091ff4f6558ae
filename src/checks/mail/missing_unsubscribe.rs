#![doc = include_str!("missing_unsubscribe.md")]

use serde::Deserialize;

use super::{per_campaign_from, sends_map, with_campaign_size};
use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::{Strictest, Validate, within};

check_info!(
    INFO,
    "mail.missing-unsubscribe",
    "mail",
    "No way to unsubscribe",
    "未提供退订方式",
    Severity::High,
    "missing_unsubscribe.md",
    Settings
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub one_click_min_messages: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            one_click_min_messages: 5000,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        Settings {
            one_click_min_messages: self
                .one_click_min_messages
                .min(other.one_click_min_messages),
        }
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), String> {
        within("one_click_min_messages", self.one_click_min_messages, 1..)
    }
}

check!(
    MissingUnsubscribe,
    INFO,
    needs: &[Need::Table(Table::JudgedSends)],
    run: |cx, check| {
        if !sends_map(cx, |s| {
            s.has_unsubscribe.is_some() || s.one_click_unsubscribe.is_some()
        }) {
            return Ok(Outcome::Skipped(
                "the sends map neither has_unsubscribe nor one_click_unsubscribe".into(),
            ));
        }
        let unsubscribe: Settings = cx.policy.settings(INFO.id)?;
        let predicate = format!(
            "(has_unsubscribe = false OR (channel = 'email' AND one_click_unsubscribe = false AND campaign_messages >= {}))",
            unsubscribe.one_click_min_messages
        );
        let what = "messages offer no (one-click) way to unsubscribe";
        let judged = cx.table(Table::JudgedSends).await?;
        let from = with_campaign_size(judged);
        per_campaign_from(cx, &INFO, check, &from, &predicate, what).await
    }
);

#[cfg(test)]
mod tests {
    use super::super::test_log::{Consent, Flagged, Message, flagged};
    use super::*;

    #[tokio::test]
    async fn no_unsubscribe_or_no_one_click_in_a_bulk_e_mail_campaign_is_flagged() {
        let at = "2026-03-02T10:00:00";
        let without_one_click = |n, campaign| Message {
            one_click_unsubscribe: false,
            ..Message::email(n, campaign, at)
        };
        // The cn pack asks one-click from campaigns of 5,000 e-mails: one at the threshold,
        // one a message below it (the near miss).
        let mut sends: Vec<Message> = (0..5000).map(|n| without_one_click(n, "bulk")).collect();
        sends.extend((5000..9999).map(|n| without_one_click(n, "below-bulk")));
        // A text without any way to unsubscribe, and one with a way but no one-click (which
        // only e-mail has).
        sends.push(Message {
            has_unsubscribe: false,
            ..Message::sms(1, "texts", at)
        });
        sends.push(Message {
            one_click_unsubscribe: false,
            ..Message::sms(2, "texts", at)
        });
        let consents = [Consent::opt_in(&sends[0], "2026-01-05T09:00:00")];
        assert_eq!(
            flagged(&MissingUnsubscribe, &sends, &consents).await,
            [
                Flagged::new(
                    Severity::High,
                    "bulk",
                    "email",
                    "In campaign `bulk` (email), 5000 of its 5000 messages offer no (one-click) way to unsubscribe (100.0%), to 5000 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
                ),
                Flagged::new(
                    Severity::High,
                    "texts",
                    "sms",
                    "In campaign `texts` (sms), 1 of its 2 messages offer no (one-click) way to unsubscribe (50.0%), to 1 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
                ),
            ]
        );
    }
}
