//! The twins a probe asks about (from what [`super::inputs`] read): the request template, the
//! comparisons (tenure, `is_new`, device, each protected attribute's groups), and for every
//! comparison, SKU and profile a pair of requests identical but for the one attribute, in an
//! order the seed randomises. Only attribute values are ever put in a request: the template
//! can name fairmark attributes and literals, never an identifier.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::probe::{ProbeAttribute, ProbeConfig, TemplateValue};
use crate::config_errors::shown_or;
use crate::derived::cohorts::{
    CohortKind, MAX_PROTECTED_GROUPS, MIN_GROUP_CUSTOMERS, SkippedAttribute, group_in_words,
};
use crate::derived::probe_answers::{NotProbed, TwinTest};
use crate::error::{Error, Result};
use crate::pricing::NEW_CUSTOMER_DAYS;
use crate::quasi_kind::QuasiKind;
use crate::stats::SplitMix;

/// Attribute values by (lower-case) attribute name.
pub type Values = BTreeMap<String, Value>;

/// One field of a resolved request template.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Attribute(String),
    Literal(Value),
}

/// The service's request, field by field.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub fields: Vec<(String, Field)>,
}

impl Template {
    /// Reads `request` against the attributes fairmark knows. A bare string naming one is that
    /// attribute; other text is a literal, unless it is one or two edits from an attribute's
    /// name (a typo would otherwise send the same text to both twins, silently).
    pub fn resolve(config: &ProbeConfig, known: &BTreeSet<String>, file: &str) -> Result<Template> {
        let mut fields = Vec::new();
        for (field, value) in &config.request {
            let resolved = match value {
                TemplateValue::Literal { literal } => Field::Literal(json_of_toml(literal)),
                TemplateValue::Written(toml::Value::String(text)) => {
                    let name = text.to_lowercase();
                    if known.contains(&name) {
                        Field::Attribute(name)
                    } else if let Some(near) = known
                        .iter()
                        .find(|k| text.len() >= 4 && edit_distance(&name, k) <= 2)
                    {
                        return Err(Error::config(
                            file,
                            format!(
                                "[probe] request.{}: the text is not a fairmark attribute (did you mean `{near}`?); write {{ literal = \"…\" }} to send the text as it is",
                                shown_or(field, "(a field not shown)")
                            ),
                        ));
                    } else {
                        Field::Literal(Value::String(text.clone()))
                    }
                }
                TemplateValue::Written(other) => Field::Literal(json_of_toml(other)),
            };
            fields.push((field.clone(), resolved));
        }
        let template = Template { fields };
        if !template.sends("sku") {
            return Err(Error::config(
                file,
                "[probe] request sends no field of the SKU; map one, e.g. request = { item = \"sku\", … }",
            ));
        }
        Ok(template)
    }

    pub fn sends(&self, attribute: &str) -> bool {
        self.attributes().any(|a| a == attribute)
    }

    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|(_, f)| match f {
            Field::Attribute(a) => Some(a.as_str()),
            Field::Literal(_) => None,
        })
    }

    /// The JSON object sent for a twin with these attribute values (missing ones as null).
    pub fn render(&self, values: &Values) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(field, f)| {
                let value = match f {
                    Field::Attribute(a) => values.get(a).cloned().unwrap_or(Value::Null),
                    Field::Literal(v) => v.clone(),
                };
                (field.clone(), value)
            })
            .collect()
    }
}

fn json_of_toml(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        other => Value::String(other.to_string()),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            previous = here;
        }
    }
    row[b.len()]
}

/// A comparison with the values each twin takes (the one attribute, and what follows it).
#[derive(Debug, Clone, PartialEq)]
pub struct Contrast {
    pub test: TwinTest,
    pub treated: Values,
    pub reference: Values,
}

/// A protected attribute's groups as the customers hold them: each group's customers and its
/// commonest raw value (what the twins are sent).
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectedGroups {
    pub attribute: String,
    pub kind: Option<QuasiKind>,
    /// (group, customers, commonest value), in group order.
    pub groups: Vec<(String, i64, Value)>,
}

/// What the twins are built from, read from the data.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub profiles: Vec<Values>,
    /// SKU → its attributes (`sku`, `category`).
    pub skus: Vec<(String, Values)>,
    /// The trading conditions every twin is sent: the shop's commonest.
    pub conditions: Values,
    /// The data's spelling of iOS and Android.
    pub ios: Value,
    pub android: Value,
    pub protected: Vec<ProtectedGroups>,
    /// Protected attributes of the customers the template does not send.
    pub protected_unsent: Vec<String>,
}

