//! The built-in demo data set: synthetic but realistic customers (Chinese and English names,
//! mainland mobile numbers in several spellings, emails, resident ID numbers with valid
//! checksums, a skewed city distribution, free-text notes that sometimes carry a phone number)
//! and a year of orders with a realistic price structure (seasonal drift, promotions, channel,
//! quantity and member discounts, coupons). Seeded: the same seed gives the same bytes.
//!
//! Tests build their fixtures with the same generator, at a smaller size.

mod rng;
pub mod serve;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::pii::resident_id_check_char;
use crate::pseudonym::hex;
pub use rng::Rng;

/// The first and last day of the demo's order history.
pub const FIRST_DAY: (i32, u32, u32) = (2025, 11, 1);
pub const DAYS: i64 = 365;

/// SKUs where the demo plants "big-data killing": long-tenure customers are offered 5%, 10% and
/// 15% more on two days in three.
pub const TENURE_OVERCHARGE_SKUS: [(&str, f64); 3] =
    [("SKU10000", 0.05), ("SKU10001", 0.10), ("SKU10002", 0.15)];
/// SKUs where iOS orders are offered 6% more.
pub const IOS_SURCHARGE_SKUS: [&str; 2] = ["SKU10005", "SKU10006"];
/// The SKU where the demo plants a surcharge on habit: customers who buy often (and have for
/// over a year) are offered 8% more.
pub const FREQUENCY_OVERCHARGE_SKU: &str = "SKU10007";
/// The SKU where a scenario may plant a 6% surcharge for women.
pub const GENDER_SURCHARGE_SKU: &str = "SKU10008";
/// SKUs under a cohort-blind random price test (±5%, a coin flip per order).
pub const PRICE_TEST_SKUS: [&str; 2] = ["SKU10003", "SKU10004"];
/// The days (offsets into the year) of the clustered price test: four running, in spring.
pub const CLUSTERED_TEST_DAYS: std::ops::Range<i64> = 150..154;
/// The first this many SKUs take most of the traffic, as bestsellers do.
const BESTSELLERS: usize = 12;

/// Legitimate price structure that differs between cohorts without any unfairness. Each is a
/// trap for a naive comparison of old and new customers; fairmark must not fall into any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confounders {
    /// Seasonal drift and the 618 / Double-11 promotions, when new customers are acquired.
    pub price_drift: bool,
    /// −5% from three units; new customers buy in bulk more often.
    pub quantity_tiers: bool,
    /// −2% in the app, −3% paying by card; new customers pay by card more often.
    pub payment_discount: bool,
    /// −3% for members; new customers get a trial membership.
    pub member_discount: bool,
    /// Coupons the customer applies (welcome coupons for new customers): paid, not offered, price.
    pub coupons: bool,
    /// A cohort-blind random price test on two SKUs.
    pub price_test: bool,
    /// A cohort-blind random price test on every SKU, ±8% by a coin flip per order, on four
    /// days only: a cluster of large gaps in both directions that is not an episode.
    pub clustered_price_test: bool,
}

impl Confounders {
    pub const ALL: Confounders = Confounders {
        price_drift: true,
        quantity_tiers: true,
        payment_discount: true,
        member_discount: true,
        coupons: true,
        price_test: true,
        clustered_price_test: true,
    };
    pub const NONE: Confounders = Confounders {
        price_drift: false,
        quantity_tiers: false,
        payment_discount: false,
        member_discount: false,
        coupons: false,
        price_test: false,
        clustered_price_test: false,
    };
}

/// On which days a planted tenure surcharge applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurchargeDays {
    Every,
    /// Two days in three: the demo's.
    TwoInThree,
    /// One day in five, the others at the new customers' price: overcharging that comes and
    /// goes, which an average over the whole period hides.
    OneInFive,
}

impl SurchargeDays {
    pub fn applies(self, day_index: i64) -> bool {
        match self {
            SurchargeDays::Every => true,
            SurchargeDays::TwoInThree => day_index % 3 != 0,
            SurchargeDays::OneInFive => day_index % 5 == 2,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    pub customers: usize,
    pub seed: u64,
    /// SKUs where long-tenure customers are offered more, and how much more.
    pub tenure_surcharges: &'static [(&'static str, f64)],
    /// On which days the tenure surcharge applies.
    pub surcharge_days: SurchargeDays,
    /// The one channel the tenure surcharge applies in, if it is confined to one.
    pub surcharge_channel: Option<&'static str>,
    pub plant_ios_surcharge: bool,
    /// Frequent buyers offered 8% more on [`FREQUENCY_OVERCHARGE_SKU`].
    pub plant_frequency_surcharge: bool,
    /// Women offered 6% more on [`GENDER_SURCHARGE_SKU`].
    pub plant_gender_surcharge: bool,
    pub confounders: Confounders,
    /// How much data beyond the customers: the demo's natural volume unless a bench asks for more.
    pub volume: Volume,
}

