//! The whole stack in one process: every service on its own port, talking
//! over internal HTTP as in production, on embedded MongoDB and S3 servers
//! unless real ones are named.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use base64::Engine;
use common::config::Env;
use common::mongo::MongoSettings;
use common::s3::S3Settings;
use common::secrecy::SecretString;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;
use rand::RngCore;

pub struct StackOptions {
    /// Where `.data/` lives (S3 objects, later keys).
    pub data_dir: PathBuf,
    /// First port; services take it and the four after it. 0 = any free ports.
    pub base_port: u16,
    /// A real MongoDB (replica set) instead of the embedded jongodb.
    pub mongodb_uri: Option<String>,
    /// A real S3 or MinIO bucket instead of the embedded s3s-fs server.
    pub s3: Option<S3Settings>,
}

impl StackOptions {
    /// Reads `MONGODB_URI` and, when `S3_ENDPOINT` is set, the `S3_*` variables.
    pub fn from_env(data_dir: PathBuf, base_port: u16) -> Result<Self, common::config::ConfigError> {
        Env::from_process().load(|env| {
            let mongodb_uri = env.optional::<String>("MONGODB_URI");
            let s3 = if env.is_set("S3_ENDPOINT") { Some(S3Settings::from_env(env)?) } else { None };
            Some(Self { data_dir, base_port, mongodb_uri, s3 })
        })
    }
}

/// Where each running service listens.
#[derive(Debug, Clone)]
pub struct Stack {
    pub auth: String,
    pub post: String,
    pub media: String,
    pub url_signer: String,
    pub edge: String,
    pub mongo_in_memory: bool,
    /// The bucket the stack serves photos from.
    pub s3: S3Settings,
    /// The services' shared secret, minted fresh for each run (for tools and tests).
    pub internal_secret: SecretString,
}

const BUCKET: &str = "shutter-media";

fn http(base_port: u16, offset: u16) -> HttpSettings {
    let port = if base_port == 0 { 0 } else { base_port + offset };
    HttpSettings { listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port), workers: 1 }
}

fn mongo(options: &StackOptions) -> anyhow::Result<(String, bool)> {
    match &options.mongodb_uri {
        Some(uri) => Ok((uri.clone(), false)),
        None => Ok((testkit::mongo::start_jongodb()?, true)),
    }
}

async fn s3(options: &StackOptions) -> anyhow::Result<S3Settings> {
    if let Some(settings) = &options.s3 {
        return Ok(settings.clone());
    }
    let credentials = ("shutter-dev".to_owned(), random_secret());
    let addr = testkit::s3::start_in_background(
        &options.data_dir.join("s3"),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        credentials.clone(),
    )?;
    let settings = S3Settings {
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        endpoint: Some(format!("http://{addr}")),
        credentials: Some((credentials.0, SecretString::from(credentials.1))),
        force_path_style: true,
    };
    let client = common::s3::client(&settings).await;
    if client.head_bucket().bucket(BUCKET).send().await.is_err() {
        client.create_bucket().bucket(BUCKET).send().await?;
    }
    Ok(settings)
}

/// The development CloudFront key id (any letters and digits will do locally).
pub const DEV_KEY_ID: &str = "KSHUTTERDEV";

/// The development CloudFront key: made on first run under `data_dir/keys`
/// (0600) and given to url-signer alone.
fn dev_signing_key(data_dir: &std::path::Path) -> anyhow::Result<cloudfront_sign::PrivateKey> {
    let dir = data_dir.join("keys");
    let path = dir.join("private_key.pem");
    if !path.exists() {
        url_signer::keyring::write_new_key(cloudfront_sign::KeyKind::Rsa, &dir)
            .map_err(anyhow::Error::msg)?;
        tracing::info!(path = %path.display(), "generated a development CloudFront key pair");
    }
    url_signer::keyring::load_key_file(&path).map_err(anyhow::Error::msg)
}

/// auth's development token-signing key, made on first run (0600).
pub const DEV_TOKEN_KEY_ID: &str = "dev-1";

fn dev_token_key(data_dir: &std::path::Path) -> anyhow::Result<auth::keys::SigningKey> {
    let path = data_dir.join("keys").join("auth_ed25519.pem");
    if !path.exists() {
        common::private_file::create(&path, &auth::keys::SigningKey::generate_pem()?)?;
    }
    auth::keys::SigningKey::from_pem_file(DEV_TOKEN_KEY_ID, &path).map_err(anyhow::Error::msg)
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Stack {
    pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
        let (mongo_uri, mongo_in_memory) = mongo(&options)?;
        let s3 = s3(&options).await?;
        let internal_secret = SecretString::from(random_secret());
        let mongo = |database: &str| MongoSettings { uri: mongo_uri.clone(), database: database.into() };
        let base = options.base_port;

        let auth = auth::build(auth::Config::new(
            http(base, 1),
            mongo("shutter_auth"),
            vec![dev_token_key(&options.data_dir)?],
            internal_secret.clone(),
        ))
        .await?;
        let auth_url = testkit::service::spawn(auth);
        let user_auth = UserAuthSettings {
            jwks_url: format!("{auth_url}/.well-known/jwks.json"),
            issuer: "shutter-auth".into(),
            audience: "shutter".into(),
        };
        let media = media::build(media::Config::new(
            http(base, 3),
            mongo("shutter_media"),
            s3.clone(),
            user_auth.clone(),
            internal_secret.clone(),
        ))
        .await?;
        let media_url = format!("http://127.0.0.1:{}", media.port());
        let signing_key = dev_signing_key(&options.data_dir)?;
        let edge_keys = edge::KeySource::Static(vec![(DEV_KEY_ID.to_owned(), signing_key.public_key()?)]);
        let edge = edge::build(edge::Config::new(http(base, 5), s3.clone(), edge_keys)).await?;
        let edge_authority = format!("127.0.0.1:{}", edge.port());
        let url_signer = url_signer::build(url_signer::Config {
            http: http(base, 4),
            internal_secret: internal_secret.clone(),
            keys: vec![(DEV_KEY_ID.to_owned(), signing_key)],
            active_key_id: DEV_KEY_ID.to_owned(),
            hash: cloudfront_sign::HashAlgorithm::Sha256,
            guards: url_signer::config::Guards::new(vec![edge_authority.clone()], vec!["http".into()]),
            cache: url_signer::config::CacheSettings::default(),
        })
        .await?;
        let mut post_config = post::Config::new(
            http(base, 2),
            mongo("shutter_post"),
            user_auth,
            internal_secret.clone(),
            post::Upstreams {
                auth: auth_url.clone(),
                media: media_url,
                url_signer: format!("http://127.0.0.1:{}", url_signer.port()),
                photos: format!("http://{edge_authority}"),
            },
        );
        post_config.dev_topup = true;
        let post = post::build(post_config).await?;
        Ok(Stack {
            auth: auth_url,
            post: testkit::service::spawn(post),
            media: testkit::service::spawn(media),
            url_signer: testkit::service::spawn(url_signer),
            edge: testkit::service::spawn(edge),
            mongo_in_memory,
            s3,
            internal_secret,
        })
    }

    pub fn services(&self) -> [(&'static str, &str); 5] {
        [
            ("auth", &self.auth),
            ("post", &self.post),
            ("media", &self.media),
            ("url-signer", &self.url_signer),
            ("edge", &self.edge),
        ]
    }
}
