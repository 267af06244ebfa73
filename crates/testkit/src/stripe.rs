//! A Stripe-compatible server: localstripe (installed by `scripts/bootstrap`),
//! started once per test binary, or by the dev stack when it is installed.
//!
//! localstripe creates and confirms PaymentIntents, refunds and payouts, and
//! delivers events to every registered webhook, signed as Stripe signs them
//! (`Stripe-Signature: t=…,v1=…`), once, a second after they happen. It does
//! not send `payment_intent.canceled` or refund events; tests of those sign
//! their own events (see post's `webhook` tests).

use std::sync::OnceLock;
use std::time::Duration;

use crate::process::Tied;

/// Any `sk_…` key is accepted by localstripe.
pub const SECRET_KEY: &str = "sk_test_shutter";

static SERVER: OnceLock<String> = OnceLock::new();

const BINARY: &str = ".tools/localstripe/bin/localstripe";

/// The base URL of this test binary's server.
pub fn api_url() -> &'static str {
    SERVER.get_or_init(|| {
        let binary = crate::process::tool(BINARY).expect("cannot install localstripe; run scripts/bootstrap");
        let (url, server) = start(&binary).expect("cannot start localstripe");
        server.keep();
        url
    })
}

/// The dev stack's server, installed first (`scripts/bootstrap --stack`,
/// no root) when missing; `None`, with the reason logged, when it cannot be
/// installed. It stops when the answer's [`Tied`] is stopped or this
/// process exits.
pub fn start_for_stack() -> Option<anyhow::Result<(String, Tied)>> {
    let binary = crate::process::tool(BINARY)
        .and_then(|binary| {
            anyhow::ensure!(binary.exists(), "scripts/bootstrap did not install it");
            Ok(binary)
        })
        .inspect_err(|err| tracing::warn!("card payments off: cannot install localstripe: {err:#}"))
        .ok()?;
    Some(start(&binary))
}

fn start(binary: &std::path::Path) -> anyhow::Result<(String, Tied)> {
    let args = |port: u16| vec!["--port".into(), port.to_string(), "--from-scratch".into()];
    let (port, server) = crate::process::spawn_listening(binary, args, Duration::from_secs(60))?;
    Ok((format!("http://127.0.0.1:{port}"), server))
}

/// Has `api` deliver every event to `url`, signed with `secret`.
pub async fn register_webhook(api: &str, url: &str, secret: &str) -> anyhow::Result<()> {
    let id = crate::unique_name("webhook");
    let response = reqwest::Client::new()
        .post(format!("{api}/_config/webhooks/{id}"))
        .form(&[("url", url), ("secret", secret)])
        .send()
        .await?;
    anyhow::ensure!(response.status().is_success(), "localstripe refused the webhook: {}", response.status());
    Ok(())
}

/// A form POST to the provider's API with the test key; answers its JSON.
pub async fn post(path: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", api_url()))
        .bearer_auth(SECRET_KEY)
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "POST {path}: {}", response.status());
    response.json().await.unwrap()
}

/// A GET of the provider's API with the test key.
pub async fn get(path: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", api_url()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json().await.unwrap()
}

/// The `Stripe-Signature` header Stripe's own Python library makes for
/// `payload` (`stripe.WebhookSignature.generate_signature_header`): events
/// signed by the reference, not by the code under test.
pub fn signature_header(payload: &str, secret: &str, timestamp: u64) -> String {
    use std::io::Write;
    let python = crate::process::tool(".tools/stripe/bin/python")
        .expect("cannot install stripe; run scripts/bootstrap");
    let script = "import sys, stripe\n\
                  print(stripe.WebhookSignature.generate_signature_header(sys.stdin.read(), sys.argv[1], timestamp=int(sys.argv[2])))";
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret, &timestamp.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "stripe's signing helper failed");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
