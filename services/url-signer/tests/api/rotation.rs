//! `keys register` and `keys rotate` against CloudFront's API (moto, with
//! testkit's stand-in for the UpdateKeyGroup operation moto lacks), with a
//! running url-signer that follows the key manifest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudfront_api::{ApiSettings, CloudFront};
use cloudfront_sign::{KeyKind, PrivateKey, SignedRequest};
use common::ids::KeyId;
use serde_json::{Value, json};
use url_signer::config::ManifestWatch;
use url_signer::manifest::{Manifest, ManifestKey};
use url_signer::rotation::{self, Progress, RotationSettings, Step, Trust};

use crate::helpers::{self, TestSigner, now, photo};

async fn cloudfront() -> CloudFront {
    CloudFront::new(&testkit::cloudfront::settings()).await
}

/// A folder with one key in service: registered, in `group`, in the manifest.
async fn key_in_service(api: &CloudFront, group: &str) -> (PathBuf, KeyId) {
    let dir = std::env::temp_dir().join(testkit::unique_name("rotation"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = PrivateKey::generate(KeyKind::Rsa).unwrap();
    common::private_file::create(&dir.join("key-0.pem"), &key.to_pkcs8_pem().unwrap()).unwrap();
    let pem = key.public_key().unwrap().to_pem().unwrap();
    let old_id = api.register_public_key(&testkit::unique_name("old"), &pem).await.unwrap();
    api.add_to_key_group(group, &old_id).await.unwrap();
    let old_id = KeyId::parse(&old_id).unwrap();
    let manifest = dir.join("keys.json");
    Manifest {
        active_key_id: old_id.clone(),
        keys: vec![ManifestKey { key_id: old_id.clone(), path: "key-0.pem".into() }],
    }
    .write(&manifest)
    .unwrap();
    (manifest, old_id)
}

fn settings(manifest: &Path) -> RotationSettings {
    RotationSettings {
        manifest: manifest.to_owned(),
        name_prefix: testkit::unique_name("new"),
        kind: KeyKind::Rsa,
        propagation_delay: Duration::from_secs(600),
        max_url_lifetime: Duration::from_secs(3600),
        margin: Duration::from_secs(120),
    }
}

async fn group_items(api: &CloudFront, group: &str) -> Vec<KeyId> {
    let id = api.find_key_group(group).await.unwrap().unwrap();
    api.key_group(&id).await.unwrap().0.items.iter().map(|item| KeyId::parse(item).unwrap()).collect()
}

async fn published(signer: &TestSigner) -> Vec<(KeyId, bool)> {
    let response = signer.call("edge", reqwest::Method::GET, "/internal/v1/public-keys", None).await;
    let body: Value = response.json().await.unwrap();
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (KeyId::parse(k["id"].as_str().unwrap()).unwrap(), k["active"] == true))
        .collect()
}

/// Polls until url-signer has reloaded the manifest into `expected`.
async fn until_published(signer: &TestSigner, expected: &[(KeyId, bool)]) {
    for _ in 0..100 {
        if published(signer).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("url-signer publishes {:?}, expected {expected:?}", published(signer).await);
}

async fn sign_one(signer: &TestSigner) -> (String, KeyId) {
    let response = signer.sign(json!([{ "resource": photo(1), "expires_in_s": 600 }])).await;
    let body: Value = response.json().await.unwrap();
    (
        body["items"][0]["url"].as_str().unwrap().to_owned(),
        KeyId::parse(body["key_id"].as_str().unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn a_rotation_changes_the_signing_key_without_a_restart_or_a_broken_url() {
    let api = cloudfront().await;
    let group = testkit::unique_name("group");
    let (manifest, old_id) = key_in_service(&api, &group).await;
    let loaded = Manifest::read(&manifest).unwrap().load_keys(&manifest).unwrap();
    let mut config = helpers::config(loaded, Duration::from_secs(60));
    config.manifest = Some(ManifestWatch { path: manifest.clone(), reload_every: Duration::from_millis(50) });
    let signer = helpers::spawn_with(config).await;
    let settings = settings(&manifest);
    let t0 = now();

    // Steps 1-3: a new key, registered, in the group and published, not yet signing.
    let progress =
        rotation::rotate(Trust::CloudFront { api: &api, key_group: &group }, &settings, t0).await.unwrap();
    assert_eq!(progress, Progress::Waiting { done: Step::Published, until: t0 + 600 });
    let new_id = rotation::load_state(&manifest).unwrap().unwrap().new_key_id.unwrap();
    assert_eq!(group_items(&api, &group).await, [old_id.clone(), new_id.clone()]);
    until_published(&signer, &[(old_id.clone(), true), (new_id.clone(), false)]).await;
    let (old_url, signed_by) = sign_one(&signer).await;
    assert_eq!(signed_by, old_id);

    // Running again before the delay changes nothing.
    let updates = testkit::cloudfront::updates().len();
    assert_eq!(
        rotation::rotate(Trust::CloudFront { api: &api, key_group: &group }, &settings, t0 + 599)
            .await
            .unwrap(),
        progress
    );
    assert_eq!(testkit::cloudfront::updates().len(), updates, "no CloudFront change while waiting");

    // Step 4: active after the propagation delay; URLs signed before still verify.
    let progress = rotation::rotate(Trust::CloudFront { api: &api, key_group: &group }, &settings, t0 + 600)
        .await
        .unwrap();
    assert_eq!(progress, Progress::Waiting { done: Step::Activated, until: t0 + 600 + 3720 });
    until_published(&signer, &[(old_id.clone(), false), (new_id.clone(), true)]).await;
    let (new_url, signed_by) = sign_one(&signer).await;
    assert_eq!(signed_by, new_id);
    let trusted = signer.key_group().await;
    for url in [&old_url, &new_url] {
        let request = SignedRequest { url, cookies: &[], client_ip: None, now: now() };
        assert!(
            cloudfront_sign::verify::verify(&trusted, &request).is_ok(),
            "{url} verifies during the rotation"
        );
    }

    // Step 5: once the old key's URLs have expired it is gone everywhere.
    let progress =
        rotation::rotate(Trust::CloudFront { api: &api, key_group: &group }, &settings, t0 + 600 + 3720)
            .await
            .unwrap();
    assert_eq!(progress, Progress::Done { new_key_id: new_id.clone() });
    assert_eq!(group_items(&api, &group).await, vec![new_id.clone()]);
    until_published(&signer, &[(new_id.clone(), true)]).await;
    let manifest_now = Manifest::read(&manifest).unwrap();
    assert_eq!(manifest_now.keys.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(), [new_id.as_str()]);
    assert!(!manifest.with_file_name("key-0.pem").exists(), "the old private key file is deleted");
    assert!(
        api.client().get_public_key().id(old_id.as_str()).send().await.is_err(),
        "the old public key is deleted"
    );
    assert!(rotation::load_state(&manifest).unwrap().is_none());
}

#[tokio::test]
async fn an_interrupted_rotation_resumes_where_it_stopped() {
    let api = cloudfront().await;
    let group = testkit::unique_name("group");
    let (manifest, old_id) = key_in_service(&api, &group).await;
    let settings = settings(&manifest);

    // CloudFront unreachable: the key is made, the registration fails.
    let unreachable = ApiSettings {
        endpoint: Some("http://127.0.0.1:9".into()),
        max_attempts: 1,
        ..testkit::cloudfront::settings()
    };
    let unreachable = CloudFront::new(&unreachable).await;
    let err = rotation::rotate(Trust::CloudFront { api: &unreachable, key_group: &group }, &settings, now())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("ListPublicKeys"), "{err:#}");
    let state = rotation::load_state(&manifest).unwrap().unwrap();
    assert_eq!(state.step, Step::Generated);

    let progress =
        rotation::rotate(Trust::CloudFront { api: &api, key_group: &group }, &settings, now()).await.unwrap();
    assert!(matches!(progress, Progress::Waiting { done: Step::Published, .. }), "{progress:?}");
    let resumed = rotation::load_state(&manifest).unwrap().unwrap();
    assert_eq!(resumed.new_key_file, state.new_key_file, "the same new key, not a second one");
    let pem_files = std::fs::read_dir(manifest.parent().unwrap())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "pem"))
        .count();
    assert_eq!(pem_files, 2);
    assert_eq!(group_items(&api, &group).await, [old_id, resumed.new_key_id.unwrap()]);
}

#[test]
fn keys_register_prints_the_key_id_and_fills_the_group() {
    let dir = std::env::temp_dir().join(testkit::unique_name("register"));
    std::fs::create_dir_all(&dir).unwrap();
    let public = dir.join("public_key.pem");
    let key = PrivateKey::generate(KeyKind::Rsa).unwrap();
    std::fs::write(&public, key.public_key().unwrap().to_pem().unwrap()).unwrap();
    let (name, group) = (testkit::unique_name("cli"), testkit::unique_name("group"));
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_url-signer"))
            .args(["keys", "register", "--public-key"])
            .arg(&public)
            .args(["--name", &name, "--key-group", &group])
            .env("CLOUDFRONT_ENDPOINT_URL", testkit::cloudfront::endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let id = String::from_utf8(first.stdout).unwrap().trim().to_owned();
    let registered = KeyId::parse(&id).unwrap();
    let again = run();
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), id, "registering twice finds the same key");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let items = runtime.block_on(async { group_items(&cloudfront().await, &group).await });
    assert_eq!(items, [registered]);
}

#[tokio::test]
async fn a_self_hosted_rotation_needs_no_cloudfront_and_counts_waits_from_the_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("key-0.pem");
    let pem = PrivateKey::generate(KeyKind::Ecdsa).unwrap().to_pkcs8_pem().unwrap();
    common::private_file::create(&old, &pem).unwrap();
    let manifest = dir.path().join("keys.json");
    let first = ManifestKey { key_id: KeyId::parse("KSELFHOSTED01").unwrap(), path: "key-0.pem".into() };
    Manifest { active_key_id: first.key_id.clone(), keys: vec![first] }.write(&manifest).unwrap();
    let settings = settings(&manifest);
    let t0 = now();

    let progress = rotation::rotate(Trust::Published, &settings, t0).await.unwrap();
    assert_eq!(progress, Progress::Waiting { done: Step::Published, until: t0 + 600 });
    let new_id = rotation::load_state(&manifest).unwrap().unwrap().new_key_id.unwrap();
    assert!(
        new_id.as_str().starts_with('K') && new_id.as_str().len() == 14,
        "a key id in CloudFront's form: {new_id}"
    );
    assert_eq!(Manifest::read(&manifest).unwrap().keys.len(), 2, "published beside the old key");

    // The manifest reached the pods only at t0 + 300 (a rollout): the wait counts from then.
    assert_eq!(rotation::mark_deployed(&manifest, t0 + 300).unwrap(), Step::Published);
    let progress = rotation::rotate(Trust::Published, &settings, t0 + 600).await.unwrap();
    assert_eq!(progress, Progress::Waiting { done: Step::Published, until: t0 + 900 });
    let progress = rotation::rotate(Trust::Published, &settings, t0 + 900).await.unwrap();
    assert_eq!(progress, Progress::Waiting { done: Step::Activated, until: t0 + 900 + 3720 });
    assert_eq!(Manifest::read(&manifest).unwrap().active_key_id, new_id);
    let progress = rotation::rotate(Trust::Published, &settings, t0 + 900 + 3720).await.unwrap();
    assert_eq!(progress, Progress::Done { new_key_id: new_id.clone() });
    let keys = Manifest::read(&manifest).unwrap().keys;
    assert_eq!(keys.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(), [new_id.as_str()]);
    assert!(!old.exists(), "the old private key file is deleted");
}
