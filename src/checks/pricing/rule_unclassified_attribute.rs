//! `pricing.rule-unclassified-attribute`: see `rule_unclassified_attribute.md`.

use super::{classified, location, rule_subject};
use crate::checks::check::Outcome;
use crate::checks::context::Need;
use crate::findings::evidence::UnclassifiedAttributeRule;
use crate::findings::{Finding, Severity};
use crate::policy::{EffectiveCheck, EffectivePolicy, NoSettings};
use crate::pricing::rules::RulesFile;

check_info!(
    INFO,
    "pricing.rule-unclassified-attribute",
    "pricing",
    "Rule attribute the policy does not classify",
    "定价规则使用未分类的属性",
    Severity::Info,
    "rule_unclassified_attribute.md",
    NoSettings
);

check!(
    RuleUnclassifiedAttribute,
    INFO,
    needs: &[Need::PricingRules],
    run: |cx, check| Ok(Outcome::Findings(findings(cx.rules()?, cx.policy, check)))
);

/// Each attribute no pack classifies, once per rule.
fn findings(rules: &RulesFile, policy: &EffectivePolicy, check: &EffectiveCheck) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in &rules.rules {
        let mut reported: Vec<&str> = Vec::new();
        for (used, _) in classified(rule, policy)
            .into_iter()
            .filter(|(_, class)| class.is_none())
        {
            if reported.contains(&used.attribute.as_str()) {
                continue;
            }
            reported.push(&used.attribute);
            findings.push(
                Finding::new(
                    INFO.id,
                    check.severity,
                    rule_subject(rule),
                    &used.attribute,
                    format!("Rule `{}` uses unclassified attribute {}", rule.id, used.attribute),
                    format!(
                        "No policy pack in force classifies `{}`; add it to [attributes] in your pack as loyalty, profiling, protected or trading, so fairmark can judge rule `{}`.",
                        used.attribute, rule.id
                    ),
                )
                .with_evidence(UnclassifiedAttributeRule {
                    attribute: used.attribute.clone(),
                })
                .at(location(rules, used))
                .with_legal_bases(&check.legal_bases),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::pricing::test_support::{analyse, rule};

    #[test]
    fn an_unclassified_attribute_is_reported_once_per_rule() {
        let found = analyse(
            &rule("vip_level > 2 OR vip_level < 0", "-5%"),
            INFO.id,
            findings,
        );
        assert_eq!(found.len(), 1);
        assert!(analyse(&rule("channel = 'app'", "-5%"), INFO.id, findings).is_empty());
    }
}
