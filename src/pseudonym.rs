//! Keyed pseudonyms: HMAC-SHA256 over a normalized identifier, under a secret key that is
//! kept apart from the data (GDPR Art. 4(5), PIPL Art. 73, GB/T 37964). A plain hash of a
//! phone number is reversible by enumerating the 10^10 possible numbers; a keyed one is not.
//!
//! A token is `<key id>_<16 base32 characters>`: the key id (derived from the key, never the
//! key) tells which key made it; 80 bits of HMAC keep collisions out of reach for billions
//! of identifiers. Same value and key give the same token in every table and run, so
//! pseudonymized tables still join; another key gives unrelated tokens.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Keys shorter than this are refused: HMAC's strength is bounded by the key's entropy.
pub const MIN_KEY_BYTES: usize = 32;
const TOKEN_HMAC_BYTES: usize = 10;

/// Where the key comes from, as written in `fairmark.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    /// Name of an environment variable holding the key.
    pub env: Option<String>,
    /// Path of a file holding the key, relative to the config file.
    pub file: Option<String>,
}

/// The secret pseudonymization key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct Key {
    secret: Vec<u8>,
    id: String,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    /// A key from its material. Text that is all hex (64+ digits) is decoded, so a key can be
    /// written as `openssl rand -hex 32` prints it; anything else is used as raw bytes.
    pub fn from_material(material: &[u8], origin: &str) -> Result<Key> {
        let trimmed = trim_ascii(material);
        let secret = decode_hex(trimmed).unwrap_or_else(|| trimmed.to_vec());
        if secret.len() < MIN_KEY_BYTES {
            return Err(Error::Key(format!(
                "{origin} holds {} bytes; a key needs at least {MIN_KEY_BYTES} (generate one with `openssl rand -hex 32`)",
                secret.len()
            )));
        }
        let digest = Sha256::new_with_prefix(b"fairmark key id v1\0")
            .chain_update(&secret)
            .finalize();
        let id = format!("k{}", &hex(&digest)[..5]);
        Ok(Key { secret, id })
    }

    /// Loads the key named by `source`; relative files are resolved against `base_dir`.
    pub fn load(source: &KeySource, base_dir: &Path) -> Result<Key> {
        match (&source.env, &source.file) {
            (Some(var), None) => {
                let value = std::env::var_os(var).ok_or_else(|| {
                    Error::Key(format!("environment variable {var} is not set; export a key of at least {MIN_KEY_BYTES} bytes (e.g. `export {var}=$(openssl rand -hex 32)`)"))
                })?;
                Key::from_material(
                    value.as_encoded_bytes(),
                    &format!("environment variable {var}"),
                )
            }
            (None, Some(file)) => {
                let path = base_dir.join(file);
                let material = std::fs::read(&path).map_err(|e| {
                    Error::Key(format!("cannot read key file {}: {e}", path.display()))
                })?;
                Key::from_material(&material, &format!("key file {}", path.display()))
            }
            _ => Err(Error::Key(
                "write exactly one of `key = { env = \"VAR\" }` or `key = { file = \"path\" }`"
                    .into(),
            )),
        }
    }

    /// The short public identifier of this key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The token of `raw` read as an identifier of `class`, or `None` when nothing is left
    /// after normalization (blank cells stay null rather than all sharing one token).
    pub fn token(&self, class: IdentifierClass, raw: &str) -> Option<String> {
        let normalized = class.normalize(raw)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(class.domain().as_bytes());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        let tag = mac.finalize().into_bytes();
        Some(format!("{}_{}", self.id, base32(&tag[..TOKEN_HMAC_BYTES])))
    }
}

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
    Other,
}

impl IdentifierClass {
    pub const ALL: [IdentifierClass; 9] = [
        IdentifierClass::CustomerId,
        IdentifierClass::Name,
        IdentifierClass::Phone,
        IdentifierClass::Email,
        IdentifierClass::NationalId,
        IdentifierClass::BankCard,
        IdentifierClass::Ip,
        IdentifierClass::Address,
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
            IdentifierClass::Other => "other",
        }
    }

    /// The recipient class of a mail address or phone number, judged by its shape.
    pub fn of_recipient(raw: &str) -> IdentifierClass {
        if raw.contains('@') {
            IdentifierClass::Email
        } else {
            IdentifierClass::Phone
        }
    }

    /// Canonical form; `None` for a blank value.
    pub fn normalize(self, raw: &str) -> Option<String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return None;
        }
        let normalized = match self {
            IdentifierClass::Email => trimmed.to_lowercase(),
            IdentifierClass::Phone => normalize_phone(trimmed),
            IdentifierClass::NationalId => trimmed.to_uppercase(),
            IdentifierClass::BankCard => trimmed.chars().filter(char::is_ascii_digit).collect(),
            IdentifierClass::Name | IdentifierClass::Address => trimmed
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            IdentifierClass::CustomerId | IdentifierClass::Ip | IdentifierClass::Other => {
                trimmed.to_string()
            }
        };
        (!normalized.is_empty()).then_some(normalized)
    }
}

