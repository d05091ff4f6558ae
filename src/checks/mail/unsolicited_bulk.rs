#![doc = include_str!("unsolicited_bulk.md")]

use serde::Deserialize;

use super::consent::without_consent_in;
use super::{CONSENT_NEEDS, campaign_finding, count_by_campaign, violating};
use crate::checks::check::Outcome;
use crate::checks::context::Table;
use crate::error::Result;
use crate::findings::{Severity, share};
use crate::policy::{Strictest, Validate, within};

check_info!(
    INFO,
    "mail.unsolicited-bulk",
    "mail",
    "Campaign without consent (spam)",
    "未经同意的群发营销（垃圾信息）",
    Severity::Critical,
    "unsolicited_bulk.md",
    Settings
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub min_messages: u64,
    pub min_share: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_messages: 100,
            min_share: 0.05,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        Settings {
            min_messages: self.min_messages.min(other.min_messages),
            min_share: self.min_share.min(other.min_share),
        }
    }
}

/// At least one message; a share in [0, 1].
impl Validate for Settings {
    fn validate(&self) -> Result<(), String> {
        within("min_messages", self.min_messages, 1..)?;
        within("min_share", self.min_share, 0.0..=1.0)
    }
}

check!(
    UnsolicitedBulk,
    INFO,
    needs: CONSENT_NEEDS,
    run: |cx, check| {
        let bulk: Settings = cx.policy.settings(INFO.id)?;
        let (no_consent, after_opt_out) = without_consent_in(cx.policy)?;
        let predicate = format!("({no_consent} OR {after_opt_out})");
        let judged = cx.table(Table::JudgedSends).await?;
        let counts =
            count_by_campaign(cx.engine()?, judged, &violating(judged, &predicate)).await?;
        let what = "messages lacked valid consent: unsolicited bulk messaging";
        Ok(Outcome::Findings(
            counts
                .iter()
                .filter(|c| {
                    c.violations >= bulk.min_messages
                        || (c.messages >= bulk.min_messages
                            && share(c.violations, c.messages) >= bulk.min_share)
                })
                .map(|c| campaign_finding(&INFO, check.severity, c, what, &check.legal_bases))
                .collect(),
        ))
    }
);

#[cfg(test)]
mod tests {
    use super::super::test_log::{Consent, Flagged, Message, flagged};
    use super::*;

    #[tokio::test]
    async fn a_campaign_of_at_least_min_messages_with_min_share_unconsented_is_flagged() {
        let at = "2026-03-02T10:00:00";
        // The cn pack: 100 messages and 5% without consent make a campaign bulk spam. One
        // campaign at both thresholds; the near misses a share below (4 in 100) and a message
        // below (5 in 99).
        let campaigns = [
            ("bulk", 100, 5),
            ("below-share", 100, 4),
            ("below-size", 99, 5),
        ];
        let mut sends = Vec::new();
        let mut consents = Vec::new();
        for (campaign, messages, unconsented) in campaigns {
            for i in 0..messages {
                let send = Message::email(sends.len(), campaign, at);
                if i >= unconsented {
                    consents.push(Consent::opt_in(&send, "2026-01-05T09:00:00"));
                }
                sends.push(send);
            }
        }
        assert_eq!(
            flagged(&UnsolicitedBulk, &sends, &consents).await,
            [Flagged::new(
                Severity::Critical,
                "bulk",
                "email",
                "In campaign `bulk` (email), 5 of its 100 messages lacked valid consent: unsolicited bulk messaging (5.0%), to 5 recipients, between 2026-03-02T10:00:00 and 2026-03-02T10:00:00."
            )]
        );
    }
}
