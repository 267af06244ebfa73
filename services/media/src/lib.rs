//! media: uploads, safe image processing, derivatives and private S3 storage.
//!
//! Uploads arrive in the request body (raw or multipart) or directly in S3
//! through a presigned PUT. Images are identified by their bytes, checked
//! against pixel and byte limits before decoding, oriented, stripped of
//! metadata and turned into `display` (1080 px), `thumb` (320 px) and a
//! blurred public `preview` with a BlurHash.

pub mod api;
pub mod config;
pub mod error;
pub mod internal;
pub mod marks;
pub mod pipeline;
pub mod records;
pub mod removal;
pub mod routes;
pub mod slots;
pub mod storage;
pub mod trace;
pub mod types;

use std::time::Duration;

use actix_web::web;
use common::contract::route::Service;
use common::health::ReadinessChecks;
use common::ids::MediaId;
use common::internal_auth::ServiceAuth;
use common::internal_client::{ClientOptions, ServiceClient};
use common::mongo::{self, MongoReady};
use common::s3::{self, S3Ready};
use common::secrecy::ExposeSecret;
use common::server::{self, Application};
use common::user_auth::UserTokenVerifier;

pub use config::Config;
/// The image work itself lives in the `imaging` crate (pure, fuzzed).
pub use imaging as processing;

pub const NAME: &str = Service::Media.name();
const CLEANUP_EVERY: Duration = Duration::from_secs(3600);

/// A client for `S3_PRESIGN_ENDPOINT`, when clients reach the bucket elsewhere.
async fn presigner(config: &Config) -> Option<aws_sdk_s3::Client> {
    let endpoint = config.presign_endpoint.clone()?;
    Some(s3::client(&common::s3::S3Settings { endpoint: Some(endpoint), ..config.s3.clone() }).await)
}

/// A client of the service `name` at `url`, when one is configured.
fn client_of(
    auth: &ServiceAuth,
    name: Service,
    url: Option<&String>,
) -> anyhow::Result<Option<ServiceClient>> {
    url.map(|url| ServiceClient::new(auth.clone(), name, url.clone(), ClientOptions::default())).transpose()
}

/// What a request handler works with, over `db` and S3; removals go to `removals`.
async fn media_state(
    config: &Config,
    db: &mongodb::Database,
    service_auth: &ServiceAuth,
    removals: removal::Removals,
) -> anyhow::Result<pipeline::Media> {
    let s3_client = s3::client(&config.s3).await;
    let key =
        processing::watermark::WatermarkKey::from_secret(config.watermark_secret.expose_secret().as_bytes());
    Ok(pipeline::Media {
        records: records::Records::new(db).await?,
        storage: storage::Storage {
            client: s3_client.clone(),
            bucket: config.s3.bucket.clone(),
            presigner: presigner(config).await.unwrap_or(s3_client),
        },
        limits: config.limits,
        processing: slots::Slots::new("upload", config.processing_slots, None),
        marking: slots::Slots::new("marking", config.marking_slots, Some(config.marking_queue)),
        tracing: slots::Slots::new("trace", config.trace_slots, Some(config.trace_queue)),
        removals,
        marks: marks::Marks::new(db, key, config.copy_idle).await?,
        traces: trace::Traces::new(db).await?,
        auth: client_of(service_auth, Service::Auth, config.auth_url.as_ref())?,
    })
}

/// `media trace`: the operator's leak trace of a file, recorded as by `operator`.
pub async fn trace_file(
    config: Config,
    media_id: &MediaId,
    file: &std::path::Path,
    operator: &str,
) -> anyhow::Result<types::TraceResult> {
    let db = mongo::connect(&config.mongo, NAME).await?;
    let service_auth = ServiceAuth::new(NAME, &config.internal_keys)?;
    let removals = removal::Removals::new(&db, None, None).await?;
    let media = media_state(&config, &db, &service_auth, removals).await?;
    let record = media.records.get(media_id).await?.filter(|r| r.status == records::MediaStatus::Ready);
    let record = record.ok_or_else(|| anyhow::anyhow!("no ready photo {media_id}"))?;
    let suspect = bytes::Bytes::from(std::fs::read(file)?);
    media.check(&suspect, None).map_err(|err| anyhow::anyhow!("{err}"))?;
    let result = media.trace(&record, suspect, &format!("operator:{operator}")).await;
    mongo::close(db).await;
    result.map_err(|err| anyhow::anyhow!("{err}"))
}

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let db = mongo::connect(&config.mongo, NAME).await?;
    let service_auth = ServiceAuth::new(NAME, &config.internal_keys)?;
    let post = client_of(&service_auth, Service::Post, config.post_url.as_ref())?;
    let invalidations = match &config.invalidation {
        Some(settings) => Some(removal::Invalidations {
            cloudfront: cloudfront_api::CloudFront::new(&settings.api).await,
            distribution_id: settings.distribution_id.clone(),
        }),
        None => None,
    };
    let workers = common::shutdown::Workers::default();
    let removals = removal::Removals::new(&db, post.clone(), invalidations).await?;
    removals.start_worker(&workers);
    let media = web::Data::new(media_state(&config, &db, &service_auth, removals).await?);
    match post {
        Some(post) => media.traces.start_forwarding(post, media.records.clone(), &workers),
        None => tracing::warn!("no post address: leak traces wait here for the audit log"),
    }
    let service_auth = web::Data::new(service_auth);
    let users = web::Data::new(UserTokenVerifier::new(config.user_auth.clone())?);
    // Suspended accounts' tokens are refused from auth's list (none without auth's address).
    let suspended = common::suspensions::Suspensions::default();
    match &media.auth {
        Some(auth) => suspended.follow(auth.clone(), &workers),
        None => {
            tracing::warn!("no auth address: suspended accounts' access tokens are refused only at expiry")
        }
    }
    let suspended = web::Data::new(suspended);
    let janitor = media.clone();
    let stale_after = config.stale_upload_after;
    workers.spawn("stale-upload cleanup", async move {
        loop {
            if let Err(err) = janitor.clean_stale_uploads(stale_after).await {
                tracing::warn!(error = format!("{err:#}"), "stale-upload cleanup failed; will retry");
            }
            tokio::time::sleep(CLEANUP_EVERY).await;
        }
    });
    let sweeper = media.clone();
    let copy_idle = config.copy_idle;
    workers.spawn("idle copies", async move {
        loop {
            let before = mongodb::bson::DateTime::from_system_time(std::time::SystemTime::now() - copy_idle);
            match sweeper.marks.evict_unasked(before, &sweeper.storage).await {
                Ok(0) => {}
                Ok(evicted) => {
                    tracing::info!(evicted, "buyers' copies unasked for too long: objects removed")
                }
                Err(err) => tracing::warn!(error = %err, "idle copies not swept; will retry"),
            }
            tokio::time::sleep(copy_idle.min(CLEANUP_EVERY)).await;
        }
    });
    let readiness = ReadinessChecks::default()
        .with(MongoReady(db.clone()))
        .with(S3Ready { client: media.storage.client.clone(), bucket: config.s3.bucket.clone() });
    server::start(NAME, &config.http, readiness, move |cfg| {
        cfg.app_data(service_auth.clone())
            .app_data(users.clone())
            .app_data(suspended.clone())
            .app_data(media.clone())
            .configure(api::configure_public)
            .configure(internal::configure);
    })
    .map(|app| app.with_workers(workers).on_stop(mongo::close(db)))
}
