//! The key: where it comes from (`fairmark.toml`'s `key = { env | file }`), what material is
//! accepted (random bytes only), its public id, and the token of an identifier under it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::keyed_hash::{PaddedKey, TOKEN_HMAC_BYTES, base32_token};
use super::normalize::IdentifierClass;
use crate::config_errors;
use crate::error::{Error, Result};

/// Keys of fewer random bytes are refused: HMAC's strength is bounded by the key's entropy.
pub const MIN_KEY_BYTES: usize = 32;

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
    pub(super) id: String,
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
    pub(super) fn binding(&self) -> String {
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

pub(super) fn trim_ascii(bytes: &[u8]) -> &[u8] {
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

pub(super) fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
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
