//! `media [serve]` runs the service; `media trace` is the operator's leak
//! trace of a file (configured by the same environment variables).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use common::config::FromEnv;
use common::ids::MediaId;

#[derive(Debug, Parser)]
#[command(name = "media", about = "Shutter's media service", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Whose copy of a paid photo a leaked file is: prints the result as
    /// JSON and records the trace; exit code 0 when traced, 1 when not.
    Trace {
        #[arg(long)]
        media_id: MediaId,
        #[arg(long)]
        file: PathBuf,
        /// Who runs the trace, for the record.
        #[arg(long)]
        operator: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => common::server::run_main("media", media::Config::from_env, media::build),
        Command::Trace { media_id, file, operator } => trace(&media_id, &file, &operator),
    }
}

fn trace(media_id: &MediaId, file: &std::path::Path, operator: &str) -> ExitCode {
    let config = match media::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("media: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    let traced = runtime
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(media::trace_file(config, media_id, file, operator)));
    match traced {
        Ok(result) => {
            println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
            if result.found { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(err) => {
            eprintln!("media trace: {err:#}");
            ExitCode::from(2)
        }
    }
}
