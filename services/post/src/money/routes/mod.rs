//! Money's public routes.

pub mod admin;
pub mod earnings;
pub mod purchases;
pub mod subscriptions;
pub mod wallet;

use actix_web::HttpRequest;

use crate::error::PostError;

/// The request's `Idempotency-Key`: a retry with the same key does the thing once.
fn idempotency_key(req: &HttpRequest) -> Result<&str, PostError> {
    req.headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| {
            PostError::BadRequest("An Idempotency-Key header (1–128 characters) is required.".into())
        })
}

/// An amount from a request body, as stored.
fn cents(amount_cents: u64) -> Result<i64, PostError> {
    i64::try_from(amount_cents).map_err(|_| PostError::invalid("amount_cents", "is too large"))
}
