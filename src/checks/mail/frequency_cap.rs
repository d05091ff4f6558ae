#![doc = include_str!("frequency_cap.md")]

use serde::Deserialize;

use super::{campaign_finding, count_by_campaign, violating};
use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::engine::Placement;
use crate::error::Result;
use crate::findings::Severity;
use crate::findings::evidence::{CampaignMessages, MessageCap};
use crate::policy::{Strictest, Validate, within};

check_info!(
    INFO,
    "mail.frequency-cap",
    "mail",
    "Too many messages to one recipient",
    "向同一接收者发送过于频繁",
    Severity::Medium,
    "frequency_cap.md",
    Settings
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub max_messages: u64,
    pub window_days: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_messages: 4,
            window_days: 7,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        Settings {
            max_messages: self.max_messages.min(other.max_messages),
            window_days: self.window_days.max(other.window_days),
        }
    }
}

/// At least one message; a window of 1 to 366 days (a year, leap day included).
impl Validate for Settings {
    fn validate(&self) -> Result<(), String> {
        within("max_messages", self.max_messages, 1..)?;
        within("window_days", self.window_days, 1..=366)
    }
}

/// The table [`register_candidates`] registers.
const CANDIDATES_TABLE: &str = "fm_frequency_candidates";

/// Registers the (recipient, channel) pairs that could exceed the cap. Any window lies within
/// two consecutive window-long buckets of time, so a recipient over the cap has more than
/// `max_messages` sends in two consecutive buckets, hence more than half of them in one. One
/// aggregate finds those dense buckets; the windows, which cost per send, then run on their
/// recipients alone. A superset of the recipients over the cap is all they need.
///
/// The aggregate has a group for nearly every send (most recipients get one message in a
/// window), and at 10M sends its table was the audit's peak of memory. So in this process it
/// runs in `passes` passes (two: the even buckets, then the odd ones): a group lies in one
/// pass, and each pass holds its share of the groups. On a cluster the tables are views, which
/// would only be recomputed together, so there it runs as one pass.
async fn register_candidates(
    ctx: &datafusion::prelude::SessionContext,
    judged: &str,
    window_days: u64,
    max_messages: u64,
    passes: u32,
) -> datafusion::error::Result<()> {
    let window_ms = window_days * 86_400_000;
    let half = max_messages / 2;
    let bucket = format!("CAST(floor(date_part('epoch', sent_at) * 1000 / {window_ms}) AS BIGINT)");
    let dense = |filter: &str| {
        format!(
            "SELECT DISTINCT recipient_token, channel FROM (
                SELECT recipient_token, channel FROM {judged} {filter}
                GROUP BY recipient_token, channel, {bucket}
                HAVING count(*) > {half})"
        )
    };
    if passes <= 1 {
        return crate::engine::materialize(ctx, CANDIDATES_TABLE, &dense("")).await;
    }
    let mut found = Vec::new();
    for pass in 0..passes {
        let name = format!("{CANDIDATES_TABLE}_{pass}");
        let sql = dense(&format!("WHERE {bucket} % {passes} = {pass}"));
        crate::engine::materialize(ctx, &name, &sql).await?;
        found.push(format!("SELECT recipient_token, channel FROM {name}"));
    }
    crate::engine::materialize(ctx, CANDIDATES_TABLE, &found.join(" UNION ")).await
}

/// The candidates' judged sends (see [`register_candidates`]), each with its number among the
/// messages to its recipient on its channel in the `window_days` × 24 hours up to it: one
/// millisecond less than that many days back, to the message itself. Messages of one instant
/// count one after another in campaign order, so exactly the messages beyond the cap are excess
/// however many share an instant (five at once under a cap of four: one), and which one is
/// charged does not depend on how the rows were read. Sends of one campaign at one instant are
/// interchangeable to the counts. No other send can be beyond the cap, so no other is numbered.
///
/// The k-th message (in campaign order) of an instant is number (messages in the window before
/// the instant) + k. Both terms are computed on counted rows, never on the sends themselves: in
/// a window ordered by time over the sends, every send of one instant is a peer of every other,
/// and DataFusion's window operator emits no row until the last peer has arrived, concatenating
/// its buffer with each new batch meanwhile; a million sends to one recipient at one instant
/// then took 61 s where 200,000 took 4.2 s (debug build). Here the time window runs over one row
/// per instant and the campaign order over one row per campaign of an instant, neither with
/// ties, and the numbers are then unrolled per send: 2.2 s, 10.5 s and 20.1 s at 0.2M, 1M and 2M.
fn numbered_in_window(judged: &str, window_days: u64) -> String {
    let window_ms = window_days * 86_400_000;
    let candidates = CANDIDATES_TABLE;
    let per_campaign = format!(
        "SELECT j.recipient_token, j.channel, j.campaign, j.sent_at, count(*) AS sends
         FROM {judged} j JOIN {candidates} c ON j.recipient_token = c.recipient_token AND j.channel = c.channel
         GROUP BY j.recipient_token, j.channel, j.campaign, j.sent_at"
    );
    format!(
        "(SELECT recipient_token, channel, campaign, sent_at,
            unnest(generate_series(last_number - sends + 1, last_number)) AS number_in_window FROM (
            SELECT s.recipient_token, s.channel, s.campaign, s.sent_at, s.sends,
                i.before_instant + sum(s.sends) OVER (PARTITION BY s.recipient_token, s.channel, s.sent_at ORDER BY s.campaign ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_number
            FROM ({per_campaign}) s JOIN (
                SELECT recipient_token, channel, sent_at,
                    sum(at_instant) OVER (PARTITION BY recipient_token, channel ORDER BY sent_at RANGE BETWEEN INTERVAL '{} milliseconds' PRECEDING AND CURRENT ROW) - at_instant AS before_instant
                FROM (SELECT recipient_token, channel, sent_at, sum(sends) AS at_instant FROM ({per_campaign}) GROUP BY recipient_token, channel, sent_at)) i
            ON s.recipient_token = i.recipient_token AND s.channel = i.channel AND s.sent_at = i.sent_at))",
        window_ms.saturating_sub(1)
    )
}

