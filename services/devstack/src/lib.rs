//! The whole stack in one process: every service on its own port, talking
//! over internal HTTP as in production, on embedded MongoDB and S3 servers
//! unless real ones are named.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use common::config::Env;
use common::mongo::MongoSettings;
use common::s3::S3Settings;
use common::secrecy::{ExposeSecret, SecretString};
use common::user_auth::UserAuthSettings;
use std::sync::{Arc, Mutex};

use common::server::{Application, HttpSettings, StopHandle};
use ports::HeldPort;

pub use keys::{DEV_DISTRIBUTION_ID, DEV_KEY_ID, DEV_TOKEN_KEY_ID, InternalKeyring};
use keys::{EdgeInvalidations, dev_signing_key, dev_token_key, dev_watermark_secret, random_secret};
pub use stores::MongoKind;
use stores::{Database, keep_files_private};

pub mod gateway;
mod keys;
mod mongod;
pub mod openapi;
pub mod ports;
pub mod seed;
mod stores;
mod web_page;

pub struct StackOptions {
    /// Where `.data/` lives (S3 objects, keys, a local mongod's files).
    pub data_dir: PathBuf,
    /// The public address. The services listen on loopback at the five ports
    /// after it (any free ports when it is port 0).
    pub listen: SocketAddr,
    /// A real MongoDB (replica set) instead of the embedded jongodb.
    pub mongodb_uri: Option<String>,
    /// A real S3 or MinIO bucket instead of the embedded s3s-fs server.
    pub s3: Option<S3Settings>,
    /// A CloudFront distribution for media's cache invalidations (none locally).
    pub invalidation: Option<media::config::InvalidationSettings>,
    /// The address clients use when another proxy (nginx) stands in front
    /// instead of the built-in gateway; photo URLs are signed for it.
    pub public_url: Option<String>,
    /// Where clients reach the bucket for presigned uploads, when not at
    /// the S3 server itself (a proxy in front of it).
    pub s3_presign_endpoint: Option<String>,
    /// Card payments through localstripe, when it is installed
    /// (`scripts/bootstrap`); the dev top-up works either way.
    pub card_payments: bool,
    /// Paid photos' URLs bound to the viewer's network, as in production.
    pub viewer_binding: bool,
}

impl StackOptions {
    /// What tests and benchmarks start: any free ports, the embedded
    /// servers (or the replica set `MONGODB_URI` names), no card provider
    /// (one test starts it), viewer binding on as in production.
    pub fn on_any_ports(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            mongodb_uri: std::env::var("MONGODB_URI").ok(),
            s3: None,
            invalidation: None,
            public_url: None,
            s3_presign_endpoint: None,
            card_payments: false,
            viewer_binding: true,
        }
    }

    /// Reads `MONGODB_URI` and, when `S3_ENDPOINT` is set, the `S3_*` variables.
    pub fn from_env(data_dir: PathBuf, listen: SocketAddr) -> Result<Self, common::config::ConfigError> {
        Env::from_process().load(|env| {
            let mongodb_uri = env.optional::<String>(
                "MONGODB_URI",
                "a MongoDB replica set to use; unset: an embedded jongodb",
            );
            let s3 = match env.switch("S3_ENDPOINT", "an S3 server to use; unset: an embedded one") {
                true => Some(S3Settings::from_env(env)?),
                false => None,
            };
            Some(Self {
                data_dir,
                listen,
                mongodb_uri,
                s3,
                invalidation: None,
                public_url: None,
                s3_presign_endpoint: None,
                card_payments: true,
                viewer_binding: true,
            })
        })
    }
}

