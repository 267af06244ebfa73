//! url-signer's configuration: keys, guard-rails, cache.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cloudfront_sign::{HashAlgorithm, PrivateKey};
use common::config::{Env, FromEnv, Seconds};
use common::ids::KeyId;
use common::internal_auth::{InternalKeys, Role};
use common::server::HttpSettings;

use crate::keyring::load_key_file;
use crate::manifest::Manifest;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8084);

/// What may be signed, and for how long.
#[derive(Debug, Clone)]
pub struct Guards {
    /// `host` or `host:port` of the distribution(s), e.g. `d111111abcdef8.cloudfront.net`.
    pub hosts: Vec<String>,
    pub schemes: Vec<String>,
    /// Path prefixes that may be signed, e.g. `/private/`.
    pub path_prefixes: Vec<String>,
    /// Longer lifetimes are refused, not shortened.
    pub max_ttl: Duration,
    pub max_batch: usize,
}

pub const DEFAULT_SCHEME: &str = "https";
pub const DEFAULT_PATH_PREFIX: &str = "/private/";
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(3600);
pub const DEFAULT_MAX_BATCH: usize = 100;
pub const DEFAULT_CACHE_BUCKET: Duration = Duration::from_secs(60);
pub const DEFAULT_CACHE_CAPACITY: usize = 100_000;
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);
/// CloudFront's default is SHA-1; SHA-256 is the stronger one it also takes.
pub const DEFAULT_HASH: HashAlgorithm = HashAlgorithm::Sha256;

