use std::time::Duration;

use cloudfront_sign::{KeyKind, PrivateKey};
use common::server::HttpSettings;
use edge::KeySource;
use serde_json::{Value, json};
use testkit::http::JsonAnswer;
use url_signer::config::Guards;

use crate::helpers::{DIST, bucket_with_objects, spawn};

fn signer_config(port: u16, keys: Vec<(String, PrivateKey)>) -> url_signer::Config {
    let http = HttpSettings::loopback(port);
    url_signer::Config::new(
        http,
        testkit::service::internal_keys("url-signer"),
        keys.into_iter().map(|(id, key)| (common::ids::KeyId::parse(&id).unwrap(), key)).collect(),
        Guards::new(vec![DIST.into()], vec!["https".into()]),
    )
}

async fn sign(signer_base: &str, key_id: &str) -> String {
    let token = testkit::service::service_token("post", "url-signer", "POST", "/internal/v1/sign");
    let body = json!({ "items": [{ "resource": format!("https://{DIST}/private/photo.jpg"), "expires_in_s": 600 }], "key_id": key_id });
    let response: Value = reqwest::Client::new()
        .post(format!("{signer_base}/internal/v1/sign"))
        .bearer_auth(token)
        .json(&body)
        .json_answer()
        .await;
    response["items"][0]["url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn keys_come_from_url_signer_and_a_retired_key_stops_working() {
    let new = PrivateKey::generate(KeyKind::Ecdsa).unwrap();
    let old = PrivateKey::generate(KeyKind::Rsa).unwrap();
    let first = url_signer::build(signer_config(0, vec![("KNEW".into(), new.clone()), ("KOLD".into(), old)]))
        .await
        .unwrap();
    let port = first.port();
    let handle = first.handle();
    let signer_base = testkit::service::spawn(first);

    let keys = KeySource::Signer { base_url: signer_base.clone(), refresh: Duration::from_millis(300) };
    let edge = spawn(bucket_with_objects().await, keys, true).await;
    let by_new = sign(&signer_base, "KNEW").await;
    let by_old = sign(&signer_base, "KOLD").await;
    assert_eq!(edge.get(&by_new, "198.51.100.1").send().await.unwrap().status(), 200);
    assert_eq!(edge.get(&by_old, "198.51.100.1").send().await.unwrap().status(), 200);

    // Rotation's last step: url-signer restarts publishing only the new key.
    handle.stop(true).await;
    let second = url_signer::build(signer_config(port, vec![("KNEW".into(), new)])).await.unwrap();
    testkit::service::spawn(second);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert_eq!(edge.get(&by_new, "198.51.100.1").send().await.unwrap().status(), 200);
    let retired = edge.get(&by_old, "198.51.100.1").send().await.unwrap();
    assert_eq!(retired.status(), 403);
    assert!(retired.text().await.unwrap().contains("<Message>Unknown Key</Message>"));
}
