use reqwest::Method;
use serde_json::json;

use crate::helpers::{photo, spawn};

#[tokio::test]
async fn only_post_may_sign_and_edge_may_read_keys() {
    let signer = spawn().await;
    let body = || Some(json!({ "items": [{ "resource": photo(0), "expires_in_s": 60 }] }));
    for (caller, expected) in [("post", 200), ("media", 403), ("edge", 403), ("auth", 403)] {
        let response = signer.call(caller, Method::POST, "/internal/v1/sign", body()).await;
        assert_eq!(response.status().as_u16(), expected, "{caller} signing");
    }
    for (caller, expected) in [("edge", 200), ("post", 200), ("media", 403), ("auth", 403)] {
        let response = signer.call(caller, Method::GET, "/internal/v1/public-keys", None).await;
        assert_eq!(response.status().as_u16(), expected, "{caller} reading keys");
    }
    let anonymous = reqwest::Client::new()
        .post(format!("{}/internal/v1/sign", signer.base))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
