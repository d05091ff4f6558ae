//! Where a dataset's files live: on this machine, or in an S3 (or S3-compatible) bucket.
//!
//! Both are read through DataFusion's object stores: a local file through the `file://` store
//! DataFusion registers itself, a bucket through an `AmazonS3` store registered here, one per
//! bucket. So hashing a file for the report, checking a Parquet file's envelope and re-reading
//! a CSV file to name a bad row are one code path wherever the file is; only listing differs,
//! since a local glob walks directories and a bucket is listed by key prefix.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use datafusion::execution::object_store::{ObjectStoreRegistry, ObjectStoreUrl};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, RetryConfig};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Config, DatasetConfig, DatasetLocation, Format, StorageConfig};
use crate::config_errors::dataset_path;
use crate::error::{Error, Result};

/// One file of a dataset, wherever it lives.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// What DataFusion is given to read: a local path, or `s3://bucket/key`.
    pub url: String,
    /// How the report and messages name it: relative to the config file's directory, or
    /// `s3://bucket/key`.
    pub shown: String,
    store: ObjectStoreUrl,
    key: ObjectPath,
}

impl DataFile {
    /// A local file; `base_dir` is the config file's directory, which the report's paths are
    /// relative to.
    pub fn local(path: &Path, base_dir: &Path) -> std::result::Result<DataFile, String> {
        let absolute = std::path::absolute(path)
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        let key = ObjectPath::from_absolute_path(&absolute)
            .map_err(|_| format!("{} is not a path fairmark can read", path.display()))?;
        let shown = path.strip_prefix(base_dir).unwrap_or(path);
        Ok(DataFile {
            url: path.to_string_lossy().into_owned(),
            shown: shown.to_string_lossy().into_owned(),
            store: ObjectStoreUrl::local_filesystem(),
            key,
        })
    }

    fn object(bucket: &str, key: ObjectPath) -> DataFile {
        let url = format!("s3://{bucket}/{key}");
        DataFile {
            shown: url.clone(),
            url,
            store: bucket_url(bucket),
            key,
        }
    }

    /// The file's own name, without its directory or prefix: what a message about one file of
    /// several says.
    pub fn name(&self) -> &str {
        self.key.filename().unwrap_or_default()
    }

    /// The format its extension says, if any.
    pub fn format_by_extension(&self) -> Option<Format> {
        Format::from_extension(Path::new(self.name()))
    }

    fn store(
        &self,
        stores: &dyn ObjectStoreRegistry,
    ) -> std::result::Result<Arc<dyn ObjectStore>, String> {
        stores
            .get_store(self.store.as_ref())
            .map_err(|_| format!("no object store is set up for {}", self.shown))
    }
}

fn bucket_url(bucket: &str) -> ObjectStoreUrl {
    ObjectStoreUrl::parse(format!("s3://{bucket}")).expect("a bucket name checked by the config")
}

/// Registers an S3 store for every bucket a dataset's `path` names.
pub fn register_buckets(runtime: &RuntimeEnv, config: &Config) -> Result<()> {
    let mut registered = Vec::new();
    for dataset in config.dataset_configs() {
        let DatasetLocation::S3 { bucket, .. } = config.location(dataset)? else {
            continue;
        };
        if registered.contains(&bucket) {
            continue;
        }
        let store = s3_store(&bucket, &config.storage).map_err(|e| {
            Error::input(
                dataset.role(),
                dataset_path(dataset.path()),
                // The builder's errors name settings, never their values' secrets.
                format!(
                    "cannot set up S3 access: {}",
                    crate::error::redact(&e.to_string())
                ),
            )
        })?;
        runtime.register_object_store(bucket_url(&bucket).as_ref(), Arc::new(store));
        registered.push(bucket);
    }
    Ok(())
}

/// The store for one bucket: the standard AWS environment variables, then `[storage]`.
fn s3_store(
    bucket: &str,
    storage: &StorageConfig,
) -> object_store::Result<object_store::aws::AmazonS3> {
    // Three retries, as the AWS SDKs' standard mode makes, rather than object_store's ten: a
    // store that is down or a missing credential then fails in seconds, not minutes.
    let retry = RetryConfig {
        max_retries: 3,
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry);
    if let Some(endpoint) = &storage.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &storage.region {
        builder = builder.with_region(region);
    }
    if let Some(allow_http) = storage.allow_http {
        builder = builder.with_allow_http(allow_http);
    }
    if let Some(virtual_hosted) = storage.virtual_hosted_style_request {
        builder = builder.with_virtual_hosted_style_request(virtual_hosted);
    }
    builder.build()
}

