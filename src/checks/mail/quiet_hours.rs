#![doc = include_str!("quiet_hours.md")]

use std::collections::BTreeMap;

use serde::Deserialize;

use super::consent::known_channel;
use super::per_campaign;
use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::engine::literal;
use crate::error::Result;
use crate::findings::Severity;
use crate::mail_time::LocalMinuteUdf;
use crate::policy::{Strictest, Validate};

check_info!(
    INFO,
    "mail.quiet-hours",
    "mail",
    "Messages sent in quiet hours",
    "在免打扰时段发送",
    Severity::Medium,
    "quiet_hours.md",
    Settings
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// IANA zone for recipients without one of their own.
    pub timezone: String,
    /// Channel → [start, end) local times, e.g. `sms = ["21:00", "08:00"]`.
    pub quiet: BTreeMap<String, [String; 2]>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: "Asia/Shanghai".into(),
            quiet: BTreeMap::new(),
        }
    }
}

impl Strictest for Settings {
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
        Settings {
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
impl Validate for Settings {
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

/// Minutes after midnight of an `HH:MM` time of day.
fn minutes(text: &str) -> Option<i64> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    ((0..24).contains(&hours) && (0..60).contains(&minutes)).then_some(hours * 60 + minutes)
}

/// A send inside its channel's quiet window, in the recipient's zone or else the policy's;
/// `None` when the policy sets no window.
pub(super) fn inside_quiet_hours(quiet: &Settings) -> Option<String> {
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
    (!windows.is_empty()).then(|| windows.join(" OR "))
}

check!(
    QuietHours,
    INFO,
    needs: &[Need::Table(Table::JudgedSends)],
    run: |cx, check| {
        let quiet: Settings = cx.policy.settings(INFO.id)?;
        let Some(inside) = inside_quiet_hours(&quiet) else {
            return Ok(Outcome::Skipped("the policy sets no quiet hours".into()));
        };
        let what = "messages were sent inside quiet hours";
        per_campaign(cx, &INFO, check, &inside, what).await
    }
);

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

    #[test]
    fn a_window_across_midnight_is_the_union_of_its_two_ends() {
        let quiet = Settings {
            timezone: "America/New_York".into(),
            quiet: BTreeMap::from([("sms".to_string(), ["21:00".into(), "08:00".into()])]),
        };
        let inside = inside_quiet_hours(&quiet).unwrap();
        assert!(inside.starts_with("(channel = 'sms' AND ("), "{inside}");
        assert!(
            inside.contains(">= 1260 OR ") && inside.contains("< 480)"),
            "{inside}"
        );
        assert_eq!(inside_quiet_hours(&Settings::default()), None);
    }
}
