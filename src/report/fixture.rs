//! Reports for the renderers' tests: one with a finding of each area and data for every chart
//! and table, and one with the same shape whose every text is a given (hostile) text.

use crate::checks::{CheckRun, CheckStatus};
use crate::config::Lang;
use crate::derived::mail_breakdown::{CampaignSends, MailBreakdown};
use crate::engine::{InputFile, RegisteredDataset};
use crate::findings::evidence::{Condition, Episode, Episodes, GapTest, ObservedGap};
use crate::findings::{AppliedWaiver, Citation, Evidence, Finding, Severity, Subject};
use crate::probe::ProbeSummary;
use crate::quasi_kind::QuasiKind;
use crate::report::{PackReference, Report, Tool};
use crate::segment::anonymity::{AnonymityReport, PublishedColumn};
use crate::segment::{SegmentSummary, SegmentationSummary};

pub fn finding(check: &str, severity: Severity, title: &str) -> Finding {
    Finding::new(
        check,
        severity,
        Subject::dataset("orders"),
        title,
        title.to_string(),
        format!("{title}, in detail"),
    )
}

pub fn overcharge(sku: &str, mean: f64) -> Finding {
    let mut f = finding("pricing.tenure-overcharge", Severity::High, sku);
    f.subject.sku = Some(sku.to_string());
    f.with_evidence(observed_gap(mean))
}

/// An observed gap of `mean` over 24 matched strata, without episodes.
pub fn observed_gap(mean: f64) -> ObservedGap {
    ObservedGap {
        cohorts: "tenure > 365 days vs <= 30 days".into(),
        test: GapTest {
            confidence: 0.95,
            gap_estimate: mean,
            gap_ci_low: mean - 0.02,
            gap_ci_high: mean + 0.02,
            hodges_lehmann: mean,
            median_gap: 0.0,
            p_value: 0.0001,
            q_value: 0.0004,
        },
        excess_offered: 120.5,
        excess_share: mean,
        skus_tested: 40,
        matched_strata: 24,
        n_first_cohort: 60,
        n_second_cohort: 80,
        episode_p_value: 0.0002,
        episode_q_value: 0.0008,
        episodes: None,
    }
}

/// Two episodes shown of three: a whole day, and an hour under one condition.
pub fn episodes() -> Episodes {
    Episodes {
        shown: vec![
            Episode {
                bucket: "2025-11-09".into(),
                condition: None,
                strata: 1,
                gap: 0.1,
            },
            Episode {
                bucket: "2026-03-09 13:00".into(),
                condition: Some(Condition {
                    column: "channel".into(),
                    value: "app".into(),
                }),
                strata: 2,
                gap: 0.125,
            },
        ],
        total: 3,
        buckets: 3,
        share: 0.125,
        gap: 0.11,
    }
}

pub fn report(findings: Vec<Finding>) -> Report {
    Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Tool {
            name: "fairmark",
            version: "0.0.0",
        },
        engine: crate::engine::Placement::Local,
        config: "fairmark.toml".into(),
        key_id: "k00001".into(),
        policies: vec![PackReference {
            name: "cn".into(),
            title: "China".into(),
            source: "built-in".into(),
            sha256: "0".repeat(64),
        }],
        inputs: Vec::new(),
        outcome: Report::outcome(&findings, Severity::High, false),
        checks: vec![CheckRun {
            id: "mail.quiet-hours",
            status: CheckStatus::Skipped {
                reason: "the policy sets no `quiet` hours".into(),
            },
        }],
        findings,
        baseline: None,
        waivers_judged_on: None,
        segmentation: None,
        mail: None,
        coverage: Vec::new(),
        comparisons: Vec::new(),
        probe: None,
        outputs: Vec::new(),
        lang: Lang::En,
    }
}

/// A report with data for every chart.
pub fn full_report() -> Report {
    let mut with_episodes = overcharge("SKU2", 0.08).with_evidence(ObservedGap {
        episodes: Some(episodes()),
        ..observed_gap(0.08)
    });
    with_episodes.waiver = Some(AppliedWaiver {
        reason: "price test".into(),
        owner: "pricing team".into(),
        expires: "2027-01-01".into(),
    });
    let mut mail = finding("mail.no-consent", Severity::High, "Campaign `spring`");
    mail.subject.campaign = Some("spring".into());
    mail.subject.channel = Some("email".into());
    let mut r = report(vec![
        overcharge("SKU1", 0.05),
        with_episodes,
        mail,
        finding(
            "privacy.k-anonymity",
            Severity::Info,
            "Raw quasi-identifiers",
        ),
    ]);
    r.mail = Some(MailBreakdown {
        not_judged: vec!["quiet_hours"],
        campaigns: vec![CampaignSends {
            campaign: "spring".into(),
            channel: "email".into(),
            messages: 10,
            consented: 7,
            no_consent: 2,
            after_opt_out: 1,
            quiet_hours: 0,
        }],
    });
    let segment = |name: &str, customers: u64, recency: Option<f64>| SegmentSummary {
        segment: name.into(),
        customers,
        share: customers as f64 / 100.0,
        median_recency_days: recency,
        median_frequency: recency.map(|_| 2.0),
        median_monetary: recency.map(|_| 250.0),
    };
    r.segmentation = Some(SegmentationSummary {
        reference_date: "2026-10-31".into(),
        customers: 100,
        customers_with_orders: 80,
        monetary_from: Some("paid_price".into()),
        segments: vec![
            segment("core", 80, Some(11.0)),
            segment("prospect", 20, None),
        ],
        anonymity: Some(AnonymityReport {
            k_required: 10,
            k_achieved: 10,
            rows: 100,
            classes: 4,
            suppressed_rows: 5,
            suppressed_cell_share: 0.05,
            raw_unique_rows: 30,
            raw_rows_below_k: 60,
            columns: vec![PublishedColumn {
                column: "birth_year".into(),
                kind: QuasiKind::BirthYear,
                level: 1,
                published_as: "10-year band",
                distinct_values: 6,
            }],
        }),
        columns: Vec::new(),
    });
    r
}

