//! Service-to-service authentication.
//!
//! Every internal call carries a short-lived token (a JWT, HS256 over a
//! secret shared by the services) naming the calling service (`iss`) and the
//! service called (`aud`), so a token minted for one service cannot be
//! replayed against another. An internal route states which callers it
//! accepts with [`AllowedCallers`]; the [`ServiceCaller`] extractor enforces
//! it and fails closed where a route forgot to say.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::config::Env;

/// How long a minted token is valid. Short: it only has to survive one call.
const TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Clock skew tolerated between replicas.
const LEEWAY_S: u64 = 5;
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
struct ServiceClaims {
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
    jti: String,
}

/// Reads `INTERNAL_AUTH_SECRET`.
pub fn secret_from_env(env: &mut Env) -> Option<SecretString> {
    env.secret(
        "INTERNAL_AUTH_SECRET",
        "secret shared by all Shutter services to authenticate internal calls",
        MIN_SECRET_BYTES,
    )
}

/// Mints and checks service tokens for one service.
#[derive(Clone)]
pub struct ServiceAuth {
    inner: Arc<ServiceAuthInner>,
}

struct ServiceAuthInner {
    name: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl ServiceAuth {
    /// `name` is this service's own name: the issuer of the tokens it mints
    /// and the audience of those it accepts.
    pub fn new(name: impl Into<String>, secret: &SecretString) -> anyhow::Result<Self> {
        let bytes = secret.expose_secret().as_bytes();
        anyhow::ensure!(bytes.len() >= MIN_SECRET_BYTES, "the internal secret is too short");
        Ok(Self {
            inner: Arc::new(ServiceAuthInner {
                name: name.into(),
                encoding: EncodingKey::from_secret(bytes)?,
                decoding: DecodingKey::from_secret(bytes)?,
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A token for a call from this service to `target`.
    pub fn mint(&self, target: &str) -> anyhow::Result<String> {
        self.mint_at(target, SystemTime::now())
    }

    fn mint_at(&self, target: &str, now: SystemTime) -> anyhow::Result<String> {
        let iat = now.duration_since(UNIX_EPOCH)?.as_secs();
        let claims = ServiceClaims {
            iss: self.inner.name.clone(),
            aud: target.to_owned(),
            iat,
            exp: iat + TOKEN_LIFETIME.as_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.inner.encoding)?)
    }

    /// The calling service's name, if the token is genuine, current and meant for us.
    pub fn verify(&self, token: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&self.inner.name]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_S;
        let data = jsonwebtoken::decode::<ServiceClaims>(token, &self.inner.decoding, &validation)?;
        Ok(data.claims.iss)
    }
}

/// The services an internal route accepts calls from. Set it as app data on
/// the route or scope: `web::scope("/internal").app_data(AllowedCallers::new(["post"]))`.
#[derive(Debug, Clone)]
pub struct AllowedCallers(Arc<HashSet<String>>);

impl AllowedCallers {
    pub fn new<S: Into<String>>(callers: impl IntoIterator<Item = S>) -> web::Data<Self> {
        web::Data::new(Self(Arc::new(callers.into_iter().map(Into::into).collect())))
    }
}

/// An authenticated calling service on an internal route.
#[derive(Debug, Clone)]
pub struct ServiceCaller {
    pub name: String,
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn authenticate(req: &HttpRequest) -> Result<ServiceCaller, Problem> {
    let Some(auth) = req.app_data::<web::Data<ServiceAuth>>() else {
        tracing::error!("internal route without ServiceAuth configured; refusing");
        return Err(Problem::unauthorized("A service credential is required."));
    };
    let Some(token) = bearer(req) else {
        tracing::debug!("internal call without a service credential");
        return Err(Problem::unauthorized("A service credential is required."));
    };
    let caller = auth.verify(token).map_err(|err| {
        tracing::debug!(reason = %err, "service credential refused");
        Problem::unauthorized("The service credential is invalid or expired.")
    })?;
    let allowed = req.app_data::<web::Data<AllowedCallers>>();
    if !allowed.is_some_and(|allowed| allowed.0.contains(&caller)) {
        tracing::warn!(caller, "service not allowed on this internal route");
        return Err(Problem::forbidden("This service may not call this endpoint."));
    }
    Ok(ServiceCaller { name: caller })
}

impl FromRequest for ServiceCaller {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.repeat(32))
    }

    #[test]
    fn a_token_names_its_caller_and_only_opens_its_target() {
        let post = ServiceAuth::new("post", &secret("k")).unwrap();
        let signer = ServiceAuth::new("url-signer", &secret("k")).unwrap();
        let media = ServiceAuth::new("media", &secret("k")).unwrap();
        let token = post.mint("url-signer").unwrap();
        assert_eq!(signer.verify(&token).unwrap(), "post");
        assert!(media.verify(&token).is_err(), "a token for url-signer must not open media");
    }

    #[test]
    fn forged_and_expired_tokens_are_refused() {
        let signer = ServiceAuth::new("url-signer", &secret("k")).unwrap();
        let forger = ServiceAuth::new("post", &secret("x")).unwrap();
        assert!(signer.verify(&forger.mint("url-signer").unwrap()).is_err());
        let post = ServiceAuth::new("post", &secret("k")).unwrap();
        let old = post.mint_at("url-signer", SystemTime::now() - Duration::from_secs(600)).unwrap();
        assert!(signer.verify(&old).is_err());
    }
}
