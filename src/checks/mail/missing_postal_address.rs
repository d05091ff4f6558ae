#![doc = include_str!("missing_postal_address.md")]

use super::{per_campaign, sends_map};
use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::findings::Severity;
use crate::policy::NoSettings;

check_info!(
    INFO,
    "mail.missing-postal-address",
    "mail",
    "No postal address of the sender",
    "未提供发送者邮政地址",
    Severity::Medium,
    "missing_postal_address.md",
    NoSettings
);

/// CAN-SPAM asks the address of commercial electronic mail only, so texts and pushes are not
/// flagged whatever their flag says.
const PREDICATE: &str = "(channel = 'email' AND postal_address = false)";

check!(
    MissingPostalAddress,
    INFO,
    needs: &[Need::Table(Table::JudgedSends)],
    run: |cx, check| {
        if !sends_map(cx, |s| s.postal_address.is_some()) {
            return Ok(Outcome::Skipped("the sends map no postal_address".into()));
        }
        let what = "messages carry no postal address of the sender";
        per_campaign(cx, &INFO, check, PREDICATE, what).await
    }
);

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;

    use super::*;

    #[tokio::test]
    async fn only_e_mail_whose_flag_is_false_is_flagged() {
        let ctx = datafusion::prelude::SessionContext::new();
        let sql = format!(
            "SELECT CAST(count(*) AS BIGINT) FROM (VALUES
                ('email', false), ('email', true), ('email', CAST(NULL AS BOOLEAN)),
                ('sms', false), ('push', false), ('email', false)
            ) AS s(channel, postal_address) WHERE {PREDICATE}"
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let flagged = batches[0].column(0).as_primitive::<Int64Type>().value(0);
        assert_eq!(flagged, 2);
    }
}
