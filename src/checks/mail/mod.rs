//! Marketing-contact checks over `fm_sends_judged` (each send with the consent status in force
//! at its send time, see [`crate::mail`]). Every check is a predicate on a send; one aggregate
//! per check gives exact counts per campaign and channel.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use serde::Deserialize;

use crate::checks::{CheckInfo, NoSettings};
use crate::engine::{Engine, literal};
use crate::error::Result;
use crate::findings::{Finding, Severity, Subject, share};
use crate::mail::time::{BusinessDeadlineUdf, LocalMinuteUdf};
use crate::policy::{EffectivePolicy, Strictest, Validate, within};

check_info!(
    NO_CONSENT,
    "mail.no-consent",
    "mail",
    "Marketing sent without consent",
    Severity::High,
    "no_consent.md",
    ConsentSettings
);
check_info!(
    AFTER_OPT_OUT,
    "mail.after-opt-out",
    "mail",
    "Marketing sent after an opt-out",
    Severity::Critical,
    "after_opt_out.md",
    OptOutSettings
);
check_info!(
    FREQUENCY_CAP,
    "mail.frequency-cap",
    "mail",
    "Too many messages to one recipient",
    Severity::Medium,
    "frequency_cap.md",
    FrequencySettings
);
check_info!(
    QUIET_HOURS,
    "mail.quiet-hours",
    "mail",
    "Messages sent in quiet hours",
    Severity::Medium,
    "quiet_hours.md",
    QuietSettings
);
check_info!(
    MISSING_UNSUBSCRIBE,
    "mail.missing-unsubscribe",
    "mail",
    "No way to unsubscribe",
    Severity::High,
    "missing_unsubscribe.md",
    UnsubscribeSettings
);
check_info!(
    MISSING_SENDER_ID,
    "mail.missing-sender-id",
    "mail",
    "Sender not identified",
    Severity::Medium,
    "missing_sender_id.md",
    NoSettings
);
check_info!(
    UNSOLICITED_BULK,
    "mail.unsolicited-bulk",
    "mail",
    "Campaign without consent (spam)",
    Severity::Critical,
    "unsolicited_bulk.md",
    BulkSettings
);

pub const ALL: [&CheckInfo; 7] = [
    &NO_CONSENT,
    &AFTER_OPT_OUT,
    &FREQUENCY_CAP,
    &QUIET_HOURS,
    &MISSING_UNSUBSCRIBE,
    &MISSING_SENDER_ID,
    &UNSOLICITED_BULK,
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentSettings {
    /// Channels on which marketing needs a prior opt-in.
    pub opt_in_required: Vec<String>,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        ConsentSettings {
            opt_in_required: vec!["email".into(), "sms".into(), "push".into()],
        }
    }
}

impl Strictest for ConsentSettings {
    fn strictest(mut self, other: Self) -> Self {
        self.opt_in_required.extend(other.opt_in_required);
        self.opt_in_required.sort();
        self.opt_in_required.dedup();
        self
    }
}

impl Validate for ConsentSettings {
    fn validate(&self) -> Result<(), String> {
        self.opt_in_required
            .iter()
            .try_for_each(|channel| known_channel("opt_in_required", channel))
    }
}

