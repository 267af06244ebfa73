use reqwest::Method;
use serde_json::json;

use crate::helpers::{photo, spawn};

#[tokio::test]
async fn only_post_may_sign_and_anyone_inside_may_read_the_public_keys() {
    let signer = spawn().await;
    let body = || Some(json!({ "items": [{ "resource": photo(0), "expires_in_s": 60 }] }));
    for (caller, expected) in [("post", 200), ("media", 403), ("edge", 403), ("auth", 403)] {
        let response = signer.call(caller, Method::POST, "/internal/v1/sign", body()).await;
        assert_eq!(response.status().as_u16(), expected, "{caller} signing");
    }
    // Public keys are public: edge reads them with no credential at all.
    let keys =
        reqwest::Client::new().get(format!("{}/internal/v1/public-keys", signer.base)).send().await.unwrap();
    assert_eq!(keys.status(), 200, "reading keys without a credential");
    let anonymous = reqwest::Client::new()
        .post(format!("{}/internal/v1/sign", signer.base))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// What a compromised media or edge could try: a token that names post,
/// signed with any key but post's own, opens nothing.
#[tokio::test]
async fn a_token_naming_post_but_not_signed_by_posts_key_is_refused() {
    use common::internal_auth::{Call, InternalKeys, ServiceAuth, generate_key};
    let signer = spawn().await;
    let impostor =
        ServiceAuth::new("post", &InternalKeys { own: Some(generate_key().unwrap().0), callers: Vec::new() })
            .unwrap();
    let token =
        impostor.mint(Call { target: "url-signer", method: "POST", path: "/internal/v1/sign" }).unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/internal/v1/sign", signer.base))
        .bearer_auth(token)
        .json(&json!({ "items": [{ "resource": photo(0), "expires_in_s": 60 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
