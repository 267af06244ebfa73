use std::time::Duration;

use cloudfront_sign::verify::{self, SignedRequest};
use cloudfront_sign::{KeyKind, PrivateKey};
use serde_json::{Value, json};

use crate::helpers::{HOST, config, now, photo, spawn, spawn_with};

#[tokio::test]
async fn a_batch_comes_back_in_order_and_every_url_verifies() {
    let signer = spawn().await;
    let items: Vec<Value> = (0..20).map(|n| json!({ "resource": photo(n), "expires_in_s": 300 })).collect();
    let signed = signer.sign_ok(Value::Array(items)).await;
    assert_eq!(signed.len(), 20);
    let group = signer.key_group().await;
    for (n, item) in signed.iter().enumerate() {
        let url = item["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}?Expires=", photo(n))),
            "item {n} is for its own resource: {url}"
        );
        assert!(url.ends_with("&Key-Pair-Id=KACTIVE&Hash-Algorithm=SHA256"));
        let expires_at = item["expires_at"].as_u64().unwrap();
        assert!(expires_at >= now() + 300, "never earlier than asked");
        let request = SignedRequest { url, cookies: &[], client_ip: None, now: now() };
        verify::verify(&group, &request).unwrap();
        let late = SignedRequest { now: expires_at, ..request };
        assert!(verify::verify(&group, &late).is_err());
    }
}

#[tokio::test]
async fn viewers_of_one_photo_share_a_cached_signature_within_a_bucket() {
    let signer = spawn().await;
    let item = json!([{ "resource": photo(1), "expires_in_s": 600 }]);
    let first = signer.sign_ok(item.clone()).await;
    let second = signer.sign_ok(item).await;
    assert_eq!(first[0]["url"], second[0]["url"]);
    assert_eq!(first[0]["expires_at"].as_u64().unwrap() % 60, 0, "expiry rounded up to the bucket");

    // A viewer-bound URL is a custom policy, shared only inside its range.
    let bound_to = |ip: &str| json!([{ "resource": photo(1), "expires_in_s": 600, "ip": ip }]);
    let bound = signer.sign_ok(bound_to("203.0.113.7/24")).await;
    assert!(bound[0]["url"].as_str().unwrap().contains("?Policy="));
    assert_ne!(bound[0]["url"], first[0]["url"]);
    let neighbour = signer.sign_ok(bound_to("203.0.113.200/24")).await;
    assert_eq!(neighbour[0]["url"], bound[0]["url"], "one range, one cached signature");
    let elsewhere = signer.sign_ok(bound_to("198.51.100.7/24")).await;
    assert_ne!(elsewhere[0]["url"], bound[0]["url"]);

    // The policy names the range's network, and admits only addresses inside it.
    let group = signer.key_group().await;
    let url = bound[0]["url"].as_str().unwrap();
    let from =
        |ip: &str| SignedRequest { url, cookies: &[], client_ip: Some(ip.parse().unwrap()), now: now() };
    verify::verify(&group, &from("203.0.113.99")).unwrap();
    assert!(verify::verify(&group, &from("203.0.114.1")).is_err());
}

#[tokio::test]
async fn a_url_with_a_start_time_keeps_its_exact_expiry() {
    let signer = spawn().await;
    let before = now();
    let item = json!([{ "resource": photo(3), "expires_in_s": 601, "not_before": before + 5 }]);
    let signed = signer.sign_ok(item).await;
    let expires_at = signed[0]["expires_at"].as_u64().unwrap();
    assert!((before + 601..=now() + 601).contains(&expires_at), "not rounded into a shared bucket");
}

#[tokio::test]
async fn without_the_cache_every_url_is_signed_for_the_exact_lifetime() {
    let keys = vec![(crate::helpers::key_id("KONLY"), PrivateKey::generate(KeyKind::Ecdsa).unwrap())];
    let signer = spawn_with(config(keys, Duration::ZERO)).await;
    let before = now();
    let signed = signer.sign_ok(json!([{ "resource": photo(1), "expires_in_s": 61 }])).await;
    let expires_at = signed[0]["expires_at"].as_u64().unwrap();
    assert!((before + 61..=now() + 61).contains(&expires_at));
}

