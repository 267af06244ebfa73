use std::os::unix::fs::PermissionsExt;

use common::config::{Env, FromEnv};

#[test]
fn a_token_key_others_may_read_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("token_key.pem");
    std::fs::write(&key, auth::keys::SigningKey::generate_pem().unwrap()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let env = || {
        Env::from_map(
            [
                ("MONGODB_URI", "mongodb://127.0.0.1:1".to_owned()),
                ("AUTH_SIGNING_KEYS", format!("k1={}", key.display())),
            ]
            .into_iter()
            .chain(testkit::service::internal_auth_env("auth")),
        )
    };
    let refused = auth::Config::load(env()).unwrap_err().to_string();
    assert!(refused.contains("readable by group or others"), "{refused}");
    assert!(!refused.contains("PRIVATE KEY"), "the key is never quoted: {refused}");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(auth::Config::load(env()).is_ok(), "0600 is accepted");
}
