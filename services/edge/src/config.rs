//! edge's configuration: the S3 origin, where trusted keys come from, and
//! which peers may speak for the client.

use std::net::SocketAddr;
use std::time::Duration;

use cloudfront_sign::PublicKey;
use common::config::{Env, FromEnv, Seconds, Size};
use common::ids::{AccessKeyId, DistributionId, KeyId};
use common::mongo::MongoSettings;
use common::s3::S3Settings;
use common::secrecy::SecretString;
use common::server::HttpSettings;
use ipnet::IpNet;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8085);

/// The key group edge trusts.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Fixed public keys, by CloudFront key id.
    Static(Vec<(KeyId, PublicKey)>),
    /// url-signer's `/internal/v1/public-keys`, read again every `refresh`;
    /// a key it stops publishing stops working here. Public keys are not
    /// secret: the internet-facing edge holds no credential to read them,
    /// so nothing taken from edge can call another service.
    Signer { base_url: String, refresh: Duration },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub s3: S3Settings,
    pub keys: KeySource,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Keys under this prefix are served without a signature.
    pub public_prefix: String,
    /// `Cache-Control` when the object has none.
    pub public_cache_control: String,
    pub private_cache_control: String,
    pub cache: CacheSettings,
    /// CloudFront's invalidation API on this edge; off when `None`.
    pub invalidations: Option<InvalidationSettings>,
}

/// The cache in front of the origin.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// The memory tier's budget (bodies and their headers); 0 turns caching off.
    pub memory_bytes: u64,
    /// Larger objects stream through uncached.
    pub max_object_bytes: u64,
    /// How long an object is fresh when the origin says nothing.
    pub default_ttl: Duration,
    /// The longest an origin's `max-age` is honoured.
    pub max_ttl: Duration,
    /// How long past its freshness an object may still be served while the
    /// origin fails.
    pub stale_if_error: Duration,
    /// How long a request waits for another's origin fetch before fetching itself.
    pub coalesce_wait: Duration,
    pub disk: Option<DiskSettings>,
}

#[derive(Debug, Clone)]
pub struct DiskSettings {
    /// Emptied at start: the tier is not kept across restarts.
    pub dir: std::path::PathBuf,
    pub bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            max_object_bytes: 32 << 20,
            default_ttl: Duration::from_secs(86_400),
            max_ttl: Duration::from_secs(31_536_000),
            stale_if_error: Duration::from_secs(300),
            coalesce_wait: Duration::from_secs(10),
            disk: None,
        }
    }
}

/// Who may invalidate, and where invalidations are shared between replicas.
#[derive(Debug, Clone)]
pub struct InvalidationSettings {
    /// The one distribution id this edge answers to.
    pub distribution_id: DistributionId,
    /// SigV4 credentials callers sign with (as `aws-sdk-cloudfront` does).
    pub access_key_id: AccessKeyId,
    pub secret_access_key: SecretString,
    pub mongo: MongoSettings,
    /// How often each replica looks for invalidations made on another.
    pub poll: Duration,
}

impl Config {
    /// Serving `s3` with `keys`, trusting no proxy, with the default prefix
    /// and cache headers.
    pub fn new(http: HttpSettings, s3: S3Settings, keys: KeySource) -> Self {
        Self {
            http,
            s3,
            keys,
            trusted_proxies: Vec::new(),
            public_prefix: DEFAULT_PUBLIC_PREFIX.into(),
            public_cache_control: DEFAULT_PUBLIC_CACHE_CONTROL.into(),
            private_cache_control: DEFAULT_PRIVATE_CACHE_CONTROL.into(),
            cache: CacheSettings::default(),
            invalidations: None,
        }
    }
}

const DEFAULT_PUBLIC_PREFIX: &str = "public/";

