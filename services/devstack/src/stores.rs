//! Where the dev stack keeps its data: MongoDB (given, a local `mongod`,
//! or the in-memory jongodb) and S3 (given, or an in-process server), under
//! a data folder only its user can read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use common::s3::S3Settings;
use common::secrecy::SecretString;

use crate::mongod;

const BUCKET: &str = "shutter-media";

/// Where the stack's data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MongoKind {
    /// `MONGODB_URI`.
    Given,
    /// A `mongod` from `PATH`, with its files under `.data/mongo`.
    Local,
    /// The jongodb test server: lost when the stack stops.
    InMemory,
}

/// The database server the stack started, if any.
pub(crate) enum Database {
    Jongodb(testkit::process::Tied),
    Mongod(mongod::Mongod),
}

/// The stack's MongoDB: `given` (`MONGODB_URI`), else a local `mongod`
/// (its files under `data_dir/mongo`, on the port 6 after `public_port`), else jongodb.
pub(crate) async fn mongo(
    given: Option<&String>,
    data_dir: &Path,
    public_port: u16,
) -> anyhow::Result<(String, MongoKind, Option<Database>)> {
    if let Some(uri) = given {
        return Ok((uri.clone(), MongoKind::Given, None));
    }
    let port = match public_port {
        0 => 0,
        port => port.saturating_add(6),
    };
    if let Some((uri, server)) = mongod::start_if_installed(&data_dir.join("mongo"), port).await? {
        return Ok((uri, MongoKind::Local, Some(Database::Mongod(server))));
    }
    let (uri, server) = testkit::mongo::start_jongodb()?;
    Ok((uri, MongoKind::InMemory, Some(Database::Jongodb(server))))
}

/// Paid originals, keys and a local mongod's files live under the data
/// folder: everything the stack's process writes is its user's alone (umask
/// 077: files 0600, folders 0700, whichever library writes them), and so is
/// the folder itself.
pub(crate) fn keep_files_private(data_dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir)?;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// The stack's S3: `given`, else an in-process server storing under `data_dir/s3`.
pub(crate) async fn s3(given: Option<&S3Settings>, data_dir: &Path) -> anyhow::Result<S3Settings> {
    if let Some(settings) = given {
        return Ok(settings.clone());
    }
    let credentials = ("shutter-dev".to_owned(), crate::keys::random_secret());
    let addr = testkit::s3::start_in_background(
        &data_dir.join("s3"),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        credentials.clone(),
    )?
    .addr;
    let settings = S3Settings {
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        endpoint: Some(format!("http://{addr}")),
        credentials: Some((credentials.0, SecretString::from(credentials.1))),
        force_path_style: true,
    };
    let client = common::s3::client(&settings).await;
    if client.head_bucket().bucket(BUCKET).send().await.is_err() {
        client.create_bucket().bucket(BUCKET).send().await?;
    }
    Ok(settings)
}
