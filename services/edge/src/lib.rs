//! edge: verifies CloudFront signed URLs and cookies as CloudFront does and
//! serves the object from S3 (CloudFront's stand-in locally and self-hosted).
//!
//! Skeleton: configuration and the S3 origin are wired; verification and
//! serving arrive with issue #4.

use std::net::SocketAddr;

use common::config::{Env, FromEnv};
use common::health::ReadinessChecks;
use common::s3::{self, S3Ready, S3Settings};
use common::server::{self, Application, HttpSettings};

pub const NAME: &str = "edge";
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8085);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub s3: S3Settings,
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
        let s3 = S3Settings::from_env(env);
        Some(Self { http: http?, s3: s3? })
    }
}

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let s3_client = s3::client(&config.s3).await;
    let readiness =
        ReadinessChecks::default().with(S3Ready { client: s3_client, bucket: config.s3.bucket.clone() });
    server::start(NAME, &config.http, readiness, |_cfg| {})
}
