//! Keyed pseudonyms: HMAC-SHA256 over a normalized identifier, under a secret key that is
//! kept apart from the data (GDPR Art. 4(5), PIPL Art. 73, GB/T 37964). A plain hash of a
//! phone number is reversible by enumerating the 10^10 possible numbers; a keyed one is not.
//!
//! A token is `<key id>_<16 base32 characters>`: the key id (derived from the key, never the
//! key) tells which key made it; 80 bits of HMAC keep collisions out of reach for billions
//! of identifiers. Same value and key give the same token in every table and run, so
//! pseudonymized tables still join; another key gives unrelated tokens.
//!
//! Here: the public names and the tests of the whole. Beside it: the key, its loading and its
//! id ([`key`]), the HMAC and the base32 of a tag ([`keyed_hash`]), what an identifier is and
//! how it is normalized ([`normalize`]), and the UDFs with their binding on a cluster ([`udf`]).

mod key;
mod keyed_hash;
mod normalize;
mod udf;

pub use key::{Key, KeyOrigin, KeySource, MIN_KEY_BYTES, hex};
pub use normalize::IdentifierClass;
pub use udf::{KeyBinding, TokenBinding, TokenUdf};

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, ArrayRef};
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
    use proptest::prelude::*;
    use sha2::Sha256;

    use super::key::trim_ascii;
    use super::keyed_hash::{PaddedKey, base32_token};
    use super::*;

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
