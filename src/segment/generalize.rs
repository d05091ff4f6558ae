//! Generalization hierarchies for quasi-identifiers (GB/T 37964-2019 §6, generalization and
//! suppression). Level 0 is the most precise published form; each level up is coarser; the
//! top level is `*` (suppressed). A raw value never leaves this module: even level 0 of a
//! birth year is a five-year band.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::quasi_kind::QuasiKind;
use crate::udf_args::text_argument;

/// The published value of a suppressed cell.
pub const SUPPRESSED: &str = "*";
/// The published value of a missing or unreadable cell: a category of its own, so it counts
/// towards class sizes like any other.
pub const UNKNOWN: &str = "unknown";

/// Each kind's hierarchy: how many levels it has, what each publishes, and the published form
/// of a value.
impl QuasiKind {
    /// The level at which every value is `*`.
    pub fn top_level(self) -> u8 {
        match self {
            QuasiKind::BirthYear | QuasiKind::Age | QuasiKind::Postcode => 3,
            QuasiKind::City => 2,
            QuasiKind::Gender | QuasiKind::Other => 1,
        }
    }

    /// What each level publishes, for the README and the report.
    pub fn describe_level(self, level: u8) -> &'static str {
        match (self, level.min(self.top_level())) {
            (QuasiKind::BirthYear | QuasiKind::Age, 0) => "5-year band",
            (QuasiKind::BirthYear | QuasiKind::Age, 1) => "10-year band",
            (QuasiKind::BirthYear | QuasiKind::Age, 2) => "20-year band",
            (QuasiKind::Gender, 0) => "female / male / other",
            (QuasiKind::City, 0) => "city",
            (QuasiKind::City, 1) => "region (or \"other\")",
            (QuasiKind::Postcode, 0) => "first 3 characters",
            (QuasiKind::Postcode, 1) => "first 2 characters",
            (QuasiKind::Postcode, 2) => "first character",
            (QuasiKind::Other, 0) => "value",
            _ => "suppressed (*)",
        }
    }

    /// The published form of `raw` at `level`.
    pub fn generalize(self, raw: Option<&str>, level: u8) -> String {
        if level >= self.top_level() {
            return SUPPRESSED.to_string();
        }
        let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
            return UNKNOWN.to_string();
        };
        match self {
            QuasiKind::BirthYear | QuasiKind::Age => {
                if let Some(given) = GivenBand::parse(value) {
                    return given.at(level);
                }
                let digits = if self == QuasiKind::Age { 3 } else { 4 };
                leading_number(value, digits).map_or_else(|| UNKNOWN.into(), |n| band(n, level))
            }
            QuasiKind::Gender => gender(value).to_string(),
            QuasiKind::City => match level {
                0 => value.to_lowercase(),
                _ => region_of(value).unwrap_or("other").to_string(),
            },
            QuasiKind::Postcode => {
                let keep = 3 - usize::from(level);
                let prefix: String = value.chars().take(keep).collect();
                format!(
                    "{prefix}{}",
                    "*".repeat(value.chars().count().saturating_sub(keep).max(1))
                )
            }
            QuasiKind::Other => value.to_string(),
        }
    }
}

fn leading_number(value: &str, max_digits: usize) -> Option<u32> {
    let digits: String = value
        .chars()
        .take_while(char::is_ascii_digit)
        .take(max_digits)
        .collect();
    digits.parse().ok()
}

/// A value the data already holds as a band (`25-34`, `65+`, `under 18`, `1980-1989`): kept as
/// given, since cutting it again at the number it starts with would invent a group the data
/// does not have (`25-34` is not `20-29`). Only at 20-year bands is it widened, when it fits
/// inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GivenBand {
    low: u32,
    /// `None` for an open band (`65+`).
    high: Option<u32>,
}

