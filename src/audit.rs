//! One audit: open the engine on the configured datasets, run every enabled check that has
//! the data it needs, build the segmentation, and return findings with what ran and what was
//! skipped. Nothing here prints or writes; the CLI renders and writes the result.

use std::sync::Arc;

use crate::checks::mail;
use crate::checks::pricing::{observed, rule_analysis, simulated_disparity};
use crate::checks::privacy::{k_anonymity, undeclared_pii};
use crate::checks::{self, CheckRun, CheckStatus};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Result;
use crate::findings::{self, Finding};
use crate::policy::EffectivePolicy;
use crate::pricing;
use crate::pseudonym::Key;
use crate::segment::{self, Segmentation};

pub struct Audit {
    pub engine: Engine,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
    pub segmentation: Option<Segmentation>,
    /// Recipient tokens not to contact, when the config has mail sends.
    pub suppression: Option<datafusion::prelude::DataFrame>,
}

/// What ran, what was skipped and why, and the findings so far.
#[derive(Default)]
struct Ledger {
    findings: Vec<Finding>,
    runs: Vec<CheckRun>,
}

impl Ledger {
    fn ran(&mut self, id: &'static str, found: Vec<Finding>) {
        self.runs.push(CheckRun {
            id,
            status: CheckStatus::Ran {
                findings: found.len(),
            },
        });
        self.findings.extend(found);
    }

    fn skipped(&mut self, id: &'static str, reason: &str) {
        self.runs.push(CheckRun {
            id,
            status: CheckStatus::Skipped {
                reason: reason.to_string(),
            },
        });
    }

    fn has(&self, id: &str) -> bool {
        self.runs.iter().any(|r| r.id == id)
    }
}

/// Runs the audit; `progress` hears the name of each phase as it starts.
pub async fn run(
    config: &Config,
    key: Arc<Key>,
    policy: &EffectivePolicy,
    progress: &dyn Fn(&str),
) -> Result<Audit> {
    // Rules first: a rules file that does not parse is a config error, before any scan.
    let rules = pricing::load_rules(config)?;
    progress("reading datasets");
    let engine = Engine::open(config, key).await?;
    let mut ledger = Ledger::default();

    if policy.check(undeclared_pii::ID).is_some() {
        progress("scanning for undeclared identifiers");
        ledger.ran(
            undeclared_pii::ID,
            undeclared_pii::run(&engine, config, policy).await?,
        );
    }

    let reference_date = match config.datasets.orders {
        Some(_) => Some(segment::reference_date(&engine, config).await?),
        None => None,
    };
    let anonymity_settings: k_anonymity::Settings = policy.settings(k_anonymity::ID)?;
    let segmentation = match reference_date {
        Some(date) => {
            progress("segmenting customers");
            Some(segment::build(&engine, config, &anonymity_settings.requirement(), date).await?)
        }
        None => None,
    };
    if let Some(check) = policy.check(k_anonymity::ID) {
        match segmentation.as_ref().map(|s| &s.summary.anonymity) {
            None => ledger.skipped(
                k_anonymity::ID,
                "no orders dataset, so no segmentation is published",
            ),
            Some(None) => ledger.skipped(
                k_anonymity::ID,
                "the customers dataset maps no quasi_identifiers",
            ),
            Some(Some(report)) => ledger.ran(
                k_anonymity::ID,
                k_anonymity::run(report, check, &anonymity_settings),
            ),
        }
    }

    progress("analysing pricing");
    match &rules {
        Some(rules) => {
            let found = rule_analysis::run(rules, policy);
            for info in rule_analysis::ALL
                .iter()
                .filter(|i| policy.check(i.id).is_some())
            {
                ledger.ran(
                    info.id,
                    found
                        .iter()
                        .filter(|f| f.check == info.id)
                        .cloned()
                        .collect(),
                );
            }
        }
        None => {
            for info in rule_analysis::ALL
                .iter()
                .filter(|i| policy.check(i.id).is_some())
            {
                ledger.skipped(info.id, "the config names no pricing_rules file");
            }
        }
    }
    if let Some(date) = reference_date {
        pricing::register_features(&engine, config, date).await?;
    }
    if policy.check(simulated_disparity::ID).is_some() {
        match (&rules, reference_date) {
            (Some(rules), Some(_)) => ledger.ran(
                simulated_disparity::ID,
                simulated_disparity::run(&engine, config, rules, policy).await?,
            ),
            (None, _) => ledger.skipped(
                simulated_disparity::ID,
                "the config names no pricing_rules file",
            ),
            (_, None) => ledger.skipped(
                simulated_disparity::ID,
                "no orders dataset to take customers and the catalogue from",
            ),
        }
    }
    match observed::missing_data(config) {
        None => {
            for (id, found) in observed::run(&engine, config, policy, "tenure_at_order").await? {
                ledger.ran(id, found);
            }
        }
        Some(reason) => {
            for info in [&observed::TENURE, &observed::DEVICE, &observed::PROTECTED] {
                if policy.check(info.id).is_some() {
                    ledger.skipped(info.id, &reason);
                }
            }
        }
    }

    let suppression = match &config.datasets.mail_sends {
        Some(_) => {
            progress("judging marketing messages");
            crate::mail::prepare(&engine, config).await?;
            for (id, outcome) in mail::run(&engine, config, policy).await? {
                match outcome {
                    Ok(found) => ledger.ran(id, found),
                    Err(reason) => ledger.skipped(id, &reason),
                }
            }
            Some(crate::mail::suppression(&engine, config, &mail::opt_in_required(policy)?).await?)
        }
        None => {
            for info in mail::ALL.iter().filter(|i| policy.check(i.id).is_some()) {
                ledger.skipped(info.id, "no mail_sends dataset");
            }
            None
        }
    };

    for info in checks::ALL {
        if !ledger.has(info.id) {
            let reason = "no policy pack in force enables it".to_string();
            ledger.runs.push(CheckRun {
                id: info.id,
                status: CheckStatus::Disabled { reason },
            });
        }
    }
    ledger.runs.sort_by_key(|r| r.id);
    findings::sort(&mut ledger.findings);
    Ok(Audit {
        engine,
        findings: ledger.findings,
        checks: ledger.runs,
        segmentation,
        suppression,
    })
}
