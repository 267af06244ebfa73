//! url-signer's errors, answered as problem+json. No message ever carries
//! key material: `SignError` is a fixed set of words.

use actix_web::http::StatusCode;
use cloudfront_sign::SignError;
use common::Problem;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("item {index}: {reason}")]
    Item { index: usize, reason: String },
    #[error("the batch is empty")]
    EmptyBatch,
    #[error("the batch has {got} items; at most {max} are signed per call")]
    BatchTooLarge { max: usize, got: usize },
    #[error("key id {0} is not one of this signer's keys")]
    UnknownKey(common::ids::KeyId),
    #[error("signing failed: {0}")]
    Signing(#[from] SignError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl SignerError {
    fn problem(&self) -> Problem {
        match self {
            SignerError::Item { index, reason } => Problem::unprocessable(self.to_string())
                .with_errors(json!([{ "index": index, "reason": reason }])),
            SignerError::EmptyBatch => Problem::unprocessable(self.to_string()),
            SignerError::BatchTooLarge { .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, self.to_string())
            }
            SignerError::UnknownKey(_) => Problem::unprocessable(self.to_string()),
            SignerError::Signing(SignError::EmptyWindow { .. }) => Problem::unprocessable(self.to_string()),
            SignerError::Signing(err) => Problem::internal(anyhow::anyhow!("signing failed: {err}")),
            SignerError::Internal(err) => Problem::from_internal(err),
        }
    }
}

common::problem_response!(SignerError);
