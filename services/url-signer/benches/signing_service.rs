//! url-signer's speed: signature-cache hits per second in process, and the
//! latency of `POST /internal/v1/sign` with 20 uncached RSA items over
//! loopback HTTP. `cargo bench -p url-signer`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use cloudfront_sign::{HashAlgorithm, KeyKind, PrivateKey};
use common::contract::signing::SignItem;
use common::server::HttpSettings;
use serde_json::json;
use url_signer::config::{CacheSettings, Guards};
use url_signer::keyring::KeyRing;
use url_signer::signing::UrlSigner;

const HOST: &str = "d111111abcdef8.cloudfront.net";

fn bench_key_id() -> common::ids::KeyId {
    common::ids::KeyId::parse("KBENCH").unwrap()
}

fn guards() -> Guards {
    Guards::new(vec![HOST.into()], vec!["https".into()])
}

fn item(n: usize) -> SignItem {
    SignItem {
        resource: format!("https://{HOST}/private/2026/11/28/{n:016x}/display.jpg"),
        expires_in_s: 600,
        ip: None,
        not_before: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn cache_hits(key: &PrivateKey) {
    let keys = KeyRing::new(&[(bench_key_id(), key.clone())], None, HashAlgorithm::Sha1).unwrap();
    let signer = UrlSigner::new(keys, guards(), &CacheSettings::default());
    // A feed page's worth of photos, each already signed once.
    let page: Vec<SignItem> = (0..20).map(item).collect();
    signer.sign(None, &page).unwrap();
    let start = Instant::now();
    let mut urls = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        let signed = signer.sign(None, black_box(&page)).unwrap();
        let (signed, hits) = (signed.urls, signed.cache_hits);
        assert_eq!(hits, signed.len(), "all served from the cache");
        urls += signed.len();
    }
    let rate = urls as f64 / start.elapsed().as_secs_f64();
    println!("cache hits (20-item batches, validation included, one core): {rate:.0} URLs/s");
}

async fn http_latency(key: PrivateKey) {
    let http = HttpSettings { workers: 1, ..HttpSettings::ephemeral() };
    let keys = testkit::service::internal_keys("url-signer");
    let config = url_signer::Config {
        hash: HashAlgorithm::Sha1,
        ..url_signer::Config::new(http, keys, vec![(bench_key_id(), key)], guards())
    };
    let auth = testkit::service::service_auth("post");
    let app = url_signer::build(config).await.unwrap();
    let url = format!("http://127.0.0.1:{}/internal/v1/sign", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let mut next = 0usize;
    let mut latencies = Vec::new();
    for round in 0..230 {
        // Fresh resources every time: nothing comes from the cache.
        let items: Vec<SignItem> = (next..next + 20).map(item).collect();
        next += 20;
        let call =
            common::internal_auth::Call { target: "url-signer", method: "POST", path: "/internal/v1/sign" };
        let token = auth.mint(call).unwrap();
        let started = Instant::now();
        let response =
            client.post(&url).bearer_auth(token).json(&json!({ "items": items })).send().await.unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        if round >= 30 {
            latencies.push(started.elapsed());
        }
    }
    latencies.sort();
    println!(
        "POST /internal/v1/sign, 20 uncached RSA-2048 SHA-1 items, loopback, {} requests: median {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
}

fn main() {
    let key = PrivateKey::generate(KeyKind::Rsa).unwrap();
    cache_hits(&key);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(http_latency(key));
}