/// Expands a dataset's `path` (file, directory or glob; a key, prefix or glob in a bucket)
/// into its files, sorted, with their format.
pub async fn resolve(
    stores: &dyn ObjectStoreRegistry,
    config: &Config,
    dataset: &dyn DatasetConfig,
) -> Result<(Vec<DataFile>, Format)> {
    let role = dataset.role();
    let location = dataset_path(dataset.path());
    let fail = |message: String| Error::input(role, &location, message);
    let files = match config.location(dataset)? {
        DatasetLocation::Local(pattern) => local_files(&pattern, dataset.path())
            .map_err(fail)?
            .iter()
            .map(|path| DataFile::local(path, &config.base_dir))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(fail)?,
        DatasetLocation::S3 { bucket, key } => {
            let store = stores
                .get_store(bucket_url(&bucket).as_ref())
                .map_err(|_| fail(format!("no object store is set up for s3://{bucket}")))?;
            objects(store.as_ref(), &key)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|key| DataFile::object(&bucket, key))
                .collect()
        }
    };
    let Some(first) = files.first() else {
        return Err(fail("matches no file".into()));
    };
    let format = match dataset.format() {
        Some(format) => format,
        None => first.format_by_extension().ok_or_else(|| {
            fail("cannot tell the format from the file extension; set format = \"parquet\" | \"csv\" | \"ndjson\"".into())
        })?,
    };
    if dataset.format().is_none()
        && let Some(other) = files
            .iter()
            .find(|f| f.format_by_extension() != Some(format))
    {
        return Err(fail(format!(
            "mixes formats ({} is not {}); point `path` at files of one format",
            other.name(),
            format.name()
        )));
    }
    Ok((files, format))
}

/// The files of a local `pattern`: the file, the visible files directly in the directory, or
/// the files the glob matches, sorted.
fn local_files(pattern: &Path, written: &str) -> std::result::Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = if pattern.is_dir() {
        std::fs::read_dir(pattern)
            .map_err(|e| format!("cannot list directory: {e}"))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file() && !is_hidden(&p.file_name().unwrap_or_default().to_string_lossy())
            })
            .collect()
    } else if is_glob(written) {
        glob::glob(&pattern.to_string_lossy())
            .map_err(|e| format!("bad glob pattern: {e}"))?
            .filter_map(|p| p.ok())
            .filter(|p| p.is_file())
            .collect()
    } else if pattern.is_file() {
        vec![pattern.to_path_buf()]
    } else {
        return Err("no such file or directory".into());
    };
    files.sort();
    Ok(files)
}

/// The objects `key` names, sorted: the object itself; or, for a prefix (ending in `/`, or
/// naming no object but objects under `key/`), the visible objects directly under it, as a
/// local directory is read; or the objects a glob matches, where `*` does not cross a `/`.
async fn objects(
    store: &dyn ObjectStore,
    key: &str,
) -> std::result::Result<Vec<ObjectPath>, String> {
    let failed = |e: object_store::Error| storage_message(&e);
    let visible_under = |prefix: &str| {
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        async move {
            let listed = store
                .list_with_delimiter(prefix.as_ref())
                .await
                .map_err(failed)?;
            Ok::<_, String>(
                listed
                    .objects
                    .into_iter()
                    .map(|object| object.location)
                    .filter(|path| path.filename().is_some_and(|name| !is_hidden(name)))
                    .collect::<Vec<_>>(),
            )
        }
    };
    let mut found = if key.is_empty() || key.ends_with('/') {
        visible_under(key.trim_end_matches('/')).await?
    } else if is_glob(key) {
        let pattern = glob::Pattern::new(key).map_err(|e| format!("bad glob pattern: {e}"))?;
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        // Listed from the last `/` before the first wildcard: every key the glob can match.
        let literal = &key[..key.find(['*', '?', '[']).unwrap_or(key.len())];
        let prefix = literal[..literal.rfind('/').unwrap_or(0)].to_string();
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let mut listed = store.list(prefix.as_ref());
        let mut matched = Vec::new();
        while let Some(object) = listed.next().await {
            let location = object.map_err(failed)?.location;
            if pattern.matches_with(location.as_ref(), options) {
                matched.push(location);
            }
        }
        matched
    } else {
        let path = ObjectPath::from(key);
        match store.head(&path).await {
            Ok(_) => vec![path],
            // A prefix written without its trailing slash, as a local directory may be.
            Err(not_found @ object_store::Error::NotFound { .. }) => {
                let under = visible_under(key).await?;
                if under.is_empty() {
                    return Err(failed(not_found));
                }
                under
            }
            Err(e) => return Err(failed(e)),
        }
    };
    found.sort();
    Ok(found)
}

