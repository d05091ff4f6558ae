//! One escaping discipline per output format, for every text that came from the data or the
//! configuration: campaign names, SKU codes, column names, rule descriptions, waiver reasons,
//! pack titles. Each output stays well-formed and inert whatever such a text holds.
//!
//! - Terminal: [`terminal`] writes control characters out (`\x1b`), so no value can retitle the
//!   terminal, clear the screen or overwrite a line.
//! - Markdown: [`markdown`] escapes markup and HTML, so no value becomes a tag, a link, an
//!   image or a table column; [`markdown_code`] keeps a code span only for texts that cannot
//!   leave it.
//! - XML: [`xml`] replaces what XML 1.0 forbids and escapes the rest, so the file parses.
//! - HTML: the same as XML.
//!
//! - SARIF: [`sarif_text`] escapes the brackets of its embedded links.
//!
//! - CSV (`segment_summary.csv`): [`csv_cell`] quotes, and defuses a cell a spreadsheet would
//!   run as a formula.
//!
//! JSON needs nothing here: serde escapes every string.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a reader as itself: C0 and C1 control characters but tab and
/// newline (ESC starts terminal sequences, BEL rings, CR overwrites a line, NUL ends C
/// strings), the bidirectional marks, embeddings, overrides and isolates (they reorder what a
/// reader sees of the text around them), the invisible format characters (zero-width spaces
/// and joiners, word joiner, byte-order mark, soft hyphen, tag characters: text a reader cannot
/// see, or an id that looks like another), the line and paragraph separators, and the
/// noncharacters (XML 1.0 forbids U+FFFE and U+FFFF; the others are no text either).
pub fn is_hidden(c: char) -> bool {
    let code = u32::from(c);
    (c.is_control() && !matches!(c, '\t' | '\n'))
        || matches!(code, 0x00AD | 0x061C | 0x2060 | 0xFEFF | 0x2028 | 0x2029)
        || (0x200B..=0x200F).contains(&code)
        || (0x202A..=0x202E).contains(&code)
        || (0x2066..=0x2069).contains(&code)
        || (0xE0000..=0xE007F).contains(&code)
        || (0xFDD0..=0xFDEF).contains(&code)
        || code & 0xFFFE == 0xFFFE
}

/// `text` with every [hidden](is_hidden) character written out as an escape: `\x1b` below
/// U+0080, `\u{202e}` above, so a reader sees that something was there and what.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_hidden(c) {
            shown.push(c);
        } else if u32::from(c) < 0x80 {
            let _ = write!(shown, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(shown)
}

/// Text for a terminal: control characters written out.
pub fn terminal(text: &str) -> Cow<'_, str> {
    visible(text)
}

/// Text for one line of a terminal: control characters and line breaks written out, so a value
/// cannot forge the lines after it.
pub fn terminal_line(text: &str) -> Cow<'_, str> {
    match visible(text) {
        shown if shown.contains('\n') => Cow::Owned(shown.replace('\n', "\\x0a")),
        shown => shown,
    }
}

/// Inline Markdown text that renders as `text` and as nothing else, on one line, in a table
/// cell or in a paragraph.
///
/// `<`, `>` and `&` become entities (no raw HTML, no `<javascript:…>` autolink, no entity the
/// text did not hold); the punctuation CommonMark and GitHub give meaning mid-line is
/// backslash-escaped (links and images need `[`, emphasis `*` and `_`, code spans and fences
/// `` ` ``, strikethrough `~`, math `$`, table cells `|`, headings' closing `#`); GitHub's
/// links without markup are split by an escape (`https\://`, `www\.`, `a\@b`), which renders
/// the same, and so is a leading `//`; leading blanks become entities and a first character that would start a list or
/// a rule is escaped (a line that begins with the text stays a paragraph); newlines become
/// spaces.
pub fn markdown(text: &str) -> String {
    markdown_from(text, true)
}

/// [`markdown`], for a text that starts a line (`at_line_start`) or follows other text on one.
fn markdown_from(text: &str, at_line_start: bool) -> String {
    let text = visible(text);
    let mut escaped = String::with_capacity(text.len() + 8);
    let mut rest = text.as_ref();
    // Only blanks so far at a line's start: the text may still open its block structure.
    let mut at_start = at_line_start;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        let starts_list_or_rule = at_start && matches!(c, '-' | '+' | '=');
        // "12. x" or "3) x" at a line's start is an ordered list.
        let ends_list_number = matches!(c, '.' | ')')
            && !escaped.is_empty()
            && escaped
                .trim_start_matches("&#32;")
                .bytes()
                .all(|b| b.is_ascii_digit());
        // A leading `//` could complete a scheme written before the text (`http:` + `//x`).
        let splits_a_link = (c == ':' && rest.starts_with("//"))
            || (c == '/' && escaped.is_empty() && rest.starts_with('/'))
            || c == '@'
            || (c == '.' && escaped.to_ascii_lowercase().ends_with("www"));
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            ' ' | '\n' | '\r' if at_start => escaped.push_str("&#32;"),
            '\t' if at_start => escaped.push_str("&#9;"),
            '\n' | '\r' => escaped.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' | '#' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c if starts_list_or_rule || ends_list_number || splits_a_link => {
                escaped.push('\\');
                escaped.push(c);
            }
            c => escaped.push(c),
        }
        at_start = at_start && matches!(c, ' ' | '\t' | '\n' | '\r');
    }
    escaped
}

