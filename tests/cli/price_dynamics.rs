//! Legal price dynamics are not accusations. A generated shop moves its prices for everyone —
//! a daily flash sale at 20:00, a general rise one afternoon, a first-order coupon (seen only in
//! the paid price), a cohort-blind A/B test — while new customers shop in the sale hour far
//! more often than long-standing ones. No pricing check may flag it; the same shop with +5%
//! for long-standing customers on three SKUs must be flagged on exactly those three.

use std::fmt::Write;
use std::path::Path;

use fairmark::stats::SplitMix;

use super::support::{fairmark, report_json};

const CUSTOMERS: usize = 2500;
const DAYS: u64 = 240;
const SKUS: usize = 40;
/// The day and hour the shop raises every price by 8%.
const RISE: (u64, u64) = (120, 14);
const SALE_HOUR: u64 = 20;
/// The SKUs whose price is an A/B test: ±5% by a coin flip per order line, whoever buys.
const TESTED_SKUS: usize = 4;

struct Draws(SplitMix);

impl Draws {
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Writes the shop into `dir`: customers.csv, orders.csv, a key and fairmark.toml. Long-standing
/// customers pay `surcharge` more on SKUs S000–S002.
fn shop(dir: &Path, seed: u64, surcharge: f64) {
    let mut draw = Draws(SplitMix::new(seed));
    let base: Vec<f64> = (0..SKUS)
        .map(|_| 20.0 + draw.below(28_000) as f64 / 100.0)
        .collect();
    let mut customers = String::from("uid,registered_at,os\n");
    let mut orders = String::from("txn_id,uid,sku,ordered_at,offered,paid\n");
    let mut line = 0;
    for c in 0..CUSTOMERS {
        let long_standing = draw.chance(0.5);
        // Days from 2025-01-01: long-standing customers joined one to four years before.
        let joined: i64 = if long_standing {
            -400 - draw.below(1100) as i64
        } else {
            draw.below(200) as i64
        };
        let os = if draw.chance(0.5) { "iOS" } else { "Android" };
        let _ = writeln!(customers, "C{c},{},{os}", day_text(joined, 0, 0));
        let mut first_order = true;
        for _ in 0..3 + draw.below(20) {
            let day = draw.below(DAYS) as i64;
            if day < joined {
                continue;
            }
            let newcomer = day - joined <= 30;
            let hour = if draw.chance(if newcomer { 0.4 } else { 0.05 }) {
                SALE_HOUR
            } else {
                9 + draw.below(10)
            };
            let minute = draw.below(60);
            for _ in 0..1 + draw.below(3) {
                let sku = draw.below(SKUS as u64) as usize;
                let mut price = base[sku];
                if (day as u64, hour) >= RISE {
                    price *= 1.08;
                }
                if hour == SALE_HOUR {
                    price *= 0.8;
                }
                if sku >= SKUS - TESTED_SKUS {
                    price *= if draw.chance(0.5) { 1.05 } else { 0.95 };
                }
                if !newcomer && day - joined > 365 && sku < 3 {
                    price *= 1.0 + surcharge;
                }
                let offered = (price * 100.0).round() / 100.0;
                let paid = if first_order { offered * 0.9 } else { offered };
                line += 1;
                let _ = writeln!(
                    orders,
                    "O{line},C{c},S{sku:03},{},{offered:.2},{paid:.2}",
                    day_text(day, hour, minute)
                );
            }
            first_order = false;
        }
    }
    std::fs::write(dir.join("customers.csv"), customers).unwrap();
    std::fs::write(dir.join("orders.csv"), orders).unwrap();
    std::fs::write(dir.join("shop.key"), "5".repeat(64)).unwrap();
    std::fs::write(
        dir.join("fairmark.toml"),
        r#"policies = ["cn"]
key = { file = "shop.key" }

[datasets.customers]
path = "customers.csv"
id = "uid"
signup_at = "registered_at"
attributes = ["os"]

[datasets.orders]
path = "orders.csv"
id = "txn_id"
customer = "uid"
sku = "sku"
ordered_at = "ordered_at"
offered_price = "offered"
paid_price = "paid"
"#,
    )
    .unwrap();
}

/// `day` days after 2025-01-01 at `hour:minute`, as ISO 8601.
fn day_text(day: i64, hour: u64, minute: u64) -> String {
    let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(day);
    format!("{date}T{hour:02}:{minute:02}:00")
}

/// The pricing findings of an audit of the shop: (check, SKU) of each, info lines left out.
fn pricing_findings(surcharge: f64) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path(), 11, surcharge);
    let out = dir.path().join("out");
    let output = fairmark()
        .args(["audit", "--today", "2026-12-01", "--config"])
        .arg(dir.path().join("fairmark.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c < 2), "{output:?}");
    let report = report_json(&out);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("pricing.") && f["severity"] != "info")
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"]["sku"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_flash_sale_a_price_rise_a_coupon_and_an_ab_test_are_not_accusations() {
    assert_eq!(pricing_findings(0.0), Vec::<(String, String)>::new());
}

#[test]
fn an_overcharge_during_the_same_dynamics_is_found_on_exactly_its_skus() {
    let found = pricing_findings(0.05);
    let expected: Vec<(String, String)> = ["S000", "S001", "S002"]
        .iter()
        .map(|sku| ("pricing.tenure-overcharge".to_string(), sku.to_string()))
        .collect();
    assert_eq!(found, expected);
}
