//! Marketing messages and consent: the sends and consent events as canonical views, each send
//! judged by the consent in force **as of its send time**, and the suppression list.
//!
//! The as-of join runs as one DataFusion plan: sends and consent events are merged into one
//! stream per recipient and channel, ordered by time (a consent event at exactly the send time
//! comes first, so it counts); a running count of consent events numbers the "islands" that
//! each consent event opens, and every send takes the action that opened its island. No send is
//! compared with all consent events of its recipient.

pub mod time;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::DataFrame;

use crate::config::{Config, ConsentsDataset, MailSendsDataset};
use crate::engine::{Engine, ident, literal, timestamp_expr};
use crate::error::{Error, Result};
use crate::pseudonym::TokenUdf;

/// The channels fairmark knows.
pub const CHANNELS: [&str; 3] = ["email", "sms", "push"];

fn flag(column: &Option<String>) -> String {
    match column {
        // Text flags ("yes", "Y", "1", "true") are common in CSV exports.
        Some(c) => format!(
            "lower(trim(CAST({} AS VARCHAR))) IN ('true', 't', 'yes', 'y', '1')",
            ident(c)
        ),
        None => "CAST(NULL AS BOOLEAN)".to_string(),
    }
}

fn sends_view_sql(sends: &MailSendsDataset, engine: &Engine) -> String {
    let schema = &engine.dataset("mail_sends").expect("registered").schema;
    let text = |column: &Option<String>| {
        column.as_ref().map_or_else(
            || "CAST(NULL AS VARCHAR)".to_string(),
            |c| format!("CAST({} AS VARCHAR)", ident(c)),
        )
    };
    format!(
        "SELECT {recipient}({r}) AS recipient_token, lower(trim(CAST({channel} AS VARCHAR))) AS channel,
            CAST({campaign} AS VARCHAR) AS campaign, {sent_at} AS sent_at,
            {has_unsubscribe} AS has_unsubscribe, {one_click} AS one_click_unsubscribe,
            {sender} AS sender_id, {zone} AS recipient_timezone
         FROM raw_mail_sends",
        recipient = TokenUdf::RECIPIENT,
        r = ident(&sends.recipient),
        channel = ident(&sends.channel),
        campaign = ident(&sends.campaign),
        sent_at = timestamp_expr(&sends.sent_at, schema),
        has_unsubscribe = flag(&sends.has_unsubscribe),
        one_click = flag(&sends.one_click_unsubscribe),
        sender = text(&sends.sender_id),
        zone = text(&sends.recipient_timezone),
    )
}

