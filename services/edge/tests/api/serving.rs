use std::time::{SystemTime, UNIX_EPOCH};

use cloudfront_sign::{HashAlgorithm, Policy, Signer};
use edge::KeySource;

use crate::helpers::{
    DIST, KEY_ID, body_of, bucket_with_objects, key_id, spawn, spawn_for_vectors, vector_private_key,
    vector_public_key,
};

fn signed(path: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    Signer::new(KEY_ID, vector_private_key("rsa"), HashAlgorithm::Sha1)
        .canned_url(&format!("https://{DIST}{path}"), now + 600)
        .unwrap()
}

#[tokio::test]
async fn public_previews_need_no_signature_and_private_objects_do() {
    let edge = spawn_for_vectors("rsa").await;
    let response =
        edge.get(&format!("https://{DIST}/public/previews/m1.jpg"), "198.51.100.1").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
    assert_eq!(response.bytes().await.unwrap().as_ref(), body_of("public/previews/m1.jpg").as_slice());

    let response =
        edge.get(&format!("https://{DIST}/private/photo.jpg"), "198.51.100.1").send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<Message>Missing Key-Pair-Id query parameter or cookie value</Message>"),
        "{body}"
    );
}

/// A viewer's malformed key is the viewer's mistake, answered as S3 answers
/// it: never an origin failure (503), whether signed or not.
#[tokio::test]
async fn a_folder_or_an_overlong_key_is_answered_as_s3_would_not_as_an_origin_failure() {
    let edge = spawn_for_vectors("rsa").await;
    let long = "a".repeat(1100);
    for (path, status, code) in [
        ("/public/previews/".to_owned(), 404, "NoSuchKey"),
        (format!("/public/{long}"), 400, "KeyTooLongError"),
    ] {
        let response = edge.get(&format!("https://{DIST}{path}"), "198.51.100.1").send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(response.text().await.unwrap().contains(code), "{path}");
    }
    let folder = edge.get(&signed("/private/2026/"), "198.51.100.1").send().await.unwrap();
    assert_eq!(folder.status(), 404, "a signed folder");
    let unsigned_folder = edge.get(&format!("https://{DIST}/private/2026/"), "198.51.100.1").send().await;
    assert_eq!(unsigned_folder.unwrap().status(), 403, "the signature is still checked first");
}

#[tokio::test]
async fn objects_come_with_their_headers_ranges_and_validators() {
    let edge = spawn_for_vectors("rsa").await;
    let url = signed("/private/big.bin");
    let full = edge.get(&url, "198.51.100.1").send().await.unwrap();
    assert_eq!(full.status(), 200);
    let headers = full.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["content-length"], "300000");
    assert_eq!(headers["cache-control"], "private, max-age=3600");
    assert_eq!(headers["accept-ranges"], "bytes");
    let e_tag = headers["etag"].to_str().unwrap().to_owned();
    let last_modified = headers["last-modified"].to_str().unwrap().to_owned();
    assert_eq!(full.bytes().await.unwrap().as_ref(), body_of("private/big.bin").as_slice());

    let part = edge.get(&url, "198.51.100.1").header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 100-199/300000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &body_of("private/big.bin")[100..200]);

    let beyond = edge.get(&url, "198.51.100.1").header("range", "bytes=400000-").send().await.unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(beyond.headers()["content-range"], "bytes */300000");

    let cached = edge.get(&url, "198.51.100.1").header("if-none-match", &e_tag).send().await.unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], e_tag.as_str());
    let changed = edge.get(&url, "198.51.100.1").header("if-none-match", "\"other\"").send().await.unwrap();
    assert_eq!(changed.status(), 200);
    let unmodified =
        edge.get(&url, "198.51.100.1").header("if-modified-since", &last_modified).send().await.unwrap();
    assert_eq!(unmodified.status(), 304);

    let head = reqwest::Client::new()
        .head(format!("{}/private/big.bin?{}", edge.base, url.split_once('?').unwrap().1))
        .header("host", DIST)
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "300000");
    assert_eq!(head.headers()["etag"], e_tag.as_str());
}

#[tokio::test]
async fn a_valid_signature_for_a_missing_object_is_a_404_and_writes_are_refused() {
    let edge = spawn_for_vectors("rsa").await;
    let response = edge.get(&signed("/private/nothing-here.jpg"), "198.51.100.1").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let post = reqwest::Client::new().post(format!("{}/private/photo.jpg", edge.base)).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let resource = format!("https://{DIST}/private/photo.jpg");
    let policy = Policy {
        ip_address: Some("203.0.113.0/24".parse().unwrap()),
        ..Policy::canned(&resource, now + 600)
    };
    let url =
        Signer::new(KEY_ID, vector_private_key("rsa"), HashAlgorithm::Sha1).url(&resource, &policy).unwrap();

    let trusting = spawn_for_vectors("rsa").await;
    assert_eq!(trusting.get(&url, "203.0.113.7").send().await.unwrap().status(), 200);
    assert_eq!(
        trusting.get(&url, "203.0.113.7, 198.51.100.1").send().await.unwrap().status(),
        403,
        "rightmost untrusted hop"
    );

    let keys = KeySource::Static(vec![(key_id(), vector_public_key("rsa"))]);
    let direct = spawn(bucket_with_objects().await, keys, false).await;
    // The header claims an allowed address, but the socket is loopback and not a trusted proxy.
    let forged = direct.get(&url, "203.0.113.7").send().await.unwrap();
    assert_eq!(forged.status(), 403);
}

#[tokio::test]
async fn a_public_prefix_that_would_open_every_object_is_refused_at_start() {
    use common::config::{Env, FromEnv};
    let s3 = testkit::s3::bucket("edge-prefix").await;
    let keys = KeySource::Static(vec![(key_id(), vector_public_key("rsa"))]);
    for prefix in ["", "/", "public", "/public/", "public//", "../public/"] {
        let mut config =
            edge::Config::new(common::server::HttpSettings::ephemeral(), s3.clone(), keys.clone());
        config.public_prefix = prefix.to_owned();
        assert!(edge::build(config).await.is_err(), "{prefix:?} must be refused");
    }
    let refused = edge::Config::load(Env::from_map([
        ("S3_BUCKET", "b"),
        ("EDGE_KEYS_URL", "http://url-signer:8084"),
        ("EDGE_PUBLIC_PREFIX", "/"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(refused.contains("EDGE_PUBLIC_PREFIX"), "{refused}");
}
