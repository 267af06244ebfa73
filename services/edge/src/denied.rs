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

pub fn access_denied() -> HttpResponse {
    xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied")
}
