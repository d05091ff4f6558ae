//! The check registry and what every check is: a stable id, its documentation, its settings
//! type (validated when packs load), what it needs, and a run that turns prepared tables into
//! findings. The audit and `check-rules` run checks only through this registry.
//!
//! Ids are never reused or renamed: waivers, fingerprints and CI gates refer to them. A check
//! never prints, exits or writes files.

/// Declares a check's registry entry: its id, family, title (English, Chinese), default severity, the Markdown
/// file beside the module that documents it, and the settings type that validates packs.
macro_rules! check_info {
    ($name:ident, $id:expr, $family:literal, $title:literal, $title_zh:literal, $severity:expr, $doc:literal, $settings:ty) => {
        pub static $name: $crate::checks::check::CheckInfo = $crate::checks::check::CheckInfo {
            id: $id,
            family: $family,
            title: $title,
            title_zh: $title_zh,
            default_severity: $severity,
            doc: include_str!($doc),
            validate_settings: $crate::policy::validate_as::<$settings>,
            #[cfg(test)]
            settings_folds: $crate::checks::settings_merge::settings_folds::<$settings>,
        };
    };
}

/// Declares a check: a unit struct implementing [`Check`] from its registry entry, its needs
/// and the body of its run (an async block over `cx` and the check's policy `check`).
macro_rules! check {
    ($name:ident, $info:expr, needs: $needs:expr, run: |$cx:ident, $check:ident| $body:expr) => {
        pub struct $name;

        impl $crate::checks::check::Check for $name {
            fn info(&self) -> &'static $crate::checks::check::CheckInfo {
                &$info
            }

            fn needs(&self) -> &'static [$crate::checks::context::Need] {
                $needs
            }

            fn run<'a>(
                &'a self,
                $cx: &'a $crate::checks::context::Context<'a>,
                $check: &'a $crate::policy::EffectiveCheck,
            ) -> futures::future::BoxFuture<'a, $crate::error::Result<$crate::checks::check::Outcome>>
            {
                Box::pin(async move { $body })
            }
        }
    };
}

pub mod check;
pub mod context;
pub mod mail;
pub mod pricing;
pub mod privacy;
pub mod reference;
#[cfg(test)]
mod settings_merge;
pub mod waiver;

use serde::Serialize;

pub use check::{Check, CheckInfo, Outcome};
pub use context::{Context, Need, Table};

use crate::comparison::Comparison;
use crate::error::Result;
use crate::findings::Finding;
use crate::policy::{CheckCatalog, CheckSpec, EffectiveCheck};

/// Every check, in the order they run.
pub const ALL: &[&dyn Check] = &[
    &privacy::undeclared_pii::UndeclaredPii,
    &privacy::k_anonymity::KAnonymity,
    &pricing::rule_surcharge::RuleSurcharge,
    &pricing::rule_new_customer_discount::RuleNewCustomerDiscount,
    &pricing::rule_protected_attribute::RuleProtectedAttribute,
    &pricing::rule_unclassified_attribute::RuleUnclassifiedAttribute,
    &pricing::simulated_disparity::SimulatedDisparity,
    &pricing::tenure_overcharge::TenureOvercharge,
    &pricing::device_overcharge::DeviceOvercharge,
    &pricing::protected_overcharge::ProtectedOvercharge,
    &pricing::frequency_overcharge::FrequencyOvercharge,
    &pricing::probe_tenure::ProbeTenure,
    &pricing::probe_device::ProbeDevice,
    &pricing::probe_protected::ProbeProtected,
    &mail::no_consent::NoConsent,
    &mail::after_opt_out::AfterOptOut,
    &mail::frequency_cap::FrequencyCap,
    &mail::quiet_hours::QuietHours,
    &mail::missing_unsubscribe::MissingUnsubscribe,
    &mail::missing_sender_id::MissingSenderId,
    &mail::missing_postal_address::MissingPostalAddress,
    &mail::unsolicited_bulk::UnsolicitedBulk,
];

pub fn find(id: &str) -> Option<&'static dyn Check> {
    ALL.iter().copied().find(|c| c.info().id == id)
}

