//! One audit: open the engine on the configured datasets, run every enabled check that has
//! the data it needs, build the segmentation, and return findings with what ran and what was
//! skipped. Nothing here prints or writes; the CLI renders and writes the result.

use std::sync::Arc;

use crate::checks::privacy::{k_anonymity, undeclared_pii};
use crate::checks::{self, CheckRun, CheckStatus};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Result;
use crate::findings::{self, Finding};
use crate::policy::EffectivePolicy;
use crate::pseudonym::Key;
use crate::segment::{self, Segmentation};

pub struct Audit {
    pub engine: Engine,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
    pub segmentation: Option<Segmentation>,
}

/// Runs the audit; `progress` hears the name of each phase as it starts.
pub async fn run(
    config: &Config,
    key: Arc<Key>,
    policy: &EffectivePolicy,
    progress: &dyn Fn(&str),
) -> Result<Audit> {
    progress("reading datasets");
    let engine = Engine::open(config, key).await?;
    let mut all_findings = Vec::new();
    let mut runs = Vec::new();
    let mut record = |id: &'static str,
                      outcome: std::result::Result<Vec<Finding>, String>,
                      findings: &mut Vec<Finding>| {
        let status = match outcome {
            Ok(found) => {
                let count = found.len();
                findings.extend(found);
                CheckStatus::Ran { findings: count }
            }
            Err(reason) => CheckStatus::Skipped { reason },
        };
        runs.push(CheckRun { id, status });
    };

    if policy.check(undeclared_pii::ID).is_some() {
        progress("scanning for undeclared identifiers");
        let found = undeclared_pii::run(&engine, config, policy).await?;
        record(undeclared_pii::ID, Ok(found), &mut all_findings);
    }

    let anonymity_settings: k_anonymity::Settings = policy.settings(k_anonymity::ID)?;
    let segmentation = if config.datasets.orders.is_some() {
        progress("segmenting customers");
        Some(segment::build(&engine, config, &anonymity_settings.requirement()).await?)
    } else {
        None
    };
    if let Some(check) = policy.check(k_anonymity::ID) {
        let outcome = match segmentation.as_ref().map(|s| &s.summary.anonymity) {
            None => Err("no orders dataset, so no segmentation is published".to_string()),
            Some(None) => Err("the customers dataset maps no quasi_identifiers".to_string()),
            Some(Some(report)) => Ok(k_anonymity::run(report, check, &anonymity_settings)),
        };
        record(k_anonymity::ID, outcome, &mut all_findings);
    }

    for info in checks::ALL {
        if !runs.iter().any(|r| r.id == info.id) {
            let reason = "no policy pack in force enables it".to_string();
            runs.push(CheckRun {
                id: info.id,
                status: CheckStatus::Disabled { reason },
            });
        }
    }
    runs.sort_by_key(|r| r.id);
    findings::sort(&mut all_findings);
    Ok(Audit {
        engine,
        findings: all_findings,
        checks: runs,
        segmentation,
    })
}
