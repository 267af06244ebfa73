use nix::sys::signal::Signal;
use testkit::stopping::{InFlight, ServiceProcess};

#[tokio::test]
async fn a_top_up_in_flight_at_sigterm_is_applied_and_post_exits_zero() {
    let (auth, _) = crate::helpers::spawn_auth().await;
    let user = testkit::users::sign_up(&auth, "stopper").await;
    let mut env = testkit::mongo::env("post-stop");
    env.extend([
        ("AUTH_JWKS_URL", format!("{auth}/.well-known/jwks.json")),
        ("AUTH_URL", auth.clone()),
        ("MEDIA_URL", "http://127.0.0.1:9".to_owned()),
        ("URL_SIGNER_URL", "http://127.0.0.1:9".to_owned()),
        ("PHOTO_BASE_URL", crate::helpers::PHOTOS.to_owned()),
        ("POST_DEV_TOPUP", "true".to_owned()),
    ]);
    env.extend(testkit::service::internal_auth_env("post"));
    let post = ServiceProcess::start(env!("CARGO_BIN_EXE_post"), &[], &env).await;
    let body = br#"{"amount_cents": 500}"#.to_vec();
    let request = InFlight::post("/v1/wallet/dev-topup", "application/json", Some(&user.token), body);
    let answer = post.stop_during(request, Signal::SIGTERM).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.text().contains("500"), "{}", answer.text());
}
