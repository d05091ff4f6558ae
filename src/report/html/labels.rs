//! Every word `report.html` adds around the report's data, in one place, so that another
//! language is one more [`Labels`] value. What the checks wrote (titles, messages, reasons) is
//! shown as it is.

use crate::findings::Severity;

/// The page's words. Sentences that carry numbers are functions, so a translation can put the
/// numbers where its grammar wants them.
pub struct Labels {
    /// The page's `lang` attribute.
    pub lang: &'static str,
    pub title: &'static str,
    pub report_schema: &'static str,
    pub config: &'static str,
    pub key_id: &'static str,
    pub policy_packs: &'static str,
    pub pass: &'static str,
    pub fail: &'static str,
    /// The gate: the severity findings fail at, and whether only new ones do.
    pub gate: fn(&str, bool) -> String,
    /// `(failing, all)` findings.
    pub failing: fn(usize, usize) -> String,
    /// Waived findings, and the day waivers were judged on.
    pub waived: fn(usize, Option<&str>) -> String,
    pub by_area: &'static str,
    pub by_area_caption: &'static str,
    pub area: &'static str,
    pub total: &'static str,
    /// A check family's heading: `privacy`, `pricing`, `mail`, `waiver`, or another family.
    pub area_name: fn(&str) -> String,
    pub severity: fn(Severity) -> &'static str,

    pub since_baseline: &'static str,
    pub compared_with: fn(&str) -> String,
    pub new: &'static str,
    pub persisting: &'static str,
    pub resolved: &'static str,
    pub resolved_findings: &'static str,
    pub none_resolved: &'static str,
    pub segment_shift: &'static str,
    /// `(stayed, moved, entered, left)` customers.
    pub shift_counts: fn(u64, u64, u64, u64) -> String,
    pub shift_skipped: fn(&str) -> String,
    pub from_segment: &'static str,
    pub to_segment: &'static str,
    pub customers: &'static str,

    pub contents: &'static str,
    pub filter: &'static str,
    pub filter_severity: &'static str,
    pub filter_area: &'static str,
    /// Filled in by the page's script: `{shown}` and `{total}` are replaced.
    pub filter_count: &'static str,

    pub findings: &'static str,
    pub no_findings: &'static str,
    pub no_findings_in_area: &'static str,
    pub check: &'static str,
    pub subject: &'static str,
    pub fingerprint: &'static str,
    pub waived_until: fn(&str) -> String,
    /// `(owner, expires, reason)`.
    pub waived_by: fn(&str, &str, &str) -> String,
    pub evidence: &'static str,
    pub legal_basis: &'static str,

    pub forest_title: &'static str,
    pub forest_caption: &'static str,
    /// The interval's confidence, in percent.
    pub mean_gap_ci: fn(f64) -> String,
    pub mean_gap: &'static str,
    pub interval: &'static str,
    pub hodges_lehmann: &'static str,
    pub median_gap: &'static str,
    pub episode_gap: &'static str,
    pub sku: &'static str,
    pub cohorts: &'static str,
    pub matched_strata: &'static str,
    pub q_value: &'static str,
    pub timeline_title: &'static str,
    pub timeline_caption: &'static str,
    pub whole_bucket: &'static str,
    pub one_condition: &'static str,
    pub episodes: &'static str,
    pub episodes_shown: &'static str,
    /// `(shown, all)` episodes of a comparison, when a finding lists only some.
    pub shown_of: fn(usize, usize) -> String,
    pub episode_buckets: &'static str,
    pub episode_share: &'static str,
    pub first: &'static str,
    pub last: &'static str,

    pub mail_title: &'static str,
    pub mail_caption: &'static str,
    pub campaign: &'static str,
    pub channel: &'static str,
    pub messages: &'static str,
    pub consented: &'static str,
    pub no_consent: &'static str,
    pub after_opt_out: &'static str,
    pub quiet_hours: &'static str,
    /// The categories the policy does not judge, already named.
    pub not_judged: fn(&[&str]) -> String,
    pub mail_unavailable: &'static str,