/// Where each running service listens.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The one address people and clients use: the web page, `/v1/...` and photos.
    pub public_url: String,
    /// Where this stack keeps its data and development keys.
    pub data_dir: PathBuf,
    pub auth: String,
    pub post: String,
    pub media: String,
    pub url_signer: String,
    pub edge: String,
    pub mongo: MongoKind,
    pub mongodb_uri: String,
    /// The bucket the stack serves photos from.
    pub s3: S3Settings,
    /// Each caller's internal-call key, made fresh for each run (for tools and tests).
    pub internal_keys: InternalKeyring,
    /// The Stripe-compatible server taking card payments, when there is one.
    pub payments_api: Option<String>,
    /// Where media sends its cache invalidations (edge's CloudFront API, by default).
    pub invalidation: media::config::InvalidationSettings,
    running: Running,
}

/// What [`Stack::stop`] stops, in order: the gateway, the services, then the
/// database server the stack started.
#[derive(Clone, Default)]
struct Running(Arc<Mutex<Option<RunningParts>>>);

#[derive(Default)]
struct RunningParts {
    gateway: Option<Served>,
    services: Vec<Served>,
    /// Apart from the others: it can be stopped and started again alone.
    url_signer: Option<Served>,
    url_signer_runs: Option<UrlSignerRuns>,
    database: Option<Database>,
    /// localstripe, when the stack started it.
    payments: Option<testkit::process::Tied>,
}

/// What starts url-signer, again and again, on the port its callers know.
struct UrlSignerRuns {
    port: HeldPort,
    config: url_signer::Config,
}

impl UrlSignerRuns {
    fn next(&self) -> anyhow::Result<url_signer::Config> {
        let mut config = self.config.clone();
        config.http = self.port.settings(config.http)?;
        Ok(config)
    }
}

/// A server running on this runtime.
struct Served {
    handle: StopHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    fn spawn(app: Application) -> (String, Self) {
        let url = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        (url, Self { handle, task: tokio::spawn(app.run_until_stopped()) })
    }

    /// Graceful: requests in flight finish, then workers stop and clients close.
    async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Running")
    }
}

/// Accounts one address may make an hour on the dev stack.
pub const DEV_SIGNUPS_PER_HOUR: usize = 100_000;

/// A service's listener: loopback, `offset` ports after the public one.
fn http(public_port: u16, offset: u16) -> anyhow::Result<HttpSettings> {
    let port = match public_port {
        0 => 0,
        port => port
            .checked_add(offset)
            .ok_or_else(|| anyhow::anyhow!("port {port} leaves no room for the services"))?,
    };
    Ok(HttpSettings::loopback(port))
}

/// How clients reach `listen`: a wildcard address is reached on loopback.
fn public_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

