//! What a quasi-identifier column holds: the vocabulary `fairmark.toml` declares columns with
//! and policy packs set generalization levels by. Each kind's generalization hierarchy lives in
//! [`crate::segment::generalize`]; this module imports nothing from the crate, so the config can
//! name kinds without depending on the segmentation.

use serde::{Deserialize, Serialize};

/// What a quasi-identifier column holds, which decides its hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuasiKind {
    /// A year, or a date whose first four characters are the year.
    BirthYear,
    Age,
    Gender,
    City,
    Postcode,
    Other,
}

impl QuasiKind {
    pub const ALL: [QuasiKind; 6] = [
        QuasiKind::BirthYear,
        QuasiKind::Age,
        QuasiKind::Gender,
        QuasiKind::City,
        QuasiKind::Postcode,
        QuasiKind::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            QuasiKind::BirthYear => "birth_year",
            QuasiKind::Age => "age",
            QuasiKind::Gender => "gender",
            QuasiKind::City => "city",
            QuasiKind::Postcode => "postcode",
            QuasiKind::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<QuasiKind> {
        QuasiKind::ALL.into_iter().find(|k| k.name() == name)
    }
}