/// The comparisons a probe makes, and what it cannot.
#[derive(Debug, Clone, Default)]
pub struct Contrasts {
    pub made: Vec<Contrast>,
    /// Attributes asked for that cannot be probed, and why.
    pub not_probed: Vec<NotProbed>,
    /// Protected attributes compared (with their groups), and those left out or skipped.
    pub compared: Vec<(String, usize)>,
    pub skipped: Vec<SkippedAttribute>,
}

/// The comparisons to make, and why an asked-for one cannot be made.
pub fn contrasts(config: &ProbeConfig, template: &Template, inputs: &Inputs) -> Contrasts {
    let mut made = Vec::new();
    let mut not_probed = Vec::new();
    let mut compared = Vec::new();
    let mut skipped = Vec::new();
    let unsent = |kind, attribute: &str, what: &str| NotProbed {
        kind,
        reason: format!("{what}: the request template sends no field of `{attribute}`"),
    };
    let one = |attribute: &str, value: Value| Values::from([(attribute.to_string(), value)]);
    let [short, long] = config.tenure_days;
    for attribute in &config.attributes {
        match attribute {
            ProbeAttribute::Tenure if !template.sends("tenure_days") => {
                not_probed.push(unsent(CohortKind::Tenure, "tenure_days", "tenure"))
            }
            ProbeAttribute::Tenure => {
                let twin = |days: i64| {
                    let mut values = one("tenure_days", Value::from(days));
                    values.insert(
                        "is_new".into(),
                        Value::Bool(days <= NEW_CUSTOMER_DAYS as i64),
                    );
                    values
                };
                made.push(Contrast {
                    test: TwinTest {
                        kind: CohortKind::Tenure,
                        name: format!("tenure_days {long} vs {short}"),
                        attribute: "tenure_days".into(),
                        treated_label: format!("twins of {long} days' tenure"),
                        reference_label: format!("twins of {short} days' tenure"),
                        treated_value: long.to_string(),
                        reference_value: short.to_string(),
                        two_sided: false,
                    },
                    treated: twin(long),
                    reference: twin(short),
                });
            }
            ProbeAttribute::IsNew if !template.sends("is_new") => {
                not_probed.push(unsent(CohortKind::Tenure, "is_new", "is_new"))
            }
            ProbeAttribute::IsNew => made.push(Contrast {
                test: TwinTest {
                    kind: CohortKind::Tenure,
                    name: "is_new false vs true".into(),
                    attribute: "is_new".into(),
                    treated_label: "twins flagged as established customers".into(),
                    reference_label: "twins flagged as new customers".into(),
                    treated_value: "false".into(),
                    reference_value: "true".into(),
                    two_sided: false,
                },
                treated: one("is_new", Value::Bool(false)),
                reference: one("is_new", Value::Bool(true)),
            }),
            ProbeAttribute::Device if !template.sends("device_os") => {
                not_probed.push(unsent(CohortKind::Device, "device_os", "device"))
            }
            ProbeAttribute::Device => made.push(Contrast {
                test: TwinTest {
                    kind: CohortKind::Device,
                    name: format!(
                        "device_os {} vs {}",
                        text_of(&inputs.ios),
                        text_of(&inputs.android)
                    ),
                    attribute: "device_os".into(),
                    treated_label: "iOS twins".into(),
                    reference_label: "Android twins".into(),
                    treated_value: inputs.ios.to_string(),
                    reference_value: inputs.android.to_string(),
                    two_sided: false,
                },
                treated: one("device_os", inputs.ios.clone()),
                reference: one("device_os", inputs.android.clone()),
            }),
            ProbeAttribute::Protected => {
                for attribute in &inputs.protected_unsent {
                    not_probed.push(unsent(
                        CohortKind::Protected,
                        attribute,
                        &format!("protected attribute `{attribute}`"),
                    ));
                }
                for protected in &inputs.protected {
                    let (pairs, skip) = protected_contrasts(protected);
                    if let Some(reason) = skip {
                        skipped.push(SkippedAttribute {
                            attribute: protected.attribute.clone(),
                            reason,
                        });
                    }
                    if !pairs.is_empty() {
                        compared.push((
                            protected.attribute.clone(),
                            protected
                                .groups
                                .iter()
                                .filter(|g| g.1 >= MIN_GROUP_CUSTOMERS)
                                .count(),
                        ));
                    }
                    made.extend(pairs);
                }
                if inputs.protected.is_empty() && inputs.protected_unsent.is_empty() {
                    not_probed.push(NotProbed {
                        kind: CohortKind::Protected,
                        reason:
                            "no customer attribute is classified as protected by the packs in force"
                                .into(),
                    });
                }
            }
        }
    }
    Contrasts {
        made,
        not_probed,
        compared,
        skipped,
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A protected attribute's comparisons, as the observed check groups it: two groups are one
/// comparison; with more, each group against the largest (a twin needs one value to be sent,
/// where observed prices can pool "the rest"). Groups of fewer than [`MIN_GROUP_CUSTOMERS`]
/// are left out and said to be.
fn protected_contrasts(protected: &ProtectedGroups) -> (Vec<Contrast>, Option<String>) {
    if protected.groups.len() > MAX_PROTECTED_GROUPS {
        return (
            Vec::new(),
            Some(format!(
                "more than {MAX_PROTECTED_GROUPS} distinct values: not a set of groups to compare (band it, or declare its kind so that fairmark bands it)"
            )),
        );
    }
    let groups: Vec<&(String, i64, Value)> = protected
        .groups
        .iter()
        .filter(|g| g.1 >= MIN_GROUP_CUSTOMERS)
        .collect();
    let small = protected.groups.len() - groups.len();
    if groups.len() < 2 {
        return (
            Vec::new(),
            Some(format!(
                "fewer than two groups of at least {MIN_GROUP_CUSTOMERS} customers"
            )),
        );
    }
    let note = (small > 0).then(|| {
        format!(
            "{small} of its groups had fewer than {MIN_GROUP_CUSTOMERS} customers and {} left out; the other {} were compared",
            if small == 1 { "was" } else { "were" },
            groups.len()
        )
    });
    let attribute = &protected.attribute;
    let words = |group: &str| group_in_words(attribute, protected.kind, group);
    let contrast = |treated: &(String, i64, Value), reference: &(String, i64, Value)| Contrast {
        test: TwinTest {
            kind: CohortKind::Protected,
            name: format!("{} vs {}", words(&treated.0), words(&reference.0)),
            attribute: attribute.clone(),
            treated_label: format!("twins {}", words(&treated.0)),
            reference_label: format!("twins {}", words(&reference.0)),
            treated_value: treated.2.to_string(),
            reference_value: reference.2.to_string(),
            two_sided: true,
        },
        treated: Values::from([(attribute.clone(), treated.2.clone())]),
        reference: Values::from([(attribute.clone(), reference.2.clone())]),
    };
    let pairs = if let [first, second] = groups.as_slice() {
        vec![contrast(first, second)]
    } else {
        // The largest group, the first in group order among equals.
        let largest = groups
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.cmp(&b.1.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i)
            .expect("at least two groups");
        groups
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != largest)
            .map(|(_, g)| contrast(g, groups[largest]))
            .collect()
    };
    (pairs, note)
}

/// One request: its key in the log and the JSON object sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub key: String,
    pub body: Map<String, Value>,
}

