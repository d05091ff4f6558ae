//! `pricing.rule-surcharge`: see `rule_surcharge.md`.

use super::{classified, location, rule_subject};
use crate::checks::check::Outcome;
use crate::checks::context::Need;
use crate::findings::evidence::SurchargeRule;
use crate::findings::{Finding, Severity};
use crate::policy::{AttributeClass, EffectiveCheck, EffectivePolicy, NoSettings};
use crate::pricing::rules::{Direction, RulesFile};

check_info!(
    INFO,
    "pricing.rule-surcharge",
    "pricing",
    "Price increase keyed to loyalty or profiling",
    "按忠诚度或用户画像加价的定价规则",
    Severity::High,
    "rule_surcharge.md",
    NoSettings
);

check!(
    RuleSurcharge,
    INFO,
    needs: &[Need::PricingRules],
    run: |cx, check| Ok(Outcome::Findings(findings(cx.rules()?, cx.policy, check)))
);

/// A rule that raises (or fixes) the price on a loyalty attribute not pointing at new
/// customers (an unknown direction counts), or on any profiling attribute.
fn findings(rules: &RulesFile, policy: &EffectivePolicy, check: &EffectiveCheck) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in rules
        .rules
        .iter()
        .filter(|r| r.adjust.raises() != Some(false))
    {
        let targeted = classified(rule, policy)
            .into_iter()
            .find(|(u, class)| match class {
                Some(AttributeClass::Loyalty) => u.direction != Direction::New,
                Some(AttributeClass::Profiling) => true,
                _ => false,
            });
        let Some((used, Some(class))) = targeted else {
            continue;
        };
        let how = if rule.adjust.raises().is_none() {
            "sets a fixed price"
        } else {
            "raises the price"
        };
        findings.push(
            Finding::new(
                INFO.id,
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
            .with_evidence(SurchargeRule {
                attribute: used.attribute.clone(),
                attribute_class: class.name().to_string(),
                adjust: rule.adjust.describe(),
                condition: rule.when.clone(),
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

    fn flagged(when: &str, adjust: &str) -> Vec<Finding> {
        analyse(&rule(when, adjust), INFO.id, findings)
    }

    #[test]
    fn a_tenure_surcharge_is_flagged_at_its_attribute() {
        let found = flagged("price_sensitivity < 0.3 AND NOT is_new", "+8%");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].location.as_ref().map(|l| (l.line, l.column)),
            Some((3, 9))
        );
        assert_eq!(flagged("device_os = 'iOS'", "+5%").len(), 1);
    }

    #[test]
    fn near_misses_pass_a_loyalty_discount_and_a_trading_surcharge() {
        assert!(flagged("tenure_days > 365", "-3%").is_empty());
        assert!(flagged("channel = 'app'", "+2%").is_empty());
        assert!(flagged("tenure_days < 30", "+2%").is_empty());
    }

    #[test]
    fn an_unreadable_direction_fails_closed() {
        assert_eq!(flagged("COALESCE(tenure_days, 0) > 365", "+6%").len(), 1);
    }
}