/// The volume of orders and messages to generate, for benches at a chosen size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Volume {
    /// Purchases per customer relative to the demo's habits (1.0: about
    /// [`NATURAL_LINES_PER_CUSTOMER`] order lines per customer).
    pub order_density: f64,
    /// At least this many marketing messages in all: beyond the five campaigns, a consented
    /// newsletter to e-mail subscribers at an even cadence makes up the rest.
    pub min_messages: usize,
}

impl Volume {
    pub const NATURAL: Volume = Volume {
        order_density: 1.0,
        min_messages: 0,
    };

    /// The volume that gives about `order_lines` order lines and at least `messages` messages
    /// for `customers` customers (`None`: the natural volume).
    pub fn about(customers: usize, order_lines: Option<u64>, messages: Option<u64>) -> Volume {
        Volume {
            order_density: order_lines.map_or(1.0, |lines| {
                lines as f64 / (customers.max(1) as f64 * NATURAL_LINES_PER_CUSTOMER)
            }),
            min_messages: messages.unwrap_or(0) as usize,
        }
    }
}

/// Order lines per customer the demo's habits give, measured at a million customers
/// (11,416,840 lines).
pub const NATURAL_LINES_PER_CUSTOMER: f64 = 11.42;

impl Scenario {
    /// The demo: every confounder, and both planted overcharges.
    pub fn demo(customers: usize, seed: u64) -> Scenario {
        Scenario {
            customers,
            seed,
            tenure_surcharges: &TENURE_OVERCHARGE_SKUS,
            surcharge_days: SurchargeDays::TwoInThree,
            surcharge_channel: None,
            plant_ios_surcharge: true,
            plant_frequency_surcharge: true,
            plant_gender_surcharge: false,
            confounders: Confounders::ALL,
            volume: Volume::NATURAL,
        }
    }

    /// Nothing planted, only the given confounders: a fair shop.
    pub fn fair(customers: usize, seed: u64, confounders: Confounders) -> Scenario {
        Scenario {
            customers,
            seed,
            tenure_surcharges: &[],
            surcharge_days: SurchargeDays::TwoInThree,
            surcharge_channel: None,
            plant_ios_surcharge: false,
            plant_frequency_surcharge: false,
            plant_gender_surcharge: false,
            confounders,
            volume: Volume::NATURAL,
        }
    }
}

/// What `generate` wrote.
#[derive(Debug, Clone)]
pub struct DemoData {
    pub config: PathBuf,
    pub customers_csv: PathBuf,
    pub orders_parquet: PathBuf,
    pub key_file: PathBuf,
    pub rules_file: PathBuf,
    pub customers: usize,
    pub order_lines: usize,
    pub mail_sends: usize,
}

/// One generated customer, raw identifiers included (they go to `customers.csv` only).
#[derive(Debug, Clone)]
pub struct Customer {
    pub uid: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub national_id: String,
    pub birth_year: i32,
    pub gender: &'static str,
    pub city: &'static str,
    pub os: &'static str,
    pub vip: bool,
    pub registered_at: NaiveDateTime,
    pub notes: String,
    /// How much a model would say this customer cares about price (0–1): a profiling score.
    pub price_sensitivity: f64,
    /// Registration day relative to the first day of the order history.
    signup_day: i64,
    habit: Habit,
}

const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("高", "gao"),
    ("罗", "luo"),
];
const GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("子涵", "zihan"),
    ("欣怡", "xinyi"),
    ("浩然", "haoran"),
    ("宇轩", "yuxuan"),
];
const FIRST_NAMES: &[&str] = &[
    "James", "Emma", "Oliver", "Sophia", "Lucas", "Mia", "Daniel", "Grace", "Ethan", "Chloe",
    "Ryan", "Hannah",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Walker", "Young",
];
const MAIL_DOMAINS: &[&str] = &[
    "example.cn",
    "example.com",
    "example.net",
    "mail.example.org",
];

