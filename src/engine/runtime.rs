//! The engine's memory budget and where it spills. Sorts, grouped aggregates and joins that
//! would go over `[engine] memory_limit` write their state to disk and read it back, so a larger
//! input slows down instead of failing. Spill files hold rows as read, raw identifiers
//! included, so they go to a directory only this user can open (mode 0700) that is removed
//! when the engine is dropped.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::execution::disk_manager::{DiskManager, DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SpillFile, TempFileFactory};
use tempfile::TempDir;

use crate::config::{Config, MemoryLimit};
use crate::config_errors::path_or;
use crate::error::{Error, Result};

/// A runtime with a memory pool and a private spill directory.
pub struct Runtime {
    pub env: Arc<RuntimeEnv>,
    /// The pool's size in bytes, `None` when unlimited.
    pub memory_limit: Option<u64>,
    spill_files: Arc<Mutex<BTreeMap<String, u64>>>,
    spill_dir: Arc<PrivateDir>,
}

impl Runtime {
    pub fn new(config: &Config) -> Result<Runtime> {
        let root = match &config.engine.spill_dir {
            Some(dir) => config.base_dir.join(dir),
            None => std::env::temp_dir(),
        };
        let spill_dir = private_dir(&root).map_err(|e| {
            Error::config(
                &config.file,
                format!(
                    "[engine] spill_dir: cannot create a private directory in {}: {e}",
                    path_or(&root, "the directory given")
                ),
            )
        })?;
        let spill_dir = Arc::new(spill_dir);
        let disk = Arc::new(
            DiskManagerBuilder::default()
                .with_mode(DiskManagerMode::Directories(vec![
                    spill_dir.0.path().to_path_buf(),
                ]))
                .build()?,
        );
        let spill_files = Arc::new(Mutex::new(BTreeMap::new()));
        let factory = CountedSpills {
            disk,
            created: spill_files.clone(),
        };
        // The budget is shared fairly: each operator that can spill is held to its share, so
        // that one sort cannot take the whole pool and leave another, with nothing buffered
        // yet to spill, unable to start (a first-come pool failed one 1M-customer audit in
        // six that way).
        let memory_limit = match config.engine.memory_limit {
            MemoryLimit::Unlimited => None,
            MemoryLimit::Bytes(bytes) => Some(bytes),
            MemoryLimit::Auto => default_memory_limit(),
        };
        let pool = memory_limit.map(|bytes| tracked(FairSpillPool::new(pool_size(bytes))));
        let mut builder = RuntimeEnvBuilder::new().with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Custom(Arc::new(factory))),
        );
        if let Some(pool) = pool {
            builder = builder.with_memory_pool(pool);
        }
        Ok(Runtime {
            env: builder.build_arc()?,
            memory_limit,
            spill_files,
            spill_dir,
        })
    }

    /// How many spill files the plans have created so far, by what DataFusion says each one is
    /// for ("Sorting", "SpillPool" for a repartition's queue, …).
    fn spill_files(&self) -> BTreeMap<String, u64> {
        self.spill_files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn spill_dir(&self) -> &Path {
        self.spill_dir.0.path()
    }

    /// A sentence on the spill files, when there were any: said after the run, when the engine
    /// is dropped and its spill directory with it.
    pub fn spill_note(&self) -> Option<String> {
        let by_purpose = self.spill_files();
        let files: u64 = by_purpose.values().sum();
        (files > 0).then(|| {
            let purposes = by_purpose
                .iter()
                .map(|(purpose, count)| format!("{purpose} {count}"))
                .collect::<Vec<_>>()
                .join(", ");
            let limit = self
                .memory_limit
                .map_or_else(|| "none".to_string(), |bytes| format!("{} MiB", bytes >> 20));
            format!(
                "spilled to disk {files} times ({purposes}) to stay within the memory limit ({limit}); the private spill directory was removed"
            )
        })
    }
}

/// The private directories this process holds. A process ended by a signal runs no
/// destructor, and spill files hold rows as read: [`remove_private_dirs`] is for its last act.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A private directory, listed in [`HELD`] for as long as it exists.
struct PrivateDir(TempDir);

