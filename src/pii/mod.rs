//! Recognizers for personal identifiers that turn up where nobody declared them, as whole
//! values or inside free text: emails; mainland-China mobile and landline numbers;
//! international numbers written with `+`; PRC resident identity numbers (18 digits with the
//! GB 11643 checksum, and the 15-digit numbers before 1999); foreigners' permanent residence ID
//! numbers; passports and the Hong Kong, Macau and Taiwan travel permits (with a context
//! word); bank cards (Luhn); IPv4 and IPv6 addresses; and Chinese personal names and postal
//! addresses (with a context word or the shape of an address).
//!
//! Text is folded first ([`fold`]): full-width digits and letters, other scripts' decimal digits
//! and Unicode spaces and dashes read as their ASCII counterparts, while spans stay byte offsets
//! into the original text.
//!
//! The same recognizers back the `fm_pii_mask` UDF that `privacy.undeclared-pii` runs inside
//! DataFusion plans, and [`mask_spans`], which keeps such values out of error messages.

mod chinese_text;
mod documents;
mod fold;
mod kind;

pub use documents::names_documents;
pub use kind::PiiKind;

use std::net::Ipv6Addr;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::Int32Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use crate::udf_args::text_argument;
use fold::Folded;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").unwrap()
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\b").unwrap()
});

/// A span of `text` (byte offsets) holding an identifier of `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

impl PiiSpan {
    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.start < end && start < self.end
    }
}

/// What the recognizers make of one value: spans in the folded text, and the kind whose
/// shape alone fills the value, if any.
struct Recognized {
    spans: Vec<PiiSpan>,
    shape_only: Option<PiiKind>,
}

/// Every identifier found in `text`.
pub fn find_spans(text: &str) -> Vec<PiiSpan> {
    let folded = Folded::new(text);
    recognize(&folded.text)
        .spans
        .into_iter()
        .map(|s| PiiSpan {
            kind: s.kind,
            start: folded.original(s.start),
            end: folded.original(s.end),
        })
        .collect()
}

/// The kinds found anywhere in `text`, as a bit mask of [`PiiKind`] bits.
pub fn kind_mask(text: &str) -> u16 {
    let folded = Folded::new(text);
    mask_of(&recognize(&folded.text).spans)
}

/// What `fm_pii_mask` computes: [`kind_mask`] in the lower 16 bits and, in the upper 16, the
/// [`PiiKind::shape_only_bit`] of a value that is nothing but a document number's shape.
pub fn scan_mask(text: &str) -> u32 {
    let folded = Folded::new(text);
    let recognized = recognize(&folded.text);
    u32::from(mask_of(&recognized.spans)) | recognized.shape_only.map_or(0, PiiKind::shape_only_bit)
}

fn mask_of(spans: &[PiiSpan]) -> u16 {
    spans.iter().fold(0, |mask, s| mask | s.kind.bit())
}

fn recognize(text: &str) -> Recognized {
    let mut spans = Vec::new();
    let push = |spans: &mut Vec<PiiSpan>, kind, start, end| {
        spans.push(PiiSpan { kind, start, end });
    };
    if text.contains('@') {
        for m in EMAIL.find_iter(text) {
            push(&mut spans, PiiKind::Email, m.start(), m.end());
        }
    }
    if text.bytes().filter(|b| *b == b':').count() >= 2 {
        for (start, end) in ipv6_addresses(text) {
            push(&mut spans, PiiKind::IpAddress, start, end);
        }
    }
    if text.bytes().filter(|b| *b == b'.').count() >= 3 {
        for m in IPV4.find_iter(text) {
            if !spans.iter().any(|s| s.overlaps(m.start(), m.end())) {
                push(&mut spans, PiiKind::IpAddress, m.start(), m.end());
            }
        }
    }
    let mut documents = Vec::new();
    let shape_only = documents::scan(text, &mut documents);
    for (kind, start, end) in documents {
        if !spans.iter().any(|s| s.overlaps(start, end)) {
            push(&mut spans, kind, start, end);
        }
    }
    for run in digit_runs(text) {
        if spans.iter().any(|s| s.overlaps(run.start, run.end)) {
            continue;
        }
        classify_run(text, &run, &mut spans);
    }
    if !text.is_ascii() {
        let mut found = Vec::new();
        chinese_text::find_names(text, &mut found);
        chinese_text::find_addresses(text, &mut found);
        for (kind, start, end) in found {
            push(&mut spans, kind, start, end);
        }
    }
    Recognized { spans, shape_only }
}

