//! One audit: open the engine on the configured datasets, run every check of the registry (each
//! runs if a pack enables it and what it needs is there), and return the findings, what ran and
//! what was skipped, the segmentation and the suppression list. Nothing here prints or writes;
//! the CLI renders and writes the result.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::baseline::{Baseline, BaselineSummary, segment_shift};
use crate::checks::{self, CheckRun, Context, Table, mail};
use crate::config::Config;
use crate::derived::mail_breakdown::MailBreakdown;
use crate::engine::Engine;
use crate::error::Result;
use crate::findings::{BaselineStatus, Finding};
use crate::policy::EffectivePolicy;
use crate::pricing;
use crate::pseudonym::Key;
use crate::segment::Segmentation;

/// What an audit is compared with, and the day its waivers are judged on.
pub struct Options {
    pub baseline: Option<Baseline>,
    pub today: NaiveDate,
}

pub struct Audit {
    pub engine: Engine,
    /// The checks' findings, waived ones marked, and the findings about the waivers.
    pub findings: Vec<Finding>,
    pub baseline: Option<BaselineSummary>,
    pub checks: Vec<CheckRun>,
    pub segmentation: Option<Segmentation>,
    /// Recipient tokens not to contact, when the config has mail sends.
    pub suppression: Option<datafusion::prelude::DataFrame>,
    /// Every campaign's messages by consent and quiet hours, when consent can be judged.
    pub mail: Option<MailBreakdown>,
}

/// Runs the audit; `progress` hears the name of each phase as it starts.
pub async fn run(
    config: &Config,
    key: Arc<Key>,
    policy: &EffectivePolicy,
    options: Options,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Audit> {
    // Rules first: a rules file that does not parse is a config error, before any scan.
    let rules = pricing::load_rules(config)?;
    progress("reading datasets");
    let key_id = key.id().to_string();
    let engine = Engine::open(config, crate::functions::all(key)).await?;
    let cx = Context::new(config, policy, rules.as_ref(), Some(&engine), progress);
    // The probe checks judge a live service's quotes, which only `fairmark probe` asks for.
    let (mut findings, checks) =
        checks::run(&cx, |check| !check.needs().contains(&checks::Need::Probe)).await?;
    let about_waivers = checks::waiver::apply(&mut findings, &config.waivers, options.today);
    findings.extend(about_waivers);
    crate::findings::sort(&mut findings);
    let suppression = match cx.unmet(&[checks::Need::Table(Table::JudgedSends)]) {
        None => {
            // The provider registers the sends and consents views the list is read from.
            cx.table(Table::JudgedSends).await?;
            let required = mail::opt_in_required(policy)?;
            Some(crate::derived::judged_sends::suppression(&engine, config, &required).await?)
        }
        Some(_) => None,
    };
    let mail = mail::breakdown::breakdown(&cx).await?;
    let segmentation = cx.published_segmentation().await?;
    let baseline = match &options.baseline {
        Some(baseline) => {
            progress("comparing with the baseline");
            let resolved = baseline.compare(&mut findings);
            let persisting = findings
                .iter()
                .filter(|f| f.baseline == Some(BaselineStatus::Persisting))
                .count();
            let (segment_shift, segment_shift_skipped) = match (&segmentation, &baseline.segments) {
                (None, _) => (None, Some("this audit has no segmentation".to_string())),
                (_, None) => (
                    None,
                    Some("the baseline has no segments.parquet beside its report".to_string()),
                ),
                _ if baseline.key_id != key_id => (
                    None,
                    Some(format!(
                        "the baseline was written under key {}, this audit under key {key_id}: tokens do not match across keys",
                        baseline.key_id
                    )),
                ),
                (Some(segmentation), Some(path)) => (
                    Some(segment_shift(&engine, &segmentation.rows, path).await?),
                    None,
                ),
            };
            Some(BaselineSummary {
                source: baseline.source.clone(),
                new: findings.len() - persisting,
                persisting,
                resolved,
                segment_shift,
                segment_shift_skipped,
            })
        }
        None => None,
    };
    Ok(Audit {
        engine,
        baseline,
        findings,
        checks,
        segmentation,
        suppression,
        mail,
    })
}
