//! The static checks of the pricing-rules file: `pricing.rule-surcharge`,
//! `pricing.rule-new-customer-discount`, `pricing.rule-protected-attribute` and
//! `pricing.rule-unclassified-attribute`. They read the rules and the policy's attribute
//! classes only, so they run in CI before any data exists.

use crate::checks::{CheckInfo, NoSettings};
use crate::findings::{Finding, Severity, SourceLocation, Subject};
use crate::policy::{AttributeClass, EffectivePolicy};
use crate::pricing::rules::{AttributeUse, Direction, Rule, RulesFile};

check_info!(
    SURCHARGE,
    "pricing.rule-surcharge",
    "pricing",
    "Price increase keyed to loyalty or profiling",
    Severity::High,
    "rule_surcharge.md",
    NoSettings
);

check_info!(
    NEW_CUSTOMER_DISCOUNT,
    "pricing.rule-new-customer-discount",
    "pricing",
    "Undisclosed discount for new customers only",
    Severity::Medium,
    "rule_new_customer_discount.md",
    NoSettings
);

check_info!(
    PROTECTED_ATTRIBUTE,
    "pricing.rule-protected-attribute",
    "pricing",
    "Price adjustment keyed to a protected attribute",
    Severity::Critical,
    "rule_protected_attribute.md",
    NoSettings
);

check_info!(
    UNCLASSIFIED_ATTRIBUTE,
    "pricing.rule-unclassified-attribute",
    "pricing",
    "Rule attribute the policy does not classify",
    Severity::Info,
    "rule_unclassified_attribute.md",
    NoSettings
);

pub const ALL: [&CheckInfo; 4] = [
    &SURCHARGE,
    &NEW_CUSTOMER_DISCOUNT,
    &PROTECTED_ATTRIBUTE,
    &UNCLASSIFIED_ATTRIBUTE,
];

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

