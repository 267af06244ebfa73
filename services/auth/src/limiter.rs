//! Brute-force limits on login, kept in MongoDB so every replica sees the
//! same counts: after 5 failures for one account, or 20 from one client
//! address, within 15 minutes, further attempts get 429 until the oldest
//! failure ages out. Unknown accounts count like real ones, so the limit
//! reveals nothing.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const PER_ACCOUNT: usize = 5;
pub const PER_ADDRESS: usize = 20;

#[derive(Debug, Serialize, Deserialize)]
struct Failure {
    key: String,
    at: DateTime,
}

#[derive(Clone)]
pub struct LoginLimiter {
    collection: Collection<Failure>,
}

/// `account` is the user's id when the login names one, else the login
/// itself lower-cased: both spellings of one account (username, e-mail)
/// share a count.
fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(ip: Option<IpAddr>) -> String {
    format!("ip:{}", ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()))
}

impl LoginLimiter {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<Failure>("login_failures");
        collection
            .create_indexes([
                IndexModel::builder().keys(doc! { "key": 1, "at": 1 }).build(),
                IndexModel::builder()
                    .keys(doc! { "at": 1 })
                    .options(IndexOptions::builder().expire_after(WINDOW).build())
                    .build(),
            ])
            .await?;
        Ok(Self { collection })
    }

    /// `Some(seconds to wait)` when either limit is reached.
    pub async fn blocked(&self, account: &str, ip: Option<IpAddr>) -> anyhow::Result<Option<u64>> {
        let mut wait = None;
        for (key, limit) in [(account_key(account), PER_ACCOUNT), (address_key(ip), PER_ADDRESS)] {
            if let Some(seconds) = self.wait_for(&key, limit).await? {
                wait = Some(wait.map_or(seconds, |w: u64| w.max(seconds)));
            }
        }
        Ok(wait)
    }

    async fn wait_for(&self, key: &str, limit: usize) -> anyhow::Result<Option<u64>> {
        let since = DateTime::from_system_time(SystemTime::now() - WINDOW);
        let failures: Vec<Failure> = self
            .collection
            .find(doc! { "key": key, "at": { "$gt": since } })
            .sort(doc! { "at": -1 })
            .limit(limit as i64)
            .await?
            .try_collect()
            .await?;
        if failures.len() < limit {
            return Ok(None);
        }
        // The limit lifts when the oldest of the last `limit` failures leaves the window.
        let oldest = failures.last().map_or(SystemTime::now(), |f| f.at.to_system_time());
        let lifts = oldest + WINDOW;
        Ok(Some(lifts.duration_since(SystemTime::now()).map_or(1, |d| d.as_secs().max(1))))
    }

    pub async fn record_failure(&self, account: &str, ip: Option<IpAddr>) -> anyhow::Result<()> {
        let at = DateTime::now();
        self.collection
            .insert_many([Failure { key: account_key(account), at }, Failure { key: address_key(ip), at }])
            .await?;
        Ok(())
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub async fn clear_account(&self, account: &str) -> anyhow::Result<()> {
        self.collection.delete_many(doc! { "key": account_key(account) }).await?;
        Ok(())
    }
}
