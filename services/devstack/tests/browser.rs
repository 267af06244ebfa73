//! The web page, driven in headless Chromium by Playwright: the same story as
//! `public_address.rs`, through the page. `scripts/bootstrap` installs
//! Chromium (Debian's) and playwright-core (under `.tools/browser`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

mod support;

fn tool(env: &str, default: PathBuf) -> PathBuf {
    let path = std::env::var_os(env).map_or(default, PathBuf::from);
    assert!(path.exists(), "{} is missing: run scripts/bootstrap (or set {env})", path.display());
    path
}

#[tokio::test]
async fn the_web_page_sells_a_paid_photo_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let chromium = tool("CHROMIUM", PathBuf::from("/usr/bin/chromium"));
    let playwright = tool("PLAYWRIGHT_CORE", root.join(".tools/browser/node_modules/playwright-core"));
    // Card payments and payouts through localstripe: the page's "Add €10 by card", "Pay out".
    let stack = devstack::Stack::start(devstack::StackOptions { card_payments: true, ..support::options() })
        .await
        .unwrap();
    assert!(stack.payments_api.is_some(), "localstripe is missing: run scripts/bootstrap");
    // A generated scene (free) and a photo-like landscape (paid, and traced).
    let free = stack.data_dir.join("scene-3.jpg");
    std::fs::write(&free, devstack::seed::scene_jpeg(3, 800, 600).unwrap()).unwrap();
    let paid = stack.data_dir.join("landscape.jpg");
    imaging::samples::landscape(1200, 800, 4).save(&paid).unwrap();
    let photos = [free, paid];
    // A moderator, granted the role in auth's database as an operator would.
    let moderator = format!("mod{}", &testkit::unique_name("m")[2..10]);
    let mongo = mongodb::Client::with_uri_str(&stack.mongodb_uri).await.unwrap();
    testkit::users::with_role(&stack.public_url, &mongo.database("shutter_auth"), &moderator, "moderator")
        .await;
    let story = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/story.cjs");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg(story)
            .arg(&stack.public_url)
            .args(&photos)
            .env("PLAYWRIGHT_CORE", playwright)
            .env("CHROMIUM", chromium)
            .env("STRIPE_API", stack.payments_api.clone().unwrap())
            .env("STRIPE_KEY", testkit::stripe::SECRET_KEY)
            .env("MODERATOR", &moderator)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser story finishes within 3 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "browser story failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("browser story: ok"), "{stdout}");
}
