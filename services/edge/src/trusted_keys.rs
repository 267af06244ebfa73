//! The key group, kept current: fixed from configuration, or read from
//! url-signer periodically. A failed refresh keeps the last good group.

use std::sync::{Arc, RwLock};

use cloudfront_sign::{KeyGroup, PublicKey};
use common::contract::route::Service;
use common::contract::signing::{PUBLIC_KEYS_PATH, PublicKeys};
use common::health::ReadinessCheck;
use common::internal_auth::{InternalKeys, ServiceAuth};
use common::internal_client::{ClientOptions, ServiceClient};
use futures_util::future::BoxFuture;

use crate::config::KeySource;

/// Signatures remembered as good (32-byte digests: about 4 MiB at most).
const SIGNATURE_MEMO: usize = 65_536;

#[derive(Clone, Default)]
pub struct TrustedKeys(Arc<RwLock<Arc<KeyGroup>>>);

impl TrustedKeys {
    /// The group as of now; verification works on this snapshot.
    pub fn snapshot(&self) -> Arc<KeyGroup> {
        match self.0.read() {
            Ok(group) => group.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, group: KeyGroup) {
        match self.0.write() {
            Ok(mut slot) => *slot = Arc::new(group),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(group),
        }
    }

    /// Loads the keys and, for url-signer, keeps them fresh in the background.
    pub async fn start(source: &KeySource, workers: &common::shutdown::Workers) -> anyhow::Result<Self> {
        let keys = Self::default();
        match source {
            KeySource::Static(list) => {
                let mut group = KeyGroup::with_memo(SIGNATURE_MEMO);
                for (id, key) in list {
                    group.insert(id.to_string(), key.clone());
                }
                keys.replace(group);
            }
            KeySource::Signer { base_url, refresh } => {
                // Without a key of its own: the route is open to the internal network.
                let auth = ServiceAuth::new(crate::state::NAME, &InternalKeys::default())?;
                let client =
                    ServiceClient::new(auth, Service::UrlSigner, base_url.clone(), ClientOptions::default())?;
                keys.refresh(&client).await;
                let (keys, refresh) = (keys.clone(), *refresh);
                workers.spawn("key group refresh", async move {
                    loop {
                        tokio::time::sleep(refresh).await;
                        keys.refresh(&client).await;
                    }
                });
            }
        }
        Ok(keys)
    }

    async fn refresh(&self, client: &ServiceClient) {
        let published: PublicKeys = match client.get_json(PUBLIC_KEYS_PATH).await {
            Ok(published) => published,
            Err(err) => {
                tracing::warn!(error = %err, "cannot refresh the key group; keeping the last one");
                return;
            }
        };
        let mut group = KeyGroup::with_memo(SIGNATURE_MEMO);
        for key in published.keys {
            match PublicKey::from_pem(key.public_key_pem.as_bytes()) {
                Ok(public) => group.insert(key.id.into_string(), public),
                Err(err) => tracing::warn!(key_id = %key.id, error = %err, "ignoring an unusable public key"),
            }
        }
        tracing::debug!(keys = group.len(), "key group refreshed");
        self.replace(group);
    }
}

/// Readiness: at least one trusted key.
pub struct KeysReady(pub TrustedKeys);

impl ReadinessCheck for KeysReady {
    fn name(&self) -> &'static str {
        "trusted_keys"
    }

    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            anyhow::ensure!(!self.0.snapshot().is_empty(), "no trusted keys loaded");
            Ok(())
        })
    }
}
