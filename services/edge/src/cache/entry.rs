//! A cached object, and how long the origin lets it be served.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use crate::config::CacheSettings;
use crate::origin::Meta;

#[derive(Debug)]
pub struct Cached {
    pub meta: Meta,
    pub body: Bytes,
    /// When the origin last vouched for these bytes (for `Age`).
    pub fetched_at: SystemTime,
    pub fresh_until: Instant,
    /// Past freshness, how long it may stand in for a failing origin.
    pub stale_until: Instant,
}

impl Cached {
    /// The entry, and whether it may be stored: not when the origin forbids
    /// it (`no-store`, `no-cache`, `private`, `max-age=0`), as CloudFront
    /// reads them with a minimum TTL of 0.
    pub fn new(meta: Meta, body: Bytes, settings: &CacheSettings) -> (Self, bool) {
        let lifetime = Lifetime::of(meta.cache_control.as_deref(), settings);
        let now = Instant::now();
        let ttl = lifetime.ttl.unwrap_or_default();
        let cached = Self {
            meta,
            body,
            fetched_at: SystemTime::now(),
            fresh_until: now + ttl,
            stale_until: now + ttl + lifetime.stale_if_error,
        };
        (cached, lifetime.ttl.is_some())
    }

    /// The same entry with its body in sealed memory (see `crate::sealed`).
    pub async fn sealed(mut self) -> Self {
        self.body = crate::sealed::seal_off_thread(std::mem::take(&mut self.body)).await;
        self
    }

    /// The same bytes, vouched for again by the origin (a 304).
    pub fn renewed(&self, settings: &CacheSettings) -> Self {
        let (renewed, _) = Self::new(self.meta.clone(), self.body.clone(), settings);
        renewed
    }

    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.fresh_until
    }

    pub fn may_stand_in(&self, now: Instant) -> bool {
        now < self.stale_until
    }

    /// Seconds since the origin vouched for it.
    pub fn age(&self) -> u64 {
        self.fetched_at.elapsed().map_or(0, |age| age.as_secs())
    }

    /// What it costs the memory budget: the body and a fair share for the rest.
    pub fn weight(&self, key: &str) -> u64 {
        self.body.len() as u64 + key.len() as u64 + 512
    }
}

/// The origin's `Cache-Control`, read as a shared cache reads it.
#[derive(Debug, PartialEq, Eq)]
struct Lifetime {
    /// `None`: do not store.
    ttl: Option<Duration>,
    stale_if_error: Duration,
}

impl Lifetime {
    fn of(cache_control: Option<&str>, settings: &CacheSettings) -> Self {
        let mut max_age = None;
        let mut shared_max_age = None;
        let mut stale_if_error = settings.stale_if_error;
        let mut forbidden = false;
        for directive in cache_control.unwrap_or_default().split(',') {
            let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
            let seconds = || value.trim().trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
            match name.trim().to_ascii_lowercase().as_str() {
                "no-store" | "no-cache" | "private" => forbidden = true,
                "max-age" => max_age = seconds(),
                "s-maxage" => shared_max_age = seconds(),
                "stale-if-error" => stale_if_error = seconds().unwrap_or(stale_if_error),
                _ => {}
            }
        }
        let ttl = shared_max_age.or(max_age).unwrap_or(settings.default_ttl).min(settings.max_ttl);
        Self { ttl: (!forbidden && !ttl.is_zero()).then_some(ttl), stale_if_error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(cache_control: &str) -> Option<u64> {
        Lifetime::of(Some(cache_control), &CacheSettings::default()).ttl.map(|t| t.as_secs())
    }

    #[test]
    fn the_origin_decides_how_long_within_the_limits() {
        let settings = CacheSettings::default();
        assert_eq!(Lifetime::of(None, &settings).ttl, Some(settings.default_ttl));
        assert_eq!(ttl("max-age=60"), Some(60));
        assert_eq!(ttl("public, max-age=60, s-maxage=600"), Some(600), "s-maxage is for shared caches");
        assert_eq!(ttl("max-age=99999999999"), Some(settings.max_ttl.as_secs()));
        for forbidden in ["no-store", "no-cache", "private, max-age=60", "max-age=0", "No-Store"] {
            assert_eq!(ttl(forbidden), None, "{forbidden}");
        }
        assert_eq!(ttl("max-age=garbage"), Some(settings.default_ttl.as_secs()));
    }

    #[test]
    fn stale_if_error_comes_from_the_origin_or_the_setting() {
        let settings = CacheSettings::default();
        assert_eq!(Lifetime::of(None, &settings).stale_if_error, settings.stale_if_error);
        let given = Lifetime::of(Some("max-age=60, stale-if-error=7"), &settings);
        assert_eq!(given.stale_if_error, Duration::from_secs(7));
    }
}