/// `text` as a Markdown code span when it is an identifier-like text that cannot leave one (no
/// backtick, no `|`, nothing hidden), else as [`markdown`] text.
pub fn markdown_code(text: &str) -> String {
    if plain_code(text) {
        format!("`{text}`")
    } else {
        markdown(text)
    }
}

/// Whether `text` reads the same inside a code span as a reader expects: identifier-like, with
/// nothing a code span, a table or a terminal would treat otherwise.
fn plain_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '@' | ' '))
        && !text.starts_with(' ')
        && !text.ends_with(' ')
}

/// Markdown prose written with code spans (`` `column` ``), as findings' messages are: the
/// spans around texts that cannot leave one stay code, everything else is [`markdown`] text,
/// backticks included.
pub fn markdown_prose(text: &str) -> String {
    let pieces: Vec<&str> = text.split('`').collect();
    let mut rendered = String::with_capacity(text.len() + 8);
    for (i, piece) in pieces.iter().enumerate() {
        let inside_a_pair = i % 2 == 1 && i + 1 < pieces.len();
        if !inside_a_pair {
            if i % 2 == 1 {
                // The opening backtick of a span that never closes.
                rendered.push_str("\\`");
            }
            rendered.push_str(&markdown_from(piece, i == 0));
        } else if plain_code(piece) {
            let _ = write!(rendered, "`{piece}`");
        } else {
            let _ = write!(rendered, "\\`{}\\`", markdown_from(piece, false));
        }
    }
    rendered
}

