//! What checks run on: the config, the policy, the rules file, the engine with its datasets,
//! and the shared derived tables. Each derived table has one named provider and is built the
//! first time a check (or the audit) asks for it, so the order of work follows from what the
//! checks declare, and each table is built once.

use std::sync::Arc;

use chrono::NaiveDate;
use tokio::sync::OnceCell;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::policy::EffectivePolicy;
use crate::pricing::rules::RulesFile;
use crate::segment::Segmentation;

use super::privacy::k_anonymity;

/// Something a check needs before it can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A dataset of this role (`orders`, `mail_sends`, …) in the config.
    Dataset(&'static str),
    /// A pricing-rules file named by the config (or `--rules`).
    PricingRules,
    /// A shared derived table (and, through it, what its provider needs).
    Table(Table),
}

/// The shared derived tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `fm_customer_features`: one row per customer with the derived attributes (tenure,
    /// order count, spend, recency, `is_new`, device) as of the reference date.
    CustomerFeatures,
    /// `fm_sends_judged`: each marketing message with the consent in force at its send time.
    JudgedSends,
    /// The RFM segmentation with its k-anonymity report (not a SQL table: rows and summary).
    Segmentation,
}

impl Table {
    /// The name the table is registered under in the session.
    pub fn name(self) -> &'static str {
        match self {
            Table::CustomerFeatures => crate::pricing::FEATURES_TABLE,
            Table::JudgedSends => crate::mail::JUDGED_TABLE,
            Table::Segmentation => "segmentation",
        }
    }

    fn needs(self) -> &'static [Need] {
        match self {
            Table::CustomerFeatures | Table::Segmentation => &[Need::Dataset("orders")],
            Table::JudgedSends => &[Need::Dataset("mail_sends")],
        }
    }
}

pub struct Context<'a> {
    pub config: &'a Config,
    pub policy: &'a EffectivePolicy,
    pub rules: Option<&'a RulesFile>,
    engine: Option<&'a Engine>,
    progress: &'a (dyn Fn(&str) + Sync),
    /// Shared by every context on the same engine (see [`Context::with_rules`]).
    derived: Arc<Derived>,
}

/// The derived tables built so far in one engine session.
#[derive(Default)]
struct Derived {
    reference_date: OnceCell<NaiveDate>,
    customer_features: OnceCell<()>,
    judged_sends: OnceCell<()>,
    segmentation: OnceCell<Segmentation>,
}

impl<'a> Context<'a> {
    /// `engine` is `None` when the config has no datasets (a static `check-rules`); `progress`
    /// hears the name of each provider as it starts.
    pub fn new(
        config: &'a Config,
        policy: &'a EffectivePolicy,
        rules: Option<&'a RulesFile>,
        engine: Option<&'a Engine>,
        progress: &'a (dyn Fn(&str) + Sync),
    ) -> Context<'a> {
        Context {
            config,
            policy,
            rules,
            engine,
            progress,
            derived: Arc::default(),
        }
    }

    /// The same context judging another version of the rules (a base revision), reusing the
    /// derived tables already built on this engine.
    pub fn with_rules(&self, rules: Option<&'a RulesFile>) -> Context<'a> {
        Context {
            rules,
            derived: Arc::clone(&self.derived),
            ..*self
        }
    }

    /// The first need not met, as the reason a check is skipped.
    pub fn unmet(&self, needs: &[Need]) -> Option<String> {
        needs.iter().find_map(|need| match need {
            Need::Dataset(role) => {
                let configured = self
                    .config
                    .dataset_configs()
                    .iter()
                    .any(|d| d.role() == *role);
                (!configured || self.engine.is_none()).then(|| format!("no {role} dataset"))
            }
            Need::PricingRules => self
                .rules
                .is_none()
                .then(|| "the config names no pricing_rules file".to_string()),
            Need::Table(table) => self.unmet(table.needs()),
        })
    }

    /// The engine; an error for a check run without datasets (its needs say so first).
    pub fn engine(&self) -> Result<&'a Engine> {
        self.engine
            .ok_or_else(|| Error::Usage("this check needs the datasets of the config".into()))
    }

    /// The rules file; an error for a check run without one (its needs say so first).
    pub fn rules(&self) -> Result<&'a RulesFile> {
        self.rules
            .ok_or_else(|| Error::Usage("this check needs a pricing_rules file".into()))
    }

    /// The day recency and tenure are measured to.
    pub async fn reference_date(&self) -> Result<NaiveDate> {
        let engine = self.engine()?;
        self.derived
            .reference_date
            .get_or_try_init(|| crate::segment::reference_date(engine, self.config))
            .await
            .copied()
    }

    /// Ensures a derived SQL table is registered and returns its name.
    pub async fn table(&self, table: Table) -> Result<&'static str> {
        match table {
            Table::CustomerFeatures => {
                let date = self.reference_date().await?;
                self.derived
                    .customer_features
                    .get_or_try_init(|| async {
                        crate::pricing::register_features(self.engine()?, self.config, date).await
                    })
                    .await?;
            }
            Table::JudgedSends => {
                self.derived
                    .judged_sends
                    .get_or_try_init(|| async {
                        (self.progress)("judging marketing messages");
                        crate::mail::prepare(self.engine()?, self.config).await
                    })
                    .await?;
            }
            Table::Segmentation => {
                self.segmentation().await?;
            }
        }
        Ok(table.name())
    }

    /// The segmentation, built once with the k-anonymity the policy asks for.
    pub async fn segmentation(&self) -> Result<&Segmentation> {
        let date = self.reference_date().await?;
        self.derived
            .segmentation
            .get_or_try_init(|| async {
                (self.progress)("segmenting customers");
                let settings: k_anonymity::Settings = self.policy.settings(k_anonymity::ID)?;
                crate::segment::build(self.engine()?, self.config, &settings.requirement(), date)
                    .await
            })
            .await
    }

    /// Tells the progress listener a phase has started.
    pub fn phase(&self, name: &str) {
        (self.progress)(name);
    }

    /// The segmentation, if there can be one (an orders dataset), for the outputs.
    pub async fn published_segmentation(&self) -> Result<Option<Segmentation>> {
        if self.unmet(Table::Segmentation.needs()).is_some() {
            return Ok(None);
        }
        self.segmentation().await.cloned().map(Some)
    }
}
