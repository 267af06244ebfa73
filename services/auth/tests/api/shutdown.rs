use nix::sys::signal::Signal;
use testkit::stopping::{InFlight, ServiceProcess};

async fn start_auth_binary(dir: &std::path::Path) -> ServiceProcess {
    let key = dir.join("token_key.pem");
    common::private_file::create(&key, &auth::keys::SigningKey::generate_pem().unwrap()).unwrap();
    let mut env = testkit::mongo::env("auth-stop");
    env.extend([
        ("AUTH_SIGNING_KEYS", format!("k1={}", key.display())),
        ("AUTH_ARGON2_MEMORY_KIB", "1024".to_owned()),
        ("AUTH_ARGON2_ITERATIONS", "1".to_owned()),
    ]);
    env.extend(testkit::service::internal_auth_env("auth"));
    ServiceProcess::start(env!("CARGO_BIN_EXE_auth"), &[], &env).await
}

#[tokio::test]
async fn a_login_in_flight_at_sigterm_or_sigint_is_answered_and_auth_exits_zero() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let auth = start_auth_binary(dir.path()).await;
        let body = br#"{"login":"nobody","password":"not-the-password"}"#.to_vec();
        let answer =
            auth.stop_during(InFlight::post("/v1/auth/login", "application/json", None, body), signal).await;
        assert_eq!(answer.status, 401, "{signal}: {}", answer.text());
    }
}
