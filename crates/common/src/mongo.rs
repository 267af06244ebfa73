//! MongoDB connection: one client per process, explicit timeouts, retryable
//! writes. Services create their own indexes at start.

use std::time::Duration;

use futures_util::future::BoxFuture;
use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};

use crate::config::Env;
use crate::health::ReadinessCheck;

#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: String,
    pub database: String,
}

impl MongoSettings {
    pub fn from_env(env: &mut Env, default_database: &str) -> Option<Self> {
        let uri = env.required("MONGODB_URI", "MongoDB connection string, a replica set in production");
        let database = env.or("MONGODB_DATABASE", default_database.to_owned(), "the database name");
        Some(Self { uri: uri?, database: database? })
    }
}

/// Connects lazily (the driver dials on first use) but validates the URI now.
pub async fn connect(settings: &MongoSettings, app_name: &str) -> anyhow::Result<Database> {
    let mut options = ClientOptions::parse(&settings.uri)
        .await
        .map_err(|err| anyhow::anyhow!("MONGODB_URI is not a valid MongoDB URI: {}", err.kind))?;
    options.app_name = Some(app_name.to_owned());
    options.connect_timeout.get_or_insert(Duration::from_secs(5));
    options.server_selection_timeout.get_or_insert(Duration::from_secs(5));
    options.retry_writes.get_or_insert(true);
    options.retry_reads.get_or_insert(true);
    let client = Client::with_options(options)?;
    Ok(client.database(&settings.database))
}

/// An index that deletes each document once the time in `field` is
/// `after` in the past (MongoDB's TTL monitor runs about once a minute).
pub fn expiring(field: &str, after: Duration) -> mongodb::IndexModel {
    mongodb::IndexModel::builder()
        .keys(doc! { field: 1 })
        .options(mongodb::options::IndexOptions::builder().expire_after(after).build())
        .build()
}

/// The newest `limit` documents `filter` selects, newest first (`created_at`,
/// ties broken by `_id`).
pub async fn newest<T>(
    collection: &Collection<T>,
    filter: Document,
    limit: i64,
) -> mongodb::error::Result<Vec<T>>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    use futures_util::TryStreamExt;
    collection.find(filter).sort(doc! { "created_at": -1, "_id": -1 }).limit(limit).await?.try_collect().await
}

/// Closes the client behind `db` (its pools and server monitors), for a
/// service that is stopping.
pub async fn close(db: Database) {
    db.client().clone().shutdown().await;
}

/// Readiness: the server answers a ping.
pub struct MongoReady(pub Database);

impl ReadinessCheck for MongoReady {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            self.0.run_command(doc! { "ping": 1 }).await?;
            Ok(())
        })
    }
}

/// Whether `err` says the server cannot be reached now (no server
/// selectable, the connection failed or was cut), rather than that the
/// operation was wrong: callers answer 503 and the client tries again.
pub fn is_unreachable(err: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    matches!(
        err.kind.as_ref(),
        ErrorKind::ServerSelection { .. } | ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. }
    ) || err.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR)
        || err.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR)
}

/// MongoDB's duplicate-key error (11000), which callers turn into a 409.
pub fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::Command(e) => e.code == 11000,
        ErrorKind::InsertMany(e) => {
            e.write_errors.as_ref().is_some_and(|errors| errors.iter().any(|w| w.code == 11000))
        }
        _ => false,
    }
}
