//! What backs a finding: one struct per kind of evidence (as cargo-deny has one struct per
//! diagnostic), and [`Evidence`], the one a finding carries. Checks fill the fields; renderers
//! read them, never the finding's prose. In report.json evidence is an object with its fields
//! in key order, so field names here are names in the report's schema.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::pii::PiiKind;

/// Writes a list as one string, its items joined by `separator`: the schema has these lists
/// as text.
fn joined<S: Serializer, T: fmt::Display>(
    items: &[T],
    separator: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let texts: Vec<String> = items.iter().map(ToString::to_string).collect();
    serializer.serialize_str(&texts.join(separator))
}

fn comma_separated<S: Serializer, T: fmt::Display>(
    items: &[T],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    joined(items, ", ", serializer)
}

fn semicolon_separated<S: Serializer, T: fmt::Display>(
    items: &[T],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    joined(items, "; ", serializer)
}

/// A gap between two cohorts' prices for one SKU, tested: the mean gap and its interval, two
/// robust estimates and the test's p- and q-values. Gaps are relative (`0.05` is +5%).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapTest {
    pub confidence: f64,
    pub gap_estimate: f64,
    pub gap_ci_low: f64,
    pub gap_ci_high: f64,
    pub hodges_lehmann: f64,
    pub median_gap: f64,
    pub p_value: f64,
    /// Benjamini–Hochberg, over the check's tests.
    pub q_value: f64,
}

/// The trading condition an episode is confined to: `channel = app`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub value: String,
}

/// A time bucket (or a bucket under one condition) in which the first cohort was offered more
/// (or less) in every matched stratum.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The bucket's start as the strata write it: `2025-11-09`, or `2025-11-09 13:00` by the
    /// hour (a week by its Monday).
    pub bucket: String,
    /// `None` when the episode covers every condition of the bucket.
    pub condition: Option<Condition>,
    /// How many matched strata it covers.
    pub strata: usize,
    /// The mean relative gap over them.
    pub gap: f64,
}

impl Episode {
    /// The day the bucket starts on; `None` for the bucket of order lines without a time.
    pub fn day(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.bucket.get(..10)?, "%Y-%m-%d").ok()
    }
}

/// As the finding and report.json state it: `2025-11-03 (channel = app: 2 strata, +10.0%)`.
impl fmt::Display for Episode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.bucket)?;
        match &self.condition {
            None => f.write_str("all conditions")?,
            Some(c) => write!(f, "{} = {}", c.column, c.value)?,
        }
        write!(
            f,
            ": {} {}, {:+.1}%)",
            self.strata,
            if self.strata == 1 {
                "stratum"
            } else {
                "strata"
            },
            100.0 * self.gap
        )
    }
}

impl Serialize for Episode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The episodes of an observed gap that the episode scan found significant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episodes {
    /// The first few, in bucket order.
    #[serde(rename = "episodes")]
    pub shown: Vec<Episode>,
    #[serde(rename = "episodes_total")]
    pub total: usize,
    /// The buckets with an episode.
    #[serde(rename = "episode_buckets")]
    pub buckets: usize,
    /// Those buckets as a share of the buckets with matched strata.
    #[serde(rename = "episode_share")]
    pub share: f64,
    /// The mean gap over the episodes' strata.
    #[serde(rename = "episode_gap")]
    pub gap: f64,
}

/// An observed-price gap of one SKU between two cohorts (`pricing.*-overcharge`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedGap {
    /// The cohort pair: `tenure > 365 days vs <= 30 days`.
    pub cohorts: String,
    #[serde(flatten)]
    pub test: GapTest,
    /// What the first cohort was offered beyond the second's median, in money.
    pub excess_offered: f64,
    /// That excess as a share of what the first cohort was offered for the SKU.
    pub excess_share: f64,
    pub skus_tested: usize,
    pub matched_strata: usize,
    pub n_first_cohort: u64,
    pub n_second_cohort: u64,
    pub episode_p_value: f64,
    pub episode_q_value: f64,
    /// Set when the episode scan found episodes.
    #[serde(flatten)]
    pub episodes: Option<Episodes>,
}

/// The prices a probe's twin pair was quoted. Its fields are declared in key order, as the
/// schema has them (nested objects are not sorted again).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeExample {
    pub attribute: String,
    pub first_price: f64,
    pub first_twin: String,
    pub second_price: f64,
    pub second_twin: String,
}

