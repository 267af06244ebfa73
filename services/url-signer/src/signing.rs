//! Turning validated requests into signed URLs and cookies, with the
//! signature cache in front of the private-key operation.

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use cloudfront_sign::policy::parse_ip_range;
use cloudfront_sign::{HashAlgorithm, Policy, SignedCookies};
use common::contract::signing::{CookieRequest, SignItem, SignedUrl};
use common::ids::KeyId;
use ipnet::IpNet;
use quick_cache::sync::Cache;

use crate::config::{CacheSettings, Guards};
use crate::error::SignerError;
use crate::keyring::{KeyEntry, KeyRing};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    resource: String,
    /// A viewer-bound URL is shared only by viewers inside the same range.
    ip_range: Option<IpNet>,
    expires: u64,
    key_id: Arc<str>,
    hash: HashAlgorithm,
}

pub struct Signed {
    pub urls: Vec<SignedUrl>,
    pub cache_hits: usize,
    pub key_id: KeyId,
}

pub struct UrlSigner {
    /// Swapped whole when the key manifest changes; readers hold a snapshot.
    keys: RwLock<Arc<KeyRing>>,
    guards: Guards,
    bucket_s: u64,
    cache: Option<Cache<CacheKey, Arc<str>>>,
}

/// What one item will be signed as, after validation.
struct Plan<'a> {
    resource: &'a str,
    policy: Policy,
    cacheable: bool,
}

impl UrlSigner {
    pub fn new(keys: KeyRing, guards: Guards, cache: &CacheSettings) -> Self {
        let bucket_s = cache.bucket.as_secs();
        let cache = (bucket_s > 0 && cache.capacity > 0).then(|| Cache::new(cache.capacity));
        Self { keys: RwLock::new(Arc::new(keys)), guards, bucket_s, cache }
    }

    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn replace_keys(&self, keys: Arc<KeyRing>) {
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
    }

    pub fn max_batch(&self) -> usize {
        self.guards.max_batch
    }

    fn key<'r>(ring: &'r KeyRing, key_id: Option<&KeyId>) -> Result<&'r KeyEntry, SignerError> {
        match key_id {
            None => Ok(ring.active()),
            Some(id) => ring.get(id).ok_or_else(|| SignerError::UnknownKey(id.clone())),
        }
    }

    /// Signs every item or none: all are validated before any is signed.
    /// Returns the URLs in request order, how many came from the cache, and
    /// the key that signed them.
    pub fn sign(&self, key_id: Option<&KeyId>, items: &[SignItem]) -> Result<Signed, SignerError> {
        if items.is_empty() {
            return Err(SignerError::EmptyBatch);
        }
        if items.len() > self.guards.max_batch {
            return Err(SignerError::BatchTooLarge { max: self.guards.max_batch, got: items.len() });
        }
        let ring = self.keys();
        let key = Self::key(&ring, key_id)?;
        let now = now();
        let plans = items
            .iter()
            .enumerate()
            .map(|(index, item)| self.plan(item, now).map_err(|reason| SignerError::Item { index, reason }))
            .collect::<Result<Vec<_>, _>>()?;
        let mut hits = 0;
        let mut signed = Vec::with_capacity(plans.len());
        for plan in plans {
            let expires_at = plan.policy.date_less_than;
            let url = match (&self.cache, plan.cacheable) {
                (Some(cache), true) => {
                    let cache_key = CacheKey {
                        resource: plan.resource.to_owned(),
                        ip_range: plan.policy.ip_address,
                        expires: expires_at,
                        key_id: Arc::from(key.key_id.as_str()),
                        hash: key.signer.hash(),
                    };
                    let mut missed = false;
                    let url = cache.get_or_insert_with(&cache_key, || {
                        missed = true;
                        key.signer.url(plan.resource, &plan.policy).map(Arc::from)
                    })?;
                    hits += usize::from(!missed);
                    url
                }
                _ => Arc::from(key.signer.url(plan.resource, &plan.policy)?),
            };
            signed.push(SignedUrl { url, expires_at });
        }
        Ok(Signed { urls: signed, cache_hits: hits, key_id: key.key_id.clone() })
    }

    fn plan<'a>(&self, item: &'a SignItem, now: u64) -> Result<Plan<'a>, String> {
        self.guards.url(&item.resource)?;
        let custom =
            self.conditions(&item.resource, item.expires_in_s, item.ip.as_deref(), item.not_before, now)?;
        // Rounding up lets every viewer inside one bucket (and, for a
        // viewer-bound URL, one address range) share a signature; it never
        // shortens a URL and never exceeds the maximum lifetime. A start time
        // is the caller's own and is never shared.
        let exact = custom.date_less_than;
        let rounded = (self.bucket_s > 0).then(|| exact.div_ceil(self.bucket_s) * self.bucket_s);
        let shareable = custom.date_greater_than.is_none();
        let shared = rounded.filter(|r| shareable && *r <= now + self.guards.max_ttl.as_secs());
        let policy = Policy { date_less_than: shared.unwrap_or(exact), ..custom };
        Ok(Plan { resource: &item.resource, policy, cacheable: shared.is_some() })
    }

    /// The policy for `resource` from a request's lifetime and conditions.
    fn conditions(
        &self,
        resource: &str,
        expires_in_s: u64,
        ip: Option<&str>,
        not_before: Option<u64>,
        now: u64,
    ) -> Result<Policy, String> {
        let expires = now + self.guards.ttl(expires_in_s)?.as_secs();
        // The range as its network (`203.0.113.0/24`, not `203.0.113.7/24`):
        // one policy text, and one cache entry, per range.
        let ip_address = ip.map(parse_ip_range).transpose()?.map(|range| range.trunc());
        if let Some(start) = not_before
            && start >= expires
        {
            return Err(format!("not_before {start} is not before the expiry {expires}"));
        }
        Ok(Policy {
            resource: Some(resource.to_owned()),
            date_less_than: expires,
            date_greater_than: not_before,
            ip_address,
        })
    }

    /// Signed cookies for a URL pattern such as `https://d/private/m1/*`.
    pub fn cookies(
        &self,
        key_id: Option<&KeyId>,
        request: &CookieRequest,
    ) -> Result<(SignedCookies, u64), SignerError> {
        let ring = self.keys();
        let key = Self::key(&ring, key_id)?;
        let policy = self
            .guards
            .pattern(&request.item.resource)
            .and_then(|_| {
                self.conditions(
                    &request.item.resource,
                    request.item.expires_in_s,
                    request.item.ip.as_deref(),
                    request.item.not_before,
                    now(),
                )
            })
            .map_err(|reason| SignerError::Item { index: 0, reason })?;
        Ok((key.signer.cookies(&policy)?, policy.date_less_than))
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}
