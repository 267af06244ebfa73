//! CloudFront's invalidation API on edge, driven by `aws-sdk-cloudfront`
//! (through `crates/cloudfront-api`, as media drives CloudFront).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use cloudfront_api::{ApiSettings, CloudFront};
use cloudfront_sign::{HashAlgorithm, Signer};
use common::ids::{AccessKeyId, DistributionId};
use common::secrecy::SecretString;
use edge::config::InvalidationSettings;

use crate::helpers::{DIST, KEY_ID, TestEdge, own_origin, spawn_config, vector_config, vector_private_key};

const DISTRIBUTION: &str = "E2EDGETEST";
const ACCESS_KEY: &str = "AKIDEDGETEST";
const SECRET: &str = "edge-invalidation-secret-0123456789";

/// The API on, its records in `mongo` (a test's own database).
fn settings(mongo: common::mongo::MongoSettings) -> InvalidationSettings {
    InvalidationSettings {
        distribution_id: DistributionId::parse(DISTRIBUTION).unwrap(),
        access_key_id: AccessKeyId::parse(ACCESS_KEY).unwrap(),
        secret_access_key: SecretString::from(SECRET.to_owned()),
        mongo,
        poll: Duration::from_millis(200),
    }
}

async fn api(edge: &TestEdge, secret: &str) -> CloudFront {
    CloudFront::new(&ApiSettings {
        endpoint: Some(edge.base.clone()),
        credentials: Some((ACCESS_KEY.into(), secret.into())),
        max_attempts: 1,
    })
    .await
}

fn signed(path: &str) -> String {
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
    Signer::new(KEY_ID, vector_private_key("rsa"), HashAlgorithm::Sha1)
        .canned_url(&format!("https://{DIST}{path}"), expires)
        .unwrap()
}

async fn x_cache(edge: &TestEdge, path: &str) -> String {
    let response = edge.get(&signed(path), "198.51.100.7").send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.headers()["x-cache"].to_str().unwrap().to_owned()
}

async fn warm(edge: &TestEdge, paths: &[&str]) {
    for path in paths {
        x_cache(edge, path).await;
        assert_eq!(x_cache(edge, path).await, "Hit from edge", "{path} is cached");
    }
}

const M1: [&str; 2] = ["/private/2026/11/28/m1/display.jpg", "/private/2026/11/28/m1/thumb.jpg"];
const M2: &str = "/private/2026/11/28/m2/display.jpg";

#[tokio::test]
async fn the_sdk_invalidates_one_path_then_a_prefix_and_reads_them_back() {
    let (s3, _origin) = own_origin().await;
    let mut config = vector_config(s3);
    config.invalidations = Some(settings(testkit::mongo::settings("edge_invalidate")));
    let edge = spawn_config(config).await;
    warm(&edge, &[M1[0], M1[1], M2]).await;
    let cloudfront = api(&edge, SECRET).await;

    let one = cloudfront.invalidate(DISTRIBUTION, "takedown-m2", &[M2.to_owned()]).await.unwrap();
    assert_eq!(x_cache(&edge, M2).await, "Miss from edge", "invalidated at once on this replica");
    assert_eq!(x_cache(&edge, M1[0]).await, "Hit from edge", "other objects stay");

    let prefix = cloudfront
        .invalidate(DISTRIBUTION, "takedown-m1", &["/private/2026/11/28/m1/*".to_owned()])
        .await
        .unwrap();
    for path in M1 {
        assert_eq!(x_cache(&edge, path).await, "Miss from edge", "{path} under the wildcard");
    }
    assert_eq!(x_cache(&edge, M2).await, "Hit from edge");

    // The same caller reference is the same invalidation; other paths under it are refused.
    let again = cloudfront.invalidate(DISTRIBUTION, "takedown-m2", &[M2.to_owned()]).await.unwrap();
    assert_eq!(again, one);
    let conflict =
        cloudfront.invalidate(DISTRIBUTION, "takedown-m2", &["/other".to_owned()]).await.unwrap_err();
    assert!(format!("{conflict:#}").contains("InvalidationBatchAlreadyExists"), "{conflict:#}");

    let client = cloudfront.client();
    let got = client.get_invalidation().distribution_id(DISTRIBUTION).id(&prefix).send().await.unwrap();
    let invalidation = got.invalidation.unwrap();
    assert_eq!(invalidation.id, prefix);
    let batch = invalidation.invalidation_batch.unwrap();
    assert_eq!(batch.caller_reference, "takedown-m1");
    assert_eq!(batch.paths.unwrap().items.unwrap(), vec!["/private/2026/11/28/m1/*".to_owned()]);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let got = client.get_invalidation().distribution_id(DISTRIBUTION).id(&prefix).send().await.unwrap();
    assert_eq!(got.invalidation.unwrap().status, "Completed");

    let page = client.list_invalidations().distribution_id(DISTRIBUTION).max_items(1).send().await.unwrap();
    let list = page.invalidation_list.unwrap();
    assert!(list.is_truncated);
    assert_eq!(list.items.as_ref().unwrap()[0].id, prefix, "newest first");
    let rest = client
        .list_invalidations()
        .distribution_id(DISTRIBUTION)
        .marker(list.next_marker.unwrap())
        .send()
        .await
        .unwrap()
        .invalidation_list
        .unwrap();
    assert!(!rest.is_truncated);
    assert_eq!(rest.items.unwrap().iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![one]);

    let missing = client
        .get_invalidation()
        .distribution_id(DISTRIBUTION)
        .id("INOSUCHTHING00")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("NoSuchInvalidation"));
    let other = client.list_invalidations().distribution_id("EOTHER").send().await.unwrap_err();
    assert_eq!(other.code(), Some("NoSuchDistribution"));
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_invalidations_are_refused_and_change_nothing() {
    let (s3, _origin) = own_origin().await;
    let mut config = vector_config(s3);
    config.invalidations = Some(settings(testkit::mongo::settings("edge_invalidate_auth")));
    let edge = spawn_config(config).await;
    warm(&edge, &[M2]).await;

    let wrong = api(&edge, "not-the-secret-0123456789").await;
    let refused = wrong.client().list_invalidations().distribution_id(DISTRIBUTION).send().await.unwrap_err();
    assert_eq!(refused.code(), Some("SignatureDoesNotMatch"));
    assert!(wrong.invalidate(DISTRIBUTION, "wrong-secret", &["/*".to_owned()]).await.is_err());

    let body = "<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/*</Path></Items></Paths>\
                <CallerReference>unsigned</CallerReference></InvalidationBatch>";
    let unsigned = reqwest::Client::new()
        .post(format!("{}/2020-05-31/distribution/{DISTRIBUTION}/invalidation", edge.base))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    assert!(unsigned.text().await.unwrap().contains("<Code>MissingAuthenticationToken</Code>"));
    assert_eq!(x_cache(&edge, M2).await, "Hit from edge", "nothing was invalidated");

    let right = api(&edge, SECRET).await;
    for (paths, why) in
        [(vec!["no-slash".to_owned()], "relative"), (vec!["/a*/b".to_owned()], "wildcard inside")]
    {
        let err = right.invalidate(DISTRIBUTION, why, &paths).await.unwrap_err();
        assert!(format!("{err:#}").contains("InvalidArgument"), "{why}: {err:#}");
    }
}

