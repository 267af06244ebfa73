//! auth's configuration.

use std::net::SocketAddr;

use common::config::{Env, FromEnv};
use common::ids::KeyId;
use common::internal_auth::{InternalKeys, Role};
use common::mongo::MongoSettings;
use common::server::HttpSettings;
use ipnet::IpNet;

use crate::keys::SigningKey;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

/// argon2id cost. The default is OWASP's current recommendation
/// (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
    /// Every published key; `SigningKey`'s `Debug` is redacted.
    pub signing_keys: Vec<SigningKey>,
    /// The key that signs new tokens (`AUTH_ACTIVE_KEY_ID`); `None`: the first.
    pub active_key_id: Option<KeyId>,
    pub issuer: String,
    pub audience: String,
    pub password_cost: PasswordCost,
    /// Peers whose `X-Forwarded-For` is believed (for per-IP login limits).
    pub trusted_proxies: Vec<IpNet>,
    /// Authenticates post's internal lookups.
    pub internal_keys: InternalKeys,
    /// `AUTH_SIGNUPS_PER_HOUR`: accounts one client address may create an hour.
    pub signups_per_hour: usize,
}

impl Config {
    /// Signing with the first of `signing_keys`, default issuer, audience
    /// and password cost, no trusted proxies.
    pub fn new(
        http: HttpSettings,
        mongo: MongoSettings,
        signing_keys: Vec<SigningKey>,
        internal_keys: InternalKeys,
    ) -> Self {
        Self {
            http,
            mongo,
            active_key_id: None,
            signing_keys,
            issuer: "shutter-auth".into(),
            audience: "shutter".into(),
            password_cost: PasswordCost::default(),
            trusted_proxies: Vec::new(),
            internal_keys,
            signups_per_hour: crate::limiter::DEFAULT_SIGNUPS_PER_HOUR,
        }
    }
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let keys = signing_keys_from_env(env);
        let defaults = PasswordCost::default();
        common::read_env!(Config {
            http: HttpSettings::from_env(env, DEFAULT_LISTEN),
            mongo: MongoSettings::from_env(env, "shutter_auth"),
            active_key_id: keys.as_ref().map(|(_, active)| Some(active.clone())),
            signing_keys: keys.map(|(keys, _)| keys),
            issuer: env.or("AUTH_ISSUER", "shutter-auth".to_owned(), "the `iss` of the tokens auth signs"),
            audience: env.or("AUTH_AUDIENCE", "shutter".to_owned(), "the `aud` of the tokens auth signs"),
            password_cost: common::read_env!(PasswordCost {
                memory_kib: env.or("AUTH_ARGON2_MEMORY_KIB", defaults.memory_kib, "argon2id memory per hash"),
                iterations: env.or("AUTH_ARGON2_ITERATIONS", defaults.iterations, "argon2id passes"),
                parallelism: env.or("AUTH_ARGON2_PARALLELISM", defaults.parallelism, "argon2id lanes"),
            }),
            trusted_proxies: env.list::<IpNet>(
                "AUTH_TRUSTED_PROXIES",
                "CIDRs whose `X-Forwarded-For` is believed (for per-address sign-in and sign-up limits)",
            ),
            internal_keys: InternalKeys::from_env(env, Role { calls: false, serves: true }),
            signups_per_hour: env.or(
                "AUTH_SIGNUPS_PER_HOUR",
                crate::limiter::DEFAULT_SIGNUPS_PER_HOUR,
                "accounts one client address (an IPv6 /64) may make an hour",
            ),
        })
    }
}

/// `AUTH_SIGNING_KEYS` (required) and the one that signs now,
/// `AUTH_ACTIVE_KEY_ID` (the first by default).
fn signing_keys_from_env(env: &mut Env) -> Option<(Vec<SigningKey>, KeyId)> {
    let loaded = env.required_keys(
        "AUTH_SIGNING_KEYS",
        "`KID=/path/ed25519.pem,...`: the token-signing keys (PKCS#8 PEM, mode 0600), all published in the JWKS",
        |file| SigningKey::from_pem_file(&file.key_id, &file.path).map_err(|err| err.to_string()),
    );
    let first = loaded.as_ref().and_then(|keys| keys.first()).map(|(id, _)| id.clone());
    let active = env
        .optional::<KeyId>(
            "AUTH_ACTIVE_KEY_ID",
            "the key that signs new tokens; unset: the first of `AUTH_SIGNING_KEYS`",
        )
        .or(first);
    Some((loaded?.into_iter().map(|(_, key)| key).collect(), active?))
}
