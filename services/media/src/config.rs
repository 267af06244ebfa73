//! media's configuration.

use std::net::SocketAddr;
use std::time::Duration;

use common::config::{Env, FromEnv, Seconds};
use common::internal_auth;
use common::mongo::MongoSettings;
use common::s3::S3Settings;
use common::secrecy::SecretString;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;

use crate::processing::Limits;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8083);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
    pub s3: S3Settings,
    pub user_auth: UserAuthSettings,
    pub internal_secret: SecretString,
    pub limits: Limits,
    /// Direct uploads not completed within this are removed (object and record).
    pub stale_upload_after: Duration,
    /// post's internal address: buyers are checked before an owner deletes a
    /// photo, and post is told when one is removed.
    pub post_url: Option<String>,
    /// CloudFront distribution whose caches a removal purges; none locally.
    pub invalidation: Option<InvalidationSettings>,
}

#[derive(Debug, Clone)]
pub struct InvalidationSettings {
    pub distribution_id: String,
    pub api: cloudfront_api::ApiSettings,
}

impl Config {
    pub fn new(
        http: HttpSettings,
        mongo: MongoSettings,
        s3: S3Settings,
        user_auth: UserAuthSettings,
        internal_secret: SecretString,
    ) -> Self {
        Self {
            http,
            mongo,
            s3,
            user_auth,
            internal_secret,
            limits: Limits::default(),
            stale_upload_after: Duration::from_secs(24 * 3600),
            post_url: None,
            invalidation: None,
        }
    }
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
        let mongo = MongoSettings::from_env(env, "shutter_media");
        let s3 = S3Settings::from_env(env);
        let user_auth = UserAuthSettings::from_env(env);
        let internal_secret = internal_auth::secret_from_env(env);
        let defaults = Limits::default();
        let max_pixels = env.or("MEDIA_MAX_PIXELS", defaults.max_pixels);
        let max_bytes = env.or("MEDIA_MAX_BYTES", defaults.max_bytes);
        let stale = env.or("MEDIA_STALE_UPLOAD_AFTER", Seconds(Duration::from_secs(24 * 3600)));
        let post_url = env.required::<String>("POST_URL", "post's internal address, e.g. http://post:8082");
        let distribution_id = env.optional::<String>("CLOUDFRONT_DISTRIBUTION_ID");
        let api = cloudfront_api::ApiSettings::read(env);
        let mut config = Self::new(http?, mongo?, s3?, user_auth?, internal_secret?);
        config.post_url = Some(post_url?);
        config.invalidation = match distribution_id {
            Some(distribution_id) => Some(InvalidationSettings { distribution_id, api: api? }),
            None => None,
        };
        config.limits = Limits { max_pixels: max_pixels?, max_bytes: max_bytes? };
        config.stale_upload_after = stale?.0;
        Some(config)
    }
}
