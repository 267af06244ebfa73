//! A real `mongod` from `PATH`, as a one-member replica set (transactions
//! need one) with its files under `.data/mongo`, so a second run finds its
//! data again. Used only when installed; the jongodb server is the fallback.

use std::path::Path;
use std::time::Duration;

use mongodb::bson::doc;

const REPLICA_SET: &str = "shutter-dev";

fn installed() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("mongod")).find(|candidate| candidate.is_file())
}

/// A running `mongod`, stopped with the stack.
pub struct Mongod(tokio::process::Child);

impl Mongod {
    /// SIGTERM (mongod flushes and exits cleanly), then up to 10 s to exit.
    pub async fn stop(mut self) {
        if let Some(pid) = self.0.id().and_then(|id| i32::try_from(id).ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.0.wait()).await.is_err() {
            tracing::warn!("mongod did not stop within 10 s; killing it");
            let _ = self.0.kill().await;
        }
    }
}

/// Starts `mongod` on `port` (a fixed port: the replica set's configuration
/// names it) and returns its URI, or `None` when there is no `mongod`.
pub async fn start_if_installed(data_dir: &Path, port: u16) -> anyhow::Result<Option<(String, Mongod)>> {
    let Some(binary) = installed() else { return Ok(None) };
    std::fs::create_dir_all(data_dir)?;
    let port = if port == 0 { testkit::process::free_port()? } else { port };
    let child = tokio::process::Command::new(&binary)
        .args(["--replSet", REPLICA_SET, "--bind_ip", "127.0.0.1", "--quiet", "--port"])
        .arg(port.to_string())
        .arg("--dbpath")
        .arg(data_dir)
        .stdout(std::process::Stdio::null())
        // Its own process group: a terminal's Ctrl-C reaches the stack, which
        // stops mongod after the services that use it.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| anyhow::anyhow!("cannot start {}: {err}", binary.display()))?;
    let mongod = Mongod(child);
    let direct =
        mongodb::Client::with_uri_str(format!("mongodb://127.0.0.1:{port}/?directConnection=true")).await?;
    let admin = direct.database("admin");
    let mut initiated = false;
    for _ in 0..150 {
        match admin.run_command(doc! { "hello": 1 }).await {
            Ok(hello) if hello.get_bool("isWritablePrimary").unwrap_or(false) => {
                tracing::info!(port, dir = %data_dir.display(), "using mongod from PATH");
                let uri = format!("mongodb://127.0.0.1:{port}/?replicaSet={REPLICA_SET}");
                return Ok(Some((uri, mongod)));
            }
            Ok(hello) if !initiated && hello.get_str("setName").is_err() => {
                let config = doc! { "_id": REPLICA_SET, "members": [{ "_id": 0, "host": format!("127.0.0.1:{port}") }] };
                // Already initiated by an earlier run: mongod says so, and that is fine.
                let _ = admin.run_command(doc! { "replSetInitiate": config }).await;
                initiated = true;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    mongod.stop().await;
    anyhow::bail!("mongod on port {port} did not become primary within 30 s")
}
