//! Top-ups from the payment provider: `POST /v1/payments/webhook`.
//!
//! The provider signs `"{timestamp}.{body}"` with HMAC-SHA256 under the
//! shared secret and sends `Shutter-Signature: t={timestamp},v1={hex}`.
//! Events older or newer than 5 minutes are refused (replays), and each
//! event id is applied once, in the same transaction as the credit.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{HttpRequest, web};
use common::secrecy::{ExposeSecret, SecretString};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};

use crate::Service;
use crate::error::PostError;
use crate::money::store::TopUp;

pub const REPLAY_WINDOW_S: u64 = 300;
pub const HEADER: &str = "shutter-signature";

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn sign(secret: &SecretString, timestamp: u64, body: &[u8]) -> anyhow::Result<String> {
    let key = PKey::hmac(secret.expose_secret().as_bytes())?;
    let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
    signer.update(timestamp.to_string().as_bytes())?;
    signer.update(b".")?;
    signer.update(body)?;
    Ok(common::hex(&signer.sign_to_vec()?))
}

fn verify(secret: &SecretString, header: Option<&str>, body: &[u8], now: u64) -> Result<(), PostError> {
    let header = header.ok_or(PostError::BadSignature)?;
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => signature = Some(value.to_owned()),
            _ => {}
        }
    }
    let (timestamp, signature) = timestamp.zip(signature).ok_or(PostError::BadSignature)?;
    if timestamp.abs_diff(now) > REPLAY_WINDOW_S {
        return Err(PostError::BadSignature);
    }
    let expected = sign(secret, timestamp, body)?;
    if expected.len() != signature.len() || !openssl::memcmp::eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(PostError::BadSignature);
    }
    Ok(())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// `applied`, `duplicate` (an event seen before) or `ignored` (another type).
    pub status: &'static str,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    user_id: String,
    amount_cents: u64,
}

#[utoipa::path(post, path = "/v1/payments/webhook", tag = "wallet", request_body = Event,
    params(("Shutter-Signature" = String, Header, description = "`t={unix},v1={hex HMAC-SHA256(\"{t}.{body}\")}`")),
    responses((status = 200, description = "Applied, a duplicate, or ignored", body = WebhookOutcome),
              (status = 401, description = "Unsigned, forged, or more than 5 minutes off"),
              (status = 404, description = "No webhook secret configured"),
              (status = 422, description = "An event without id or amount")))]
pub(crate) async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    service: web::Data<Service>,
) -> Result<web::Json<WebhookOutcome>, PostError> {
    let Some(secret) = &service.webhook_secret else { return Err(PostError::NotFound) };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(anyhow::Error::from)?.as_secs();
    verify(secret, req.headers().get(HEADER).and_then(|v| v.to_str().ok()), &body, now)?;
    let event: Event = serde_json::from_slice(&body)
        .map_err(|err| PostError::BadRequest(format!("The event is not accepted: {err}")))?;
    if event.kind != "topup.succeeded" {
        // Acknowledged so the provider stops sending it; nothing to do.
        return Ok(web::Json(WebhookOutcome { status: "ignored" }));
    }
    if event.amount_cents == 0 || event.id.is_empty() || event.id.len() > 128 {
        return Err(PostError::invalid("amount_cents", "an event needs an id and a positive amount"));
    }
    let reference = format!("payment:{}", event.id);
    match service.money.top_up(&event.user_id, event.amount_cents, &reference, Some(&event.id)).await? {
        TopUp::Credited { .. } => Ok(web::Json(WebhookOutcome { status: "applied" })),
        TopUp::AlreadyApplied => Ok(web::Json(WebhookOutcome { status: "duplicate" })),
    }
}
