//! What every check is: its registry entry ([`CheckInfo`]), the [`Check`] trait it implements
//! and the [`Outcome`] of a run. The registry in [`crate::checks`] lists the checks; each check
//! file imports these from here, so no check imports the registry that names it.

use futures::future::BoxFuture;

use super::context::{Context, Need};
use crate::comparison::Comparison;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::policy::EffectiveCheck;

/// What the registry knows of a check.
#[derive(Debug)]
pub struct CheckInfo {
    pub id: &'static str,
    pub family: &'static str,
    pub title: &'static str,
    /// The title in Chinese, for `--lang zh-CN`.
    pub title_zh: &'static str,
    pub default_severity: Severity,
    /// The check's documentation, in ruff's sections: what it does, why it matters, example,
    /// legal basis. `fairmark explain ID` prints it.
    pub doc: &'static str,
    /// Validates a pack's settings table for this check.
    pub validate_settings: fn(&toml::Table) -> std::result::Result<(), String>,
    /// Packs' settings tables for this check folded both ways, for the merge property test.
    #[cfg(test)]
    pub settings_folds: fn(&[toml::Table]) -> (String, String),
}

/// What a run of a check found, or why it could not judge.
#[derive(Debug)]
pub enum Outcome {
    Findings(Vec<Finding>),
    /// The findings of a check that compares cohorts, and the verdict on every comparison it
    /// made, flagged or not.
    Compared {
        findings: Vec<Finding>,
        comparisons: Vec<Comparison>,
    },
    /// The data is there but lacks what the check reads (a column not mapped, say).
    Skipped(String),
}

/// One check. Implementations live one per file under the family folders.
pub trait Check: Sync {
    fn info(&self) -> &'static CheckInfo;

    /// What it needs before it can run; the first need not met is the reason it is skipped.
    fn needs(&self) -> &'static [Need];

    /// Runs the check; `check` is its configuration across the packs that enable it.
    fn run<'a>(
        &'a self,
        cx: &'a Context<'a>,
        check: &'a EffectiveCheck,
    ) -> BoxFuture<'a, Result<Outcome>>;
}
