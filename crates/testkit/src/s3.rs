//! S3 for tests: `S3_ENDPOINT`, or an in-process s3s-fs server with SigV4.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use aws_sdk_s3::Client;
use common::s3::S3Settings;
use common::secrecy::SecretString;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// Where an S3-compatible server listens and how to sign requests for it.
#[derive(Debug, Clone)]
pub struct S3Endpoint {
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Endpoint {
    /// The environment variables a service binary reads for `bucket` here.
    pub fn env(&self, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("S3_BUCKET", bucket.to_owned()),
            ("S3_REGION", self.region.clone()),
            ("S3_ENDPOINT", self.endpoint.clone()),
            ("S3_ACCESS_KEY_ID", self.access_key.clone()),
            ("S3_SECRET_ACCESS_KEY", self.secret_key.clone()),
        ]
    }

    /// Settings for a service using `bucket` on this server.
    pub fn settings(&self, bucket: &str) -> S3Settings {
        S3Settings {
            bucket: bucket.to_owned(),
            region: self.region.clone(),
            endpoint: Some(self.endpoint.clone()),
            credentials: Some((self.access_key.clone(), SecretString::from(self.secret_key.clone()))),
            force_path_style: true,
        }
    }
}

static ENDPOINT: OnceLock<S3Endpoint> = OnceLock::new();

/// The S3 server the tests use.
pub fn endpoint() -> &'static S3Endpoint {
    ENDPOINT.get_or_init(|| match std::env::var("S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => S3Endpoint {
            endpoint,
            region: std::env::var("S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
            access_key: std::env::var("S3_ACCESS_KEY_ID").expect("S3_ACCESS_KEY_ID with S3_ENDPOINT"),
            secret_key: std::env::var("S3_SECRET_ACCESS_KEY").expect("S3_SECRET_ACCESS_KEY with S3_ENDPOINT"),
        },
        _ => {
            // Kept for the life of the process; the server writes into it.
            let root = crate::temp_folder("shutter-s3");
            let credentials = ("test-access-key".to_owned(), "test-secret-key-0123456789".to_owned());
            let addr = start_in_background(&root, ([127, 0, 0, 1], 0).into(), credentials.clone())
                .expect("in-process S3 server")
                .addr;
            S3Endpoint {
                endpoint: format!("http://{addr}"),
                region: "us-east-1".into(),
                access_key: credentials.0,
                secret_key: credentials.1,
            }
        }
    })
}

/// A fresh bucket for one test, with settings pointing at it.
pub async fn bucket(prefix: &str) -> S3Settings {
    let name = crate::unique_name(prefix).chars().take(63).collect::<String>();
    let settings = endpoint().settings(&name);
    let client = common::s3::client(&settings).await;
    client.create_bucket().bucket(&name).send().await.expect("create bucket");
    settings
}

/// An SDK client for `settings` (a convenience for tests).
pub async fn client(settings: &S3Settings) -> Client {
    common::s3::client(settings).await
}

/// An s3s-fs server: running on its own thread and runtime (so it outlives
/// any one test's runtime), storing under a folder, stoppable and
/// restartable on its port with its objects intact.
pub struct S3Server {
    pub addr: SocketAddr,
    pub switch: crate::fault::Switch,
    /// Every request it answered, for tests that count what reached the origin.
    pub requests: RequestLog,
}

/// Requests an S3 server received, as `"{METHOD} {path}"` (path-style).
#[derive(Clone, Default)]
pub struct RequestLog(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>);

impl RequestLog {
    fn record(&self, method: &hyper::Method, path: &str) {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts.entry(format!("{method} {path}")).or_default() += 1;
    }

    /// How many `method` requests named `key` in `bucket`.
    pub fn count(&self, method: &str, bucket: &str, key: &str) -> u64 {
        let counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.get(&format!("{method} /{bucket}/{key}")).copied().unwrap_or(0)
    }
}

/// Runs an s3s-fs server storing under `root`, listening on `listen`.
pub fn start_in_background(
    root: &Path,
    listen: SocketAddr,
    (access_key, secret_key): (String, String),
) -> anyhow::Result<S3Server> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|err| anyhow::anyhow!("s3s-fs: {err:?}"))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (switch, up) = crate::fault::Switch::new();
    let requests = RequestLog::default();
    let log = requests.clone();
    std::thread::Builder::new().name("s3s-fs".into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime for the S3 server");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let http = ConnBuilder::new(TokioExecutor::new());
            let watch_up = up.clone();
            crate::fault::accept_while_up(listener, addr, up, move |socket| {
                let (service, log) = (service.clone(), log.clone());
                let counted =
                    hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        log.record(req.method(), req.uri().path());
                        let service = service.clone();
                        async move { hyper::service::Service::call(&service, req).await }
                    });
                let connection = http.serve_connection(TokioIo::new(socket), counted).into_owned();
                let down = crate::fault::switched_down(watch_up.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = connection => {}
                        () = down => {}
                    }
                });
            })
            .await;
        });
    })?;
    Ok(S3Server { addr, switch, requests })
}
