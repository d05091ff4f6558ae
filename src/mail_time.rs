//! Time for the mail checks: local time of day in a time zone (quiet hours, with DST), and
//! deadlines counted in business days (CAN-SPAM's ten business days to honour an opt-out).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray, Int32Array, TimestampNanosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Minutes since local midnight of the UTC instant `nanos` in `zone`.
pub fn local_minute(nanos: i64, zone: Tz) -> i32 {
    let utc = DateTime::<Utc>::from_timestamp_nanos(nanos);
    let local = zone.from_utc_datetime(&utc.naive_utc());
    (local.hour() * 60 + local.minute()) as i32
}

/// The instant `days` business days (Monday to Friday) after `nanos`.
pub fn add_business_days(nanos: i64, days: i64) -> i64 {
    let mut at = DateTime::<Utc>::from_timestamp_nanos(nanos);
    let mut left = days;
    while left > 0 {
        at += Duration::days(1);
        if !matches!(at.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn timestamps(value: &ColumnarValue, rows: usize) -> DfResult<TimestampNanosecondArray> {
    let array = value.to_array(rows)?;
    let nanos = cast(&array, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
    Ok(nanos
        .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
        .clone())
}

/// `fm_local_minute(ts, zone, default_zone)`: minutes since local midnight; `zone` per row may
/// be null or unknown, and then `default_zone` (a literal) applies.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalMinuteUdf {
    signature: Signature,
}

impl LocalMinuteUdf {
    pub const NAME: &'static str = "fm_local_minute";

    pub fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(LocalMinuteUdf {
            signature: Signature::any(3, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for LocalMinuteUdf {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let instants = timestamps(&args.args[0], rows)?;
        let zones = cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let zones = zones.as_string::<i32>();
        let default: Tz = match &args.args[2] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(name)))
            | ColumnarValue::Scalar(ScalarValue::Utf8View(Some(name))) => match name.parse() {
                Ok(zone) => zone,
                Err(_) => return exec_err!("unknown time zone {name}"),
            },
            _ => return exec_err!("fm_local_minute: the default zone must be a literal"),
        };
        let minutes: Int32Array = (0..rows)
            .map(|i| {
                (!instants.is_null(i)).then(|| {
                    let zone = if zones.is_null(i) {
                        default
                    } else {
                        zones.value(i).trim().parse().unwrap_or(default)
                    };
                    local_minute(instants.value(i), zone)
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(minutes)))
    }
}

/// `fm_business_deadline(ts, days)`: `ts` plus `days` business days.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BusinessDeadlineUdf {
    signature: Signature,
}

impl BusinessDeadlineUdf {
    pub const NAME: &'static str = "fm_business_deadline";

    pub fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(BusinessDeadlineUdf {
            signature: Signature::any(2, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for BusinessDeadlineUdf {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Nanosecond, None))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let instants = timestamps(&args.args[0], rows)?;
        let days = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Int64(Some(d))) => *d,
            _ => return exec_err!("fm_business_deadline: days must be an integer literal"),
        };
        let deadlines: TimestampNanosecondArray = (0..rows)
            .map(|i| (!instants.is_null(i)).then(|| add_business_days(instants.value(i), days)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(deadlines)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn local_time_follows_the_zone_and_its_daylight_saving() {
        // 13:30 UTC is 21:30 in Shanghai (UTC+8, no DST).
        assert_eq!(
            local_minute(nanos("2026-03-01T13:30:00Z"), chrono_tz::Asia::Shanghai),
            21 * 60 + 30
        );
        // 01:30 UTC on 2026-03-07 is 20:30 in New York (EST, UTC-5); a week later, after the
        // switch to EDT (UTC-4), 01:30 UTC is 21:30.
        assert_eq!(
            local_minute(nanos("2026-03-07T01:30:00Z"), chrono_tz::America::New_York),
            20 * 60 + 30
        );
        assert_eq!(
            local_minute(nanos("2026-03-14T01:30:00Z"), chrono_tz::America::New_York),
            21 * 60 + 30
        );
    }

    #[test]
    fn business_days_skip_weekends() {
        // Friday 2026-11-20 + 10 business days = Friday 2026-12-04.
        let deadline = add_business_days(nanos("2026-11-20T12:00:00Z"), 10);
        assert_eq!(deadline, nanos("2026-12-04T12:00:00Z"));
    }
}
