//! media's configuration.

use std::net::SocketAddr;
use std::time::Duration;

use common::config::{Env, FromEnv, Seconds};
use common::ids::DistributionId;
use common::internal_auth::{InternalKeys, Role};
use common::mongo::MongoSettings;
use common::s3::S3Settings;
use common::secrecy::SecretString;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;

use crate::processing::Limits;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8083);
pub const DEFAULT_STALE_UPLOAD_AFTER: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_COPY_IDLE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Images decoded at once. A 50-megapixel decode and its derivatives peak
/// near 300 MiB, so two slots fit a 768 MiB container with room for the rest.
pub const DEFAULT_PROCESSING_SLOTS: usize = 2;
/// Buyers' marked copies made at once (each decodes one display, ~2 MP), and
/// how many more may wait before a request is told to come back.
pub const DEFAULT_MARKING_SLOTS: usize = 1;
pub const DEFAULT_MARKING_QUEUE: usize = 64;
/// Leak traces at once (a suspect up to the pixel limit is decoded, then
/// scaled down to the clean display's size), and how many more may wait.
pub const DEFAULT_TRACE_SLOTS: usize = 1;
pub const DEFAULT_TRACE_QUEUE: usize = 4;

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
    pub s3: S3Settings,
    pub user_auth: UserAuthSettings,
    pub internal_keys: InternalKeys,
    pub limits: Limits,
    /// Direct uploads not completed within this are removed (object and record).
    pub stale_upload_after: Duration,
    /// A buyer's copy not asked for this long loses its objects (made again when asked).
    pub copy_idle: Duration,
    /// post's internal address: buyers are checked before an owner deletes a
    /// photo, and post is told when one is removed.
    pub post_url: Option<String>,
    /// CloudFront distribution whose caches a removal purges; none locally.
    pub invalidation: Option<InvalidationSettings>,
    /// Where clients reach the bucket, when not at the endpoint media uses
    /// (MinIO behind a proxy): presigned upload URLs are made for it.
    pub presign_endpoint: Option<String>,
    /// At most this many images are decoded at once (memory: see the default).
    pub processing_slots: usize,
    /// Marked copies at once, and waiting.
    pub marking_slots: usize,
    pub marking_queue: usize,
    /// Leak traces at once, and waiting.
    pub trace_slots: usize,
    pub trace_queue: usize,
    /// Keys the forensic mark in buyers' copies; only media holds it.
    pub watermark_secret: SecretString,
    /// auth's internal address, for a traced buyer's username.
    pub auth_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InvalidationSettings {
    pub distribution_id: DistributionId,
    pub api: cloudfront_api::ApiSettings,
}

impl Config {
    pub fn new(
        http: HttpSettings,
        mongo: MongoSettings,
        s3: S3Settings,
        user_auth: UserAuthSettings,
        internal_keys: InternalKeys,
        watermark_secret: SecretString,
    ) -> Self {
        Self {
            http,
            mongo,
            s3,
            user_auth,
            internal_keys,
            limits: Limits::default(),
            stale_upload_after: DEFAULT_STALE_UPLOAD_AFTER,
            copy_idle: DEFAULT_COPY_IDLE,
            post_url: None,
            invalidation: None,
            presign_endpoint: None,
            processing_slots: DEFAULT_PROCESSING_SLOTS,
            marking_slots: DEFAULT_MARKING_SLOTS,
            marking_queue: DEFAULT_MARKING_QUEUE,
            trace_slots: DEFAULT_TRACE_SLOTS,
            trace_queue: DEFAULT_TRACE_QUEUE,
            watermark_secret,
            auth_url: None,
        }
    }
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let defaults = Limits::default();
        common::read_env!(Config {
            http: HttpSettings::from_env(env, DEFAULT_LISTEN),
            mongo: MongoSettings::from_env(env, "shutter_media"),
            s3: S3Settings::from_env(env),
            user_auth: UserAuthSettings::from_env(env),
            internal_keys: InternalKeys::from_env(env, Role { calls: true, serves: true }),
            limits: common::read_env!(Limits {
                max_pixels: env.or("MEDIA_MAX_PIXELS", defaults.max_pixels, "the largest image, width × height"),
                max_bytes: env.or("MEDIA_MAX_BYTES", defaults.max_bytes, "the largest upload, in bytes"),
            }),
            stale_upload_after: env
                .or(
                    "MEDIA_STALE_UPLOAD_AFTER",
                    Seconds(DEFAULT_STALE_UPLOAD_AFTER),
                    "when unfinished direct uploads are removed"
                )
                .map(|s| s.0),
            copy_idle: env
                .or(
                    "MEDIA_COPY_IDLE",
                    Seconds(DEFAULT_COPY_IDLE),
                    "a buyer's copy not asked for this long loses its objects (made again, the same, when asked)"
                )
                .map(|s| s.0),
            post_url: env
                .required(
                    "POST_URL",
                    "post's internal address, e.g. http://post:8082: buyers are checked before an owner deletes a photo, and post is told when one is removed"
                )
                .map(Some),
            invalidation: invalidation_from_env(env),
            presign_endpoint: Some(env.optional::<String>(
                "S3_PRESIGN_ENDPOINT",
                "where clients reach the bucket for presigned uploads (a proxy in front of MinIO); unset: `S3_ENDPOINT`"
            )),
            processing_slots: env
                .or(
                    "MEDIA_PROCESSING_SLOTS",
                    DEFAULT_PROCESSING_SLOTS,
                    "uploads decoded at once (a 50 MP one peaks near 300 MiB)"
                )
                .map(|n| n.max(1)),
            marking_slots: env
                .or("MEDIA_MARKING_SLOTS", DEFAULT_MARKING_SLOTS, "buyers' marked copies made at once")
                .map(|n| n.max(1)),
            marking_queue: env.or(
                "MEDIA_MARKING_QUEUE",
                DEFAULT_MARKING_QUEUE,
                "marked copies waiting for a slot (503 beyond)"
            ),
            trace_slots: env.or("MEDIA_TRACE_SLOTS", DEFAULT_TRACE_SLOTS, "leak traces at once").map(|n| n.max(1)),
            trace_queue: env.or("MEDIA_TRACE_QUEUE", DEFAULT_TRACE_QUEUE, "leak traces waiting for a slot (503 beyond)"),
            watermark_secret: env.secret(
                "MEDIA_WATERMARK_SECRET",
                "keys buyers' forensic marks (at least 32 bytes); keep it as long as any copy it marked may be traced",
                32
            ),
            auth_url: env
                .required("AUTH_URL", "auth's internal address, e.g. http://auth:8081: a traced buyer's username, and the suspended accounts whose tokens are refused")
                .map(Some),
        })
    }
}

/// The CloudFront distribution a removal invalidates, when one is named.
fn invalidation_from_env(env: &mut Env) -> Option<Option<InvalidationSettings>> {
    let distribution_id = env.optional::<DistributionId>(
        "CLOUDFRONT_DISTRIBUTION_ID",
        "the distribution a takedown or deletion invalidates (the dev stack and compose: edge's, through its CloudFront API); unset: skipped, and logged",
    );
    let api = cloudfront_api::ApiSettings::read(env);
    match distribution_id {
        Some(distribution_id) => Some(Some(InvalidationSettings { distribution_id, api: api? })),
        None => Some(None),
    }
}
