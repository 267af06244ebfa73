//! edge's configuration: the S3 origin, where trusted keys come from, and
//! which peers may speak for the client.

use std::net::SocketAddr;
use std::time::Duration;

use cloudfront_sign::PublicKey;
use common::config::{Env, FromEnv, KeyFile, Seconds};
use common::internal_auth;
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
    Static(Vec<(String, PublicKey)>),
    /// url-signer's `/internal/v1/public-keys`, read again every `refresh`;
    /// a key it stops publishing stops working here.
    Signer { base_url: String, internal_secret: SecretString, refresh: Duration },
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
        let http = HttpSettings::from_env(env, DEFAULT_LISTEN);
        let s3 = S3Settings::from_env(env);
        let files: Option<Vec<KeyFile>> = env.list("EDGE_PUBLIC_KEYS");
        let signer_url: Option<String> = env.optional("EDGE_KEYS_URL");
        let refresh = env.or("EDGE_KEYS_REFRESH", Seconds(Duration::from_secs(60)));
        let keys = match (files, signer_url) {
            (Some(files), None) if !files.is_empty() => {
                let mut keys = Vec::new();
                for file in files {
                    let loaded = std::fs::read(&file.path)
                        .map_err(|err| err.to_string())
                        .and_then(|pem| PublicKey::from_pem(&pem).map_err(|err| err.to_string()));
                    match loaded {
                        Ok(key) => keys.push((file.key_id, key)),
                        Err(err) => env.problem(format!("EDGE_PUBLIC_KEYS: {}: {err}", file.path.display())),
                    }
                }
                Some(KeySource::Static(keys))
            }
            (Some(files), Some(base_url)) if files.is_empty() => {
                let internal_secret = internal_auth::secret_from_env(env);
                Some(KeySource::Signer { base_url, internal_secret: internal_secret?, refresh: refresh?.0 })
            }
            (Some(_), Some(_)) => {
                env.problem("set EDGE_PUBLIC_KEYS or EDGE_KEYS_URL, not both");
                None
            }
            _ => {
                env.problem("EDGE_KEYS_URL (url-signer's address) or EDGE_PUBLIC_KEYS (KEYID=/path.pem,...) is required");
                None
            }
        };
        let trusted_proxies = env.list::<IpNet>("EDGE_TRUSTED_PROXIES");
        let public_prefix = env.or("EDGE_PUBLIC_PREFIX", DEFAULT_PUBLIC_PREFIX.to_owned());
        if let Some(Err(problem)) = public_prefix.as_deref().map(check_public_prefix) {
            env.problem(problem);
        }
        let public_cache_control =
            env.or("EDGE_PUBLIC_CACHE_CONTROL", DEFAULT_PUBLIC_CACHE_CONTROL.to_owned());
        let private_cache_control =
            env.or("EDGE_PRIVATE_CACHE_CONTROL", DEFAULT_PRIVATE_CACHE_CONTROL.to_owned());
        Some(Self {
            http: http?,
            s3: s3?,
            keys: keys?,
            trusted_proxies: trusted_proxies?,
            public_prefix: public_prefix?,
            public_cache_control: public_cache_control?,
            private_cache_control: private_cache_control?,
        })
    }
}
