//! Keeping the signer's keys as the manifest says while running, so a key
//! rotation needs no restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloudfront_sign::HashAlgorithm;

use crate::keyring::KeyRing;
use crate::manifest::Manifest;
use crate::signing::UrlSigner;

/// Rereads the manifest every `interval` and swaps the keys in when it
/// changed. A manifest that does not load keeps the keys in use, loudly.
pub fn watch(
    workers: &common::shutdown::Workers,
    path: PathBuf,
    signer: actix_web::web::Data<UrlSigner>,
    hash: HashAlgorithm,
    interval: Duration,
) {
    workers.spawn("key manifest watch", async move {
        let mut last = std::fs::read(&path).ok();
        loop {
            tokio::time::sleep(interval).await;
            let current = std::fs::read(&path).ok();
            if current == last {
                continue;
            }
            last = current;
            let ring = Manifest::read(&path)
                .and_then(|manifest| manifest.load_keys(&path).map(|keys| (manifest, keys)))
                .and_then(|(manifest, keys)| {
                    KeyRing::new(&keys, Some(&manifest.active_key_id), hash).map_err(|err| err.to_string())
                });
            match ring {
                Ok(ring) => {
                    let ids: Vec<&str> = ring.entries().iter().map(|e| e.key_id.as_str()).collect();
                    tracing::info!(keys = ?ids, active_key_id = %ring.active().key_id, "key manifest reloaded");
                    signer.replace_keys(Arc::new(ring));
                }
                Err(problem) => {
                    tracing::error!(%problem, "key manifest not reloaded; keeping the keys in use")
                }
            }
        }
    });
}
