//! url-signer: the only process that loads the CloudFront private key.
//!
//! Skeleton: configuration and service authentication are wired; signing
//! arrives with issue #3.

use std::net::SocketAddr;

use actix_web::web;
use common::config::{ConfigError, Env};
use common::health::ReadinessChecks;
use common::internal_auth::{self, ServiceAuth};
use common::secrecy::SecretString;
use common::server::{self, Application, HttpSettings};

pub const NAME: &str = "url-signer";
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8084);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub internal_secret: SecretString,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(Env::from_process())
    }

    pub fn from(env: Env) -> Result<Self, ConfigError> {
        env.load(|env| {
            let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
            let internal_secret = internal_auth::secret_from_env(env);
            Some(Self { http: http?, internal_secret: internal_secret? })
        })
    }
}

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let service_auth = web::Data::new(ServiceAuth::new(NAME, &config.internal_secret)?);
    server::start(NAME, &config.http, ReadinessChecks::default(), move |cfg| {
        cfg.app_data(service_auth.clone());
    })
}
