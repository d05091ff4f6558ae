#![doc = include_str!("missing_sender_id.md")]

use futures::future::BoxFuture;

use super::{per_campaign, sends_map};
use crate::checks::{Check, CheckInfo, Context, Need, Outcome, Table};
use crate::error::Result;
use crate::findings::Severity;
use crate::policy::{EffectiveCheck, NoSettings};

check_info!(
    INFO,
    "mail.missing-sender-id",
    "mail",
    "Sender not identified",
    Severity::Medium,
    "missing_sender_id.md",
    NoSettings
);

pub struct MissingSenderId;

impl Check for MissingSenderId {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Table(Table::JudgedSends)]
    }

    fn run<'a>(
        &'a self,
        cx: &'a Context<'a>,
        check: &'a EffectiveCheck,
    ) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            if !sends_map(cx, |s| s.sender_id.is_some()) {
                return Ok(Outcome::Skipped("the sends map no sender_id".into()));
            }
            let predicate = "(sender_id IS NULL OR trim(sender_id) = '')";
            let what = "messages do not identify the sender";
            per_campaign(cx, &INFO, check, predicate, what).await
        })
    }
}
