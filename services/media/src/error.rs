//! media's errors as problem+json.

use actix_web::http::StatusCode;
use common::Problem;

use crate::processing::Rejection;
use crate::storage::Unavailable;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{0}")]
    Rejected(#[from] Rejection),
    #[error("{0}")]
    BadRequest(String),
    #[error("no such media")]
    NotFound,
    #[error("this upload is {0}, not pending")]
    NotPending(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("only a moderator may do this")]
    NotModerator,
    #[error("post is unavailable: {0}")]
    PostUnavailable(String),
    /// Too much of this work is waiting already.
    #[error("too much {0} work is waiting; try again shortly")]
    Busy(&'static str),
    #[error(transparent)]
    Storage(#[from] Unavailable),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<mongodb::error::Error> for MediaError {
    fn from(err: mongodb::error::Error) -> Self {
        MediaError::Internal(err.into())
    }
}

impl MediaError {
    fn problem(&self) -> Problem {
        match self {
            MediaError::Rejected(rejection) => {
                let status = match rejection {
                    Rejection::TooManyBytes { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    Rejection::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Problem::new(status, rejection.to_string())
            }
            MediaError::BadRequest(detail) => Problem::bad_request(detail.clone()),
            MediaError::NotFound => Problem::not_found("No such media."),
            MediaError::NotPending(_) => Problem::conflict(self.to_string()),
            MediaError::Conflict(detail) => Problem::conflict(detail.clone()),
            MediaError::NotModerator => {
                Problem::forbidden("This needs a moderator: an admin's access token in X-Acting-User.")
            }
            MediaError::PostUnavailable(reason) => Problem::unavailable(
                "Cannot check who has access to this photo right now; nothing was changed. Try again.",
                5,
            )
            .with_cause(anyhow::anyhow!("post: {reason}")),
            MediaError::Busy(_) => Problem::unavailable(self.to_string(), 2),
            MediaError::Storage(err) => {
                Problem::unavailable("Storage is unavailable; nothing was kept. Try again.", 5)
                    .with_cause(anyhow::anyhow!("storage failed: {err}"))
            }
            MediaError::Internal(err) => Problem::from_internal(err),
        }
    }
}

common::problem_response!(MediaError);
