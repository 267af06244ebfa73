use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use cloudfront_sign::{PrivateKey, PublicKey};
use common::s3::S3Settings;
use common::server::HttpSettings;
use edge::{Config, KeySource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const KEY_ID: &str = "K2JCJMDEHXQW5F";

pub fn key_id() -> common::ids::KeyId {
    common::ids::KeyId::parse(KEY_ID).unwrap()
}
pub const DIST: &str = "d111111abcdef8.cloudfront.net";

pub fn vectors_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/cloudfront-sign/tests/vectors")
}

pub fn vector_public_key(kind: &str) -> PublicKey {
    PublicKey::from_pem(&std::fs::read(vectors_dir().join(format!("keys/{kind}_public.pem"))).unwrap())
        .unwrap()
}

pub fn vector_private_key(kind: &str) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read(vectors_dir().join(format!("keys/{kind}_private.pem"))).unwrap())
        .unwrap()
}

/// The objects every test bucket holds: (key, content type, bytes).
pub fn objects() -> Vec<(String, &'static str, Vec<u8>)> {
    let mut objects: Vec<(String, &'static str, Vec<u8>)> = [
        "private/2026/11/28/m1/display.jpg",
        "private/2026/11/28/m1/thumb.jpg",
        "private/2026/11/28/m2/display.jpg",
        "private/photo.jpg",
        "private/café/ph oto.jpg",
        "private/café/naïve ☃.jpg",
        "private/a/b/c.jpg",
        "public/previews/m1.jpg",
    ]
    .into_iter()
    .map(|key| (key.to_owned(), "image/jpeg", format!("bytes of {key}").into_bytes()))
    .collect();
    objects.push((
        "private/big.bin".into(),
        "application/octet-stream",
        (0..=255u8).cycle().take(300_000).collect(),
    ));
    objects
}

pub async fn bucket_with_objects() -> S3Settings {
    let settings = testkit::s3::bucket("edge").await;
    put_objects(&testkit::s3::client(&settings).await, &settings.bucket).await;
    settings
}

pub struct TestEdge {
    pub base: String,
    pub port: u16,
}

pub async fn spawn(s3: S3Settings, keys: KeySource, trust_loopback: bool) -> TestEdge {
    let mut config = Config::new(HttpSettings::ephemeral(), s3, keys);
    if trust_loopback {
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    }
    spawn_config(config).await
}

pub async fn spawn_config(config: Config) -> TestEdge {
    testkit::init_logging();
    let app = edge::build(config).await.unwrap();
    let port = app.port();
    TestEdge { base: testkit::service::spawn(app), port }
}

/// An edge config trusting the vectors' RSA key and loopback proxies.
pub fn vector_config(s3: S3Settings) -> Config {
    let keys = KeySource::Static(vec![(key_id(), vector_public_key("rsa"))]);
    let mut config = Config::new(HttpSettings::ephemeral(), s3, keys);
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    config
}

/// An S3 server of this test's own, which counts what reaches it and can
/// be taken down, holding [`objects`].
pub async fn own_origin() -> (S3Settings, testkit::s3::S3Server) {
    let root = tempfile::tempdir().unwrap().keep();
    let credentials = ("origin-key".to_owned(), "origin-secret-0123456789".to_owned());
    let server =
        testkit::s3::start_in_background(&root, ([127, 0, 0, 1], 0).into(), credentials.clone()).unwrap();
    let endpoint = testkit::s3::S3Endpoint {
        endpoint: format!("http://{}", server.addr),
        region: "us-east-1".into(),
        access_key: credentials.0,
        secret_key: credentials.1,
    };
    let settings = endpoint.settings("origin");
    let client = testkit::s3::client(&settings).await;
    client.create_bucket().bucket("origin").send().await.unwrap();
    put_objects(&client, "origin").await;
    (settings, server)
}

async fn put_objects(client: &aws_sdk_s3::Client, bucket: &str) {
    for (key, content_type, bytes) in objects() {
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }
}

/// An edge trusting the vector key of `kind` under the vectors' key id.
pub async fn spawn_for_vectors(kind: &str) -> TestEdge {
    let s3 = bucket_with_objects().await;
    spawn(s3, KeySource::Static(vec![(key_id(), vector_public_key(kind))]), true).await
}

impl TestEdge {
    /// This edge's Prometheus figure `name` (with `labels`, e.g. `tier="memory"`).
    pub async fn metric(&self, name: &str, labels: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.base)).await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
            .filter(|line| line.contains(labels))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// GETs `url` (as a viewer addressed it) through this edge, the way a
    /// load balancer in front of it would forward it.
    pub fn get(&self, url: &str, client_ip: &str) -> reqwest::RequestBuilder {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .header("host", host)
            .header("x-forwarded-proto", scheme)
            .header("x-forwarded-for", client_ip)
    }

    /// Sends bytes exactly as given, for request lines a client library
    /// would normalise. Returns the status (0 when the connection is cut).
    pub async fn raw(&self, request_target: &[u8], host: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(request_target);
        request.extend_from_slice(
            format!(" HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        if stream.write_all(&request).await.is_err() {
            return (0, String::new());
        }
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, text)
    }
}

pub fn body_of(key: &str) -> Vec<u8> {
    objects().into_iter().find(|(k, _, _)| k == key).unwrap().2
}
