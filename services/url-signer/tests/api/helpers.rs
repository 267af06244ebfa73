use std::time::Duration;

use cloudfront_sign::{KeyGroup, KeyKind, PrivateKey, PublicKey};
use common::ids::KeyId;
use common::server::HttpSettings;
use serde_json::{Value, json};
use url_signer::config::{CacheSettings, Config, Guards};

pub const HOST: &str = "d111111abcdef8.cloudfront.net";

pub struct TestSigner {
    pub base: String,
    http: reqwest::Client,
}

pub fn config(keys: Vec<(KeyId, PrivateKey)>, bucket: Duration) -> Config {
    let guards = Guards { max_batch: 50, ..Guards::new(vec![HOST.into()], vec!["https".into()]) };
    Config {
        cache: CacheSettings { bucket, capacity: 1000 },
        ..Config::new(HttpSettings::ephemeral(), testkit::service::internal_keys("url-signer"), keys, guards)
    }
}

pub async fn spawn_with(config: Config) -> TestSigner {
    testkit::init_logging();
    let app = url_signer::build(config).await.unwrap();
    TestSigner { base: testkit::service::spawn(app), http: reqwest::Client::new() }
}

pub fn key_id(id: &str) -> KeyId {
    KeyId::parse(id).unwrap()
}

pub async fn spawn() -> TestSigner {
    let keys = vec![
        (key_id("KACTIVE"), PrivateKey::generate(KeyKind::Rsa).unwrap()),
        (key_id("KOLDEC"), PrivateKey::generate(KeyKind::Ecdsa).unwrap()),
    ];
    spawn_with(config(keys, Duration::from_secs(60))).await
}

pub fn photo(n: usize) -> String {
    format!("https://{HOST}/private/2026/11/28/m{n}/display.jpg")
}

impl TestSigner {
    pub async fn call(
        &self,
        caller: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let token = testkit::service::service_token(caller, "url-signer", method.as_str(), path);
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn sign(&self, items: Value) -> reqwest::Response {
        self.call("post", reqwest::Method::POST, "/internal/v1/sign", Some(json!({ "items": items }))).await
    }

    pub async fn sign_ok(&self, items: Value) -> Vec<Value> {
        let response = self.sign(items).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    }

    /// The key group a CloudFront distribution would trust, read from the service.
    pub async fn key_group(&self) -> KeyGroup {
        let response = self.call("edge", reqwest::Method::GET, "/internal/v1/public-keys", None).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let mut group = KeyGroup::new();
        for key in body["keys"].as_array().unwrap() {
            let pem = key["public_key_pem"].as_str().unwrap();
            group.insert(key["id"].as_str().unwrap(), PublicKey::from_pem(pem.as_bytes()).unwrap());
        }
        group
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
