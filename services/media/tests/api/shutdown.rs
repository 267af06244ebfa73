use nix::sys::signal::Signal;
use testkit::stopping::{InFlight, ServiceProcess};

#[tokio::test]
async fn an_upload_in_flight_at_sigterm_is_stored_and_media_exits_zero() {
    let auth = crate::helpers::spawn_auth().await;
    let user = testkit::users::sign_up(&auth, "stopper").await;
    let bucket = testkit::s3::bucket("media-stop").await;
    let mut env = testkit::mongo::env("media-stop");
    env.extend(testkit::s3::endpoint().env(&bucket.bucket));
    env.extend([
        ("AUTH_JWKS_URL", format!("{auth}/.well-known/jwks.json")),
        ("POST_URL", "http://127.0.0.1:9".to_owned()),
        ("AUTH_URL", auth.clone()),
        ("MEDIA_WATERMARK_SECRET", "a-watermark-secret-of-at-least-32-chars".to_owned()),
    ]);
    env.extend(testkit::service::internal_auth_env("media"));
    let media = ServiceProcess::start(env!("CARGO_BIN_EXE_media"), &[], &env).await;
    let photo = imaging::samples::jpeg(640, 480);
    let request = InFlight::post("/v1/media", "image/jpeg", Some(&user.token), photo);
    let answer = media.stop_during(request, Signal::SIGTERM).await;
    assert_eq!(answer.status, 201, "{answer:?}");
}
