//! The pseudonymization UDFs (`fm_token_<class>`, `fm_token_recipient`) and how a keyed
//! function travels to a cluster: as its name and key id, bound again to the key of the
//! process it arrives at.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::key::Key;
use super::normalize::IdentifierClass;
use crate::udf_args::text_argument;

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
