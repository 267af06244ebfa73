//! Request ids: accepted from `X-Request-Id` or minted, put on the tracing
//! span and the response, and carried by the internal client to every
//! service the request touches.
//!
//! The id lives in a task-local for the duration of the request, so code deep
//! inside a handler (the internal client, problem rendering) finds it without
//! threading it through every call.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use tracing::Instrument;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

crate::opaque_id!(
    /// The id of the request being served (also an extractor).
    RequestId,
    "request id"
);

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The current request's id, if called while serving one.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `fut` with `id` as the current request id (for background work that
/// continues a request, and for tests).
pub async fn scope<F: Future>(id: RequestId, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// An incoming id is kept only when it is short and plain, so a client cannot
/// inject text into our logs through it.
fn accept_incoming(value: &[u8]) -> Option<RequestId> {
    let text = std::str::from_utf8(value).ok()?;
    let plain = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| RequestId(text.to_owned()))
}

/// The incoming `X-Request-Id` when it is plain, else a new one (for
/// servers that are not actix: edge's viewer listener).
pub fn accept_or_mint(incoming: Option<&[u8]>) -> RequestId {
    incoming.and_then(accept_incoming).unwrap_or_else(mint)
}

pub fn mint() -> RequestId {
    RequestId(uuid::Uuid::now_v7().simple().to_string())
}

/// Middleware: the outermost layer of every service.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = accept_or_mint(req.headers().get(&HEADER).map(HeaderValue::as_bytes));
    req.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let result = CURRENT.scope(id.clone(), next.call(req).instrument(span.clone())).await;
    let mut response = result?;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, elapsed_ms, "request finished"));
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.extensions().get::<RequestId>().cloned().unwrap_or_else(mint);
        std::future::ready(Ok(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_odd_ones_replaced() {
        assert_eq!(accept_incoming(b"abc-123_x.y").unwrap().as_str(), "abc-123_x.y");
        assert_eq!(accept_incoming(b"has space"), None);
        assert_eq!(accept_incoming(b""), None);
        let long = "a".repeat(65);
        assert_eq!(accept_incoming(long.as_bytes()), None);
    }

    #[tokio::test]
    async fn the_current_id_is_visible_inside_its_scope_only() {
        assert_eq!(current(), None);
        let id = mint();
        let seen = scope(id.clone(), async { current() }).await;
        assert_eq!(seen, Some(id));
    }
}
