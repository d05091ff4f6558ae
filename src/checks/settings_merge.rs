//! Packs combine the same in any order, for every check of the registry: packs generated from
//! the settings the built-in packs use and the edge values each check accepts (each key present
//! or not, each value one a built-in pack gives or an edge case below) are combined in shuffled orders, and each check's settings,
//! folded left to right and right to left with `Strictest`, must agree. The registry and the
//! built-in packs drive it, so a new check with settings is covered without editing this file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use proptest::prelude::*;
use proptest::sample::select;
use serde::de::DeserializeOwned;

use super::{ALL, Registry};
use crate::policy::{EffectivePolicy, PolicyPack, Strictest};

/// Each pack's settings of one check read as `T` and folded left to right, then right to left,
/// as Debug text. The registry holds this per check, typed by its settings.
pub fn settings_folds<T>(tables: &[toml::Table]) -> (String, String)
where
    T: DeserializeOwned + Default + Strictest + Debug,
{
    let read = |table: &toml::Table| {
        T::deserialize(toml::Value::Table(table.clone())).expect("generated settings are valid")
    };
    let left = tables
        .iter()
        .map(read)
        .reduce(|merged, next| merged.strictest(next));
    let right = tables
        .iter()
        .rev()
        .map(read)
        .reduce(|merged, earlier| earlier.strictest(merged));
    (
        format!("{:?}", left.unwrap_or_default()),
        format!("{:?}", right.unwrap_or_default()),
    )
}

/// Values worth drawing beside the built-in packs' own, by setting name: bounds, and the
/// windows and tenure pairs that tie or nest.
const EDGE_VALUES: &[(&str, &[&str])] = &[
    ("min_gap", &["0.0", "0.5"]),
    ("alpha", &["0.01", "0.1"]),
    ("confidence", &["0.9", "0.99"]),
    ("min_strata", &["1", "10"]),
    ("time_bucket", &["\"hour\"", "\"day\"", "\"week\""]),
    ("k", &["2", "20"]),
    ("max_suppression", &["0.0", "1.0"]),
    (
        "generalization",
        &["{ city = 2 }", "{ age = 3, city = 0 }", "{}"],
    ),
    ("min_match_rate", &["0.0", "0.01"]),
    ("min_matches", &["1", "10"]),
    ("tolerance", &["0.0", "0.05"]),
    ("min_cohort_customers", &["1", "100"]),
    ("old_tenure_days", &["100", "60", "1000"]),
    ("new_tenure_days", &["0", "50", "100"]),
    ("frequent_days", &["1", "12", "50"]),
    ("occasional_days", &["0", "2", "11"]),
    ("opt_in_required", &["[]", "[\"push\", \"email\"]"]),
    ("grace_days", &["0", "2", "10"]),
    ("grace_business_days", &["0", "3", "90"]),
    ("max_messages", &["1", "7"]),
    ("window_days", &["1", "366"]),
    (
        "timezone",
        &[
            "\"Asia/Shanghai\"",
            "\"America/New_York\"",
            "\"Europe/Paris\"",
        ],
    ),
    (
        "quiet",
        &[
            "{ sms = [\"21:00\", \"08:00\"] }",
            "{ sms = [\"22:00\", \"7:00\"], email = [\"20:00\", \"08:00\"] }",
            "{ email = [\"12:00\", \"13:00\"] }",
            "{}",
        ],
    ),
    ("one_click_min_messages", &["1", "5000"]),
    ("min_messages", &["1", "100"]),
    ("min_share", &["0.0", "1.0"]),
];

/// For each check of the registry, each setting a built-in pack gives it or it accepts an edge
/// value of, with the values the built-in packs give and the edge values of that name.
fn settings_in_use() -> BTreeMap<&'static str, BTreeMap<String, Vec<String>>> {
    let packs = PolicyPack::built_in(&Registry);
    ALL.iter()
        .map(|check| {
            let info = check.info();
            let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for pack in &packs {
                for (key, value) in pack.checks.get(info.id).iter().flat_map(|c| &c.settings) {
                    values
                        .entry(key.clone())
                        .or_default()
                        .insert(value.to_string());
                }
            }
            for (name, edges) in EDGE_VALUES {
                let accepted = |value: &&str| {
                    let line = format!("{name} = {value}");
                    toml::from_str(&line)
                        .is_ok_and(|table| (info.validate_settings)(&table).is_ok())
                };
                if edges.iter().any(accepted) {
                    let drawn = values.entry(name.to_string()).or_default();
                    drawn.extend(edges.iter().map(|v| v.to_string()));
                }
            }
            let values = values
                .into_iter()
                .map(|(key, drawn)| (key, drawn.into_iter().collect()))
                .collect();
            (info.id, values)
        })
        .collect()
}