/// A SARIF plain-text message: `[text](n)` in one is a link (SARIF 2.1.0, §3.11.6), and the
/// standard has literal brackets escaped with a backslash, so a value cannot add a link; hidden
/// characters written out.
pub fn sarif_text(text: &str) -> String {
    let text = visible(text);
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '\\' | '[' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// One CSV cell (RFC 4180): a text a spreadsheet would run as a formula (it starts with `=`,
/// `+`, `-`, `@`, tab or CR: OWASP's list) gets a leading `'`, which spreadsheets show as text;
/// a cell holding a comma, a quote or a line break is quoted, its quotes doubled.
pub fn csv_cell(text: &str) -> String {
    let text = visible(text);
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.into_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// XML 1.0 (and HTML) text or attribute content: hidden characters (among them every character
/// XML 1.0 forbids) written out, then `&`, `<`, `>`, `"` and `'` escaped (`&#39;`, which HTML 4
/// reads too).
pub fn xml(text: &str) -> String {
    let text = visible(text);
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_are_written_out() {
        assert_eq!(terminal("a\u{1b}]0;owned\u{7}b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(terminal("left\u{202e}right"), "left\\u{202e}right");
        assert_eq!(
            terminal("zero\u{200b}width\u{e0041}"),
            "zero\\u{200b}width\\u{e0041}"
        );
        assert_eq!(terminal_line("a\nforged"), "a\\x0aforged");
        assert_eq!(terminal("tab\tand\nnewline"), "tab\tand\nnewline");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_payloads_stay_text() {
        assert_eq!(
            markdown("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            markdown("[click](javascript:alert(1))"),
            "\\[click\\](javascript:alert(1))"
        );
        assert_eq!(
            markdown("<javascript:alert(1)>"),
            "&lt;javascript:alert(1)&gt;"
        );
        assert_eq!(
            markdown("![x](http://h/i.png)"),
            "!\\[x\\](http\\://h/i.png)"
        );
        assert_eq!(markdown("a|b\nc"), "a\\|b c");
        assert_eq!(markdown("# title"), "\\# title");
        assert_eq!(markdown("12. item"), "12\\. item");
        assert_eq!(markdown("&lt;b&gt;"), "&amp;lt;b&amp;gt;");
        assert_eq!(markdown("v2.1 - ok"), "v2.1 - ok");
        assert_eq!(markdown("   - x"), "&#32;&#32;&#32;\\- x");
        assert_eq!(markdown(" 1. x"), "&#32;1\\. x");
        assert_eq!(
            markdown("Refund https://evil.example or WWW.evil.example, a@evil.example"),
            "Refund https\\://evil.example or WWW\\.evil.example, a\\@evil.example"
        );
    }

    #[test]
    fn code_spans_only_hold_what_cannot_leave_them() {
        assert_eq!(
            markdown_code("pricing.tenure-overcharge"),
            "`pricing.tenure-overcharge`"
        );
        assert_eq!(markdown_code("a`b"), "a\\`b");
        assert_eq!(markdown_code("x|y"), "x\\|y");
        assert_eq!(markdown_code(""), "");
    }

    #[test]
    fn prose_keeps_plain_code_spans_only() {
        assert_eq!(
            markdown_prose("Column `phone` holds <b>"),
            "Column `phone` holds &lt;b&gt;"
        );
        assert_eq!(
            markdown_prose("Column `<img src=x>` of"),
            "Column \\`&lt;img src=x&gt;\\` of"
        );
        assert_eq!(markdown_prose("a ` b"), "a \\` b");
    }

    #[test]
    fn csv_formulas_are_defused_and_commas_quoted() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("at_risk"), "at_risk");
    }

    #[test]
    fn sarif_messages_hold_no_link() {
        assert_eq!(
            sarif_text("[Claim refund](https://evil.example) \\"),
            "\\[Claim refund\\](https://evil.example) \\\\"
        );
    }

    #[test]
    fn xml_forbidden_characters_are_replaced() {
        assert_eq!(
            xml("a<b & \"c\"\u{7}\u{fffe}"),
            "a&lt;b &amp; &quot;c&quot;\\x07\\u{fffe}"
        );
    }

    /// Whether `rendered` holds a Markdown construct that can carry markup, a link or a column
    /// break: `<`, `>`, a line break, a leading blank, a `&` that starts no entity of
    /// [`markdown`]'s, or, not escaped by a backslash, `[ ] | * _ ` ~ $ #`, an `@`, a `://` or a
    /// `www.`; code spans around [plain](plain_code) text are allowed when `code_spans` says.
    fn live_markdown(rendered: &str, code_spans: bool) -> bool {
        let chars: Vec<char> = rendered.chars().collect();
        let text_from = |i: usize| chars[i..].iter().collect::<String>();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 1,
                '<' | '>' | '\n' | '\r' => return true,
                ' ' | '\t' if i == 0 => return true,
                '&' => {
                    let rest = text_from(i);
                    let Some(entity) = ["&lt;", "&gt;", "&amp;", "&#32;", "&#9;"]
                        .iter()
                        .find(|entity| rest.starts_with(*entity))
                    else {
                        return true;
                    };
                    i += entity.len() - 1;
                }
                ':' if text_from(i).starts_with("://") => return true,
                '.' if i >= 3 && text_from(i - 3).to_ascii_lowercase().starts_with("www.") => {
                    return true;
                }
                '`' if code_spans => {
                    let Some(length) = chars[i + 1..].iter().position(|c| *c == '`') else {
                        return true;
                    };
                    let content: String = chars[i + 1..i + 1 + length].iter().collect();
                    if !plain_code(&content) {
                        return true;
                    }
                    i += length + 1;
                }
                '[' | ']' | '|' | '`' | '*' | '_' | '~' | '$' | '#' | '@' => return true,
                _ => {}
            }
            i += 1;
        }
        false
    }

    /// Any text, control and format characters included (`any::<String>()` draws none).
    fn any_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<char>(), 0..64).prop_map(String::from_iter)
    }

    proptest! {
        #[test]
        fn no_hidden_character_survives(text in any_text()) {
            prop_assert!(!visible(&text).chars().any(is_hidden));
            prop_assert!(!xml(&text).chars().any(is_hidden));
            prop_assert!(!markdown(&text).chars().any(is_hidden));
        }

        #[test]
        fn markdown_holds_no_live_construct(text in any_text()) {
            prop_assert!(!live_markdown(&markdown(&text), false));
        }

        #[test]
        fn markdown_prose_holds_no_live_construct(text in any_text()) {
            let rendered = markdown_prose(&text);
            prop_assert!(!rendered.chars().any(is_hidden));
            prop_assert!(!live_markdown(&rendered, true));
        }

        #[test]
        fn markdown_prose_keeps_plain_spans(words in proptest::collection::vec("[a-z_.]{1,8}", 1..5)) {
            let text = words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(" and ");
            prop_assert_eq!(markdown_prose(&text), text);
        }

        #[test]
        fn a_csv_cell_is_one_field_and_no_formula(text in any_text()) {
            let cell = csv_cell(&text);
            prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']));
            prop_assert!(!cell.chars().any(is_hidden));
            let quoted = cell.starts_with('"');
            let inner = if quoted { &cell[1..cell.len() - 1] } else { cell.as_str() };
            if quoted {
                prop_assert!(cell.len() >= 2 && cell.ends_with('"'));
                prop_assert!(!inner.replace("\"\"", "").contains('"'));
            } else {
                prop_assert!(!inner.contains([',', '"', '\n', '\r']));
            }
        }

        #[test]
        fn visible_is_idempotent(text in any_text()) {
            let once = visible(&text).into_owned();
            prop_assert_eq!(visible(&once), once.as_str());
        }
    }
}
