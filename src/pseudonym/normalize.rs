//! What an identifier is ([`IdentifierClass`]) and how it is normalized before hashing, so
//! that every spelling of one person's number or address gets one token.

use serde::Deserialize;

/// What an identifier is, which decides how it is normalized before hashing: one person's
/// `+86 138-0013-8000` and `13800138000` must get one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierClass {
    CustomerId,
    Name,
    Phone,
    Email,
    NationalId,
    BankCard,
    Ip,
    Address,
    /// An opaque id kept as written but for surrounding whitespace, case included: push
    /// device and install ids, which are neither phone numbers nor case-insensitive.
    DeviceId,
    Other,
}

impl IdentifierClass {
    pub const ALL: [IdentifierClass; 10] = [
        IdentifierClass::CustomerId,
        IdentifierClass::Name,
        IdentifierClass::Phone,
        IdentifierClass::Email,
        IdentifierClass::NationalId,
        IdentifierClass::BankCard,
        IdentifierClass::Ip,
        IdentifierClass::Address,
        IdentifierClass::DeviceId,
        IdentifierClass::Other,
    ];

    pub fn domain(self) -> &'static str {
        match self {
            IdentifierClass::CustomerId => "customer_id",
            IdentifierClass::Name => "name",
            IdentifierClass::Phone => "phone",
            IdentifierClass::Email => "email",
            IdentifierClass::NationalId => "national_id",
            IdentifierClass::BankCard => "bank_card",
            IdentifierClass::Ip => "ip",
            IdentifierClass::Address => "address",
            IdentifierClass::DeviceId => "device_id",
            IdentifierClass::Other => "other",
        }
    }

    /// The kind of a message recipient on `channel` (`email`, `sms`, `push`, in any case):
    /// the channel decides, never the value's shape, so a push device id made of digits is
    /// not read as a phone number. `None` for a channel fairmark does not know.
    pub fn of_channel(channel: &str) -> Option<IdentifierClass> {
        let channel = channel.trim();
        [
            ("email", IdentifierClass::Email),
            ("sms", IdentifierClass::Phone),
            ("push", IdentifierClass::DeviceId),
        ]
        .into_iter()
        .find(|(name, _)| channel.eq_ignore_ascii_case(name))
        .map(|(_, class)| class)
    }

    /// Canonical form; `None` for a blank value.
    pub fn normalize(self, raw: &str) -> Option<String> {
        let mut scratch = String::new();
        self.normalized(raw, &mut scratch).map(str::to_string)
    }

    /// [`IdentifierClass::normalize`] without allocating where it can: the canonical form is a
    /// slice of `raw` (ids kept as written) or of `scratch`, which is overwritten. Tokens are
    /// made millions at a time through this.
    pub fn normalized<'a>(self, raw: &'a str, scratch: &'a mut String) -> Option<&'a str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return None;
        }
        scratch.clear();
        let normalized: &str = match self {
            // `str::to_lowercase` (a final sigma lowers differently from a lone one) but for
            // ASCII, which lowers letter by letter.
            IdentifierClass::Email if trimmed.is_ascii() => {
                scratch.extend(trimmed.chars().map(|c| c.to_ascii_lowercase()));
                scratch
            }
            IdentifierClass::Email => {
                scratch.push_str(&trimmed.to_lowercase());
                scratch
            }
            IdentifierClass::Phone => normalize_phone(trimmed, scratch),
            IdentifierClass::NationalId => {
                scratch.push_str(&trimmed.to_uppercase());
                scratch
            }
            IdentifierClass::BankCard => {
                scratch.extend(trimmed.chars().filter(char::is_ascii_digit));
                scratch
            }
            IdentifierClass::Name | IdentifierClass::Address => {
                scratch.push_str(
                    &trimmed
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase(),
                );
                scratch
            }
            IdentifierClass::CustomerId
            | IdentifierClass::Ip
            | IdentifierClass::DeviceId
            | IdentifierClass::Other => trimmed,
        };
        (!normalized.is_empty()).then_some(normalized)
    }
}

/// Digits only, without the country prefix: `+86`/`0086`/`86` before an 11-digit mainland
/// mobile, and `+1`/`001` before a 10-digit North American number. A bare 11-digit number
/// starting with 1 is read as a mainland mobile: without a `+` it cannot be told apart from
/// a North American number with its country code. Each prefix is only stripped when what
/// remains has the right length, so the result is a fixed point (normalizing twice changes
/// nothing; the `normalize` fuzz target checks it).
fn normalize_phone<'a>(raw: &'a str, scratch: &'a mut String) -> &'a str {
    // Most numbers are stored as bare digits: those are read in place, not copied.
    let digits: &'a str = if raw.bytes().all(|b| b.is_ascii_digit()) {
        raw
    } else {
        scratch.extend(raw.chars().filter(char::is_ascii_digit));
        scratch
    };
    // Judged on the digits, not the text: the result is digits only, and a `00` the text hid
    // behind punctuation must count the same on the first pass as on a second.
    let written_international = raw.starts_with('+') || digits.starts_with("00");
    let mainland = |rest: &&str| rest.len() == 11 && rest.starts_with('1');
    let north_american = |rest: &&str| rest.len() == 10;
    let stripped = digits.strip_prefix("86").filter(mainland).or_else(|| {
        if !written_international {
            return None;
        }
        (digits.strip_prefix("0086").filter(mainland))
            .or_else(|| digits.strip_prefix("001").filter(north_american))
            .or_else(|| digits.strip_prefix('1').filter(north_american))
    });
    stripped.unwrap_or(digits)
}
