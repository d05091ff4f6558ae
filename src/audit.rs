//! One audit: open the engine on the configured datasets, run every check of the registry (each
//! runs if a pack enables it and what it needs is there), and return the findings, what ran and
//! what was skipped, the segmentation and the suppression list. Nothing here prints or writes;
//! the CLI renders and writes the result.

use std::sync::Arc;

use crate::checks::{self, CheckRun, Context, Table, mail};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Result;
use crate::findings::Finding;
use crate::policy::EffectivePolicy;
use crate::pricing;
use crate::pseudonym::Key;
use crate::segment::Segmentation;

pub struct Audit {
    pub engine: Engine,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
    pub segmentation: Option<Segmentation>,
    /// Recipient tokens not to contact, when the config has mail sends.
    pub suppression: Option<datafusion::prelude::DataFrame>,
}

/// Runs the audit; `progress` hears the name of each phase as it starts.
pub async fn run(
    config: &Config,
    key: Arc<Key>,
    policy: &EffectivePolicy,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Audit> {
    // Rules first: a rules file that does not parse is a config error, before any scan.
    let rules = pricing::load_rules(config)?;
    progress("reading datasets");
    let engine = Engine::open(config, crate::functions::all(key)).await?;
    let cx = Context::new(config, policy, rules.as_ref(), Some(&engine), progress);
    let (findings, checks) = checks::run(&cx, |_| true).await?;
    let suppression = match cx.unmet(&[checks::Need::Table(Table::JudgedSends)]) {
        None => {
            // The provider registers the sends and consents views the list is read from.
            cx.table(Table::JudgedSends).await?;
            let required = mail::opt_in_required(policy)?;
            Some(crate::mail::suppression(&engine, config, &required).await?)
        }
        Some(_) => None,
    };
    let segmentation = cx.published_segmentation().await?;
    Ok(Audit {
        engine,
        findings,
        checks,
        segmentation,
        suppression,
    })
}
