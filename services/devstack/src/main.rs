//! `cargo run -p devstack`: the whole stack on this machine behind one address.

use std::net::SocketAddr;

use clap::Parser;
use devstack::{MongoKind, Stack, StackOptions};

#[derive(Parser)]
#[command(about = "Runs the whole Shutter stack on this machine, behind one public address.")]
struct Args {
    /// The public address; the services take the five ports after it on loopback.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Fill the stack with demo users, follows, and free and paid posts.
    #[arg(long)]
    seed: bool,
    /// Where data, keys and objects live.
    #[arg(long, default_value = ".data")]
    data_dir: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::telemetry::init("info");
    // Listening from the start: a signal while starting stops the stack once started.
    let stop_asked = tokio::spawn(common::shutdown::signal());
    let options = match StackOptions::from_env(args.data_dir.clone(), args.listen) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("devstack: {err}");
            std::process::exit(2);
        }
    };
    let stack = Stack::start(options).await?;
    match stack.mongo {
        MongoKind::Given => println!("MongoDB: MONGODB_URI"),
        MongoKind::Local => {
            println!("MongoDB: mongod from PATH, data under {}/mongo", args.data_dir.display())
        }
        MongoKind::InMemory => println!(
            "MongoDB: no MONGODB_URI and no mongod on PATH, using the in-memory jongodb server: \
             users and posts are lost when this stops."
        ),
    }
    if std::env::var_os("S3_ENDPOINT").is_none() {
        println!("S3: objects under {}/s3", args.data_dir.display());
    }
    match &stack.payments_api {
        Some(api) => println!("Card payments: localstripe at {api} (test card pm_card_visa)"),
        None => println!(
            "Card payments: off (localstripe could not be installed: see the warning above); the dev top-up works"
        ),
    }
    for (name, url) in stack.services() {
        println!("  {name:>10}  {url}");
    }
    if args.seed {
        devstack::seed::run(&stack.public_url).await?;
    }
    println!("\nShutter is running at {}  (Ctrl-C stops everything)", stack.public_url);
    let _ = stop_asked.await;
    stack.stop().await;
    println!("Shutter stopped.");
    Ok(())
}