/// Two twins' requests for one SKU, asked back to back.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPair {
    pub test: usize,
    pub sku: String,
    pub profile: usize,
    /// Whether the treated twin is asked first (drawn from the seed).
    pub treated_first: bool,
    pub treated: Request,
    pub reference: Request,
}

/// Every pair, in the order they are asked: comparisons × SKUs × profiles, shuffled by the
/// seed, each pair's order within it drawn too. A request's key hashes what identifies it in the
/// plan (comparison, SKU, profile number, twin) and the body sent, so that a rerun with the same
/// data and config finds its answers in the log, and a changed request is asked again.
pub fn pairs(
    contrasts: &[Contrast],
    inputs: &Inputs,
    template: &Template,
    seed: u64,
) -> Vec<PlannedPair> {
    let mut pairs = Vec::new();
    for (t, contrast) in contrasts.iter().enumerate() {
        for (sku, sku_values) in &inputs.skus {
            for (p, profile) in inputs.profiles.iter().enumerate() {
                let twin = |overrides: &Values, role: &str| {
                    let mut values = profile.clone();
                    values.extend(inputs.conditions.clone());
                    values.extend(sku_values.clone());
                    values.extend(overrides.clone());
                    let body = template.render(&values);
                    let mut hash = Sha256::new();
                    for part in [contrast.test.name.as_str(), sku, &p.to_string(), role] {
                        hash.update(part.as_bytes());
                        hash.update([0]);
                    }
                    hash.update(Value::Object(body.clone()).to_string().as_bytes());
                    let key = crate::pseudonym::hex(&hash.finalize()[..8]);
                    Request { key, body }
                };
                pairs.push(PlannedPair {
                    test: t,
                    sku: sku.clone(),
                    profile: p,
                    treated_first: true,
                    treated: twin(&contrast.treated, "treated"),
                    reference: twin(&contrast.reference, "reference"),
                });
            }
        }
    }
    let mut rng = SplitMix::new(seed ^ 0x7072_6f62_6500_0000);
    for i in (1..pairs.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        pairs.swap(i, j);
    }
    for pair in &mut pairs {
        pair.treated_first = rng.next_u64() & 1 == 1;
    }
    pairs
}

