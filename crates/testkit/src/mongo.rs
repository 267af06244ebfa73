//! MongoDB for tests: `MONGODB_URI`, or a jongodb server started once per process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use mongodb::{Client, Database};

static URI: OnceLock<String> = OnceLock::new();

/// The URI of the MongoDB server the tests use.
pub fn uri() -> &'static str {
    URI.get_or_init(|| match std::env::var("MONGODB_URI") {
        Ok(uri) if !uri.trim().is_empty() => uri,
        _ => {
            let (uri, server) = start_jongodb().expect("cannot start jongodb; run scripts/bootstrap");
            server.keep();
            uri
        }
    })
}

/// A database no other test uses, on a client bound to the calling runtime.
pub async fn database(prefix: &str) -> Database {
    let client = Client::with_uri_str(uri()).await.expect("MongoDB client");
    client.database(&crate::unique_name(prefix).replace('-', "_"))
}

/// The environment variables a service binary reads for its own, fresh database.
pub fn env(prefix: &str) -> Vec<(&'static str, String)> {
    let settings = settings(prefix);
    vec![("MONGODB_URI", settings.uri), ("MONGODB_DATABASE", settings.database)]
}

/// The settings a service under test needs for its own, fresh database.
pub fn settings(prefix: &str) -> common::mongo::MongoSettings {
    common::mongo::MongoSettings {
        uri: uri().to_owned(),
        database: crate::unique_name(prefix).replace('-', "_"),
    }
}

fn jongodb_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("JONGODB_BIN") {
        return Ok(PathBuf::from(path));
    }
    crate::process::tool(".tools/jongodb/bin/jongodb")
}

/// Starts jongodb (tied to this process) and returns its replica-set URI
/// once it is listening, and the server.
pub fn start_jongodb() -> anyhow::Result<(String, crate::process::Tied)> {
    start_jongodb_on(0)
}

pub fn start_jongodb_on(port: u16) -> anyhow::Result<(String, crate::process::Tied)> {
    start_jongodb_with(&jongodb_binary()?, port)
}

/// Starts the jongodb binary at `binary` (any free port).
pub fn start_jongodb_at(binary: &std::path::Path) -> anyhow::Result<(String, crate::process::Tied)> {
    start_jongodb_with(binary, 0)
}

fn start_jongodb_with(binary: &std::path::Path, port: u16) -> anyhow::Result<(String, crate::process::Tied)> {
    let port = format!("--port={port}");
    let mut server =
        crate::process::spawn_tied(binary, &[&port, "--topology-profile=singleNodeReplicaSet"], true)?;
    let stdout = server.stdout.take().ok_or_else(|| anyhow::anyhow!("jongodb has no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && let Some(uri) = line.strip_prefix("JONGODB_URI=") {
                let _ = tx.send(uri.trim().to_owned());
                sent = true;
            }
        }
    });
    let uri = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| anyhow::anyhow!("jongodb did not report its URI within 30 s"))?;
    Ok((polling_monitor(&uri), server))
}

/// `uri` with `serverMonitoringMode=poll`. The driver's default (streaming)
/// monitor asks `hello` with `maxAwaitTimeMS` and expects the server to hold
/// the answer until something changes; jongodb answers at once, so the
/// driver would ask again in a tight loop (thousands a second, most of a
/// core). Polling asks every `heartbeatFrequencyMS` (10 s) instead.
pub fn polling_monitor(uri: &str) -> String {
    if uri.contains("serverMonitoringMode=") {
        return uri.to_owned();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}serverMonitoringMode=poll")
}
