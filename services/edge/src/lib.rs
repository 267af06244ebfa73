//! edge: a CloudFront-compatible gate in front of S3.
//!
//! It checks signed URLs and cookies with the same rules CloudFront applies
//! (the `cloudfront-sign` crate), so a URL that works here works on
//! CloudFront and one CloudFront refuses is refused here; then it serves
//! the object from its cache or the S3 origin. It stands in for CloudFront
//! locally and in self-hosted deployments.
//!
//! Two servers, one address: viewers reach `front` (hyper, the zero-copy
//! object path), which hands CloudFront's API, health and metrics to the
//! actix server every service runs, listening on loopback.

pub mod cache;
pub mod client;
pub mod config;
pub mod denied;
pub mod front;
pub mod gate;
pub mod invalidations;
pub mod metrics;
pub mod origin;
pub mod sealed;
pub mod state;
pub mod trusted_keys;
pub mod viewer;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use actix_web::web;
use common::health::ReadinessChecks;
use common::s3::{self, S3Ready};
use common::server::{self, Application, HttpSettings};

pub use config::{Config, KeySource};
pub use state::{Edge, NAME};

pub async fn build(config: Config) -> anyhow::Result<Application> {
    config::check_public_prefix(&config.public_prefix).map_err(anyhow::Error::msg)?;
    // First: a taken address stops the start before anything else runs.
    let viewers = config.http.bind()?;
    let client = s3::client(&config.s3).await;
    let workers = common::shutdown::Workers::default();
    let keys = trusted_keys::TrustedKeys::start(&config.keys, &workers).await?;
    let mut readiness = ReadinessChecks::default()
        .with(S3Ready { client: client.clone(), bucket: config.s3.bucket.clone() })
        .with(trusted_keys::KeysReady(keys.clone()));
    let metrics = common::metrics::Metrics::new(NAME)?;
    let cache = cache::EdgeCache::new(&config.cache, metrics::CacheMetrics::register(metrics.registry())?)?;
    let invalidations = match config.invalidations {
        Some(settings) => {
            let db = common::mongo::connect(&settings.mongo, NAME).await?;
            readiness = readiness.with(common::mongo::MongoReady(db.clone()));
            let store = invalidations::store::Store::open(&db).await?;
            if let Some(cache) = &cache {
                store.watch(cache.clone(), settings.poll, &workers);
            }
            Some(web::Data::new(invalidations::Invalidations { settings, store, cache: cache.clone() }))
        }
        None => None,
    };
    let edge = Arc::new(Edge {
        keys,
        origin: origin::Origin { client, bucket: config.s3.bucket.clone() },
        trusted_proxies: config.trusted_proxies,
        public_prefix: config.public_prefix,
        public_cache_control: config.public_cache_control,
        private_cache_control: config.private_cache_control,
        cache,
    });
    let control_settings =
        HttpSettings { shutdown_grace: config.http.shutdown_grace, ..HttpSettings::ephemeral() };
    let control = server::start_measured(NAME, &control_settings, readiness, metrics.clone(), move |cfg| {
        if let Some(api) = &invalidations {
            invalidations::routes(cfg, api.clone());
        }
    })?;
    let control_at = SocketAddr::from((Ipv4Addr::LOCALHOST, control.port()));
    let front = front::start(
        viewers,
        edge,
        front::forward::Control::new(control_at),
        metrics,
        config.http.shutdown_grace,
    )?;
    tracing::info!(service = NAME, port = front.port, "viewers' listener up");
    Ok(control.with_front(front).with_workers(workers))
}