impl GivenBand {
    fn parse(value: &str) -> Option<GivenBand> {
        let value = value
            .trim_end_matches(['岁', '歳'])
            .trim_end_matches("years")
            .trim();
        let number = |text: &str| -> Option<u32> {
            let text = text.trim();
            (!text.is_empty() && text.len() <= 4 && text.chars().all(|c| c.is_ascii_digit()))
                .then(|| text.parse().ok())
                .flatten()
        };
        for open in ["+", "and over", "or older", "以上"] {
            if let Some(low) = value.strip_suffix(open).and_then(number) {
                return Some(GivenBand { low, high: None });
            }
        }
        for below in ["<", "under", "below", "未满"] {
            if let Some(limit) = value.strip_prefix(below).and_then(number) {
                return (limit > 0).then(|| GivenBand {
                    low: 0,
                    high: Some(limit - 1),
                });
            }
        }
        for separator in ["-", "–", "—", "~", "～", " to "] {
            if let Some((low, high)) = value.split_once(separator)
                && let (Some(low), Some(high)) = (number(low), number(high))
            {
                return (low < high).then_some(GivenBand {
                    low,
                    high: Some(high),
                });
            }
        }
        None
    }

    fn at(self, level: u8) -> String {
        let widest = band(self.low, 2);
        match self.high {
            Some(high) if level >= 2 && high < self.low - self.low % 20 + 20 => widest,
            Some(high) => format!("{}-{high}", self.low),
            None => format!("{}+", self.low),
        }
    }
}

/// A band of 5, 10 or 20 years: `1980-1989`.
fn band(value: u32, level: u8) -> String {
    let width = [5, 10, 20][usize::from(level.min(2))];
    let start = value - value % width;
    format!("{start}-{}", start + width - 1)
}

fn gender(value: &str) -> &'static str {
    match value.to_lowercase().as_str() {
        "f" | "female" | "woman" | "w" | "女" | "2" => "female",
        "m" | "male" | "man" | "男" | "1" => "male",
        _ => "other",
    }
}

/// Mainland China's seven geographic regions (华北, 东北, 华东, 华中, 华南, 西南, 西北), by
/// the cities most customer tables name, in Chinese and in pinyin.
const REGIONS: &[(&str, &[&str])] = &[
    (
        "north",
        &[
            "北京",
            "beijing",
            "天津",
            "tianjin",
            "石家庄",
            "shijiazhuang",
            "太原",
            "taiyuan",
            "呼和浩特",
            "hohhot",
            "唐山",
            "tangshan",
            "保定",
            "baoding",
        ],
    ),
    (
        "northeast",
        &[
            "沈阳",
            "shenyang",
            "大连",
            "dalian",
            "长春",
            "changchun",
            "哈尔滨",
            "harbin",
        ],
    ),
    (
        "east",
        &[
            "上海", "shanghai", "南京", "nanjing", "杭州", "hangzhou", "苏州", "suzhou", "宁波",
            "ningbo", "无锡", "wuxi", "合肥", "hefei", "福州", "fuzhou", "厦门", "xiamen", "济南",
            "jinan", "青岛", "qingdao", "南昌", "nanchang", "温州", "wenzhou",
        ],
    ),
    (
        "central",
        &[
            "武汉",
            "wuhan",
            "长沙",
            "changsha",
            "郑州",
            "zhengzhou",
            "洛阳",
            "luoyang",
        ],
    ),
    (
        "south",
        &[
            "广州",
            "guangzhou",
            "深圳",
            "shenzhen",
            "东莞",
            "dongguan",
            "佛山",
            "foshan",
            "南宁",
            "nanning",
            "海口",
            "haikou",
            "珠海",
            "zhuhai",
        ],
    ),
    (
        "southwest",
        &[
            "成都",
            "chengdu",
            "重庆",
            "chongqing",
            "昆明",
            "kunming",
            "贵阳",
            "guiyang",
            "拉萨",
            "lhasa",
        ],
    ),
    (
        "northwest",
        &[
            "西安",
            "xi'an",
            "xian",
            "兰州",
            "lanzhou",
            "西宁",
            "xining",
            "银川",
            "yinchuan",
            "乌鲁木齐",
            "urumqi",
        ],
    ),
];

fn region_of(city: &str) -> Option<&'static str> {
    let lowered = city.to_lowercase();
    let name = lowered.trim_end_matches('市').trim_end_matches(" city");
    REGIONS
        .iter()
        .find(|(_, cities)| cities.contains(&name))
        .map(|(region, _)| *region)
}

