//! A run replaces the whole set of its outputs: nothing of an earlier run that this run did not
//! write is left beside the new report, and nothing fairmark did not write is touched.

use std::collections::BTreeSet;

use crate::support::{Fixture, report_json};

#[test]
fn a_run_without_mail_data_leaves_no_suppression_list_of_an_earlier_run() {
    let fixture = Fixture::small();
    let out = fixture.out("report");
    let first = fixture.audit("report").get_output().status.code();
    assert!(matches!(first, Some(0 | 1)), "{first:?}");
    assert!(out.join("suppression.parquet").exists());
    std::fs::write(out.join("notes.txt"), "the user's own file").unwrap();

    fixture.without_mail();
    let second = fixture.audit("report").get_output().status.code();
    assert!(matches!(second, Some(0 | 1)), "{second:?}");
    assert!(!out.join("suppression.parquet").exists());
    let written: BTreeSet<String> = report_json(&out)["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_string())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "notes.txt" && name != fairmark::output::MANIFEST)
        .collect();
    assert_eq!(present, written, "exactly this run's outputs");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "the user's own file"
    );
}
