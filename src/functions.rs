//! Every scalar function fairmark adds to DataFusion, as the one list the engine is opened with.
//! Each function lives beside what it computes (tokens in [`crate::pseudonym`], generalization in
//! [`crate::segment::generalize`], local time and deadlines in [`crate::mail_time`], the PII
//! mask in [`crate::pii`]); this module sits above them and the engine, so that the modules
//! that query the engine can give it their functions without the engine importing them (it
//! knows only `pseudonym`, which is below it: the key's binding travels to a cluster).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

use crate::engine::Functions;
use crate::mail_time::{BusinessDeadlineUdf, LocalMinuteUdf};
use crate::pii::PiiMaskUdf;
use crate::pseudonym::{IdentifierClass, Key, TokenBinding, TokenUdf};
use crate::segment::generalize::GeneralizeUdf;

/// The functions every plan may call; the token functions compute under `key`.
pub fn all(key: Arc<Key>) -> Functions {
    let mut scalar: Vec<ScalarUDF> = IdentifierClass::ALL
        .into_iter()
        .map(|class| TokenUdf::udf(class, key.clone()))
        .collect();
    scalar.push(TokenUdf::recipient_udf(key.clone()));
    scalar.extend(keyless());
    Functions {
        scalar,
        keys: Arc::new(TokenBinding::with_key(key)),
    }
}

/// The functions that compute without a key: what a cluster's scheduler and executors find
/// by name (the token functions are bound to each executor's own key instead).
pub fn keyless() -> Vec<ScalarUDF> {
    vec![
        GeneralizeUdf::udf(),
        LocalMinuteUdf::udf(),
        BusinessDeadlineUdf::udf(),
        PiiMaskUdf::udf(),
    ]
}