/// (city, weight, resident-ID region code). Big cities dominate; a long tail of small ones
/// is what generalization to regions is for.
const CITIES: &[(&str, f64, &str)] = &[
    ("上海", 18.0, "310101"),
    ("北京", 15.0, "110105"),
    ("广州", 10.0, "440106"),
    ("深圳", 10.0, "440305"),
    ("杭州", 7.0, "330106"),
    ("成都", 6.0, "510104"),
    ("武汉", 5.0, "420102"),
    ("南京", 4.0, "320102"),
    ("西安", 3.0, "610113"),
    ("重庆", 3.0, "500103"),
    ("苏州", 3.0, "320505"),
    ("天津", 2.5, "120101"),
    ("长沙", 2.0, "430102"),
    ("郑州", 2.0, "410102"),
    ("青岛", 1.5, "370202"),
    ("沈阳", 1.2, "210102"),
    ("昆明", 1.0, "530102"),
    ("哈尔滨", 0.8, "230102"),
    ("嘉兴", 0.6, "330402"),
    ("绍兴", 0.5, "330602"),
    ("桂林", 0.4, "450302"),
    ("大理", 0.3, "532901"),
    ("喀什", 0.2, "653101"),
    ("三亚", 0.3, "460202"),
    ("拉萨", 0.2, "540102"),
    ("延边", 0.2, "222401"),
];
const OPERATING_SYSTEMS: &[(&str, f64)] = &[("iOS", 45.0), ("Android", 52.0), ("HarmonyOS", 3.0)];
const BENIGN_NOTES: &[&str] = &[
    "prefers weekend delivery",
    "送货前请电话联系",
    "gift wrap requested",
    "老客户，注意包装",
    "address changed in March",
    "asked about invoice",
    "VIP 专属客服跟进",
    "returned one item, size issue",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Habit {
    Frequent,
    Periodic(i64),
    Occasional,
    OneOff,
    Churned,
    New,
    Prospect,
}

const CATEGORIES: &[(&str, f64, f64)] = &[
    // (category, median list price, spread)
    ("electronics", 899.0, 0.8),
    ("apparel", 199.0, 0.5),
    ("grocery", 39.0, 0.6),
    ("beauty", 159.0, 0.5),
    ("home", 129.0, 0.7),
];

struct Sku {
    code: String,
    category: &'static str,
    base_price: f64,
    phase: f64,
}

/// Writes the demo data set, its pricing rules and its `fairmark.toml` into `dir`.
pub fn generate(dir: &Path, scenario: &Scenario) -> Result<DemoData> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut rng = Rng::new(scenario.seed);
    let first_day =
        NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).expect("valid date");
    let people: Vec<Customer> = (0..scenario.customers)
        .map(|i| customer(&mut rng, i, first_day, scenario))
        .collect();
    let skus: Vec<Sku> = (0..240)
        .map(|i| {
            let (category, median, spread) = CATEGORIES[i % CATEGORIES.len()];
            Sku {
                code: format!("SKU{:05}", 10_000 + i),
                category,
                base_price: round2(median * (spread * rng.normal()).exp()).max(1.0),
                phase: rng.unit() * std::f64::consts::TAU,
            }
        })
        .collect();

    let customers_csv = dir.join("customers.csv");
    write_customers_csv(&customers_csv, &people)?;
    let orders_parquet = dir.join("orders.parquet");
    let order_lines = write_orders(
        &orders_parquet,
        &people,
        &skus,
        &mut rng,
        first_day,
        scenario,
    )?;
    let key_file = dir.join("demo.key");
    std::fs::write(&key_file, format!("{}\n", demo_key(scenario.seed)))
        .map_err(|e| Error::io(&key_file, e))?;
    let mail_sends = write_mail(
        dir,
        &people,
        &mut rng,
        first_day,
        scenario.volume.min_messages,
    )?;
    let rules_file = dir.join("rules.toml");
    std::fs::write(&rules_file, DEMO_RULES).map_err(|e| Error::io(&rules_file, e))?;
    let config = dir.join("fairmark.toml");
    std::fs::write(&config, DEMO_CONFIG).map_err(|e| Error::io(&config, e))?;
    Ok(DemoData {
        config,
        customers_csv,
        orders_parquet,
        key_file,
        rules_file,
        customers: scenario.customers,
        order_lines,
        mail_sends,
    })
}

/// The demo's throw-away key: 64 hex digits, the only text form of key fairmark accepts, derived
/// from the seed so that a demo run is reproducible. It protects nothing: the seed is public.
fn demo_key(seed: u64) -> String {
    hex(&Sha256::digest(
        format!("fairmark demo key {seed}").as_bytes(),
    ))
}

/// The demo's config: also the README's worked example.
pub const DEMO_CONFIG: &str = r#"# Generated by `fairmark demo`: synthetic customers, a year of orders, marketing messages.
policies = ["cn"]
key = { file = "demo.key" }    # a throw-away key for synthetic data; use { env = "FAIRMARK_KEY" } for real data
pricing_rules = "rules.toml"

[datasets.customers]
path = "customers.csv"
id = "uid"
signup_at = "registered_at"
# table column = what kind of identifier it holds
identifiers = { name = "name", phone = "phone", email = "email", national_id = "national_id" }
quasi_identifiers = { birth_year = "birth_year", gender = "gender", city = "city" }
attributes = ["os", "vip", "price_sensitivity"]

[datasets.orders]
path = "orders.parquet"
id = "txn_id"
customer = "uid"
sku = "item_code"
category = "category"
ordered_at = "ordered_at"
device_os = "device_os"
quantity = "qty"
list_price = "list_unit_price"
offered_price = "offered_unit_price"
paid_price = "paid_unit_price"
conditions = ["channel", "pay_method", "qty", "member"]

[datasets.mail_sends]
path = "sends.parquet"
id = "message_id"
recipient = "recipient"
channel = "channel"
campaign = "campaign"
sent_at = "sent_at"
has_unsubscribe = "has_unsubscribe"
one_click_unsubscribe = "list_unsubscribe_post"
sender_id = "sender"

[datasets.consents]
path = "consents.csv"
recipient = "recipient"
channel = "channel"
action = "action"
at = "at"
actions = { opt_in = ["subscribe", "opt_in"], opt_out = ["unsubscribe", "opt_out", "TD"] }
"#;