/// IPv6 addresses (full, `::`-compressed, or ending in an IPv4 address) as `(start, end)`.
/// A token counts when the standard parser accepts it, it has a digit and at least two colons,
/// and it is not `::` or `::1`: times (`12:30:45`) and MAC addresses (six groups) do not parse.
fn ipv6_addresses(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b == b':' || b == b'.';
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_token(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_token(bytes[i]) {
            i += 1;
        }
        let token = text[start..i].trim_end_matches('.');
        let plausible = token.bytes().filter(|b| *b == b':').count() >= 2
            && token.bytes().any(|b| b.is_ascii_digit());
        if plausible
            && token
                .parse::<Ipv6Addr>()
                .is_ok_and(|ip| !ip.is_unspecified() && !ip.is_loopback())
        {
            found.push((start, start + token.len()));
        }
    }
    found
}

/// `text` with every recognized identifier replaced by `replacement`.
pub fn mask_spans(text: &str, replacement: &str) -> String {
    // Masking one identifier can end a digit run early and so reveal another ("138 139003 00"
    // followed by a card number): mask until nothing is found. Each pass replaces digits with
    // `replacement`, so this ends (a replacement holding digits is masked once).
    let mut masked = mask_once(text, replacement);
    for _ in 0..text.len() {
        let again = mask_once(&masked, replacement);
        if again == masked {
            break;
        }
        masked = again;
    }
    masked
}

fn mask_once(text: &str, replacement: &str) -> String {
    let mut spans = find_spans(text);
    spans.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        if span.start < at {
            continue;
        }
        out.push_str(&text[at..span.start]);
        out.push_str(replacement);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A run of digits that may be grouped by single spaces or hyphens ("138-0013-8000"),
/// optionally ending in the `X` check character of a resident identity number.
struct DigitRun {
    start: usize,
    end: usize,
    /// Byte ranges of the groups between separators.
    groups: Vec<(usize, usize)>,
}

fn digit_runs(text: &str) -> Vec<DigitRun> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let preceded_by_word = i > 0 && bytes[i - 1].is_ascii_alphanumeric();
        if !bytes[i].is_ascii_digit() || preceded_by_word {
            i += 1;
            continue;
        }
        let start = i;
        let mut groups = Vec::new();
        let mut group_start = i;
        loop {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'X' || bytes[i] == b'x') {
                i += 1;
                groups.push((group_start, i));
                break;
            }
            groups.push((group_start, i));
            // Groups may be separated by one or two of space, hyphen and parentheses:
            // "138-0013-8000", "+1 (415) 555-0100".
            let is_separator = |b: u8| matches!(b, b' ' | b'-' | b'(' | b')');
            let width = (1..=2).find(|w| {
                i + w < bytes.len()
                    && bytes[i..i + w].iter().all(|b| is_separator(*b))
                    && bytes[i + w].is_ascii_digit()
            });
            if let Some(width) = width {
                i += width;
                group_start = i;
                continue;
            }
            break;
        }
        let followed_by_word = i < bytes.len() && bytes[i].is_ascii_alphanumeric();
        if !followed_by_word {
            runs.push(DigitRun {
                start,
                end: i,
                groups,
            });
        }
    }
    runs
}

fn classify_run(text: &str, run: &DigitRun, spans: &mut Vec<PiiSpan>) {
    let joined: String = run.groups.iter().map(|&(s, e)| &text[s..e]).collect();
    // After a `+` comes a country code: "+1 415…" is North American even though "1415…" has
    // the shape of a mainland mobile number; only "+86…" is read as one.
    let plus = text[..run.start].ends_with('+');
    let international = plus && !joined.starts_with("86");
    if international {
        let all_digits = joined.bytes().all(|b| b.is_ascii_digit());
        let varied = joined.bytes().any(|b| b != joined.as_bytes()[0]);
        if all_digits && varied && (10..=15).contains(&joined.len()) {
            spans.push(PiiSpan {
                kind: PiiKind::InternationalPhone,
                start: run.start - 1,
                end: run.end,
            });
        }
        return;
    }
    if let Some(kind) = classify_digits(&joined, plus) {
        spans.push(PiiSpan {
            kind,
            start: run.start,
            end: run.end,
        });
        return;
    }
    // Eight bare digits are a Taiwan compatriot permit only where the note says so.
    let taiwan_permit = joined.len() == 8
        && joined.bytes().all(|b| b.is_ascii_digit())
        && documents::has_context(text, run.start, run.end, &documents::TAIWAN_PERMIT_WORDS);
    if taiwan_permit {
        spans.push(PiiSpan {
            kind: PiiKind::TravelPermit,
            start: run.start,
            end: run.end,
        });
        return;
    }
    // Two numbers separated by a space ("13800138000 13900139000") join into one run that
    // matches nothing; each group on its own may still be an identifier, and so may an area
    // code with the number after it ("010-62345678-123", an extension following).
    let groups = &run.groups;
    let mut i = 0;
    while i < groups.len() && groups.len() > 1 {
        let (start, end) = groups[i];
        if let Some(&(_, pair_end)) = groups.get(i + 1) {
            let pair: String = [groups[i], groups[i + 1]]
                .iter()
                .map(|&(s, e)| &text[s..e])
                .collect();
            if is_cn_landline(&pair) {
                spans.push(PiiSpan {
                    kind: PiiKind::CnLandline,
                    start,
                    end: pair_end,
                });
                i += 2;
                continue;
            }
        }
        if let Some(kind) = classify_digits(&text[start..end], false) {
            spans.push(PiiSpan { kind, start, end });
        }
        i += 1;
    }
}

