//! `cargo run -p devstack`: the whole stack on this machine.

use devstack::{Stack, StackOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info");
    let base_port = std::env::var("DEVSTACK_BASE_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let options = match StackOptions::from_env(".data".into(), base_port) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("devstack: {err}");
            std::process::exit(2);
        }
    };
    let stack = Stack::start(options).await?;
    if stack.mongo_in_memory {
        println!(
            "MongoDB: no MONGODB_URI given, using the in-memory jongodb server: data is lost when this stops."
        );
    }
    println!("S3 objects are stored under ./.data/s3 unless S3_ENDPOINT is set.");
    for (name, url) in stack.services() {
        println!("{name:>10}  {url}   (health: {url}/readyz)");
    }
    println!("Ctrl-C stops everything.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
