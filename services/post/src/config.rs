//! post's configuration.

use std::net::SocketAddr;
use std::time::Duration;

use common::config::{Env, FromEnv, Seconds};
use common::internal_auth;
use common::mongo::MongoSettings;
use common::secrecy::SecretString;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8082);
/// A page must not wait long for URLs: it answers without them instead.
pub const DEFAULT_SIGNER_TIMEOUT: Duration = Duration::from_millis(300);
pub const DEFAULT_URL_LIFETIME: Duration = Duration::from_secs(600);
/// url-signer's own default `SIGNER_MAX_BATCH`.
pub const DEFAULT_SIGN_BATCH: usize = 100;
pub const DEFAULT_MAX_PRICE_CENTS: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
    pub user_auth: UserAuthSettings,
    pub internal_secret: SecretString,
    pub upstreams: Upstreams,
    /// How long post waits for url-signer before answering without URLs.
    pub signer_timeout: Duration,
    pub url_lifetime: Duration,
    /// The most URLs in one signing call: url-signer's `SIGNER_MAX_BATCH`.
    pub sign_batch: usize,
    pub max_price_cents: u64,
    /// Platform fee in basis points of the price (0 = the creator gets all).
    pub fee_bps: u64,
    /// `POST /v1/wallet/dev-topup` exists only when this is set.
    pub dev_topup: bool,
    /// The payment provider's webhook secret; without it the webhook is 404.
    pub webhook_secret: Option<SecretString>,
}

/// The services post calls, and where photos are served from.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub auth: String,
    pub media: String,
    pub url_signer: String,
    /// The CloudFront distribution (or edge), e.g. `https://d111111abcdef8.cloudfront.net`.
    pub photos: String,
}

impl Config {
    pub fn new(
        http: HttpSettings,
        mongo: MongoSettings,
        user_auth: UserAuthSettings,
        internal_secret: SecretString,
        mut upstreams: Upstreams,
    ) -> Self {
        upstreams.photos = upstreams.photos.trim_end_matches('/').to_owned();
        Self {
            http,
            mongo,
            user_auth,
            internal_secret,
            upstreams,
            signer_timeout: DEFAULT_SIGNER_TIMEOUT,
            url_lifetime: DEFAULT_URL_LIFETIME,
            sign_batch: DEFAULT_SIGN_BATCH,
            max_price_cents: DEFAULT_MAX_PRICE_CENTS,
            fee_bps: 0,
            dev_topup: false,
            webhook_secret: None,
        }
    }
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
        let mongo = MongoSettings::from_env(env, "shutter_post");
        let user_auth = UserAuthSettings::from_env(env);
        let internal_secret = internal_auth::secret_from_env(env);
        let auth_url = env.required("AUTH_URL", "auth's internal address, e.g. http://auth:8081");
        let media_url = env.required("MEDIA_URL", "media's internal address, e.g. http://media:8083");
        let signer_url =
            env.required("URL_SIGNER_URL", "url-signer's internal address, e.g. http://url-signer:8084");
        let photo_base = env.required("PHOTO_BASE_URL", "the distribution photos are served from");
        let timeout = env.or("POST_SIGNER_TIMEOUT", Seconds(DEFAULT_SIGNER_TIMEOUT));
        let lifetime = env.or("POST_URL_LIFETIME", Seconds(DEFAULT_URL_LIFETIME));
        let sign_batch = env.or("POST_SIGN_BATCH", DEFAULT_SIGN_BATCH);
        let max_price = env.or("POST_MAX_PRICE_CENTS", DEFAULT_MAX_PRICE_CENTS);
        let fee_bps = env.or("POST_FEE_BPS", 0u64);
        let dev_topup = env.or("POST_DEV_TOPUP", false);
        let webhook_secret =
            env.is_set("POST_WEBHOOK_SECRET").then(|| env.secret("POST_WEBHOOK_SECRET", "", 16));
        if fee_bps.is_some_and(|f| f > 10_000) {
            env.problem("POST_FEE_BPS must be at most 10000 (100%)");
        }
        let upstreams =
            Upstreams { auth: auth_url?, media: media_url?, url_signer: signer_url?, photos: photo_base? };
        let mut config = Self::new(http?, mongo?, user_auth?, internal_secret?, upstreams);
        config.signer_timeout = timeout?.0;
        config.url_lifetime = lifetime?.0;
        config.sign_batch = sign_batch?.max(1);
        config.max_price_cents = max_price?;
        config.fee_bps = fee_bps?;
        config.dev_topup = dev_topup?;
        config.webhook_secret = match webhook_secret {
            Some(secret) => Some(secret?),
            None => None,
        };
        Some(config)
    }
}