/// Classifies a separator-free digit string (possibly ending in `X`); `after_plus` when it was
/// written after a `+`, so that "+86 10 …" is a Beijing number without its trunk `0`.
fn classify_digits(digits: &str, after_plus: bool) -> Option<PiiKind> {
    let national = digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(digits);
    if is_cn_mobile(national) {
        return Some(PiiKind::CnMobile);
    }
    let without_trunk_zero = digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86").filter(|_| after_plus));
    if is_cn_landline(digits)
        || without_trunk_zero.is_some_and(|n| is_cn_landline(&format!("0{n}")))
    {
        return Some(PiiKind::CnLandline);
    }
    if is_cn_resident_id(digits) || is_legacy_resident_id(digits) {
        return Some(PiiKind::CnResidentId);
    }
    if is_permanent_resident_id(digits) {
        return Some(PiiKind::CnPermanentResidentId);
    }
    if is_bank_card(digits) {
        return Some(PiiKind::BankCard);
    }
    None
}

fn is_cn_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// A fixed-line number with its trunk `0` and area code: `010` (Beijing) and `02x` (the other
/// large cities) take 8 local digits, `0[3-9]xx` take 7 or 8. Local numbers start with 2–9:
/// `0`/`1` there would be a trunk or service prefix.
fn is_cn_landline(digits: &str) -> bool {
    let b = digits.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) || b.len() < 10 || b[0] != b'0' {
        return false;
    }
    let (area_length, local_lengths) = match (b[1], b[2]) {
        (b'1', b'0') | (b'2', _) => (3, 8..=8),
        (b'3'..=b'9', _) => (4, 7..=8),
        _ => return false,
    };
    let local = &b[area_length..];
    local_lengths.contains(&local.len()) && (b'2'..=b'9').contains(&local[0])
}

/// The province-level part of a GB/T 2260 region code: 11–65 as assigned, 71 Taiwan, 81 Hong
/// Kong, 82 Macau.
fn is_province_code(code: &str) -> bool {
    matches!(
        code,
        "11" | "12"
            | "13"
            | "14"
            | "15"
            | "21"
            | "22"
            | "23"
            | "31"
            | "32"
            | "33"
            | "34"
            | "35"
            | "36"
            | "37"
            | "41"
            | "42"
            | "43"
            | "44"
            | "45"
            | "46"
            | "50"
            | "51"
            | "52"
            | "53"
            | "54"
            | "61"
            | "62"
            | "63"
            | "64"
            | "65"
            | "71"
            | "81"
            | "82"
    )
}

fn is_date(year: u32, month: &str, day: &str) -> bool {
    let (Ok(month), Ok(day)) = (month.parse(), day.parse()) else {
        return false;
    };
    chrono::NaiveDate::from_ymd_opt(year as i32, month, day).is_some()
}

/// GB 11643-1999: 6-digit region (first digit 1–8), birth date, sequence, ISO 7064 MOD 11-2
/// check character.
pub fn is_cn_resident_id(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b'1'..=b'8').contains(&b[0]) {
        return false;
    }
    let year: u32 = id[6..10].parse().unwrap_or(0);
    (1900..=2099).contains(&year)
        && is_date(year, &id[10..12], &id[12..14])
        && b[17].to_ascii_uppercase() == resident_id_check_char(&id[..17])
}

