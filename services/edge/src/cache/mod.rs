//! edge's cache: after verification, never before it.
//!
//! Keyed by the object key alone — the signing parameters (`Expires`,
//! `Policy`, `Signature`, `Key-Pair-Id`, `Hash-Algorithm`) never reach it,
//! as CloudFront leaves them out of the cache key of private content — so
//! every viewer's valid URL shares one copy. A memory tier with a byte
//! budget (quick_cache: S3-FIFO, which keeps hot objects through a scan of
//! one-off views where plain LRU would flush them), an optional disk tier,
//! concurrent misses coalesced into one origin fetch, and stale objects
//! standing in for a failing origin for a bounded time.

pub mod disk;
pub mod entry;
pub mod flight;
pub mod respond;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use http::{Method, header};
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, Options, OptionsBuilder, Weighter};

use crate::config::CacheSettings;
use crate::denied;
use crate::metrics::CacheMetrics;
use crate::origin::{Failure, Fetched, Origin};
use crate::sealed;
use crate::viewer::{Response, Viewer};
use entry::Cached;
use respond::{Served, mark, respond};

/// What one origin fetch gave its waiters.
type Outcome = Result<Filled, Failure>;

#[derive(Clone)]
enum Filled {
    Object {
        cached: Arc<Cached>,
        revalidated: bool,
    },
    /// Over the size limit: each waiter streams it from the origin.
    TooLarge,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<String, Arc<Cached>> for ByBytes {
    fn weight(&self, key: &String, cached: &Arc<Cached>) -> u64 {
        cached.weight(key)
    }
}

/// Counts what a tier drops to stay within its budget.
#[derive(Clone)]
pub struct CountEvictions(prometheus::IntCounter);

impl<K, V> Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn on_evict(&self, _state: &mut (), _key: K, _value: V) {
        self.0.inc();
    }
}

/// Shards that each hold the largest object (quick_cache splits the budget).
pub fn shard_options(budget: u64, max_object_bytes: u64) -> anyhow::Result<Options> {
    let shards = (budget / max_object_bytes.max(1)).clamp(1, 16);
    let shards = 1usize << shards.ilog2();
    OptionsBuilder::new()
        .shards(shards)
        .weight_capacity(budget)
        .estimated_items_capacity(usize::try_from(budget / (64 << 10)).unwrap_or(usize::MAX).max(64))
        .build()
        .map_err(|err| anyhow::anyhow!("cache options: {err:?}"))
}

pub struct EdgeCache {
    memory: Cache<String, Arc<Cached>, ByBytes, DefaultHashBuilder, CountEvictions>,
    disk: Option<disk::DiskTier>,
    flights: flight::Flights<Outcome>,
    /// Keys found over the size limit: streamed straight through, without
    /// first opening (and dropping) a fetch for the cache.
    too_large: Cache<String, ()>,
    /// Bumped by every invalidation: a fetch that began before one does not
    /// store what it brings.
    epoch: AtomicU64,
    settings: CacheSettings,
    pub metrics: CacheMetrics,
}

impl EdgeCache {
    /// `None` when the memory budget is 0 (caching off).
    pub fn new(settings: &CacheSettings, metrics: CacheMetrics) -> anyhow::Result<Option<Arc<Self>>> {
        if settings.memory_bytes == 0 {
            return Ok(None);
        }
        settings.check().map_err(anyhow::Error::msg)?;
        let evictions = |tier: &str| CountEvictions(metrics.evictions.with_label_values(&[tier]));
        let options = shard_options(settings.memory_bytes, settings.max_object_bytes)?;
        let memory =
            Cache::with_options(options, ByBytes, DefaultHashBuilder::default(), evictions("memory"));
        let disk = match &settings.disk {
            Some(disk) => Some(disk::DiskTier::open(disk, settings.max_object_bytes, evictions("disk"))?),
            None => None,
        };
        Ok(Some(Arc::new(Self {
            memory,
            disk,
            flights: flight::Flights::default(),
            too_large: Cache::new(10_000),
            epoch: AtomicU64::new(0),
            settings: settings.clone(),
            metrics,
        })))
    }

    /// Serves a verified GET or HEAD of `key`.
    pub async fn serve(
        self: &Arc<Self>,
        req: &Viewer,
        key: &str,
        cache_control: &str,
        origin: &Origin,
    ) -> Response {
        let known = self.lookup(key).await;
        let now = Instant::now();
        if let Some((cached, tier)) = &known
            && cached.is_fresh(now)
        {
            self.metrics.hits.with_label_values(&[tier]).inc();
            return self.answer(req, cached, cache_control, Served::Hit);
        }
        self.metrics.misses.inc();
        if self.too_large.get(key).is_some() {
            return self.pass_through(req, key, cache_control, origin).await;
        }
        let stale = known.map(|(cached, _)| cached);
        let (flight, joined) = self.flights.join(key, |id| {
            // Its own task: it lands (and leaves the table) even when every
            // request waiting for it goes away; should it panic, the first
            // waiter lands it instead.
            let fetch = tokio::spawn(self.clone().fetch(origin.clone(), key.to_owned(), stale.clone(), id));
            let (cache, key) = (self.clone(), key.to_owned());
            async move {
                let outcome = fetch.await.unwrap_or(Err(Failure::Unavailable));
                cache.flights.land(&key, id);
                outcome
            }
        });
        if joined {
            self.metrics.coalesced.inc();
        }
        match tokio::time::timeout(self.settings.coalesce_wait, flight).await {
            Ok(Ok(Filled::Object { cached, revalidated })) => {
                let served = if revalidated { Served::RefreshHit } else { Served::Miss };
                self.answer(req, &cached, cache_control, served)
            }
            Ok(Ok(Filled::TooLarge)) | Err(_) => self.pass_through(req, key, cache_control, origin).await,
            Ok(Err(Failure::NotFound)) => {
                self.remove(key);
                let mut response = denied::no_such_key();
                mark(&mut response, Served::Error);
                response
            }
            // The window is judged when the request came, not after the
            // origin took its time to fail.
            Ok(Err(Failure::Unavailable)) => match stale.filter(|s| s.may_stand_in(now)) {
                Some(stale) => {
                    self.metrics.stale_served.inc();
                    self.answer(req, &stale, cache_control, Served::Hit)
                }
                None => {
                    let mut response = denied::origin_unavailable();
                    mark(&mut response, Served::Error);
                    response
                }
            },
        }
    }