/// A gap between the quotes a pricing service gave twin profiles for one SKU
/// (`pricing.probe-*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeGap {
    /// The probe comparison: `tenure > 365 days vs <= 30 days`.
    pub comparison: String,
    #[serde(flatten)]
    pub test: GapTest,
    pub pairs_asked: usize,
    pub pairs_answered: usize,
    pub skus_tested: usize,
    pub examples: Vec<ProbeExample>,
}

/// SKU comparisons with too little data to decide, beside those tested.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LackingData {
    pub comparisons_lacking_data: usize,
    pub comparisons_tested: usize,
}

/// Which protected attributes were compared, and which were left out wholly or in part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtectedCoverage {
    pub attributes_compared: Vec<String>,
    pub attributes_skipped: Vec<String>,
}

/// A probe that was asked for but did not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotProbed {
    pub reason: String,
}

/// One SKU's simulated gap.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuGap {
    pub sku: String,
    pub gap: f64,
}

/// `SKU10001 +4.97%`.
impl fmt::Display for SkuGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:+.2}%", self.sku, 100.0 * self.gap)
    }
}

/// Cohorts the pricing rules would price apart (`pricing.simulated-disparity`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulatedDisparity {
    pub cohorts: String,
    pub customers_simulated: i64,
    pub skus_compared: usize,
    pub skus_over_tolerance: usize,
    pub largest_gap: f64,
    /// The largest few, largest first.
    #[serde(serialize_with = "semicolon_separated")]
    pub largest_gaps: Vec<SkuGap>,
    /// Rule ids; empty when only the rules together make the gap.
    #[serde(serialize_with = "comma_separated")]
    pub rules_responsible: Vec<String>,
}

/// A pricing rule conditioned on a protected attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtectedAttributeRule {
    pub attribute: String,
    /// The rule's adjustment: `+5%`.
    pub adjust: String,
}

/// A pricing rule that raises the price on a loyalty or profiling attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurchargeRule {
    pub attribute: String,
    pub attribute_class: String,
    pub adjust: String,
    /// The rule's `when`.
    pub condition: String,
}

/// A pricing rule on an attribute the policy does not classify.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnclassifiedAttributeRule {
    pub attribute: String,
}

/// A discount for new customers that the rules do not disclose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCustomerDiscountRule {
    pub attribute: String,
    pub adjust: String,
    pub disclosed: bool,
}

/// How many customers the raw quasi-identifiers single out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawQuasiIdentifiers {
    #[serde(serialize_with = "comma_separated")]
    pub quasi_identifiers: Vec<String>,
    pub raw_unique_customers: u64,
    pub raw_customers_below_k: u64,
    pub raw_share_below_k: f64,
}

/// The published segments' k, below the k required.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BelowK {
    pub k_required: u64,
    pub k_achieved: u64,
}

/// How much suppression reaching k took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverSuppressed {
    pub suppressed_cell_share: f64,
    pub suppressed_customers: u64,
}

/// The cells of one kind of identifier in a column.
#[derive(Debug, Clone, PartialEq)]
pub struct KindCells {
    pub kind: PiiKind,
    pub cells: u64,
    /// As a share of the column's non-empty cells.
    pub rate: f64,
}

/// Identifiers found in a column the config does not declare (`privacy.undeclared-pii`).
#[derive(Debug, Clone, PartialEq)]
pub struct UndeclaredPii {
    pub column: String,
    pub non_empty_cells: u64,
    /// The kinds found often enough to report.
    pub kinds: Vec<KindCells>,
}

/// In the schema each kind has two fields of its own, `cn-mobile_cells` and `cn-mobile_rate`,
/// and `detected_kinds` lists the kinds by name.
impl Serialize for UndeclaredPii {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut names: Vec<&str> = self.kinds.iter().map(|k| k.kind.name()).collect();
        names.sort_unstable();
        let mut map = serializer.serialize_map(Some(3 + 2 * self.kinds.len()))?;
        map.serialize_entry("column", &self.column)?;
        map.serialize_entry("detected_kinds", &names.join(", "))?;
        map.serialize_entry("non_empty_cells", &self.non_empty_cells)?;
        for k in &self.kinds {
            map.serialize_entry(&format!("{}_cells", k.kind.name()), &k.cells)?;
            map.serialize_entry(&format!("{}_rate", k.kind.name()), &k.rate)?;
        }
        map.end()
    }
}

