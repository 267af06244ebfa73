//! auth: accounts, password hashing, access and refresh tokens, JWKS.
//!
//! Skeleton: configuration, MongoDB and the shared HTTP plumbing are wired;
//! the account endpoints arrive with issue #5.

use std::net::SocketAddr;

use common::config::{Env, FromEnv};
use common::health::ReadinessChecks;
use common::mongo::{self, MongoReady, MongoSettings};
use common::server::{self, Application, HttpSettings};

pub const NAME: &str = "auth";
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
        let mongo = MongoSettings::from_env(env, "shutter_auth");
        Some(Self { http: http?, mongo: mongo? })
    }
}

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let db = mongo::connect(&config.mongo, NAME).await?;
    let readiness = ReadinessChecks::default().with(MongoReady(db));
    server::start(NAME, &config.http, readiness, |_cfg| {})
}
