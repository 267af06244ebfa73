//! The dev stack starts every service on real servers, and each says it is ready.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use common::config::{Env, FromEnv};
use devstack::Stack;
use testkit::http::JsonAnswer;

mod support;

#[tokio::test]
async fn every_service_of_the_stack_is_ready() {
    // The embedded defaults, as `cargo run -p devstack` uses them, unless
    // the suite runs against a real replica set.
    let options = support::options();
    let data_dir = options.data_dir.clone();
    let stack = Stack::start(options).await.unwrap();
    let key_file = data_dir.join("keys/private_key.pem");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600,
        "dev key made 0600"
    );
    let client = reqwest::Client::new();
    for (name, url) in stack.services() {
        let response = client.get(format!("{url}/readyz")).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{name} is not ready: {body}");
    }

    // Sign-up through auth gives a token that auth itself accepts.
    let token = testkit::users::sign_up(&stack.auth, "devuser").await.token;
    let me = client.get(format!("{}/v1/users/me", stack.auth)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);

    // A private photo: refused without a signature, served with one from url-signer (through the public address, the only host url-signer signs for).
    let s3 = common::s3::client(&stack.s3).await;
    let key = "private/2026/11/28/m1/display.jpg";
    s3.put_object().bucket(&stack.s3.bucket).key(key).body(b"photo".to_vec().into()).send().await.unwrap();
    // The embedded store keeps it for the stack's user alone.
    let stored = data_dir.join("s3").join(&stack.s3.bucket).join(key);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&stored), 0o600, "a stored photo");
    assert_eq!(mode(stored.parent().unwrap()), 0o700, "its folder");
    assert_eq!(mode(&data_dir), 0o700, "the data folder");
    let photo = format!("{}/{key}", stack.public_url);
    assert_eq!(client.get(&photo).send().await.unwrap().status(), 403);
    let post = stack.internal_keys.caller("post").unwrap();
    let signed: serde_json::Value = client
        .post(format!("{}/internal/v1/sign", stack.url_signer))
        .bearer_auth(
            post.mint(common::internal_auth::Call {
                target: "url-signer",
                method: "POST",
                path: "/internal/v1/sign",
            })
            .unwrap(),
        )
        .json(&serde_json::json!({ "items": [{ "resource": photo, "expires_in_s": 300 }] }))
        .json_answer()
        .await;
    let url = signed["items"][0]["url"].as_str().unwrap();
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"photo");
}

#[test]
fn each_service_names_the_variables_it_is_missing() {
    let missing = |result: Result<(), common::config::ConfigError>| result.unwrap_err().to_string();
    let empty = || Env::from_map(Vec::<(String, String)>::new());
    let auth = missing(auth::Config::load(empty()).map(drop));
    for var in ["MONGODB_URI", "AUTH_SIGNING_KEYS", "INTERNAL_AUTH_CALLERS"] {
        assert!(auth.contains(&format!("{var} is required")), "{auth}");
    }
    let post = missing(post::Config::load(empty()).map(drop));
    for var in [
        "MONGODB_URI",
        "AUTH_JWKS_URL",
        "INTERNAL_AUTH_KEY",
        "INTERNAL_AUTH_CALLERS",
        "MEDIA_URL",
        "URL_SIGNER_URL",
        "PHOTO_BASE_URL",
    ] {
        assert!(post.contains(&format!("{var} is required")), "{post}");
    }
    let media = missing(media::Config::load(empty()).map(drop));
    for var in [
        "MONGODB_URI",
        "S3_BUCKET",
        "AUTH_JWKS_URL",
        "INTERNAL_AUTH_KEY",
        "INTERNAL_AUTH_CALLERS",
        "POST_URL",
        "AUTH_URL",
        "MEDIA_WATERMARK_SECRET",
    ] {
        assert!(media.contains(&format!("{var} is required")), "{media}");
    }
    let signer = missing(url_signer::Config::load(empty()).map(drop));
    for var in ["INTERNAL_AUTH_CALLERS", "SIGNER_KEYS", "SIGNER_ALLOWED_HOSTS"] {
        assert!(signer.contains(&format!("{var} is required")), "{signer}");
    }
    let edge = missing(edge::Config::load(empty()).map(drop));
    assert!(edge.contains("S3_BUCKET is required"), "{edge}");
    assert!(!edge.contains("INTERNAL_AUTH"), "edge holds no internal credential: {edge}");
    for (service, read) in [
        ("auth", common::config::variables_read::<auth::Config>(Vec::new())),
        ("url-signer", common::config::variables_read::<url_signer::Config>(Vec::new())),
    ] {
        assert!(!read.contains("INTERNAL_AUTH_KEY"), "{service} calls no one: it needs no key of its own");
    }
    let bad_port =
        missing(edge::Config::load(Env::from_map([("S3_BUCKET", "b"), ("LISTEN_ADDR", "nope")])).map(drop));
    assert!(bad_port.contains("LISTEN_ADDR is malformed"), "{bad_port}");
}

/// A public port whose five service ports after it are free too (below the
/// kernel's ephemeral range, so no outgoing connection takes one meanwhile).
fn free_base_port() -> u16 {
    use rand::Rng;
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    (0..200)
        .map(|_| rand::rng().random_range(20_000..30_000))
        .find(|&base: &u16| (base..=base + 5).all(free))
        .expect("no six free ports in a row")
}

#[tokio::test]
async fn a_stopped_stack_starts_again_at_once_on_the_same_address() {
    let mut options = support::options();
    options.listen = std::net::SocketAddr::from(([127, 0, 0, 1], free_base_port()));
    let (listen, data_dir) = (options.listen, options.data_dir.clone());
    let stack = Stack::start(options).await.unwrap();
    // Traffic through every hop, so the stop leaves connections in TIME_WAIT
    // on the services' ports.
    let client = reqwest::Client::new();
    let token = testkit::users::sign_up(&stack.public_url, "restarting").await.token;
    for _ in 0..3 {
        let feed =
            client.get(format!("{}/v1/feed", stack.public_url)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(feed.status(), 200);
    }
    stack.stop().await;

    let mut again = support::options();
    again.listen = listen;
    again.data_dir = data_dir;
    let stack = Stack::start(again).await.expect("the stack starts again at once on the same address");
    for (name, url) in stack.services() {
        let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{name} is not ready after a restart");
    }
    testkit::users::sign_up(&stack.public_url, "restarted").await;
    stack.stop().await;
}
