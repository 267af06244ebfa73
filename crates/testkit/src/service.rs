//! Starting services under test.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use common::internal_auth::{Call, InternalKeys, ServiceAuth};
use common::secrecy::{ExposeSecret, SecretString};
use common::server::Application;

/// Runs `app` on the current runtime and returns its base URL.
pub fn spawn(app: Application) -> String {
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

/// Everyone that makes internal calls in tests: the services, the
/// moderation console, and two stand-ins of the common crate's own tests.
const CALLERS: [&str; 8] =
    ["auth", "post", "media", "url-signer", "edge", "moderation", "upstream", "downstream"];

/// Each caller's own Ed25519 key pair (made once per test process), and the
/// same keys as files, as a service binary is given them.
struct TestKeys {
    pairs: HashMap<&'static str, (SecretString, String)>,
    dir: PathBuf,
}

fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(crate::unique_name("internal-keys"));
        let mut pairs = HashMap::new();
        for name in CALLERS {
            let (private, public) = common::internal_auth::generate_key().expect("an internal key");
            common::private_file::create(
                &dir.join(format!("{name}.pem")),
                private.expose_secret().as_bytes(),
            )
            .expect("a private key file");
            std::fs::write(dir.join(format!("{name}.pub.pem")), &public).expect("a public key file");
            pairs.insert(name, (private, public));
        }
        TestKeys { pairs, dir }
    })
}

/// The internal-call keys of service `name`: its own private key, and every
/// test caller's public key (each route still says whom it admits).
pub fn internal_keys(name: &str) -> InternalKeys {
    let keys = test_keys();
    let own = keys.pairs.get(name).unwrap_or_else(|| panic!("no test key for {name}")).0.clone();
    let callers = CALLERS.iter().map(|caller| ((*caller).to_owned(), keys.pairs[caller].1.clone())).collect();
    InternalKeys { own: Some(own), callers }
}

/// The same keys as a service binary reads them: `INTERNAL_AUTH_KEY` and
/// `INTERNAL_AUTH_CALLERS`.
pub fn internal_auth_env(name: &str) -> Vec<(&'static str, String)> {
    let dir = &test_keys().dir;
    let callers: Vec<String> = CALLERS
        .iter()
        .map(|caller| format!("{caller}={}", dir.join(format!("{caller}.pub.pem")).display()))
        .collect();
    vec![
        ("INTERNAL_AUTH_KEY", dir.join(format!("{name}.pem")).display().to_string()),
        ("INTERNAL_AUTH_CALLERS", callers.join(",")),
    ]
}

/// media's watermark secret for tests (one per process).
pub fn watermark_secret() -> common::secrecy::SecretString {
    common::secrecy::SecretString::from("test-watermark-secret-0123456789abcdef".to_owned())
}

/// Credentials of a service named `name`, for calling services under test.
pub fn service_auth(name: &str) -> ServiceAuth {
    ServiceAuth::new(name, &internal_keys(name)).expect("service auth")
}

/// A token for one internal call from `caller` to `target`: `method` `path`
/// (with its query, if any).
pub fn service_token(caller: &str, target: &str, method: &str, path: &str) -> String {
    service_auth(caller).mint(Call { target, method, path }).expect("service token")
}