pub(crate) fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Names that tools write beside data (`.DS_Store`, `_SUCCESS`) are not data.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The longest Parquet footer read. The footer describes every column of every row group: at
/// the column cap it reaches this only past a thousand row groups, and it is decoded whole, to
/// several times its size.
pub const MAX_PARQUET_FOOTER_BYTES: u64 = 64 << 20;

fn check_parquet_footer_length(name: &str, footer: u64) -> std::result::Result<(), String> {
    if footer <= MAX_PARQUET_FOOTER_BYTES {
        return Ok(());
    }
    Err(format!(
        "{name} has a footer of {} MiB; fairmark reads footers of at most {} MiB: rewrite it with fewer columns or larger row groups",
        footer.div_ceil(1 << 20),
        MAX_PARQUET_FOOTER_BYTES >> 20
    ))
}

/// A Parquet file's footer, read and decoded on its own before the reader sees the file: its
/// magic bytes and footer length are checked first (some malformed footers make the reader
/// panic instead of returning an error), and a footer longer than
/// [`MAX_PARQUET_FOOTER_BYTES`] is refused unread. Reads the first 4 and the
/// last 8 bytes, then the footer, by range.
pub async fn read_parquet_footer(
    stores: &dyn ObjectStoreRegistry,
    file: &DataFile,
) -> std::result::Result<ParquetMetaData, String> {
    let name = file.name();
    let corrupt = |what: &str| format!("{name} is not a readable Parquet file ({what})");
    let unreadable =
        |e: object_store::Error| format!("cannot read {name}: {}", storage_message(&e));
    let store = file.store(stores)?;
    let size = store.head(&file.key).await.map_err(unreadable)?.size;
    if size < 12 {
        return Err(corrupt("too short"));
    }
    let ends = store
        .get_ranges(&file.key, &[0..4, size - 8..size])
        .await
        .map_err(unreadable)?;
    let (head, tail) = (&ends[0], &ends[1]);
    if head.as_ref() != b"PAR1" || &tail[4..] != b"PAR1" {
        return Err(corrupt(
            "no PAR1 magic bytes; encrypted footers are not supported",
        ));
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer + 12 > size {
        return Err(corrupt("corrupt footer length"));
    }
    check_parquet_footer_length(name, footer)?;
    let bytes = store
        .get_range(&file.key, size - 8 - footer..size - 8)
        .await
        .map_err(unreadable)?;
    ParquetMetaDataReader::decode_metadata(&bytes)
        .map_err(|_| corrupt("its footer does not decode"))
}

/// The first `limit` bytes of the file (all of it when shorter), by range, and whether that is
/// the whole file.
pub async fn read_prefix(
    stores: &dyn ObjectStoreRegistry,
    file: &DataFile,
    limit: u64,
) -> std::result::Result<(Bytes, bool), String> {
    let unreadable =
        |e: object_store::Error| format!("cannot read {}: {}", file.name(), storage_message(&e));
    let store = file.store(stores)?;
    let size = store.head(&file.key).await.map_err(unreadable)?.size;
    let read = size.min(limit);
    if read == 0 {
        return Ok((Bytes::new(), true));
    }
    let bytes = store
        .get_range(&file.key, 0..read)
        .await
        .map_err(unreadable)?;
    Ok((bytes, read == size))
}

/// One input file, for the report's provenance.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// As reached from the config file's directory, or `s3://bucket/key`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The file's size and SHA-256, for the report's provenance: every byte is read, streamed from
/// a bucket or read from disk in large blocks (the store's own stream of a local file comes in
/// 8 KiB pieces, each a thread hop).
pub async fn describe(
    stores: &dyn ObjectStoreRegistry,
    file: &DataFile,
) -> std::result::Result<InputFile, String> {
    let unreadable = |e: String| format!("cannot read {}: {e}", file.name());
    let store = file.store(stores)?;
    let object = store
        .get(&file.key)
        .await
        .map_err(|e| unreadable(storage_message(&e)))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    match object.payload {
        GetResultPayload::File(mut local, _) => {
            let (digest, read) = tokio::task::spawn_blocking(move || {
                let mut buffer = vec![0u8; 1 << 20];
                loop {
                    let read = local.read(&mut buffer)?;
                    if read == 0 {
                        return Ok::<_, std::io::Error>((hasher, bytes));
                    }
                    bytes += read as u64;
                    hasher.update(&buffer[..read]);
                }
            })
            .await
            .map_err(|e| unreadable(e.to_string()))?
            .map_err(|e| unreadable(e.to_string()))?;
            hasher = digest;
            bytes = read;
        }
        GetResultPayload::Stream(mut stream) => {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| unreadable(storage_message(&e)))?;
                bytes += chunk.len() as u64;
                hasher.update(&chunk);
            }
        }
    }
    Ok(InputFile {
        path: file.shown.clone(),
        bytes,
        sha256: crate::pseudonym::hex(&hasher.finalize()),
    })
}

