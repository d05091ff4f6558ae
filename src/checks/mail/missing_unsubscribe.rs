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