/// The 15-digit numbers issued before GB 11643-1999: region (6), birth date as `YYMMDD` in the
/// 1900s, sequence (3), and no check digit. Without a checksum, 15 random digits would pass
/// too often, so the region must name a province and a city and county below it (neither
/// `00`), and the date must exist.
fn is_legacy_resident_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 15
        && b.iter().all(u8::is_ascii_digit)
        && is_province_code(&id[..2])
        && &id[2..4] != "00"
        && &id[4..6] != "00"
        && is_date(
            1900 + id[6..8].parse::<u32>().unwrap_or(0),
            &id[8..10],
            &id[10..12],
        )
}

/// The foreigner's permanent residence ID card issued since 1 December 2023: 18 characters,
/// `9` (a foreigner, where resident ID numbers start 1–8), the 2-digit province code of the
/// issuing office, a 3-digit nationality code (the former 3-letter code as digits), birth date
/// `YYYYMMDD`, a 3-digit sequence and the GB 11643 MOD 11-2 check character. Relied on: the
/// National Immigration Administration's machine-readable rules for the 2023 card as
/// republished for card-reader vendors ("新版外国人永久居留身份证机读信息规则", 2023: first digit
/// 9, 17 digits plus a check character computed as for citizens' numbers, nationality as a
/// numeric code) and the NIA's announcement of 15 September 2023; the positions of province and
/// nationality follow the published layout and are checked only as a province code and digits.
fn is_permanent_resident_id(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || b[0] != b'9' || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let year: u32 = id[6..10].parse().unwrap_or(0);
    is_province_code(&id[1..3])
        && (1900..=2099).contains(&year)
        && is_date(year, &id[10..12], &id[12..14])
        && b[17].to_ascii_uppercase() == resident_id_check_char(&id[..17])
}