/// The demo's pricing rules: four legitimate ones (trading conditions, disclosed) and three
/// that discriminate.
pub const DEMO_RULES: &str = r#"# Generated by `fairmark demo`: the shop's pricing rules, applied in this order.

[[rule]]
id = "app-channel"
description = "App orders get 2% off"
when = "channel = 'app'"
adjust = "-2%"
disclosed = true

[[rule]]
id = "card-promo"
description = "Bank card promotion"
when = "pay_method = 'card'"
adjust = "-3%"
disclosed = true

[[rule]]
id = "bulk-tier"
description = "Three or more units"
when = "quantity >= 3"
adjust = "-5%"
disclosed = true

[[rule]]
id = "member-price"
description = "Members' price"
when = "member"
adjust = "-3%"
disclosed = true

[[rule]]
id = "loyal-uplift"
description = "Regulars are less price sensitive"
when = "tenure_days > 365 AND price_sensitivity < 0.3"
adjust = "+8%"
scope = { category = ["electronics"] }

[[rule]]
id = "ios-premium"
description = "iPhone users can afford more"
when = "device_os = 'iOS'"
adjust = "+5%"

[[rule]]
id = "welcome-offer"
description = "Win new customers"
when = "is_new"
adjust = "-10%"
"#;

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn promotion_day(day: NaiveDate) -> bool {
    matches!((day.month(), day.day()), (6, 1..=18) | (11, 1..=11))
}

fn customer(rng: &mut Rng, index: usize, first_day: NaiveDate, scenario: &Scenario) -> Customer {
    let chinese = rng.chance(0.8);
    let (name, mailbox) = if chinese {
        let (surname, surname_pinyin) = rng.pick(SURNAMES);
        let (given, given_pinyin) = rng.pick(GIVEN);
        (
            format!("{surname}{given}"),
            format!("{given_pinyin}.{surname_pinyin}"),
        )
    } else {
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        (
            format!("{first} {last}"),
            format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
        )
    };
    let email = format!(
        "{mailbox}{}@{}",
        rng.between(1, 9999),
        rng.pick(MAIL_DOMAINS)
    );
    let mobile = other_mobile(rng);
    let phone = match rng.below(10) {
        0..=2 => format!("{}-{}-{}", &mobile[..3], &mobile[3..7], &mobile[7..]),
        3 => format!("+86 {mobile}"),
        _ => mobile.clone(),
    };
    let (city, _, region_code) =
        *rng.weighted(&CITIES.iter().map(|c| (*c, c.1)).collect::<Vec<_>>());
    let birth_year = (1990.0 + 11.0 * rng.normal()).round().clamp(1950.0, 2007.0) as i32;
    let female = rng.chance(0.55);
    let birth_day = NaiveDate::from_ymd_opt(birth_year, 1, 1).expect("valid year")
        + Duration::days(rng.below(365) as i64);
    let sequence = rng.below(500) * 2 + u64::from(!female);
    let first17 = format!("{region_code}{}{sequence:03}", birth_day.format("%Y%m%d"));
    let national_id = format!("{first17}{}", resident_id_check_char(&first17) as char);
    let notes = match rng.below(100) {
        0..=69 => String::new(),
        70..=89 => rng.pick(BENIGN_NOTES).to_string(),
        // The recipient named beside a number, half of them typed in full-width digits as
        // Chinese input methods write them.
        90..=93 => {
            let mobile = other_mobile(rng);
            let typed = if mobile.ends_with(['0', '2', '4', '6', '8']) {
                full_width(&mobile)
            } else {
                mobile
            };
            format!("收件人：{name}，要求改用 {typed} 联系")
        }
        94..=97 => format!("call back on {}", other_mobile(rng)),
        _ => format!(
            "second mailbox {}{}@example.com",
            mailbox,
            rng.between(1, 99)
        ),
    };
    let interval = *rng.pick(&[14, 30, 45]);
    let habit = *rng.weighted(&[
        (Habit::Frequent, 15.0),
        (Habit::Periodic(interval), 10.0),
        (Habit::Occasional, 28.0),
        (Habit::OneOff, 22.0),
        (Habit::Churned, 10.0),
        (Habit::New, 8.0),
        (Habit::Prospect, 7.0),
    ]);
    // Signups spread over four years before the order history and through it; new customers
    // are won in the promotions, which is what makes a naive old-vs-new comparison misleading.
    let signup_day = match habit {
        Habit::New => DAYS - 1 - rng.below(45) as i64,
        Habit::Churned => -(rng.below(4 * 365) as i64) - 1,
        _ if rng.chance(0.2) => {
            let day = rng.below(DAYS as u64 - 30) as i64;
            let promoted = (0..DAYS - 30)
                .filter(|d| promotion_day(first_day + Duration::days(*d)))
                .collect::<Vec<_>>();
            if scenario.confounders.price_drift && rng.chance(0.5) {
                *rng.pick(&promoted)
            } else {
                day
            }
        }
        _ => -(rng.below(4 * 365) as i64) - 1,
    };
    let registered_at = first_day.and_hms_opt(0, 0, 0).expect("valid time")
        + Duration::days(signup_day)
        + Duration::seconds(rng.between(0, 86_399));
    Customer {
        uid: format!("U{:07}", 1_000_000 + index * 7 + rng.below(7) as usize),
        name,
        phone,
        email,
        national_id,
        birth_year,
        gender: if female { "F" } else { "M" },
        city,
        os: rng.weighted::<&str>(OPERATING_SYSTEMS),
        vip: rng.chance(0.2),
        registered_at,
        notes,
        price_sensitivity: (rng.unit() * 100.0).round() / 100.0,
        signup_day,
        habit,
    }
}