/// `fm_generalize(value, kind, level)`: [`QuasiKind::generalize`] as a UDF, so generalization
/// runs inside the DataFusion plans that count equivalence classes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GeneralizeUdf {
    signature: Signature,
}

impl GeneralizeUdf {
    pub const NAME: &'static str = "fm_generalize";

    pub fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(GeneralizeUdf {
            signature: Signature::any(3, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for GeneralizeUdf {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let kind = match &args.args[1] {
            ColumnarValue::Scalar(s) => s.to_string(),
            ColumnarValue::Array(_) => return exec_err!("fm_generalize: kind must be a literal"),
        };
        let Some(kind) = QuasiKind::from_name(&kind) else {
            return exec_err!("fm_generalize: unknown quasi-identifier kind {kind}");
        };
        let level = match &args.args[2] {
            ColumnarValue::Scalar(ScalarValue::Int64(Some(l))) => {
                u8::try_from(*l).unwrap_or(u8::MAX)
            }
            _ => return exec_err!("fm_generalize: level must be an integer literal"),
        };
        let text = text_argument(&args.args[0], args.number_rows)?;
        let mut out = StringBuilder::with_capacity(text.len(), text.len() * 8);
        for value in text.iter() {
            out.append_value(kind.generalize(value, level));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_years_widen_level_by_level() {
        let k = QuasiKind::BirthYear;
        assert_eq!(k.generalize(Some("1987"), 0), "1985-1989");
        assert_eq!(k.generalize(Some("1987-05-02"), 1), "1980-1989");
        assert_eq!(k.generalize(Some("1987"), 2), "1980-1999");
        assert_eq!(k.generalize(Some("1987"), 3), "*");
        assert_eq!(k.generalize(None, 0), "unknown");
    }

    #[test]
    fn bands_in_the_data_stay_the_bands_they_are() {
        let age = QuasiKind::Age;
        // Re-cut at their first number these would be 20-29 and 60-69, groups the data lacks.
        assert_eq!(age.generalize(Some("25-34"), 1), "25-34");
        assert_eq!(age.generalize(Some("65+"), 1), "65+");
        assert_eq!(age.generalize(Some("under 18"), 0), "0-17");
        assert_eq!(age.generalize(Some("25 to 34 years"), 1), "25-34");
        assert_eq!(age.generalize(Some("25-34岁"), 1), "25-34");
        // Widened only into a 20-year band that holds all of it.
        assert_eq!(age.generalize(Some("25-34"), 2), "20-39");
        assert_eq!(age.generalize(Some("35-44"), 2), "35-44");
        assert_eq!(age.generalize(Some("35-44"), 3), "*");
        let born = QuasiKind::BirthYear;
        assert_eq!(born.generalize(Some("1980-1989"), 1), "1980-1989");
        // A date is a birth year, not a band.
        assert_eq!(born.generalize(Some("1987-05-02"), 1), "1980-1989");
        assert_eq!(born.generalize(Some("1987-05"), 1), "1980-1989");
        // Single numbers are still cut into bands.
        assert_eq!(age.generalize(Some("37"), 1), "30-39");
    }

    #[test]
    fn cities_become_regions_or_other() {
        assert_eq!(QuasiKind::City.generalize(Some("上海市"), 1), "east");
        assert_eq!(QuasiKind::City.generalize(Some("Chengdu"), 1), "southwest");
        assert_eq!(QuasiKind::City.generalize(Some("Springfield"), 1), "other");
        assert_eq!(QuasiKind::City.generalize(Some("Springfield"), 2), "*");
    }

    #[test]
    fn postcodes_keep_a_shrinking_prefix() {
        assert_eq!(QuasiKind::Postcode.generalize(Some("200031"), 0), "200***");
        assert_eq!(QuasiKind::Postcode.generalize(Some("200031"), 2), "2*****");
    }

    #[test]
    fn no_level_publishes_a_raw_value_of_a_numeric_kind() {
        for level in 0..=3 {
            assert_ne!(QuasiKind::BirthYear.generalize(Some("1987"), level), "1987");
        }
    }
}