fn consents_view_sql(consents: &ConsentsDataset, engine: &Engine) -> String {
    let schema = &engine.dataset("consents").expect("registered").schema;
    let values = |list: &[String]| {
        list.iter()
            .map(|v| literal(&v.trim().to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let action = format!("lower(trim(CAST({} AS VARCHAR)))", ident(&consents.action));
    format!(
        "SELECT {recipient}({r}) AS recipient_token, lower(trim(CAST({channel} AS VARCHAR))) AS channel,
            CASE WHEN {action} IN ({opt_in}) THEN 'opt_in' WHEN {action} IN ({opt_out}) THEN 'opt_out' END AS action,
            {action} AS raw_action, {at} AS at
         FROM raw_consents",
        recipient = TokenUdf::RECIPIENT,
        r = ident(&consents.recipient),
        channel = ident(&consents.channel),
        opt_in = values(&consents.actions.opt_in),
        opt_out = values(&consents.actions.opt_out),
        at = timestamp_expr(&consents.at, schema),
    )
}

async fn count(engine: &Engine, sql: &str, role: &str) -> Result<i64> {
    let batches = engine.collect(sql, role).await?;
    Ok(batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map_or(0, |b| b.column(0).as_primitive::<Int64Type>().value(0)))
}

/// Fails on data that would otherwise give silently wrong answers: rows without recipient or
/// time, unknown channels, and consent actions the config does not map.
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
    let checks = [
        (
            "mail_sends",
            &sends.path,
            "SELECT CAST(count(*) AS BIGINT) FROM fm_mail_sends WHERE recipient_token IS NULL"
                .to_string(),
            format!("rows without a recipient in column `{}`", sends.recipient),
        ),
        (
            "mail_sends",
            &sends.path,
            "SELECT CAST(count(*) AS BIGINT) FROM fm_mail_sends WHERE sent_at IS NULL".to_string(),
            format!("rows without a time in column `{}`", sends.sent_at),
        ),
        (
            "mail_sends",
            &sends.path,
            format!(
                "SELECT CAST(count(*) AS BIGINT) FROM fm_mail_sends WHERE channel IS NULL OR channel NOT IN ({channels})"
            ),
            format!(
                "rows whose channel in column `{}` is not email, sms or push",
                sends.channel
            ),
        ),
    ];
    let mut all: Vec<(&str, &String, String, String)> = checks.into_iter().collect();
    if let Some(consents) = &config.datasets.consents {
        all.push((
            "consents",
            &consents.path,
            "SELECT CAST(count(*) AS BIGINT) FROM fm_consents WHERE recipient_token IS NULL"
                .to_string(),
            format!(
                "rows without a recipient in column `{}`",
                consents.recipient
            ),
        ));
        all.push((
            "consents",
            &consents.path,
            "SELECT CAST(count(*) AS BIGINT) FROM fm_consents WHERE at IS NULL".to_string(),
            format!("rows without a time in column `{}`", consents.at),
        ));
        all.push(("consents", &consents.path, format!("SELECT CAST(count(*) AS BIGINT) FROM fm_consents WHERE channel IS NULL OR channel NOT IN ({channels})"), format!("rows whose channel in column `{}` is not email, sms or push", consents.channel)));
    }
    for (role, path, sql, what) in all {
        let bad = count(engine, &sql, role).await?;
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
    if let Some(consents) = &config.datasets.consents {
        let unknown = engine.collect("SELECT raw_action, CAST(sum(count(*)) OVER () AS BIGINT) AS total FROM fm_consents WHERE action IS NULL GROUP BY raw_action ORDER BY raw_action LIMIT 3", "consents").await?;
        let mut examples = Vec::new();
        let mut rows = 0;
        for batch in unknown.iter().filter(|b| b.num_rows() > 0) {
            rows = batch.column(1).as_primitive::<Int64Type>().value(0);
            let values = cast(batch.column(0), &DataType::Utf8)?;
            let values = values.as_string::<i32>();
            for i in 0..batch.num_rows() {
                let value = if values.is_null(i) {
                    "(empty)".to_string()
                } else {
                    crate::pii::mask_spans(values.value(i), "<redacted>")
                };
                examples.push(format!("`{value}`"));
            }
        }
        if !examples.is_empty() {
            return Err(Error::input(
                "consents",
                consents.path.as_str(),
                format!(
                    "{rows} rows of column `{}` hold action values mapped neither to opt_in nor to opt_out (e.g. {}); list every value under `actions`",
                    consents.action,
                    examples.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Registers `fm_mail_sends`, `fm_consents` and `fm_sends_judged` (one row per send with the
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
            .sql(&sends_view_sql(sends, engine), "mail_sends")
            .await?,
    )?;
    let consent_events = match &config.datasets.consents {
        Some(consents) => {
            register(
                "fm_consents",
                engine
                    .sql(&consents_view_sql(consents, engine), "consents")
                    .await?,
            )?;
            "SELECT recipient_token, channel, at AS t, 0 AS kind, action,
                CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS BOOLEAN) AS has_unsubscribe, CAST(NULL AS BOOLEAN) AS one_click_unsubscribe,
                CAST(NULL AS VARCHAR) AS sender_id, CAST(NULL AS VARCHAR) AS recipient_timezone
             FROM fm_consents UNION ALL "
                .to_string()
        }
        None => String::new(),
    };
    validate(engine, config).await?;
    // Consents sort before sends at the same instant (kind 0 < 1), and opt-out after opt-in,
    // so that simultaneous events resolve to the more protective reading.
    let sql = format!(
        "WITH events AS (
            {consent_events}
            SELECT recipient_token, channel, sent_at AS t, 1 AS kind, CAST(NULL AS VARCHAR) AS action,
                campaign, has_unsubscribe, one_click_unsubscribe, sender_id, recipient_timezone
            FROM fm_mail_sends),
        islands AS (
            SELECT *, count(action) OVER (PARTITION BY recipient_token, channel ORDER BY t, kind, action ROWS UNBOUNDED PRECEDING) AS island
            FROM events),
        judged AS (
            SELECT *,
                first_value(action) OVER (PARTITION BY recipient_token, channel, island ORDER BY t, kind, action ROWS UNBOUNDED PRECEDING) AS status,
                first_value(t) OVER (PARTITION BY recipient_token, channel, island ORDER BY t, kind, action ROWS UNBOUNDED PRECEDING) AS status_at
            FROM islands)
        SELECT recipient_token, channel, campaign, t AS sent_at,
            CASE WHEN island = 0 THEN NULL ELSE status END AS status,
            CASE WHEN island = 0 THEN NULL ELSE status_at END AS status_at,
            has_unsubscribe, one_click_unsubscribe, sender_id, recipient_timezone
        FROM judged WHERE kind = 1"
    );
    let judged = engine
        .sql(&sql, "mail_sends")
        .await?
        .cache()
        .await
        .map_err(|e| Error::from(e).in_dataset("mail_sends", &sends.path))?;
    register("fm_sends_judged", judged)?;
    Ok(())
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
        known AS (SELECT DISTINCT recipient_token, channel FROM fm_mail_sends UNION SELECT recipient_token, channel FROM latest)
        SELECT k.recipient_token, k.channel,
            CASE WHEN l.latest = 'opt_out' THEN 'opted_out' ELSE 'no_consent' END AS reason
        FROM known k LEFT JOIN latest l ON k.recipient_token = l.recipient_token AND k.channel = l.channel
        WHERE l.latest = 'opt_out' OR ((l.latest IS NULL) AND k.channel IN ({required}))
        ORDER BY k.recipient_token, k.channel"
    );
    engine.sql(&sql, "mail_sends").await
}