/// ASCII digits as full-width ones (０–９).
fn full_width(digits: &str) -> String {
    digits
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32('０' as u32 + d).expect("a full-width digit"),
            None => c,
        })
        .collect()
}

/// A mainland mobile number: 1, a second digit from 3 to 9, nine more digits.
fn other_mobile(rng: &mut Rng) -> String {
    format!("1{}{}", rng.between(3, 9), rng.digits(9))
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn write_customers_csv(path: &Path, people: &[Customer]) -> Result<()> {
    let mut csv = String::from(
        "uid,name,phone,email,national_id,birth_year,gender,city,os,vip,price_sensitivity,registered_at,notes\n",
    );
    for c in people {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            c.uid,
            csv_field(&c.name),
            csv_field(&c.phone),
            c.email,
            c.national_id,
            c.birth_year,
            c.gender,
            c.city,
            c.os,
            c.vip,
            c.price_sensitivity,
            c.registered_at.format("%Y-%m-%dT%H:%M:%S"),
            csv_field(&c.notes)
        );
    }
    std::fs::write(path, csv).map_err(|e| Error::io(path, e))
}

/// When a customer buys, as day offsets into the year: by habit, never before signing up,
/// and right after signing up for customers won during the year.
fn purchase_days(rng: &mut Rng, customer: &Customer, density: f64) -> Vec<i64> {
    let year = DAYS as u64;
    // At density 1 every count is the habit's own, and the generator draws as it always did.
    let scaled = |count: i64| ((count as f64) * density).round() as i64;
    let mut days: Vec<i64> = match customer.habit {
        Habit::Frequent => (0..scaled(rng.between(8, 30)))
            .map(|_| rng.below(year) as i64)
            .collect(),
        Habit::Periodic(interval) => {
            let interval = ((interval as f64 / density).round() as i64).max(1);
            let mut day = rng.below(interval as u64) as i64;
            let mut days = Vec::new();
            while day < DAYS - 1 {
                days.push(day);
                day += (interval + rng.between(-1, 1)).max(1);
            }
            days
        }
        Habit::Occasional => (0..scaled(rng.between(2, 5)))
            .map(|_| rng.below(year) as i64)
            .collect(),
        Habit::OneOff => (0..scaled(1)).map(|_| rng.below(year) as i64).collect(),
        Habit::Churned => (0..scaled(rng.between(1, 6)))
            .map(|_| rng.below(120) as i64)
            .collect(),
        Habit::New => Vec::new(),
        Habit::Prospect => return Vec::new(),
    };
    if customer.signup_day >= 0 {
        days.retain(|d| *d >= customer.signup_day);
        for _ in 0..rng.between(1, 2) {
            days.push((customer.signup_day + rng.between(0, 6)).min(DAYS - 1));
        }
    }
    days.sort_unstable();
    days.dedup();
    days
}

/// The catalogue price of a SKU on a day: with price drift, a seasonal ±4% and the 618 and
/// Double-11 promotions (−10%).
fn list_price(sku: &Sku, day: NaiveDate, day_index: i64, drift: bool) -> f64 {
    if !drift {
        return sku.base_price;
    }
    let seasonal =
        1.0 + 0.04 * (std::f64::consts::TAU * day_index as f64 / 365.0 + sku.phase).sin();
    round2(sku.base_price * seasonal * if promotion_day(day) { 0.9 } else { 1.0 })
}

