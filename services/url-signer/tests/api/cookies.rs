use cloudfront_sign::verify::{self, SignedRequest};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{HOST, now, spawn};

#[tokio::test]
async fn cookies_for_a_pattern_open_its_photos_and_nothing_else() {
    let signer = spawn().await;
    let pattern = format!("https://{HOST}/private/2026/11/28/m1/*");
    let response = signer
        .call(
            "post",
            Method::POST,
            "/internal/v1/cookies",
            Some(json!({ "resource": pattern, "expires_in_s": 600 })),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let cookies: Vec<(String, String)> = body["cookies"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    assert!(cookies.iter().any(|(k, _)| k == "CloudFront-Policy"));
    assert!(cookies.iter().any(|(k, v)| k == "CloudFront-Hash-Algorithm" && v == "SHA256"));
    let jar: Vec<(&str, &str)> = cookies.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let group = signer.key_group().await;
    let check = |url: String| {
        let request = SignedRequest { url: &url, cookies: &jar, client_ip: None, now: now() };
        verify::verify(&group, &request).is_ok()
    };
    assert!(check(format!("https://{HOST}/private/2026/11/28/m1/display.jpg")));
    assert!(check(format!("https://{HOST}/private/2026/11/28/m1/thumb.jpg")));
    assert!(!check(format!("https://{HOST}/private/2026/11/28/m2/display.jpg")));

    let too_wide = json!({ "resource": format!("https://{HOST}/*"), "expires_in_s": 600 });
    let response = signer.call("post", Method::POST, "/internal/v1/cookies", Some(too_wide)).await;
    assert_eq!(response.status(), 422);
}