    pub segments: &'static str,
    /// `(reference date, customers, customers with orders, monetary from)`.
    pub segments_intro: fn(&str, u64, u64, Option<&str>) -> String,
    pub segment: &'static str,
    pub share: &'static str,
    pub sizes_title: &'static str,
    pub rfm_title: &'static str,
    pub rfm_caption: &'static str,
    pub median_recency: &'static str,
    pub median_frequency: &'static str,
    pub median_monetary: &'static str,

    pub anonymity_title: &'static str,
    pub anonymity_caption: &'static str,
    /// `(k required, k achieved, classes, customers suppressed, share of cells suppressed)`.
    pub anonymity_summary: fn(u64, u64, usize, u64, f64) -> String,
    pub raw_quasi: &'static str,
    pub published: &'static str,
    pub alone: &'static str,
    pub below_k: &'static str,
    pub suppressed: &'static str,
    pub at_least_k: &'static str,
    pub classes: &'static str,
    pub smallest_class: &'static str,
    pub generalized_title: &'static str,
    pub column: &'static str,
    pub kind: &'static str,
    pub level: &'static str,
    /// A column's generalization level out of its kind's top level.
    pub level_of: fn(u8, u8) -> String,
    pub published_as: &'static str,
    pub distinct_values: &'static str,
    pub no_anonymity: &'static str,

