//! The sections with charts: pricing (forest plot, episode timeline), mail (messages per
//! campaign), segments (sizes, R/F/M medians) and privacy (k-anonymity classes, generalization).
//! Each reads what the report holds (findings' evidence, `mail`, `segmentation`) and writes its
//! charts beside tables of their numbers.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::charts::{
    self, ForestNames, ForestRow, Panel, Series, StackRow, TimelineRow, signed_percent,
};
use super::{Page, count_cell, escape, finding_id, findings_in, header, inline, num_cell};
use crate::comparison::Verdict;
use crate::findings::Evidence;
use crate::findings::evidence::Episode;

impl Page<'_> {
    /// How the comparisons came out, check by check: the answer to "is it fair?" that the
    /// findings alone do not give.
    fn coverage(&mut self) {
        if self.report.coverage.is_empty() {
            return;
        }
        let words = crate::report::i18n::text(self.report.lang);
        let mut rows = String::new();
        for row in &self.report.coverage {
            let _ = write!(
                rows,
                "<tr><td><code>{}</code></td>{}",
                escape(&row.check),
                count_cell(row.comparisons as u64)
            );
            for verdict in Verdict::ALL {
                let share = row.by_verdict.get(&verdict);
                rows.push_str(&count_cell(share.map_or(0, |s| s.comparisons) as u64));
                rows.push_str(&num_cell(Some(format!(
                    "{:.1}%",
                    100.0 * share.map_or(0.0, |s| s.offered_share)
                ))));
            }
            rows.push_str("</tr>");
        }
        let mut names = vec![words.check.to_string(), format!("{}#", words.comparisons)];
        for name in [words.flagged, words.shown_fair, words.inconclusive] {
            names.push(format!("{name}#"));
            names.push(format!("{name} {}#", words.of_offered));
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let _ = write!(
            self.html,
            "<h3>{}</h3><p>{}</p><table id=\"table-coverage\" class=\"numbers\">{}<tbody>{rows}</tbody></table>",
            escape(words.coverage_heading),
            escape(words.coverage_intro),
            header(&names)
        );
    }

    pub(super) fn pricing(&mut self) {
        self.coverage();
        let l = self.l;
        let mut forest = Vec::new();
        let mut timeline = Vec::new();
        let mut forest_table = String::new();
        let mut timeline_table = String::new();
        let mut confidence = None;
        for (index, finding) in findings_in(self.report, "pricing") {
            // A SKU comparison, observed or probed: its gap test, its cohorts, and for an
            // observed one its strata and episodes.
            let (test, cohorts, observed) = match &finding.evidence {
                Evidence::ObservedGap(gap) => (&gap.test, &gap.cohorts, Some(gap)),
                Evidence::ProbeGap(gap) => (&gap.test, &gap.comparison, None),
                _ => continue,
            };
            let episodes = observed.and_then(|gap| gap.episodes.as_ref());
            confidence = confidence.or(Some(test.confidence));
            let label = finding
                .subject
                .sku
                .clone()
                .unwrap_or_else(|| finding.subject.to_string());
            let sublabel = cohorts.clone();
            let anchor = finding_id(index);
            let row = ForestRow {
                label: label.clone(),
                sublabel: sublabel.clone(),
                anchor: anchor.clone(),
                severity: finding.severity.name(),
                mean: test.gap_estimate,
                low: test.gap_ci_low,
                high: test.gap_ci_high,
                hodges_lehmann: Some(test.hodges_lehmann),
                median: Some(test.median_gap),
                episode_gap: episodes.map(|e| e.gap),
            };
            let percent = |v: Option<f64>| v.map(signed_percent);
            let _ = write!(
                forest_table,
                "<tr><td><a href=\"#{anchor}\">{}</a></td><td>{}</td>{}{}{}{}{}{}{}</tr>",
                escape(&label),
                escape(&sublabel),
                num_cell(Some(signed_percent(row.mean))),
                num_cell(Some(format!(
                    "{} … {}",
                    signed_percent(row.low),
                    signed_percent(row.high)
                ))),
                num_cell(percent(row.hodges_lehmann)),
                num_cell(percent(row.median)),
                num_cell(percent(row.episode_gap)),
                num_cell(observed.map(|gap| gap.matched_strata.to_string())),
                num_cell(Some(format!("{:.2e}", test.q_value))),
            );
            forest.push(row);
            let Some(episodes) = episodes else {
                continue;
            };
            let days = || episodes.shown.iter().filter_map(Episode::day);
            if let (Some(first), Some(last)) = (days().min(), days().max()) {
                let _ = write!(
                    timeline_table,
                    "<tr><td><a href=\"#{anchor}\">{}</a></td><td>{}</td>{}{}{}{}{}<td>{first}</td><td>{last}</td></tr>",
                    escape(&label),
                    escape(&sublabel),
                    num_cell(Some(episodes.total.to_string())),
                    num_cell(Some(episodes.shown.len().to_string())),
                    num_cell(Some(episodes.buckets.to_string())),
                    num_cell(Some(format!("{:.0}%", 100.0 * episodes.share))),
                    num_cell(percent(Some(episodes.gap))),
                );
                let sublabel = if episodes.total > episodes.shown.len() {
                    format!(
                        "{sublabel} · {}",
                        (l.shown_of)(episodes.shown.len(), episodes.total)
                    )
                } else {
                    sublabel
                };
                timeline.push(TimelineRow {
                    label,
                    sublabel,
                    anchor,
                    episodes: episodes.shown.clone(),
                });
            }
        }
        if !forest.is_empty() {
            let mean_ci = (l.mean_gap_ci)(100.0 * confidence.unwrap_or(0.95));
            let chart = charts::forest(
                ("chart-forest", l.forest_title, charts::WIDE),
                &forest,
                &ForestNames {
                    mean_ci: &mean_ci,
                    hodges_lehmann: l.hodges_lehmann,
                    median: l.median_gap,
                    episode_gap: l.episode_gap,
                },
            );
            let names = [
                l.sku.to_string(),
                l.cohorts.to_string(),
                format!("{}#", l.mean_gap),
                format!("{}#", l.interval),
                format!("{}#", l.hodges_lehmann),
                format!("{}#", l.median_gap),
                format!("{}#", l.episode_gap),
                format!("{}#", l.matched_strata),
                format!("{}#", l.q_value),
            ];
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let table = format!(
                "<table id=\"table-forest\" class=\"numbers\">{}<tbody>{forest_table}</tbody></table>",
                header(&names)
            );
            let _ = write!(self.html, "<h3>{}</h3>", escape(l.forest_title));
            self.stack(&chart, l.forest_caption, &table);
        }
        if !timeline.is_empty() {
            let chart = charts::timeline(
                ("chart-episodes", l.timeline_title, charts::WIDE),
                &timeline,
                l.whole_bucket,
                l.one_condition,
            );
            let names = [
                l.sku.to_string(),
                l.cohorts.to_string(),
                format!("{}#", l.episodes),
                format!("{}#", l.episodes_shown),
                format!("{}#", l.episode_buckets),
                format!("{}#", l.episode_share),
                format!("{}#", l.episode_gap),
                l.first.to_string(),
                l.last.to_string(),
            ];
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let table = format!(
                "<table id=\"table-episodes\" class=\"numbers\">{}<tbody>{timeline_table}</tbody></table>",
                header(&names)
            );
            let _ = write!(self.html, "<h3>{}</h3>", escape(l.timeline_title));
            self.stack(&chart, l.timeline_caption, &table);
        }
    }

    pub(super) fn mail(&mut self) {
        let l = self.l;
        let Some(breakdown) = &self.report.mail else {
            let _ = writeln!(
                self.html,
                "<p class=\"note-text\">{}</p>",
                escape(l.mail_unavailable)
            );
            return;
        };
        if breakdown.campaigns.is_empty() {
            return;
        }
        // Each campaign's bar links to its most severe finding.
        let mut first_finding: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (index, finding) in findings_in(self.report, "mail") {
            if let (Some(campaign), Some(channel)) =
                (&finding.subject.campaign, &finding.subject.channel)
            {
                first_finding
                    .entry((campaign.as_str(), channel.as_str()))
                    .or_insert(index);
            }
        }
        let series = [
            Series {
                name: l.consented,
                class: "m-ok",
            },
            Series {
                name: l.no_consent,
                class: "m-none",
            },
            Series {
                name: l.after_opt_out,
                class: "m-out",
            },
            Series {
                name: l.quiet_hours,
                class: "m-quiet",
            },
        ];
        let mut rows = Vec::new();
        let mut table = String::from("<table id=\"table-mail\" class=\"numbers\">");
        let names = [
            l.campaign.to_string(),
            l.channel.to_string(),
            format!("{}#", l.messages),
            format!("{}#", l.consented),
            format!("{}#", l.no_consent),
            format!("{}#", l.after_opt_out),
            format!("{}#", l.quiet_hours),
        ];
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        table.push_str(&header(&names));
        table.push_str("<tbody>");
        for c in &breakdown.campaigns {
            let anchor = first_finding
                .get(&(c.campaign.as_str(), c.channel.as_str()))
                .map(|i| finding_id(*i));
            let name = match &anchor {
                Some(anchor) => format!("<a href=\"#{anchor}\">{}</a>", escape(&c.campaign)),
                None => escape(&c.campaign),
            };
            let _ = write!(
                table,
                "<tr><td>{name}</td><td>{}</td>{}{}{}{}{}</tr>",
                escape(&c.channel),
                count_cell(c.messages),
                count_cell(c.consented),
                count_cell(c.no_consent),
                count_cell(c.after_opt_out),
                count_cell(c.quiet_hours)
            );
            rows.push(StackRow {
                label: c.campaign.clone(),
                sublabel: c.channel.clone(),
                anchor,
                parts: vec![c.consented, c.no_consent, c.after_opt_out, c.quiet_hours],
                note: format!("{} {}", c.messages, l.messages),
            });
        }
        table.push_str("</tbody></table>");
        let chart = charts::stacked(
            ("chart-mail", "mail", l.mail_title, charts::WIDE),
            &rows,
            &series,
            true,
        );
        let _ = write!(self.html, "<h3>{}</h3>", escape(l.mail_title));
        self.stack(&chart, l.mail_caption, &table);
        if !breakdown.not_judged.is_empty() {
            let names: Vec<&str> = breakdown
                .not_judged
                .iter()
                .map(|category| match *category {
                    "no_consent" => l.no_consent,
                    "after_opt_out" => l.after_opt_out,
                    "quiet_hours" => l.quiet_hours,
                    other => other,
                })
                .collect();
            let _ = writeln!(
                self.html,
                "<p class=\"note-text\">{}</p>",
                escape(&(l.not_judged)(&names))
            );
        }
    }

    pub(super) fn segments(&mut self) {
        let l = self.l;
        let Some(s) = &self.report.segmentation else {
            return;
        };
        let _ = writeln!(
            self.html,
            "<p>{}</p>",
            inline(&(l.segments_intro)(
                &s.reference_date,
                s.customers,
                s.customers_with_orders,
                s.monetary_from.as_deref()
            ))
        );
        if s.segments.is_empty() {
            return;
        }
        let rows: Vec<StackRow> = s
            .segments
            .iter()
            .map(|segment| StackRow {
                label: segment.segment.clone(),
                sublabel: String::new(),
                anchor: None,
                parts: vec![segment.customers],
                note: format!("{} · {:.1}%", segment.customers, 100.0 * segment.share),
            })
            .collect();
        let sizes = charts::stacked(
            ("chart-segments", "segments", l.sizes_title, charts::HALF),
            &rows,
            &[Series {
                name: l.customers,
                class: "seg",
            }],
            false,
        );
        let labels: Vec<String> = s.segments.iter().map(|x| x.segment.clone()).collect();
        let rfm = charts::panels(
            ("chart-rfm", l.rfm_title, charts::HALF),
            &labels,
            &[
                Panel {
                    title: l.median_recency,
                    values: s.segments.iter().map(|x| x.median_recency_days).collect(),
                },
                Panel {
                    title: l.median_frequency,
                    values: s.segments.iter().map(|x| x.median_frequency).collect(),
                },
                Panel {
                    title: l.median_monetary,
                    values: s.segments.iter().map(|x| x.median_monetary).collect(),
                },
            ],
        );
        let customers = format!("{}#", l.customers);
        let share = format!("{}#", l.share);
        let mut sizes_table = format!(
            "<table id=\"table-segments\" class=\"numbers\">{}<tbody>",
            header(&[l.segment, &customers, &share])
        );
        let recency = format!("{}#", l.median_recency);
        let frequency = format!("{}#", l.median_frequency);
        let monetary = format!("{}#", l.median_monetary);
        let mut rfm_table = format!(
            "<table id=\"table-rfm\" class=\"numbers\">{}<tbody>",
            header(&[l.segment, &recency, &frequency, &monetary])
        );
        let median = |v: Option<f64>| v.map(|v| format!("{v:.2}"));
        for x in &s.segments {
            let _ = write!(
                sizes_table,
                "<tr><td>{}</td>{}{}</tr>",
                escape(&x.segment),
                count_cell(x.customers),
                num_cell(Some(format!("{:.1}%", 100.0 * x.share))),
            );
            let _ = write!(
                rfm_table,
                "<tr><td>{}</td>{}{}{}</tr>",
                escape(&x.segment),
                num_cell(median(x.median_recency_days)),
                num_cell(median(x.median_frequency)),
                num_cell(median(x.median_monetary)),
            );
        }
        sizes_table.push_str("</tbody></table>");
        rfm_table.push_str("</tbody></table>");
        let _ = write!(self.html, "<h3>{}</h3>", escape(l.sizes_title));
        self.pair(&sizes, "", &sizes_table);
        let _ = write!(self.html, "<h3>{}</h3>", escape(l.rfm_title));
        self.pair(&rfm, l.rfm_caption, &rfm_table);
    }

    pub(super) fn privacy(&mut self) {
        let l = self.l;
        let Some(segmentation) = &self.report.segmentation else {
            return;
        };
        let Some(a) = &segmentation.anonymity else {
            let _ = writeln!(
                self.html,
                "<p class=\"note-text\">{}</p>",
                escape(l.no_anonymity)
            );
            return;
        };
        let _ = writeln!(
            self.html,
            "<p>{}</p>",
            escape(&(l.anonymity_summary)(
                a.k_required,
                a.k_achieved,
                a.classes,
                a.suppressed_rows,
                a.suppressed_cell_share
            ))
        );
        let raw_below = a.raw_rows_below_k.saturating_sub(a.raw_unique_rows);
        let raw_ok = a.rows.saturating_sub(a.raw_rows_below_k);
        let published = a.rows.saturating_sub(a.suppressed_rows);
        // Below k after suppression only when there are fewer customers than k in all.
        let (published_below, published_ok) = if a.k_achieved < a.k_required {
            (published, 0)
        } else {
            (0, published)
        };
        let series = [
            Series {
                name: l.alone,
                class: "k-alone",
            },
            Series {
                name: l.below_k,
                class: "k-below",
            },
            Series {
                name: l.suppressed,
                class: "k-suppressed",
            },
            Series {
                name: l.at_least_k,
                class: "k-ok",
            },
        ];
        let customers = |n: u64| format!("{n} {}", l.customers);
        let rows = [
            StackRow {
                label: l.raw_quasi.into(),
                sublabel: String::new(),
                anchor: None,
                parts: vec![a.raw_unique_rows, raw_below, 0, raw_ok],
                note: customers(a.rows),
            },
            StackRow {
                label: l.published.into(),
                sublabel: String::new(),
                anchor: None,
                parts: vec![0, published_below, a.suppressed_rows, published_ok],
                note: customers(a.rows),
            },
        ];
        let chart = charts::stacked(
            (
                "chart-anonymity",
                "anonymity",
                l.anonymity_title,
                charts::HALF,
            ),
            &rows,
            &series,
            true,
        );
        let raw = format!("{}#", l.raw_quasi);
        let published_name = format!("{}#", l.published);
        let mut table = format!(
            "<table id=\"table-anonymity\" class=\"numbers\">{}<tbody>",
            header(&[l.customers, &raw, &published_name])
        );
        let lines = [
            (l.alone, Some(a.raw_unique_rows), Some(0)),
            (l.below_k, Some(raw_below), Some(published_below)),
            (l.suppressed, None, Some(a.suppressed_rows)),
            (l.at_least_k, Some(raw_ok), Some(published_ok)),
            (l.classes, None, Some(a.classes as u64)),
            (l.smallest_class, None, Some(a.k_achieved)),
        ];
        for (name, raw, published) in lines {
            let cell = |n: Option<u64>| n.map_or_else(|| num_cell(None), count_cell);
            let _ = write!(
                table,
                "<tr><td>{}</td>{}{}</tr>",
                escape(name),
                cell(raw),
                cell(published)
            );
        }
        table.push_str("</tbody></table>");
        let _ = write!(self.html, "<h3>{}</h3>", escape(l.anonymity_title));
        self.pair(&chart, l.anonymity_caption, &table);
        let _ = write!(
            self.html,
            "<h3>{}</h3><table id=\"table-generalization\">{}<tbody>",
            escape(l.generalized_title),
            header(&[
                l.column,
                l.kind,
                l.level,
                l.published_as,
                &format!("{}#", l.distinct_values)
            ])
        );
        for c in &a.columns {
            let _ = write!(
                self.html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                escape(&c.column),
                escape(c.kind.name()),
                escape(&(l.level_of)(c.level, c.kind.top_level())),
                escape(c.published_as),
                count_cell(c.distinct_values as u64)
            );
        }
        self.html.push_str("</tbody></table>\n");
    }
}