/// Digits only, without the country prefix: `+86`/`0086`/`86` before an 11-digit mainland
/// mobile, and `+1`/`001` before a 10-digit North American number. A bare 11-digit number
/// starting with 1 is read as a mainland mobile: without a `+` it cannot be told apart from
/// a North American number with its country code. Each prefix is only stripped when what
/// remains has the right length, so the result is a fixed point (normalizing twice changes
/// nothing).
fn normalize_phone(raw: &str) -> String {
    let written_international = raw.starts_with('+') || raw.starts_with("00");
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
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
    stripped.unwrap_or(&digits).to_string()
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() < 2 * MIN_KEY_BYTES
        || !text.len().is_multiple_of(2)
        || !text.iter().all(u8::is_ascii_hexdigit)
    {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 4648 base32, lower case, unpadded: tokens stay safe in CSV, URLs and file names.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// `fm_token_<class>(value)`: the pseudonymization UDF, so tokens are computed inside
/// DataFusion plans, batch by batch, in parallel.
#[derive(Debug)]
pub struct TokenUdf {
    name: String,
    /// `None`: a message recipient, e-mail or phone by its shape.
    class: Option<IdentifierClass>,
    key: Arc<Key>,
    signature: Signature,
}

impl PartialEq for TokenUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.key.id == other.key.id
    }
}
impl Eq for TokenUdf {}
impl std::hash::Hash for TokenUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.key.id.hash(state);
    }
}

impl TokenUdf {
    pub fn function_name(class: IdentifierClass) -> String {
        format!("fm_token_{}", class.domain())
    }

    pub fn udf(class: IdentifierClass, key: Arc<Key>) -> ScalarUDF {
        ScalarUDF::new_from_impl(TokenUdf {
            name: Self::function_name(class),
            class: Some(class),
            key,
            signature: Signature::any(1, Volatility::Immutable),
        })
    }

    /// The name of the UDF that tokenizes message recipients.
    pub const RECIPIENT: &'static str = "fm_token_recipient";

    /// `fm_token_recipient(value)`: e-mail addresses and phone numbers in one column, each
    /// tokenized as its kind, so they match the customers' `email` and `phone` tokens.
    pub fn recipient_udf(key: Arc<Key>) -> ScalarUDF {
        ScalarUDF::new_from_impl(TokenUdf {
            name: Self::RECIPIENT.to_string(),
            class: None,
            key,
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for TokenUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let text = crate::engine::text_argument(&args.args[0], args.number_rows)?;
        let mut tokens = StringBuilder::with_capacity(text.len(), text.len() * 24);
        for value in text.iter() {
            tokens.append_option(value.and_then(|v| {
                let class = self
                    .class
                    .unwrap_or_else(|| IdentifierClass::of_recipient(v));
                self.key.token(class, v)
            }));
        }
        Ok(ColumnarValue::Array(Arc::new(tokens.finish()) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(byte: u8) -> Key {
        Key::from_material(&[byte; 32], "test").unwrap()
    }

    #[test]
    fn one_person_one_token_across_spellings() {
        let k = key(7);
        let phone = |v| k.token(IdentifierClass::Phone, v).unwrap();
        assert_eq!(phone("13800138000"), phone("+86 138-0013-8000"));
        assert_eq!(phone("13800138000"), phone("0086 13800138000"));
        assert_eq!(phone("+1 (415) 555-0100"), phone("4155550100"));
        let email = |v| k.token(IdentifierClass::Email, v).unwrap();
        assert_eq!(email(" Li.Na@Example.CN "), email("li.na@example.cn"));
    }

    #[test]
    fn tokens_depend_on_key_and_carry_its_id() {
        let a = key(1).token(IdentifierClass::Phone, "13800138000").unwrap();
        let b = key(2).token(IdentifierClass::Phone, "13800138000").unwrap();
        assert_ne!(a[7..], b[7..]);
        assert!(a.starts_with(key(1).id()));
        assert_eq!(a.len(), 6 + 1 + 16);
        assert!(!a.contains("13800138000"));
    }

    #[test]
    fn short_keys_are_refused_and_hex_is_decoded() {
        assert!(Key::from_material(b"too short", "test").is_err());
        let hex_key = "ab".repeat(32);
        let decoded = Key::from_material(hex_key.as_bytes(), "test").unwrap();
        assert_eq!(decoded.id(), key(0xab).id());
        assert!(!format!("{decoded:?}").contains("ab".repeat(4).as_str()));
    }

    #[test]
    fn blank_values_get_no_token() {
        assert_eq!(key(1).token(IdentifierClass::Email, "   "), None);
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(raw in "\\PC{0,24}") {
            for class in IdentifierClass::ALL {
                if let Some(once) = class.normalize(&raw) {
                    prop_assert_eq!(class.normalize(&once), Some(once.clone()));
                }
            }
        }

        #[test]
        fn tokens_are_stable_and_opaque(raw in "[0-9]{11}") {
            let k = key(99);
            let first = k.token(IdentifierClass::Phone, &raw);
            prop_assert_eq!(&first, &k.token(IdentifierClass::Phone, &raw));
            prop_assert!(!first.unwrap().contains(&raw));
        }
    }
}