/// The ISO 7064 MOD 11-2 check character over the first 17 digits of a resident ID.
pub fn resident_id_check_char(first17: &str) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// 16–19 digits passing the Luhn check: Visa, Mastercard and UnionPay (`62`, 16–19 digits,
/// Luhn-checked like the others). Random digit strings pass Luhn one time in ten, so
/// `privacy.undeclared-pii` holds bank cards to a higher match rate than other kinds.
fn is_bank_card(digits: &str) -> bool {
    let b = digits.as_bytes();
    if !(16..=19).contains(&b.len())
        || !b.iter().all(u8::is_ascii_digit)
        || b.iter().all(|d| *d == b[0])
    {
        return false;
    }
    let sum: u32 = b
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<PiiKind> {
        let mut k: Vec<_> = find_spans(text).iter().map(|s| s.kind).collect();
        k.sort();
        k
    }

    /// Found by the `pii` fuzz target: masking the card number at the end ended the digit run
    /// before it, which then read as a mobile number.
    #[test]
    fn masking_is_complete_when_a_mask_reveals_another_identifier() {
        let masked = mask_spans("138 139003 )00 139990139000139000", "<redacted>");
        assert!(find_spans(&masked).is_empty(), "{masked}");
    }

    #[test]
    fn recognizes_each_kind_whole_and_in_text() {
        assert_eq!(kinds("13800138000"), [PiiKind::CnMobile]);
        assert_eq!(kinds("+86 138-0013-8000"), [PiiKind::CnMobile]);
        assert_eq!(kinds("请联系 13912345678 谢谢"), [PiiKind::CnMobile]);
        assert_eq!(kinds("mail me: li.na@example.cn"), [PiiKind::Email]);
        assert_eq!(kinds("11010519491231002X"), [PiiKind::CnResidentId]);
        assert_eq!(
            kinds("card 4111 1111 1111 1111 on file"),
            [PiiKind::BankCard]
        );
        assert_eq!(kinds("login from 192.168.10.1"), [PiiKind::IpAddress]);
        assert_eq!(
            kinds("call +1 (415) 555-0100 today"),
            [PiiKind::InternationalPhone]
        );
        assert_eq!(kinds("+44 20 7946 0958"), [PiiKind::InternationalPhone]);
        assert_eq!(
            kinds("13800138000 13900139000"),
            [PiiKind::CnMobile, PiiKind::CnMobile]
        );
    }

    #[test]
    fn near_misses_are_not_identifiers() {
        assert!(
            kinds("12800138000").is_empty(),
            "second digit 2 is no mobile prefix"
        );
        assert!(kinds("11010519491231002Y").is_empty());
        assert!(kinds("110105194912310021").is_empty(), "wrong check digit");
        assert!(kinds("4111111111111112").is_empty(), "Luhn fails");
        assert!(
            kinds("order SKU13800138000").is_empty(),
            "digits glued to a word"
        );
        assert!(kinds("2025-03-04 10:22:33").is_empty());
        assert!(kinds("version 1.2.3").is_empty());
    }

    #[test]
    fn mask_spans_hides_values_and_keeps_the_rest() {
        assert_eq!(mask_spans("call 13800138000 now", "#"), "call # now");
    }

    #[test]
    fn check_char_matches_the_standard_example() {
        assert_eq!(resident_id_check_char("11010519491231002"), b'X');
    }

    /// `prefix` completed with its Luhn check digit.
    fn with_luhn_digit(prefix: &str) -> String {
        (0..10)
            .map(|d| format!("{prefix}{d}"))
            .find(|n| is_bank_card(n))
            .unwrap()
    }

    #[test]
    fn full_width_and_other_script_digits_are_read_and_masked_in_place() {
        assert_eq!(kinds("电话：１３８１２３４５６７８"), [PiiKind::CnMobile]);
        assert_eq!(
            kinds("＋８６　１３８－００１３－８０００"),
            [PiiKind::CnMobile]
        );
        assert_eq!(
            kinds("身份证１１０１０５１９４９１２３１００２Ｘ"),
            [PiiKind::CnResidentId]
        );
        assert_eq!(kinds("٠١٠-٦٢٣٤٥٦٧٨"), [PiiKind::CnLandline]);
        assert_eq!(
            mask_spans("电话：１３８１２３４５６７８。谢谢", "#"),
            "电话：#。谢谢"
        );
        assert_eq!(mask_spans("护照号Ｅ１２３４５６７８，", "#"), "护照号#，");
        assert!(
            kinds("ＳＫＵ１３８１２３４５６７８").is_empty(),
            "glued to a word"
        );
    }

    #[test]
    fn legacy_and_permanent_residence_id_numbers() {
        assert_eq!(
            kinds("身份证 110105491231002 已核验"),
            [PiiKind::CnResidentId]
        );
        let first17 = "91184019850612001";
        let permanent = format!("{first17}{}", resident_id_check_char(first17) as char);
        assert_eq!(
            kinds(&format!("永居证 {permanent}")),
            [PiiKind::CnPermanentResidentId]
        );
        let wrong_check = format!("{first17}{}", if permanent.ends_with('0') { 1 } else { 0 });
        assert!(!kinds(&wrong_check).contains(&PiiKind::CnPermanentResidentId));
        assert!(kinds("订单号 202501011234567").is_empty(), "no province 20");
        assert!(kinds("110105491331002").is_empty(), "no 13th month");
        assert!(kinds("110005491231002").is_empty(), "no city code 00");
    }

    #[test]
    fn document_numbers_need_a_context_word_or_a_whole_value() {
        assert_eq!(kinds("护照号 E12345678"), [PiiKind::Passport]);
        assert_eq!(kinds("passport: EH1234567"), [PiiKind::Passport]);
        assert_eq!(kinds("E12345678（护照）已复印"), [PiiKind::Passport]);
        assert_eq!(kinds("往来港澳通行证 C12345678"), [PiiKind::TravelPermit]);
        assert_eq!(kinds("回乡证号码：H1234567890"), [PiiKind::TravelPermit]);
        assert_eq!(kinds("台胞证 12345678 已登记"), [PiiKind::TravelPermit]);
        assert!(kinds("型号 E12345678 蓝色").is_empty());
        assert!(kinds("编号 12345678").is_empty());
        assert_eq!(kind_mask("E12345678"), 0);
        assert_eq!(scan_mask(" E12345678 "), PiiKind::Passport.shape_only_bit());
        assert_eq!(
            scan_mask("C12345678"),
            PiiKind::TravelPermit.shape_only_bit()
        );
        assert_eq!(scan_mask("型号 E12345678 蓝色"), 0);
        assert_eq!(
            scan_mask("12345678"),
            0,
            "eight digits are never enough alone"
        );
    }

    #[test]
    fn landlines_with_area_codes_in_every_spelling() {
        for text in [
            "座机 010-62345678",
            "(021)52345678",
            "（０２１）５２３４５６７８",
            "0755 2345 6789",
            "+86 10 6234 5678",
            "0086-21-52345678",
            "电话0571-8888999转123",
            "010-62345678-123",
        ] {
            assert_eq!(kinds(text), [PiiKind::CnLandline], "{text}");
        }
        assert_eq!(
            &mask_spans("总机 010-62345678-123", "#"),
            "总机 #-123",
            "the extension is not part of the number"
        );
        for text in [
            "¥1299.00",
            "订单号 20250101123456",
            "01012345678",
            "0012345678",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn unionpay_cards_grouped_by_four_and_luhn_failures() {
        let card = with_luhn_digit("622202123456789012");
        let grouped: Vec<&str> = card
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!("卡号 {} 请核对", grouped.join(" "));
        assert_eq!(kinds(&text), [PiiKind::BankCard]);
        let sixteen = with_luhn_digit("621700123456789");
        assert_eq!(kinds(&sixteen), [PiiKind::BankCard]);
        let last = sixteen.as_bytes()[15] - b'0';
        let failing = format!("{}{}", &sixteen[..15], (last + 1) % 10);
        assert!(kinds(&failing).is_empty(), "Luhn fails");
        assert!(
            kinds("运单号 1299129912991299").is_empty(),
            "prices run together"
        );
    }

    #[test]
    fn ipv6_addresses_and_times_that_are_not() {
        for text in [
            "login from 2001:db8::8a2e:370:7334",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "link-local fe80::1ff:fe23:4567:890a.",
            "mapped ::ffff:192.168.1.1 today",
        ] {
            assert_eq!(kinds(text), [PiiKind::IpAddress], "{text}");
        }
        for text in [
            "12:30:45",
            "12:30",
            "00:1A:2B:3C:4D:5E",
            "std::vec::Vec",
            "::1",
            "dead::beef",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn names_and_addresses_next_to_their_context() {
        assert_eq!(kinds("收货人：张伟，电话见备注"), [PiiKind::PersonName]);
        assert_eq!(kinds("请转告欧阳娜娜女士明天取件"), [PiiKind::PersonName]);
        assert_eq!(kinds("客户王小明反馈包装破损"), [PiiKind::PersonName]);
        assert_eq!(kinds("上海市浦东新区张江路123号"), [PiiKind::PostalAddress]);
        assert_eq!(kinds("请寄到张江路１２３号"), [PiiKind::PostalAddress]);
        for text in [
            "客户购买了王老吉凉茶两箱",
            "客户李宁运动鞋尺码偏小",
            "联系人：张小泉剪刀专柜",
            "客户周末不在家",
            "客户高端定制款",
            "谢谢王小姐",
            "联系人：王先生",
            "上海",
            "北京市朝阳区门店",
            "中山路5号店开业",
            "型号 E12345678 蓝色",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }

    /// Pieces of text that recognizers react to, so that random concatenations often hold an
    /// identifier, or nearly one.
    const FRAGMENTS: [&str; 40] = [
        "1",
        "3",
        "8",
        "0",
        "6",
        "2",
        "9",
        "１",
        "３",
        "８",
        "０",
        "٣",
        "-",
        "－",
        " ",
        "　",
        "(",
        ")",
        "+",
        "＋",
        ":",
        ".",
        "E",
        "C",
        "H",
        "X",
        "护照",
        "台胞证",
        "收货人",
        "客户",
        "先生",
        "张",
        "欧阳",
        "伟",
        "市",
        "区",
        "路",
        "号",
        "室",
        "@a.cn",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn masking_leaves_nothing_a_recognizer_finds(
            pieces in proptest::collection::vec(proptest::sample::select(FRAGMENTS.to_vec()), 0..40)
        ) {
            let text = pieces.concat();
            for span in find_spans(&text) {
                proptest::prop_assert!(text.get(span.start..span.end).is_some(), "{:?} in {}", span, text);
            }
            let masked = mask_spans(&text, "<redacted>");
            let left = find_spans(&masked);
            proptest::prop_assert!(left.is_empty(), "{} gives {} with {:?}", text, masked, left);
        }
    }
}

/// `fm_pii_mask(value)`: the [`scan_mask`] of a value (the [`PiiKind`] bits found, and the
/// shape-only bits above them), as a UDF so that the scan of every text column runs inside
/// DataFusion, in parallel, without collecting the column.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PiiMaskUdf {
    signature: Signature,
}

impl PiiMaskUdf {
    pub const NAME: &'static str = "fm_pii_mask";

    pub fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(PiiMaskUdf {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for PiiMaskUdf {
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
        let text = text_argument(&args.args[0], args.number_rows)?;
        let masks: Int32Array = text
            .iter()
            // The highest bit used is below 2^28: the mask is a non-negative Int32.
            .map(|v| v.map(|v| scan_mask(v) as i32))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(masks)))
    }
}
