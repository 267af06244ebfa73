//! Invalidations in MongoDB, shared by every edge replica: the one that
//! takes the request applies it at once, the others find it on their next
//! look (every `EDGE_INVALIDATION_POLL`, 500 ms by default).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::ids::{DistributionId, InvalidationId};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::cache::EdgeCache;
use crate::invalidations::paths::{PathPattern, any_matches};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvalidationRecord {
    /// CloudFront's shape: 14 upper-case letters and digits.
    #[serde(rename = "_id")]
    pub id: InvalidationId,
    pub distribution_id: DistributionId,
    pub caller_reference: String,
    pub paths: Vec<String>,
    pub created_at: DateTime,
}

/// How far back each look reaches past the previous one: a record written
/// by a replica whose clock is behind, or committed late, is still found.
const OVERLAP: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Store {
    pub records: Collection<InvalidationRecord>,
    /// Invalidations this replica has applied (recently), by id.
    applied: Arc<Mutex<HashMap<InvalidationId, DateTime>>>,
}

pub enum Created {
    New(InvalidationRecord),
    /// The same caller reference with the same paths: that invalidation.
    Existing(InvalidationRecord),
    /// The same caller reference with other paths.
    Conflict,
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open(db: &Database) -> anyhow::Result<Self> {
        let records = db.collection::<InvalidationRecord>("invalidations");
        let unique = IndexOptions::builder().unique(true).build();
        records
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "distribution_id": 1, "caller_reference": 1 })
                    .options(unique)
                    .build(),
            )
            .await?;
        records
            .create_index(IndexModel::builder().keys(doc! { "created_at": -1, "_id": -1 }).build())
            .await?;
        Ok(Self { records, applied: Arc::default() })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create(
        &self,
        distribution_id: &DistributionId,
        caller_reference: &str,
        paths: Vec<String>,
    ) -> anyhow::Result<Created> {
        let record = InvalidationRecord {
            // CloudFront's shape: 14 capitals and digits.
            id: InvalidationId::mint_upper("I", 14),
            distribution_id: distribution_id.clone(),
            caller_reference: caller_reference.to_owned(),
            paths,
            created_at: DateTime::now(),
        };
        match self.records.insert_one(&record).await {
            Ok(_) => Ok(Created::New(record)),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                let filter =
                    doc! { "distribution_id": distribution_id, "caller_reference": caller_reference };
                match self.records.find_one(filter).await? {
                    Some(existing) if existing.paths == record.paths => Ok(Created::Existing(existing)),
                    Some(_) => Ok(Created::Conflict),
                    None => Err(err.into()),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, distribution_id: &str, id: &str) -> anyhow::Result<Option<InvalidationRecord>> {
        Ok(self.records.find_one(doc! { "_id": id, "distribution_id": distribution_id }).await?)
    }

    /// Newest first, `limit` after the one `marker` names.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        distribution_id: &str,
        marker: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<Vec<InvalidationRecord>> {
        let mut filter = doc! { "distribution_id": distribution_id };
        if let Some(marker) = marker {
            let Some(after) = self.get(distribution_id, marker).await? else { return Ok(Vec::new()) };
            filter.insert(
                "$or",
                vec![
                    doc! { "created_at": { "$lt": after.created_at } },
                    doc! { "created_at": after.created_at, "_id": { "$lt": &after.id } },
                ],
            );
        }
        Ok(common::mongo::newest(&self.records, filter, limit).await?)
    }

    /// Removes what `record` names from this replica's cache, once.
    pub fn apply(&self, cache: &EdgeCache, record: &InvalidationRecord) {
        let first = self.applied().insert(record.id.clone(), record.created_at).is_none();
        if !first {
            return;
        }
        let patterns: Vec<PathPattern> =
            record.paths.iter().filter_map(|p| PathPattern::parse(p).ok()).collect();
        cache.invalidate(|key| any_matches(&patterns, key));
        cache.metrics.invalidated_paths.inc_by(patterns.len() as u64);
        tracing::info!(invalidation = %record.id, paths = patterns.len(), "invalidation applied");
    }

    fn applied(&self) -> std::sync::MutexGuard<'_, HashMap<InvalidationId, DateTime>> {
        self.applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies, on this replica, every invalidation another replica records.
    pub fn watch(&self, cache: Arc<EdgeCache>, every: Duration, workers: &common::shutdown::Workers) {
        let store = self.clone();
        workers.spawn("invalidation watch", async move {
            // A replica starting now has nothing older cached.
            let mut since = DateTime::now();
            loop {
                tokio::time::sleep(every).await;
                let started = DateTime::now();
                match store.since(since).await {
                    Ok(found) => {
                        for record in &found {
                            store.apply(&cache, record);
                        }
                        since = back(started, OVERLAP);
                        store.applied().retain(|_, created_at| *created_at >= since);
                    }
                    Err(err) => tracing::warn!(error = %err, "invalidations unreadable; will look again"),
                }
            }
        });
    }

    async fn since(&self, since: DateTime) -> anyhow::Result<Vec<InvalidationRecord>> {
        Ok(self.records.find(doc! { "created_at": { "$gte": since } }).await?.try_collect().await?)
    }
}

fn back(time: DateTime, by: Duration) -> DateTime {
    DateTime::from_millis(time.timestamp_millis() - i64::try_from(by.as_millis()).unwrap_or(i64::MAX))
}
