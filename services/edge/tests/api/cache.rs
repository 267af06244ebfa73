//! The cache: after verification only, shared by every valid signature,
//! coalescing concurrent misses, within its budget, standing in for a
//! failing origin for a bounded time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudfront_sign::{HashAlgorithm, Policy, Signer};
use edge::config::{CacheSettings, DiskSettings};

use crate::helpers::{DIST, KEY_ID, body_of, own_origin, spawn_config, vector_config, vector_private_key};

const VIEWER: &str = "198.51.100.7";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn signer() -> Signer {
    Signer::new(KEY_ID, vector_private_key("rsa"), HashAlgorithm::Sha1)
}

fn signed(path: &str, expires: u64) -> String {
    signer().canned_url(&format!("https://{DIST}{path}"), expires).unwrap()
}

async fn fetch(edge: &crate::helpers::TestEdge, url: &str) -> (u16, String, Vec<u8>) {
    let response = edge.get(url, VIEWER).send().await.unwrap();
    let status = response.status().as_u16();
    let x_cache =
        response.headers().get("x-cache").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, x_cache, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn cached_bytes_never_reach_a_request_that_fails_verification() {
    let (s3, _origin) = own_origin().await;
    let edge = spawn_config(vector_config(s3)).await;
    let path = "/private/photo.jpg";
    let good = signed(path, now() + 600);
    assert_eq!(fetch(&edge, &good).await.1, "Miss from edge");
    let (status, x_cache, body) = fetch(&edge, &good).await;
    assert_eq!((status, x_cache.as_str()), (200, "Hit from edge"));
    assert_eq!(body, body_of("private/photo.jpg"));

    let secret = body_of("private/photo.jpg");
    let expired = signed(path, now() - 10);
    let tampered = good.replace("Signature=", "Signature=A");
    let other = signed("/private/a/b/c.jpg", now() + 600).replace("/private/a/b/c.jpg", path);
    let resource = format!("https://{DIST}{path}");
    let elsewhere = Policy {
        ip_address: Some("203.0.113.0/24".parse().unwrap()),
        ..Policy::canned(&resource, now() + 600)
    };
    let wrong_ip = signer().url(&resource, &elsewhere).unwrap();
    let unsigned = format!("https://{DIST}{path}");
    for (what, url) in [
        ("expired", expired),
        ("tampered", tampered),
        ("another object's", other),
        ("another address's", wrong_ip),
        ("unsigned", unsigned),
    ] {
        let (status, x_cache, body) = fetch(&edge, &url).await;
        assert_eq!(status, 403, "{what} URL");
        assert!(x_cache.is_empty(), "{what} URL never reaches the cache");
        assert!(!body.windows(secret.len()).any(|w| w == secret), "{what} URL got the object");
    }
}

#[tokio::test]
async fn one_cached_copy_serves_every_valid_signature_with_ranges_heads_and_validators() {
    let (s3, origin) = own_origin().await;
    let edge = spawn_config(vector_config(s3)).await;
    let path = "/private/big.bin";
    let (first, second) = (signed(path, now() + 600), signed(path, now() + 900));
    assert_ne!(first, second);
    let miss = edge.get(&first, VIEWER).send().await.unwrap();
    assert_eq!(miss.headers()["x-cache"], "Miss from edge");
    let e_tag = miss.headers()["etag"].to_str().unwrap().to_owned();
    let hit = edge.get(&second, "192.0.2.9").send().await.unwrap();
    assert_eq!(hit.headers()["x-cache"], "Hit from edge", "another viewer's URL, the same copy");
    assert!(hit.headers()["age"].to_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(hit.headers()["content-type"], "application/octet-stream");
    assert_eq!(hit.headers()["cache-control"], "private, max-age=3600");
    assert_eq!(hit.bytes().await.unwrap().as_ref(), body_of("private/big.bin").as_slice());

    let part = edge.get(&second, VIEWER).header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!((part.status().as_u16(), part.headers()["x-cache"].to_str().unwrap()), (206, "Hit from edge"));
    assert_eq!(part.headers()["content-range"], "bytes 100-199/300000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &body_of("private/big.bin")[100..200]);
    let suffix = edge.get(&second, VIEWER).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(suffix.headers()["content-range"], "bytes 299990-299999/300000");
    let beyond = edge.get(&second, VIEWER).header("range", "bytes=400000-").send().await.unwrap();
    assert_eq!(
        (beyond.status().as_u16(), beyond.headers()["content-range"].to_str().unwrap()),
        (416, "bytes */300000")
    );

    let (scheme, rest) = second.split_once("://").unwrap();
    let target = &rest[rest.find('/').unwrap()..];
    let head = reqwest::Client::new()
        .head(format!("{}{target}", edge.base))
        .header("host", DIST)
        .header("x-forwarded-proto", scheme)
        .header("x-forwarded-for", VIEWER)
        .send()
        .await
        .unwrap();
    assert_eq!((head.status().as_u16(), head.headers()["x-cache"].to_str().unwrap()), (200, "Hit from edge"));
    assert_eq!(head.headers()["content-length"], "300000");
    assert!(head.bytes().await.unwrap().is_empty());

    let unchanged = edge.get(&second, VIEWER).header("if-none-match", &e_tag).send().await.unwrap();
    assert_eq!(
        (unchanged.status().as_u16(), unchanged.headers()["x-cache"].to_str().unwrap()),
        (304, "Hit from edge")
    );
    assert_eq!(origin.requests.count("GET", "origin", "private/big.bin"), 1, "the origin saw one GET");
}

#[tokio::test]
async fn concurrent_misses_for_one_object_make_one_origin_request() {
    let (s3, origin) = own_origin().await;
    let edge = spawn_config(vector_config(s3)).await;
    let url = signed("/private/2026/11/28/m1/display.jpg", now() + 600);
    let requests: Vec<_> = (0..200).map(|_| edge.get(&url, VIEWER).send()).collect();
    let responses = futures_util::future::join_all(requests).await;
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().as_ref(), body_of("private/2026/11/28/m1/display.jpg"));
    }
    assert_eq!(origin.requests.count("GET", "origin", "private/2026/11/28/m1/display.jpg"), 1);
    assert!(edge.metric("edge_cache_coalesced_total", "").await > 0.0, "some waited for the first");
}

#[tokio::test]
async fn objects_over_the_size_limit_stream_through_uncached() {
    let (s3, origin) = own_origin().await;
    let mut config = vector_config(s3);
    config.cache = CacheSettings { max_object_bytes: 100_000, ..CacheSettings::default() };
    let edge = spawn_config(config).await;
    let url = signed("/private/big.bin", now() + 600);
    for _ in 0..2 {
        let (status, x_cache, body) = fetch(&edge, &url).await;
        assert_eq!((status, x_cache.as_str()), (200, "Miss from edge"));
        assert_eq!(body, body_of("private/big.bin"));
    }
    let part = edge.get(&url, VIEWER).header("range", "bytes=0-9").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &body_of("private/big.bin")[..10]);
    assert_eq!(edge.metric("edge_cache_size_bytes", "tier=\"memory\"").await, 0.0);
    // The first miss opens a fetch for the cache and learns the object is
    // too large; from then on each request is one streamed GET.
    assert_eq!(origin.requests.count("GET", "origin", "private/big.bin"), 4);
}

