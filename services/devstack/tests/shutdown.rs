//! `devstack` as a process: a signal stops it cleanly, with a request in
//! flight through the public address, and the database server it started
//! goes with it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nix::sys::signal::Signal;
use testkit::stopping::{InFlight, ServiceProcess};

async fn start_devstack(data_dir: &std::path::Path) -> ServiceProcess {
    let data_dir = data_dir.display().to_string();
    let args = ["--listen", "127.0.0.1:0", "--data-dir", &data_dir];
    // The embedded servers, unless the suite runs against a real replica set.
    let env: Vec<(&str, String)> =
        std::env::var("MONGODB_URI").map(|uri| vec![("MONGODB_URI", uri)]).unwrap_or_default();
    ServiceProcess::start_announced(env!("CARGO_BIN_EXE_devstack"), &args, &env, "Shutter is running at")
        .await
}

fn signup(name: &str) -> InFlight {
    let body = format!(r#"{{"username":"{name}","email":"{name}@example.com","password":"password123"}}"#);
    InFlight::post("/v1/auth/signup", "application/json", None, body.into_bytes())
}

#[tokio::test]
async fn sigterm_or_ctrl_c_lets_a_signup_through_the_public_address_finish_and_stops_everything() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let stack = start_devstack(dir.path()).await;
        let answer = stack.stop_during(signup("leaving"), signal).await;
        assert_eq!(answer.status, 201, "{signal}: {}", answer.text());
    }
}