fn loopback() -> ipnet::IpNet {
    ipnet::IpNet::from(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

impl Stack {
    pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
        keep_files_private(&options.data_dir)?;
        let (mongo_uri, mongo_kind, database) =
            stores::mongo(options.mongodb_uri.as_ref(), &options.data_dir, options.listen.port()).await?;
        let mut running = RunningParts { database, ..RunningParts::default() };
        let s3 = stores::s3(options.s3.as_ref(), &options.data_dir).await?;
        let internal_keys = InternalKeyring::generate()?;
        let mongo = |database: &str| MongoSettings { uri: mongo_uri.clone(), database: database.into() };
        let public_listener = std::net::TcpListener::bind(options.listen)
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", options.listen))?;
        let public_url = match &options.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => public_url(public_listener.local_addr()?),
        };
        let public_authority = public_url.trim_start_matches("http://").to_owned();
        let base = options.listen.port();

        let mut auth_config = auth::Config::new(
            http(base, 1)?,
            mongo("shutter_auth"),
            vec![dev_token_key(&options.data_dir)?],
            internal_keys.of("auth"),
        );
        auth_config.trusted_proxies = vec![loopback()];
        // Everyone here signs up from this machine: the seed, the tests and
        // the load test's population (docs/AUTH.md has production's budget).
        auth_config.signups_per_hour = DEV_SIGNUPS_PER_HOUR;
        let (auth_url, auth) = Served::spawn(auth::build(auth_config).await?);
        running.services.push(auth);
        let user_auth = UserAuthSettings {
            jwks_url: format!("{auth_url}/.well-known/jwks.json"),
            issuer: "shutter-auth".into(),
            audience: "shutter".into(),
        };
        // media and post call each other, media invalidates edge's cache:
        // their ports are chosen first.
        let post_http = HeldPort::listening(http(base, 2)?)?;
        let edge_http = HeldPort::listening(http(base, 5)?)?;
        let edge_api = EdgeInvalidations::new()?;
        let mut media_config = media::Config::new(
            http(base, 3)?,
            mongo("shutter_media"),
            s3.clone(),
            user_auth.clone(),
            internal_keys.of("media"),
            dev_watermark_secret(&options.data_dir)?,
        );
        media_config.auth_url = Some(auth_url.clone());
        media_config.post_url = Some(format!("http://{}", post_http.listen));
        // Takedowns invalidate edge through CloudFront's API, as they would CloudFront.
        let invalidation = options
            .invalidation
            .clone()
            .unwrap_or_else(|| edge_api.for_media(&format!("http://{}", edge_http.listen)));
        media_config.invalidation = Some(invalidation.clone());
        media_config.presign_endpoint = options.s3_presign_endpoint.clone();
        let media = media::build(media_config).await?;
        let media_url = format!("http://127.0.0.1:{}", media.port());
        let signing_key = dev_signing_key(&options.data_dir)?;
        let edge_keys = edge::KeySource::Static(vec![(
            common::ids::KeyId::parse(DEV_KEY_ID)?,
            signing_key.public_key()?,
        )]);
        let mut edge_config = edge::Config::new(edge_http, s3.clone(), edge_keys);
        // The gateway in front of it says who the client is.
        edge_config.trusted_proxies = vec![loopback()];
        edge_config.invalidations = Some(edge_api.for_edge(mongo("shutter_edge")));
        let edge = edge::build(edge_config).await?;
        // A held port, so a restarted url-signer is where its callers look.
        let url_signer_http = http(base, 4)?;
        let url_signer_port = HeldPort::hold(&url_signer_http)?;
        let url_signer_config = url_signer::Config::new(
            url_signer_http,
            internal_keys.of("url-signer"),
            vec![(common::ids::KeyId::parse(DEV_KEY_ID)?, signing_key)],
            url_signer::config::Guards::new(vec![public_authority], vec!["http".into()]),
        );
        let url_signer_runs = UrlSignerRuns { port: url_signer_port, config: url_signer_config };
        let url_signer = url_signer::build(url_signer_runs.next()?).await?;
        running.url_signer_runs = Some(url_signer_runs);
        let mut post_config = post::Config::new(
            post_http,
            mongo("shutter_post"),
            user_auth,
            internal_keys.of("post"),
            post::Upstreams {
                auth: auth_url.clone(),
                media: media_url.clone(),
                url_signer: format!("http://127.0.0.1:{}", url_signer.port()),
                photos: public_url.clone(),
            },
        );
        post_config.dev_topup = true;
        // localstripe pays out only euros; sales clear at once and every
        // creator may be paid out (there is no admin to verify one), from 1 €.
        post_config.currency = "eur".to_owned();
        post_config.clearing_period = std::time::Duration::ZERO;
        post_config.dev_creators_verified = true;
        post_config.payout_limits.min_cents = 100;
        // The gateway (or nginx, on loopback too) says who the viewer is.
        post_config.trusted_proxies = vec![loopback()];
        // Plain HTTP on one origin: viewers' photo cookies go to the gateway's host.
        post_config.cookies.secure = false;
        if !options.viewer_binding {
            post_config.binding = None;
        }
        let provider = match options.card_payments {
            true => tokio::task::spawn_blocking(testkit::stripe::start_for_stack).await?,
            false => None,
        };
        let payments_api = match provider {
            Some(started) => {
                let (api_url, server) = started?;
                running.payments = Some(server);
                Some(api_url)
            }
            None => None,
        };
        let webhook_secret = SecretString::from(format!("whsec_{}", random_secret()));
        if let Some(api_url) = &payments_api {
            post_config.stripe = Some(post::config::StripeSettings {
                api_url: api_url.clone(),
                secret_key: SecretString::from(testkit::stripe::SECRET_KEY.to_owned()),
                webhook_secret: webhook_secret.clone(),
                timeout: std::time::Duration::from_secs(10),
            });
        }
        let (post_url, post) = Served::spawn(post::build(post_config).await?);
        let (edge_url, edge) = Served::spawn(edge);
        let (media_url, media) = Served::spawn(media);
        let (url_signer_url, url_signer) = Served::spawn(url_signer);
        running.services.extend([post, edge, media]);
        running.url_signer = Some(url_signer);
        let upstreams = gateway::Upstreams {
            auth: auth_url.clone(),
            post: post_url.clone(),
            media: media_url.clone(),
            edge: edge_url.clone(),
        };
        let api = openapi::document(&public_url);
        running.gateway = Some(Served::spawn(gateway::build(public_listener, upstreams, api)?).1);
        if let Some(api_url) = &payments_api {
            // The provider calls the public address, as Stripe calls the load balancer.
            let webhook = format!("{public_url}/v1/payments/webhook");
            testkit::stripe::register_webhook(api_url, &webhook, webhook_secret.expose_secret()).await?;
        }
        Ok(Stack {
            public_url,
            data_dir: options.data_dir,
            auth: auth_url,
            post: post_url,
            media: media_url,
            url_signer: url_signer_url,
            edge: edge_url,
            mongo: mongo_kind,
            mongodb_uri: mongo_uri.clone(),
            s3,
            internal_keys,
            payments_api,
            invalidation,
            running: Running(Arc::new(Mutex::new(Some(running)))),
        })
    }

    /// Stops everything gracefully: the public address first (requests in
    /// flight finish), then the services, then the database server the stack
    /// started. A second call does nothing.
    pub async fn stop(&self) {
        let parts = self.running.0.lock().ok().and_then(|mut parts| parts.take());
        let Some(parts) = parts else { return };
        if let Some(gateway) = parts.gateway {
            gateway.stop().await;
        }
        futures_util::future::join_all(parts.services.into_iter().chain(parts.url_signer).map(Served::stop))
            .await;
        match parts.database {
            Some(Database::Jongodb(server)) => {
                let _ = tokio::task::spawn_blocking(move || server.stop()).await;
            }
            Some(Database::Mongod(server)) => server.stop().await,
            None => {}
        }
        if let Some(server) = parts.payments {
            let _ = tokio::task::spawn_blocking(move || server.stop()).await;
        }
    }

    /// Stops url-signer alone, as a crash would to its callers (its port
    /// closes); photos then come without URLs until [`Stack::start_url_signer`].
    pub async fn stop_url_signer(&self) {
        let served = self.running.0.lock().ok().and_then(|mut parts| parts.as_mut()?.url_signer.take());
        if let Some(served) = served {
            served.handle.stop(false).await;
            let _ = served.task.await;
        }
    }

    /// Starts url-signer again on its port, after [`Stack::stop_url_signer`].
    pub async fn start_url_signer(&self) -> anyhow::Result<()> {
        let config = self
            .running
            .0
            .lock()
            .ok()
            .and_then(|parts| Some(parts.as_ref()?.url_signer_runs.as_ref()?.next()));
        let config = config.ok_or_else(|| anyhow::anyhow!("the stack is stopped"))??;
        let (_, served) = Served::spawn(url_signer::build(config).await?);
        if let Ok(mut parts) = self.running.0.lock()
            && let Some(parts) = parts.as_mut()
        {
            parts.url_signer = Some(served);
        }
        Ok(())
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
