//! Marketing-contact checks over the judged sends (each send with the consent status in force
//! at its send time, see [`crate::derived::judged_sends`]), one file per check. Every check is a predicate on a
//! send; one aggregate per check gives exact counts per campaign and channel. This module holds
//! what they share: the consent predicates, the per-campaign count and its finding; and the
//! report's per-campaign breakdown by the same predicates ([`breakdown`]).

pub mod after_opt_out;
pub mod breakdown;
pub mod consent;
pub mod frequency_cap;
pub mod missing_postal_address;
pub mod missing_sender_id;
pub mod missing_unsubscribe;
pub mod no_consent;
pub mod quiet_hours;
#[cfg(test)]
mod test_log;
pub mod unsolicited_bulk;

pub use consent::opt_in_required;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};

use crate::checks::check::{CheckInfo, Outcome};
use crate::checks::context::{Context, Need, Table};
use crate::config::MailSendsDataset;
use crate::engine::Engine;
use crate::error::Result;
use crate::findings::evidence::CampaignMessages;
use crate::findings::{Finding, Severity, Subject, share};
use crate::policy::EffectiveCheck;

/// What the consent checks need. Without consent records nothing can be said about consent:
/// they are skipped ("no consents dataset"), not turned into "every message lacks consent".
const CONSENT_NEEDS: &[Need] = &[Need::Table(Table::JudgedSends), Need::Dataset("consents")];

/// Whether the sends map what `mapped` asks for (a column the check reads).
fn sends_map(cx: &Context<'_>, mapped: impl Fn(&MailSendsDataset) -> bool) -> bool {
    cx.config.datasets.mail_sends.as_ref().is_some_and(mapped)
}

/// The judged sends with the size of their campaign on their channel, for predicates that only
/// apply to bulk campaigns. Counted by a group-by joined back (the few campaigns on the join's
/// build side), not a window: a window sorted every send by campaign, and held them.
fn with_campaign_size(judged: &str) -> String {
    format!(
        "(SELECT s.*, c.campaign_messages
          FROM (SELECT campaign, channel, count(*) AS campaign_messages FROM {judged} GROUP BY campaign, channel) c
          JOIN {judged} s ON (s.campaign IS NOT DISTINCT FROM c.campaign) AND (s.channel IS NOT DISTINCT FROM c.channel))"
    )
}

/// Runs a check that is one predicate on a judged send: a finding per campaign and channel
/// with at least one send that matches it.
async fn per_campaign(
    cx: &Context<'_>,
    info: &CheckInfo,
    check: &EffectiveCheck,
    predicate: &str,
    what: &str,
) -> Result<Outcome> {
    let judged = cx.table(Table::JudgedSends).await?;
    per_campaign_from(cx, info, check, judged, predicate, what).await
}

/// [`per_campaign`] with the predicate applied to `from` (the judged sends with columns of
/// their own, such as [`with_campaign_size`]'s).
async fn per_campaign_from(
    cx: &Context<'_>,
    info: &CheckInfo,
    check: &EffectiveCheck,
    from: &str,
    predicate: &str,
    what: &str,
) -> Result<Outcome> {
    let judged = cx.table(Table::JudgedSends).await?;
    let counts = count_by_campaign(cx.engine()?, judged, &violating(from, predicate)).await?;
    Ok(Outcome::Findings(
        counts
            .iter()
            .map(|c| campaign_finding(info, check.severity, c, what, &check.legal_bases))
            .collect(),
    ))
}

/// The sends of `from` that match `predicate` (a NULL is no match), with the columns
/// [`count_by_campaign`] reads.
fn violating(from: &str, predicate: &str) -> String {
    format!("(SELECT campaign, channel, recipient_token, sent_at FROM {from} WHERE {predicate})")
}

/// Per campaign and channel: messages, violations, recipients, time span, example tokens.
#[derive(Debug, Clone)]
struct CampaignCount {
    campaign: String,
    channel: String,
    messages: u64,
    violations: u64,
    recipients: u64,
    first: String,
    last: String,
    examples: Vec<String>,
}

