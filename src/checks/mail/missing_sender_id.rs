#![doc = include_str!("missing_sender_id.md")]

use super::{per_campaign, sends_map};
use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "mail.missing-sender-id",
    "mail",
    "Sender not identified",
    "未标明发送者身份",
    Severity::Medium,
    "missing_sender_id.md",
    NoSettings
);

check!(
    MissingSenderId,
    INFO,
    needs: &[Need::Table(Table::JudgedSends)],
    run: |cx, check| {
        if !sends_map(cx, |s| s.sender_id.is_some()) {
            return Ok(Outcome::Skipped("the sends map no sender_id".into()));
        }
        let predicate = "(sender_id IS NULL OR trim(sender_id) = '')";
        let what = "messages do not identify the sender";
        per_campaign(cx, &INFO, check, predicate, what).await
    }
);
