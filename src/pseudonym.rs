//! Keyed pseudonyms: HMAC-SHA256 over a normalized identifier, under a secret key that is
//! kept apart from the data (GDPR Art. 4(5), PIPL Art. 73, GB/T 37964). A plain hash of a
//! phone number is reversible by enumerating the 10^10 possible numbers; a keyed one is not.
//!
//! A token is `<key id>_<16 base32 characters>`: the key id (derived from the key, never the
//! key) tells which key made it; 80 bits of HMAC keep collisions out of reach for billions
//! of identifiers. Same value and key give the same token in every table and run, so
//! pseudonymized tables still join; another key gives unrelated tokens.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config_errors;
use crate::error::{Error, Result};
use crate::udf_args::text_argument;

/// Keys of fewer random bytes are refused: HMAC's strength is bounded by the key's entropy.
pub const MIN_KEY_BYTES: usize = 32;
const TOKEN_HMAC_BYTES: usize = 10;
/// Base32 characters of those bytes.
const TOKEN_CHARACTERS: usize = TOKEN_HMAC_BYTES * 8 / 5;

/// Where the key comes from, as written in `fairmark.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "a table: `key = { env = \"VAR\" }` or `key = { file = \"path\" }`"
)]
pub struct KeySource {
    /// Name of an environment variable holding the key.
    #[serde(default, deserialize_with = "key_source_name")]
    pub env: Option<String>,
    /// Path of a file holding the key, relative to the config file.
    #[serde(default, deserialize_with = "key_source_name")]
    pub file: Option<String>,
}

/// A variable's name or a file's path, refused when it is the key itself pasted in: that is
/// not looked up (nor echoed), and the error, at the config's line and key, says to give the
/// key's source instead.
fn key_source_name<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<String>, D::Error> {
    let name = String::deserialize(deserializer)?;
    match config_errors::looks_like_key(&name) {
        true => Err(serde::de::Error::custom(
            config_errors::GIVE_THE_KEYS_SOURCE,
        )),
        false => Ok(Some(name)),
    }
}

/// Where key material was read from: named in every refusal, which never shows the material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// An environment variable: text, so only hex digits can hold a random key there.
    Env(String),
    /// A key file: hex digits, or raw random bytes.
    File(PathBuf),
}

impl KeyOrigin {
    /// The origin as errors name it: the variable or file as written when it reads as a name a
    /// person wrote, else only what it is (the config holds something else there, perhaps
    /// the key itself).
    fn name(&self) -> String {
        match self {
            KeyOrigin::Env(var) if written_variable(var) => format!("environment variable {var}"),
            KeyOrigin::Env(_) => "the environment variable given".to_string(),
            KeyOrigin::File(path) => match config_errors::shown_path(&path.to_string_lossy()) {
                true => format!("key file {}", path.display()),
                false => "the key file given".to_string(),
            },
        }
    }

    /// How to make a key for this origin, naming it as [`KeyOrigin::name`] does.
    fn generate(&self) -> String {
        match self {
            KeyOrigin::Env(var) => {
                let var = if written_variable(var) {
                    var.as_str()
                } else {
                    "VAR"
                };
                format!("`export {var}=$(openssl rand -hex 32)`")
            }
            KeyOrigin::File(path) => {
                let path = config_errors::path_or(path, "path");
                format!("`openssl rand -hex 32 > {path}` or `head -c 32 /dev/urandom > {path}`")
            }
        }
    }

    /// One line: where the material came from, what is accepted, why, and how to make a key.
    fn refusal(&self) -> Error {
        let hex = "64 or more hex digits (256 bits)";
        let accepted = match self {
            KeyOrigin::Env(_) => hex.to_string(),
            KeyOrigin::File(_) => {
                format!("{hex} or at least {MIN_KEY_BYTES} random bytes that are not text")
            }
        };
        Error::Key(format!(
            "{} does not hold a random key: fairmark takes {accepted}, never a passphrase or a shorter key, because the public key id and the tokens would let anyone test guesses of it offline; generate one with {}",
            self.name(),
            self.generate()
        ))
    }
}

/// Whether `var` reads as an environment variable's name a person wrote (`FAIRMARK_KEY`).
fn written_variable(var: &str) -> bool {
    var.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && config_errors::shown(var)
}

