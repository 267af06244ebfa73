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

/// Starts `mongod` on `port` (a fixed port: the replica set's configuration
/// names it) and returns its URI, or `None` when there is no `mongod`.
pub async fn start_if_installed(data_dir: &Path, port: u16) -> anyhow::Result<Option<String>> {
    let Some(binary) = installed() else { return Ok(None) };
    std::fs::create_dir_all(data_dir)?;
    let port = if port == 0 { testkit::process::free_port()? } else { port };
    let child = tokio::process::Command::new(&binary)
        .args(["--replSet", REPLICA_SET, "--bind_ip", "127.0.0.1", "--quiet", "--port"])
        .arg(port.to_string())
        .arg("--dbpath")
        .arg(data_dir)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .map_err(|err| anyhow::anyhow!("cannot start {}: {err}", binary.display()))?;
    // mongod stops with the stack: it shares the process group, so Ctrl-C
    // reaches it and it shuts down cleanly on its own. Dropping the handle
    // leaves it running (and lets tokio reap it once it exits).
    drop(child);
    let direct =
        mongodb::Client::with_uri_str(format!("mongodb://127.0.0.1:{port}/?directConnection=true")).await?;
    let admin = direct.database("admin");
    let mut initiated = false;
    for _ in 0..150 {
        match admin.run_command(doc! { "hello": 1 }).await {
            Ok(hello) if hello.get_bool("isWritablePrimary").unwrap_or(false) => {
                tracing::info!(port, dir = %data_dir.display(), "using mongod from PATH");
                return Ok(Some(format!("mongodb://127.0.0.1:{port}/?replicaSet={REPLICA_SET}")));
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
    anyhow::bail!("mongod on port {port} did not become primary within 30 s")
}
