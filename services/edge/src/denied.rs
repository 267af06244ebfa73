//! Error answers in CloudFront's (and S3's) XML shape.

use http::{HeaderValue, StatusCode, header};

use crate::viewer::{Response, full, response};

pub fn xml(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = response(status, full(body.into()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// S3's answer for a key it does not hold.
pub fn no_such_key() -> Response {
    xml(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.")
}

/// The origin failed (never a 500).
pub fn origin_unavailable() -> Response {
    xml(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "The origin is unavailable; try again.")
}

pub fn access_denied() -> Response {
    xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied")
}