/// The secret pseudonymization key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct Key {
    /// The secret's padded blocks, compressed once: keying anew would hash them twice more
    /// per value.
    keyed: PaddedKey,
    id: String,
    /// The whole digest the id is cut from, to tell keys apart where 20 bits could collide.
    digest: String,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    /// A key from its material, as read from `origin`. Only random keys are accepted: 64 or
    /// more hex digits (`openssl rand -hex 32`), or, from a key file, at least 32 raw bytes
    /// that are not UTF-8 text (`head -c 32 /dev/urandom`). Anything else, a passphrase above
    /// all, is refused: the public key id and every token are a hash of the key, so whoever
    /// holds either can test guesses of a passphrase offline, as fast as they can hash. A
    /// memory-hard KDF would only slow that down; a random key rules it out.
    pub fn from_material(material: &[u8], origin: &KeyOrigin) -> Result<Key> {
        let binary_file = matches!(origin, KeyOrigin::File(_))
            && material.len() >= MIN_KEY_BYTES
            && std::str::from_utf8(material).is_err();
        let secret = if binary_file {
            // Raw bytes are used as they are: trimming would drop random bytes that happen to
            // look like whitespace.
            material.to_vec()
        } else {
            decode_hex(trim_ascii(material)).ok_or_else(|| origin.refusal())?
        };
        let digest = Sha256::new_with_prefix(b"fairmark key id v1\0")
            .chain_update(&secret)
            .finalize();
        let digest = hex(&digest);
        Ok(Key {
            keyed: PaddedKey::new(&secret),
            id: format!("k{}", &digest[..5]),
            digest,
        })
    }

    /// Loads the key named by `source`; relative files are resolved against `base_dir`.
    pub fn load(source: &KeySource, base_dir: &Path) -> Result<Key> {
        match (&source.env, &source.file) {
            (Some(var), None) => {
                let origin = KeyOrigin::Env(var.clone());
                let value = std::env::var_os(var).ok_or_else(|| {
                    Error::Key(format!(
                        "{} is not set; export a random key (e.g. {})",
                        origin.name(),
                        origin.generate()
                    ))
                })?;
                Key::from_material(value.as_encoded_bytes(), &origin)
            }
            (None, Some(file)) => {
                let path = base_dir.join(file);
                let origin = KeyOrigin::File(path.clone());
                let material = std::fs::read(&path)
                    .map_err(|e| Error::Key(format!("cannot read {}: {e}", origin.name())))?;
                Key::from_material(&material, &origin)
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

    /// What a plan carries for its token functions on a cluster: this fairmark's version, the
    /// key's id and the whole digest of the key (a hash, as public as the id), never the key.
    /// An executor makes tokens only for a plan whose binding is its own.
    fn binding(&self) -> String {
        format!(
            "fairmark {} key {} {}",
            env!("CARGO_PKG_VERSION"),
            self.id,
            self.digest
        )
    }

    /// The token of `raw` read as an identifier of `class`, or `None` when nothing is left
    /// after normalization (blank cells stay null rather than all sharing one token).
    pub fn token(&self, class: IdentifierClass, raw: &str) -> Option<String> {
        let mut token = String::new();
        self.write_token(class, raw, &mut token).then_some(token)
    }

    /// Appends the token of `raw` to `out` (see [`Key::token`]); false, with nothing written,
    /// when nothing is left after normalization. The UDFs write tokens straight into their
    /// output buffer this way.
    pub fn write_token(&self, class: IdentifierClass, raw: &str, out: &mut String) -> bool {
        thread_local! {
            // The normalized value, reused by every token a thread makes.
            static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let tag = SCRATCH.with_borrow_mut(|scratch| {
            let normalized = class.normalized(raw, scratch)?;
            Some(
                self.keyed
                    .tag(&[class.domain().as_bytes(), &[0], normalized.as_bytes()]),
            )
        });
        let Some(tag) = tag else {
            return false;
        };
        out.push_str(&self.id);
        out.push('_');
        let encoded = base32_token(
            tag[..TOKEN_HMAC_BYTES]
                .try_into()
                .expect("a tag has 32 bytes"),
        );
        out.push_str(std::str::from_utf8(&encoded).expect("base32 is ASCII"));
        true
    }
}

/// HMAC-SHA256 (RFC 2104) with the key's two padded blocks compressed once, when the key is
/// loaded: a token then costs the compressions of its own message and of the inner digest,
/// two SHA-256 blocks for every identifier shorter than 48 bytes, and nothing else. The
/// `hmac` crate's cloned state gives the same bytes (a property test compares them) but
/// spends about as long again copying and buffering as compressing.
#[derive(Clone)]
struct PaddedKey {
    /// The SHA-256 state after the key XOR ipad block.
    inner: [u32; 8],
    /// The SHA-256 state after the key XOR opad block.
    outer: [u32; 8],
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const SHA256_BLOCK: usize = 64;

impl PaddedKey {
    fn new(secret: &[u8]) -> PaddedKey {
        // A key longer than a block is hashed first, as RFC 2104 says.
        let mut block = [0u8; SHA256_BLOCK];
        if secret.len() > SHA256_BLOCK {
            block[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            block[..secret.len()].copy_from_slice(secret);
        }
        let padded = |pad: u8| {
            let mut state = SHA256_INITIAL;
            sha2::compress256(&mut state, &[block.map(|b| b ^ pad).into()]);
            state
        };
        PaddedKey {
            inner: padded(0x36),
            outer: padded(0x5c),
        }
    }

    /// The HMAC of the concatenation of `parts`.
    fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let inner = finish_sha256(self.inner, parts);
        // The outer message is the inner digest, 32 bytes: one block whose padding and length
        // never change.
        let mut block = OUTER_BLOCK;
        block[..32].copy_from_slice(&inner);
        let mut state = self.outer;
        sha2::compress256(&mut state, &[block.into()]);
        digest_of(state)
    }
}

/// The outer hash's last block: room for the inner digest, then its padding and the length in
/// bits of the key block and the digest.
const OUTER_BLOCK: [u8; SHA256_BLOCK] = {
    let mut block = [0u8; SHA256_BLOCK];
    block[32] = 0x80;
    let bits = ((SHA256_BLOCK + 32) as u64 * 8).to_be_bytes();
    let mut i = 0;
    while i < 8 {
        block[SHA256_BLOCK - 8 + i] = bits[i];
        i += 1;
    }
    block
};

fn digest_of(state: [u32; 8]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// Completes a SHA-256 whose first block (the padded key) is already in `state`: the message
/// `parts`, then the padding and the length in bits, the key block counted.
fn finish_sha256(mut state: [u32; 8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; SHA256_BLOCK];
    let mut filled = 0;
    let mut length = SHA256_BLOCK as u64;
    for part in parts {
        length += part.len() as u64;
        let mut rest = *part;
        while !rest.is_empty() {
            let taken = rest.len().min(SHA256_BLOCK - filled);
            block[filled..filled + taken].copy_from_slice(&rest[..taken]);
            filled += taken;
            rest = &rest[taken..];
            if filled == SHA256_BLOCK {
                sha2::compress256(&mut state, &[block.into()]);
                filled = 0;
            }
        }
    }
    block[filled] = 0x80;
    block[filled + 1..].fill(0);
    if filled + 1 > SHA256_BLOCK - 8 {
        sha2::compress256(&mut state, &[block.into()]);
        block.fill(0);
    }
    block[SHA256_BLOCK - 8..].copy_from_slice(&(length * 8).to_be_bytes());
    sha2::compress256(&mut state, &[block.into()]);
    digest_of(state)
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

/// RFC 4648 base32, lower case, unpadded, of a tag's first 80 bits: exactly 16 characters,
/// safe in CSV, URLs and file names. The 80 bits are read as one integer and cut into 5-bit
/// groups, because a token is made millions of times a second and a byte-by-byte encoder
/// cost a third as much as a SHA-256 block.
fn base32_token(tag: &[u8; TOKEN_HMAC_BYTES]) -> [u8; TOKEN_CHARACTERS] {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits = [0u8; 16];
    bits[16 - TOKEN_HMAC_BYTES..].copy_from_slice(tag);
    let bits = u128::from_be_bytes(bits);
    std::array::from_fn(|i| ALPHABET[((bits >> (5 * (TOKEN_CHARACTERS - 1 - i))) & 31) as usize])
}

/// `fm_token_<class>(value)`: the pseudonymization UDF, so tokens are computed inside
/// DataFusion plans, batch by batch, in parallel.
#[derive(Debug)]
pub struct TokenUdf {
    name: String,
    /// `None`: a message recipient, whose kind its channel (the second argument) gives.
    class: Option<IdentifierClass>,
    key: Keying,
    /// The binding (see [`Key::binding`]) the plan's tokens are made under.
    binding: String,
    signature: Signature,
}

/// What a token function computes under.
#[derive(Debug)]
enum Keying {
    /// This process's key, whose id is the function's.
    Held(Arc<Key>),
    /// No key: a cluster's scheduler plans with stand-ins and never holds the key.
    StandIn,
    /// A plan made under another key, or by another fairmark build, reached this process (an
    /// executor): the function refuses to make tokens, with `reason`. It fails when it runs
    /// rather than when the plan arrives, because Ballista reports a task's failure to the
    /// audit only then.
    Refused { reason: String },
}

impl PartialEq for TokenUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.binding == other.binding
    }
}
impl Eq for TokenUdf {}
impl std::hash::Hash for TokenUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.binding.hash(state);
    }
}

impl TokenUdf {
    pub fn function_name(class: IdentifierClass) -> String {
        format!("fm_token_{}", class.domain())
    }

    pub fn udf(class: IdentifierClass, key: Arc<Key>) -> ScalarUDF {
        let binding = key.binding();
        Self::function(Some(class), Keying::Held(key), binding)
    }

    /// The name of the UDF that tokenizes message recipients.
    pub const RECIPIENT: &'static str = "fm_token_recipient";

    /// `fm_token_recipient(value, channel)`: e-mail addresses, phone numbers and push device
    /// ids in one column, each tokenized as the kind its channel gives (see
    /// [`IdentifierClass::of_channel`]), so they match the customers' `email`, `phone` and
    /// `device_id` tokens. Null for an unknown channel.
    pub fn recipient_udf(key: Arc<Key>) -> ScalarUDF {
        let binding = key.binding();
        Self::function(None, Keying::Held(key), binding)
    }

    fn function(class: Option<IdentifierClass>, key: Keying, binding: String) -> ScalarUDF {
        let (name, arguments) = match class {
            Some(class) => (Self::function_name(class), 1),
            None => (Self::RECIPIENT.to_string(), 2),
        };
        ScalarUDF::new_from_impl(TokenUdf {
            name,
            class,
            key,
            binding,
            signature: Signature::any(arguments, Volatility::Immutable),
        })
    }

    /// The class a token function's name stands for: `Some(None)` for the recipient function,
    /// `None` for a name that is no token function.
    fn class_named(name: &str) -> Option<Option<IdentifierClass>> {
        if name == Self::RECIPIENT {
            return Some(None);
        }
        IdentifierClass::ALL
            .into_iter()
            .find(|class| Self::function_name(*class) == name)
            .map(Some)
    }
}

/// How a process binds the functions that compute under a secret key (fairmark's pseudonyms),
/// which a plan carries as their name and a binding: public facts about the key (and the build)
/// they compute under, never the key.
pub trait KeyBinding: fmt::Debug + Send + Sync {
    /// The binding `function` computes under, or `None` for a function without a key.
    fn binding_of(&self, function: &ScalarUDF) -> Option<String>;

    /// The function `name` for a plan made under `binding`: computing under this process's own
    /// key (an executor), a stand-in that carries the binding and cannot run (the scheduler),
    /// or, when this process holds another key, one that refuses to run with an error naming
    /// both. An error when `name` is no keyed function or `binding` cannot be read.
    fn bind(&self, name: &str, binding: &str) -> DfResult<Arc<ScalarUDF>>;
}

/// How token functions cross to a cluster: as their name and the key id, bound on arrival to
/// the key this process loaded itself (`Some`: the client and the executors) or to a stand-in
/// that cannot make tokens (`None`: the scheduler).
#[derive(Debug)]
pub struct TokenBinding {
    key: Option<Arc<Key>>,
}

impl TokenBinding {
    pub fn with_key(key: Arc<Key>) -> TokenBinding {
        TokenBinding { key: Some(key) }
    }

    pub fn keyless() -> TokenBinding {
        TokenBinding { key: None }
    }
}

impl KeyBinding for TokenBinding {
    fn binding_of(&self, function: &ScalarUDF) -> Option<String> {
        function
            .inner()
            .downcast_ref::<TokenUdf>()
            .map(|token| token.binding.clone())
    }

    fn bind(&self, name: &str, binding: &str) -> DfResult<Arc<ScalarUDF>> {
        let Some(class) = TokenUdf::class_named(name) else {
            return Err(DataFusionError::Plan(format!(
                "{name} arrived as a keyed function, and fairmark has no keyed function of that name"
            )));
        };
        // "fairmark VERSION key ID DIGEST", as Key::binding writes it.
        let parts: Vec<&str> = binding.split(' ').collect();
        let ["fairmark", version, "key", id, _digest] = parts.as_slice() else {
            return Err(DataFusionError::Plan(format!(
                "{name} arrived with a key binding this fairmark cannot read"
            )));
        };
        let keying = match &self.key {
            Some(key) if key.binding() == binding => Keying::Held(key.clone()),
            Some(key) => Keying::Refused {
                reason: crate::error::key_mismatch(id, version, &key.id, env!("CARGO_PKG_VERSION")),
            },
            None => Keying::StandIn,
        };
        Ok(Arc::new(TokenUdf::function(
            class,
            keying,
            binding.to_string(),
        )))
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
        let key = match &self.key {
            Keying::Held(key) => key,
            Keying::StandIn => {
                return Err(DataFusionError::Execution(format!(
                    "{} cannot make tokens in a process that holds no key; a cluster makes them on its executors",
                    self.name
                )));
            }
            Keying::Refused { reason } => {
                return Err(DataFusionError::Execution(reason.clone()));
            }
        };
        let rows = args.number_rows;
        let text = text_argument(&args.args[0], rows)?;
        let channels = match self.class {
            Some(_) => None,
            None => Some(text_argument(&args.args[1], rows)?),
        };
        let mut tokens = StringBuilder::with_capacity(text.len(), text.len() * 24);
        let mut token = String::with_capacity(32);
        for (row, value) in text.iter().enumerate() {
            let class = match &channels {
                None => self.class,
                Some(channels) => (!channels.is_null(row))
                    .then(|| IdentifierClass::of_channel(channels.value(row)))
                    .flatten(),
            };
            token.clear();
            match value.zip(class) {
                Some((value, class)) if key.write_token(class, value, &mut token) => {
                    tokens.append_value(&token)
                }
                _ => tokens.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(tokens.finish()) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(var: &str) -> KeyOrigin {
        KeyOrigin::Env(var.to_string())
    }

    fn file(path: &str) -> KeyOrigin {
        KeyOrigin::File(PathBuf::from(path))
    }

    fn key(byte: u8) -> Key {
        Key::from_material(hex(&[byte; 32]).as_bytes(), &env("TEST_KEY")).unwrap()
    }

    fn refusal(material: &[u8], origin: &KeyOrigin) -> String {
        Key::from_material(material, origin)
            .unwrap_err()
            .to_string()
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

    /// Tokens are compared across monthly audits, so their bytes are pinned: the expected value
    /// was computed outside fairmark, by Python's `hmac` and `base64.b32encode`.
    #[test]
    fn a_token_is_the_base32_of_an_rfc_2104_hmac_of_the_domain_and_value() {
        assert_eq!(
            key(7).token(IdentifierClass::Phone, "+86 138-0013-8000"),
            Some("k95fa3_zipb6rmg7uxgbcn3".to_string())
        );
        assert_eq!(&base32_token(b"0123456789"), b"gaytemzugu3doobz");
        assert_eq!(&base32_token(&[0xff; 10]), b"7777777777777777");
    }

    /// On a cluster a token function travels as its name and key id: an executor with the
    /// same key computes it, one with another key refuses it, and the scheduler's stand-in
    /// plans like it but cannot make a token.
    #[test]
    fn token_functions_are_bound_to_the_key_of_the_process_they_arrive_at() {
        let client = TokenBinding::with_key(Arc::new(key(7)));
        let phone = TokenUdf::udf(IdentifierClass::Phone, Arc::new(key(7)));
        let id = client.binding_of(&phone).expect("a keyed function");
        assert!(
            id.starts_with(&format!(
                "fairmark {} key {} ",
                env!("CARGO_PKG_VERSION"),
                key(7).id()
            )),
            "{id}"
        );
        assert_eq!(client.binding_of(&crate::pii::PiiMaskUdf::udf()), None);

        let executor = TokenBinding::with_key(Arc::new(key(7)));
        let bound = executor.bind("fm_token_phone", &id).unwrap();
        assert_eq!(bound.as_ref(), &phone);
        let recipient = executor.bind(TokenUdf::RECIPIENT, &id).unwrap();
        assert_eq!(recipient.name(), TokenUdf::RECIPIENT);

        assert!(executor.bind("fm_token_shoe_size", &id).is_err());
        let args = || ScalarFunctionArgs {
            args: vec![ColumnarValue::Scalar("13800138000".into())],
            arg_fields: vec![Arc::new(datafusion::arrow::datatypes::Field::new(
                "v",
                DataType::Utf8,
                true,
            ))],
            number_rows: 1,
            return_field: Arc::new(datafusion::arrow::datatypes::Field::new(
                "t",
                DataType::Utf8,
                true,
            )),
            config_options: Arc::new(Default::default()),
        };
        // The bound function makes the reference token (pinned above, from Python's `hmac`),
        // the same one for the same input, and for every spelling of the same number.
        let tokens = |values: &[&str]| -> Vec<Option<String>> {
            use datafusion::arrow::array::{AsArray, StringArray};
            let input: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
            let out = bound
                .invoke_with_args(ScalarFunctionArgs {
                    args: vec![ColumnarValue::Array(input)],
                    number_rows: values.len(),
                    ..args()
                })
                .unwrap()
                .to_array(values.len())
                .unwrap();
            let out = datafusion::arrow::compute::cast(&out, &DataType::Utf8).unwrap();
            let out = out.as_string::<i32>();
            (0..out.len())
                .map(|i| (!out.is_null(i)).then(|| out.value(i).to_string()))
                .collect()
        };
        let reference = Some("k95fa3_zipb6rmg7uxgbcn3".to_string());
        assert_eq!(
            tokens(&[
                "13800138000",
                "13800138000",
                "+86 138-0013-8000",
                "0086 13800138000"
            ]),
            vec![reference.clone(); 4]
        );
        assert_eq!(
            tokens(&["13800138000"]),
            vec![key(7).token(IdentifierClass::Phone, "13800138000")]
        );

        let other = TokenBinding::with_key(Arc::new(key(8)));
        let refusing = other.bind("fm_token_phone", &id).unwrap();
        let refusal = refusing.invoke_with_args(args()).unwrap_err().to_string();
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            refusal.contains(&crate::error::key_mismatch(
                key(7).id(),
                version,
                key(8).id(),
                version
            )),
            "{refusal}"
        );
        // The same key under another build of fairmark is refused too.
        let other_build = id.replacen(version, "0.0.0-other", 1);
        let refusing = executor.bind("fm_token_phone", &other_build).unwrap();
        assert!(refusing.invoke_with_args(args()).is_err());
        assert!(
            executor.bind("fm_token_phone", "k95fa3").is_err(),
            "not a binding"
        );

        let stand_in = TokenBinding::keyless().bind("fm_token_phone", &id).unwrap();
        assert_eq!(stand_in.as_ref(), &phone, "plans as the keyed function");
        assert!(stand_in.invoke_with_args(args()).is_err());
    }

    #[test]
    fn hex_keys_are_decoded_in_either_case_and_around_whitespace() {
        let lower = Key::from_material("ab".repeat(32).as_bytes(), &env("K")).unwrap();
        let upper = Key::from_material(format!("  {}\n", "AB".repeat(32)).as_bytes(), &file("k"));
        assert_eq!(lower.id(), upper.unwrap().id());
        assert_eq!(lower.id(), key(0xab).id());
        let longer = Key::from_material("ab".repeat(48).as_bytes(), &env("K")).unwrap();
        assert_ne!(longer.id(), lower.id());
        assert!(!format!("{lower:?}").contains("abab"));
    }

    #[test]
    fn binary_key_files_are_used_as_they_are() {
        // Not UTF-8: 0xff never occurs in UTF-8 text.
        let mut random: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(97) | 0x80).collect();
        random[0] = 0xff;
        let from_file = Key::from_material(&random, &file("fairmark.key")).unwrap();
        // Trailing bytes that look like whitespace are key bytes too.
        let mut with_newline = random.clone();
        with_newline.push(b'\n');
        let other = Key::from_material(&with_newline, &file("fairmark.key")).unwrap();
        assert_ne!(from_file.id(), other.id());
        // An environment variable is text: raw bytes there are refused, as are 31 bytes.
        assert!(Key::from_material(&random, &env("K")).is_err());
        assert!(Key::from_material(&random[..31], &file("fairmark.key")).is_err());
    }

    #[test]
    fn passphrases_and_short_keys_are_refused_naming_where_they_came_from() {
        let passphrase = "correct horse battery staple, and a long tail of more words";
        let message = refusal(passphrase.as_bytes(), &env("FAIRMARK_KEY"));
        assert!(
            message.contains("environment variable FAIRMARK_KEY"),
            "{message}"
        );
        assert!(message.contains("openssl rand -hex 32"), "{message}");
        assert!(!message.contains("horse"), "{message}");
        assert_eq!(message.lines().count(), 1);
        // Text of 64+ characters that is not all hex, in a file, is a passphrase too.
        let message = refusal(passphrase.repeat(2).as_bytes(), &file("secrets/fm.key"));
        assert!(message.contains("key file secrets/fm.key"), "{message}");
        assert!(message.contains("head -c 32 /dev/urandom"), "{message}");
        assert!(!message.contains("horse"), "{message}");
        // 62 hex digits (248 bits), an odd count, nothing at all.
        for short_or_odd in [
            "ab".repeat(31),
            format!("{}a", "ab".repeat(32)),
            String::new(),
        ] {
            let message = refusal(short_or_odd.as_bytes(), &env("K"));
            assert!(message.contains("64 or more hex digits"), "{message}");
            assert!(short_or_odd.is_empty() || !message.contains(&short_or_odd));
        }
        // 64 hex digits with a separator, or prefixed with 0x, are not hex keys either.
        assert!(
            Key::from_material(format!("0x{}", "ab".repeat(32)).as_bytes(), &env("K")).is_err()
        );
        let spaced = format!("{} {}", "ab".repeat(16), "ab".repeat(16));
        assert!(Key::from_material(spaced.as_bytes(), &env("K")).is_err());
    }

    #[test]
    fn a_missing_source_is_named_only_as_a_person_would_write_it() {
        let dir = tempfile::tempdir().unwrap();
        let load = |env: Option<&str>, file: Option<&str>| {
            let source = KeySource {
                env: env.map(str::to_string),
                file: file.map(str::to_string),
            };
            Key::load(&source, dir.path()).unwrap_err().to_string()
        };
        let message = load(Some("FAIRMARK_TEST_NEVER_SET"), None);
        assert!(
            message.contains("environment variable FAIRMARK_TEST_NEVER_SET is not set"),
            "{message}"
        );
        let passphrase = "correct horse battery staple";
        let message = load(Some(passphrase), None);
        assert!(
            message.contains("the environment variable given is not set"),
            "{message}"
        );
        assert!(!message.contains("horse"), "{message}");
        let message = load(None, Some("keys/13800138000.key"));
        assert!(
            message.contains("cannot read the key file given"),
            "{message}"
        );
        assert!(!message.contains("13800138000"), "{message}");
        let message = load(None, Some("keys/missing.key"));
        assert!(message.contains("keys/missing.key"), "{message}");
    }

    #[test]
    fn blank_values_get_no_token() {
        assert_eq!(key(1).token(IdentifierClass::Email, "   "), None);
    }

    #[test]
    fn the_channel_decides_the_kind_of_a_recipient() {
        assert_eq!(
            IdentifierClass::of_channel("email"),
            Some(IdentifierClass::Email)
        );
        assert_eq!(
            IdentifierClass::of_channel(" SMS "),
            Some(IdentifierClass::Phone)
        );
        assert_eq!(
            IdentifierClass::of_channel("Push"),
            Some(IdentifierClass::DeviceId)
        );
        assert_eq!(IdentifierClass::of_channel("fax"), None);
        let k = key(5);
        let device = |v| k.token(IdentifierClass::DeviceId, v).unwrap();
        // A device id is trimmed, nothing else: case and punctuation are part of it.
        assert_eq!(device(" Ab-12 "), device("Ab-12"));
        assert_ne!(device("Ab-12"), device("ab-12"));
        assert_ne!(device("A-b12"), device("Ab-12"));
        // A device id made of digits is not a phone number, nor is one containing '@' an address.
        assert_ne!(device("+86 138-0013-8000"), device("13800138000"));
        assert_ne!(
            device("13800138000"),
            k.token(IdentifierClass::Phone, "13800138000").unwrap()
        );
        assert_ne!(device("Dev@Pool"), device("dev@pool"));
    }

    #[tokio::test]
    async fn the_recipient_udf_tokenizes_by_channel() {
        use datafusion::arrow::array::AsArray;
        let k = Arc::new(key(3));
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_udf(TokenUdf::recipient_udf(k.clone()));
        let batches = ctx
            .sql(
                "SELECT fm_token_recipient(r, c) FROM (VALUES \
                 ('Li@Example.cn', 'email'), ('+86 138-0013-8000', 'SMS'), \
                 ('+86 138-0013-8000', 'push'), ('Dev-1', 'push'), ('13800138000', 'fax'), \
                 (NULL, 'sms')) AS t(r, c)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let tokens: Vec<Option<String>> = batches
            .iter()
            .flat_map(|b| {
                let column =
                    datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
                let text = column.as_string::<i32>().clone();
                (0..text.len())
                    .map(|i| (!text.is_null(i)).then(|| text.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            tokens,
            vec![
                k.token(IdentifierClass::Email, "li@example.cn"),
                k.token(IdentifierClass::Phone, "13800138000"),
                k.token(IdentifierClass::DeviceId, "+86 138-0013-8000"),
                k.token(IdentifierClass::DeviceId, "Dev-1"),
                None,
                None,
            ]
        );
    }

    /// Found by the `normalize` fuzz target: the digits of a number written without `+` began
    /// with `001` and a 10-digit number, which a second pass read as an international prefix.
    #[test]
    fn a_prefix_left_after_normalizing_is_stripped_in_the_same_pass() {
        let once = IdentifierClass::Phone.normalize("0-010022868622").unwrap();
        assert_eq!(once, "0022868622");
        assert_eq!(IdentifierClass::Phone.normalize(&once).unwrap(), once);
    }

    proptest! {
        #[test]
        fn padded_key_tags_are_rfc_2104_hmac(
            secret in proptest::collection::vec(any::<u8>(), 0..150),
            message in proptest::collection::vec(any::<u8>(), 0..200),
            split in 0usize..200,
        ) {
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret).expect("any key length");
            mac.update(&message);
            let (head, tail) = message.split_at(split.min(message.len()));
            prop_assert_eq!(
                PaddedKey::new(&secret).tag(&[head, tail]),
                <[u8; 32]>::from(mac.finalize().into_bytes())
            );
        }
    }

    proptest! {
        #[test]
        fn phone_normalization_is_idempotent(raw in "[+0 ]{0,3}[0-9 ()+-]{0,20}") {
            if let Some(once) = IdentifierClass::Phone.normalize(&raw) {
                prop_assert_eq!(IdentifierClass::Phone.normalize(&once), Some(once));
            }
        }

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

        #[test]
        fn only_hex_or_binary_files_make_keys(material in proptest::collection::vec(any::<u8>(), 0..100)) {
            let is_hex = {
                let t = trim_ascii(&material);
                t.len() >= 64 && t.len().is_multiple_of(2) && t.iter().all(u8::is_ascii_hexdigit)
            };
            let binary = material.len() >= 32 && std::str::from_utf8(&material).is_err();
            prop_assert_eq!(Key::from_material(&material, &env("K")).is_ok(), is_hex);
            prop_assert_eq!(Key::from_material(&material, &file("k")).is_ok(), is_hex || binary);
        }
    }
}