/// The unsigned prefix must name a folder of its own: empty (or `/`) would
/// serve every object without a signature.
pub fn check_public_prefix(prefix: &str) -> Result<(), String> {
    let folder = prefix.strip_suffix('/').ok_or("EDGE_PUBLIC_PREFIX must end with '/' (a folder)")?;
    if folder.is_empty() || folder.starts_with('/') {
        return Err(
            "EDGE_PUBLIC_PREFIX must name a folder, e.g. public/ (empty would serve every object unsigned)"
                .into(),
        );
    }
    if folder.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err("EDGE_PUBLIC_PREFIX must be a plain folder path".into());
    }
    Ok(())
}
const DEFAULT_PUBLIC_CACHE_CONTROL: &str = "public, max-age=86400";
const DEFAULT_PRIVATE_CACHE_CONTROL: &str = "private, max-age=3600";

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        common::read_env!(Config {
            http: HttpSettings::from_env(env, DEFAULT_LISTEN),
            s3: S3Settings::from_env(env),
            keys: key_source_from_env(env),
            trusted_proxies: env.list::<IpNet>(
                "EDGE_TRUSTED_PROXIES",
                "CIDRs whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed",
            ),
            public_prefix: env
                .or(
                    "EDGE_PUBLIC_PREFIX",
                    DEFAULT_PUBLIC_PREFIX.to_owned(),
                    "keys served without a signature: a folder (`x/`); empty or `/`, which would open every object, is refused at start",
                )
                .filter(|prefix| {
                match check_public_prefix(prefix) {
                    Ok(()) => true,
                    Err(problem) => {
                        env.problem(problem);
                        false
                    }
                }
            }),
            public_cache_control: env.or(
                "EDGE_PUBLIC_CACHE_CONTROL",
                DEFAULT_PUBLIC_CACHE_CONTROL.to_owned(),
                "`Cache-Control` of a public object that sets none",
            ),
            private_cache_control: env.or(
                "EDGE_PRIVATE_CACHE_CONTROL",
                DEFAULT_PRIVATE_CACHE_CONTROL.to_owned(),
                "`Cache-Control` of a signed object that sets none",
            ),
            cache: cache_from_env(env),
            invalidations: invalidations_from_env(env),
        })
    }
}

/// Fixed public keys (`EDGE_PUBLIC_KEYS`) or url-signer's published ones (`EDGE_KEYS_URL`): one of them.
fn key_source_from_env(env: &mut Env) -> Option<KeySource> {
    let files = env.keys(
        "EDGE_PUBLIC_KEYS",
        "trusted keys as fixed files, `KEYID=/path.pem,...` (or `EDGE_KEYS_URL`: one of them is required)",
        |file| {
            let pem = std::fs::read(&file.path).map_err(|err| format!("{}: {err}", file.path.display()))?;
            PublicKey::from_pem(&pem).map_err(|err| format!("{}: {err}", file.path.display()))
        },
    );
    let signer_url: Option<String> = env.optional(
        "EDGE_KEYS_URL",
        "trusted keys read from url-signer at this address (or `EDGE_PUBLIC_KEYS`: one of them is required)",
    );
    let refresh = env.or(
        "EDGE_KEYS_REFRESH",
        Seconds(Duration::from_secs(60)),
        "how often the keys are read again from `EDGE_KEYS_URL`",
    );
    match (files, signer_url) {
        (Some(keys), None) if !keys.is_empty() => Some(KeySource::Static(keys)),
        (Some(files), Some(base_url)) if files.is_empty() => {
            Some(KeySource::Signer { base_url, refresh: refresh?.0 })
        }
        (Some(_), Some(_)) => {
            env.problem("set EDGE_PUBLIC_KEYS or EDGE_KEYS_URL, not both");
            None
        }
        _ => {
            env.problem(
                "EDGE_KEYS_URL (url-signer's address) or EDGE_PUBLIC_KEYS (KEYID=/path.pem,...) is required",
            );
            None
        }
    }
}

