//! The internal API. Signing requires post's own credential; the public
//! keys need none (they are public, and edge, which reads them, faces the
//! internet and so holds no credential); like every internal route they are
//! reachable only on the internal network.

use actix_web::web;
use common::contract::signing::{
    COOKIES, CookieRequest, CookieResponse, PUBLIC_KEYS, PublicKeys, PublishedKey, SIGN, SignRequest,
    SignResponse,
};
use common::internal_auth::ServiceCaller;

use crate::error::SignerError;
use crate::signing::UrlSigner;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SIGN.serve(sign)).service(COOKIES.serve(cookies)).service(PUBLIC_KEYS.serve(public_keys));
}

#[tracing::instrument(skip_all, fields(caller = caller.name, items = request.items.len()))]
async fn sign(
    caller: ServiceCaller,
    signer: web::Data<UrlSigner>,
    request: web::Json<SignRequest>,
) -> Result<web::Json<SignResponse>, SignerError> {
    let request = request.into_inner();
    let count = request.items.len();
    // RSA is milliseconds of CPU per batch: keep it off the event loop.
    let worker = signer.clone();
    let signed = web::block(move || worker.sign(request.key_id.as_ref(), &request.items))
        .await
        .map_err(|err| SignerError::Internal(anyhow::anyhow!("signing task failed: {err}")))??;
    let (items, key_id, cache_hits) = (signed.urls, signed.key_id, signed.cache_hits);
    tracing::info!(target: "audit", caller = caller.name, items = count, cache_hits, %key_id, "signed urls");
    Ok(web::Json(SignResponse { items, key_id }))
}

#[tracing::instrument(skip_all, fields(caller = caller.name))]
async fn cookies(
    caller: ServiceCaller,
    signer: web::Data<UrlSigner>,
    request: web::Json<CookieRequest>,
) -> Result<web::Json<CookieResponse>, SignerError> {
    let request = request.into_inner();
    let worker = signer.clone();
    let (cookies, expires_at) = web::block(move || worker.cookies(request.key_id.as_ref(), &request))
        .await
        .map_err(|err| SignerError::Internal(anyhow::anyhow!("signing task failed: {err}")))??;
    tracing::info!(target: "audit", caller = caller.name, items = 1, key_id = cookies.key_pair_id, "signed cookies");
    let cookies = cookies.pairs().into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
    Ok(web::Json(CookieResponse { cookies, expires_at }))
}

async fn public_keys(signer: web::Data<UrlSigner>) -> web::Json<PublicKeys> {
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
    tracing::debug!(keys = keys.len(), "public keys read");
    web::Json(PublicKeys { keys })
}