/// A channel a pack names must be one the sends can carry (they are lowercased on reading),
/// or the setting would silently never apply.
fn known_channel(key: &str, channel: &str) -> Result<(), String> {
    if crate::mail::CHANNELS.contains(&channel) {
        return Ok(());
    }
    Err(format!(
        "{key}: channel {channel:?} must be one of {}",
        crate::mail::CHANNELS.join(", ")
    ))
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptOutSettings {
    pub grace_days: i64,
    pub grace_business_days: i64,
}

impl Strictest for OptOutSettings {
    fn strictest(self, other: Self) -> Self {
        // A pack's grace is in business days when it gives them, else in calendar days. N
        // business days never end before N calendar days, so two business-day graces merge to
        // the shorter, and any calendar-day grace in the mix to the smallest number of either,
        // counted in calendar days: never later than any pack's deadline (possibly a day or two
        // earlier than a business-day pack's alone), and the same in any order.
        let days = |s: &Self| {
            if s.grace_business_days > 0 {
                s.grace_business_days
            } else {
                s.grace_days
            }
        };
        let shortest = days(&self).min(days(&other));
        if self.grace_business_days > 0 && other.grace_business_days > 0 {
            OptOutSettings {
                grace_days: 0,
                grace_business_days: shortest,
            }
        } else {
            OptOutSettings {
                grace_days: shortest,
                grace_business_days: 0,
            }
        }
    }
}

/// The longest grace a pack may give, in calendar or business days.
const MAX_GRACE_DAYS: i64 = 90;

/// One grace, 0 to 90 days of one kind: when both are set the business days would silently
/// win.
impl Validate for OptOutSettings {
    fn validate(&self) -> Result<(), String> {
        within("grace_days", self.grace_days, 0..=MAX_GRACE_DAYS)?;
        within(
            "grace_business_days",
            self.grace_business_days,
            0..=MAX_GRACE_DAYS,
        )?;
        if self.grace_days > 0 && self.grace_business_days > 0 {
            return Err(
                "grace_days and grace_business_days are both set; give the grace in one of them"
                    .into(),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrequencySettings {
    pub max_messages: u64,
    pub window_days: u64,
}

impl Default for FrequencySettings {
    fn default() -> Self {
        FrequencySettings {
            max_messages: 4,
            window_days: 7,
        }
    }
}

impl Strictest for FrequencySettings {
    fn strictest(self, other: Self) -> Self {
        FrequencySettings {
            max_messages: self.max_messages.min(other.max_messages),
            window_days: self.window_days.max(other.window_days),
        }
    }
}

/// At least one message; a window of 1 to 366 days (a year, leap day included).
impl Validate for FrequencySettings {
    fn validate(&self) -> Result<(), String> {
        within("max_messages", self.max_messages, 1..)?;
        within("window_days", self.window_days, 1..=366)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuietSettings {
    /// IANA zone for recipients without one of their own.
    pub timezone: String,
    /// Channel → [start, end) local times, e.g. `sms = ["21:00", "08:00"]`.
    pub quiet: BTreeMap<String, [String; 2]>,
}

impl Default for QuietSettings {
    fn default() -> Self {
        QuietSettings {
            timezone: "Asia/Shanghai".into(),
            quiet: BTreeMap::new(),
        }
    }
}

impl Strictest for QuietSettings {
    fn strictest(self, other: Self) -> Self {
        // The check evaluates one fallback zone and one window per channel, so packs that differ
        // merge by fixed rules, the same in any order: the zone whose name sorts first, and per
        // channel the longer window (the union when one contains the other), ties to the earlier
        // start. Every channel any pack makes quiet stays quiet.
        let mut quiet = self.quiet;
        for (channel, window) in other.quiet {
            let merged = match quiet.remove(&channel) {
                Some(mine) => longer_window(mine, window),
                None => window,
            };
            quiet.insert(channel, merged);
        }
        QuietSettings {
            timezone: self.timezone.min(other.timezone),
            quiet,
        }
    }
}

/// The longer of two quiet windows, ties to the earlier start, written `HH:MM`.
fn longer_window(a: [String; 2], b: [String; 2]) -> [String; 2] {
    let reading = |[start, end]: &[String; 2]| {
        let (start, end) = (minutes(start)?, minutes(end)?);
        let length = (end - start).rem_euclid(24 * 60);
        Some((length, std::cmp::Reverse(start), end))
    };
    let clock = |minute: i64| format!("{:02}:{:02}", minute / 60, minute % 60);
    match reading(&a).max(reading(&b)) {
        Some((_, std::cmp::Reverse(start), end)) => [clock(start), clock(end)],
        // Validated packs always parse; unparsed windows still merge the same in any order.
        None => a.min(b),
    }
}

/// The zone must exist (the same parse as the check's); each window two different `HH:MM`
/// times of day, on a known channel.
impl Validate for QuietSettings {
    fn validate(&self) -> Result<(), String> {
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "timezone = {:?} is not an IANA time zone (e.g. \"Asia/Shanghai\", \"America/New_York\")",
                self.timezone
            ));
        }
        for (channel, [start, end]) in &self.quiet {
            let key = format!("quiet.{channel}");
            known_channel(&key, channel)?;
            for time in [start, end] {
                if minutes(time).is_none() {
                    return Err(format!(
                        "{key} = [{start:?}, {end:?}]: {time:?} is not a time of day (HH:MM, 00:00 to 23:59)"
                    ));
                }
            }
            if minutes(start) == minutes(end) {
                return Err(format!(
                    "{key} = [{start:?}, {end:?}] is empty: the window starts and ends at the same time"
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnsubscribeSettings {
    pub one_click_min_messages: u64,
}

impl Default for UnsubscribeSettings {
    fn default() -> Self {
        UnsubscribeSettings {
            one_click_min_messages: 5000,
        }
    }
}

impl Strictest for UnsubscribeSettings {
    fn strictest(self, other: Self) -> Self {
        UnsubscribeSettings {
            one_click_min_messages: self
                .one_click_min_messages
                .min(other.one_click_min_messages),
        }
    }
}

impl Validate for UnsubscribeSettings {
    fn validate(&self) -> Result<(), String> {
        within("one_click_min_messages", self.one_click_min_messages, 1..)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BulkSettings {
    pub min_messages: u64,
    pub min_share: f64,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings {
            min_messages: 100,
            min_share: 0.05,
        }
    }
}

impl Strictest for BulkSettings {
    fn strictest(self, other: Self) -> Self {
        BulkSettings {
            min_messages: self.min_messages.min(other.min_messages),
            min_share: self.min_share.min(other.min_share),
        }
    }
}

/// At least one message; a share in [0, 1].
impl Validate for BulkSettings {
    fn validate(&self) -> Result<(), String> {
        within("min_messages", self.min_messages, 1..)?;
        within("min_share", self.min_share, 0.0..=1.0)
    }
}

fn minutes(text: &str) -> Option<i64> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    ((0..24).contains(&hours) && (0..60).contains(&minutes)).then_some(hours * 60 + minutes)
}

fn channel_list(channels: &[String]) -> String {
    if channels.is_empty() {
        "''".to_string()
    } else {
        channels
            .iter()
            .map(|c| literal(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The predicate of a send without valid consent (no opt-in where required, or after an
/// opt-out beyond the grace period), shared by three checks. The grace period is half-open,
/// like the consent order in [`crate::mail`]: a send at exactly the opt-out time plus the grace
/// (with no grace: at exactly the opt-out time) is after the opt-out.
fn without_consent(consent: &ConsentSettings, opt_out: &OptOutSettings) -> (String, String) {
    let no_consent = format!(
        "(status IS NULL AND channel IN ({}))",
        channel_list(&consent.opt_in_required)
    );
    let deadline = if opt_out.grace_business_days > 0 {
        format!(
            "{}(status_at, {})",
            BusinessDeadlineUdf::NAME,
            opt_out.grace_business_days
        )
    } else {
        format!("status_at + INTERVAL '{} days'", opt_out.grace_days.max(0))
    };
    let after_opt_out = format!("(status = 'opt_out' AND sent_at >= {deadline})");
    (no_consent, after_opt_out)
}

/// The judged sends with the size of their campaign on their channel, for predicates that only
/// apply to bulk campaigns.
const WITH_CAMPAIGN_SIZE: &str = "(SELECT *, count(*) OVER (PARTITION BY campaign, channel) AS campaign_messages FROM fm_sends_judged)";

/// The judged sends, each with its number among the messages to its recipient on its channel
/// in the `window_days` × 24 hours up to it: one millisecond less than that many days back,
/// to the message itself. Messages of one instant count one after another in campaign order,
/// so exactly the messages beyond the cap are excess however many share an instant (five at
/// once under a cap of four: one), and which one is charged does not depend on how the rows
/// were read. Sends of one campaign at one instant are interchangeable to the counts.
fn numbered_in_window(window_days: u64) -> String {
    format!(
        "(SELECT *, in_window - at_instant + position AS number_in_window FROM (
            SELECT *,
                count(*) OVER (PARTITION BY recipient_token, channel ORDER BY sent_at RANGE BETWEEN INTERVAL '{} milliseconds' PRECEDING AND CURRENT ROW) AS in_window,
                count(*) OVER (PARTITION BY recipient_token, channel, sent_at) AS at_instant,
                row_number() OVER (PARTITION BY recipient_token, channel, sent_at ORDER BY campaign) AS position
            FROM fm_sends_judged))",
        (window_days * 86_400_000).saturating_sub(1)
    )
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

async fn count_by_campaign(
    engine: &Engine,
    from: &str,
    predicate: &str,
) -> Result<Vec<CampaignCount>> {
    let sql = format!(
        "WITH sends AS (SELECT *, ({predicate}) AS violating FROM {from}),
        examples AS (
            SELECT campaign, channel, string_agg(recipient_token, ' ' ORDER BY recipient_token) AS tokens FROM (
                SELECT campaign, channel, recipient_token, row_number() OVER (PARTITION BY campaign, channel ORDER BY recipient_token) AS n
                FROM (SELECT DISTINCT campaign, channel, recipient_token FROM sends WHERE violating)) WHERE n <= 3
            GROUP BY campaign, channel)
        SELECT s.campaign, s.channel, CAST(count(*) AS BIGINT) AS messages,
            CAST(sum(CASE WHEN s.violating THEN 1 ELSE 0 END) AS BIGINT) AS violations,
            CAST(count(DISTINCT CASE WHEN s.violating THEN s.recipient_token END) AS BIGINT) AS recipients,
            CAST(min(CASE WHEN s.violating THEN s.sent_at END) AS VARCHAR) AS first_at,
            CAST(max(CASE WHEN s.violating THEN s.sent_at END) AS VARCHAR) AS last_at,
            max(e.tokens) AS examples
        FROM sends s LEFT JOIN examples e ON s.campaign = e.campaign AND s.channel = e.channel
        GROUP BY s.campaign, s.channel ORDER BY s.campaign, s.channel"
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
            let violations = number(3, row);
            if violations == 0 {
                continue;
            }
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
                violations,
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
            "{} of the {} {} messages of campaign `{}` ({:.1}%) {what}, to {} recipients, between {} and {}.",
            count.violations,
            count.messages,
            count.channel,
            count.campaign,
            100.0 * share(count.violations, count.messages),
            count.recipients,
            count.first,
            count.last
        ),
    )
    .with_evidence("messages", count.violations)
    .with_evidence("campaign_messages", count.messages)
    .with_evidence("share", share(count.violations, count.messages))
    .with_evidence("recipients", count.recipients)
    .with_evidence("first_sent_at", count.first.clone())
    .with_evidence("last_sent_at", count.last.clone())
    .with_evidence("example_recipients", count.examples.join(", "))
    .with_legal_bases(legal)
}

/// Runs every enabled mail check; returns findings per check id, or the reason it was skipped.
pub async fn run(
    engine: &Engine,
    config: &crate::config::Config,
    policy: &EffectivePolicy,
) -> Result<Vec<(&'static str, std::result::Result<Vec<Finding>, String>)>> {
    let consent: ConsentSettings = policy.settings(NO_CONSENT.id)?;
    let opt_out: OptOutSettings = policy.settings(AFTER_OPT_OUT.id)?;
    let (no_consent, after_opt_out) = without_consent(&consent, &opt_out);
    let sends = config
        .datasets
        .mail_sends
        .as_ref()
        .expect("run only with sends");
    let has_consents = config.datasets.consents.is_some();
    let mut results = Vec::new();
    let simple = |info: &'static CheckInfo,
                  predicate: Option<String>,
                  what: &'static str,
                  skip: &str| (info, predicate, what, skip.to_string());
    // Without consent records nothing can be said about consent: those checks are skipped, not
    // turned into "every message lacks consent".
    let no_consents = "no consents dataset, so consent cannot be judged";
    let mut plans = vec![
        simple(
            &NO_CONSENT,
            has_consents.then(|| no_consent.clone()),
            "messages were sent without consent on record",
            no_consents,
        ),
        simple(
            &AFTER_OPT_OUT,
            has_consents.then(|| after_opt_out.clone()),
            "messages were sent after the recipient opted out",
            no_consents,
        ),
        simple(
            &MISSING_SENDER_ID,
            sends
                .sender_id
                .as_ref()
                .map(|_| "(sender_id IS NULL OR trim(sender_id) = '')".to_string()),
            "messages do not identify the sender",
            "the sends map no sender_id",
        ),
    ];
    let unsubscribe: UnsubscribeSettings = policy.settings(MISSING_UNSUBSCRIBE.id)?;
    let unsubscribe_predicate = match (&sends.has_unsubscribe, &sends.one_click_unsubscribe) {
        (None, None) => None,
        _ => Some(format!(
            "(has_unsubscribe = false OR (channel = 'email' AND one_click_unsubscribe = false AND campaign_messages >= {}))",
            unsubscribe.one_click_min_messages
        )),
    };
    plans.push(simple(
        &MISSING_UNSUBSCRIBE,
        unsubscribe_predicate,
        "messages offer no (one-click) way to unsubscribe",
        "the sends map neither has_unsubscribe nor one_click_unsubscribe",
    ));
    let quiet: QuietSettings = policy.settings(QUIET_HOURS.id)?;
    let windows: Vec<String> = quiet
        .quiet
        .iter()
        .filter_map(|(channel, [start, end])| {
            let (start, end) = (minutes(start)?, minutes(end)?);
            let minute = format!(
                "{}(sent_at, recipient_timezone, {})",
                LocalMinuteUdf::NAME,
                literal(&quiet.timezone)
            );
            let inside = if start <= end {
                format!("({minute} >= {start} AND {minute} < {end})")
            } else {
                format!("({minute} >= {start} OR {minute} < {end})")
            };
            Some(format!("(channel = {} AND {inside})", literal(channel)))
        })
        .collect();
    plans.push(simple(
        &QUIET_HOURS,
        (!windows.is_empty()).then(|| windows.join(" OR ")),
        "messages were sent inside quiet hours",
        "the policy sets no quiet hours",
    ));
    for (info, predicate, what, skip) in plans {
        let Some(check) = policy.check(info.id) else {
            continue;
        };
        let outcome = match predicate {
            Some(p) => Ok(count_by_campaign(engine, WITH_CAMPAIGN_SIZE, &p)
                .await?
                .iter()
                .map(|c| campaign_finding(info, check.severity, c, what, &check.legal_bases))
                .collect()),
            None => Err(skip),
        };
        results.push((info.id, outcome));
    }

    if let Some(check) = policy.check(FREQUENCY_CAP.id) {
        let cap: FrequencySettings = policy.settings(FREQUENCY_CAP.id)?;
        let counts = count_by_campaign(
            engine,
            &numbered_in_window(cap.window_days),
            &format!("number_in_window > {}", cap.max_messages),
        )
        .await?;
        let what = "messages exceeded the frequency cap";
        let found = counts
            .iter()
            .map(|c| {
                campaign_finding(&FREQUENCY_CAP, check.severity, c, what, &check.legal_bases)
                    .with_evidence("max_messages", cap.max_messages)
                    .with_evidence("window_days", cap.window_days)
            })
            .collect();
        results.push((FREQUENCY_CAP.id, Ok(found)));
    }

    if let Some(check) = policy.check(UNSOLICITED_BULK.id) {
        if !has_consents {
            results.push((UNSOLICITED_BULK.id, Err(no_consents.to_string())));
            return Ok(results);
        }
        let bulk: BulkSettings = policy.settings(UNSOLICITED_BULK.id)?;
        let predicate = format!("({no_consent} OR {after_opt_out})");
        let counts = count_by_campaign(engine, "fm_sends_judged", &predicate).await?;
        let found = counts
            .iter()
            .filter(|c| {
                c.violations >= bulk.min_messages
                    || (c.messages >= bulk.min_messages
                        && share(c.violations, c.messages) >= bulk.min_share)
            })
            .map(|c| {
                campaign_finding(
                    &UNSOLICITED_BULK,
                    check.severity,
                    c,
                    "messages lacked valid consent: unsolicited bulk messaging",
                    &check.legal_bases,
                )
            })
            .collect();
        results.push((UNSOLICITED_BULK.id, Ok(found)));
    }
    Ok(results)
}

/// The channels on which the policy requires opt-in, for the suppression list.
pub fn opt_in_required(policy: &EffectivePolicy) -> Result<Vec<String>> {
    let consent: ConsentSettings = policy.settings(NO_CONSENT.id)?;
    Ok(if policy.check(NO_CONSENT.id).is_some() {
        consent.opt_in_required
    } else {
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_parse_and_reject_nonsense() {
        assert_eq!(minutes("21:00"), Some(1260));
        assert_eq!(minutes(" 8:05"), Some(485));
        assert_eq!(minutes("24:00"), None);
        assert_eq!(minutes("nine"), None);
    }

    /// `number_in_window` of each send, in `(campaign, sent_at)` order, for sends of one
    /// recipient written in the given order.
    async fn numbers(sends: &[(&str, &str)], window_days: u64) -> Vec<(String, String, i64)> {
        use datafusion::arrow::array::AsArray;
        let ctx = datafusion::prelude::SessionContext::new();
        let rows = sends
            .iter()
            .map(|(campaign, at)| format!("('t1', 'email', '{campaign}', TIMESTAMP '{at}')"))
            .collect::<Vec<_>>()
            .join(", ");
        ctx.sql(&format!(
            "CREATE VIEW fm_sends_judged AS SELECT * FROM (VALUES {rows}) AS s(recipient_token, channel, campaign, sent_at)"
        ))
        .await
        .unwrap();
        let sql = format!(
            "SELECT campaign, CAST(sent_at AS VARCHAR) AS at, number_in_window FROM {} ORDER BY at, number_in_window",
            numbered_in_window(window_days)
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

    #[test]
    fn an_opt_out_is_in_force_from_its_own_instant() {
        let (_, after) = without_consent(&ConsentSettings::default(), &OptOutSettings::default());
        assert_eq!(
            after,
            "(status = 'opt_out' AND sent_at >= status_at + INTERVAL '0 days')"
        );
    }

    #[test]
    fn the_us_grace_period_counts_business_days() {
        let (_, after) = without_consent(
            &ConsentSettings::default(),
            &OptOutSettings {
                grace_days: 0,
                grace_business_days: 10,
            },
        );
        assert!(
            after.contains("fm_business_deadline(status_at, 10)"),
            "{after}"
        );
        let (none, after) = without_consent(
            &ConsentSettings {
                opt_in_required: vec!["sms".into()],
            },
            &OptOutSettings::default(),
        );
        assert!(
            none.contains("'sms'") && after.contains("INTERVAL '0 days'"),
            "{none} {after}"
        );
    }
}
