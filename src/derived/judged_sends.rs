//! Marketing messages and consent: the sends and consent events as canonical views, each send
//! judged by the consent in force **as of its send time**, and the suppression list.
//!
//! Recipients are tokenized as the kind of identifier their channel carries (e-mail address,
//! phone number, push device id; [`crate::pseudonym::IdentifierClass::of_channel`]), on both
//! sides, so a send and a consent event match exactly when their tokens do.
//!
//! The as-of join runs as one DataFusion plan: each consent event becomes the period in which
//! it is in force (until the recipient's next event on the channel), and each send is joined,
//! by hash, to the one period of its recipient and channel that contains its instant. No send
//! is compared with all consent events of its recipient, and the sends are never sorted. At
//! one instant, consent events come before sends and an opt-out after an opt-in: an opt-out at
//! exactly the send time is in force for that send, and every send of one instant to one
//! recipient and channel is judged by the same event.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::DataFrame;

use crate::config::Config;
use crate::engine::{Engine, Placement, consents_view_sql, literal, sends_view_sql};
use crate::error::{Error, Result};

/// The sends judged by the consent in force at their send time, as [`prepare`] registers them.
pub const JUDGED_TABLE: &str = "fm_sends_judged";

/// The judged sends' columns, from sends `s` and the consent period `p` in force.
const SEND_COLUMNS_JUDGED: &str = "s.recipient_token, s.channel, s.campaign, s.sent_at, p.action AS status, p.at AS status_at,
    s.has_unsubscribe, s.one_click_unsubscribe, s.sender_id, s.recipient_timezone, s.postal_address";

/// The channels fairmark knows; each decides how its recipients are tokenized.
pub const CHANNELS: [&str; 3] = ["email", "sms", "push"];

