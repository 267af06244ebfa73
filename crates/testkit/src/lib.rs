//! Real servers for tests and the dev stack. Tests talk to these over real
//! sockets; nothing here mocks MongoDB or S3.
//!
//! - [`mongo`]: `MONGODB_URI` when set, otherwise one jongodb server per test
//!   binary; every test gets its own database name (jongodb cannot drop one).
//! - [`s3`]: `S3_ENDPOINT` when set, otherwise an in-process s3s-fs server
//!   that checks SigV4; every test gets its own bucket.
//! - [`cloudfront`]: CloudFront's API (moto's server mode) for control-plane tests.
//! - [`stripe`]: a Stripe-compatible payment provider (localstripe).
//! - [`service`]: start a service's `Application` on port 0.
//! - [`stopping`]: run a service binary and check it stops cleanly on a signal.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test support: failing loudly is the point

pub mod cloudfront;
pub mod fault;
pub mod http;
pub mod mongo;
pub mod process;
pub mod s3;
pub mod service;
pub mod stopping;
pub mod stripe;
pub mod users;

/// Logs from tests only when asked for (`TEST_LOG=1`), as in zero2prod.
pub fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        common::telemetry::init("debug");
    }
}

/// A name no other test in this run or an earlier one has used.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh folder `{prefix}-…` under the temp dir. Tests keep what they
/// write there (a failed run's data helps explain it); folders of this
/// prefix untouched for a day belong to no live run and are removed first,
/// so test runs do not fill the disk over time.
pub fn temp_folder(prefix: &str) -> std::path::PathBuf {
    const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let temp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&temp) {
        for entry in entries.flatten() {
            let ours = entry.file_name().to_str().is_some_and(|name| name.starts_with(&format!("{prefix}-")));
            let stale = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER);
            if ours && stale {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let folder = temp.join(unique_name(prefix));
    std::fs::create_dir_all(&folder).expect("a temp folder");
    folder
}

/// The repository root, where `.tools/` and `scripts/` live.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
