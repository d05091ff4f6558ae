//! `segment_summary.csv`: one row per published segment, its size, share and median RFM values,
//! for spreadsheets. Segment names come from the config and are defused as CSV cells.

use std::fmt::Write;

use crate::escape::csv_cell;
use crate::segment::SegmentSummary;

pub fn render(segments: &[SegmentSummary]) -> String {
    let mut csv = String::from(
        "segment,customers,share,median_recency_days,median_frequency,median_monetary\n",
    );
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.2}"));
    for s in segments {
        let _ = writeln!(
            csv,
            "{},{},{:.4},{},{},{}",
            csv_cell(&s.segment),
            s.customers,
            s.share,
            number(s.median_recency_days),
            number(s.median_frequency),
            number(s.median_monetary)
        );
    }
    csv
}
