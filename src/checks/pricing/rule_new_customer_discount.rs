//! `pricing.rule-new-customer-discount`: see `rule_new_customer_discount.md`.

use super::{classified, location, rule_subject};
use crate::checks::check::Outcome;
use crate::checks::context::Need;
use crate::findings::evidence::NewCustomerDiscountRule;
use crate::findings::{Finding, Severity};
use crate::policy::{AttributeClass, EffectiveCheck, EffectivePolicy, NoSettings};
use crate::pricing::rules::{Direction, RulesFile};

check_info!(
    INFO,
    "pricing.rule-new-customer-discount",
    "pricing",
    "Undisclosed discount for new customers only",
    "未披露的新客专享优惠",
    Severity::Medium,
    "rule_new_customer_discount.md",
    NoSettings
);

check!(
    RuleNewCustomerDiscount,
    INFO,
    needs: &[Need::PricingRules],
    run: |cx, check| Ok(Outcome::Findings(findings(cx.rules()?, cx.policy, check)))
);

/// An undisclosed discount whose loyalty condition selects new customers, or may (fail closed).
fn findings(rules: &RulesFile, policy: &EffectivePolicy, check: &EffectiveCheck) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in rules
        .rules
        .iter()
        .filter(|r| r.adjust.raises() == Some(false) && !r.disclosed)
    {
        let classified = classified(rule, policy);
        let loyalty_pointing = |direction: Direction| {
            classified.iter().find(|(u, class)| {
                *class == Some(AttributeClass::Loyalty) && u.direction == direction
            })
        };
        let Some((used, _)) =
            loyalty_pointing(Direction::New).or_else(|| loyalty_pointing(Direction::Unknown))
        else {
            continue;
        };
        let selects = if used.direction == Direction::New {
            "which selects new customers"
        } else {
            "which may select new customers (fairmark cannot tell which customers it selects)"
        };
        findings.push(
            Finding::new(
                INFO.id,
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
            .with_evidence(NewCustomerDiscountRule {
                attribute: used.attribute.clone(),
                adjust: rule.adjust.describe(),
                disclosed: false,
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

    fn flagged(text: &str) -> usize {
        analyse(text, INFO.id, findings).len()
    }

    #[test]
    fn a_silent_welcome_discount_is_flagged_and_a_disclosed_one_is_not() {
        assert_eq!(flagged(&rule("is_new", "-10%")), 1);
        assert_eq!(
            flagged(&format!("{}disclosed = true\n", rule("is_new", "-10%"))),
            0
        );
    }

    #[test]
    fn a_loyalty_reward_passes_and_an_unreadable_condition_fails_closed() {
        assert_eq!(flagged(&rule("tenure_days > 365", "-3%")), 0);
        assert_eq!(flagged(&rule("order_count = 0", "-10%")), 1);
    }
}