impl Guards {
    /// Signing for `hosts` over `schemes`, with the default prefix
    /// (`/private/`), lifetime (1 h) and batch size (100).
    pub fn new(hosts: Vec<String>, schemes: Vec<String>) -> Self {
        Self {
            hosts,
            schemes,
            path_prefixes: vec![DEFAULT_PATH_PREFIX.into()],
            max_ttl: DEFAULT_MAX_TTL,
            max_batch: DEFAULT_MAX_BATCH,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// Canned-policy expiries are rounded up to a multiple of this, so
    /// viewers of one photo within it share one signature. Zero disables the cache.
    pub bucket: Duration,
    pub capacity: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self { bucket: DEFAULT_CACHE_BUCKET, capacity: DEFAULT_CACHE_CAPACITY }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub internal_keys: InternalKeys,
    /// Every published key, by CloudFront key id. `PrivateKey`'s `Debug` is redacted.
    pub keys: Vec<(KeyId, PrivateKey)>,
    /// The key that signs (`SIGNER_ACTIVE_KEY_ID`); `None`: the first.
    pub active_key_id: Option<KeyId>,
    /// When the keys come from a manifest: reread it while running.
    pub manifest: Option<ManifestWatch>,
    pub hash: HashAlgorithm,
    pub guards: Guards,
    pub cache: CacheSettings,
}

impl Config {
    /// Signing with the first of `keys` (SHA-256), the default cache, keys
    /// fixed until restart; change the fields for anything else.
    pub fn new(
        http: HttpSettings,
        internal_keys: InternalKeys,
        keys: Vec<(KeyId, PrivateKey)>,
        guards: Guards,
    ) -> Self {
        Self {
            http,
            internal_keys,
            keys,
            active_key_id: None,
            manifest: None,
            hash: DEFAULT_HASH,
            guards,
            cache: CacheSettings::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ManifestWatch {
    pub path: PathBuf,
    pub reload_every: Duration,
}

/// The keys as configured: which, which one signs, and whether to follow a manifest.
struct Keys {
    keys: Vec<(KeyId, PrivateKey)>,
    active_key_id: Option<KeyId>,
    manifest: Option<ManifestWatch>,
}

impl Keys {
    fn none() -> Self {
        Self { keys: Vec::new(), active_key_id: None, manifest: None }
    }
}

/// The keys, from `SIGNER_KEY_MANIFEST` (reloaded while running) or from
/// `SIGNER_KEYS` + `SIGNER_ACTIVE_KEY_ID` (fixed until restart).
fn read_keys(env: &mut Env) -> Keys {
    let reload_every = env.or(
        "SIGNER_KEY_RELOAD_INTERVAL",
        Seconds(DEFAULT_RELOAD_INTERVAL),
        "how often the key manifest is reread",
    );
    let manifest = env.optional::<PathBuf>(
        "SIGNER_KEY_MANIFEST",
        "instead of `SIGNER_KEYS`: a JSON manifest of the keys and which one is active, reread while running; `keys rotate` rewrites it (docs/URL-SIGNER.md)",
    );
    if let Some(path) = manifest {
        if env.is_set("SIGNER_KEYS") || env.is_set("SIGNER_ACTIVE_KEY_ID") {
            env.problem(
                "SIGNER_KEY_MANIFEST names the keys: leave SIGNER_KEYS and SIGNER_ACTIVE_KEY_ID unset",
            );
        }
        let loaded = Manifest::read(&path).and_then(|m| Ok((m.load_keys(&path)?, m.active_key_id)));
        return match (loaded, reload_every) {
            (Ok((keys, active)), Some(Seconds(reload_every))) => Keys {
                keys,
                active_key_id: Some(active),
                manifest: Some(ManifestWatch { path, reload_every }),
            },
            (Err(problem), _) => {
                env.problem(format!("SIGNER_KEY_MANIFEST: {problem}"));
                Keys::none()
            }
            (_, None) => Keys::none(),
        };
    }
    let loaded = env.required_keys(
        "SIGNER_KEYS",
        "unless `SIGNER_KEY_MANIFEST`: `KEYID=/path/key.pem,...`, every published CloudFront key (files mode 0600)",
        |file| match file.key_id.as_str().chars().all(|c| c.is_ascii_alphanumeric()) {
            true => load_key_file(&file.path),
            false => Err("not a CloudFront key id (letters and digits)".into()),
        },
    );
    let keys = loaded.unwrap_or_default();
    let active_key_id = env.optional::<KeyId>(
        "SIGNER_ACTIVE_KEY_ID",
        "the key that signs new URLs (the others stay published for rotation); unset: the first of `SIGNER_KEYS`",
    );
    if let Some(active) = &active_key_id
        && !keys.is_empty()
        && !keys.iter().any(|(id, _)| id == active)
    {
        env.problem(format!("SIGNER_ACTIVE_KEY_ID {active} is not one of SIGNER_KEYS"));
    }
    Keys { keys, active_key_id, manifest: None }
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let loaded = read_keys(env);
        common::read_env!(Config {
            http: HttpSettings::from_env(env, DEFAULT_LISTEN),
            internal_keys: InternalKeys::from_env(env, Role { calls: false, serves: true }),
            active_key_id: Some(loaded.active_key_id),
            keys: Some(loaded.keys),
            manifest: Some(loaded.manifest),
            hash: env.or(
                "SIGNER_HASH_ALGORITHM",
                DEFAULT_HASH,
                "`SHA1` (CloudFront's default) or `SHA256` (adds `Hash-Algorithm=SHA256`)",
            ),
            guards: common::read_env!(Guards {
                hosts: env
                    .required_list::<String>(
                        "SIGNER_ALLOWED_HOSTS",
                        "the distribution domain(s) that may be signed, `host` or `host:port` (e.g. d111111abcdef8.cloudfront.net)",
                    )
                    .map(|hosts| hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>()),
                schemes: env.list_or("SIGNER_ALLOWED_SCHEMES", DEFAULT_SCHEME, "the schemes that may be signed"),
                path_prefixes: env.list_or(
                    "SIGNER_ALLOWED_PATH_PREFIXES",
                    DEFAULT_PATH_PREFIX,
                    "the path prefixes that may be signed",
                ),
                max_ttl: max_ttl_from_env(env),
                max_batch: env.or("SIGNER_MAX_BATCH", DEFAULT_MAX_BATCH, "the most items per `/internal/v1/sign` call"),
            }),
            cache: common::read_env!(CacheSettings {
                bucket: env
                    .or(
                        "SIGNER_CACHE_BUCKET",
                        Seconds(DEFAULT_CACHE_BUCKET),
                        "canned expiries round up to this, so viewers share a signature; `0` turns the cache off",
                    )
                    .map(|s| s.0),
                capacity: env.or("SIGNER_CACHE_CAPACITY", DEFAULT_CACHE_CAPACITY, "signed URLs kept in memory"),
            }),
        })
    }
}

/// `SIGNER_MAX_TTL`: the one source of a URL's longest life (the server's
/// limit, and the rotation's wait for the old key's URLs to expire).
pub fn max_ttl_from_env(env: &mut Env) -> Option<Duration> {
    env.or(
        "SIGNER_MAX_TTL",
        Seconds(DEFAULT_MAX_TTL),
        "the longest lifetime a URL may be signed for; longer requests are refused, not shortened",
    )
    .map(|s| s.0)
}