/// The file's bytes as a blocking reader, for the readers that take `std::io::Read` (the CSV
/// schema inference that names a malformed row). Read it on a blocking thread
/// (`spawn_blocking`): a bucket's bytes arrive on the async runtime, which it waits on.
pub async fn open(
    stores: &dyn ObjectStoreRegistry,
    file: &DataFile,
) -> std::result::Result<Box<dyn Read + Send>, String> {
    let object = file
        .store(stores)?
        .get(&file.key)
        .await
        .map_err(|e| storage_message(&e))?;
    Ok(match object.payload {
        GetResultPayload::File(local, _) => Box::new(std::io::BufReader::new(local)),
        GetResultPayload::Stream(stream) => Box::new(BlockingStream {
            stream,
            runtime: tokio::runtime::Handle::current(),
            chunk: Bytes::new(),
        }),
    })
}

/// An object's byte stream read as `std::io::Read`, each chunk awaited on the runtime.
struct BlockingStream {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    runtime: tokio::runtime::Handle,
    chunk: Bytes,
}

impl Read for BlockingStream {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(storage_message(&e))),
                None => return Ok(0),
            }
        }
        let length = buffer.len().min(self.chunk.len());
        buffer[..length].copy_from_slice(&self.chunk.split_to(length));
        Ok(length)
    }
}

