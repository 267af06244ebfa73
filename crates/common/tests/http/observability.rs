use actix_web::{HttpResponse, web};
use common::health::ReadinessChecks;
use common::mongo::{self, MongoReady};
use common::s3::{S3Ready, S3Settings};
use serde_json::Value;

use crate::helpers::{http, spawn_service};

async fn readiness(mongo_uri: &str, s3: &S3Settings) -> ReadinessChecks {
    let settings = mongo::MongoSettings {
        uri: mongo_uri.into(),
        database: testkit::unique_name("ready").replace('-', "_"),
    };
    let database = mongo::connect(&settings, "readiness-test").await.unwrap();
    let client = common::s3::client(s3).await;
    ReadinessChecks::default().with(MongoReady(database)).with(S3Ready { client, bucket: s3.bucket.clone() })
}

#[tokio::test]
async fn ready_when_mongodb_and_the_bucket_answer() {
    let s3 = testkit::s3::bucket("ready").await;
    let base = spawn_service("media", readiness(testkit::mongo::uri(), &s3).await, |_| {});

    let alive = http().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
    let ready = http().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["mongodb"], "ok");
    assert_eq!(body["checks"]["s3"], "ok");
}

#[tokio::test]
async fn not_ready_when_a_dependency_is_missing() {
    let mut s3 = testkit::s3::bucket("ready").await;
    s3.bucket = "no-such-bucket-anywhere".into();
    // Nothing listens on port 9 (discard) on loopback.
    let checks = readiness("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500", &s3).await;
    let base = spawn_service("media", checks, |_| {});

    let alive = http().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200, "alive even when dependencies are not");
    let ready = http().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_ne!(body["checks"]["mongodb"], "ok");
    assert_ne!(body["checks"]["s3"], "ok");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let base = spawn_service("post", ReadinessChecks::default(), |cfg| {
        cfg.route("/v1/posts/{id}", web::get().to(|| async { HttpResponse::Ok().finish() }));
    });
    for id in ["a", "b", "c"] {
        http().get(format!("{base}/v1/posts/{id}")).send().await.unwrap();
    }
    http().get(format!("{base}/scanner/probe")).send().await.unwrap();

    let text = http().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total") && l.contains(r#"route="/v1/posts/{id}""#))
        .unwrap_or_else(|| panic!("no counter for the route pattern in:\n{text}"));
    assert!(line.contains(r#"status="200""#) && line.ends_with(" 3"), "{line}");
    assert!(text.contains(r#"route="unmatched""#), "unknown paths share one label");
    assert!(!text.contains("/v1/posts/a"), "raw paths never become labels");
    assert!(text.contains("http_request_duration_seconds_bucket"));
}
