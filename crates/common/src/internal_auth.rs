//! Service-to-service authentication.
//!
//! Every internal call carries its own token (a JWT, EdDSA) signed with the
//! calling service's own Ed25519 key, naming the calling service (`kid` and
//! `iss`), the service called (`aud`), and the one request it is for (`htm`
//! method, `htp` path and query), valid for seconds and accepted once
//! (`jti`, remembered until it expires). A token seen on the wire opens
//! nothing else: not another service, not another route or method, not the
//! same call again.
//!
//! Each service holds only its own private key and the public keys of the
//! services it accepts calls from, so a compromised service can speak only
//! as itself: it cannot mint a token naming another caller. An internal
//! route states which callers it accepts with [`AllowedCallers`]; the
//! [`ServiceCaller`] extractor enforces it and fails closed where a route
//! forgot to say. A caller may have two public keys at once while its key
//! is rotated (docs/ARCHITECTURE.md#internal-calls).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::config::{Env, KeyFile};

/// How long a minted token is valid. Short: it only has to survive one call
/// (each retry mints its own).
const TOKEN_LIFETIME: Duration = Duration::from_secs(15);
/// Clock skew tolerated between replicas.
const LEEWAY_S: u64 = 5;

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
    #[error("no key of caller {0:?} is known here")]
    UnknownCaller(String),
    #[error("signed as {kid:?} but names {iss:?}")]
    NotItsIssuer { kid: String, iss: String },
    #[error("minted for {method} {path}")]
    OtherRequest { method: String, path: String },
    #[error("already used")]
    Replayed,
}

/// One service's credentials for internal calls: its own private key, for
/// the calls it makes, and the public keys of the services it accepts calls
/// from, by name. `Debug` never shows the private key.
#[derive(Clone, Default)]
pub struct InternalKeys {
    /// Ed25519, PKCS#8 PEM. `None`: this service calls no one.
    pub own: Option<SecretString>,
    /// (caller, public key PEM); a caller may be listed twice while its key
    /// is rotated.
    pub callers: Vec<(String, String)>,
}

impl std::fmt::Debug for InternalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let callers: Vec<&str> = self.callers.iter().map(|(name, _)| name.as_str()).collect();
        write!(
            f,
            "InternalKeys(own: {}, callers: {callers:?})",
            if self.own.is_some() { "[redacted]" } else { "none" }
        )
    }
}

/// Which of [`InternalKeys`]' halves a service must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// Makes internal calls: `INTERNAL_AUTH_KEY` is required.
    pub calls: bool,
    /// Serves internal routes: `INTERNAL_AUTH_CALLERS` is required.
    pub serves: bool,
}

impl InternalKeys {
    /// Reads `INTERNAL_AUTH_KEY` (this service's private key file, mode
    /// 0600) and `INTERNAL_AUTH_CALLERS` (`SERVICE=/path/public.pem,...`),
    /// each only where `role` needs it.
    pub fn from_env(env: &mut Env, role: Role) -> Option<Self> {
        let own = match role.calls {
            true => {
                let path = env.required::<std::path::PathBuf>(
                    "INTERNAL_AUTH_KEY",
                    "this service's own Ed25519 private key file (mode 0600) that signs its internal calls (`auth keygen FILE` makes one, with `FILE.pub`)",
                );
                match path.map(|path| read_private_key(&path)) {
                    Some(Ok(pem)) => Some(Some(pem)),
                    Some(Err(err)) => {
                        env.problem(format!("INTERNAL_AUTH_KEY: {err}"));
                        None
                    }
                    None => None,
                }
            }
            false => Some(None),
        };
        let callers = match role.serves {
            true => read_callers(env),
            false => Some(Vec::new()),
        };
        Some(Self { own: own?, callers: callers? })
    }
}

fn read_private_key(path: &std::path::Path) -> Result<SecretString, String> {
    let pem = crate::private_file::read(path)?;
    let pem = String::from_utf8(pem).map_err(|_| format!("{} is not PEM text", path.display()))?;
    EncodingKey::from_ed_pem(pem.as_bytes())
        .map_err(|_| format!("{} is not an Ed25519 private key (PKCS#8 PEM)", path.display()))?;
    Ok(SecretString::from(pem))
}

fn read_callers(env: &mut Env) -> Option<Vec<(String, String)>> {
    const NAME: &str = "INTERNAL_AUTH_CALLERS";
    let files: Vec<KeyFile> = env.required_list(
        NAME,
        "`SERVICE=/path/public.pem,...`: the public keys of the services allowed to call this one (a service twice while its key is rotated)",
    )?;
    let mut callers = Vec::new();
    for file in files {
        let read = std::fs::read_to_string(&file.path).map_err(|err| err.to_string()).and_then(|pem| {
            DecodingKey::from_ed_pem(pem.as_bytes())
                .map_err(|_| "not an Ed25519 public key (PEM)".to_owned())?;
            Ok(pem)
        });
        match read {
            Ok(pem) => callers.push((file.key_id.into_string(), pem)),
            Err(err) => env.problem(format!("{NAME}: {}: {err}", file.path.display())),
        }
    }
    Some(callers)
}

