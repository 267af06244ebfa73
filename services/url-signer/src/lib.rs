//! url-signer: the only process that loads the CloudFront private key.
//!
//! It signs URLs and cookies for post and media over an internal API, within
//! guard-rails from its configuration (hosts, path prefixes, maximum
//! lifetime), with a cache that lets every viewer of a photo inside one
//! time bucket share a signature. The same binary is also a CLI (`sign`,
//! `verify`, `keygen`) mirroring `aws cloudfront sign`.

pub mod cli;
pub mod config;
pub mod error;
pub mod guard;
pub mod keyring;
pub mod manifest;
pub mod reload;
pub mod rotation;
pub mod routes;
pub mod signing;

use actix_web::web;
use common::health::ReadinessChecks;
use common::internal_auth::ServiceAuth;
use common::server::{self, Application};

pub use config::Config;

pub const NAME: &str = common::contract::route::Service::UrlSigner.name();

/// JSON bodies: a full batch of long URLs fits with room to spare.
const JSON_LIMIT: usize = 256 * 1024;

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let keys = keyring::KeyRing::new(&config.keys, config.active_key_id.as_ref(), config.hash)?;
    tracing::info!(
        keys = config.keys.len(),
        active_key_id = %keys.active().key_id,
        hash = %config.hash,
        hosts = ?config.guards.hosts,
        "CloudFront keys loaded"
    );
    let signer = web::Data::new(signing::UrlSigner::new(keys, config.guards.clone(), &config.cache));
    let workers = common::shutdown::Workers::default();
    if let Some(watch) = &config.manifest {
        reload::watch(&workers, watch.path.clone(), signer.clone(), config.hash, watch.reload_every);
    }
    let service_auth = web::Data::new(ServiceAuth::new(NAME, &config.internal_keys)?);
    server::start(NAME, &config.http, ReadinessChecks::default(), move |cfg| {
        cfg.app_data(service_auth.clone())
            .app_data(signer.clone())
            .app_data(common::problem::json_config(JSON_LIMIT))
            .configure(routes::configure);
    })
    .map(|app| app.with_workers(workers))
}
