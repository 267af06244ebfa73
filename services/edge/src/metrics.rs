//! The cache's figures in edge's Prometheus output.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct CacheMetrics {
    /// By tier: `memory`, `disk`.
    pub hits: IntCounterVec,
    pub misses: IntCounter,
    /// Requests that waited for another's origin fetch instead of their own.
    pub coalesced: IntCounter,
    /// Stale objects served while the origin failed.
    pub stale_served: IntCounter,
    pub bytes_from_cache: IntCounter,
    pub bytes_from_origin: IntCounter,
    pub origin_fetches: IntCounter,
    /// By tier.
    pub evictions: IntCounterVec,
    /// By tier, in bytes of budget used.
    pub size: IntGaugeVec,
    pub invalidated_paths: IntCounter,
    /// Cached bodies held in sealed memory (the rest are on the heap).
    pub sealed_bodies: IntGauge,
    /// Body bytes the kernel took from sealed memory (`sendfile`), not copied.
    pub zero_copy_bytes: IntCounter,
}

impl CacheMetrics {
    pub fn register(registry: &Registry) -> anyhow::Result<Self> {
        let counter = |name: &str, help: &str| -> anyhow::Result<IntCounter> {
            let counter = IntCounter::new(name, help)?;
            registry.register(Box::new(counter.clone()))?;
            Ok(counter)
        };
        let by_tier = |name: &str, help: &str| -> anyhow::Result<IntCounterVec> {
            let counter = IntCounterVec::new(Opts::new(name, help), &["tier"])?;
            registry.register(Box::new(counter.clone()))?;
            Ok(counter)
        };
        let size =
            IntGaugeVec::new(Opts::new("edge_cache_size_bytes", "Cache budget in use, by tier."), &["tier"])?;
        registry.register(Box::new(size.clone()))?;
        let sealed_bodies = IntGauge::new(
            "edge_cache_sealed_bodies",
            "Cached bodies held in sealed memory by this process.",
        )?;
        registry.register(Box::new(sealed_bodies.clone()))?;
        Ok(Self {
            hits: by_tier("edge_cache_hits_total", "Requests served from the cache, by tier.")?,
            misses: counter("edge_cache_misses_total", "Requests the cache could not serve fresh.")?,
            coalesced: counter(
                "edge_cache_coalesced_total",
                "Misses that waited for another request's origin fetch.",
            )?,
            stale_served: counter(
                "edge_cache_stale_served_total",
                "Stale objects served while the origin failed.",
            )?,
            bytes_from_cache: counter("edge_cache_bytes_served_total", "Body bytes served from the cache.")?,
            bytes_from_origin: counter("edge_origin_bytes_total", "Body bytes fetched from the origin.")?,
            origin_fetches: counter("edge_origin_fetches_total", "Object fetches sent to the origin.")?,
            evictions: by_tier(
                "edge_cache_evictions_total",
                "Objects evicted to stay within budget, by tier.",
            )?,
            size,
            invalidated_paths: counter(
                "edge_invalidation_paths_total",
                "Invalidation paths applied on this replica.",
            )?,
            sealed_bodies,
            zero_copy_bytes: counter(
                "edge_zero_copy_bytes_total",
                "Body bytes sent from sealed memory by sendfile, without a copy.",
            )?,
        })
    }
}