/// `k` of `n` row numbers, drawn by a partial Fisher–Yates shuffle from `seed`: the first `k`
/// of a larger draw are the same, so asking for more profiles keeps the ones already asked.
pub fn sample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix::new(seed);
    let mut rows: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        rows.swap(i, j);
    }
    rows.truncate(k);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(request: &str, attributes: &str) -> ProbeConfig {
        toml::from_str(&format!(
            "endpoint = \"http://127.0.0.1:1/\"\nrequest = {{ {request} }}\nattributes = [{attributes}]\n"
        ))
        .unwrap()
    }

    fn known() -> BTreeSet<String> {
        [
            "tenure_days",
            "is_new",
            "device_os",
            "gender",
            "sku",
            "channel",
            "birth_year",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn inputs() -> Inputs {
        Inputs {
            profiles: vec![
                Values::from([
                    ("tenure_days".into(), Value::from(400)),
                    ("is_new".into(), Value::Bool(false)),
                    ("device_os".into(), Value::from("Android")),
                    ("gender".into(), Value::from("F")),
                ]),
                Values::from([
                    ("tenure_days".into(), Value::from(12)),
                    ("is_new".into(), Value::Bool(true)),
                    ("device_os".into(), Value::from("iOS")),
                    ("gender".into(), Value::from("M")),
                ]),
            ],
            skus: vec![
                (
                    "SKU1".into(),
                    Values::from([("sku".into(), Value::from("SKU1"))]),
                ),
                (
                    "SKU2".into(),
                    Values::from([("sku".into(), Value::from("SKU2"))]),
                ),
            ],
            conditions: Values::from([("channel".into(), Value::from("app"))]),
            ios: Value::from("iOS"),
            android: Value::from("Android"),
            protected: vec![ProtectedGroups {
                attribute: "gender".into(),
                kind: Some(QuasiKind::Gender),
                groups: vec![
                    ("female".into(), 200, Value::from("F")),
                    ("male".into(), 180, Value::from("M")),
                ],
            }],
            protected_unsent: vec!["birth_year".into()],
        }
    }

    fn plan(request: &str, attributes: &str) -> (Vec<Contrast>, Vec<NotProbed>, Vec<PlannedPair>) {
        let config = config(request, attributes);
        let template = Template::resolve(&config, &known(), "f.toml").unwrap();
        let inputs = inputs();
        let Contrasts {
            made: contrasts,
            not_probed,
            ..
        } = contrasts(&config, &template, &inputs);
        let pairs = pairs(&contrasts, &inputs, &template, 7);
        (contrasts, not_probed, pairs)
    }

    const FULL: &str = "item = \"sku\", days = \"tenure_days\", fresh = \"is_new\", os = \"device_os\", sex = \"gender\", channel = \"channel\", currency = \"CNY\"";

    #[test]
    fn twins_differ_in_the_one_attribute_and_share_the_rest() {
        let (contrasts, _, pairs) = plan(FULL, "\"tenure\", \"device\", \"protected\", \"is_new\"");
        // tenure, device, gender, is_new × 2 SKUs × 2 profiles.
        assert_eq!(contrasts.len(), 4);
        assert_eq!(pairs.len(), 16);
        for pair in &pairs {
            let (a, b) = (&pair.treated.body, &pair.reference.body);
            let differing: Vec<&String> = a.keys().filter(|k| a[*k] != b[*k]).collect();
            let expected: &[&str] = match contrasts[pair.test].test.attribute.as_str() {
                // is_new follows tenure: the 12-day profile is new either way at 30 days.
                "tenure_days" => &["days", "fresh"],
                "device_os" => &["os"],
                "gender" => &["sex"],
                "is_new" => &["fresh"],
                other => panic!("{other}"),
            };
            let differing: Vec<&str> = differing.iter().map(|s| s.as_str()).collect();
            assert_eq!(differing, expected, "{}", contrasts[pair.test].test.name);
            assert_eq!(a["currency"], "CNY");
            assert_eq!(a["channel"], "app");
            assert_eq!(a["item"], b["item"]);
            assert_ne!(pair.treated.key, pair.reference.key);
        }
        let tenure = pairs.iter().find(|p| p.test == 0).unwrap();
        assert_eq!(tenure.treated.body["days"], 730);
        assert_eq!(tenure.treated.body["fresh"], false);
        assert_eq!(tenure.reference.body["days"], 30);
        assert_eq!(tenure.reference.body["fresh"], true);
    }

    #[test]
    fn the_order_is_shuffled_by_the_seed_and_the_keys_do_not_depend_on_it() {
        let (_, _, first) = plan(FULL, "\"tenure\", \"device\"");
        let (_, _, again) = plan(FULL, "\"tenure\", \"device\"");
        assert_eq!(first, again);
        let in_order: Vec<(usize, String, usize)> = first
            .iter()
            .map(|p| (p.test, p.sku.clone(), p.profile))
            .collect();
        let mut sorted = in_order.clone();
        sorted.sort();
        assert_ne!(in_order, sorted, "shuffled");
        assert!(first.iter().any(|p| p.treated_first) && first.iter().any(|p| !p.treated_first));
        let config = config(FULL, "\"tenure\", \"device\"");
        let template = Template::resolve(&config, &known(), "f").unwrap();
        let contrasts = contrasts(&config, &template, &inputs()).made;
        let other_seed = pairs(&contrasts, &inputs(), &template, 8);
        let keys = |pairs: &[PlannedPair]| {
            let mut keys: Vec<String> = pairs.iter().map(|p| p.treated.key.clone()).collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(&first), keys(&other_seed));
    }

    #[test]
    fn attributes_the_template_does_not_send_are_not_probed_and_say_why() {
        let (contrasts, not_probed, _) = plan(
            "item = \"sku\", days = \"tenure_days\"",
            "\"tenure\", \"device\", \"protected\"",
        );
        let names: Vec<&str> = contrasts.iter().map(|c| c.test.name.as_str()).collect();
        assert!(
            !names.iter().any(|n| n.starts_with("device_os")),
            "{names:?}"
        );
        let reasons: Vec<&str> = not_probed.iter().map(|n| n.reason.as_str()).collect();
        assert!(
            reasons.iter().any(|r| r.contains("`device_os`")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("`birth_year`")),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_template_typo_and_a_missing_sku_are_refused() {
        let typo = config("item = \"sku\", days = \"tenur_days\"", "\"tenure\"");
        let message = Template::resolve(&typo, &known(), "f.toml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("did you mean `tenure_days`"), "{message}");
        let no_sku = config("days = \"tenure_days\"", "\"tenure\"");
        assert!(Template::resolve(&no_sku, &known(), "f.toml").is_err());
    }

    #[test]
    fn samples_are_prefixes_of_larger_samples() {
        let small = sample(1000, 10, 3);
        let large = sample(1000, 50, 3);
        assert_eq!(small, large[..10]);
        let distinct: BTreeSet<usize> = large.iter().copied().collect();
        assert_eq!(distinct.len(), 50);
        assert_eq!(sample(5, 10, 3).len(), 5);
    }

    #[test]
    fn more_than_two_protected_groups_are_each_compared_with_the_largest() {
        let groups = ProtectedGroups {
            attribute: "birth_year".into(),
            kind: Some(QuasiKind::BirthYear),
            groups: vec![
                ("1970-1979".into(), 40, Value::from(1975)),
                ("1980-1989".into(), 90, Value::from(1988)),
                ("1990-1999".into(), 120, Value::from(1992)),
                ("2000-2009".into(), 5, Value::from(2001)),
            ],
        };
        let (contrasts, note) = protected_contrasts(&groups);
        let names: Vec<&str> = contrasts.iter().map(|c| c.test.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "born 1970-1979 vs born 1990-1999",
                "born 1980-1989 vs born 1990-1999"
            ]
        );
        assert!(note.unwrap().contains("1 of its groups"));
        assert_eq!(contrasts[0].treated["birth_year"], 1975);
        assert!(contrasts.iter().all(|c| c.test.two_sided));
    }
}