#[tokio::test]
async fn custom_conditions_are_signed_into_the_policy() {
    let signer = spawn().await;
    let start = now() + 30;
    let signed = signer
        .sign_ok(json!([{ "resource": photo(2), "expires_in_s": 300, "ip": "203.0.113.0/24", "not_before": start }]))
        .await;
    let url = signed[0]["url"].as_str().unwrap();
    let group = signer.key_group().await;
    let inside = Some("203.0.113.9".parse().unwrap());
    assert!(
        verify::verify(&group, &SignedRequest { url, cookies: &[], client_ip: inside, now: start }).is_ok()
    );
    assert!(
        verify::verify(&group, &SignedRequest { url, cookies: &[], client_ip: inside, now: start - 1 })
            .is_err()
    );
    let outside = Some("198.51.100.1".parse().unwrap());
    assert!(
        verify::verify(&group, &SignedRequest { url, cookies: &[], client_ip: outside, now: start }).is_err()
    );
}

#[tokio::test]
async fn a_published_key_other_than_the_active_one_can_be_asked_for() {
    let signer = spawn().await;
    let body = json!({ "items": [{ "resource": photo(3), "expires_in_s": 60 }], "key_id": "KOLDEC" });
    let response = signer.call("post", reqwest::Method::POST, "/internal/v1/sign", Some(body)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["key_id"], "KOLDEC");
    assert!(body["items"][0]["url"].as_str().unwrap().contains("Key-Pair-Id=KOLDEC"));
}

#[tokio::test]
async fn bad_items_are_refused_naming_their_index_and_reason() {
    let signer = spawn().await;
    let ok = json!({ "resource": photo(0), "expires_in_s": 60 });
    let cases: Vec<(&str, Value, &str)> = vec![
        ("not absolute", json!({ "resource": "/private/a.jpg", "expires_in_s": 60 }), "absolute"),
        (
            "foreign host",
            json!({ "resource": "https://evil.example/private/a.jpg", "expires_in_s": 60 }),
            "host",
        ),
        (
            "outside the prefixes",
            json!({ "resource": format!("https://{HOST}/public/a.jpg"), "expires_in_s": 60 }),
            "prefix",
        ),
        (
            "wildcard",
            json!({ "resource": format!("https://{HOST}/private/*"), "expires_in_s": 60 }),
            "wildcard",
        ),
        (
            "dot segments",
            json!({ "resource": format!("https://{HOST}/private/../x.jpg"), "expires_in_s": 60 }),
            "normal form",
        ),
        (
            "plain http",
            json!({ "resource": format!("http://{HOST}/private/a.jpg"), "expires_in_s": 60 }),
            "scheme",
        ),
        ("TTL over the maximum", json!({ "resource": photo(0), "expires_in_s": 3601 }), "maximum"),
        ("zero TTL", json!({ "resource": photo(0), "expires_in_s": 0 }), "at least"),
        (
            "not_before after expiry",
            json!({ "resource": photo(0), "expires_in_s": 60, "not_before": now() + 3600 }),
            "not_before",
        ),
        ("invalid IP", json!({ "resource": photo(0), "expires_in_s": 60, "ip": "300.1.1.1/8" }), "IP"),
    ];
    for (case, bad, reason) in cases {
        let response = signer.sign(json!([ok.clone(), bad])).await;
        assert_eq!(response.status(), 422, "{case}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["index"], 1, "{case}");
        let text = problem["errors"][0]["reason"].as_str().unwrap();
        assert!(text.contains(reason), "{case}: {text}");
    }
}

#[tokio::test]
async fn malformed_batches_are_refused() {
    let signer = spawn().await;
    let empty = signer.sign(json!([])).await;
    assert_eq!(empty.status(), 422);
    let many: Vec<Value> = (0..51).map(|n| json!({ "resource": photo(n), "expires_in_s": 60 })).collect();
    assert_eq!(signer.sign(Value::Array(many)).await.status(), 413);
    let unknown_key = json!({ "items": [{ "resource": photo(0), "expires_in_s": 60 }], "key_id": "KNOPE" });
    let response = signer.call("post", reqwest::Method::POST, "/internal/v1/sign", Some(unknown_key)).await;
    assert_eq!(response.status(), 422);
    let wrong_type = signer.sign(json!([{ "resource": photo(0), "expires_in_s": "soon" }])).await;
    assert_eq!(wrong_type.status(), 400);
    let unknown_field =
        signer.sign(json!([{ "resource": photo(0), "expires_in_s": 60, "policy": "x" }])).await;
    assert_eq!(unknown_field.status(), 400);
}
