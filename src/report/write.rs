//! Writes the report files of a run: every renderer's output, staged so that a run writes all
//! of them or none. Kept apart from the [`super::Report`] they render, which the renderers read.

use super::{Report, html, json, junit, markdown, sarif};
use crate::error::Result;
use crate::output::Staging;

/// The report files every run that judges findings writes: JSON, Markdown, HTML, SARIF, JUnit.
pub const FILES: [&str; 5] = [
    "report.json",
    "report.md",
    "report.html",
    "report.sarif",
    "report.junit.xml",
];

/// Stages the [`FILES`] of `report`.
pub fn write_all(staging: &mut Staging, report: &Report) -> Result<()> {
    staging.write("report.json", json::render(report).as_bytes())?;
    staging.write("report.md", markdown::render(report).as_bytes())?;
    staging.write("report.html", html::render(report).as_bytes())?;
    staging.write("report.sarif", sarif::render_report(report).as_bytes())?;
    staging.write("report.junit.xml", junit::render(report).as_bytes())?;
    Ok(())
}
