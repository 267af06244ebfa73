//! Starting services under test.

use common::internal_auth::{Call, ServiceAuth};
use common::secrecy::SecretString;
use common::server::Application;

/// Runs `app` on the current runtime and returns its base URL.
pub fn spawn(app: Application) -> String {
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

/// The shared internal secret, as services receive it.
pub fn internal_secret() -> SecretString {
    SecretString::from(crate::INTERNAL_SECRET.to_owned())
}

/// media's watermark secret for tests (one per process).
pub fn watermark_secret() -> common::secrecy::SecretString {
    common::secrecy::SecretString::from("test-watermark-secret-0123456789abcdef".to_owned())
}

/// Credentials of a service named `name`, for calling services under test.
pub fn service_auth(name: &str) -> ServiceAuth {
    ServiceAuth::new(name, &internal_secret()).expect("service auth")
}

/// A token for one internal call from `caller` to `target`: `method` `path`
/// (with its query, if any).
pub fn service_token(caller: &str, target: &str, method: &str, path: &str) -> String {
    service_auth(caller).mint(Call { target, method, path }).expect("service token")
}
