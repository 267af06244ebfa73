//! The internal API. Every route requires a service credential; signing is
//! for post and media, the public keys also for edge.

use actix_web::{HttpResponse, web};
use common::internal_auth::{AllowedCallers, ServiceCaller};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::SignerError;
use crate::signing::{CookieRequest, SignItem, SignedUrl, UrlSigner};

pub const SIGNING_CALLERS: [&str; 2] = ["post", "media"];
pub const KEY_READERS: [&str; 3] = ["post", "media", "edge"];

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    pub items: Vec<SignItem>,
    /// Sign with this published key instead of the active one (rotation checks).
    #[serde(default)]
    pub key_id: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct SignResponse {
    pub items: Vec<SignedUrl>,
    pub key_id: String,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/internal/v1")
            .service(
                web::resource("/sign")
                    .app_data(AllowedCallers::new(SIGNING_CALLERS))
                    .route(web::post().to(sign)),
            )
            .service(
                web::resource("/cookies")
                    .app_data(AllowedCallers::new(SIGNING_CALLERS))
                    .route(web::post().to(cookies)),
            )
            .service(
                web::resource("/public-keys")
                    .app_data(AllowedCallers::new(KEY_READERS))
                    .route(web::get().to(public_keys)),
            ),
    );
}

async fn sign(
    caller: ServiceCaller,
    signer: web::Data<UrlSigner>,
    request: web::Json<SignRequest>,
) -> Result<HttpResponse, SignerError> {
    let request = request.into_inner();
    let count = request.items.len();
    // RSA is milliseconds of CPU per batch: keep it off the event loop.
    let worker = signer.clone();
    let signed = web::block(move || worker.sign(request.key_id.as_deref(), &request.items))
        .await
        .map_err(|err| SignerError::Internal(anyhow::anyhow!("signing task failed: {err}")))??;
    let (items, key_id, cache_hits) = (signed.urls, signed.key_id, signed.cache_hits);
    tracing::info!(target: "audit", caller = caller.name, items = count, cache_hits, key_id, "signed urls");
    Ok(HttpResponse::Ok().json(SignResponse { items, key_id }))
}

async fn cookies(
    caller: ServiceCaller,
    signer: web::Data<UrlSigner>,
    request: web::Json<CookieRequest>,
) -> Result<HttpResponse, SignerError> {
    let request = request.into_inner();
    let worker = signer.clone();
    let (cookies, expires_at) = web::block(move || worker.cookies(request.key_id.as_deref(), &request))
        .await
        .map_err(|err| SignerError::Internal(anyhow::anyhow!("signing task failed: {err}")))??;
    tracing::info!(target: "audit", caller = caller.name, items = 1, key_id = cookies.key_pair_id, "signed cookies");
    let pairs: serde_json::Map<String, serde_json::Value> =
        cookies.pairs().into_iter().map(|(name, value)| (name.to_owned(), value.into())).collect();
    Ok(HttpResponse::Ok().json(json!({ "cookies": pairs, "expires_at": expires_at })))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PublishedKey {
    pub id: String,
    pub algorithm: String,
    /// SubjectPublicKeyInfo PEM, as CloudFront's CreatePublicKey takes it.
    pub public_key_pem: String,
    pub active: bool,
}

async fn public_keys(caller: ServiceCaller, signer: web::Data<UrlSigner>) -> HttpResponse {
    let ring = signer.keys();
    let active = &ring.active().key_id;
    let keys: Vec<PublishedKey> = ring
        .entries()
        .iter()
        .map(|entry| PublishedKey {
            id: entry.key_id.clone(),
            algorithm: entry.public.kind().to_string(),
            public_key_pem: entry.public_pem.clone(),
            active: &entry.key_id == active,
        })
        .collect();
    tracing::debug!(caller = caller.name, keys = keys.len(), "public keys read");
    HttpResponse::Ok().json(json!({ "keys": keys }))
}
