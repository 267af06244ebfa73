//! media: uploads, validation, derivatives, private S3 storage.
//!
//! Skeleton: configuration, MongoDB, S3, user and service authentication are
//! wired; uploads and processing arrive with issue #6.

use std::net::SocketAddr;

use actix_web::web;
use common::config::{Env, FromEnv};
use common::health::ReadinessChecks;
use common::internal_auth::{self, ServiceAuth};
use common::mongo::{self, MongoReady, MongoSettings};
use common::s3::{self, S3Ready, S3Settings};
use common::secrecy::SecretString;
use common::server::{self, Application, HttpSettings};
use common::user_auth::{UserAuthSettings, UserTokenVerifier};

pub const NAME: &str = "media";
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8083);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
    pub s3: S3Settings,
    pub user_auth: UserAuthSettings,
    pub internal_secret: SecretString,
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
        let mongo = MongoSettings::from_env(env, "shutter_media");
        let s3 = S3Settings::from_env(env);
        let user_auth = UserAuthSettings::from_env(env);
        let internal_secret = internal_auth::secret_from_env(env);
        Some(Self {
            http: http?,
            mongo: mongo?,
            s3: s3?,
            user_auth: user_auth?,
            internal_secret: internal_secret?,
        })
    }
}

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let db = mongo::connect(&config.mongo, NAME).await?;
    let s3_client = s3::client(&config.s3).await;
    let service_auth = web::Data::new(ServiceAuth::new(NAME, &config.internal_secret)?);
    let users = web::Data::new(UserTokenVerifier::new(config.user_auth.clone())?);
    let readiness = ReadinessChecks::default()
        .with(MongoReady(db))
        .with(S3Ready { client: s3_client, bucket: config.s3.bucket.clone() });
    server::start(NAME, &config.http, readiness, move |cfg| {
        cfg.app_data(service_auth.clone()).app_data(users.clone());
    })
}