    pub checks: &'static str,
    pub status: &'static str,
    pub ran: fn(usize) -> String,
    pub skipped: fn(&str) -> String,
    pub disabled: fn(&str) -> String,
    pub inputs: &'static str,
    pub role: &'static str,
    pub path: &'static str,
    pub format: &'static str,
    pub rows: &'static str,
    pub files: &'static str,
    pub sha256: &'static str,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

pub const EN: Labels = Labels {
    lang: "en",
    title: "fairmark audit report",
    report_schema: "report schema",
    config: "config",
    key_id: "key id",
    policy_packs: "policy packs",
    pass: "PASS",
    fail: "FAIL",
    gate: |severity, new_only| {
        let new = if new_only {
            ", new since the baseline"
        } else {
            ""
        };
        format!("The run fails on findings at or above {severity}{new} and not waived.")
    },
    failing: |failing, all| {
        format!(
            "{failing} of {} fail it.",
            plural(all, "finding", "findings")
        )
    },
    waived: |n, on| match on {
        Some(day) => format!(
            "{} waived (judged on {day}).",
            plural(n, "finding", "findings")
        ),
        None => format!("{} waived.", plural(n, "finding", "findings")),
    },
    by_area: "Findings by area and severity",
    by_area_caption: "Findings per check family, stacked by severity.",
    area: "area",
    total: "total",
    area_name: |area| match area {
        "privacy" => "Privacy".into(),
        "pricing" => "Pricing".into(),
        "mail" => "Marketing mail and SMS".into(),
        "waiver" => "Waivers".into(),
        other => other.into(),
    },
    severity: Severity::name,

    since_baseline: "Since the baseline",
    compared_with: |source| format!("Compared with the audit in {source}."),
    new: "new",
    persisting: "persisting",
    resolved: "resolved",
    resolved_findings: "Resolved findings",
    none_resolved: "No finding of the baseline was resolved.",
    segment_shift: "Segment shift",
    shift_counts: |stayed, moved, entered, left| {
        format!(
            "{moved} customers moved to another segment, {stayed} stayed, {entered} entered, {left} left."
        )
    },
    shift_skipped: |why| format!("Segment shift not computed: {why}."),
    from_segment: "from segment",
    to_segment: "to segment",
    customers: "customers",

    contents: "Contents",
    filter: "Show findings",
    filter_severity: "severity",
    filter_area: "area",
    filter_count: "{shown} of {total} findings shown",

    findings: "Findings",
    no_findings: "No findings.",
    no_findings_in_area: "No findings in this area.",
    check: "check",
    subject: "subject",
    fingerprint: "fingerprint",
    waived_until: |day| format!("waived until {day}"),
    waived_by: |owner, expires, reason| format!("Waived by {owner} until {expires}: {reason}"),
    evidence: "evidence",
    legal_basis: "Legal basis",

    forest_title: "Flagged SKUs: how much more one cohort was offered",
    forest_caption: "Gaps between the cohorts' offered prices in matched strata (same SKU, time and trading conditions), in percent; 0 is no gap.",
    mean_gap_ci: |confidence| format!("mean gap and {confidence:.0}% confidence interval"),
    mean_gap: "mean gap",
    interval: "interval",
    hodges_lehmann: "Hodges–Lehmann",
    median_gap: "median stratum gap",
    episode_gap: "gap in episodes",
    sku: "SKU",
    cohorts: "cohorts",
    matched_strata: "matched strata",
    q_value: "q",
    timeline_title: "Episodes: when the gap appeared",
    timeline_caption: "Each mark is a time bucket where the first cohort was offered more in every matched stratum; darker is a larger gap. A finding lists at most 40 episodes.",
    whole_bucket: "all conditions",
    one_condition: "one condition value",
    episodes: "episodes",
    episodes_shown: "shown",
    shown_of: |shown, all| format!("{shown} of {all} episodes shown"),
    episode_buckets: "buckets",
    episode_share: "share of buckets",
    first: "first",
    last: "last",

    mail_title: "Messages per campaign",
    mail_caption: "Each message counted once, in the first that applies: after an opt-out, without consent, inside quiet hours, consented.",
    campaign: "campaign",
    channel: "channel",
    messages: "messages",
    consented: "consented",
    no_consent: "no consent",
    after_opt_out: "after opt-out",
    quiet_hours: "quiet hours",
    not_judged: |names| {
        format!(
            "The policy does not judge {}: those messages count as consented.",
            names.join(", ")
        )
    },
    mail_unavailable: "No per-campaign breakdown: consent is judged only with a mail log and a consents dataset.",

    segments: "Segments",
    segments_intro: |date, customers, with_orders, monetary_from| {
        let monetary = match monetary_from {
            Some(column) => format!("monetary value from {column}"),
            None => "no monetary value (no price or amount column)".to_string(),
        };
        format!("As of {date}: {customers} customers, {with_orders} with orders; {monetary}.")
    },
    segment: "segment",
    share: "share",
    sizes_title: "Customers per segment",
    rfm_title: "Recency, frequency and monetary value (medians per segment)",
    rfm_caption: "Each panel on its own scale; prospects have no orders.",
    median_recency: "recency (days)",
    median_frequency: "frequency",
    median_monetary: "monetary",

    anonymity_title: "Customers by the size of their quasi-identifier class",
    anonymity_caption: "A class is the customers sharing one combination of quasi-identifier values; below k a customer can be singled out.",
    anonymity_summary: |k_required, k_achieved, classes, suppressed, cells| {
        format!(
            "Required k = {k_required}, achieved k = {k_achieved} over {classes} published classes; {suppressed} customers suppressed, {:.2}% of quasi-identifier cells published as *.",
            100.0 * cells
        )
    },
    raw_quasi: "raw values",
    published: "published",
    alone: "alone in its class",
    below_k: "in a class smaller than k",
    suppressed: "suppressed (*)",
    at_least_k: "in a class of k or more",
    classes: "classes",
    smallest_class: "smallest class",
    generalized_title: "What was generalized",
    column: "column",
    kind: "kind",
    level: "level",
    level_of: |level, top| format!("{level} of {top}"),
    published_as: "published as",
    distinct_values: "distinct values",
    no_anonymity: "The customers dataset maps no quasi-identifiers: nothing to generalize.",

    checks: "Checks",
    status: "status",
    ran: |n| format!("ran, {}", plural(n, "finding", "findings")),
    skipped: |reason| format!("skipped: {reason}"),
    disabled: |reason| format!("disabled: {reason}"),
    inputs: "Inputs",
    role: "role",
    path: "path",
    format: "format",
    rows: "rows",
    files: "files",
    sha256: "sha256 (first file)",
};