/// A `[checks."id"]` section (or none): enabled or not, a severity, and some of its settings.
fn section(id: &'static str, settings: &BTreeMap<String, Vec<String>>) -> BoxedStrategy<String> {
    let lines: Vec<BoxedStrategy<Option<String>>> = settings
        .iter()
        .map(|(key, values)| {
            let key = key.clone();
            proptest::option::of(select(values.clone()))
                .prop_map(move |v| v.map(|v| format!("{key} = {v}")))
                .boxed()
        })
        .collect();
    let severity = select(vec!["info", "low", "medium", "high", "critical"]);
    let enabled = select(vec!["true", "true", "true", "false"]);
    (any::<bool>(), severity, enabled, lines)
        .prop_map(move |(present, severity, enabled, lines)| {
            if !present {
                return String::new();
            }
            let mut text = format!(
                "[checks.\"{id}\"]\nenabled = {enabled}\nseverity = \"{severity}\"\nlegal_bases = [\"g\"]\n"
            );
            for line in lines.into_iter().flatten() {
                text.push_str(&line);
                text.push('\n');
            }
            text
        })
        .boxed()
}

/// A pack named `name` with random settings for some checks; the ones a check refuses (say,
/// both kinds of grace days, or cohorts that overlap) are drawn again.
fn generated_pack(name: &'static str) -> impl Strategy<Value = String> {
    let sections: Vec<BoxedStrategy<String>> = settings_in_use()
        .iter()
        .map(|(id, settings)| section(id, settings))
        .collect();
    sections
        .prop_map(move |sections| {
            format!(
                "name = \"{name}\"\ntitle = \"generated\"\n[[legal_basis]]\nid = \"g\"\ncitation = \"G\"\ngist = \"g\"\n\n{}",
                sections.concat()
            )
        })
        .prop_filter("a pack every check accepts", |text| {
            PolicyPack::parse(text, "gen.toml", "gen.toml", &Registry).is_ok()
        })
}

#[test]
fn every_setting_a_built_in_pack_uses_is_drawn() {
    let in_use = settings_in_use();
    let with_settings: Vec<&str> = in_use
        .iter()
        .filter(|(_, settings)| !settings.is_empty())
        .map(|(id, _)| *id)
        .collect();
    // The observed, probe, simulated, privacy and mail checks all have thresholds.
    assert!(with_settings.len() >= 14, "{with_settings:?}");
    for (name, _) in EDGE_VALUES {
        assert!(
            in_use.values().any(|settings| settings.contains_key(*name)),
            "edge values for `{name}`, which no check accepts"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The built-in packs and three generated ones, in any order, give the same effective
    /// policy, and every check's settings merge to the same value in that order, left to
    /// right or right to left.
    #[test]
    fn combining_packs_is_independent_of_their_order(
        (texts, order) in (generated_pack("gen-a"), generated_pack("gen-b"), generated_pack("gen-c"))
            .prop_flat_map(|(a, b, c)| {
                (Just(vec![a, b, c]), Just((0..6).collect::<Vec<usize>>()).prop_shuffle())
            })
    ) {
        let mut packs = PolicyPack::built_in(&Registry);
        for text in &texts {
            packs.push(PolicyPack::parse(text, "gen.toml", "gen.toml", &Registry).unwrap_or_else(|e| panic!("{e}\n{text}")));
        }
        let shuffled: Vec<PolicyPack> = order.iter().map(|&i| packs[i].clone()).collect();
        prop_assert_eq!(
            format!("{:?}", EffectivePolicy::combine(packs.clone())),
            format!("{:?}", EffectivePolicy::combine(shuffled.clone()))
        );
        let tables = |packs: &[PolicyPack], id: &str| -> Vec<toml::Table> {
            packs
                .iter()
                .filter_map(|p| p.checks.get(id).filter(|c| c.enabled))
                .map(|c| c.settings.clone())
                .collect()
        };
        for check in ALL.iter().map(|c| c.info()) {
            let (given, _) = (check.settings_folds)(&tables(&packs, check.id));
            let (left, right) = (check.settings_folds)(&tables(&shuffled, check.id));
            prop_assert_eq!(&given, &left, "{} in another order", check.id);
            prop_assert_eq!(&left, &right, "{} merged right to left", check.id);
        }
    }
}
