//! Pricing checks: static analysis of the pricing rules (`rule_*`), their simulation on the
//! real customer base (`simulated_disparity`), and the prices actually offered (`*_overcharge`,
//! over the shared cohort comparison in `observed`), and the quotes of a live pricing service to
//! matched twins (`probe_*`, over the shared statistics in `probe`).

pub mod device_overcharge;
pub mod frequency_overcharge;
pub mod observed;
pub mod probe;
pub mod probe_device;
pub mod probe_protected;
pub mod probe_tenure;
pub mod protected_overcharge;
pub mod rule_new_customer_discount;
pub mod rule_protected_attribute;
pub mod rule_surcharge;
pub mod rule_unclassified_attribute;
pub mod simulated_disparity;
pub mod tenure_overcharge;

use crate::findings::{SourceLocation, Subject};
use crate::policy::{AttributeClass, EffectivePolicy};
use crate::pricing::rules::{AttributeUse, Rule, RulesFile};

/// Where an attribute of a rule's condition sits in the rules file.
fn location(rules: &RulesFile, used: &AttributeUse) -> SourceLocation {
    SourceLocation {
        file: rules.path.clone(),
        line: used.position.line,
        column: used.position.column,
    }
}

fn rule_subject(rule: &Rule) -> Subject {
    Subject {
        rule: Some(rule.id.clone()),
        ..Subject::default()
    }
}

/// Each attribute a rule uses, with the class the policy gives it.
fn classified<'r>(
    rule: &'r Rule,
    policy: &EffectivePolicy,
) -> Vec<(&'r AttributeUse, Option<AttributeClass>)> {
    rule.uses
        .iter()
        .map(|u| (u, policy.attribute_class(&u.attribute)))
        .collect()
}

#[cfg(test)]
mod test_support {
    use super::*;
    use crate::findings::Finding;
    use crate::policy::EffectiveCheck;

    /// A static rule check: the rules file and the policy in, findings out.
    type RuleFindings = fn(&RulesFile, &EffectivePolicy, &EffectiveCheck) -> Vec<Finding>;
    use crate::checks::Registry;
    use crate::policy::PolicyPack;

    /// The findings of one static check on rules text, under the `cn` pack.
    pub fn analyse(rules: &str, id: &str, findings: RuleFindings) -> Vec<Finding> {
        let known = [
            "tenure_days",
            "is_new",
            "order_count",
            "price_sensitivity",
            "channel",
            "device_os",
            "gender",
            "vip_level",
            "quantity",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let file = RulesFile::parse(rules, "rules.toml", &known).unwrap();
        let policy = EffectivePolicy::combine(vec![
            PolicyPack::built_in(&Registry)
                .into_iter()
                .find(|p| p.name == "cn")
                .unwrap(),
        ]);
        let check = policy.check(id).expect("cn enables the check").clone();
        findings(&file, &policy, &check)
    }

    pub fn rule(when: &str, adjust: &str) -> String {
        format!("[[rule]]\nid = \"r\"\nwhen = \"{when}\"\nadjust = \"{adjust}\"\n")
    }
}