#[cfg(test)]
mod tests {
    use crate::findings::Severity;
    use crate::findings::evidence::ProbeGap;
    use crate::report::fixture::{finding, full_report, observed_gap, report};
    use crate::report::html::render;

    /// The `<svg>` of the chart with id `id`.
    fn chart(html: &str, id: &str) -> String {
        let start = html
            .find(&format!("<svg id=\"{id}\""))
            .expect("the chart is drawn");
        let end = start + html[start..].find("</svg>").expect("the chart ends");
        html[start..end].to_string()
    }

    #[test]
    fn the_pricing_charts_read_evidence_not_the_wording_of_findings() {
        let report = full_report();
        let mut reworded = full_report();
        for finding in &mut reworded.findings {
            finding.title = "Reworded".into();
            finding.message = "Said otherwise: (all conditions: 9 strata, -99.0%)".into();
        }
        let (html, reworded) = (render(&report), render(&reworded));
        for id in ["chart-forest", "chart-episodes"] {
            assert_eq!(chart(&html, id), chart(&reworded, id), "{id}");
        }
        let episodes = chart(&html, "chart-episodes");
        assert_eq!(episodes.matches("<rect class=\"ep").count(), 2 + 2);
        assert!(
            episodes.contains("<title>2026-03-09 13:00 (channel = app: 2 strata, +12.5%)</title>")
        );
    }

    #[test]
    fn a_probed_sku_is_drawn_with_its_comparison() {
        let mut probed = finding("pricing.probe-tenure", Severity::High, "SKU9");
        probed.subject.sku = Some("SKU9".into());
        let probed = probed.with_evidence(ProbeGap {
            comparison: "tenure > 365 days vs <= 30 days".into(),
            test: observed_gap(0.05).test,
            pairs_asked: 10,
            pairs_answered: 10,
            skus_tested: 1,
            examples: Vec::new(),
        });
        let forest = chart(&render(&report(vec![probed])), "chart-forest");
        assert!(forest.contains(">SKU9</text>"), "{forest}");
        assert!(
            forest.contains("SKU9 tenure &gt; 365 days vs &lt;= 30 days"),
            "{forest}"
        );
    }
}