fn cache_from_env(env: &mut Env) -> Option<CacheSettings> {
    let default = CacheSettings::default();
    let settings = common::read_env!(CacheSettings {
        memory_bytes: env
            .or("EDGE_CACHE_BYTES", Size(default.memory_bytes), "the memory tier's budget; `0`: no cache")
            .map(|s| s.0),
        max_object_bytes: env
            .or(
                "EDGE_CACHE_MAX_OBJECT_BYTES",
                Size(default.max_object_bytes),
                "larger objects stream through uncached (at most a quarter of the budget)",
            )
            .map(|s| s.0),
        default_ttl: env
            .or(
                "EDGE_CACHE_DEFAULT_TTL",
                Seconds(default.default_ttl),
                "freshness when the object says nothing"
            )
            .map(|s| s.0),
        max_ttl: env
            .or("EDGE_CACHE_MAX_TTL", Seconds(default.max_ttl), "the most an object's `max-age` may ask")
            .map(|s| s.0),
        stale_if_error: env
            .or(
                "EDGE_CACHE_STALE_IF_ERROR",
                Seconds(default.stale_if_error),
                "how long past freshness a copy stands in for a failing origin",
            )
            .map(|s| s.0),
        coalesce_wait: env
            .or(
                "EDGE_CACHE_COALESCE_WAIT",
                Seconds(default.coalesce_wait),
                "how long a miss waits for another's fetch"
            )
            .map(|s| s.0),
        disk: disk_from_env(env),
    })?;
    if let Err(problem) = settings.check() {
        env.problem(problem);
        return None;
    }
    Some(settings)
}

/// The disk tier, when `EDGE_CACHE_DISK_DIR` names its folder.
fn disk_from_env(env: &mut Env) -> Option<Option<DiskSettings>> {
    let dir: Option<std::path::PathBuf> =
        env.optional("EDGE_CACHE_DISK_DIR", "the disk tier's folder; unset: no disk tier");
    let bytes = env.or("EDGE_CACHE_DISK_BYTES", Size(1 << 30), "the disk tier's budget");
    match dir {
        Some(dir) => Some(Some(DiskSettings { dir, bytes: bytes?.0 })),
        None => Some(None),
    }
}

impl CacheSettings {
    pub fn check(&self) -> Result<(), String> {
        if self.memory_bytes > 0 && self.max_object_bytes > self.memory_bytes / 4 {
            return Err("EDGE_CACHE_MAX_OBJECT_BYTES must be at most a quarter of EDGE_CACHE_BYTES".into());
        }
        if let Some(disk) = &self.disk
            && (self.memory_bytes == 0 || disk.bytes < self.max_object_bytes.saturating_mul(4))
        {
            return Err(
                "EDGE_CACHE_DISK_DIR needs the memory tier on and EDGE_CACHE_DISK_BYTES of at least four times EDGE_CACHE_MAX_OBJECT_BYTES"
                    .into(),
            );
        }
        if self.default_ttl > self.max_ttl {
            return Err("EDGE_CACHE_DEFAULT_TTL must not exceed EDGE_CACHE_MAX_TTL".into());
        }
        Ok(())
    }
}

