//! Sealed memory: a cached body copied into its own memfd, sealed against
//! every change, and mapped read-only — so the viewer listener can hand the
//! kernel the file's pages (`sendfile`) where it would otherwise copy the
//! bytes into the socket, and everything else reads it as plain `Bytes`.
//!
//! Why this is sound: once sealed (`F_SEAL_WRITE | F_SEAL_SHRINK |
//! F_SEAL_GROW | F_SEAL_SEAL`) nothing — not this process, not one the
//! descriptor could leak to — can change or shorten the file, so the mapping
//! is valid, immutable memory for as long as it stays mapped, which is as
//! long as any `Bytes` of it lives. Pages still in a socket's queue when the
//! entry is evicted keep their own references and their content.
//!
//! Each sealed body costs a descriptor and a mapping, so the count is
//! bounded (a share of the descriptor limit, well under `vm.max_map_count`)
//! and small bodies, where a copy costs next to nothing, stay on the heap;
//! past the bound, or when the kernel refuses, a body stays on the heap too.

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use bytes::Bytes;
use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

/// Bodies smaller than this stay on the heap.
pub const MIN_BYTES: usize = 64 << 10;
/// At most this many sealed bodies (each a descriptor and a mapping).
const MAX_REGIONS: usize = 16_384;

/// A mapped body's length, and its file.
type Region = (usize, Arc<OwnedFd>);

/// Where sealed bodies are mapped, by start address.
static REGIONS: LazyLock<RwLock<BTreeMap<usize, Region>>> = LazyLock::new(Default::default);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// `body` in sealed memory when it is large enough and the kernel agrees;
/// otherwise `body` itself.
pub fn seal(body: Bytes) -> Bytes {
    if body.len() < MIN_BYTES {
        return body;
    }
    if COUNT.fetch_add(1, Ordering::AcqRel) >= region_limit() {
        COUNT.fetch_sub(1, Ordering::AcqRel);
        return body;
    }
    match Sealed::copy_of(&body) {
        Ok(sealed) => Bytes::from_owner(sealed),
        Err(err) => {
            COUNT.fetch_sub(1, Ordering::AcqRel);
            tracing::debug!(error = %err, "body kept on the heap");
            body
        }
    }
}

/// [`seal`] on the blocking pool: copying a large body and mapping it takes
/// a thread for milliseconds, which the runtime's workers should not give.
pub async fn seal_off_thread(body: Bytes) -> Bytes {
    if body.len() < MIN_BYTES {
        return body;
    }
    let fallback = body.clone();
    tokio::task::spawn_blocking(move || seal(body)).await.unwrap_or(fallback)
}

/// Sealed bodies alive now (in this process).
pub fn count() -> usize {
    COUNT.load(Ordering::Acquire)
}

/// The sealed file holding the memory at `at`, with `at`'s offset in it and
/// the bytes left in its region from there; `None` for any other memory.
pub fn find(at: *const u8) -> Option<(Arc<OwnedFd>, usize, usize)> {
    let at = at as usize;
    let regions = REGIONS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (start, (len, file)) = regions.range(..=at).next_back()?;
    let offset = at - start;
    (offset < *len).then(|| (file.clone(), offset, len - offset))
}

/// Half the descriptors the process may open, so sealed bodies never starve
/// its connections, and no more than `MAX_REGIONS`.
fn region_limit() -> usize {
    static LIMIT: LazyLock<usize> = LazyLock::new(|| {
        let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .unwrap_or((1024, 1024));
        usize::try_from(soft / 2).unwrap_or(MAX_REGIONS).min(MAX_REGIONS)
    });
    *LIMIT
}

/// One sealed, mapped body; unmapped and closed on drop.
struct Sealed {
    start: NonNull<u8>,
    len: usize,
}

// The mapping is read-only memory no one can change (see the module's note).
unsafe impl Send for Sealed {}
unsafe impl Sync for Sealed {}

impl Sealed {
    fn copy_of(body: &[u8]) -> std::io::Result<Self> {
        let len = NonZeroUsize::new(body.len()).ok_or(nix::Error::EINVAL)?;
        let file = memfd_create(c"edge-cache", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)?;
        let mut writer = std::fs::File::from(file);
        writer.write_all(body)?;
        let file = OwnedFd::from(writer);
        let seals =
            SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
        fcntl(&file, FcntlArg::F_ADD_SEALS(seals))?;
        // SAFETY: a shared read-only mapping of a file sealed against
        // writes, growth and shrinking: its bytes never change and it never
        // ends early (no SIGBUS). MAP_POPULATE maps the pages now, so the
        // process's resident size tells the memory the cache really holds.
        let start = unsafe {
            mmap(None, len, ProtFlags::PROT_READ, MapFlags::MAP_SHARED | MapFlags::MAP_POPULATE, &file, 0)?
        };
        let start = start.cast::<u8>();
        REGIONS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(start.as_ptr() as usize, (body.len(), Arc::new(file)));
        Ok(Self { start, len: body.len() })
    }
}

impl AsRef<[u8]> for Sealed {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped read-only at `start` until `drop`,
        // never changed (sealed).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl Drop for Sealed {
    fn drop(&mut self) {
        // Out of the registry first: no writer finds it once it is unmapped.
        // (None can be looking: a writer only looks while it holds a `Bytes`
        // of this mapping, which keeps it alive.) The file closes when the
        // last `Arc` goes; pages the kernel still sends stay referenced.
        REGIONS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&(self.start.as_ptr() as usize));
        // SAFETY: mapped by `copy_of` with this length; no reference into
        // it outlives `self` (every `Bytes` of it owns `self`).
        if let Err(err) = unsafe { munmap(self.start.cast(), self.len) } {
            tracing::warn!(error = %err, "cannot unmap a cached body");
        }
        COUNT.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_are_sealed_and_found_small_ones_stay() {
        let content: Vec<u8> = (0..MIN_BYTES * 2).map(|i| (i % 251) as u8).collect();
        let sealed = seal(Bytes::from(content.clone()));
        assert_eq!(&sealed[..], &content[..]);
        let (file, offset, left) = find(sealed.as_ptr()).expect("sealed");
        assert_eq!((offset, left), (0, content.len()));
        let part = sealed.slice(1000..2000);
        let (_, offset, left) = find(part.as_ptr()).expect("inside");
        assert_eq!((offset, left), (1000, content.len() - 1000));
        // Sealed: the file refuses writes.
        assert!(nix::unistd::write(&*file, b"x").is_err());

        let small = seal(Bytes::from(vec![1u8; 100]));
        assert!(find(small.as_ptr()).is_none());
        let start = sealed.as_ptr();
        drop((sealed, part, file));
        assert!(find(start).is_none(), "unregistered once dropped");
    }
}