/// The campaigns and channels with at least one send in `violating` (a relation of judged
/// sends: campaign, channel, recipient_token, sent_at), with their counts, against all their
/// messages in `judged`. Every aggregate but the campaign totals reads the violating sends
/// alone, which are few, instead of flagging every send.
///
/// The examples' window is partitioned by campaign and channel as one struct. Partitioned by
/// the two columns, a check whose sends are of one channel (`channel = 'sms'`) lets DataFusion
/// sort by campaign alone, the channel being constant; on a Ballista cluster the window then
/// starts a stage whose input no longer knows that, and the executor refuses it ("Expects
/// PARTITION BY expression to be ordered"). The struct is never constant, and groups alike.
async fn count_by_campaign(
    engine: &Engine,
    judged: &str,
    violating: &str,
) -> Result<Vec<CampaignCount>> {
    let sql = format!(
        "WITH violating AS (SELECT * FROM {violating}),
        totals AS (SELECT campaign, channel, count(*) AS messages FROM {judged} GROUP BY campaign, channel),
        counts AS (
            SELECT campaign, channel, count(*) AS violations, count(DISTINCT recipient_token) AS recipients,
                min(sent_at) AS first_at, max(sent_at) AS last_at
            FROM violating GROUP BY campaign, channel),
        examples AS (
            SELECT campaign, channel, string_agg(recipient_token, ' ' ORDER BY recipient_token) AS tokens FROM (
                SELECT campaign, channel, recipient_token, row_number() OVER (PARTITION BY named_struct('campaign', campaign, 'channel', channel) ORDER BY recipient_token) AS n
                FROM (SELECT DISTINCT campaign, channel, recipient_token FROM violating)) WHERE n <= 3
            GROUP BY campaign, channel)
        SELECT c.campaign, c.channel, CAST(t.messages AS BIGINT) AS messages,
            CAST(c.violations AS BIGINT) AS violations, CAST(c.recipients AS BIGINT) AS recipients,
            CAST(c.first_at AS VARCHAR) AS first_at, CAST(c.last_at AS VARCHAR) AS last_at,
            e.tokens AS examples
        FROM counts c
        JOIN totals t ON (c.campaign IS NOT DISTINCT FROM t.campaign) AND c.channel = t.channel
        LEFT JOIN examples e ON c.campaign = e.campaign AND c.channel = e.channel
        ORDER BY c.campaign, c.channel"
    );
    let batches = engine.collect(&sql, "mail_sends").await?;
    let mut counts = Vec::new();
    for batch in &batches {
        let text =
            |i: usize| cast(batch.column(i), &DataType::Utf8).map(|a| a.as_string::<i32>().clone());
        let (campaigns, channels, first, last, examples) =
            (text(0)?, text(1)?, text(5)?, text(6)?, text(7)?);
        let number = |i: usize, row: usize| {
            batch
                .column(i)
                .as_primitive::<Int64Type>()
                .value(row)
                .max(0) as u64
        };
        for row in 0..batch.num_rows() {
            let value = |a: &datafusion::arrow::array::StringArray| {
                if a.is_null(row) {
                    String::new()
                } else {
                    a.value(row).to_string()
                }
            };
            counts.push(CampaignCount {
                campaign: value(&campaigns),
                channel: value(&channels),
                messages: number(2, row),
                violations: number(3, row),
                recipients: number(4, row),
                first: value(&first),
                last: value(&last),
                examples: value(&examples)
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
            });
        }
    }
    Ok(counts)
}

impl CampaignCount {
    fn evidence(&self) -> CampaignMessages {
        CampaignMessages {
            messages: self.violations,
            campaign_messages: self.messages,
            share: share(self.violations, self.messages),
            recipients: self.recipients,
            first_sent_at: self.first.clone(),
            last_sent_at: self.last.clone(),
            example_recipients: self.examples.clone(),
            cap: None,
        }
    }
}

fn campaign_finding(
    info: &CheckInfo,
    severity: Severity,
    count: &CampaignCount,
    what: &str,
    legal: &[crate::findings::Citation],
) -> Finding {
    let subject = Subject {
        dataset: Some("mail_sends".into()),
        campaign: Some(count.campaign.clone()),
        channel: Some(count.channel.clone()),
        ..Subject::default()
    };
    Finding::new(
        info.id,
        severity,
        subject,
        "",
        format!("Campaign {} ({}): {} {what}", count.campaign, count.channel, count.violations),
        format!(
            "In campaign `{}` ({}), {} of its {} {what} ({:.1}%), to {} recipients, between {} and {}.",
            count.campaign,
            count.channel,
            count.violations,
            count.messages,
            100.0 * share(count.violations, count.messages),
            count.recipients,
            count.first,
            count.last
        ),
    )
    .with_evidence(count.evidence())
    .with_legal_bases(
        &legal
            .iter()
            .filter(|c| c.governs(&count.channel))
            .cloned()
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::consent::without_consent;
    use super::*;

    #[test]
    fn an_opt_out_is_in_force_from_its_own_instant() {
        let (_, after) = without_consent(
            &no_consent::Settings::default(),
            &after_opt_out::Settings::default(),
        );
        assert_eq!(
            after,
            "(status = 'opt_out' AND sent_at >= status_at + INTERVAL '0 days')"
        );
    }

    #[test]
    fn the_us_grace_period_counts_business_days() {
        let (_, after) = without_consent(
            &no_consent::Settings::default(),
            &after_opt_out::Settings {
                grace_days: 0,
                grace_business_days: 10,
            },
        );
        assert!(
            after.contains("fm_business_deadline(status_at, 10)"),
            "{after}"
        );
        let (none, after) = without_consent(
            &no_consent::Settings {
                opt_in_required: vec!["sms".into()],
            },
            &after_opt_out::Settings::default(),
        );
        assert!(
            none.contains("'sms'") && after.contains("INTERVAL '0 days'"),
            "{none} {after}"
        );
    }
}
