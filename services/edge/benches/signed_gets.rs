//! edge on loopback: signed GETs per second for a 200 KB object, and peak
//! memory while 16 clients stream a 32 MiB object. `cargo bench -p edge`.
//! (Verifications per core beside `openssl speed`: `cargo bench -p cloudfront-sign`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use cloudfront_sign::{HashAlgorithm, KeyKind, PrivateKey, Signer};
use common::server::HttpSettings;
use edge::{Config, KeySource};

const CONCURRENCY: usize = 16;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn load(urls: Arc<Vec<String>>, duration: Duration) -> (u64, u64) {
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|i| {
            let (client, urls, done, bytes) = (client.clone(), urls.clone(), done.clone(), bytes.clone());
            tokio::spawn(async move {
                let mut n = i;
                while Instant::now() < deadline {
                    let mut response = client.get(&urls[n % urls.len()]).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    while let Some(chunk) = response.chunk().await.unwrap() {
                        bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (done.load(Ordering::Relaxed), bytes.load(Ordering::Relaxed))
}

async fn run() {
    let s3 = testkit::s3::bucket("bench").await;
    let client = testkit::s3::client(&s3).await;
    let photo: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let large: Vec<u8> = (0..32 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    for (key, body) in [("private/bench/photo.jpg", photo), ("private/bench/large.bin", large)] {
        client.put_object().bucket(&s3.bucket).key(key).body(ByteStream::from(body)).send().await.unwrap();
    }
    let key = PrivateKey::generate(KeyKind::Rsa).unwrap();
    let bucket = s3.bucket.clone();
    let keys = KeySource::Static(vec![("KBENCH".into(), key.public_key().unwrap())]);
    let config = Config::new(HttpSettings { workers: 2, ..HttpSettings::ephemeral() }, s3, keys);
    let app = edge::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let signer = Signer::new("KBENCH", key, HashAlgorithm::Sha1);
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
    // Distinct URLs, as distinct viewers would send.
    let photo_urls: Vec<String> = (0..64)
        .map(|n| signer.canned_url(&format!("{base}/private/bench/photo.jpg"), expires + n).unwrap())
        .collect();

    load(Arc::new(photo_urls.clone()), Duration::from_secs(1)).await; // warm-up
    let seconds = 5.0;
    let (requests, bytes) = load(Arc::new(photo_urls), Duration::from_secs_f64(seconds)).await;
    println!(
        "signed GETs of a 200 KB object, {CONCURRENCY} connections, loopback: {:.0} requests/s ({:.0} MiB/s), \
         RSA verification and the in-process S3 origin included",
        requests as f64 / seconds,
        bytes as f64 / seconds / 1_048_576.0
    );

    // The origin alone, same load through the AWS SDK: the ceiling edge works under.
    let s3_settings = testkit::s3::endpoint().settings(&bucket);
    let sdk = testkit::s3::client(&s3_settings).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (sdk, bucket, count) = (sdk.clone(), bucket.clone(), count.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let out =
                        sdk.get_object().bucket(&bucket).key("private/bench/photo.jpg").send().await.unwrap();
                    out.body.collect().await.unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "the S3 origin alone (s3s-fs, AWS SDK, same concurrency): {:.0} GETs/s",
        count.load(Ordering::Relaxed) as f64 / 3.0
    );

    let before = peak_rss_mib();
    let large =
        Arc::new(vec![signer.canned_url(&format!("{base}/private/bench/large.bin"), expires).unwrap()]);
    let (requests, bytes) = load(large, Duration::from_secs(3)).await;
    let after = peak_rss_mib();
    println!(
        "32 MiB object to {CONCURRENCY} clients: {requests} downloads, {:.0} MiB streamed; peak RSS of the whole \
         process (client, edge, S3 server) {before:.0} MiB before, {after:.0} MiB after",
        bytes as f64 / 1_048_576.0
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run());
}
