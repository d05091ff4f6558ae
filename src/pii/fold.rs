//! Folding text to the ASCII the recognizers read: full-width forms (`１３８`, `＋８６`, `（０１０）`),
//! other Unicode decimal digits, and the space and dash characters people put inside numbers.
//! Every folded character remembers where it came from, so that a span found in the folded
//! text masks the right bytes of the original.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Any decimal digit (Unicode `Nd`), ASCII included.
static DECIMAL_DIGIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\p{Nd}$").unwrap());

/// `text` folded, with the original byte offset of every folded byte.
pub struct Folded<'a> {
    pub text: Cow<'a, str>,
    /// `origin[i]` is where folded byte `i` came from; one more entry holds the original length.
    /// `None` when nothing was folded and offsets are the same.
    origin: Option<Vec<usize>>,
}

impl<'a> Folded<'a> {
    pub fn new(text: &'a str) -> Folded<'a> {
        if text.is_ascii() {
            return Folded {
                text: Cow::Borrowed(text),
                origin: None,
            };
        }
        let mut folded = String::with_capacity(text.len());
        let mut origin = Vec::with_capacity(text.len() + 1);
        for (at, c) in text.char_indices() {
            let f = fold_char(c);
            folded.push(f);
            origin.extend(std::iter::repeat_n(at, f.len_utf8()));
        }
        origin.push(text.len());
        Folded {
            text: Cow::Owned(folded),
            origin: Some(origin),
        }
    }

    /// The offset in the original text of folded offset `at` (a character boundary).
    pub fn original(&self, at: usize) -> usize {
        self.origin.as_ref().map_or(at, |origin| origin[at])
    }
}

fn fold_char(c: char) -> char {
    let code = c as u32;
    match code {
        0..=0x7f => c,
        // The full-width block mirrors printable ASCII at a fixed distance.
        0xff01..=0xff5e => char::from_u32(code - 0xfee0).unwrap_or(c),
        // Ideographic, no-break and narrow no-break spaces.
        0x3000 | 0xa0 | 0x202f => ' ',
        // Hyphen, non-breaking hyphen, figure dash, en and em dash, horizontal bar, minus sign,
        // small and full-width hyphen-minus.
        0x2010..=0x2015 | 0x2212 | 0xfe58 | 0xfe63 => '-',
        _ => other_decimal_digit(c).unwrap_or(c),
    }
}

/// The ASCII digit of a decimal digit from another script (Arabic-Indic `٣`, Devanagari `३`,
/// mathematical `𝟑`). Unicode assigns decimal digits only in runs of ten, zero to nine in order,
/// so a digit's value is its distance from the start of its run, modulo ten (some runs, like the
/// mathematical digits, are several sets of ten back to back).
fn other_decimal_digit(c: char) -> Option<char> {
    let code = c as u32;
    // Hangul, Han and the other large blocks from U+2000 to U+A61F, and U+AC00 to U+FFFF, hold
    // no decimal digit; skipping them keeps Chinese text off the regex.
    if code < 0x660 || (0x2000..0xa620).contains(&code) || (0xac00..0x10000).contains(&code) {
        return None;
    }
    let is_digit = |code: u32| {
        char::from_u32(code).is_some_and(|c| DECIMAL_DIGIT.is_match(c.encode_utf8(&mut [0; 4])))
    };
    if !is_digit(code) {
        return None;
    }
    let mut run_start = code;
    while is_digit(run_start - 1) {
        run_start -= 1;
    }
    char::from_digit((code - run_start) % 10, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_other_digits_fold_to_ascii_and_keep_their_origin() {
        let text = "电话：１３８－００１３　８０００";
        let folded = Folded::new(text);
        assert_eq!(folded.text, "电话:138-0013 8000");
        let at = folded.text.find('1').unwrap();
        assert_eq!(&text[folded.original(at)..], "１３８－００１３　８０００");
        assert_eq!(folded.original(folded.text.len()), text.len());
        assert_eq!(Folded::new("٠١٢٣٤٥٦٧٨٩ ०१२ 𝟎𝟗𝟭").text, "0123456789 012 091");
        assert_eq!(Folded::new("上海 ¥12").text, "上海 ¥12");
    }
}
