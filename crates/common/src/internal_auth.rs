//! Service-to-service authentication.
//!
//! Every internal call carries its own token (a JWT, HS256 over a secret
//! shared by the services) naming the calling service (`iss`), the service
//! called (`aud`), and the one request it is for (`htm` method, `htp` path
//! and query), valid for seconds and accepted once (`jti`, remembered until
//! it expires). A token seen on the wire opens nothing else: not another
//! service, not another route or method, not the same call again. An
//! internal route states which callers it accepts with [`AllowedCallers`];
//! the [`ServiceCaller`] extractor enforces it and fails closed where a
//! route forgot to say.
//!
//! What this does not do: the secret is shared, so a service that holds it
//! could mint a token naming any caller. Each service's own key pair
//! (asymmetric tokens) would close that; see docs/ARCHITECTURE.md.

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

/// How long a minted token is valid. Short: it only has to survive one call
/// (each retry mints its own).
const TOKEN_LIFETIME: Duration = Duration::from_secs(15);
/// Clock skew tolerated between replicas.
const LEEWAY_S: u64 = 5;
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
struct ServiceClaims {
    iss: String,
    aud: String,
    /// The request's method.
    htm: String,
    /// The request's path and query, as sent.
    htp: String,
    iat: u64,
    exp: u64,
    jti: String,
}

/// The one request a token is for.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub target: &'a str,
    pub method: &'a str,
    /// Path and query, e.g. `/internal/v1/sign`.
    pub path: &'a str,
}

/// Why a service token was refused (logged at debug level, never told).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("minted for {method} {path}")]
    OtherRequest { method: String, path: String },
    #[error("already used")]
    Replayed,
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
    /// Token ids accepted and not yet expired, with their expiry.
    seen: std::sync::Mutex<std::collections::HashMap<String, u64>>,
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
                seen: Default::default(),
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A token for one call from this service.
    pub fn mint(&self, call: Call<'_>) -> anyhow::Result<String> {
        self.mint_at(call, SystemTime::now())
    }

    fn mint_at(&self, call: Call<'_>, now: SystemTime) -> anyhow::Result<String> {
        let iat = now.duration_since(UNIX_EPOCH)?.as_secs();
        let claims = ServiceClaims {
            iss: self.inner.name.clone(),
            aud: call.target.to_owned(),
            htm: call.method.to_owned(),
            htp: call.path.to_owned(),
            iat,
            exp: iat + TOKEN_LIFETIME.as_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.inner.encoding)?)
    }

    /// The calling service's name, if the token is genuine, current, meant
    /// for us and for this request (`method`, `path` with its query), and
    /// not seen before.
    pub fn verify(&self, token: &str, method: &str, path: &str) -> Result<String, Refusal> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&self.inner.name]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_S;
        let claims = jsonwebtoken::decode::<ServiceClaims>(token, &self.inner.decoding, &validation)?.claims;
        if claims.htm != method || claims.htp != path {
            return Err(Refusal::OtherRequest { method: claims.htm, path: claims.htp });
        }
        self.first_use(claims.jti, claims.exp)?;
        Ok(claims.iss)
    }

    /// Remembers `jti` until it expires; a second use is refused.
    fn first_use(&self, jti: String, exp: u64) -> Result<(), Refusal> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut seen = self.inner.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= 1024 && seen.len().is_power_of_two() {
            seen.retain(|_, expires| *expires + LEEWAY_S >= now);
        }
        match seen.insert(jti, exp) {
            Some(_) => Err(Refusal::Replayed),
            None => Ok(()),
        }
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
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let caller = auth.verify(token, req.method().as_str(), path).map_err(|err| {
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

    fn sign_call(target: &str) -> Call<'_> {
        Call { target, method: "POST", path: "/internal/v1/sign" }
    }

    #[test]
    fn a_token_names_its_caller_and_only_opens_its_target() {
        let post = ServiceAuth::new("post", &secret("k")).unwrap();
        let signer = ServiceAuth::new("url-signer", &secret("k")).unwrap();
        let media = ServiceAuth::new("media", &secret("k")).unwrap();
        let token = post.mint(sign_call("url-signer")).unwrap();
        assert!(
            media.verify(&token, "POST", "/internal/v1/sign").is_err(),
            "a token for url-signer must not open media"
        );
        assert_eq!(signer.verify(&token, "POST", "/internal/v1/sign").unwrap(), "post");
    }

    #[test]
    fn a_token_opens_one_request_once() {
        let post = ServiceAuth::new("post", &secret("k")).unwrap();
        let signer = ServiceAuth::new("url-signer", &secret("k")).unwrap();
        let token = post.mint(sign_call("url-signer")).unwrap();
        assert!(matches!(
            signer.verify(&token, "GET", "/internal/v1/sign"),
            Err(Refusal::OtherRequest { .. })
        ));
        assert!(matches!(
            signer.verify(&token, "POST", "/internal/v1/public-keys"),
            Err(Refusal::OtherRequest { .. })
        ));
        assert!(matches!(
            signer.verify(&token, "POST", "/internal/v1/sign?x=1"),
            Err(Refusal::OtherRequest { .. })
        ));
        assert!(signer.verify(&token, "POST", "/internal/v1/sign").is_ok());
        assert!(matches!(signer.verify(&token, "POST", "/internal/v1/sign"), Err(Refusal::Replayed)));
    }

    #[test]
    fn forged_and_expired_tokens_are_refused() {
        let signer = ServiceAuth::new("url-signer", &secret("k")).unwrap();
        let forger = ServiceAuth::new("post", &secret("x")).unwrap();
        assert!(
            signer
                .verify(&forger.mint(sign_call("url-signer")).unwrap(), "POST", "/internal/v1/sign")
                .is_err()
        );
        let post = ServiceAuth::new("post", &secret("k")).unwrap();
        let old =
            post.mint_at(sign_call("url-signer"), SystemTime::now() - Duration::from_secs(600)).unwrap();
        assert!(signer.verify(&old, "POST", "/internal/v1/sign").is_err());
    }
}
