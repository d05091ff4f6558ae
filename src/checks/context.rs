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
use crate::segment::settings::{AnonymitySettings, K_ANONYMITY_CHECK};

use crate::derived::probe_answers::ProbeAnswers;
use crate::derived::strata::{ObservedStrata, StrataSpec};

/// Something a check needs before it can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A dataset of this role (`orders`, `mail_sends`, …) in the config.
    Dataset(&'static str),
    /// A pricing-rules file named by the config (or `--rules`).
    PricingRules,
    /// A shared derived table (and, through it, what its provider needs).
    Table(Table),
    /// The answers of a probe of a pricing service (`fairmark probe`).
    Probe,
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
    /// The observed prices per stratum and cohort (not a SQL table: see
    /// [`Context::observed_strata`]).
    ObservedStrata,
}

impl Table {
    /// The name the table is registered under in the session.
    pub fn name(self) -> &'static str {
        match self {
            Table::CustomerFeatures => crate::pricing::FEATURES_TABLE,
            Table::JudgedSends => crate::derived::judged_sends::JUDGED_TABLE,
            Table::Segmentation => "segmentation",
            Table::ObservedStrata => "observed strata",
        }
    }

    fn needs(self) -> &'static [Need] {
        match self {
            Table::CustomerFeatures | Table::Segmentation | Table::ObservedStrata => {
                &[Need::Dataset("orders")]
            }
            Table::JudgedSends => &[Need::Dataset("mail_sends")],
        }
    }
}

pub struct Context<'a> {
    pub config: &'a Config,
    pub policy: &'a EffectivePolicy,
    pub rules: Option<&'a RulesFile>,
    engine: Option<&'a Engine>,
    /// What `fairmark probe` brought back from the pricing service, in a probe run.
    probe: Option<&'a ProbeAnswers>,
    progress: &'a (dyn Fn(&str) + Sync),
    /// Whether the customer features carry [`crate::pricing::ORDER_TOTALS`].
    order_totals: bool,
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
    /// Built per distinct spec; checks configured alike share one.
    observed_strata: tokio::sync::Mutex<Vec<(StrataSpec, Arc<ObservedStrata>)>>,
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
            probe: None,
            progress,
            order_totals: true,
            derived: Arc::default(),
        }
    }

    /// The same context building customer features without the order totals: for a run whose
    /// checks and rules read none of them. Before any table is built.
    pub fn without_order_totals(self) -> Context<'a> {
        Context {
            order_totals: false,
            ..self
        }
    }

    /// The same context with the answers of a probe, for the probe checks.
    pub fn with_probe(self, answers: &'a ProbeAnswers) -> Context<'a> {
        Context {
            probe: Some(answers),
            ..self
        }
    }

    /// The answers of the probe; an error outside a probe run (the checks' needs say so first).
    pub fn probe(&self) -> Result<&'a ProbeAnswers> {
        self.probe
            .ok_or_else(|| Error::Usage("this check needs the answers of `fairmark probe`".into()))
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
            Need::Probe => self.probe.is_none().then(|| {
                "judges the quotes of a pricing service: run `fairmark probe`".to_string()
            }),
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
                        (self.progress)("building customer features");
                        crate::pricing::register_features(
                            self.engine()?,
                            self.config,
                            date,
                            self.order_totals,
                        )
                        .await
                    })
                    .await?;
            }
            Table::JudgedSends => {
                self.derived
                    .judged_sends
                    .get_or_try_init(|| async {
                        (self.progress)("judging marketing messages");
                        crate::derived::judged_sends::prepare(self.engine()?, self.config).await
                    })
                    .await?;
            }
            Table::Segmentation => {
                self.segmentation().await?;
            }
            // Built per spec by the checks that read it.
            Table::ObservedStrata => {}
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
                let settings: AnonymitySettings = self.policy.settings(K_ANONYMITY_CHECK)?;
                crate::segment::build(self.engine()?, self.config, &settings.requirement(), date)
                    .await
            })
            .await
    }

    /// The observed prices of every cohort pair, stratified as `spec` says: built once per spec
    /// (on the customer features), shared by the observed-price checks.
    pub async fn observed_strata(&self, spec: StrataSpec) -> Result<Arc<ObservedStrata>> {
        self.table(Table::CustomerFeatures).await?;
        let mut built = self.derived.observed_strata.lock().await;
        if let Some((_, strata)) = built.iter().find(|(s, _)| *s == spec) {
            return Ok(Arc::clone(strata));
        }
        (self.progress)("stratifying observed prices");
        let strata =
            Arc::new(ObservedStrata::build(self.engine()?, self.config, self.policy, spec).await?);
        built.push((spec, Arc::clone(&strata)));
        Ok(strata)
    }

    /// Lets go of the observed strata once no check left needs them: they are the largest
    /// table an audit holds.
    pub async fn release_observed_strata(&self) {
        self.derived.observed_strata.lock().await.clear();
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