/// On when `EDGE_INVALIDATION_ACCESS_KEY_ID` is set; it then needs the rest.
fn invalidations_from_env(env: &mut Env) -> Option<Option<InvalidationSettings>> {
    const SWITCH: &str = "turns CloudFront's invalidation API on edge on: the access key id callers sign with (SigV4); unset: no API";
    if !env.switch("EDGE_INVALIDATION_ACCESS_KEY_ID", SWITCH) {
        return Some(None);
    }
    let id_shape = |id: &DistributionId| {
        (1..=64).contains(&id.as_str().len()) && id.as_str().bytes().all(|b| b.is_ascii_alphanumeric())
    };
    let settings = common::read_env!(InvalidationSettings {
        distribution_id: env
            .required::<DistributionId>(
                "EDGE_DISTRIBUTION_ID",
                "the distribution id the invalidation API answers to, e.g. E2EXAMPLE"
            )
            .filter(|id| {
                if !id_shape(id) {
                    env.problem("EDGE_DISTRIBUTION_ID must be 1 to 64 letters and digits");
                }
                id_shape(id)
            }),
        access_key_id: env.optional::<AccessKeyId>("EDGE_INVALIDATION_ACCESS_KEY_ID", SWITCH),
        secret_access_key: env.secret(
            "EDGE_INVALIDATION_SECRET_ACCESS_KEY",
            "the secret callers sign invalidations with (at least 16 bytes)",
            16
        ),
        mongo: MongoSettings::from_env(env, "shutter_edge"),
        poll: env
            .or(
                "EDGE_INVALIDATION_POLL",
                Seconds(Duration::from_millis(500)),
                "how often each replica looks for invalidations made on another"
            )
            .map(|s| s.0),
    })?;
    Some(Some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 2] = [("S3_BUCKET", "b"), ("EDGE_KEYS_URL", "http://url-signer:8084")];

    fn load(extra: &[(&str, &str)]) -> Result<Config, String> {
        Env::from_map(BASE.iter().chain(extra).copied()).load(Config::read).map_err(|err| err.to_string())
    }

    #[test]
    fn the_cache_is_on_by_default_and_its_limits_must_fit_together() {
        let config = load(&[]).unwrap();
        assert_eq!(config.cache.memory_bytes, 256 << 20);
        assert!(config.invalidations.is_none());
        assert_eq!(load(&[("EDGE_CACHE_BYTES", "0")]).unwrap().cache.memory_bytes, 0);
        let small = load(&[("EDGE_CACHE_BYTES", "64MiB")]).unwrap_err();
        assert!(small.contains("EDGE_CACHE_MAX_OBJECT_BYTES must be at most a quarter"), "{small}");
        let disk =
            load(&[("EDGE_CACHE_DISK_DIR", "/var/cache/edge"), ("EDGE_CACHE_DISK_BYTES", "2GiB")]).unwrap();
        assert_eq!(disk.cache.disk.unwrap().bytes, 2 << 30);
        assert!(load(&[("EDGE_CACHE_BYTES", "lots")]).unwrap_err().contains("EDGE_CACHE_BYTES is malformed"));
    }

    #[test]
    fn the_invalidation_api_needs_its_distribution_secret_and_database() {
        let missing = load(&[("EDGE_INVALIDATION_ACCESS_KEY_ID", "AKID")]).unwrap_err();
        for name in ["EDGE_DISTRIBUTION_ID", "EDGE_INVALIDATION_SECRET_ACCESS_KEY", "MONGODB_URI"] {
            assert!(missing.contains(name), "{name}: {missing}");
        }
        let on = load(&[
            ("EDGE_INVALIDATION_ACCESS_KEY_ID", "AKID"),
            ("EDGE_INVALIDATION_SECRET_ACCESS_KEY", "a-secret-of-enough-length"),
            ("EDGE_DISTRIBUTION_ID", "E2EXAMPLE"),
            ("MONGODB_URI", "mongodb://localhost/?replicaSet=rs0"),
        ])
        .unwrap();
        let api = on.invalidations.unwrap();
        assert_eq!(
            (api.distribution_id.as_str(), api.mongo.database.as_str()),
            ("E2EXAMPLE", "shutter_edge")
        );
        for (bad, problem) in [
            ("E2/../x", "EDGE_DISTRIBUTION_ID is malformed: is not a valid distribution id"),
            ("E2.EXAMPLE", "EDGE_DISTRIBUTION_ID must be 1 to 64 letters and digits"),
        ] {
            let refused = load(&[
                ("EDGE_INVALIDATION_ACCESS_KEY_ID", "AKID"),
                ("EDGE_INVALIDATION_SECRET_ACCESS_KEY", "a-secret-of-enough-length"),
                ("EDGE_DISTRIBUTION_ID", bad),
                ("MONGODB_URI", "mongodb://localhost/"),
            ])
            .unwrap_err();
            assert!(refused.contains(problem), "{bad}: {refused}");
        }
    }
}
