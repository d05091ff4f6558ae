//! The mail breakdown as the report carries it: every campaign's messages by how they stand
//! under the policy's consent checks. [`crate::checks::mail::breakdown`] builds it; the report
//! reads it from here, so no renderer depends on a check.

use serde::Serialize;

/// One campaign on one channel. Each message is counted once, in the first category it
/// falls in, in this order: after an opt-out, without consent, inside quiet hours, consented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignSends {
    pub campaign: String,
    pub channel: String,
    pub messages: u64,
    /// With consent in force at the send time (an opt-in, or no opt-in required on the channel
    /// and no opt-out past its grace), outside quiet hours.
    pub consented: u64,
    /// No opt-in on record on a channel that requires one (`mail.no-consent`).
    pub no_consent: u64,
    /// After the recipient opted out, past the grace period (`mail.after-opt-out`).
    pub after_opt_out: u64,
    /// Consented, but inside the channel's quiet hours in the recipient's zone
    /// (`mail.quiet-hours`).
    pub quiet_hours: u64,
}

/// The judged sends per campaign, as `report.json` carries them (`mail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailBreakdown {
    /// Categories the policy does not judge (its check is not enabled, or no quiet hours are
    /// set): `no_consent`, `after_opt_out`, `quiet_hours`. Their counts are 0 and those
    /// messages count as consented.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_judged: Vec<&'static str>,
    /// By campaign, then channel.
    pub campaigns: Vec<CampaignSends>,
}
