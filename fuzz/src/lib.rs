//! What several fuzz targets share.

use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The attributes the `rules` and `condition` targets treat as known: fairmark's derived ones
/// and the customer and order columns a typical config maps.
pub static KNOWN_ATTRIBUTES: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    [
        "tenure_days",
        "is_new",
        "order_count",
        "total_spend",
        "days_since_last_order",
        "channel",
        "device_os",
        "gender",
        "price_sensitivity",
        "quantity",
        "sku",
        "category",
    ]
    .into_iter()
    .map(String::from)
    .collect()
});
