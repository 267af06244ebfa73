//! `application/problem+json` (RFC 9457) responses.
//!
//! Every error a client sees has this shape: status, title, a human detail,
//! and the request id to quote in a support request. Internal failures are
//! logged in full and answered with a generic message.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error, web};
use serde::{Deserialize, Serialize};

use crate::request_id;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// The wire shape of a problem document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub request_id: Option<crate::RequestId>,
    /// Machine-readable specifics (e.g. which field or batch item was wrong).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<serde_json::Value>,
}

/// An error answered to the client as problem+json.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: Option<String>,
    errors: Option<Box<serde_json::Value>>,
    /// A `WWW-Authenticate` challenge for 401 answers.
    challenge: Option<&'static str>,
    /// A `Retry-After` value in seconds for 429 and 503 answers.
    retry_after_s: Option<u64>,
    /// What went wrong inside, logged when the problem is answered and never
    /// sent. Logging at the answer rather than at construction means a
    /// problem built twice is still logged once.
    cause: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Some(detail.into()),
            errors: None,
            challenge: None,
            retry_after_s: None,
            cause: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 401 with a Bearer challenge. The detail is deliberately vague: why a
    /// token failed is logged, not told.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self { challenge: Some("Bearer"), ..Self::new(StatusCode::UNAUTHORIZED, detail) }
    }

    pub fn unavailable(detail: impl Into<String>, retry_after_s: u64) -> Self {
        Self { retry_after_s: Some(retry_after_s), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail) }
    }

    pub fn too_many_requests(detail: impl Into<String>, retry_after_s: u64) -> Self {
        Self { retry_after_s: Some(retry_after_s), ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail) }
    }

    /// A generic 500; `cause` is logged with its whole chain when answered.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error occurred. Quote the request id when reporting it.",
        )
        .with_cause(cause)
    }

    /// What an unexpected error is answered with: 503 with `Retry-After`
    /// when some cause in its chain says the database cannot be reached now
    /// (nothing is wrong that waiting will not fix), else a generic 500.
    /// Either way the whole chain is logged, never sent.
    pub fn from_internal(cause: &anyhow::Error) -> Self {
        #[cfg(feature = "mongo")]
        let unreachable = cause
            .chain()
            .any(|c| c.downcast_ref::<mongodb::error::Error>().is_some_and(crate::mongo::is_unreachable));
        #[cfg(not(feature = "mongo"))]
        let unreachable = false;
        let problem = match unreachable {
            true => Self::unavailable("The database is unavailable; nothing was changed. Try again.", 5),
            false => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred. Quote the request id when reporting it.",
            ),
        };
        Self { cause: Some(format!("{cause:#}")), ..problem }
    }

    /// Attaches an internal cause to log (not to send) when this is answered.
    pub fn with_cause(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(format!("{:#}", cause.into()));
        self
    }

    /// Attaches machine-readable specifics, e.g. `{"field": "email"}`.
    pub fn with_errors(mut self, errors: serde_json::Value) -> Self {
        self.errors = Some(Box::new(errors));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            request_id: request_id::current(),
            errors: self.errors.as_deref().cloned(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.detail.as_deref().unwrap_or(""))
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(status = self.status.as_u16(), error = cause.as_str(), "internal error");
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)));
        if let Some(challenge) = self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge)));
        }
        if let Some(seconds) = self.retry_after_s {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        match serde_json::to_vec(&self.body()) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}

/// Makes a service's error type an actix `ResponseError` through its
/// `fn problem(&self) -> Problem`, so every service answers errors one way.
#[macro_export]
macro_rules! problem_response {
    ($error:ty) => {
        impl actix_web::ResponseError for $error {
            fn status_code(&self) -> actix_web::http::StatusCode {
                self.problem().status()
            }

            fn error_response(&self) -> actix_web::HttpResponse {
                actix_web::ResponseError::error_response(&self.problem())
            }
        }
    };
}

/// actix's own extractor errors rewritten into problem+json, so a malformed
/// body reads like every other error.
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit_bytes).error_handler(|err, _req: &HttpRequest| {
        let problem = match &err {
            error::JsonPayloadError::OverflowKnownLength { limit, .. }
            | error::JsonPayloadError::Overflow { limit } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {limit} bytes."),
            ),
            error::JsonPayloadError::ContentType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected a JSON body with Content-Type: application/json.",
            ),
            // Syntax, a missing or unknown field, a wrong type: serde's message names the field.
            error::JsonPayloadError::Deserialize(inner) => {
                Problem::bad_request(format!("The JSON body is not accepted: {inner}"))
            }
            _ => Problem::bad_request("The request body could not be read."),
        };
        problem.into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _req| Problem::not_found(format!("No such resource: {err}")).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| Problem::bad_request(format!("Bad query string: {err}")).into())
}

/// The default service: unknown routes answer 404 problem+json.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, Problem> {
    Err(Problem::not_found(format!("No route for {} {}", req.method(), req.path())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn internal_errors_hide_their_cause() {
        let problem = Problem::internal(anyhow::anyhow!("mongodb://admin:hunter2@db failed"));
        let response = problem.error_response();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers().get("content-type").unwrap(), CONTENT_TYPE);
        let body = to_bytes(response.into_body()).await.unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let parsed: ProblemBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed.status, 500);
        assert_eq!(parsed.title, "Internal Server Error");
    }

    #[actix_web::test]
    async fn unauthorized_carries_a_challenge() {
        let response = Problem::unauthorized("Missing or invalid access token.").error_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers().get("www-authenticate").unwrap(), "Bearer");
    }

    #[actix_web::test]
    async fn rate_limits_say_when_to_retry() {
        let response = Problem::too_many_requests("Slow down.", 42).error_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers().get("retry-after").unwrap(), "42");
    }
}
