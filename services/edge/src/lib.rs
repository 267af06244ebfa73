//! edge: a CloudFront-compatible gate in front of S3.
//!
//! It checks signed URLs and cookies with the same rules CloudFront applies
//! (the `cloudfront-sign` crate), so a URL that works here works on
//! CloudFront and one CloudFront refuses is refused here; then it streams
//! the object from the S3 origin. It stands in for CloudFront locally and in
//! self-hosted deployments.

pub mod client;
pub mod config;
pub mod denied;
pub mod gate;
pub mod origin;
pub mod trusted_keys;

use actix_web::web;
use common::health::ReadinessChecks;
use common::s3::{self, S3Ready};
use common::server::{self, Application};
use ipnet::IpNet;

pub use config::{Config, KeySource};

pub const NAME: &str = "edge";

/// What every request needs.
pub struct Edge {
    pub keys: trusted_keys::TrustedKeys,
    pub origin: origin::Origin,
    pub trusted_proxies: Vec<IpNet>,
    pub public_prefix: String,
    pub public_cache_control: String,
    pub private_cache_control: String,
}

pub async fn build(config: Config) -> anyhow::Result<Application> {
    config::check_public_prefix(&config.public_prefix).map_err(anyhow::Error::msg)?;
    let client = s3::client(&config.s3).await;
    let workers = common::shutdown::Workers::default();
    let keys = trusted_keys::TrustedKeys::start(&config.keys, &workers).await?;
    let readiness = ReadinessChecks::default()
        .with(S3Ready { client: client.clone(), bucket: config.s3.bucket.clone() })
        .with(trusted_keys::KeysReady(keys.clone()));
    let edge = web::Data::new(Edge {
        keys,
        origin: origin::Origin { client, bucket: config.s3.bucket.clone() },
        trusted_proxies: config.trusted_proxies,
        public_prefix: config.public_prefix,
        public_cache_control: config.public_cache_control,
        private_cache_control: config.private_cache_control,
    });
    server::start(NAME, &config.http, readiness, move |cfg| {
        cfg.app_data(edge.clone()).route("/{object_key:.*}", web::route().to(gate::serve));
    })
    .map(|app| app.with_workers(workers))
}
