//! The optional disk tier: what the memory tier cannot hold, in files under
//! one folder with a byte budget of its own.
//!
//! Written through when an object is fetched, read back (and promoted to
//! memory) on a memory miss. A file lives as long as its index entry or a
//! reader holding it: dropping the last handle deletes it. The folder is
//! emptied at start; the tier is not kept across restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Weighter};

use crate::cache::entry::Cached;
use crate::cache::{CountEvictions, shard_options};
use crate::config::DiskSettings;
use crate::origin::Meta;

/// One object on disk.
#[derive(Debug)]
pub struct OnDisk {
    path: PathBuf,
    meta: Meta,
    len: u64,
    fetched_at: SystemTime,
    fresh_until: Instant,
    stale_until: Instant,
}

impl Drop for OnDisk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Clone)]
struct FileWeight;

impl Weighter<String, Arc<OnDisk>> for FileWeight {
    fn weight(&self, _key: &String, file: &Arc<OnDisk>) -> u64 {
        file.len.max(1)
    }
}

pub struct DiskTier {
    dir: PathBuf,
    index: Cache<String, Arc<OnDisk>, FileWeight, DefaultHashBuilder, CountEvictions>,
    next_file: AtomicU64,
}

impl DiskTier {
    pub fn open(
        settings: &DiskSettings,
        max_object_bytes: u64,
        evictions: CountEvictions,
    ) -> anyhow::Result<Self> {
        empty_folder(&settings.dir)?;
        let options = shard_options(settings.bytes, max_object_bytes)?;
        let index = Cache::with_options(options, FileWeight, DefaultHashBuilder::default(), evictions);
        Ok(Self { dir: settings.dir.clone(), index, next_file: AtomicU64::new(0) })
    }

    pub async fn get(&self, key: &str) -> Option<Cached> {
        let file = self.index.get(key)?;
        let body = match tokio::fs::read(&file.path).await {
            Ok(body) if body.len() as u64 == file.len => body,
            _ => {
                self.index.remove(key);
                return None;
            }
        };
        Some(Cached {
            meta: file.meta.clone(),
            body: body.into(),
            fetched_at: file.fetched_at,
            fresh_until: file.fresh_until,
            stale_until: file.stale_until,
        })
    }

    /// Writes `cached` for `key`; a failed write leaves the tier without it.
    pub async fn put(&self, key: &str, cached: &Cached) {
        let n = self.next_file.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{n:016x}.object"));
        if let Err(err) = write_private(&path, &cached.body).await {
            tracing::warn!(error = %err, "disk cache write failed");
            let _ = tokio::fs::remove_file(&path).await;
            return;
        }
        let file = OnDisk {
            path,
            meta: cached.meta.clone(),
            len: cached.body.len() as u64,
            fetched_at: cached.fetched_at,
            fresh_until: cached.fresh_until,
            stale_until: cached.stale_until,
        };
        self.index.insert(key.to_owned(), Arc::new(file));
    }

    pub fn remove(&self, key: &str) {
        self.index.remove(key);
    }

    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.index.retain(|key, _| keep(key));
    }

    pub fn bytes(&self) -> u64 {
        self.index.weight()
    }
}

/// A cached object is a paid photo as often as not: only this process's
/// user may read it (0600, in a 0700 folder).
async fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file =
        tokio::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).await?;
    file.write_all(body).await?;
    file.flush().await
}

/// Files a previous run left: they have no index any more. The folder is
/// made (or closed) to this process's user alone.
fn empty_folder(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let in_dir = |err: std::io::Error| anyhow::anyhow!("EDGE_CACHE_DISK_DIR {}: {err}", dir.display());
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(in_dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(in_dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "object") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
