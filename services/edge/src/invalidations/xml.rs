//! CloudFront's 2020-05-31 XML for invalidations (quick-xml + serde).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use common::RequestId;
use common::ids::InvalidationId;
use serde::{Deserialize, Serialize};

pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// `CreateInvalidation`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchIn {
    pub paths: PathsIn,
    pub caller_reference: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PathsIn {
    pub quantity: i64,
    #[serde(default)]
    pub items: Option<PathItems>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PathItems {
    #[serde(rename = "Path", default)]
    pub path: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Invalidation {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub id: InvalidationId,
    pub status: &'static str,
    pub create_time: String,
    pub invalidation_batch: BatchOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchOut {
    pub paths: PathsOut,
    pub caller_reference: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PathsOut {
    pub quantity: usize,
    pub items: PathItems,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvalidationList {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub marker: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub max_items: i64,
    pub is_truncated: bool,
    pub quantity: usize,
    pub items: Summaries,
}

#[derive(Debug, Serialize)]
pub struct Summaries {
    #[serde(rename = "InvalidationSummary")]
    pub summaries: Vec<Summary>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    pub id: InvalidationId,
    pub create_time: String,
    pub status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    error: ErrorBody<'a>,
    request_id: &'a RequestId,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    code: &'a str,
    message: &'a str,
}

/// `value` as the document `root`, with the XML declaration.
pub fn document<T: Serialize>(root: &str, value: &T) -> Result<String, quick_xml::SeError> {
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        quick_xml::se::to_string_with_root(root, value)?
    ))
}

pub fn respond<T: Serialize>(status: StatusCode, root: &str, value: &T) -> HttpResponse {
    match document(root, value) {
        Ok(body) => HttpResponse::build(status).content_type("text/xml").body(body),
        Err(err) => {
            tracing::error!(error = %err, "invalidation XML did not serialize");
            error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "An internal error occurred.")
        }
    }
}

/// CloudFront's error document, which the SDKs read the code from, with
/// the id this request is served under (the one its response carries).
pub fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
    let request_id = common::request_id::current().unwrap_or_else(common::request_id::mint);
    let body =
        ErrorResponse { xmlns: NAMESPACE, error: ErrorBody { kind, code, message }, request_id: &request_id };
    let text = document("ErrorResponse", &body).unwrap_or_default();
    HttpResponse::build(status).content_type("text/xml").body(text)
}