/// Objects of `size` bytes named `private/fill/{n}`, on the origin.
async fn fill_objects(s3: &common::s3::S3Settings, count: usize, size: usize) {
    let client = testkit::s3::client(s3).await;
    for n in 0..count {
        let body: Vec<u8> = (0..size).map(|i| ((i + n) % 251) as u8).collect();
        client
            .put_object()
            .bucket(&s3.bucket)
            .key(format!("private/fill/{n}"))
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn eviction_keeps_each_tier_within_its_budget_and_disk_serves_what_memory_dropped() {
    let (s3, origin) = own_origin().await;
    fill_objects(&s3, 40, 100_000).await;
    let mut config = vector_config(s3);
    let disk = tempfile::tempdir().unwrap().keep();
    config.cache = CacheSettings {
        memory_bytes: 1 << 20,
        max_object_bytes: 200_000,
        disk: Some(DiskSettings { dir: disk.clone(), bytes: 2 << 20 }),
        ..CacheSettings::default()
    };
    let edge = spawn_config(config).await;
    for n in 0..40 {
        let (status, _, body) = fetch(&edge, &signed(&format!("/private/fill/{n}"), now() + 600)).await;
        assert_eq!((status, body.len()), (200, 100_000));
        let memory = edge.metric("edge_cache_size_bytes", "tier=\"memory\"").await;
        let on_disk = edge.metric("edge_cache_size_bytes", "tier=\"disk\"").await;
        assert!(memory <= f64::from(1 << 20), "memory tier {memory} bytes, budget 1 MiB");
        assert!(on_disk <= f64::from(2 << 20), "disk tier {on_disk} bytes, budget 2 MiB");
        let files: u64 =
            std::fs::read_dir(&disk).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).sum();
        assert!(files <= 2 << 20, "files on disk {files} bytes, budget 2 MiB");
    }
    // Paid photos on disk are this process's user's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&disk), 0o700, "the cache folder");
    let file = std::fs::read_dir(&disk).unwrap().next().unwrap().unwrap().path();
    assert_eq!(mode(&file), 0o600, "a cached object");
    assert!(edge.metric("edge_cache_evictions_total", "tier=\"memory\"").await > 0.0);
    assert!(edge.metric("edge_cache_evictions_total", "tier=\"disk\"").await > 0.0);
    // Something memory no longer holds but disk does comes back without the origin.
    let before: u64 =
        (0..40).map(|n| origin.requests.count("GET", "origin", &format!("private/fill/{n}"))).sum();
    for n in (0..40).rev() {
        fetch(&edge, &signed(&format!("/private/fill/{n}"), now() + 600)).await;
    }
    let after: u64 =
        (0..40).map(|n| origin.requests.count("GET", "origin", &format!("private/fill/{n}"))).sum();
    assert!(edge.metric("edge_cache_hits_total", "tier=\"disk\"").await > 0.0, "disk served some");
    assert!(after - before < 40, "the tiers spared the origin some of the 40");
}

#[tokio::test]
async fn a_failing_origin_is_stood_in_for_by_a_stale_copy_for_a_bounded_time() {
    let (s3, origin) = own_origin().await;
    let mut config = vector_config(s3);
    config.cache = CacheSettings {
        default_ttl: Duration::from_secs(1),
        stale_if_error: Duration::from_secs(3),
        ..CacheSettings::default()
    };
    let edge = spawn_config(config).await;
    let url = signed("/private/photo.jpg", now() + 600);
    assert_eq!(fetch(&edge, &url).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, x_cache, _) = fetch(&edge, &url).await;
    // Stale: revalidated with If-None-Match. S3 and MinIO answer 304
    // (RefreshHit); the test server s3s-fs sends the object again (Miss).
    assert_eq!(status, 200);
    assert!(["RefreshHit from edge", "Miss from edge"].contains(&x_cache.as_str()), "{x_cache}");

    origin.switch.down();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, _, body) = fetch(&edge, &url).await;
    assert_eq!(status, 200, "stale within the window while the origin is down");
    assert_eq!(body, body_of("private/photo.jpg"));
    assert!(edge.metric("edge_cache_stale_served_total", "").await >= 1.0);
    let never_cached = signed("/private/a/b/c.jpg", now() + 600);
    let (status, x_cache, _) = fetch(&edge, &never_cached).await;
    assert_eq!((status, x_cache.as_str()), (503, "Error from edge"), "nothing to stand in");

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fetch(&edge, &url).await.0, 503, "past the window: the origin's failure shows");
    origin.switch.up();
    assert_eq!(fetch(&edge, &url).await.0, 200, "and the origin back serves again");
}

/// A cached photo leaves from sealed memory by `sendfile` (no copy), byte
/// for byte, whole and in ranges.
#[tokio::test]
async fn cached_photos_leave_by_sendfile_byte_for_byte() {
    const SIZE: usize = 4 << 20;
    let (s3, _origin) = own_origin().await;
    fill_objects(&s3, 1, SIZE).await;
    let edge = spawn_config(vector_config(s3)).await;
    let expected: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let url = signed("/private/fill/0", now() + 600);
    for round in ["Miss from edge", "Hit from edge"] {
        let (status, x_cache, body) = fetch(&edge, &url).await;
        assert_eq!((status, x_cache.as_str()), (200, round));
        assert!(body == expected, "{round}: the bytes as stored");
    }
    let part = edge.get(&url, VIEWER).header("range", "bytes=1000000-1000099").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &expected[1_000_000..1_000_100]);
    let zero_copy = edge.metric("edge_zero_copy_bytes_total", "").await;
    assert!(zero_copy >= (2 * SIZE + 100) as f64, "sent by sendfile: {zero_copy} bytes");
    assert!(edge.metric("edge_cache_sealed_bodies", "").await >= 1.0);
}
