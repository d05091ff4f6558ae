//! Builds the mail breakdown ([`MailBreakdown`]): every campaign's messages by how they stand,
//! for the report's chart: with consent, without consent, after an opt-out, or with consent but
//! inside quiet hours. The same predicates the checks flag sends by, in one aggregate over the
//! judged sends; unlike the checks it also counts the campaigns nothing is wrong with. It lives
//! with the checks because it applies their predicates under their settings.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};

use super::{CONSENT_NEEDS, after_opt_out, no_consent, opt_in_required, quiet_hours};
use crate::checks::context::{Context, Table};
use crate::derived::mail_breakdown::{CampaignSends, MailBreakdown};
use crate::error::Result;

/// The breakdown, when consent can be judged at all: a mail log and a consents dataset (as for
/// the consent checks; without consent records every message would read as unconsented).
pub async fn breakdown(cx: &Context<'_>) -> Result<Option<MailBreakdown>> {
    if cx.unmet(CONSENT_NEEDS).is_some() {
        return Ok(None);
    }
    let judged = cx.table(Table::JudgedSends).await?;
    let mut not_judged = Vec::new();
    let mut predicate = |check: &str, category: &'static str, sql: Option<String>| match sql {
        Some(sql) if cx.policy.check(check).is_some() => sql,
        _ => {
            not_judged.push(category);
            "false".to_string()
        }
    };
    let consent = no_consent::Settings {
        opt_in_required: opt_in_required(cx.policy)?,
    };
    let grace: after_opt_out::Settings = cx.policy.settings(after_opt_out::INFO.id)?;
    let (without, after) = super::consent::without_consent(&consent, &grace);
    let after = predicate(after_opt_out::INFO.id, "after_opt_out", Some(after));
    let without = predicate(no_consent::INFO.id, "no_consent", Some(without));
    let quiet: quiet_hours::Settings = cx.policy.settings(quiet_hours::INFO.id)?;
    let quiet = predicate(
        quiet_hours::INFO.id,
        "quiet_hours",
        quiet_hours::inside_quiet_hours(&quiet),
    );
    // CASE takes the first branch that holds, and a predicate that is NULL (no consent status)
    // does not hold: each message lands in exactly one category.
    let sql = format!(
        "SELECT campaign, channel, CAST(count(*) AS BIGINT) AS messages,
            CAST(count(CASE WHEN standing = 0 THEN 1 END) AS BIGINT) AS consented,
            CAST(count(CASE WHEN standing = 1 THEN 1 END) AS BIGINT) AS no_consent,
            CAST(count(CASE WHEN standing = 2 THEN 1 END) AS BIGINT) AS after_opt_out,
            CAST(count(CASE WHEN standing = 3 THEN 1 END) AS BIGINT) AS quiet_hours
         FROM (SELECT campaign, channel,
                CASE WHEN {after} THEN 2 WHEN {without} THEN 1 WHEN {quiet} THEN 3 ELSE 0 END AS standing
               FROM {judged})
         GROUP BY campaign, channel ORDER BY campaign, channel"
    );
    let batches = cx.engine()?.collect(&sql, "mail_sends").await?;
    let mut campaigns = Vec::new();
    for batch in &batches {
        let text = |i: usize| cast(batch.column(i), &DataType::Utf8);
        let (names, channels) = (text(0)?, text(1)?);
        let (names, channels) = (names.as_string::<i32>(), channels.as_string::<i32>());
        let count = |i: usize, row: usize| {
            batch
                .column(i)
                .as_primitive::<Int64Type>()
                .value(row)
                .max(0) as u64
        };
        for row in 0..batch.num_rows() {
            // Campaign names are the shop's words, shown as the findings show them; one that
            // holds an identifier (a recipient's address as a campaign) is masked here too.
            let campaign = if names.is_null(row) {
                String::new()
            } else {
                crate::pii::mask_spans(names.value(row), "(identifier)")
            };
            campaigns.push(CampaignSends {
                campaign,
                channel: channels.value(row).to_string(),
                messages: count(2, row),
                consented: count(3, row),
                no_consent: count(4, row),
                after_opt_out: count(5, row),
                quiet_hours: count(6, row),
            });
        }
    }
    Ok(Some(MailBreakdown {
        not_judged,
        campaigns,
    }))
}
