//! Media records in MongoDB. A record says `ready` only after every object
//! it names has been written.

use std::time::{Duration, SystemTime};

use common::ids::{MediaId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

pub use common::contract::media::{MediaStatus, Variant};

/// Who removed a media item, when and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Removal {
    pub by: String,
    pub reason: String,
    pub at: DateTime,
}

/// A direct-to-S3 upload not yet completed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingUpload {
    pub content_type: String,
    pub size: u64,
    pub expires_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaRecord {
    #[serde(rename = "_id")]
    pub id: MediaId,
    pub owner_id: UserId,
    pub status: MediaStatus,
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub blurhash: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    /// `original`, `display`, `thumb` (private) and `preview` (public).
    #[serde(default)]
    pub variants: std::collections::BTreeMap<String, Variant>,
    #[serde(default)]
    pub upload: Option<PendingUpload>,
    pub created_at: DateTime,
    #[serde(default)]
    pub removal: Option<Removal>,
    /// While a `complete` works on a pending upload: until when it may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completing_until: Option<DateTime>,
}

impl MediaRecord {
    /// Every object it has in the bucket (private variants and the public preview).
    pub fn object_keys(&self) -> impl Iterator<Item = &str> {
        self.variants.values().map(|v| v.key.as_str())
    }

    /// The clean display derivative: what buyers' copies are marked from,
    /// and what a trace compares against.
    pub fn display_key(&self) -> Option<&str> {
        self.variants.get("display").map(|v| v.key.as_str())
    }
}

#[derive(Clone)]
pub struct Records {
    collection: Collection<MediaRecord>,
}

impl Records {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<MediaRecord>("media");
        collection
            .create_indexes([
                IndexModel::builder().keys(doc! { "owner_id": 1, "created_at": -1 }).build(),
                IndexModel::builder().keys(doc! { "status": 1, "created_at": 1 }).build(),
            ])
            .await?;
        Ok(Self { collection })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(&self, record: &MediaRecord) -> anyhow::Result<()> {
        self.collection.insert_one(record).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &MediaId) -> anyhow::Result<Option<MediaRecord>> {
        Ok(self.collection.find_one(doc! { "_id": id }).await?)
    }

    /// Which of `ids` are ready photos.
    pub async fn ready_among(&self, ids: &[&MediaId]) -> anyhow::Result<std::collections::HashSet<MediaId>> {
        let ready = doc! { "_id": { "$in": ids }, "status": MediaStatus::Ready };
        let found: Vec<MediaRecord> = self.collection.find(ready).await?.try_collect().await?;
        Ok(found.into_iter().map(|record| record.id).collect())
    }

    /// Replaces a pending record with its processed form, only if it is
    /// still pending (a second `complete` cannot overwrite the first).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_pending(&self, record: &MediaRecord) -> anyhow::Result<bool> {
        let result = self
            .collection
            .replace_one(doc! { "_id": &record.id, "status": MediaStatus::Pending }, record)
            .await?;
        Ok(result.modified_count == 1)
    }

    /// Claims a pending upload for one `complete`, for `lease`: a second
    /// `complete` meanwhile is refused rather than racing the first. One
    /// conditional update, so two claims cannot both succeed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_completion(&self, id: &MediaId, lease: Duration) -> anyhow::Result<bool> {
        let now = SystemTime::now();
        let claimed = self
            .collection
            .update_one(
                doc! {
                    "_id": id,
                    "status": MediaStatus::Pending,
                    "$or": [
                        { "completing_until": null },
                        { "completing_until": { "$lt": DateTime::from_system_time(now) } },
                    ],
                },
                doc! { "$set": { "completing_until": DateTime::from_system_time(now + lease) } },
            )
            .await?;
        Ok(claimed.modified_count == 1)
    }

    /// Gives a claimed upload back (the attempt could not finish; another may).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_completion(&self, id: &MediaId) -> anyhow::Result<()> {
        self.collection
            .update_one(
                doc! { "_id": id, "status": MediaStatus::Pending },
                doc! { "$unset": { "completing_until": "" } },
            )
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_failed(&self, id: &MediaId, reason: &str) -> anyhow::Result<()> {
        self.collection
            .update_one(
                doc! { "_id": id, "status": MediaStatus::Pending },
                doc! {
                    "$set": { "status": MediaStatus::Failed, "failure": reason },
                    "$unset": { "upload": "", "completing_until": "" },
                },
            )
            .await?;
        Ok(())
    }

    /// Pending uploads created before `older_than` ago.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn stale_pending(&self, older_than: Duration) -> anyhow::Result<Vec<MediaRecord>> {
        let before = DateTime::from_system_time(SystemTime::now() - older_than);
        Ok(self
            .collection
            .find(doc! { "status": MediaStatus::Pending, "created_at": { "$lt": before } })
            .await?
            .try_collect()
            .await?)
    }

    /// Marks a ready or failed item removed and answers it; an item already
    /// removed is answered as it is, so a retried removal finishes the job.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_removed(
        &self,
        id: &MediaId,
        status: MediaStatus,
        removal: &Removal,
    ) -> anyhow::Result<Option<MediaRecord>> {
        let update = doc! { "$set": {
            "status": status,
            "removal": mongodb::bson::to_bson(removal)?,
        } };
        let filter = doc! { "_id": id, "status": { "$in": [MediaStatus::Ready, MediaStatus::Failed] } };
        self.collection.update_one(filter, update).await?;
        Ok(self.get(id).await?.filter(|record| record.status.is_removed()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_pending(&self, id: &MediaId) -> anyhow::Result<()> {
        self.collection.delete_one(doc! { "_id": id, "status": MediaStatus::Pending }).await?;
        Ok(())
    }
}
