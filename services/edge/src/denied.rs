//! Error answers in CloudFront's (and S3's) XML shape.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

pub fn xml(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    HttpResponse::build(status)
        .content_type("text/xml")
        .insert_header(("cache-control", "no-store"))
        .body(body)
}

/// S3's answer for a key it does not hold.
pub fn no_such_key() -> HttpResponse {
    xml(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.")
}

/// The origin failed (never a 500).
pub fn origin_unavailable() -> HttpResponse {
    xml(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "The origin is unavailable; try again.")
}

pub fn access_denied() -> HttpResponse {
    xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied")
}