/// The demo's marketing: consent events per customer and channel, and five campaigns with a
/// planted case of each mail check (written as UTC; Shanghai is eight hours ahead).
/// - `spring-newsletter` (email): to subscribers as of the send, plus a slice of the customers
///   who never subscribed or who opted out before it;
/// - `flash-sale` (sms): to subscribers, a tenth of it at 22:30 Shanghai time (quiet hours);
/// - `weekly-deals` (email): six days running to the same 150 subscribers (frequency cap);
/// - `legacy-promo` (email): no unsubscribe link, some without a sender;
/// - `list-buy` (sms): to numbers nobody asked for (unsolicited bulk).
fn write_mail(
    dir: &Path,
    people: &[Customer],
    rng: &mut Rng,
    first_day: NaiveDate,
    min_messages: usize,
) -> Result<usize> {
    let midnight =
        |day: i64| first_day.and_hms_opt(0, 0, 0).expect("valid time") + Duration::days(day);
    let mut consents = String::from("recipient,channel,action,at\n");
    // (email opt-in day, email opt-out day, sms opt-in day), relative to the first order day.
    let mut states = Vec::with_capacity(people.len());
    for person in people {
        let joined = person.signup_day.max(-400);
        let email_in = rng.chance(0.6).then_some(joined);
        let email_out = email_in
            .filter(|_| rng.chance(0.12))
            .map(|_| rng.between(60, 200));
        let sms_in = rng.chance(0.45).then_some(joined);
        if let Some(day) = email_in {
            let _ = writeln!(
                consents,
                "{},email,subscribe,{}",
                person.email,
                midnight(day).format("%Y-%m-%dT%H:%M:%S")
            );
        }
        if let Some(day) = email_out {
            let _ = writeln!(
                consents,
                "{},email,unsubscribe,{}",
                person.email,
                midnight(day).format("%Y-%m-%dT%H:%M:%S")
            );
            if rng.chance(0.3) {
                let _ = writeln!(
                    consents,
                    "{},email,subscribe,{}",
                    person.email,
                    midnight(day + 20).format("%Y-%m-%dT%H:%M:%S")
                );
            }
        }
        if let Some(day) = sms_in {
            let _ = writeln!(
                consents,
                "{},sms,opt_in,{}",
                csv_field(&person.phone),
                midnight(day).format("%Y-%m-%dT%H:%M:%S")
            );
        }
        states.push((email_in, email_out, sms_in));
    }
    let consents_path = dir.join("consents.csv");
    std::fs::write(&consents_path, consents).map_err(|e| Error::io(&consents_path, e))?;

    let mut sends: Vec<Send> = Vec::new();
    let at = |day: i64, hour: i64, minute: i64| {
        (midnight(day) + Duration::minutes(hour * 60 + minute))
            .and_utc()
            .timestamp_millis()
    };
    let subscribed = |opt_in: Option<i64>, opt_out: Option<i64>, day: i64| {
        opt_in.is_some_and(|d| d <= day) && opt_out.is_none_or(|d| d > day)
    };
    for (person, (email_in, email_out, sms_in)) in people.iter().zip(&states) {
        // Spring newsletter on day 150, 02:00 UTC (10:00 Shanghai): the list honours consent,
        // except for a slice of opted-out addresses and of addresses that never subscribed.
        let newsletter = if subscribed(*email_in, *email_out, 150) {
            true
        } else if email_out.is_some_and(|d| d <= 150) {
            rng.chance(0.2)
        } else {
            rng.chance(0.03)
        };
        if newsletter {
            sends.push((
                person.email.clone(),
                "email",
                "spring-newsletter",
                at(150, 2, 0),
                true,
                true,
                Some("Demo Shop, 88 Example Road"),
            ));
        }
        if subscribed(*sms_in, None, 200) {
            let late = rng.chance(0.1);
            let (hour, minute) = if late { (14, 30) } else { (3, 0) };
            sends.push((
                person.phone.clone(),
                "sms",
                "flash-sale",
                at(200, hour, minute),
                true,
                true,
                Some("Demo Shop"),
            ));
        }
        if subscribed(*email_in, *email_out, 220) && rng.chance(0.03) {
            sends.push((
                person.email.clone(),
                "email",
                "legacy-promo",
                at(220, 4, 0),
                false,
                false,
                if rng.chance(0.5) {
                    None
                } else {
                    Some("Demo Shop")
                },
            ));
        }
        if sms_in.is_none() && rng.chance(0.08) {
            sends.push((
                person.phone.clone(),
                "sms",
                "list-buy",
                at(240, 3, 0),
                true,
                true,
                Some("Partner Co"),
            ));
        }
    }
    let subscribers: Vec<&Customer> = people
        .iter()
        .zip(&states)
        .filter(|(_, (email_in, email_out, _))| {
            subscribed(*email_in, *email_out, 300) && subscribed(*email_in, *email_out, 306)
        })
        .map(|(p, _)| p)
        .take(150)
        .collect();
    for day in 0..6 {
        for person in &subscribers {
            sends.push((
                person.email.clone(),
                "email",
                "weekly-deals",
                at(300 + day, 1, 0),
                true,
                true,
                Some("Demo Shop, 88 Example Road"),
            ));
        }
    }
    // A bench's volume: a lawful newsletter (consented, in daytime Shanghai, at most one a day
    // until the volume asks for more) to every e-mail subscriber of the day, as many rounds
    // as it takes. Drawn without the generator, so the rest of the data is the demo's.
    let eligible = states.iter().filter(|s| s.0.is_some()).count();
    if sends.len() < min_messages && eligible > 0 {
        let needed = min_messages - sends.len();
        let round_day = |round: i64, rounds: i64| round * DAYS / rounds;
        let reached = |rounds: i64| {
            let mut total = 0;
            for round in 0..rounds {
                let day = round_day(round, rounds);
                total += states
                    .iter()
                    .filter(|(email_in, email_out, _)| subscribed(*email_in, *email_out, day))
                    .count();
                if total >= needed {
                    return true;
                }
            }
            false
        };
        // As many rounds as it takes (not every subscriber has subscribed yet on every day).
        let mut rounds = needed.div_ceil(eligible) as i64;
        // (Bounded, for a base where nobody is subscribed on most days.)
        while !reached(rounds) && rounds < (needed as i64).saturating_mul(DAYS) {
            rounds += 1 + rounds / 10;
        }
        for round in 0..rounds {
            let day = round_day(round, rounds);
            let hour = 1 + round % 8;
            for (person, (email_in, email_out, _)) in people.iter().zip(&states) {
                if sends.len() >= min_messages {
                    break;
                }
                if subscribed(*email_in, *email_out, day) {
                    sends.push((
                        person.email.clone(),
                        "email",
                        "member-news",
                        at(day, hour, 0),
                        true,
                        true,
                        Some("Demo Shop, 88 Example Road"),
                    ));
                }
            }
        }
    }
    let count = sends.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("message_id", DataType::Utf8, false),
        Field::new("recipient", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("campaign", DataType::Utf8, false),
        Field::new(
            "sent_at",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("has_unsubscribe", DataType::Boolean, false),
        Field::new("list_unsubscribe_post", DataType::Boolean, false),
        Field::new("sender", DataType::Utf8, true),
    ]));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            (0..count)
                .map(|i| format!("M{:08}", i + 1))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            sends.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            sends.iter().map(|s| s.1).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            sends.iter().map(|s| s.2).collect::<Vec<_>>(),
        )),
        Arc::new(TimestampMillisecondArray::from(
            sends.iter().map(|s| s.3).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            sends.iter().map(|s| s.4).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            sends.iter().map(|s| s.5).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            sends.iter().map(|s| s.6).collect::<Vec<_>>(),
        )),
    ];
    write_batch(&dir.join("sends.parquet"), schema, arrays)?;
    Ok(count)
}