/// A new Ed25519 key pair for a service: (private PKCS#8 PEM, public PEM).
pub fn generate_key() -> anyhow::Result<(SecretString, String)> {
    let key = openssl::pkey::PKey::generate_ed25519()?;
    let private = String::from_utf8(key.private_key_to_pem_pkcs8()?)?;
    let public = String::from_utf8(key.public_key_to_pem()?)?;
    Ok((SecretString::from(private), public))
}

/// Mints and checks service tokens for one service.
#[derive(Clone)]
pub struct ServiceAuth {
    inner: Arc<ServiceAuthInner>,
}

struct ServiceAuthInner {
    name: String,
    own: Option<EncodingKey>,
    callers: HashMap<String, Vec<DecodingKey>>,
    /// Token ids accepted and not yet expired, with their expiry.
    seen: std::sync::Mutex<HashMap<String, u64>>,
}

impl ServiceAuth {
    /// `name` is this service's own name: the issuer of the tokens it mints
    /// and the audience of those it accepts.
    pub fn new(name: impl Into<String>, keys: &InternalKeys) -> anyhow::Result<Self> {
        let name = name.into();
        let own = keys
            .own
            .as_ref()
            .map(|pem| EncodingKey::from_ed_pem(pem.expose_secret().as_bytes()))
            .transpose()
            .map_err(|_| anyhow::anyhow!("{name}'s internal key is not an Ed25519 private key"))?;
        let mut callers: HashMap<String, Vec<DecodingKey>> = HashMap::new();
        for (caller, pem) in &keys.callers {
            let key = DecodingKey::from_ed_pem(pem.as_bytes())
                .map_err(|_| anyhow::anyhow!("{caller}'s internal public key is not Ed25519"))?;
            callers.entry(caller.clone()).or_default().push(key);
        }
        Ok(Self { inner: Arc::new(ServiceAuthInner { name, own, callers, seen: Default::default() }) })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A token for one call from this service.
    pub fn mint(&self, call: Call<'_>) -> anyhow::Result<String> {
        self.mint_at(call, SystemTime::now())
    }

    /// A token for `call`, or none from a service without a key of its own
    /// (edge reading url-signer's public keys, which need none).
    pub fn mint_if_able(&self, call: Call<'_>) -> anyhow::Result<Option<String>> {
        match self.inner.own {
            Some(_) => self.mint(call).map(Some),
            None => Ok(None),
        }
    }

    fn mint_at(&self, call: Call<'_>, now: SystemTime) -> anyhow::Result<String> {
        let key =
            self.inner.own.as_ref().ok_or_else(|| anyhow::anyhow!("{} has no internal key", self.name()))?;
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
        let header = Header { kid: Some(self.inner.name.clone()), ..Header::new(Algorithm::EdDSA) };
        Ok(jsonwebtoken::encode(&header, &claims, key)?)
    }

    /// The calling service's name, if the token is signed by that service's
    /// own key, current, meant for us and for this request (`method`,
    /// `path` with its query), and not seen before.
    pub fn verify(&self, token: &str, method: &str, path: &str) -> Result<String, Refusal> {
        let kid = jsonwebtoken::decode_header(token)?.kid.unwrap_or_default();
        let keys = self.inner.callers.get(&kid).ok_or_else(|| Refusal::UnknownCaller(kid.clone()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[&self.inner.name]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_S;
        // One key, or two while the caller's key is rotated.
        let mut outcome = Err(Refusal::UnknownCaller(kid.clone()));
        for key in keys {
            outcome = jsonwebtoken::decode::<ServiceClaims>(token, key, &validation).map_err(Refusal::from);
            if outcome.is_ok() {
                break;
            }
        }
        let claims = outcome?.claims;
        if claims.iss != kid {
            return Err(Refusal::NotItsIssuer { kid, iss: claims.iss });
        }
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

    /// Keys of `post`, `media` and `url-signer`, each service knowing the others.
    fn services() -> HashMap<&'static str, ServiceAuth> {
        let pairs: Vec<(&str, (SecretString, String))> =
            ["post", "media", "url-signer"].into_iter().map(|name| (name, generate_key().unwrap())).collect();
        let callers: Vec<(String, String)> =
            pairs.iter().map(|(name, (_, public))| ((*name).to_owned(), public.clone())).collect();
        pairs
            .into_iter()
            .map(|(name, (own, _))| {
                let keys = InternalKeys { own: Some(own), callers: callers.clone() };
                (name, ServiceAuth::new(name, &keys).unwrap())
            })
            .collect()
    }

    fn sign_call(target: &str) -> Call<'_> {
        Call { target, method: "POST", path: "/internal/v1/sign" }
    }

    #[test]
    fn a_token_names_its_caller_and_only_opens_its_target() {
        let services = services();
        let token = services["post"].mint(sign_call("url-signer")).unwrap();
        assert!(
            services["media"].verify(&token, "POST", "/internal/v1/sign").is_err(),
            "a token for url-signer must not open media"
        );
        assert_eq!(services["url-signer"].verify(&token, "POST", "/internal/v1/sign").unwrap(), "post");
    }

    #[test]
    fn a_token_opens_one_request_once() {
        let services = services();
        let (post, signer) = (&services["post"], &services["url-signer"]);
        let token = post.mint(sign_call("url-signer")).unwrap();
        for (method, path) in [
            ("GET", "/internal/v1/sign"),
            ("POST", "/internal/v1/public-keys"),
            ("POST", "/internal/v1/sign?x=1"),
        ] {
            assert!(matches!(signer.verify(&token, method, path), Err(Refusal::OtherRequest { .. })));
        }
        assert!(signer.verify(&token, "POST", "/internal/v1/sign").is_ok());
        assert!(matches!(signer.verify(&token, "POST", "/internal/v1/sign"), Err(Refusal::Replayed)));
    }

    #[test]
    fn a_service_cannot_speak_as_another() {
        let services = services();
        let signer = &services["url-signer"];
        // media signs a token that names post: its key is not post's.
        let media_key = generate_key().unwrap().0;
        let forged_kid = {
            let claims = ServiceClaims {
                iss: "post".into(),
                aud: "url-signer".into(),
                htm: "POST".into(),
                htp: "/internal/v1/sign".into(),
                iat: 0,
                exp: u64::MAX / 2,
                jti: "x".into(),
            };
            let header = Header { kid: Some("post".into()), ..Header::new(Algorithm::EdDSA) };
            let key = EncodingKey::from_ed_pem(media_key.expose_secret().as_bytes()).unwrap();
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        };
        assert!(matches!(signer.verify(&forged_kid, "POST", "/internal/v1/sign"), Err(Refusal::Invalid(_))));
        // Signed with its own key, media's token cannot claim to be post's.
        let media = &services["media"];
        let own = media.mint(sign_call("url-signer")).unwrap();
        assert_eq!(signer.verify(&own, "POST", "/internal/v1/sign").unwrap(), "media");
        // A caller this service holds no key for is refused.
        let stranger = ServiceAuth::new(
            "stranger",
            &InternalKeys { own: Some(generate_key().unwrap().0), callers: Vec::new() },
        )
        .unwrap();
        let token = stranger.mint(sign_call("url-signer")).unwrap();
        assert!(matches!(signer.verify(&token, "POST", "/internal/v1/sign"), Err(Refusal::UnknownCaller(_))));
    }

    #[test]
    fn a_rotated_key_is_accepted_beside_the_old_one_until_removed() {
        let (old, old_public) = generate_key().unwrap();
        let (new, new_public) = generate_key().unwrap();
        let both = InternalKeys {
            own: None,
            callers: vec![("post".into(), old_public.clone()), ("post".into(), new_public)],
        };
        let signer = ServiceAuth::new("url-signer", &both).unwrap();
        for own in [old, new.clone()] {
            let post =
                ServiceAuth::new("post", &InternalKeys { own: Some(own), callers: Vec::new() }).unwrap();
            let token = post.mint(sign_call("url-signer")).unwrap();
            assert_eq!(signer.verify(&token, "POST", "/internal/v1/sign").unwrap(), "post");
        }
        let only_old = ServiceAuth::new(
            "url-signer",
            &InternalKeys { own: None, callers: vec![("post".into(), old_public)] },
        )
        .unwrap();
        let post = ServiceAuth::new("post", &InternalKeys { own: Some(new), callers: Vec::new() }).unwrap();
        let token = post.mint(sign_call("url-signer")).unwrap();
        assert!(only_old.verify(&token, "POST", "/internal/v1/sign").is_err());
    }

    #[test]
    fn expired_tokens_and_keyless_minting_are_refused() {
        let services = services();
        let old = services["post"]
            .mint_at(sign_call("url-signer"), SystemTime::now() - Duration::from_secs(600))
            .unwrap();
        assert!(services["url-signer"].verify(&old, "POST", "/internal/v1/sign").is_err());
        let keyless = ServiceAuth::new("edge", &InternalKeys::default()).unwrap();
        assert!(keyless.mint(sign_call("url-signer")).is_err());
        assert!(keyless.mint_if_able(sign_call("url-signer")).unwrap().is_none());
    }

    #[test]
    fn the_private_key_never_prints() {
        let keys = InternalKeys { own: Some(generate_key().unwrap().0), callers: Vec::new() };
        assert!(!format!("{keys:?}").contains("PRIVATE"));
    }
}
