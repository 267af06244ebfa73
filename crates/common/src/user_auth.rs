//! End-user authentication for public endpoints.
//!
//! Access tokens are EdDSA JWTs signed by the auth service. Their public keys
//! come from auth's JWKS, cached in memory and fetched again when a token
//! names a key id we have not seen (key rotation) — at most once per
//! [`MIN_REFRESH_INTERVAL`], so forged key ids cannot turn us into a
//! denial-of-service amplifier against auth.
//!
//! Why a token failed is logged at debug level; the client always gets the
//! same 401.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::Problem;
use crate::config::Env;
use crate::ids::{TokenId, UserId};
use crate::suspensions::Suspensions;

pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
const LEEWAY_S: u64 = 30;

#[derive(Debug, Clone)]
pub struct UserAuthSettings {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
}

impl UserAuthSettings {
    pub fn from_env(env: &mut Env) -> Option<Self> {
        let jwks_url =
            env.required("AUTH_JWKS_URL", "auth's JWKS, e.g. http://auth:8081/.well-known/jwks.json");
        let issuer = env.or("AUTH_ISSUER", "shutter-auth".to_owned(), "the `iss` access tokens must carry");
        let audience = env.or("AUTH_AUDIENCE", "shutter".to_owned(), "the `aud` access tokens must carry");
        Some(Self { jwks_url: jwks_url?, issuer: issuer?, audience: audience? })
    }
}

/// Claims of an access token that services rely on.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub jti: TokenId,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token header: {0}")]
    Header(jsonwebtoken::errors::Error),
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    #[error("token has no key id")]
    NoKeyId,
    #[error("unknown key id {0}")]
    UnknownKey(String),
    #[error("key set unavailable: {0}")]
    KeySet(String),
    #[error("invalid token: {0}")]
    Invalid(jsonwebtoken::errors::Error),
}

/// Verifies access tokens against auth's JWKS.
#[derive(Clone)]
pub struct UserTokenVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    settings: UserAuthSettings,
    /// `None` when the keys were given (auth verifying its own tokens).
    http: Option<reqwest::Client>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl UserTokenVerifier {
    pub fn new(settings: UserAuthSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            inner: Arc::new(VerifierInner {
                settings,
                http: Some(http),
                keys: RwLock::new(HashMap::new()),
                last_fetch: Mutex::new(None),
            }),
        })
    }

    /// A verifier over known keys (by key id) that never fetches a JWKS.
    pub fn with_keys(
        issuer: &str,
        audience: &str,
        keys: impl IntoIterator<Item = (String, DecodingKey)>,
    ) -> Self {
        let settings =
            UserAuthSettings { jwks_url: String::new(), issuer: issuer.into(), audience: audience.into() };
        Self {
            inner: Arc::new(VerifierInner {
                settings,
                http: None,
                keys: RwLock::new(keys.into_iter().collect()),
                last_fetch: Mutex::new(None),
            }),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::Header)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = match self.key(&kid).await {
            Some(key) => key,
            None => {
                self.refresh().await?;
                self.key(&kid).await.ok_or(TokenError::UnknownKey(kid))?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.inner.settings.issuer]);
        validation.set_audience(&[&self.inner.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_S;
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, &key, &validation).map_err(TokenError::Invalid)?;
        Ok(data.claims)
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.inner.keys.read().await.get(kid).cloned()
    }

    /// Fetches the key set again unless that was done very recently.
    async fn refresh(&self) -> Result<(), TokenError> {
        let Some(http) = &self.inner.http else { return Ok(()) };
        let mut last_fetch = self.inner.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < MIN_REFRESH_INTERVAL) {
            return Ok(());
        }
        *last_fetch = Some(Instant::now());
        let set: JwkSet = async {
            let response = http.get(&self.inner.settings.jwks_url).send().await?;
            response.error_for_status()?.json().await
        }
        .await
        .map_err(|err: reqwest::Error| TokenError::KeySet(err.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else { continue };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, key);
                }
                Err(err) => tracing::warn!(kid, error = %err, "ignoring unusable key in JWKS"),
            }
        }
        tracing::debug!(keys = keys.len(), "JWKS refreshed");
        *self.inner.keys.write().await = keys;
        Ok(())
    }
}

/// A signed-in user. A handler taking `AuthUser` answers 401 without a valid token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub roles: Vec<String>,
}

/// The role of operators (granted in auth's database): the books, and moderation.
pub const ADMIN_ROLE: &str = "admin";
/// The role of moderators: reports, and acting on them.
pub const MODERATOR_ROLE: &str = "moderator";

/// Whether `roles` may moderate (moderators and admins).
pub fn may_moderate(roles: &[String]) -> bool {
    roles.iter().any(|role| role == ADMIN_ROLE || role == MODERATOR_ROLE)
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|role| role == ADMIN_ROLE)
    }

    pub fn is_moderator(&self) -> bool {
        may_moderate(&self.roles)
    }
}

/// A user who may or may not be signed in. A present but invalid token is
/// still a 401: silently treating it as anonymous would hide client bugs.
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

/// The request's bearer token, if it names one (a malformed header is a 401).
pub fn bearer_token(req: &HttpRequest) -> Result<Option<String>, Problem> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| Problem::unauthorized("Missing or invalid access token."))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim().to_owned())),
        _ => Err(Problem::unauthorized("Missing or invalid access token.")),
    }
}

async fn authenticate(
    verifier: Option<web::Data<UserTokenVerifier>>,
    suspensions: Option<web::Data<Suspensions>>,
    token: String,
) -> Result<AuthUser, Problem> {
    let Some(verifier) = verifier else {
        tracing::error!("public route without UserTokenVerifier configured; refusing");
        return Err(Problem::unauthorized("Missing or invalid access token."));
    };
    match verifier.verify(&token).await {
        Ok(claims) if suspensions.is_some_and(|known| known.contains(&claims.sub)) => {
            Err(Problem::unauthorized("This account is suspended."))
        }
        Ok(claims) => Ok(AuthUser { user_id: claims.sub, token_id: claims.jti, roles: claims.roles }),
        Err(TokenError::KeySet(reason)) => {
            tracing::warn!(reason, "cannot verify access tokens: JWKS unavailable");
            Err(Problem::unavailable("Sign-in cannot be checked right now; try again shortly.", 5))
        }
        Err(reason) => {
            tracing::debug!(%reason, "access token refused");
            Err(Problem::unauthorized("Missing or invalid access token."))
        }
    }
}

/// The signed-in user, if the request names one; a token that is given and
/// not valid is refused either way.
fn signed_in(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Option<AuthUser>, Problem>> {
    let token = bearer_token(req);
    let verifier = req.app_data::<web::Data<UserTokenVerifier>>().cloned();
    let suspensions = req.app_data::<web::Data<Suspensions>>().cloned();
    Box::pin(async move {
        match token? {
            Some(token) => Ok(Some(authenticate(verifier, suspensions, token).await?)),
            None => Ok(None),
        }
    })
}

impl FromRequest for AuthUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = signed_in(req);
        Box::pin(async move {
            user.await?.ok_or_else(|| Problem::unauthorized("Missing or invalid access token."))
        })
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = signed_in(req);
        Box::pin(async move { Ok(MaybeAuthUser(user.await?)) })
    }
}