check!(
    FrequencyCap,
    INFO,
    needs: &[Need::Table(Table::JudgedSends)],
    run: |cx, check| {
        let cap: Settings = cx.policy.settings(INFO.id)?;
        let judged = cx.table(Table::JudgedSends).await?;
        let engine = cx.engine()?;
        let passes = if engine.placement == Placement::Local { 2 } else { 1 };
        register_candidates(&engine.ctx, judged, cap.window_days, cap.max_messages, passes)
            .await
            .map_err(|e| crate::error::Error::from(e).in_dataset("mail_sends", "judged sends"))?;
        let beyond_cap = violating(
            &numbered_in_window(judged, cap.window_days),
            &format!("number_in_window > {}", cap.max_messages),
        );
        let counts = count_by_campaign(engine, judged, &beyond_cap).await?;
        let what = "messages exceeded the frequency cap";
        Ok(Outcome::Findings(
            counts
                .iter()
                .map(|c| {
                    campaign_finding(&INFO, check.severity, c, what, &check.legal_bases)
                        .with_evidence(CampaignMessages {
                            cap: Some(MessageCap {
                                max_messages: cap.max_messages,
                                window_days: cap.window_days,
                            }),
                            ..c.evidence()
                        })
                })
                .collect(),
        ))
    }
);

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::{DataType, Int64Type};

    use super::*;

    /// `number_in_window` of each send, in `(campaign, sent_at)` order, for sends of one
    /// recipient written in the given order.
    async fn numbers(sends: &[(&str, &str)], window_days: u64) -> Vec<(String, String, i64)> {
        let ctx = datafusion::prelude::SessionContext::new();
        let rows = sends
            .iter()
            .map(|(campaign, at)| format!("('t1', 'email', '{campaign}', TIMESTAMP '{at}')"))
            .collect::<Vec<_>>()
            .join(", ");
        ctx.sql(&format!(
            "CREATE VIEW judged AS SELECT * FROM (VALUES {rows}) AS s(recipient_token, channel, campaign, sent_at)"
        ))
        .await
        .unwrap();
        register_candidates(&ctx, "judged", window_days, 0, 2)
            .await
            .unwrap();
        let sql = format!(
            "SELECT campaign, CAST(sent_at AS VARCHAR) AS at, number_in_window FROM {} ORDER BY at, number_in_window",
            numbered_in_window("judged", window_days)
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for batch in &batches {
            let text = |i: usize| cast(batch.column(i), &DataType::Utf8).unwrap();
            let (campaigns, times) = (text(0), text(1));
            let number = cast(batch.column(2), &DataType::Int64).unwrap();
            for row in 0..batch.num_rows() {
                out.push((
                    campaigns.as_string::<i32>().value(row).to_string(),
                    times.as_string::<i32>().value(row).to_string(),
                    number.as_primitive::<Int64Type>().value(row),
                ));
            }
        }
        out
    }

    #[tokio::test]
    async fn messages_of_one_instant_count_one_after_another_in_campaign_order() {
        let numbered = numbers(
            &[
                ("b", "2026-03-05T02:00:00"),
                ("a", "2026-03-05T02:00:00"),
                ("b", "2026-03-05T02:00:00"),
                ("a", "2026-03-04T02:00:00"),
                ("a", "2026-03-05T02:00:00"),
                // Seven days after the first: just outside its window of 7 × 24 hours.
                ("c", "2026-03-11T02:00:00"),
            ],
            7,
        )
        .await;
        let expect = |c: &str, t: &str, n| (c.to_string(), t.to_string(), n);
        assert_eq!(
            numbered,
            vec![
                expect("a", "2026-03-04T02:00:00", 1),
                expect("a", "2026-03-05T02:00:00", 2),
                expect("a", "2026-03-05T02:00:00", 3),
                expect("b", "2026-03-05T02:00:00", 4),
                expect("b", "2026-03-05T02:00:00", 5),
                expect("c", "2026-03-11T02:00:00", 5),
            ]
        );
    }

    #[tokio::test]
    async fn only_recipients_with_a_dense_bucket_are_windowed() {
        let ctx = datafusion::prelude::SessionContext::new();
        // r1: five sends in five days (over a cap of four a week); r2: five a month apart.
        let rows: Vec<String> = (1..=5)
            .flat_map(|i| {
                [
                    format!("('r1', 'email', 'c', TIMESTAMP '2026-03-0{i}T02:00:00')"),
                    format!("('r2', 'email', 'c', TIMESTAMP '2026-0{i}-01T02:00:00')"),
                ]
            })
            .collect();
        ctx.sql(&format!(
            "CREATE VIEW judged AS SELECT * FROM (VALUES {}) AS s(recipient_token, channel, campaign, sent_at)",
            rows.join(", ")
        ))
        .await
        .unwrap();
        register_candidates(&ctx, "judged", 7, 4, 2).await.unwrap();
        let numbered = |recipient: &str| {
            format!(
                "SELECT CAST(count(*) AS BIGINT) FROM {} WHERE recipient_token = '{recipient}'",
                numbered_in_window("judged", 7)
            )
        };
        for (recipient, numbered_sends) in [("r1", 5), ("r2", 0)] {
            let batches = ctx
                .sql(&numbered(recipient))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            assert_eq!(
                batches[0].column(0).as_primitive::<Int64Type>().value(0),
                numbered_sends,
                "{recipient}"
            );
        }
    }
}
