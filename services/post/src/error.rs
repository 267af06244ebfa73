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
    #[error("no such purchase")]
    PurchaseNotFound,
    #[error("no such tier")]
    TierNotFound,
    #[error("no such subscription")]
    SubscriptionNotFound,
    #[error("no such top-up")]
    TopupNotFound,
    #[error("no such payout")]
    PayoutNotFound,
    #[error("no such notification")]
    NotificationNotFound,
    #[error("Last-Event-ID is older than notifications are kept")]
    StreamExpired,
    #[error("card payments are not enabled here")]
    PaymentsOff,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the webhook signature is missing, stale or wrong")]
    BadSignature,
    #[error("{0}")]
    UnknownPayment(String),
    #[error("the card was declined: {0}")]
    CardDeclined(String),
    #[error("the payment provider refused the request")]
    ProviderRefused,
    #[error("the balance holds {balance_cents} cents; this needs {amount_cents}")]
    NotCovered { balance_cents: i64, amount_cents: i64 },
    /// A record written twice: the caller reads the first one back.
    #[error("already recorded")]
    Duplicate,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("the wallet holds {balance_cents} cents; this costs {price_cents}")]
    InsufficientFunds { balance_cents: i64, price_cents: u64 },
    #[error("too many of your {action}s this minute; try again in {retry_after_s} s")]
    TooMany { action: &'static str, retry_after_s: u64 },
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
            PostError::PurchaseNotFound => Problem::not_found("No such purchase."),
            PostError::TierNotFound => Problem::not_found("No such tier."),
            PostError::SubscriptionNotFound => Problem::not_found("No such subscription."),
            PostError::TopupNotFound => Problem::not_found("No such top-up."),
            PostError::PayoutNotFound => Problem::not_found("No such payout."),
            PostError::NotificationNotFound => Problem::not_found("No such notification."),
            PostError::StreamExpired => Problem::new(
                StatusCode::GONE,
                "Last-Event-ID is older than notifications are kept: read the inbox, then open a new stream.",
            ),
            PostError::PaymentsOff => Problem::not_found("Card payments are not enabled here."),
            PostError::Forbidden(detail) => Problem::new(StatusCode::FORBIDDEN, *detail),
            PostError::BadSignature => Problem::bad_request(self.to_string()),
            PostError::UnknownPayment(detail) => Problem::unprocessable(detail.clone()),
            PostError::CardDeclined(_) => Problem::new(StatusCode::PAYMENT_REQUIRED, self.to_string()),
            PostError::ProviderRefused => Problem::new(StatusCode::BAD_GATEWAY, self.to_string()),
            PostError::NotCovered { .. } => Problem::conflict(self.to_string()),
            PostError::Duplicate => Problem::conflict(self.to_string()),
            PostError::Conflict(detail) => Problem::conflict(*detail),
            PostError::InsufficientFunds { .. } => {
                Problem::new(StatusCode::PAYMENT_REQUIRED, self.to_string())
            }
            PostError::TooMany { retry_after_s, .. } => {
                Problem::too_many_requests(self.to_string(), *retry_after_s)
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
