//! `pricing.rule-protected-attribute`: see `rule_protected_attribute.md`.

use super::{classified, location, rule_subject};
use crate::checks::check::Outcome;
use crate::checks::context::Need;
use crate::findings::evidence::ProtectedAttributeRule;
use crate::findings::{Finding, Severity};
use crate::policy::{AttributeClass, EffectiveCheck, EffectivePolicy, NoSettings};
use crate::pricing::rules::RulesFile;

check_info!(
    INFO,
    "pricing.rule-protected-attribute",
    "pricing",
    "Price adjustment keyed to a protected attribute",
    "定价规则使用受保护属性",
    Severity::Critical,
    "rule_protected_attribute.md",
    NoSettings
);

check!(
    RuleProtectedAttribute,
    INFO,
    needs: &[Need::PricingRules],
    run: |cx, check| Ok(Outcome::Findings(findings(cx.rules()?, cx.policy, check)))
);

/// Any adjustment, up or down, whose condition uses a protected attribute.
fn findings(rules: &RulesFile, policy: &EffectivePolicy, check: &EffectiveCheck) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in &rules.rules {
        let protected = classified(rule, policy)
            .into_iter()
            .find(|(_, class)| *class == Some(AttributeClass::Protected));
        let Some((used, _)) = protected else {
            continue;
        };
        findings.push(
            Finding::new(
                INFO.id,
                check.severity,
                rule_subject(rule),
                &used.attribute,
                format!("Rule `{}` prices by protected attribute {}", rule.id, used.attribute),
                format!(
                    "Rule `{}` adjusts the price ({}) when `{}` holds; `{}` is a protected attribute, and no price may depend on it.",
                    rule.id,
                    rule.adjust.describe(),
                    rule.when,
                    used.attribute
                ),
            )
            .with_evidence(ProtectedAttributeRule {
                attribute: used.attribute.clone(),
                adjust: rule.adjust.describe(),
            })
            .at(location(rules, used))
            .with_legal_bases(&check.legal_bases),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::pricing::test_support::{analyse, rule};

    #[test]
    fn a_discount_by_gender_is_flagged_and_one_by_channel_is_not() {
        assert_eq!(
            analyse(&rule("gender = 'F'", "-5%"), INFO.id, findings).len(),
            1
        );
        assert!(analyse(&rule("channel = 'app'", "-5%"), INFO.id, findings).is_empty());
    }
}