fn storage_message(error: &object_store::Error) -> String {
    crate::error::storage_failure(error).expect("an object store error is described")
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_footer_past_the_cap_is_refused_by_its_length() {
        assert!(check_parquet_footer_length("f.parquet", MAX_PARQUET_FOOTER_BYTES).is_ok());
        let message = check_parquet_footer_length("f.parquet", 100 << 20).unwrap_err();
        assert!(
            message.starts_with("f.parquet has a footer of 100 MiB"),
            "{message}"
        );
    }

    use super::*;
    use datafusion::execution::object_store::DefaultObjectStoreRegistry;
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    async fn bucket(objects: &[(&str, &[u8])]) -> InMemory {
        let store = InMemory::new();
        for (key, bytes) in objects {
            store
                .put(&ObjectPath::from(*key), PutPayload::from(bytes.to_vec()))
                .await
                .unwrap();
        }
        store
    }

    async fn keys(store: &InMemory, key: &str) -> std::result::Result<Vec<String>, String> {
        objects(store, key)
            .await
            .map(|found| found.iter().map(|path| path.to_string()).collect())
    }

    #[tokio::test]
    async fn a_key_a_prefix_and_a_glob_name_the_objects_a_local_path_would() {
        let store = bucket(&[
            ("shop/customers.csv", b"id\n1\n"),
            ("shop/orders/part-1.parquet", b""),
            ("shop/orders/part-0.parquet", b""),
            ("shop/orders/_SUCCESS", b""),
            ("shop/orders/.keep", b""),
            ("shop/orders/2025/part-0.parquet", b""),
            ("shop/sends/2026-10.parquet", b""),
            ("shop/sends/2026-11.parquet", b""),
            ("shop/sends/old/2025-01.parquet", b""),
        ])
        .await;
        let direct = ["shop/orders/part-0.parquet", "shop/orders/part-1.parquet"];
        assert_eq!(
            keys(&store, "shop/customers.csv").await.unwrap(),
            ["shop/customers.csv"]
        );
        assert_eq!(keys(&store, "shop/orders/").await.unwrap(), direct);
        assert_eq!(keys(&store, "shop/orders").await.unwrap(), direct);
        assert_eq!(
            keys(&store, "shop/sends/*.parquet").await.unwrap(),
            ["shop/sends/2026-10.parquet", "shop/sends/2026-11.parquet"]
        );
        assert_eq!(
            keys(&store, "shop/sends/**/*.parquet").await.unwrap(),
            [
                "shop/sends/2026-10.parquet",
                "shop/sends/2026-11.parquet",
                "shop/sends/old/2025-01.parquet"
            ]
        );
        assert_eq!(
            keys(&store, "shop/s*/2026-1?.parquet").await.unwrap().len(),
            2
        );
        assert!(keys(&store, "shop/nothing/").await.unwrap().is_empty());
        let missing = keys(&store, "shop/customers-2026.csv").await.unwrap_err();
        assert!(missing.starts_with("not found"), "{missing}");
        let bad = keys(&store, "shop/[orders").await.unwrap_err();
        assert!(bad.starts_with("bad glob pattern"), "{bad}");
    }

    fn registry(store: InMemory) -> DefaultObjectStoreRegistry {
        let stores = DefaultObjectStoreRegistry::new();
        stores.register_store(bucket_url("shop-data").as_ref(), Arc::new(store));
        stores
    }

    fn object(key: &str) -> DataFile {
        DataFile::object("shop-data", ObjectPath::from(key))
    }

    #[tokio::test]
    async fn an_object_is_hashed_and_read_as_its_local_copy_would_be() {
        let text = b"uid,phone\nU1,13800138000\n".repeat(1000);
        let stores = registry(bucket(&[("crm/customers.csv", &text)]).await);
        let file = object("crm/customers.csv");
        assert_eq!(file.shown, "s3://shop-data/crm/customers.csv");
        assert_eq!(file.format_by_extension(), Some(Format::Csv));
        let described = describe(&stores, &file).await.unwrap();
        assert_eq!(described.path, "s3://shop-data/crm/customers.csv");
        assert_eq!(described.bytes, text.len() as u64);
        assert_eq!(
            described.sha256,
            crate::pseudonym::hex(&Sha256::digest(&text))
        );

        let mut reader = open(&stores, &file).await.unwrap();
        let read = tokio::task::spawn_blocking(move || {
            let mut read = Vec::new();
            reader.read_to_end(&mut read).map(|_| read)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(read, text);

        let local = tempfile::tempdir().unwrap();
        let path = local.path().join("customers.csv");
        std::fs::write(&path, &text).unwrap();
        let local_file = DataFile::local(&path, local.path()).unwrap();
        let local_stores = DefaultObjectStoreRegistry::new();
        let described_locally = describe(&local_stores, &local_file).await.unwrap();
        assert_eq!(described_locally.path, "customers.csv");
        assert_eq!(described_locally.sha256, described.sha256);
    }

    #[tokio::test]
    async fn a_parquet_object_is_checked_by_its_two_ends_and_its_footer() {
        let mut footer_too_long = b"PAR1".to_vec();
        footer_too_long.extend([0; 8]);
        footer_too_long.extend(100u32.to_le_bytes());
        footer_too_long.extend(b"PAR1");
        let mut footer_of_noise = b"PAR1".to_vec();
        footer_of_noise.extend([0xff; 8]);
        footer_of_noise.extend(8u32.to_le_bytes());
        footer_of_noise.extend(b"PAR1");
        let stores = registry(
            bucket(&[
                ("short.parquet", b"PAR1PAR1"),
                ("text.parquet", b"uid,phone\nU1,13800138000\n"),
                ("footer.parquet", &footer_too_long),
                ("noise.parquet", &footer_of_noise),
            ])
            .await,
        );
        let checked = |key: &'static str| {
            let stores = &stores;
            async move { read_parquet_footer(stores, &object(key)).await.map(drop) }
        };
        assert!(
            checked("short.parquet")
                .await
                .unwrap_err()
                .ends_with("(too short)")
        );
        assert!(
            checked("text.parquet")
                .await
                .unwrap_err()
                .contains("no PAR1 magic bytes")
        );
        assert!(
            checked("footer.parquet")
                .await
                .unwrap_err()
                .ends_with("(corrupt footer length)")
        );
        assert!(
            checked("noise.parquet")
                .await
                .unwrap_err()
                .ends_with("(its footer does not decode)")
        );
        let missing = checked("none.parquet").await.unwrap_err();
        assert!(
            missing.starts_with("cannot read none.parquet: not found"),
            "{missing}"
        );
    }
}