impl Drop for PrivateDir {
    fn drop(&mut self) {
        held().retain(|path| path != self.0.path());
    }
}

/// Removes every private directory this process holds (spill and shuffle files, the judged
/// sends), for a process about to end on SIGINT or SIGTERM.
pub fn remove_private_dirs() {
    for dir in held().iter() {
        // Nothing to report to: the process is ending, and a directory already gone is fine.
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `pool`, keeping count of its consumers: a plan that runs out names the three largest
/// holders of the pool (operators, never values), so that "out of memory" says where it went.
fn tracked(pool: impl MemoryPool + 'static) -> Arc<dyn MemoryPool> {
    let top = std::num::NonZeroUsize::new(3).expect("three is not zero");
    Arc::new(TrackConsumersPool::new(pool, top))
}

fn pool_size(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Creates DataFusion's spill files in the private directory and counts them, so a run can say
/// whether it spilled.
struct CountedSpills {
    disk: Arc<DiskManager>,
    created: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl TempFileFactory for CountedSpills {
    fn create_temp_file(&self, description: &str) -> datafusion::error::Result<Arc<dyn SpillFile>> {
        *self
            .created
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(description.to_string())
            .or_default() += 1;
        self.disk.create_tmp_file(description)
    }
}

/// A fresh directory under `root` that only this user can list, read or enter, listed in
/// [`HELD`].
fn private_dir(root: &Path) -> std::io::Result<PrivateDir> {
    // The list is held while the directory is made: the signal thread, which takes the list
    // to remove what it holds, cannot run between the two and miss a directory just made.
    let mut held = held();
    let dir = tempfile::Builder::new()
        .prefix("fairmark-spill-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(root)?;
    held.push(dir.path().to_path_buf());
    Ok(PrivateDir(dir))
}

/// The budget of `memory_limit = "auto"`, the default: half of the machine.
pub(super) fn default_memory_limit() -> Option<u64> {
    physical_memory().map(|total| total / 2)
}

/// The machine's memory from `/proc/meminfo`, or the cgroup's limit when it is lower.
fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let total = total_kib * 1024;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |limit| limit.min(total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spill_directory_is_private_and_removed_with_the_runtime() {
        let root = tempfile::tempdir().unwrap();
        let mut config = Config::parse(
            "policies = [\"cn\"]\nkey = { env = \"K\" }\n[datasets.orders]\npath = \"o.csv\"\ncustomer = \"c\"\nordered_at = \"t\"\namount = \"a\"\n[engine]\nmemory_limit = \"64MiB\"\n",
            "f.toml",
        )
        .unwrap();
        config.engine.spill_dir = Some(root.path().display().to_string());
        let runtime = Runtime::new(&config).unwrap();
        assert_eq!(runtime.memory_limit, Some(64 << 20));
        let dir = runtime.spill_dir().to_path_buf();
        assert!(dir.starts_with(root.path()));
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        drop(runtime);
        assert!(!dir.exists());
    }

    #[test]
    fn auto_takes_half_of_the_machines_memory() {
        let config = Config::parse(
            "policies = [\"cn\"]\nkey = { env = \"K\" }\n[datasets.orders]\npath = \"o.csv\"\ncustomer = \"c\"\nordered_at = \"t\"\namount = \"a\"\n",
            "f.toml",
        )
        .unwrap();
        // The expected budget, reckoned without the code under test: the kernel's page count
        // times its page size (`physical_memory` parses MemTotal's kB from /proc/meminfo; both
        // are the kernel's total RAM), capped by the cgroup's memory.max where that is a number
        // ("max" is no cap), halved. Where this was written: 24,683,772 kB of RAM, so
        // 25,276,182,528 bytes, no cgroup cap, a budget of 12,638,091,264 bytes.
        // SAFETY: sysconf has no preconditions.
        let (pages, page_size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let ram = u64::try_from(pages).unwrap() * u64::try_from(page_size).unwrap();
        let cgroup_cap = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
            .ok()
            .and_then(|max| max.trim().parse::<u64>().ok());
        let machine = cgroup_cap.map_or(ram, |cap| cap.min(ram));
        assert_eq!(
            Runtime::new(&config).unwrap().memory_limit,
            Some(machine / 2)
        );
    }
}