/// The findings of every enabled static check.
pub fn run(rules: &RulesFile, policy: &EffectivePolicy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in &rules.rules {
        let classified: Vec<(&AttributeUse, Option<AttributeClass>)> = rule
            .uses
            .iter()
            .map(|u| (u, policy.attribute_class(&u.attribute)))
            .collect();
        let raises = rule.adjust.raises();

        if let Some(check) = policy.check(SURCHARGE.id).filter(|_| raises != Some(false)) {
            let targeted = classified.iter().find(|(u, class)| match class {
                Some(AttributeClass::Loyalty) => u.direction != Direction::New,
                Some(AttributeClass::Profiling) => true,
                _ => false,
            });
            if let Some((used, Some(class))) = targeted {
                let how = if raises.is_none() {
                    "sets a fixed price"
                } else {
                    "raises the price"
                };
                findings.push(
                    Finding::new(
                        SURCHARGE.id,
                        check.severity,
                        rule_subject(rule),
                        &used.attribute,
                        format!("Rule `{}` {how} by {}", rule.id, used.attribute),
                        format!(
                            "Rule `{}` {how} ({}) when `{}` holds; `{}` is a {} attribute, so customers pay more for the same item because of who they are, not the trading conditions.",
                            rule.id,
                            rule.adjust.describe(),
                            rule.when,
                            used.attribute,
                            class.name()
                        ),
                    )
                    .with_evidence("attribute", used.attribute.clone())
                    .with_evidence("attribute_class", class.name())
                    .with_evidence("adjust", rule.adjust.describe())
                    .with_evidence("condition", rule.when.clone())
                    .at(location(rules, used))
                    .with_legal_bases(&check.legal_bases),
                );
            }
        }

        if let Some(check) = policy
            .check(NEW_CUSTOMER_DISCOUNT.id)
            .filter(|_| raises == Some(false) && !rule.disclosed)
        {
            // A loyalty condition whose direction the analysis cannot read may select new
            // customers: it is reported (fail closed), worded as what it is.
            let loyalty_pointing = |direction: Direction| {
                classified.iter().find(|(u, class)| {
                    *class == Some(AttributeClass::Loyalty) && u.direction == direction
                })
            };
            let selects_new =
                loyalty_pointing(Direction::New).or_else(|| loyalty_pointing(Direction::Unknown));
            if let Some((used, _)) = selects_new {
                let selects = if used.direction == Direction::New {
                    "which selects new customers"
                } else {
                    "which may select new customers (fairmark cannot tell which customers it selects)"
                };
                findings.push(
                    Finding::new(
                        NEW_CUSTOMER_DISCOUNT.id,
                        check.severity,
                        rule_subject(rule),
                        &used.attribute,
                        format!("Rule `{}` gives new customers an undisclosed discount", rule.id),
                        format!(
                            "Rule `{}` lowers the price ({}) only when `{}` holds, {selects}, and is not disclosed: long-standing customers silently pay more for the same item. Label the offer and set disclosed = true, or drop the cohort condition.",
                            rule.id,
                            rule.adjust.describe(),
                            rule.when
                        ),
                    )
                    .with_evidence("attribute", used.attribute.clone())
                    .with_evidence("adjust", rule.adjust.describe())
                    .with_evidence("disclosed", false)
                    .at(location(rules, used))
                    .with_legal_bases(&check.legal_bases),
                );
            }
        }

        let protected = classified
            .iter()
            .find(|(_, class)| *class == Some(AttributeClass::Protected));
        if let (Some(check), Some((used, _))) = (policy.check(PROTECTED_ATTRIBUTE.id), protected) {
            findings.push(
                    Finding::new(
                        PROTECTED_ATTRIBUTE.id,
                        check.severity,
                        rule_subject(rule),
                        &used.attribute,
                        format!("Rule `{}` prices by protected attribute {}", rule.id, used.attribute),
                        format!("Rule `{}` adjusts the price ({}) when `{}` holds; `{}` is a protected attribute, and no price may depend on it.", rule.id, rule.adjust.describe(), rule.when, used.attribute),
                    )
                    .with_evidence("attribute", used.attribute.clone())
                    .with_evidence("adjust", rule.adjust.describe())
                    .at(location(rules, used))
                    .with_legal_bases(&check.legal_bases),
                );
        }

        if let Some(check) = policy.check(UNCLASSIFIED_ATTRIBUTE.id) {
            let mut reported = Vec::new();
            for (used, _) in classified.iter().filter(|(_, class)| class.is_none()) {
                if reported.contains(&&used.attribute) {
                    continue;
                }
                reported.push(&used.attribute);
                findings.push(
                    Finding::new(
                        UNCLASSIFIED_ATTRIBUTE.id,
                        check.severity,
                        rule_subject(rule),
                        &used.attribute,
                        format!("Rule `{}` uses unclassified attribute {}", rule.id, used.attribute),
                        format!("No policy pack in force classifies `{}`; add it to [attributes] in your pack as loyalty, profiling, protected or trading, so fairmark can judge rule `{}`.", used.attribute, rule.id),
                    )
                    .with_evidence("attribute", used.attribute.clone())
                    .at(location(rules, used))
                    .with_legal_bases(&check.legal_bases),
                );
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyPack;

    fn analyse(rules: &str) -> Vec<Finding> {
        let known = [
            "tenure_days",
            "is_new",
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
            PolicyPack::built_in()
                .into_iter()
                .find(|p| p.name == "cn")
                .unwrap(),
        ]);
        run(&file, &policy)
    }

    fn checks(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.check.as_str()).collect()
    }

    #[test]
    fn a_tenure_surcharge_is_flagged_at_its_attribute() {
        let findings = analyse(
            "[[rule]]\nid = \"u\"\nwhen = \"price_sensitivity < 0.3 AND NOT is_new\"\nadjust = \"+8%\"\n",
        );
        assert_eq!(checks(&findings), ["pricing.rule-surcharge"]);
        assert_eq!(
            findings[0].location.as_ref().map(|l| (l.line, l.column)),
            Some((3, 9))
        );
    }

    #[test]
    fn legitimate_trading_condition_rules_pass() {
        let findings = analyse(
            "[[rule]]\nid = \"app\"\nwhen = \"channel = 'app'\"\nadjust = \"-2%\"\n\n[[rule]]\nid = \"bulk\"\nwhen = \"quantity >= 3\"\nadjust = \"-5%\"\n\n[[rule]]\nid = \"loyalty-reward\"\nwhen = \"tenure_days > 365\"\nadjust = \"-3%\"\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn a_silent_welcome_discount_is_flagged_and_a_disclosed_one_is_not() {
        let silent = analyse("[[rule]]\nid = \"w\"\nwhen = \"is_new\"\nadjust = \"-10%\"\n");
        assert_eq!(checks(&silent), ["pricing.rule-new-customer-discount"]);
        let labelled = analyse(
            "[[rule]]\nid = \"w\"\nwhen = \"is_new\"\nadjust = \"-10%\"\ndisclosed = true\n",
        );
        assert!(labelled.is_empty());
    }

    #[test]
    fn protected_and_unclassified_attributes_are_reported() {
        let findings = analyse(
            "[[rule]]\nid = \"g\"\nwhen = \"gender = 'F' OR vip_level > 2\"\nadjust = \"-5%\"\n",
        );
        assert_eq!(
            checks(&findings),
            [
                "pricing.rule-protected-attribute",
                "pricing.rule-unclassified-attribute"
            ]
        );
        let ios = analyse("[[rule]]\nid = \"i\"\nwhen = \"device_os = 'iOS'\"\nadjust = \"+5%\"\n");
        assert_eq!(checks(&ios), ["pricing.rule-surcharge"]);
    }
}
