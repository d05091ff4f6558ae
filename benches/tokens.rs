//! `cargo bench`: how fast pseudonyms are made, per value and inside a DataFusion plan, on one
//! core. The aim is at least 8 million tokens a second per core: a cloned keyed HMAC state per
//! value (two SHA-256 blocks with SHA extensions), written straight into the output buffer.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use fairmark::pseudonym::{IdentifierClass, Key, KeyOrigin, TokenUdf};

const VALUES: usize = 200_000;

/// Mainland mobile numbers, all different.
fn phones() -> Vec<String> {
    (0..VALUES as u64)
        .map(|i| format!("13{:09}", i * 7919 % 1_000_000_000))
        .collect()
}

fn key() -> Arc<Key> {
    Arc::new(
        Key::from_material("5a".repeat(32).as_bytes(), &KeyOrigin::Env("BENCH".into()))
            .expect("a valid key"),
    )
}

fn per_value(c: &mut Criterion) {
    let (key, phones) = (key(), phones());
    let mut group = c.benchmark_group("token");
    group.throughput(Throughput::Elements(VALUES as u64));
    group.bench_function("write_token (phone)", |b| {
        let mut out = String::with_capacity(32);
        b.iter(|| {
            for phone in &phones {
                out.clear();
                key.write_token(IdentifierClass::Phone, phone, &mut out);
            }
        })
    });
    group.bench_function("normalize (phone), its share of a token", |b| {
        let mut scratch = String::with_capacity(32);
        b.iter(|| {
            for phone in &phones {
                std::hint::black_box(IdentifierClass::Phone.normalized(phone, &mut scratch));
            }
        })
    });
    // The yardstick on the same machine and the same messages: the `hmac` crate's keyed state
    // cloned per value (the tag alone: no normalizing, no encoding), as tokens were made before
    // the padded key.
    group.bench_function("hmac crate, cloned state (tag only, reference)", |b| {
        use hmac::{Hmac, Mac};
        let keyed = Hmac::<sha2::Sha256>::new_from_slice(&[0x5a; 32]).expect("any key length");
        let domain = IdentifierClass::Phone.domain().as_bytes();
        b.iter(|| {
            for phone in &phones {
                let mut mac = keyed.clone();
                mac.update(domain);
                mac.update(&[0]);
                mac.update(phone.as_bytes());
                std::hint::black_box(mac.finalize().into_bytes());
            }
        })
    });
    group.finish();
}

fn in_a_plan(c: &mut Criterion) {
    let key = key();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "phone",
        DataType::Utf8,
        false,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(phones()))])
        .expect("one column");
    // One partition, one thread: the figure is per core.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    ctx.register_udf(TokenUdf::udf(IdentifierClass::Phone, key));
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("a table")),
    )
    .expect("registered");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let sql = format!(
        "SELECT count({}(phone)) FROM t",
        TokenUdf::function_name(IdentifierClass::Phone)
    );
    let mut group = c.benchmark_group("token UDF");
    group.throughput(Throughput::Elements(VALUES as u64));
    group.bench_function("SELECT count(fm_token_phone(phone))", |b| {
        b.iter(|| {
            runtime.block_on(async {
                ctx.sql(&sql)
                    .await
                    .expect("plans")
                    .collect()
                    .await
                    .expect("runs")
            })
        })
    });
    group.finish();
}

criterion_group!(benches, per_value, in_a_plan);
criterion_main!(benches);
