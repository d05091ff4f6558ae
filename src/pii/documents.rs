//! Travel-document numbers: PRC passports and the permits for Hong Kong, Macau and Taiwan.
//!
//! A letter and eight digits is also the shape of a product code (`型号 E12345678 蓝色`), so a
//! number counts only with a context word close by: one of [`DOCUMENT_WORDS`] ending at most
//! [`CONTEXT_BEFORE`] characters before it, or starting at most [`CONTEXT_AFTER`] characters
//! after it. A value that is nothing but the shape is reported separately, as shape only: a
//! column is taken to hold such numbers when most of its values have the shape and its name is
//! a context word of its own (`passport_no`, `证件号`; see [`names_documents`]), since columns of
//! message ids (`M00000001`) and product codes have the shape too. Taiwan compatriot permits are eight bare digits, the shape of
//! countless other numbers: they count with a context word only, never by shape.

use super::kind::PiiKind;

/// Words that announce a document number, in the ways customer-service notes write them.
/// ASCII words match case-insensitively.
pub const DOCUMENT_WORDS: [&str; 10] = [
    "护照",
    "passport",
    "通行证",
    "回乡证",
    "台胞证",
    "permit",
    "证件",
    "港澳证",
    "旅行证",
    "travel document",
];
/// Words that make eight bare digits a Taiwan compatriot permit (台湾居民来往大陆通行证).
pub const TAIWAN_PERMIT_WORDS: [&str; 4] = ["台胞证", "通行证", "台湾居民", "permit"];
/// Column-name words, besides [`DOCUMENT_WORDS`], for a column of document numbers.
const COLUMN_NAME_WORDS: [&str; 3] = ["doc", "证号", "travel"];
/// How far before a number a context word may end, in characters: "护照号码：" is five.
const CONTEXT_BEFORE: usize = 10;
/// How far after a number a context word may start: "E12345678（护照）".
const CONTEXT_AFTER: usize = 2;

/// The document kind of an alphanumeric token, by shape alone (`token` in upper case).
///
/// - Passport (ordinary, since 2012 `E` + 8 digits or `E` + a letter + 7 digits; before it `G` +
///   8 digits). The letter skips `I` and `O`.
/// - Mainland travel permit for Hong Kong and Macau (往来港澳通行证): `C` + 8 digits, or `C` + a
///   letter + 7 digits.
/// - Home-return permit (港澳居民来往内地通行证): `H` (Hong Kong) or `M` (Macau) + 8 digits, or + 10
///   digits on the cards issued since 2013.
pub fn shape_of(token: &str) -> Option<PiiKind> {
    let b = token.as_bytes();
    let digits = |from: usize| b.len() > from && b[from..].iter().all(u8::is_ascii_digit);
    let serial_letter = |at: usize| b[at].is_ascii_uppercase() && !matches!(b[at], b'I' | b'O');
    match (b.first()?, b.len()) {
        (b'E', 9) if digits(1) || (serial_letter(1) && digits(2)) => Some(PiiKind::Passport),
        (b'G', 9) if digits(1) => Some(PiiKind::Passport),
        (b'C', 9) if digits(1) || (serial_letter(1) && digits(2)) => Some(PiiKind::TravelPermit),
        (b'H' | b'M', 9 | 11) if digits(1) => Some(PiiKind::TravelPermit),
        _ => None,
    }
}

/// Whether `text[start..end]` (a token in folded text) has one of `words` close by.
pub fn has_context(text: &str, start: usize, end: usize, words: &[&str]) -> bool {
    let before: String = {
        let chars: Vec<char> = text[..start].chars().rev().take(CONTEXT_BEFORE).collect();
        chars.into_iter().rev().collect::<String>().to_lowercase()
    };
    let after: String = text[end..]
        .chars()
        .take(CONTEXT_AFTER + "travel document".len())
        .collect::<String>()
        .to_lowercase();
    words.iter().any(|word| {
        before.contains(word)
            || after
                .find(word)
                .is_some_and(|at| after[..at].chars().count() <= CONTEXT_AFTER)
    })
}

/// Whether a column's name says it holds document numbers.
pub fn names_documents(column: &str) -> bool {
    let column = column.to_lowercase();
    DOCUMENT_WORDS
        .iter()
        .chain(&COLUMN_NAME_WORDS)
        .any(|word| column.contains(word))
}

/// Document numbers in folded `text`: confirmed ones (with context) as `found`, and whether
/// the whole value is one number without context, by kind.
pub fn scan(text: &str, found: &mut Vec<(PiiKind, usize, usize)>) -> Option<PiiKind> {
    let bytes = text.as_bytes();
    let mut shape_only = None;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if !(9..=11).contains(&(i - start)) || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        let Some(kind) = shape_of(&text[start..i].to_ascii_uppercase()) else {
            continue;
        };
        if has_context(text, start, i, &DOCUMENT_WORDS) {
            found.push((kind, start, i));
        } else if text.trim() == &text[start..i] {
            shape_only = Some(kind);
        }
    }
    shape_only
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_passports_and_permits() {
        for (token, kind) in [
            ("E12345678", Some(PiiKind::Passport)),
            ("EH1234567", Some(PiiKind::Passport)),
            ("G12345678", Some(PiiKind::Passport)),
            ("C12345678", Some(PiiKind::TravelPermit)),
            ("CA1234567", Some(PiiKind::TravelPermit)),
            ("H12345678", Some(PiiKind::TravelPermit)),
            ("M1234567890", Some(PiiKind::TravelPermit)),
            ("EO1234567", None),
            ("E1234567", None),
            ("GA1234567", None),
            ("H123456789", None),
            ("X12345678", None),
        ] {
            assert_eq!(shape_of(token), kind, "{token}");
        }
    }

    #[test]
    fn column_names_that_announce_documents() {
        for column in [
            "passport_no",
            "Passport",
            "证件号码",
            "doc_number",
            "回乡证",
        ] {
            assert!(names_documents(column), "{column}");
        }
        for column in ["message_id", "sku", "model", "order_no"] {
            assert!(!names_documents(column), "{column}");
        }
    }

    #[test]
    fn a_context_word_must_be_close() {
        let near = "护照号码：E12345678";
        let start = near.find('E').unwrap();
        assert!(has_context(near, start, start + 9, &DOCUMENT_WORDS));
        let after = "E12345678 (passport)";
        assert!(has_context(after, 0, 9, &DOCUMENT_WORDS));
        let far = "护照已寄出，另附商品型号与颜色说明 E12345678";
        let start = far.find('E').unwrap();
        assert!(!has_context(far, start, start + 9, &DOCUMENT_WORDS));
    }
}
