//! The CLI mirrors `aws cloudfront sign`: same URLs as botocore for the same
//! inputs, and a verifier and key generator beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_url-signer");

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/cloudfront-sign/tests/vectors")
}

/// The vector test key, copied with the mode url-signer insists on.
fn private_key(dir: &Path) -> PathBuf {
    let path = dir.join("rsa_private.pem");
    std::fs::copy(vectors_dir().join("keys/rsa_private.pem"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn botocore_vector(hash: &str, kind: &str) -> Value {
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("vectors.json")).unwrap()).unwrap();
    all["botocore"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "rsa" && v["hash"] == hash && v["kind"] == kind && v.get("resource").is_none())
        .unwrap()
        .clone()
}

#[test]
fn sign_prints_what_botocore_prints() {
    let dir = tempfile::tempdir().unwrap();
    let key = private_key(dir.path());
    let key = key.to_str().unwrap();

    let canned = botocore_vector("SHA1", "canned");
    let (code, out, err) = run(&[
        "sign",
        "--url",
        canned["url"].as_str().unwrap(),
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        key,
        "--date-less-than",
        "2030-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), canned["signed_url"].as_str().unwrap());

    let custom = botocore_vector("SHA256", "custom");
    let (code, out, err) = run(&[
        "sign",
        "--url",
        custom["url"].as_str().unwrap(),
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        key,
        "--date-less-than",
        "1893456000",
        "--date-greater-than",
        "1767225600",
        "--ip-address",
        "203.0.113.0/24",
        "--hash-algorithm",
        "SHA256",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), custom["signed_url"].as_str().unwrap());
}

#[test]
fn keygen_sign_and_verify_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("keys");
    let (code, public_pem, err) = run(&["keygen", "--kind", "ecdsa", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let private = out_dir.join("private_key.pem");
    assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!public_pem.contains("PRIVATE"));

    let url = "https://d111111abcdef8.cloudfront.net/private/m1/*";
    let (code, signed, err) = run(&[
        "sign",
        "--url",
        "https://d111111abcdef8.cloudfront.net/private/m1/a.jpg",
        "--policy-resource",
        url,
        "--key-pair-id",
        "KNEW",
        "--private-key",
        private.to_str().unwrap(),
        "--date-less-than",
        "1893456000",
    ]);
    assert_eq!(code, 0, "{err}");
    let signed = signed.trim();
    assert!(signed.contains("?Policy="), "a different policy resource makes a custom policy");
    let public = out_dir.join("public_key.pem");
    let public = public.to_str().unwrap();

    let (code, out, _) = run(&["verify", "--public-key", public, "--url", signed, "--at", "1893455999"]);
    assert_eq!((code, out.trim()), (0, "OK"));
    let (code, out, _) =
        run(&["verify", "--public-key", public, "--url", signed, "--at", "2030-01-01T00:00:00Z"]);
    assert_eq!(code, 1);
    assert!(out.contains("expired"), "{out}");
    let elsewhere = signed.replace("/m1/a.jpg", "/m2/a.jpg");
    let (code, out, _) = run(&["verify", "--public-key", public, "--url", &elsewhere, "--at", "1893455999"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn a_world_readable_key_is_refused_by_the_cli_too() {
    let dir = tempfile::tempdir().unwrap();
    let key = private_key(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(&[
        "sign",
        "--url",
        "https://d/private/a.jpg",
        "--key-pair-id",
        "K",
        "--private-key",
        key.to_str().unwrap(),
        "--date-less-than",
        "1893456000",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("readable by group or others") && err.contains("rsa_private.pem"), "{err}");
}

#[test]
fn sign_refuses_a_window_that_never_opens() {
    let dir = tempfile::tempdir().unwrap();
    let key = private_key(dir.path());
    // A start after the expiry, and a start equal to it (the expiry is
    // exclusive, the start inclusive: no second is left).
    for start in ["1893456001", "1893456000"] {
        let (code, out, err) = run(&[
            "sign",
            "--url",
            "https://d111111abcdef8.cloudfront.net/private/m1/a.jpg",
            "--key-pair-id",
            "K2JCJMDEHXQW5F",
            "--private-key",
            key.to_str().unwrap(),
            "--date-less-than",
            "1893456000",
            "--date-greater-than",
            start,
        ]);
        assert_eq!(code, 2, "start {start}: {out}");
        assert!(out.is_empty(), "nothing is printed: {out}");
        assert!(err.contains("is not before the expiry"), "{err}");
    }
}