/// One generated message: recipient, channel, campaign, sent at (ms), has an unsubscribe
/// link, has one-click unsubscribe, sender.
type Send = (
    String,
    &'static str,
    &'static str,
    i64,
    bool,
    bool,
    Option<&'static str>,
);

fn write_batch(path: &Path, schema: Arc<Schema>, arrays: Vec<ArrayRef>) -> Result<()> {
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(())
}

/// The order lines being generated, column by column.
#[derive(Default)]
struct OrderColumns {
    txn_id: Vec<String>,
    uid: Vec<String>,
    item_code: Vec<String>,
    category: Vec<&'static str>,
    ordered_at: Vec<i64>,
    device_os: Vec<&'static str>,
    qty: Vec<i64>,
    list: Vec<f64>,
    offered: Vec<f64>,
    paid: Vec<f64>,
    channel: Vec<&'static str>,
    pay_method: Vec<&'static str>,
    member: Vec<bool>,
}

fn write_orders(
    path: &Path,
    people: &[Customer],
    skus: &[Sku],
    rng: &mut Rng,
    first_day: NaiveDate,
    scenario: &Scenario,
) -> Result<usize> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("txn_id", DataType::Utf8, false),
        Field::new("uid", DataType::Utf8, false),
        Field::new("item_code", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new(
            "ordered_at",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("device_os", DataType::Utf8, false),
        Field::new("qty", DataType::Int64, false),
        Field::new("list_unit_price", DataType::Float64, false),
        Field::new("offered_unit_price", DataType::Float64, false),
        Field::new("paid_unit_price", DataType::Float64, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("pay_method", DataType::Utf8, false),
        Field::new("member", DataType::Boolean, false),
    ]));
    let c = scenario.confounders;
    let mut columns = OrderColumns::default();
    let mut order_number = 0u64;
    for person in people {
        let favourite = rng.below(skus.len() as u64) as usize;
        for day_index in purchase_days(rng, person, scenario.volume.order_density) {
            order_number += 1;
            let tenure = day_index - person.signup_day;
            let new = tenure <= 30;
            let day = first_day + Duration::days(day_index);
            let at = day.and_hms_opt(0, 0, 0).expect("valid time")
                + Duration::seconds(rng.between(8 * 3600, 23 * 3600));
            let channel = *rng.weighted(&[("app", 60.0), ("web", 30.0), ("mini_program", 10.0)]);
            // New customers behave differently: more cards, bulk buys and trial memberships.
            let pay_method = if new {
                *rng.weighted(&[("alipay", 35.0), ("wechat_pay", 30.0), ("card", 35.0)])
            } else {
                *rng.weighted(&[("alipay", 50.0), ("wechat_pay", 40.0), ("card", 10.0)])
            };
            let member = if new { rng.chance(0.7) } else { person.vip };
            for _ in 0..rng.between(1, 3) {
                let sku = if rng.chance(0.6) {
                    &skus[rng.below(BESTSELLERS as u64) as usize]
                } else if rng.chance(0.3) {
                    &skus[favourite]
                } else {
                    rng.pick(skus)
                };
                let bulk = if new { 0.35 } else { 0.10 };
                let quantity = if rng.chance(bulk) {
                    *rng.pick(&[3, 5])
                } else {
                    *rng.weighted(&[(1, 80.0), (2, 20.0)])
                };
                let list = list_price(sku, day, day_index, c.price_drift);
                let mut offered = list;
                if c.payment_discount {
                    offered *= if channel == "app" { 0.98 } else { 1.0 };
                    offered *= if pay_method == "card" { 0.97 } else { 1.0 };
                }
                if c.quantity_tiers && quantity >= 3 {
                    offered *= 0.95;
                }
                if c.member_discount && member {
                    offered *= 0.97;
                }
                if c.price_test && PRICE_TEST_SKUS.contains(&sku.code.as_str()) {
                    offered *= if rng.chance(0.5) { 1.05 } else { 0.95 };
                }
                if c.clustered_price_test && CLUSTERED_TEST_DAYS.contains(&day_index) {
                    offered *= if rng.chance(0.5) { 1.08 } else { 0.92 };
                }
                let surcharge_day = scenario.surcharge_days.applies(day_index)
                    && scenario.surcharge_channel.is_none_or(|c| c == channel);
                let planted = scenario
                    .tenure_surcharges
                    .iter()
                    .find(|(code, _)| *code == sku.code);
                if let Some((_, surcharge)) = planted.filter(|_| tenure > 365 && surcharge_day) {
                    offered *= 1.0 + surcharge;
                }
                if scenario.plant_frequency_surcharge
                    && person.habit == Habit::Frequent
                    && tenure > 365
                    && sku.code == FREQUENCY_OVERCHARGE_SKU
                {
                    offered *= 1.08;
                }
                if scenario.plant_gender_surcharge
                    && person.gender == "F"
                    && sku.code == GENDER_SURCHARGE_SKU
                {
                    offered *= 1.06;
                }
                if scenario.plant_ios_surcharge
                    && person.os == "iOS"
                    && IOS_SURCHARGE_SKUS.contains(&sku.code.as_str())
                {
                    offered *= 1.06;
                }
                let offered = round2(offered);
                let coupon_chance = if new { 0.6 } else { 0.1 };
                let coupon = if c.coupons && rng.chance(coupon_chance) {
                    round2((offered * 0.1).min(20.0))
                } else {
                    0.0
                };
                columns
                    .txn_id
                    .push(format!("T{:010}", 3_000_000_000u64 + order_number));
                columns.uid.push(person.uid.clone());
                columns.item_code.push(sku.code.clone());
                columns.category.push(sku.category);
                columns.ordered_at.push(at.and_utc().timestamp_millis());
                columns.device_os.push(person.os);
                columns.qty.push(quantity);
                columns.list.push(list);
                columns.offered.push(offered);
                columns.paid.push(round2(offered - coupon));
                columns.channel.push(channel);
                columns.pay_method.push(pay_method);
                columns.member.push(member);
            }
        }
    }
    let lines = columns.txn_id.len();
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(columns.txn_id)),
        Arc::new(StringArray::from(columns.uid)),
        Arc::new(StringArray::from(columns.item_code)),
        Arc::new(StringArray::from(columns.category)),
        Arc::new(TimestampMillisecondArray::from(columns.ordered_at)),
        Arc::new(StringArray::from(columns.device_os)),
        Arc::new(Int64Array::from(columns.qty)),
        Arc::new(Float64Array::from(columns.list)),
        Arc::new(Float64Array::from(columns.offered)),
        Arc::new(Float64Array::from(columns.paid)),
        Arc::new(StringArray::from(columns.channel)),
        Arc::new(StringArray::from(columns.pay_method)),
        Arc::new(BooleanArray::from(columns.member)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::{PiiKind, find_spans};

    #[test]
    fn the_throw_away_key_is_a_hex_key_of_its_seed() {
        use crate::pseudonym::{Key, KeyOrigin};
        let origin = KeyOrigin::File("demo.key".into());
        let key = |seed| Key::from_material(demo_key(seed).as_bytes(), &origin).unwrap();
        assert_eq!(demo_key(7).len(), 64);
        assert_eq!(key(7).id(), key(7).id());
        assert_ne!(key(7).id(), key(8).id());
    }

    #[test]
    fn generated_identifiers_are_recognized_for_what_they_are() {
        let mut rng = Rng::new(1);
        let first_day = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
        for i in 0..200 {
            let c = customer(&mut rng, i, first_day, &Scenario::demo(200, 1));
            assert_eq!(
                find_spans(&c.national_id).first().map(|s| s.kind),
                Some(PiiKind::CnResidentId),
                "{i}"
            );
            assert_eq!(
                find_spans(&c.phone).first().map(|s| s.kind),
                Some(PiiKind::CnMobile),
                "{i}"
            );
            assert_eq!(
                find_spans(&c.email).first().map(|s| s.kind),
                Some(PiiKind::Email),
                "{i}"
            );
        }
    }
}
