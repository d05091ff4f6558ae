//! `fairmark probe`: price discrimination measured from outside, as Mikians et al. (2012) and
//! Hannak et al. (2014) measured it. Most shops price from a service, not a rules file; the
//! probe asks that service for quotes to matched twins (real customers' features, identical
//! but for one attribute) and hands the answers to the probe checks
//! (`checks::pricing::probe_*`). Data flows: config → [`inputs`] (profiles, SKUs, conditions,
//! groups, from the customer features) → [`plan`] (the twins) → [`client`] (asks, logs to [`log`]) → answers → checks → report. [`server`] is
//! a small price API for the demo and the tests.

pub mod client;
pub mod inputs;
pub mod log;
pub mod plan;
pub mod server;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::config::probe::{ProbeConfig, TemplateValue};
use crate::config_errors::{quoted_or, shown_or};
use crate::derived::probe_answers::{AnsweredPair, ProbeAnswers};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::policy::EffectivePolicy;
use client::{Command, Http, Manners, Transport};
use plan::Template;

/// What the probe did, for the report's `probe` section: how much it asked, what came back,
/// how long it took. Failures and malformed answers are counted here, never dropped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeSummary {
    /// The endpoint (without any user or password in it), or the command.
    pub service: String,
    pub skus: usize,
    pub base_profiles: usize,
    pub comparisons: Vec<String>,
    /// The trading conditions every twin was sent (the shop's commonest).
    pub conditions: serde_json::Map<String, serde_json::Value>,
    pub pairs_planned: usize,
    /// Pairs with both prices, from this run or the log.
    pub pairs_answered: usize,
    /// Pairs whose answers were taken from the log of an earlier run.
    pub pairs_from_log: usize,
    pub requests_planned: u64,
    /// Requests sent in this run, retries included.
    pub requests_made: u64,
    pub requests_retried: u64,
    pub requests_answered: u64,
    /// Given up on after their retries (by class in `errors`).
    pub requests_failed: u64,
    /// Answered without a readable price.
    pub requests_malformed: u64,
    pub errors: BTreeMap<String, u64>,
    pub budget: u64,
    /// The budget ran out before every pair was asked: run again with the same log to go on.
    pub stopped_by_budget: bool,
    /// Every planned pair has both prices.
    pub complete: bool,
    pub seconds: f64,
    pub log: String,
}

/// The answers for the checks and the summary for the report.
pub struct Probed {
    pub answers: ProbeAnswers,
    pub summary: ProbeSummary,
}

/// The service as the report names it: an endpoint without credentials, or the command.
fn service_name(probe: &ProbeConfig) -> String {
    match (&probe.endpoint, &probe.command) {
        (Some(endpoint), _) => {
            let rest = endpoint.trim_start_matches("http://");
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("http://{host}{path}")
        }
        (None, Some(command)) => command.join(" "),
        (None, None) => String::new(),
    }
}

/// A request never carries an identifier: a template field naming the customers' id or an
/// identifier column (also listed as an attribute, say) is refused.
fn refuse_identifiers(config: &Config, probe: &ProbeConfig) -> Result<()> {
    let Some(customers) = &config.datasets.customers else {
        return Ok(());
    };
    let identifiers: Vec<String> = customers
        .identifiers
        .keys()
        .chain(std::iter::once(&customers.id))
        .map(|c| c.to_lowercase())
        .collect();
    for (field, value) in &probe.request {
        if let TemplateValue::Written(toml::Value::String(text)) = value
            && identifiers.contains(&text.to_lowercase())
        {
            return Err(Error::config(
                &config.file,
                format!(
                    "[probe] request.{} names {}, an identifier column: a probe sends attribute values, never an identifier",
                    shown_or(field, "(a field not shown)"),
                    quoted_or(text, "a column (name not shown)")
                ),
            ));
        }
    }
    Ok(())
}

