//! post's errors as problem+json.

use actix_web::http::StatusCode;
use common::Problem;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("no such post")]
    NotFound,
    #[error("no such user")]
    UserNotFound,
    #[error("no such comment")]
    CommentNotFound,
    #[error("the webhook signature is missing, stale or wrong")]
    BadSignature,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("the wallet holds {balance_cents} cents; this costs {price_cents}")]
    InsufficientFunds { balance_cents: i64, price_cents: u64 },
    #[error("{0} is unavailable; try again")]
    Unavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl PostError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        PostError::Invalid { field: field.into(), message: message.into() }
    }

    fn problem(&self) -> Problem {
        match self {
            PostError::Invalid { field, .. } => Problem::unprocessable(self.to_string())
                .with_errors(json!([{ "field": field, "reason": self.to_string() }])),
            PostError::BadRequest(detail) => Problem::bad_request(detail.clone()),
            PostError::NotFound => Problem::not_found("No such post."),
            PostError::UserNotFound => Problem::not_found("No such user."),
            PostError::CommentNotFound => Problem::not_found("No such comment."),
            PostError::BadSignature => Problem::unauthorized(self.to_string()),
            PostError::Conflict(detail) => Problem::conflict(*detail),
            PostError::InsufficientFunds { .. } => {
                Problem::new(StatusCode::PAYMENT_REQUIRED, self.to_string())
            }
            PostError::Unavailable(_) => Problem::unavailable(self.to_string(), 2),
            PostError::Internal(err) => Problem::from_internal(err),
        }
    }
}

impl From<mongodb::error::Error> for PostError {
    fn from(err: mongodb::error::Error) -> Self {
        PostError::Internal(err.into())
    }
}

common::problem_response!(PostError);
