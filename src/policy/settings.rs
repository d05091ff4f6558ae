//! What a check's settings type promises the pack loader: how two packs' thresholds combine
//! ([`Strictest`]), how one pack's are range-checked ([`Validate`], [`within`]), and the type
//! of a check without thresholds ([`NoSettings`]).

use std::fmt::Display;
use std::ops::{Bound, RangeBounds};

use serde::de::DeserializeOwned;

use crate::config_errors::toml_problem;

/// The settings of a check without thresholds: refuses misspelled keys.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

/// How a check's thresholds combine across packs.
///
/// The merge must be commutative and associative, so that packs combine to the same settings
/// in any order; where "stricter" has no single answer (two quiet windows, two time zones) the
/// impl picks one by a fixed rule and says which. The README's "Policy packs" table lists them.
pub trait Strictest: Sized {
    /// The stricter of two readings, threshold by threshold.
    fn strictest(self, other: Self) -> Self;
}

/// Range checks on one pack's settings for a check, run when the pack loads: a threshold no
/// statistic can use (a zero-day window, an alpha of 2, a zone that does not exist) is an
/// error at the pack's line, not a check that silently never fires or floods.
pub trait Validate {
    /// The first setting out of range, as `key must be …` (the key first, so that the pack
    /// loader can point at it; never the value, which the pack's line and column locate).
    fn validate(&self) -> std::result::Result<(), String>;
}

impl Strictest for NoSettings {
    fn strictest(self, _: Self) -> Self {
        self
    }
}

impl Validate for NoSettings {
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// `key must be …` unless `value` lies in `range`. NaN lies in no range.
pub fn within<T: PartialOrd + Display>(
    key: &str,
    value: T,
    range: impl RangeBounds<T>,
) -> std::result::Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    use Bound::{Excluded, Included, Unbounded};
    let bounds = match (range.start_bound(), range.end_bound()) {
        (Included(low), Unbounded) => format!("at least {low}"),
        (Excluded(low), Unbounded) => format!("greater than {low}"),
        (Unbounded, Included(high)) => format!("at most {high}"),
        (Unbounded, Excluded(high)) => format!("less than {high}"),
        (Included(low), Included(high)) => format!("between {low} and {high}"),
        (Excluded(low), Excluded(high)) => format!("strictly between {low} and {high}"),
        (Included(low), Excluded(high)) => format!("at least {low} and less than {high}"),
        (Excluded(low), Included(high)) => format!("greater than {low} and at most {high}"),
        (Unbounded, Unbounded) => "a number".to_string(),
    };
    Err(format!("{key} must be {bounds}"))
}

/// Validates a settings table against `T` without keeping it, for [`CheckSpec`]: the
/// keys and types by deserializing, the ranges by [`Validate`].
pub fn validate_as<T: DeserializeOwned + Validate>(
    table: &toml::Table,
) -> std::result::Result<(), String> {
    T::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| toml_problem(e.message()))?
        .validate()
}
