use cloudfront_sign::{KeyKind, PrivateKey};
use nix::sys::signal::Signal;
use testkit::stopping::{InFlight, ServiceProcess};

use crate::helpers::{HOST, photo};

#[tokio::test]
async fn a_signing_call_in_flight_at_sigterm_is_answered_and_url_signer_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("private_key.pem");
    let pem = PrivateKey::generate(KeyKind::Ecdsa).unwrap().to_pkcs8_pem().unwrap();
    common::private_file::create(&key, &pem).unwrap();
    let mut env =
        vec![("SIGNER_KEYS", format!("KSTOP={}", key.display())), ("SIGNER_ALLOWED_HOSTS", HOST.to_owned())];
    env.extend(testkit::service::internal_auth_env("url-signer"));
    let signer = ServiceProcess::start(env!("CARGO_BIN_EXE_url-signer"), &[], &env).await;
    let token = testkit::service::service_token("post", "url-signer", "POST", "/internal/v1/sign");
    let body = serde_json::json!({ "items": [{ "resource": photo(1), "expires_in_s": 300 }] });
    let request =
        InFlight::post("/internal/v1/sign", "application/json", Some(&token), body.to_string().into_bytes());
    let answer = signer.stop_during(request, Signal::SIGTERM).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("Signature="), "{}", answer.text());
}