/// Fails on data that would otherwise give silently wrong answers: unknown channels, rows
/// without recipient or time, and consent actions the config does not map. Channels come
/// first: a recipient on an unknown channel has no kind, hence no token.
async fn validate(engine: &Engine, config: &Config) -> Result<()> {
    let sends = config
        .datasets
        .mail_sends
        .as_ref()
        .expect("validated by caller");
    let channels = CHANNELS
        .iter()
        .map(|c| literal(c))
        .collect::<Vec<_>>()
        .join(", ");
    // (role, path, view, channel column, recipient column, time column, time in the view)
    // The sends are counted in the judged table, whose every row is a send with its token
    // already made: the view would tokenize them all again.
    let mut datasets = vec![(
        "mail_sends",
        &sends.path,
        JUDGED_TABLE,
        &sends.channel,
        &sends.recipient,
        &sends.sent_at,
        "sent_at",
    )];
    if let Some(consents) = &config.datasets.consents {
        datasets.push((
            "consents",
            &consents.path,
            "fm_consents",
            &consents.channel,
            &consents.recipient,
            &consents.at,
            "at",
        ));
    }
    for (role, path, view, channel, recipient, time, time_in_view) in datasets {
        let checks = [
            (
                format!("channel IS NULL OR channel NOT IN ({channels})"),
                format!("rows whose channel in column `{channel}` is not email, sms or push"),
            ),
            (
                "recipient_token IS NULL".to_string(),
                format!("rows without a recipient in column `{recipient}`"),
            ),
            (
                format!("{time_in_view} IS NULL"),
                format!("rows without a time in column `{time}`"),
            ),
        ];
        // One scan per dataset for every check: each reading of the view tokenizes it again.
        let counts: Vec<String> = checks
            .iter()
            .map(|(condition, _)| {
                format!("CAST(count(CASE WHEN {condition} THEN 1 END) AS BIGINT)")
            })
            .collect();
        let sql = format!("SELECT {} FROM {view}", counts.join(", "));
        let batches = engine.collect(&sql, role).await?;
        let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
            continue;
        };
        for (i, (_, what)) in checks.iter().enumerate() {
            let bad = batch.column(i).as_primitive::<Int64Type>().value(0);
            if bad > 0 {
                return Err(Error::input(
                    role,
                    path.as_str(),
                    format!(
                        "{bad} {what}; fix or remove them, since fairmark cannot judge those messages"
                    ),
                ));
            }
        }
    }
    if let Some(consents) = &config.datasets.consents {
        let unknown = engine.collect("SELECT raw_action, CAST(sum(count(*)) OVER () AS BIGINT) AS total FROM fm_consents WHERE action IS NULL GROUP BY raw_action ORDER BY raw_action LIMIT 3", "consents").await?;
        let mut examples = Vec::new();
        let mut rows = 0;
        for batch in unknown.iter().filter(|b| b.num_rows() > 0) {
            rows = batch.column(1).as_primitive::<Int64Type>().value(0);
            let values = cast(batch.column(0), &DataType::Utf8)?;
            let values = values.as_string::<i32>();
            for i in 0..batch.num_rows() {
                // A value that does not read as a word may be a cell that slipped into the
                // column (an address, a name): it is counted among the rows, never shown.
                examples.push(match values.value(i) {
                    _ if values.is_null(i) => "(empty)".to_string(),
                    value if crate::error::printable_name(value) => format!("`{value}`"),
                    _ => "a value not shown".to_string(),
                });
            }
        }
        if !examples.is_empty() {
            return Err(Error::input(
                "consents",
                consents.path.as_str(),
                format!(
                    "{rows} row(s) of column `{}` hold action values mapped neither to opt_in nor to opt_out (e.g. {}); list every value under `actions`",
                    consents.action,
                    examples.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Registers `fm_mail_sends`, `fm_consents` and [`JUDGED_TABLE`] (one row per send with the
/// consent status as of its send time and when that status began).
pub async fn prepare(engine: &Engine, config: &Config) -> Result<()> {
    let Some(sends) = &config.datasets.mail_sends else {
        return Ok(());
    };
    let register = |name: &'static str, frame: DataFrame| {
        engine.ctx.register_table(name, frame.into_view()).map(drop)
    };
    register(
        "fm_mail_sends",
        engine
            .sql(
                &sends_view_sql(sends, engine.dataset("mail_sends").expect("registered")),
                "mail_sends",
            )
            .await?,
    )?;
    if let Some(consents) = &config.datasets.consents {
        register(
            "fm_consents",
            engine
                .sql(
                    &consents_view_sql(consents, engine.dataset("consents").expect("registered")),
                    "consents",
                )
                .await?,
        )?;
    }
    let sql = if config.datasets.consents.is_some() {
        // Each consent event is in force from its instant until the recipient's next event on
        // the channel: events ordered by time, then 'opt_in' before 'opt_out', so of an
        // opt-in and an opt-out at one instant the more protective opt-out holds (the
        // opt-in's period is empty), and an event repeated holds once. A send takes the one
        // period that contains its instant, so an opt-out at exactly the send time is in
        // force for that send. Only the consent events are sorted (one window over few rows,
        // in one partition: per-recipient partitions cost more than the work in them); the
        // sends stream through a hash join whose table holds the periods (the build side is
        // the left one: written the other way round, all the sends were held).
        format!(
            "WITH periods AS (
                SELECT recipient_token, channel, at, action,
                    CASE WHEN lead(recipient_token) OVER w = recipient_token AND lead(channel) OVER w = channel
                        THEN lead(at) OVER w END AS until
                FROM fm_consents
                WINDOW w AS (ORDER BY recipient_token, channel, at, action))
            SELECT {SEND_COLUMNS_JUDGED}
            FROM periods p RIGHT JOIN fm_mail_sends s
                ON s.recipient_token = p.recipient_token AND s.channel = p.channel
                AND s.sent_at >= p.at AND (p.until IS NULL OR s.sent_at < p.until)"
        )
    } else {
        format!(
            "SELECT {SEND_COLUMNS_JUDGED} FROM fm_mail_sends s
             CROSS JOIN (SELECT CAST(NULL AS VARCHAR) AS action, CAST(NULL AS TIMESTAMP) AS at) p"
        )
    };
    // Eight checks read the judged sends. Held in memory they were the audit's largest
    // allocation at ten million messages; they hold tokens and no raw value, so they are
    // written once to the run's private directory and each check reads the columns it needs.
    let judged = engine.sql(&sql, "mail_sends").await?;
    if engine.placement == Placement::Local {
        let path = engine.runtime.spill_dir().join("judged_sends.parquet");
        crate::output::write_parquet(judged, &path)
            .await
            .map_err(|e| e.in_dataset("mail_sends", &sends.path))?;
        engine
            .ctx
            .register_parquet(
                JUDGED_TABLE,
                path.to_string_lossy().as_ref(),
                datafusion::prelude::ParquetReadOptions::default(),
            )
            .await?;
    } else {
        // A file here is out of a cluster's reach: there each check judges the sends again.
        engine
            .ctx
            .register_table(JUDGED_TABLE, judged.into_view())?;
    }
    validate(engine, config).await
}

/// The suppression list: per recipient token and channel whose latest consent event is an
/// opt-out, or who never opted in on a channel that requires opt-in.
pub async fn suppression(
    engine: &Engine,
    config: &Config,
    opt_in_required: &[String],
) -> Result<DataFrame> {
    let required = if opt_in_required.is_empty() {
        "''".to_string()
    } else {
        opt_in_required
            .iter()
            .map(|c| literal(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let latest = if config.datasets.consents.is_some() {
        "SELECT recipient_token, channel, last_value(action ORDER BY at, action) AS latest FROM fm_consents GROUP BY recipient_token, channel"
    } else {
        "SELECT CAST(NULL AS VARCHAR) AS recipient_token, CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS VARCHAR) AS latest WHERE false"
    };
    let sql = format!(
        "WITH latest AS ({latest}),
        known AS (SELECT DISTINCT recipient_token, channel FROM {JUDGED_TABLE} UNION SELECT recipient_token, channel FROM latest)
        SELECT k.recipient_token, k.channel,
            CASE WHEN l.latest = 'opt_out' THEN 'opted_out' ELSE 'no_consent' END AS reason
        FROM known k LEFT JOIN latest l ON k.recipient_token = l.recipient_token AND k.channel = l.channel
        WHERE l.latest = 'opt_out' OR ((l.latest IS NULL) AND k.channel IN ({required}))
        ORDER BY k.recipient_token, k.channel"
    );
    engine.sql(&sql, "mail_sends").await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::StringArray;

    use super::*;
    use crate::pseudonym::{Key, KeyOrigin};

    /// `(campaign, status)` of every send after `prepare`, by campaign.
    async fn statuses(sends: &str, consents: &str) -> Vec<(String, Option<String>)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sends.csv"), sends).unwrap();
        std::fs::write(dir.path().join("consents.csv"), consents).unwrap();
        let config_path = dir.path().join("fairmark.toml");
        std::fs::write(
            &config_path,
            "policies = [\"cn\"]\nkey = { env = \"UNUSED\" }\n\
             [datasets.mail_sends]\npath = \"sends.csv\"\nrecipient = \"to\"\nchannel = \"channel\"\ncampaign = \"campaign\"\nsent_at = \"at\"\n\
             [datasets.consents]\npath = \"consents.csv\"\nrecipient = \"to\"\nchannel = \"channel\"\naction = \"action\"\nat = \"at\"\n\
             actions = { opt_in = [\"in\"], opt_out = [\"out\"] }\n",
        )
        .unwrap();
        let config = Config::load(&config_path).unwrap();
        let key = Key::from_material("5a".repeat(32).as_bytes(), &KeyOrigin::Env("K".into()));
        let functions = crate::functions::all(Arc::new(key.unwrap()));
        let engine = Engine::open(&config, functions).await.unwrap();
        prepare(&engine, &config).await.unwrap();
        let batches = engine
            .collect(
                &format!("SELECT campaign, status FROM {JUDGED_TABLE} ORDER BY campaign"),
                "mail_sends",
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        for batch in &batches {
            let text = |i: usize| cast(batch.column(i), &DataType::Utf8).unwrap();
            let (campaigns, status) = (text(0), text(1));
            let (campaigns, status) = (
                campaigns.as_any().downcast_ref::<StringArray>().unwrap(),
                status.as_any().downcast_ref::<StringArray>().unwrap(),
            );
            for row in 0..batch.num_rows() {
                out.push((
                    campaigns.value(row).to_string(),
                    (!status.is_null(row)).then(|| status.value(row).to_string()),
                ));
            }
        }
        out
    }

    #[test]
    fn every_channel_says_what_kind_of_identifier_its_recipients_are() {
        for channel in CHANNELS {
            assert!(
                crate::pseudonym::IdentifierClass::of_channel(channel).is_some(),
                "{channel}"
            );
        }
    }

    #[tokio::test]
    async fn consent_at_the_send_instant_is_in_force_for_every_send_of_that_instant() {
        // The campaign column names each send. a: opt-out at the send instant; b: opt-in and
        // opt-out at one instant (e: the other way round in the file); c: opt-in at the send
        // instant after an earlier opt-out; d: one second before a's opt-out.
        let consents = "to,channel,action,at
a@x.cn,email,in,2026-03-01T00:00:00
a@x.cn,email,out,2026-03-04T10:00:00
b@x.cn,email,in,2026-03-04T10:00:00
b@x.cn,email,out,2026-03-04T10:00:00
e@x.cn,email,out,2026-03-04T10:00:00
e@x.cn,email,in,2026-03-04T10:00:00
c@x.cn,email,out,2026-03-01T00:00:00
c@x.cn,email,in,2026-03-04T10:00:00
";
        let sends = "to,channel,campaign,at
a@x.cn,email,a1,2026-03-04T10:00:00
a@x.cn,email,a2,2026-03-04T10:00:00
A@X.cn,email,a3,2026-03-04T10:00:00
b@x.cn,email,b1,2026-03-04T10:00:00
e@x.cn,email,e1,2026-03-04T10:00:00
c@x.cn,email,c1,2026-03-04T10:00:00
c@x.cn,email,c2,2026-03-04T10:00:00
a@x.cn,email,d1,2026-03-04T09:59:59
";
        let expect =
            |campaign: &str, status: &str| (campaign.to_string(), Some(status.to_string()));
        assert_eq!(
            statuses(sends, consents).await,
            vec![
                expect("a1", "opt_out"),
                expect("a2", "opt_out"),
                expect("a3", "opt_out"),
                expect("b1", "opt_out"),
                expect("c1", "opt_in"),
                expect("c2", "opt_in"),
                expect("d1", "opt_in"),
                expect("e1", "opt_out"),
            ]
        );
    }
}