/// The registry entry of any check id, the waiver checks included.
pub fn info(id: &str) -> Option<&'static CheckInfo> {
    find(id)
        .map(|c| c.info())
        .or_else(|| waiver::INFOS.into_iter().find(|i| i.id == id))
}

/// The registry as the policy loader sees it: each check's default severity and settings
/// validator.
pub struct Registry;

impl CheckCatalog for Registry {
    fn lookup(&self, id: &str) -> Option<CheckSpec> {
        find(id).map(|check| CheckSpec {
            default_severity: check.info().default_severity,
            validate_settings: check.info().validate_settings,
        })
    }
}

/// Whether a check ran in this audit, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum CheckStatus {
    Ran { findings: usize },
    Skipped { reason: String },
    Disabled { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    pub id: &'static str,
    #[serde(flatten)]
    pub status: CheckStatus,
}

/// What a run of the registry gave: the findings (sorted), the verdict on every comparison,
/// and, for every check of the registry, whether it ran and if not why.
#[derive(Debug, Default)]
pub struct Ran {
    pub findings: Vec<Finding>,
    pub comparisons: Vec<Comparison>,
    pub runs: Vec<CheckRun>,
}

impl Ran {
    /// Adds one check's results; returns its status.
    fn add(&mut self, findings: Vec<Finding>, comparisons: Vec<Comparison>) -> CheckStatus {
        let status = CheckStatus::Ran {
            findings: findings.len(),
        };
        self.findings.extend(findings);
        self.comparisons.extend(comparisons);
        status
    }
}

/// Runs every check of `selected` that a pack enables and whose needs are met.
pub async fn run(cx: &Context<'_>, selected: impl Fn(&dyn Check) -> bool) -> Result<Ran> {
    let mut ran = Ran::default();
    let checks: Vec<&dyn Check> = ALL.iter().copied().filter(|c| selected(*c)).collect();
    let reads_strata = |c: &&dyn Check| c.needs().contains(&Need::Table(Table::ObservedStrata));
    let last_reading_strata = checks.iter().rposition(reads_strata);
    for (at, check) in checks.iter().copied().enumerate() {
        let id = check.info().id;
        let status = match cx.policy.check(id) {
            None => CheckStatus::Disabled {
                reason: "no policy pack in force enables it".into(),
            },
            Some(policy) => match cx.unmet(check.needs()) {
                Some(reason) => CheckStatus::Skipped { reason },
                None => match prepare_and_run(cx, check, policy).await? {
                    Outcome::Skipped(reason) => CheckStatus::Skipped { reason },
                    Outcome::Findings(found) => ran.add(found, Vec::new()),
                    Outcome::Compared {
                        findings,
                        comparisons,
                    } => ran.add(findings, comparisons),
                },
            },
        };
        ran.runs.push(CheckRun { id, status });
        if Some(at) == last_reading_strata {
            cx.release_observed_strata().await;
        }
    }
    ran.runs.sort_by_key(|r| r.id);
    crate::findings::sort(&mut ran.findings);
    Ok(ran)
}

/// Builds the shared tables a check reads (each announces itself as a phase), then runs the
/// check as a phase of its own, so each phase's time is its own work.
async fn prepare_and_run(
    cx: &Context<'_>,
    check: &dyn Check,
    policy: &EffectiveCheck,
) -> Result<Outcome> {
    for need in check.needs() {
        // The strata depend on the check's settings: the check builds them.
        if let Need::Table(table) = need
            && *table != Table::ObservedStrata
        {
            cx.table(*table).await?;
        }
    }
    cx.phase(check.info().id);
    check.run(cx, policy).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_docs_have_every_section() {
        let mut ids: Vec<_> = ALL.iter().map(|c| c.info().id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for check in ALL.iter().map(|c| c.info()) {
            assert!(
                check.id.starts_with(&format!("{}.", check.family)),
                "{}",
                check.id
            );
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Legal basis",
            ] {
                assert!(check.doc.contains(section), "{} lacks {section}", check.id);
            }
        }
    }
}