/// A declared identifier column whose cells mostly are not of its kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeclaredMismatch {
    pub column: String,
    pub declared_as: String,
    pub matching_cells: u64,
    pub non_empty_cells: u64,
}

/// A frequency cap: at most `max_messages` in any `window_days`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageCap {
    pub max_messages: u64,
    pub window_days: u64,
}

/// A campaign's messages that break a mail rule (`mail.*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignMessages {
    /// The messages that break it.
    pub messages: u64,
    /// All of the campaign's messages on the channel.
    pub campaign_messages: u64,
    pub share: f64,
    pub recipients: u64,
    pub first_sent_at: String,
    pub last_sent_at: String,
    /// Recipient tokens.
    #[serde(serialize_with = "comma_separated")]
    pub example_recipients: Vec<String>,
    /// The cap broken, for `mail.frequency-cap`.
    #[serde(flatten)]
    pub cap: Option<MessageCap>,
}

/// A waiver past its date, and the findings it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiredWaiver {
    pub owner: String,
    pub expires: String,
    pub matched_findings: usize,
}

/// A waiver that matched no finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmatchedWaiver {
    pub owner: String,
    pub expires: String,
}

/// The kinds of evidence, each a variant holding the struct of its name, with `From` for each.
macro_rules! evidence_kinds {
    ($($kind:ident),+ $(,)?) => {
        /// What backs a finding.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Evidence {
            $($kind($kind),)+
            /// Evidence as report.json holds it: read back from a previous report, which may
            /// come from another version, and kept as it was; empty on a finding given none.
            Recorded(BTreeMap<String, Value>),
        }

        $(impl From<$kind> for Evidence {
            fn from(evidence: $kind) -> Evidence {
                Evidence::$kind(evidence)
            }
        })+

        impl Evidence {
            /// Each field with its name, in key order: what report.json holds and the
            /// evidence tables list.
            pub fn fields(&self) -> BTreeMap<String, Value> {
                let value = match self {
                    $(Evidence::$kind(evidence) => serde_json::to_value(evidence),)+
                    Evidence::Recorded(fields) => return fields.clone(),
                };
                match value {
                    Ok(Value::Object(fields)) => fields.into_iter().collect(),
                    _ => unreachable!("evidence structs serialize to objects of plain fields"),
                }
            }
        }
    };
}

evidence_kinds!(
    ObservedGap,
    ProbeGap,
    LackingData,
    ProtectedCoverage,
    NotProbed,
    SimulatedDisparity,
    ProtectedAttributeRule,
    SurchargeRule,
    UnclassifiedAttributeRule,
    NewCustomerDiscountRule,
    RawQuasiIdentifiers,
    BelowK,
    OverSuppressed,
    UndeclaredPii,
    DeclaredMismatch,
    CampaignMessages,
    ExpiredWaiver,
    UnmatchedWaiver,
);

impl Default for Evidence {
    fn default() -> Evidence {
        Evidence::Recorded(BTreeMap::new())
    }
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        matches!(self, Evidence::Recorded(fields) if fields.is_empty())
    }
}

/// An object with its keys sorted, whatever the order of the struct's fields.
impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields().serialize(serializer)
    }
}

