//! HMAC-SHA256 over a key compressed once, and the base32 text of a tag: the arithmetic of a
//! token, checked against the `hmac` crate and Python's `hmac` in the tests.

use sha2::{Digest, Sha256};

pub(super) const TOKEN_HMAC_BYTES: usize = 10;
/// Base32 characters of those bytes.
pub(super) const TOKEN_CHARACTERS: usize = TOKEN_HMAC_BYTES * 8 / 5;

/// HMAC-SHA256 (RFC 2104) with the key's two padded blocks compressed once, when the key is
/// loaded: a token then costs the compressions of its own message and of the inner digest,
/// two SHA-256 blocks for every identifier shorter than 48 bytes, and nothing else. The
/// `hmac` crate's cloned state gives the same bytes (a property test compares them) but
/// spends about as long again copying and buffering as compressing.
#[derive(Clone)]
pub(super) struct PaddedKey {
    /// The SHA-256 state after the key XOR ipad block.
    inner: [u32; 8],
    /// The SHA-256 state after the key XOR opad block.
    outer: [u32; 8],
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
pub(super) const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

pub(super) const SHA256_BLOCK: usize = 64;

impl PaddedKey {
    pub(super) fn new(secret: &[u8]) -> PaddedKey {
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
    pub(super) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
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
pub(super) const OUTER_BLOCK: [u8; SHA256_BLOCK] = {
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

pub(super) fn digest_of(state: [u32; 8]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// Completes a SHA-256 whose first block (the padded key) is already in `state`: the message
/// `parts`, then the padding and the length in bits, the key block counted.
pub(super) fn finish_sha256(mut state: [u32; 8], parts: &[&[u8]]) -> [u8; 32] {
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

/// RFC 4648 base32, lower case, unpadded, of a tag's first 80 bits: exactly 16 characters,
/// safe in CSV, URLs and file names. The 80 bits are read as one integer and cut into 5-bit
/// groups, because a token is made millions of times a second and a byte-by-byte encoder
/// cost a third as much as a SHA-256 block.
pub(super) fn base32_token(tag: &[u8; TOKEN_HMAC_BYTES]) -> [u8; TOKEN_CHARACTERS] {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits = [0u8; 16];
    bits[16 - TOKEN_HMAC_BYTES..].copy_from_slice(tag);
    let bits = u128::from_be_bytes(bits);
    std::array::from_fn(|i| ALPHABET[((bits >> (5 * (TOKEN_CHARACTERS - 1 - i))) & 31) as usize])
}
