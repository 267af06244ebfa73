//! post: posts, who sees which photo, wallets and paid-post purchases.
//!
//! This is where paid posts become real: entitlement (free, author, buyer)
//! decides whether a photo comes with CloudFront signed URLs from url-signer
//! or locked with its public blurred preview.

pub mod accounts;
pub mod api;
pub mod config;
pub mod error;
pub mod money;
pub mod notify;
pub mod pages;
pub mod photos;
pub mod posts;
pub mod safety;
pub mod service;
pub mod social;

use actix_web::web;
use common::contract::route::Service as Peer;
use common::health::ReadinessChecks;
use common::internal_auth::ServiceAuth;
use common::internal_client::{ClientOptions, ServiceClient};
use common::mongo::{self, MongoReady};
use common::server::{self, Application};
use common::user_auth::UserTokenVerifier;

pub use config::{Config, Upstreams};
pub use service::Service;

pub const NAME: &str = Peer::Post.name();
/// How long a page waits for buyers' marked copies (made on first view).
const MARKING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let db = mongo::connect(&config.mongo, NAME).await?;
    let auth = ServiceAuth::new(NAME, &config.internal_keys)?;
    let up = &config.upstreams;
    let media = ServiceClient::new(auth.clone(), Peer::Media, up.media.clone(), ClientOptions::default())?;
    let auth_client =
        ServiceClient::new(auth.clone(), Peer::Auth, up.auth.clone(), ClientOptions::default())?;
    // A page must not wait long for URLs: one attempt within the timeout.
    let signer_options = ClientOptions {
        connect_timeout: config.signer_timeout,
        timeout: config.signer_timeout,
        attempts: 1,
        ..ClientOptions::default()
    };
    let signer = ServiceClient::new(auth.clone(), Peer::UrlSigner, up.url_signer.clone(), signer_options)?;
    // A buyer's first view of a page may wait for media to mark their copies.
    let marking_options = ClientOptions { timeout: MARKING_TIMEOUT, attempts: 2, ..ClientOptions::default() };
    let copies = posts::copies::Copies { media: media.clone() };
    let suspended = common::suspensions::Suspensions::default();
    let outbox = notify::outbox::Outbox::new(&db).await?;
    let streams = tokio_util::sync::CancellationToken::new();
    let service = web::Data::new(Service {
        safety: safety::Safety::new(&db, suspended.clone()).await?,
        posts: posts::Posts::new(&db, outbox.clone()).await?,
        social: social::Social::new(&db, outbox.clone()).await?,
        accounts: accounts::AccountDirectory { client: auth_client.clone() },
        money: money::Money::new(&db, &config, copies.clone(), outbox.clone()).await?,
        notifications: notify::Notifications {
            outbox,
            inbox: notify::inbox::Inbox::new(&db, config.notification_retention).await?,
            live: notify::live::Live::default(),
            stopping: streams.clone(),
        },
        copies,
        media,
        renderer: posts::views::Renderer {
            cookies: posts::cookies::CookieJar::new(
                signer.clone(),
                up.photos.clone(),
                config.url_lifetime.as_secs(),
                config.cookies.clone(),
            ),
            signer,
            media: ServiceClient::new(auth.clone(), Peer::Media, up.media.clone(), marking_options)?,
            photo_base_url: up.photos.clone(),
            url_lifetime_s: config.url_lifetime.as_secs(),
            sign_batch: config.sign_batch,
        },
        binding: config.binding,
        trusted_proxies: config.trusted_proxies.clone(),
        max_price_cents: config.max_price_cents,
        dev_topup: config.dev_topup,
        topup_limits: config.topup_limits,
        payout_limits: config.payout_limits,
    });
    let workers = common::shutdown::Workers::default();
    if let Some(payments) = &service.money.payments {
        payments.outflows.start_worker(&workers);
    }
    service.money.subscriptions.start_worker(&workers, config.renewal_every);
    suspended.follow(auth_client, &workers);
    notify::relay::start(service.clone(), &workers);
    let suspended = web::Data::new(suspended);
    let service_auth = web::Data::new(auth);
    let users = web::Data::new(UserTokenVerifier::new(config.user_auth.clone())?);
    let readiness = ReadinessChecks::default().with(MongoReady(db.clone()));
    server::start(NAME, &config.http, readiness, move |cfg| {
        cfg.app_data(service_auth.clone())
            .app_data(users.clone())
            .app_data(suspended.clone())
            .app_data(service.clone())
            .configure(api::configure_public)
            .configure(photos::configure);
    })
    .map(|app| app.with_workers(workers).with_streams(streams).on_stop(mongo::close(db)))
}