#[tokio::test]
async fn every_replica_honours_an_invalidation_within_a_second() {
    let (s3, _origin) = own_origin().await;
    let shared = testkit::mongo::settings("edge_replicas");
    let replica = |s3: common::s3::S3Settings| {
        let mut config = vector_config(s3);
        config.invalidations = Some(settings(shared.clone()));
        spawn_config(config)
    };
    let (a, b) = (replica(s3.clone()).await, replica(s3).await);
    warm(&a, &[M2]).await;
    warm(&b, &[M2]).await;
    api(&a, SECRET).await.invalidate(DISTRIBUTION, "on-a", &[M2.to_owned()]).await.unwrap();
    let started = Instant::now();
    // Replica b learns of it from the shared store: look without refilling it.
    loop {
        let hits = b.metric("edge_invalidation_paths_total", "").await;
        if hits >= 1.0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "replica b still serves the old copy after 1 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(x_cache(&b, M2).await, "Miss from edge");
}

/// A takedown while a cached photo is still being sent to a slow viewer:
/// that response ends whole (its bytes stay its own, though the cache let
/// go of them), and the next request is a miss.
#[tokio::test]
async fn a_photo_invalidated_while_it_is_sent_arrives_whole_and_is_gone_after() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SIZE: usize = 16 << 20;
    const PATH: &str = "/private/large/photo.jpg";
    let (s3, origin) = own_origin().await;
    let photo: Vec<u8> = (0..SIZE).map(|i| (i % 249) as u8).collect();
    let client = testkit::s3::client(&s3).await;
    client.put_object().bucket(&s3.bucket).key(&PATH[1..]).body(photo.clone().into()).send().await.unwrap();
    let mut config = vector_config(s3);
    config.invalidations = Some(settings(testkit::mongo::settings("edge_invalidate_mid_send")));
    config.cache.max_object_bytes = 32 << 20;
    config.cache.memory_bytes = 128 << 20;
    let edge = spawn_config(config).await;
    warm(&edge, &[PATH]).await;

    // More than the loopback socket buffers hold: the rest waits in edge.
    let url = signed(PATH);
    let target = &url[url.find(DIST).unwrap() + DIST.len()..];
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", edge.port)).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {DIST}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n"
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut received = vec![0u8; 64 << 10];
    slow.read_exact(&mut received).await.unwrap();

    api(&edge, SECRET).await.invalidate(DISTRIBUTION, "takedown-large", &[PATH.to_owned()]).await.unwrap();
    slow.read_to_end(&mut received).await.unwrap();
    let body_at = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(received[..body_at].starts_with(b"HTTP/1.1 200"));
    assert!(received[body_at..] == photo[..], "the slow viewer got the photo whole");
    assert!(edge.metric("edge_zero_copy_bytes_total", "").await >= SIZE as f64, "sent by sendfile");
    assert_eq!(x_cache(&edge, PATH).await, "Miss from edge", "gone from the cache");
    assert_eq!(origin.requests.count("GET", "origin", &PATH[1..]), 2);
}
