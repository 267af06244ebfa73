//! auth's errors as problem+json. Credentials failures all read the same.

use common::Problem;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: &'static str },
    #[error("this {0} is already taken")]
    Taken(&'static str),
    /// A taken e-mail, said without naming it.
    #[error("an account cannot be created with these details")]
    NotAvailable,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("the refresh token is invalid, expired or revoked")]
    BadRefreshToken,
    #[error("too many failed sign-ins; try again later")]
    RateLimited { retry_after_s: u64 },
    #[error("too many accounts made from this address; try again later")]
    SignupsRateLimited { retry_after_s: u64 },
    #[error("not found")]
    NotFound,
    #[error("this account is suspended")]
    Suspended,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AuthError {
    fn problem(&self) -> Problem {
        match self {
            AuthError::Invalid { field, .. } => Problem::unprocessable(self.to_string())
                .with_errors(json!([{ "field": field, "reason": self.to_string() }])),
            AuthError::Taken(field) => {
                Problem::conflict(self.to_string()).with_errors(json!([{ "field": field }]))
            }
            AuthError::NotAvailable => Problem::conflict(self.to_string()),
            AuthError::BadCredentials | AuthError::BadRefreshToken => Problem::unauthorized(self.to_string()),
            AuthError::RateLimited { retry_after_s } | AuthError::SignupsRateLimited { retry_after_s } => {
                Problem::too_many_requests(self.to_string(), *retry_after_s)
            }
            AuthError::NotFound => Problem::not_found("No such user."),
            AuthError::Suspended => Problem::forbidden("This account is suspended by the moderators."),
            AuthError::Internal(err) => Problem::from_internal(err),
        }
    }
}

common::problem_response!(AuthError);
