//! The CloudFront private key never leaves url-signer: not in logs, errors,
//! `Debug` output or responses; and a key that is unsafe or unusable stops
//! the service at start with a message naming the file, not its content.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cloudfront_sign::{KeyKind, PrivateKey};
use common::config::{Env, FromEnv};
use serde_json::json;
use url_signer::Config;

/// Captures every log line of this test binary, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_key(dir: &Path, name: &str, pem: &[u8], mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

fn env_with_keys(keys: &str) -> Env {
    Env::from_map(
        [
            ("SIGNER_KEYS", keys.to_owned()),
            ("SIGNER_ALLOWED_HOSTS", "d111111abcdef8.cloudfront.net".to_owned()),
            ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("HTTP_WORKERS", "1".to_owned()),
        ]
        .into_iter()
        .chain(testkit::service::internal_auth_env("url-signer")),
    )
}

/// The base64 lines of a PEM: what must never appear anywhere.
fn secret_lines(pem: &[u8]) -> Vec<String> {
    String::from_utf8(pem.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn unsafe_or_unusable_key_files_stop_the_start_naming_the_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let good = PrivateKey::generate(KeyKind::Rsa).unwrap().to_pkcs8_pem().unwrap();
    let readable = write_key(dir.path(), "readable.pem", &good, 0o644);
    let garbage_pem =
        b"-----BEGIN PRIVATE KEY-----\nU0VDUkVUU1RVRkZTRUNSRVRTVFVGRg==\n-----END PRIVATE KEY-----\n";
    let garbage = write_key(dir.path(), "garbage.pem", garbage_pem, 0o600);
    let short_pem = openssl_short_rsa();
    let short = write_key(dir.path(), "short.pem", &short_pem, 0o600);

    let cases = [
        (format!("K1={readable}"), "readable by group or others", &good[..]),
        (format!("K1={garbage}"), "not a PEM-encoded private key", &garbage_pem[..]),
        (format!("K1={short}"), "at least 2048 bits", &short_pem[..]),
        (format!("K1={}/missing.pem", dir.path().display()), "cannot read key file", &b""[..]),
        ("not-a-key-spec".to_owned(), "KEY_ID=/path", &b""[..]),
    ];
    for (keys, expected, pem) in cases {
        let message = Config::load(env_with_keys(&keys)).unwrap_err().to_string();
        assert!(message.contains(expected), "{keys}: {message}");
        for line in secret_lines(pem) {
            assert!(!message.contains(&line), "{keys}: key material in the error: {message}");
        }
    }
}

fn openssl_short_rsa() -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        .output()
        .unwrap();
    out.stdout
}

#[tokio::test]
async fn the_key_appears_in_no_log_debug_output_or_response() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let pem = PrivateKey::generate(KeyKind::Rsa).unwrap().to_pkcs8_pem().unwrap();
    let path = write_key(dir.path(), "cf.pem", &pem, 0o600);
    let config = Config::load(env_with_keys(&format!("KSECRET={path}"))).unwrap();
    let debug = format!("{config:?}");
    let app = url_signer::build(config).await.unwrap();
    let base = testkit::service::spawn(app);

    let client = reqwest::Client::new();
    let call = |caller: &str, path: &str, body: serde_json::Value| {
        let token = testkit::service::service_token(caller, "url-signer", "POST", path);
        client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send()
    };
    let mut bodies = String::new();
    let resource = "https://d111111abcdef8.cloudfront.net/private/a.jpg";
    let signed =
        call("post", "/internal/v1/sign", json!({ "items": [{ "resource": resource, "expires_in_s": 60 }] }))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    let signature = signed.split("Signature=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    bodies.push_str(&signed);
    for (caller, path, body) in [
        (
            "post",
            "/internal/v1/sign",
            json!({ "items": [{ "resource": "https://evil/x", "expires_in_s": 60 }] }),
        ),
        ("post", "/internal/v1/cookies", json!({ "resource": format!("{resource}*"), "expires_in_s": 60 })),
        ("edge", "/internal/v1/sign", json!({ "items": [] })),
    ] {
        bodies.push_str(&call(caller, path, body).await.unwrap().text().await.unwrap());
    }
    let token = testkit::service::service_token("edge", "url-signer", "GET", "/internal/v1/public-keys");
    let keys = client.get(format!("{base}/internal/v1/public-keys")).bearer_auth(token).send().await.unwrap();
    bodies.push_str(&keys.text().await.unwrap());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("signed urls")
            && logs.contains("caller=\"post\"")
            && logs.contains("request_id=")
            && logs.contains("items=1"),
        "the audit line is logged:\n{logs}"
    );
    assert!(!logs.contains(&signature), "signatures are not logged");
    for line in secret_lines(&pem) {
        assert!(!logs.contains(&line), "key material in the logs");
        assert!(!debug.contains(&line), "key material in Debug output");
        assert!(!bodies.contains(&line), "key material in a response");
    }
}
