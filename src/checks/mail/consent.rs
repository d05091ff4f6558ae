//! Consent as the consent checks and the mail breakdown judge it: the settings of
//! `mail.no-consent` (where an opt-in is required) and `mail.after-opt-out` (the grace after an
//! opt-out), and the predicates on a judged send they give. The two checks, `unsolicited_bulk`
//! and the breakdown all read them from here, so the family's `mod.rs` imports no check. Here
//! too: the channels a pack may name.

use serde::Deserialize;

use crate::config_errors::quoted_or;
use crate::engine::literal;
use crate::error::Result;
use crate::mail_time::BusinessDeadlineUdf;
use crate::policy::{EffectivePolicy, Strictest, Validate, within};

/// The id of the check whose settings [`OptInSettings`] are.
pub const NO_CONSENT: &str = "mail.no-consent";
/// The id of the check whose settings [`OptOutGrace`] are.
pub const AFTER_OPT_OUT: &str = "mail.after-opt-out";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptInSettings {
    /// Channels on which marketing needs a prior opt-in.
    pub opt_in_required: Vec<String>,
}

impl Default for OptInSettings {
    fn default() -> Self {
        OptInSettings {
            opt_in_required: vec!["email".into(), "sms".into(), "push".into()],
        }
    }
}

impl Strictest for OptInSettings {
    fn strictest(mut self, other: Self) -> Self {
        self.opt_in_required.extend(other.opt_in_required);
        self.opt_in_required.sort();
        self.opt_in_required.dedup();
        self
    }
}

impl Validate for OptInSettings {
    fn validate(&self) -> Result<(), String> {
        self.opt_in_required
            .iter()
            .try_for_each(|channel| known_channel("opt_in_required", channel))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptOutGrace {
    pub grace_days: i64,
    pub grace_business_days: i64,
}

impl Strictest for OptOutGrace {
    fn strictest(self, other: Self) -> Self {
        // A pack's grace is in business days when it gives them, else in calendar days. N
        // business days never end before N calendar days, so two business-day graces merge to
        // the shorter, and any calendar-day grace in the mix to the smallest number of either,
        // counted in calendar days: never later than any pack's deadline (possibly a day or two
        // earlier than a business-day pack's alone), and the same in any order.
        let days = |s: &Self| {
            if s.grace_business_days > 0 {
                s.grace_business_days
            } else {
                s.grace_days
            }
        };
        let shortest = days(&self).min(days(&other));
        if self.grace_business_days > 0 && other.grace_business_days > 0 {
            OptOutGrace {
                grace_days: 0,
                grace_business_days: shortest,
            }
        } else {
            OptOutGrace {
                grace_days: shortest,
                grace_business_days: 0,
            }
        }
    }
}

/// The longest grace a pack may give, in calendar or business days.
const MAX_GRACE_DAYS: i64 = 90;

/// One grace, 0 to 90 days of one kind: when both are set the business days would silently
/// win.
impl Validate for OptOutGrace {
    fn validate(&self) -> Result<(), String> {
        within("grace_days", self.grace_days, 0..=MAX_GRACE_DAYS)?;
        within(
            "grace_business_days",
            self.grace_business_days,
            0..=MAX_GRACE_DAYS,
        )?;
        if self.grace_days > 0 && self.grace_business_days > 0 {
            return Err(
                "grace_days and grace_business_days are both set; give the grace in one of them"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A channel a pack names must be one the sends can carry (they are lowercased on reading),
/// or the setting would silently never apply.
pub(super) fn known_channel(key: &str, channel: &str) -> Result<(), String> {
    if crate::derived::judged_sends::CHANNELS.contains(&channel) {
        return Ok(());
    }
    Err(format!(
        "{key}: channel {} must be one of {}",
        quoted_or(channel, "(not shown)"),
        crate::derived::judged_sends::CHANNELS.join(", ")
    ))
}

fn channel_list(channels: &[String]) -> String {
    if channels.is_empty() {
        "''".to_string()
    } else {
        channels
            .iter()
            .map(|c| literal(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The predicate of a send without valid consent (no opt-in where required, or after an
/// opt-out beyond the grace period), shared by three checks. The grace period is half-open,
/// like the consent order in [`crate::derived::judged_sends`]: a send at exactly the opt-out
/// time plus the grace (with no grace: at exactly the opt-out time) is after the opt-out.
pub(super) fn without_consent(consent: &OptInSettings, opt_out: &OptOutGrace) -> (String, String) {
    let no_consent = format!(
        "(status IS NULL AND channel IN ({}))",
        channel_list(&consent.opt_in_required)
    );
    let deadline = if opt_out.grace_business_days > 0 {
        format!(
            "{}(status_at, {})",
            BusinessDeadlineUdf::NAME,
            opt_out.grace_business_days
        )
    } else {
        format!("status_at + INTERVAL '{} days'", opt_out.grace_days.max(0))
    };
    let after_opt_out = format!("(status = 'opt_out' AND sent_at >= {deadline})");
    (no_consent, after_opt_out)
}

/// The two predicates of [`without_consent`] under the policy's settings.
pub(super) fn without_consent_in(policy: &EffectivePolicy) -> Result<(String, String)> {
    let consent: OptInSettings = policy.settings(NO_CONSENT)?;
    let opt_out: OptOutGrace = policy.settings(AFTER_OPT_OUT)?;
    Ok(without_consent(&consent, &opt_out))
}

/// The channels on which the policy requires opt-in, for the suppression list.
pub fn opt_in_required(policy: &EffectivePolicy) -> Result<Vec<String>> {
    let consent: OptInSettings = policy.settings(NO_CONSENT)?;
    Ok(if policy.check(NO_CONSENT).is_some() {
        consent.opt_in_required
    } else {
        Vec::new()
    })
}