/// Any object loads, so that a baseline written by another version is never refused for its
/// evidence; it is kept as recorded.
impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Evidence, D::Error> {
        BTreeMap::deserialize(deserializer).map(Evidence::Recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// report.json's text of `evidence`, compact.
    fn json(evidence: impl Into<Evidence>) -> String {
        serde_json::to_string(&evidence.into()).unwrap()
    }

    fn gap_test() -> GapTest {
        GapTest {
            confidence: 0.95,
            gap_estimate: 0.06,
            gap_ci_low: 0.05,
            gap_ci_high: 0.07,
            hodges_lehmann: 0.06,
            median_gap: 0.06,
            p_value: 1.91e-07,
            q_value: 4.58e-06,
        }
    }

    fn observed_gap(episodes: Option<Episodes>) -> ObservedGap {
        ObservedGap {
            cohorts: "iOS vs Android".into(),
            test: gap_test(),
            excess_offered: 3339.6,
            excess_share: 0.0566,
            skus_tested: 12,
            matched_strata: 34,
            n_first_cohort: 35,
            n_second_cohort: 37,
            episode_p_value: 5e-05,
            episode_q_value: 0.0003,
            episodes,
        }
    }

    #[test]
    fn an_observed_gap_is_written_as_before_episodes_as_text() {
        let episode = |bucket: &str, condition: Option<(&str, &str)>, strata, gap| Episode {
            bucket: bucket.into(),
            condition: condition.map(|(column, value)| Condition {
                column: column.into(),
                value: value.into(),
            }),
            strata,
            gap,
        };
        let episodes = Episodes {
            shown: vec![
                episode("2025-11-15", None, 1, 0.0597),
                episode("2026-03-09 13:00", Some(("channel", "app")), 2, -0.065),
            ],
            total: 3,
            buckets: 2,
            share: 0.5,
            gap: 0.06,
        };
        assert_eq!(
            json(observed_gap(Some(episodes))),
            r#"{"cohorts":"iOS vs Android","confidence":0.95,"episode_buckets":2,"episode_gap":0.06,"episode_p_value":0.00005,"episode_q_value":0.0003,"episode_share":0.5,"episodes":["2025-11-15 (all conditions: 1 stratum, +6.0%)","2026-03-09 13:00 (channel = app: 2 strata, -6.5%)"],"episodes_total":3,"excess_offered":3339.6,"excess_share":0.0566,"gap_ci_high":0.07,"gap_ci_low":0.05,"gap_estimate":0.06,"hodges_lehmann":0.06,"matched_strata":34,"median_gap":0.06,"n_first_cohort":35,"n_second_cohort":37,"p_value":1.91e-7,"q_value":4.58e-6,"skus_tested":12}"#
        );
        assert_eq!(
            json(observed_gap(None)),
            r#"{"cohorts":"iOS vs Android","confidence":0.95,"episode_p_value":0.00005,"episode_q_value":0.0003,"excess_offered":3339.6,"excess_share":0.0566,"gap_ci_high":0.07,"gap_ci_low":0.05,"gap_estimate":0.06,"hodges_lehmann":0.06,"matched_strata":34,"median_gap":0.06,"n_first_cohort":35,"n_second_cohort":37,"p_value":1.91e-7,"q_value":4.58e-6,"skus_tested":12}"#
        );
    }

    #[test]
    fn a_probe_gap_keeps_its_examples_as_objects() {
        let probe = ProbeGap {
            comparison: "tenure > 365 days vs <= 30 days".into(),
            test: gap_test(),
            pairs_asked: 10,
            pairs_answered: 9,
            skus_tested: 4,
            examples: vec![ProbeExample {
                attribute: "tenure_days".into(),
                first_price: 105.0,
                first_twin: "730".into(),
                second_price: 100.0,
                second_twin: "10".into(),
            }],
        };
        assert_eq!(
            json(probe),
            r#"{"comparison":"tenure > 365 days vs <= 30 days","confidence":0.95,"examples":[{"attribute":"tenure_days","first_price":105.0,"first_twin":"730","second_price":100.0,"second_twin":"10"}],"gap_ci_high":0.07,"gap_ci_low":0.05,"gap_estimate":0.06,"hodges_lehmann":0.06,"median_gap":0.06,"p_value":1.91e-7,"pairs_answered":9,"pairs_asked":10,"q_value":4.58e-6,"skus_tested":4}"#
        );
    }

    #[test]
    fn lists_the_schema_has_as_text_are_joined() {
        let disparity = SimulatedDisparity {
            cohorts: "tenure > 365 days vs <= 30 days".into(),
            customers_simulated: 1500,
            skus_compared: 240,
            skus_over_tolerance: 240,
            largest_gap: 0.1362,
            largest_gaps: vec![
                SkuGap {
                    sku: "SKU10000".into(),
                    gap: 0.136_2,
                },
                SkuGap {
                    sku: "SKU10005".into(),
                    gap: -0.02,
                },
            ],
            rules_responsible: vec!["loyal-uplift".into(), "welcome-offer".into()],
        };
        assert_eq!(
            json(disparity),
            r#"{"cohorts":"tenure > 365 days vs <= 30 days","customers_simulated":1500,"largest_gap":0.1362,"largest_gaps":"SKU10000 +13.62%; SKU10005 -2.00%","rules_responsible":"loyal-uplift, welcome-offer","skus_compared":240,"skus_over_tolerance":240}"#
        );
        let raw = RawQuasiIdentifiers {
            quasi_identifiers: vec!["birth_year".into(), "city".into(), "gender".into()],
            raw_unique_customers: 411,
            raw_customers_below_k: 1459,
            raw_share_below_k: 0.9727,
        };
        assert_eq!(
            json(raw),
            r#"{"quasi_identifiers":"birth_year, city, gender","raw_customers_below_k":1459,"raw_share_below_k":0.9727,"raw_unique_customers":411}"#
        );
    }

    #[test]
    fn a_frequency_cap_adds_its_cap_to_the_campaign_counts() {
        let messages = CampaignMessages {
            messages: 300,
            campaign_messages: 900,
            share: 0.3333,
            recipients: 150,
            first_sent_at: "2026-09-01T01:00:00".into(),
            last_sent_at: "2026-09-02T01:00:00".into(),
            example_recipients: vec!["k009b4_26me".into(), "k009b4_2c7u".into()],
            cap: None,
        };
        assert_eq!(
            json(messages.clone()),
            r#"{"campaign_messages":900,"example_recipients":"k009b4_26me, k009b4_2c7u","first_sent_at":"2026-09-01T01:00:00","last_sent_at":"2026-09-02T01:00:00","messages":300,"recipients":150,"share":0.3333}"#
        );
        let capped = CampaignMessages {
            cap: Some(MessageCap {
                max_messages: 4,
                window_days: 7,
            }),
            ..messages
        };
        assert_eq!(
            json(capped),
            r#"{"campaign_messages":900,"example_recipients":"k009b4_26me, k009b4_2c7u","first_sent_at":"2026-09-01T01:00:00","last_sent_at":"2026-09-02T01:00:00","max_messages":4,"messages":300,"recipients":150,"share":0.3333,"window_days":7}"#
        );
    }

    #[test]
    fn each_kind_of_identifier_has_its_own_fields() {
        let kind = |kind, cells, rate| KindCells { kind, cells, rate };
        let pii = UndeclaredPii {
            column: "notes".into(),
            non_empty_cells: 427,
            kinds: vec![
                kind(PiiKind::Email, 33, 0.0773),
                kind(PiiKind::CnMobile, 106, 0.2482),
                kind(PiiKind::PersonName, 44, 0.103),
            ],
        };
        assert_eq!(
            json(pii),
            r#"{"cn-mobile_cells":106,"cn-mobile_rate":0.2482,"column":"notes","detected_kinds":"cn-mobile, email, person-name","email_cells":33,"email_rate":0.0773,"non_empty_cells":427,"person-name_cells":44,"person-name_rate":0.103}"#
        );
    }

    #[test]
    fn small_kinds_are_written_field_by_field() {
        let surcharge = SurchargeRule {
            attribute: "tenure_days".into(),
            attribute_class: "loyalty/history".into(),
            adjust: "+8%".into(),
            condition: "tenure_days > 365".into(),
        };
        assert_eq!(
            json(surcharge),
            r#"{"adjust":"+8%","attribute":"tenure_days","attribute_class":"loyalty/history","condition":"tenure_days > 365"}"#
        );
        let discount = NewCustomerDiscountRule {
            attribute: "is_new".into(),
            adjust: "-10%".into(),
            disclosed: false,
        };
        assert_eq!(
            json(discount),
            r#"{"adjust":"-10%","attribute":"is_new","disclosed":false}"#
        );
        let coverage = ProtectedCoverage {
            attributes_compared: vec!["birth_year".into(), "gender".into()],
            attributes_skipped: vec!["birth_year".into()],
        };
        assert_eq!(
            json(coverage),
            r#"{"attributes_compared":["birth_year","gender"],"attributes_skipped":["birth_year"]}"#
        );
        let expired = ExpiredWaiver {
            owner: "pricing team".into(),
            expires: "2026-01-01".into(),
            matched_findings: 2,
        };
        assert_eq!(
            json(expired),
            r#"{"expires":"2026-01-01","matched_findings":2,"owner":"pricing team"}"#
        );
    }

    #[test]
    fn evidence_read_back_is_written_back_unchanged_whatever_its_fields() {
        let written = json(observed_gap(None));
        let unknown = r#"{"a_later_field":[1,{"b":null}],"cohorts":"x","q_value":1e-9}"#;
        for text in [written.as_str(), unknown, "{}"] {
            let read: Evidence = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&read).unwrap(), text);
        }
    }
}
