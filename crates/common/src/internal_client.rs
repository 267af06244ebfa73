//! The client one service uses to call another.
//!
//! Every call carries a fresh service token (unless the calling service has
//! no key: edge reading public keys) and the current request id.
//! Calls have a connect and a total timeout; idempotent calls (GET, HEAD,
//! PUT, DELETE, or a POST the caller marks idempotent) are retried with
//! jittered exponential backoff on connection failures, timeouts and 502/503/504.
//! Non-idempotent calls are never retried: doing something twice is worse
//! than failing once.

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::internal_auth::{Call, ServiceAuth};
use crate::problem::ProblemBody;
use crate::request_id;

#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Per attempt, from sending to the last byte of the answer.
    pub timeout: Duration,
    /// Attempts in all for an idempotent call (1 = no retry).
    pub attempts: u32,
    pub base_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            attempts: 3,
            base_backoff: Duration::from_millis(50),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The other service could not be reached or did not answer in time.
    #[error("{service} unavailable: {reason}")]
    Unavailable { service: String, reason: String },
    /// It answered with an error status.
    #[error("{service} answered {status}")]
    Status { service: String, status: StatusCode, problem: Option<ProblemBody> },
    /// It answered 2xx with a body we could not read.
    #[error("{service} answered a body we could not read: {reason}")]
    Body { service: String, reason: String },
    #[error("could not mint a service token: {0}")]
    Token(String),
}

impl CallError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client bound to one target service.
#[derive(Clone)]
pub struct ServiceClient {
    http: reqwest::Client,
    auth: ServiceAuth,
    target: String,
    base_url: String,
    options: ClientOptions,
}

impl ServiceClient {
    /// `target` is the called service's name (the token's audience);
    /// `base_url` where it listens, e.g. `http://url-signer:8084`.
    pub fn new(
        auth: ServiceAuth,
        target: impl Into<String>,
        base_url: impl Into<String>,
        options: ClientOptions,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            auth,
            target: target.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            options,
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let response = self.send(Method::GET, path, None::<&()>, true).await?;
        self.read_json(response).await
    }

    /// POST whose repetition is harmless (e.g. signing): retried like a GET.
    pub async fn post_json_idempotent<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        let response = self.send(Method::POST, path, Some(body), true).await?;
        self.read_json(response).await
    }

    /// POST whose repetition is harmless, answered without a body (204):
    /// retried like a GET.
    pub async fn post_idempotent<B: Serialize>(&self, path: &str, body: &B) -> Result<(), CallError> {
        self.send(Method::POST, path, Some(body), true).await.map(|_| ())
    }

    /// POST that changes something: sent once.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        let response = self.send(Method::POST, path, Some(body), false).await?;
        self.read_json(response).await
    }

    /// POST that changes something, with `headers` beside ours (e.g. an
    /// acting user's token): sent once.
    pub async fn post_json_with<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, String)],
    ) -> Result<T, CallError> {
        let response = self.send_with(Method::POST, path, Some(body), false, headers).await?;
        self.read_json(response).await
    }

    async fn read_json<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, CallError> {
        response
            .json()
            .await
            .map_err(|err| CallError::Body { service: self.target.clone(), reason: err.to_string() })
    }

    /// Sends a request; 2xx comes back as the response, anything else as an error.
    #[tracing::instrument(skip_all, fields(target_service = %self.target, %method, path))]
    pub async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<reqwest::Response, CallError> {
        self.send_with(method, path, body, idempotent, &[]).await
    }

    async fn send_with<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotent: bool,
        headers: &[(&str, String)],
    ) -> Result<reqwest::Response, CallError> {
        let retryable = idempotent
            || matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        let attempts = if retryable { self.options.attempts.max(1) } else { 1 };
        let url = format!("{}{}", self.base_url, path);
        let request_id = request_id::current().unwrap_or_else(request_id::mint);
        let mut last_error = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff(attempt)).await;
            }
            let call = Call { target: &self.target, method: method.as_str(), path };
            let token = self.auth.mint_if_able(call).map_err(|err| CallError::Token(err.to_string()))?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(request_id::HEADER.as_str(), request_id.as_str());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let error = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let problem = response.json::<ProblemBody>().await.ok();
                    let error = CallError::Status { service: self.target.clone(), status, problem };
                    if !matches!(
                        status,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    ) {
                        return Err(error);
                    }
                    error
                }
                Err(err) => CallError::Unavailable { service: self.target.clone(), reason: describe(&err) },
            };
            tracing::debug!(target_service = self.target, attempt, error = %error, "internal call failed");
            last_error = Some(error);
        }
        Err(last_error.unwrap_or_else(|| CallError::Unavailable {
            service: self.target.clone(),
            reason: "no attempt made".into(),
        }))
    }

    /// Full jitter: a random wait up to base × 2^attempt, capped at one second.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling =
            self.options.base_backoff.saturating_mul(1 << attempt.min(10)).min(Duration::from_secs(1));
        let millis = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        err.to_string()
    }
}