/// Plans the twins on the customer features (registered on `engine`), asks the service and
/// returns what it answered. `progress` hears (requests done, requests to do).
pub async fn run(
    engine: &Engine,
    config: &Config,
    policy: &EffectivePolicy,
    probe: &ProbeConfig,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Probed> {
    refuse_identifiers(config, probe)?;
    let known = crate::pricing::known_attributes(config);
    let template = Template::resolve(probe, &known, &config.file)?;
    let inputs = inputs::gather(engine, config, policy, probe, &template).await?;
    let plan::Contrasts {
        made: contrasts,
        not_probed,
        compared: protected_compared,
        skipped: protected_skipped,
    } = plan::contrasts(probe, &template, &inputs);
    if contrasts.is_empty() {
        let reasons: Vec<&str> = not_probed.iter().map(|n| n.reason.as_str()).collect();
        return Err(Error::config(
            &config.file,
            format!(
                "[probe]: nothing to compare ({}); map the attributes to probe in `request`",
                if reasons.is_empty() {
                    "no comparison could be built".to_string()
                } else {
                    reasons.join("; ")
                }
            ),
        ));
    }
    let pairs = plan::pairs(&contrasts, &inputs, &template, probe.seed);
    let log_path = config.base_dir.join(&probe.log);
    let (log, from_log) = log::Log::open(&log_path)?;
    let timeout = Duration::from_millis(probe.timeout_ms);
    let transport: Box<dyn Transport> = match (&probe.endpoint, &probe.command) {
        (Some(endpoint), _) => Box::new(Http::new(endpoint, timeout, probe.follow_redirects)),
        (None, Some(command)) => Box::new(Command::new(
            command,
            config.base_dir.clone(),
            timeout,
            probe.concurrency,
        )),
        (None, None) => unreachable!("the config requires a service"),
    };
    let manners = Manners {
        concurrency: probe.concurrency,
        max_rps: probe.max_rps,
        retries: probe.retries,
        budget: probe.budget,
        seed: probe.seed,
        max_error_share: probe.max_error_share,
        price_field: probe.price_field.clone(),
        backoff: Duration::from_millis(100),
    };
    let comparisons: Vec<String> = contrasts.iter().map(|c| c.test.name.clone()).collect();
    let asked = tokio::task::block_in_place(|| {
        client::ask(
            &pairs,
            &comparisons,
            transport.as_ref(),
            &log,
            from_log,
            &manners,
            progress,
        )
    })?;
    drop(transport);

    let mut answers = ProbeAnswers {
        tests: contrasts.iter().map(|c| c.test.clone()).collect(),
        protected_compared,
        protected_skipped,
        not_probed,
        ..ProbeAnswers::default()
    };
    // In plan order (comparison, SKU, profile), whatever order they were asked in.
    let mut ordered: Vec<&plan::PlannedPair> = pairs.iter().collect();
    ordered.sort_by(|a, b| (a.test, &a.sku, a.profile).cmp(&(b.test, &b.sku, b.profile)));
    for pair in ordered {
        *answers
            .planned
            .entry((pair.test, pair.sku.clone()))
            .or_default() += 1;
        if let (Some(treated), Some(reference)) = (
            asked.prices.get(&pair.treated.key),
            asked.prices.get(&pair.reference.key),
        ) {
            answers.pairs.push(AnsweredPair {
                test: pair.test,
                sku: pair.sku.clone(),
                treated_price: *treated,
                reference_price: *reference,
            });
        }
    }
    let tally = asked.tally;
    let summary = ProbeSummary {
        service: service_name(probe),
        skus: inputs.skus.len(),
        base_profiles: inputs.profiles.len(),
        comparisons,
        conditions: inputs.conditions.into_iter().collect(),
        pairs_planned: pairs.len(),
        pairs_answered: answers.pairs.len(),
        pairs_from_log: tally.pairs_from_log,
        requests_planned: 2 * pairs.len() as u64,
        requests_made: tally.made,
        requests_retried: tally.retried,
        requests_answered: tally.answered,
        requests_failed: tally.failed,
        requests_malformed: tally.malformed,
        errors: tally.errors,
        budget: probe.budget,
        stopped_by_budget: tally.budget_exhausted,
        complete: answers.pairs.len() == pairs.len(),
        seconds: (tally.seconds * 100.0).round() / 100.0,
        log: probe.log.clone(),
    };
    Ok(Probed { answers, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_service_without_credentials() {
        let probe: ProbeConfig =
            toml::from_str("endpoint = \"http://ops:secret@staging.internal:8080/v1/price\"")
                .unwrap();
        assert_eq!(
            service_name(&probe),
            "http://staging.internal:8080/v1/price"
        );
    }
}