/// [`full_report`] with `text` in every field that may come from the data or the config: the
/// subject, title, message and evidence of every finding, waiver owners and reasons, pack
/// titles, skip reasons, segment and column names, baseline moves, the probe's service and
/// the inputs' locations.
pub fn hostile_report(text: &str) -> Report {
    let mut r = full_report();
    for f in &mut r.findings {
        f.title = text.to_string();
        f.message = format!("Column `{text}` holds {text}");
        f.subject = Subject {
            dataset: Some(text.to_string()),
            column: Some(text.to_string()),
            sku: Some(text.to_string()),
            campaign: Some(text.to_string()),
            channel: Some(text.to_string()),
            rule: Some(text.to_string()),
            waiver: Some(text.to_string()),
        };
        match &mut f.evidence {
            Evidence::ObservedGap(gap) => {
                gap.cohorts = text.to_string();
                for episode in gap.episodes.iter_mut().flat_map(|e| &mut e.shown) {
                    episode.condition = Some(Condition {
                        column: text.to_string(),
                        value: text.to_string(),
                    });
                }
            }
            // A name only a report read back (a baseline) can bring.
            other => {
                *other = Evidence::Recorded([(text.to_string(), text.into())].into());
            }
        }
        f.waiver = Some(AppliedWaiver {
            reason: text.to_string(),
            owner: text.to_string(),
            expires: text.to_string(),
        });
        f.legal_bases = vec![Citation {
            pack: text.to_string(),
            id: text.to_string(),
            citation: text.to_string(),
            gist: text.to_string(),
            citation_zh: Some(text.to_string()),
            gist_zh: Some(text.to_string()),
            channels: Vec::new(),
        }];
    }
    r.inputs = vec![RegisteredDataset {
        role: "customers",
        location: text.to_string(),
        format: "csv",
        rows: 1,
        files: vec![InputFile {
            path: text.to_string(),
            bytes: 1,
            sha256: "0".repeat(64),
        }],
        raw_table: "raw_customers".into(),
        schema: std::sync::Arc::new(datafusion::arrow::datatypes::Schema::empty()),
        sources: Vec::new(),
        file_format: crate::config::Format::Csv,
    }];
    r.probe = Some(ProbeSummary {
        service: text.to_string(),
        skus: 1,
        base_profiles: 1,
        comparisons: vec![text.to_string()],
        conditions: serde_json::Map::from_iter([(text.to_string(), text.into())]),
        pairs_planned: 2,
        pairs_answered: 1,
        pairs_from_log: 0,
        requests_planned: 4,
        requests_made: 3,
        requests_retried: 0,
        requests_answered: 2,
        requests_failed: 1,
        requests_malformed: 0,
        errors: [(text.to_string(), 1)].into_iter().collect(),
        budget: 4,
        stopped_by_budget: true,
        complete: false,
        seconds: 0.5,
        log: text.to_string(),
    });
    r.policies[0].title = text.to_string();
    r.policies[0].name = text.to_string();
    r.checks.push(CheckRun {
        id: "privacy.undeclared-pii",
        status: CheckStatus::Disabled {
            reason: text.to_string(),
        },
    });
    r.waivers_judged_on = Some(text.to_string());
    if let Some(segmentation) = &mut r.segmentation {
        segmentation.monetary_from = Some(text.to_string());
        for segment in &mut segmentation.segments {
            segment.segment = text.to_string();
        }
        if let Some(anonymity) = &mut segmentation.anonymity {
            anonymity.columns[0].column = text.to_string();
        }
    }
    if let Some(mail) = &mut r.mail {
        mail.campaigns[0].campaign = text.to_string();
        mail.campaigns[0].channel = text.to_string();
    }
    r.baseline = Some(crate::baseline::BaselineSummary {
        source: text.to_string(),
        new: 1,
        persisting: 0,
        resolved: r.findings.clone(),
        segment_shift: Some(crate::baseline::SegmentShift {
            moves: vec![crate::baseline::SegmentMove {
                from: text.to_string(),
                to: text.to_string(),
                customers: 3,
            }],
            ..Default::default()
        }),
        segment_shift_skipped: None,
    });
    r
}
