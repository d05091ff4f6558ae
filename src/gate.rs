//! `check-rules`' gate on a change to the pricing rules: the checks that judge a rules file run
//! on the head rules and, with a base, on the base rules too; each head finding is then new or
//! persisting and each base finding the change removed is resolved, by the same comparison as
//! `audit --baseline` ([`crate::baseline::compare`]). Nothing here reads files or prints.

use std::sync::Arc;

use crate::baseline;
use crate::checks::{self, Check, CheckRun, Context, Need};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::policy::EffectivePolicy;
use crate::pricing::{self, rules::RulesFile};
use crate::pseudonym::Key;
use crate::report::GateReport;

/// Judges `head` (and `base`, when given) with every check that reads pricing rules; the
/// simulation runs when the config has an orders dataset.
pub async fn run(
    config: &Config,
    policy: &EffectivePolicy,
    head: &RulesFile,
    base: Option<&RulesFile>,
    fail_on: Severity,
) -> Result<GateReport> {
    // The simulation needs the datasets (and so the key); without an orders dataset the gate is
    // static analysis only.
    let engine = match &config.datasets.orders {
        Some(_) => {
            let key = Arc::new(Key::load(&config.key, &config.base_dir)?);
            // The simulation reads customers and orders; the mail datasets are not opened.
            Some(
                Engine::open_only(config, crate::functions::all(key), |role| {
                    role == "customers" || role == "orders"
                })
                .await?,
            )
        }
        None => None,
    };
    let quiet = |_: &str| {};
    let mut cx = Context::new(config, policy, Some(head), engine.as_ref(), &quiet);
    // The gate's checks read the features only through the rules' conditions.
    let names_totals = |rules: &RulesFile| rules.names_any(pricing::ORDER_TOTALS);
    if !names_totals(head) && !base.is_some_and(names_totals) {
        cx = cx.without_order_totals();
    }
    let (mut findings, runs) = rule_findings(&cx).await?;
    let resolved = match base {
        Some(base) => {
            // Base findings point at the head's file name, so resolved findings read naturally.
            let base = RulesFile {
                path: head.path.clone(),
                rules: base.rules.clone(),
            };
            let (before, _) = rule_findings(&cx.with_rules(Some(&base))).await?;
            baseline::compare(&before, &mut findings)
        }
        None => Vec::new(),
    };
    Ok(GateReport::new(
        head.path.clone(),
        fail_on,
        base.is_some(),
        findings,
        resolved,
        runs,
    ))
}

/// The findings of the checks that judge a rules file, on the rules of `cx`, and how each of
/// those checks ran; a check whose data is missing (the simulation without datasets) does not
/// run.
async fn rule_findings(cx: &Context<'_>) -> Result<(Vec<Finding>, Vec<CheckRun>)> {
    let reads_rules = |check: &dyn Check| check.needs().contains(&Need::PricingRules);
    let ran = checks::run(cx, reads_rules).await?;
    let runs = ran
        .runs
        .into_iter()
        .filter(|run| checks::find(run.id).is_some_and(reads_rules))
        .collect();
    Ok((ran.findings, runs))
}