    fn answer(&self, req: &Viewer, cached: &Cached, cache_control: &str, served: Served) -> Response {
        let response = respond(req, cached, cache_control, served);
        if let Some(length) = body_length(req, &response) {
            self.metrics.bytes_from_cache.inc_by(length);
        }
        response
    }

    /// Straight from the origin, uncached (objects over the size limit, or
    /// when another's fetch takes too long).
    async fn pass_through(&self, req: &Viewer, key: &str, cache_control: &str, origin: &Origin) -> Response {
        self.metrics.origin_fetches.inc();
        let mut response = origin.serve(req, key, cache_control).await;
        if let Some(length) = body_length(req, &response) {
            self.metrics.bytes_from_origin.inc_by(length);
        }
        mark(&mut response, Served::Miss);
        response
    }

    async fn lookup(&self, key: &str) -> Option<(Arc<Cached>, &'static str)> {
        if let Some(cached) = self.memory.get(key) {
            return Some((cached, "memory"));
        }
        let cached = Arc::new(self.disk.as_ref()?.get(key).await?.sealed().await);
        self.memory.insert(key.to_owned(), cached.clone());
        Some((cached, "disk"))
    }

    /// One origin fetch (a revalidation when a stale copy has an ETag),
    /// shared by every request that joins it.
    async fn fetch(
        self: Arc<Self>,
        origin: Origin,
        key: String,
        stale: Option<Arc<Cached>>,
        id: u64,
    ) -> Outcome {
        let epoch = self.epoch.load(Ordering::Acquire);
        self.metrics.origin_fetches.inc();
        let validator = stale.as_ref().and_then(|s| s.meta.e_tag.clone());
        let fetched = origin.fetch_whole(&key, validator.as_deref(), self.settings.max_object_bytes).await;
        let outcome = match fetched {
            Ok(Fetched::Whole(meta, body)) => {
                self.metrics.bytes_from_origin.inc_by(body.len() as u64);
                let (cached, storable) = Cached::new(meta, body, &self.settings);
                let cached = Arc::new(if storable { cached.sealed().await } else { cached });
                if storable {
                    self.store(&key, &cached, epoch).await;
                } else {
                    self.remove(&key);
                }
                Ok(Filled::Object { cached, revalidated: false })
            }
            Ok(Fetched::NotModified) => match stale {
                Some(stale) => {
                    let cached = Arc::new(stale.renewed(&self.settings));
                    self.store(&key, &cached, epoch).await;
                    Ok(Filled::Object { cached, revalidated: true })
                }
                None => Err(Failure::Unavailable),
            },
            Ok(Fetched::TooLarge) => {
                self.too_large.insert(key.clone(), ());
                Ok(Filled::TooLarge)
            }
            Err(failure) => Err(failure),
        };
        self.flights.land(&key, id);
        outcome
    }

    async fn store(&self, key: &str, cached: &Arc<Cached>, epoch: u64) {
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        self.memory.insert(key.to_owned(), cached.clone());
        if let Some(disk) = &self.disk {
            disk.put(key, cached).await;
        }
        // An invalidation while it was written wins.
        if self.epoch.load(Ordering::Acquire) != epoch {
            self.remove(key);
        }
        self.measure();
    }

    fn remove(&self, key: &str) {
        self.memory.remove(key);
        if let Some(disk) = &self.disk {
            disk.remove(key);
        }
        self.measure();
    }

    /// Drops every key `matches` names, from both tiers and from fetches in flight.
    pub fn invalidate(&self, matches: impl Fn(&str) -> bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.flights.forget(&matches);
        self.too_large.retain(|key, _| !matches(key));
        self.memory.retain(|key, _| !matches(key));
        if let Some(disk) = &self.disk {
            disk.retain(|key| !matches(key));
        }
        self.measure();
    }

    fn measure(&self) {
        self.metrics.sealed_bodies.set(i64::try_from(sealed::count()).unwrap_or(i64::MAX));
        self.metrics
            .size
            .with_label_values(&["memory"])
            .set(i64::try_from(self.memory.weight()).unwrap_or(i64::MAX));
        if let Some(disk) = &self.disk {
            self.metrics
                .size
                .with_label_values(&["disk"])
                .set(i64::try_from(disk.bytes()).unwrap_or(i64::MAX));
        }
    }
}

/// The body bytes `response` sends (none for a HEAD).
fn body_length(req: &Viewer, response: &Response) -> Option<u64> {
    if req.head.method == Method::HEAD {
        return None;
    }
    response.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}
