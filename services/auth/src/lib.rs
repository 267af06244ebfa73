//! auth: accounts, password hashing, access and refresh tokens, JWKS.
//!
//! Access tokens are EdDSA JWTs (15 minutes) that every other service checks
//! against `/.well-known/jwks.json`; refresh tokens rotate on every use and a
//! reused one revokes its family. Passwords are argon2id; login failures are
//! limited per account and per address, across replicas.

pub mod api;
pub mod config;
pub mod devices;
pub mod error;
pub mod internal;
pub mod keys;
pub mod limiter;
pub mod passwords;
pub mod routes;
pub mod state;
pub mod tokens;
pub mod types;
pub mod users;

use actix_web::web;
use common::health::ReadinessChecks;
use common::mongo::{self, MongoReady};
use common::server::{self, Application};
use common::user_auth::UserTokenVerifier;

pub use config::Config;
pub use state::{Auth, Jwks};

pub const NAME: &str = common::contract::route::Service::Auth.name();
/// Sign-up and login bodies are small; anything larger is refused (413).
const JSON_LIMIT: usize = 16 * 1024;

pub async fn build(config: Config) -> anyhow::Result<Application> {
    let db = mongo::connect(&config.mongo, NAME).await?;
    let active = match &config.active_key_id {
        Some(id) => config.signing_keys.iter().find(|key| key.kid == *id),
        None => config.signing_keys.first(),
    };
    let active = active.cloned().ok_or_else(|| {
        anyhow::anyhow!("AUTH_ACTIVE_KEY_ID {:?} is not among AUTH_SIGNING_KEYS", config.active_key_id)
    })?;
    let jwks = web::Data::new(Jwks(serde_json::json!({
        "keys": config.signing_keys.iter().map(keys::SigningKey::jwk).collect::<Vec<_>>()
    })));
    let verifier = web::Data::new(UserTokenVerifier::with_keys(
        &config.issuer,
        &config.audience,
        config
            .signing_keys
            .iter()
            .map(|key| Ok((key.kid.to_string(), key.decoding()?)))
            .collect::<anyhow::Result<Vec<_>>>()?,
    ));
    let auth = web::Data::new(Auth {
        users: users::Users::new(&db).await?,
        passwords: passwords::Passwords::new(config.password_cost)?,
        access: tokens::AccessTokens {
            key: active,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        },
        refresh: tokens::RefreshTokens::new(&db).await?,
        limiter: limiter::LoginLimiter::new(&db).await?,
        devices: devices::Devices::new(&db).await?,
        trusted_proxies: config.trusted_proxies.clone(),
        signups_per_hour: config.signups_per_hour,
    });
    let service_auth = web::Data::new(common::internal_auth::ServiceAuth::new(NAME, &config.internal_keys)?);
    let readiness = ReadinessChecks::default().with(MongoReady(db.clone()));
    server::start(NAME, &config.http, readiness, move |cfg| {
        cfg.app_data(auth.clone())
            .app_data(service_auth.clone())
            .app_data(jwks.clone())
            .app_data(verifier.clone())
            .app_data(common::problem::json_config(JSON_LIMIT))
            .configure(api::configure_public)
            .configure(internal::configure);
    })
    .map(|app| app.on_stop(mongo::close(db)))
}
