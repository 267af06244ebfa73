//! Buyers' marked copies: every buyer (or subscriber) of a paid photo gets
//! their own display and thumbnail carrying an invisible mark
//! (`imaging::watermark`) whose 48-bit id maps, here only, to the buyer and
//! their purchase or subscription. A copy is made the first time it is
//! asked for (post asks right after a purchase, and again whenever it shows
//! the photo) and kept under the buyer's own prefix,
//! `private/viewers/{buyer}/{photo}/{mark}/`: one signed cookie over that
//! prefix opens all their copies and nothing else. A removal of the photo
//! takes its copies by their records (copies made before this layout sit in
//! the photo's own folder, `{photo}/marks/{mark}/`).
//!
//! A copy belongs to the (buyer, photo) pair, not to a purchase: a buyer
//! who is refunded and buys again gets the same copy back (its record then
//! names the newest purchase), so refund-and-rebuy makes no new work and no
//! new objects. `buyer_copies` (`{photo}:{buyer}` → mark) holds the pair
//! with a unique id, which settles racing first requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::contract::media::{Grant, MarkedCopy, MarkedCopyRequest, viewer_prefix};
use common::ids::{MediaId, PurchaseId, SubscriptionId, UserId};
use futures_util::TryStreamExt;
use imaging::watermark::{MarkId, WatermarkKey};
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::MediaError;
use crate::records::{MediaRecord, MediaStatus, Records};
use crate::slots::Slots;
use crate::storage::Storage;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarkRecord {
    /// The mark id the copies carry (48 bits).
    #[serde(rename = "_id")]
    pub id: i64,
    pub media_id: MediaId,
    /// The grant the copy serves now: a purchase or a subscription.
    #[serde(default)]
    pub purchase_id: Option<PurchaseId>,
    #[serde(default)]
    pub subscription_id: Option<SubscriptionId>,
    pub buyer_id: UserId,
    pub display_key: String,
    pub thumb_key: String,
    /// Set once both objects are written; unset when they are removed
    /// (the grant ended, or unasked for too long) until asked for again.
    pub ready: bool,
    /// When post last asked for it (to a day): unasked for `MEDIA_COPY_IDLE`, its objects go.
    #[serde(default)]
    pub last_asked_at: Option<DateTime>,
    pub created_at: DateTime,
}

impl MarkRecord {
    pub fn copy(&self) -> MarkedCopy {
        MarkedCopy { display_key: self.display_key.clone(), thumb_key: self.thumb_key.clone() }
    }

    /// What the copy serves now.
    pub fn grant(&self) -> Option<Grant> {
        match (&self.purchase_id, &self.subscription_id) {
            (Some(purchase), _) => Some(Grant::Purchase(purchase.clone())),
            (None, Some(subscription)) => Some(Grant::Subscription(subscription.clone())),
            (None, None) => None,
        }
    }

    fn serving(self, grant: &Grant) -> Self {
        let (purchase_id, subscription_id) = match grant {
            Grant::Purchase(id) => (Some(id.clone()), None),
            Grant::Subscription(id) => (None, Some(id.clone())),
        };
        Self { purchase_id, subscription_id, ..self }
    }

    fn mark_id(&self) -> Option<MarkId> {
        MarkId::new(u64::try_from(self.id).ok()?)
    }
}

/// The one mark of a buyer on a photo.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BuyerCopy {
    /// `{photo}:{buyer}`.
    #[serde(rename = "_id")]
    key: String,
    mark_id: i64,
}

#[derive(Clone)]
pub struct Marks {
    collection: Collection<MarkRecord>,
    owners: Collection<BuyerCopy>,
    key: Arc<WatermarkKey>,
    /// How often a copy's being asked for is written down.
    note_every: Duration,
}

/// Where `buyer`'s copies of `record` go: under the buyer's own prefix,
/// which their signed cookie opens (a photo that has no display yet has none).
fn copies_dir(record: &MediaRecord, buyer: &UserId) -> Option<String> {
    record.display_key()?;
    Some(format!("{}{}", viewer_prefix(buyer), record.id))
}

impl Marks {
    /// `copy_idle`: how long a copy may go unasked for before its objects go.
    pub async fn new(db: &Database, key: WatermarkKey, copy_idle: Duration) -> anyhow::Result<Self> {
        let collection = db.collection::<MarkRecord>("marks");
        // Not unique: copies serving subscriptions name no purchase.
        collection
            .create_index(IndexModel::builder().keys(doc! { "media_id": 1, "purchase_id": 1 }).build())
            .await?;
        collection
            .create_index(IndexModel::builder().keys(doc! { "ready": 1, "last_asked_at": 1 }).build())
            .await?;
        Ok(Self {
            collection,
            owners: db.collection("buyer_copies"),
            key: Arc::new(key),
            note_every: (copy_idle / 4).min(Duration::from_secs(24 * 3600)),
        })
    }

    pub fn key(&self) -> Arc<WatermarkKey> {
        self.key.clone()
    }

    /// The mark `id` on photo `media_id`, if media made it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find(&self, media_id: &MediaId, id: MarkId) -> anyhow::Result<Option<MarkRecord>> {
        let id = i64::try_from(id.get())?;
        Ok(self.collection.find_one(doc! { "_id": id, "media_id": media_id }).await?)
    }

    /// Every marked object of a photo (for its removal).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn object_keys(&self, media_id: &MediaId) -> anyhow::Result<Vec<String>> {
        let marks: Vec<MarkRecord> =
            self.collection.find(doc! { "media_id": media_id }).await?.try_collect().await?;
        Ok(marks.into_iter().flat_map(|m| [m.display_key, m.thumb_key]).collect())
    }

    /// The record of the copy `request`'s buyer has of this photo: theirs
    /// from an earlier purchase (then naming this one), or a new one under a
    /// fresh random id. Racing callers end with the same record.
    async fn record_for(
        &self,
        record: &MediaRecord,
        request: &MarkedCopyRequest,
    ) -> Result<MarkRecord, MediaError> {
        let dir = copies_dir(record, &request.buyer_id).ok_or(MediaError::NotFound)?;
        let owner_id = format!("{}:{}", record.id, request.buyer_id);
        loop {
            if let Some(owner) = self.owners.find_one(doc! { "_id": &owner_id }).await? {
                let mark = self.collection.find_one(doc! { "_id": owner.mark_id }).await?;
                let mark = mark.ok_or_else(|| anyhow::anyhow!("buyer copy {owner_id} names no mark"))?;
                return self.naming(mark, &request.grant).await;
            }
            // A copy made per purchase, before copies were the buyer's: adopted.
            let adopted = match &request.grant {
                Grant::Purchase(id) => {
                    self.collection.find_one(doc! { "media_id": &record.id, "purchase_id": id }).await?
                }
                Grant::Subscription(_) => None,
            };
            let (mark, minted) = match adopted {
                Some(found) if found.buyer_id != request.buyer_id => {
                    return Err(MediaError::Conflict(
                        "That purchase's copy belongs to another buyer.".into(),
                    ));
                }
                Some(found) => (found, false),
                // Taken (a racing request for this purchase, or rarely the same random id): look again.
                None => match self.mint(record, request, &dir).await? {
                    Some(minted) => (minted, true),
                    None => continue,
                },
            };
            match self.owners.insert_one(BuyerCopy { key: owner_id.clone(), mark_id: mark.id }).await {
                Ok(_) => return Ok(mark),
                Err(err) if common::mongo::is_duplicate_key(&err) => {
                    // Another request named the buyer's copy first: theirs counts.
                    let named = self.owners.find_one(doc! { "_id": &owner_id }).await?;
                    if named.is_some_and(|owner| owner.mark_id == mark.id) {
                        return Ok(mark);
                    }
                    if minted {
                        self.collection.delete_one(doc! { "_id": mark.id, "ready": false }).await?;
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// A new mark record (`None` when its random id was taken).
    async fn mint(
        &self,
        record: &MediaRecord,
        request: &MarkedCopyRequest,
        dir: &str,
    ) -> Result<Option<MarkRecord>, MediaError> {
        let id = rand::rng().random_range(1..=MarkId::MAX);
        let mark = MarkRecord {
            id: i64::try_from(id).map_err(anyhow::Error::from)?,
            media_id: record.id.clone(),
            purchase_id: None,
            subscription_id: None,
            buyer_id: request.buyer_id.clone(),
            display_key: format!("{dir}/{id:012x}/display.jpg"),
            thumb_key: format!("{dir}/{id:012x}/thumb.jpg"),
            ready: false,
            last_asked_at: Some(DateTime::now()),
            created_at: DateTime::now(),
        };
        let mark = mark.serving(&request.grant);
        match self.collection.insert_one(&mark).await {
            Ok(_) => Ok(Some(mark)),
            Err(err) if common::mongo::is_duplicate_key(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// `mark`, naming `grant` as what it serves now.
    async fn naming(&self, mark: MarkRecord, grant: &Grant) -> Result<MarkRecord, MediaError> {
        if mark.grant().as_ref() == Some(grant) {
            return Ok(mark);
        }
        let mark = mark.serving(grant);
        let newest =
            doc! { "$set": { "purchase_id": &mark.purchase_id, "subscription_id": &mark.subscription_id } };
        self.collection.update_one(doc! { "_id": mark.id }, newest).await?;
        Ok(mark)
    }

    /// The copies among `requests` that can be answered as they are — made,
    /// serving the grant asked for, noted as asked lately, their photo still
    /// ready — read in three queries for a whole page; `None` for the others,
    /// which [`Marks::copy_for`] takes one by one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ready_copies(
        &self,
        requests: &[MarkedCopyRequest],
        records: &Records,
    ) -> anyhow::Result<Vec<Option<MarkedCopy>>> {
        let keys: Vec<String> = requests.iter().map(|r| format!("{}:{}", r.media_id, r.buyer_id)).collect();
        let owners: Vec<BuyerCopy> =
            self.owners.find(doc! { "_id": { "$in": &keys } }).await?.try_collect().await?;
        let mark_ids: Vec<i64> = owners.iter().map(|owner| owner.mark_id).collect();
        let marks: Vec<MarkRecord> =
            self.collection.find(doc! { "_id": { "$in": mark_ids } }).await?.try_collect().await?;
        let marks: HashMap<i64, MarkRecord> = marks.into_iter().map(|mark| (mark.id, mark)).collect();
        let owned: HashMap<String, &MarkRecord> =
            owners.into_iter().filter_map(|owner| Some((owner.key, marks.get(&owner.mark_id)?))).collect();
        let photos: Vec<&MediaId> = requests.iter().map(|r| &r.media_id).collect();
        let ready = records.ready_among(&photos).await?;
        let lately = DateTime::from_system_time(DateTime::now().to_system_time() - self.note_every);
        Ok(requests
            .iter()
            .zip(&keys)
            .map(|(request, key)| {
                let mark = owned.get(key)?;
                let current = mark.ready
                    && mark.grant().as_ref() == Some(&request.grant)
                    && mark.last_asked_at.is_some_and(|at| at > lately)
                    && ready.contains(&request.media_id);
                current.then(|| mark.copy())
            })
            .collect())
    }

    /// Notes that `mark` was asked for (at most once a day, or a quarter of
    /// `MEDIA_COPY_IDLE`: a write per view would be waste).
    async fn asked(&self, mark: &MarkRecord) -> anyhow::Result<()> {
        let now = DateTime::now();
        let lately = DateTime::from_system_time(now.to_system_time() - self.note_every);
        if mark.last_asked_at.is_some_and(|at| at > lately) {
            return Ok(());
        }
        self.collection
            .update_one(doc! { "_id": mark.id }, doc! { "$set": { "last_asked_at": now } })
            .await?;
        Ok(())
    }

    /// Removes the objects of `buyer`'s copies serving `grant` (the grant
    /// ended); answers how many. Their marks stay, for traces.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release(&self, buyer: &UserId, grant: &Grant, storage: &Storage) -> Result<u64, MediaError> {
        let serving = match grant {
            Grant::Purchase(id) => doc! { "buyer_id": buyer, "purchase_id": id, "ready": true },
            Grant::Subscription(id) => doc! { "buyer_id": buyer, "subscription_id": id, "ready": true },
        };
        self.drop_objects(serving, storage).await
    }

    /// Removes the objects of copies not asked for since `before`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn evict_unasked(&self, before: DateTime, storage: &Storage) -> Result<u64, MediaError> {
        let idle = doc! {
            "ready": true,
            "$or": [
                { "last_asked_at": { "$lt": before } },
                { "last_asked_at": null, "created_at": { "$lt": before } },
            ],
        };
        self.drop_objects(idle, storage).await
    }

    async fn drop_objects(
        &self,
        filter: mongodb::bson::Document,
        storage: &Storage,
    ) -> Result<u64, MediaError> {
        let marks: Vec<MarkRecord> = self.collection.find(filter).limit(1000).await?.try_collect().await?;
        for mark in &marks {
            // Unmarked first: a request meanwhile makes the copy again rather
            // than hand out keys whose objects are going.
            let held = doc! { "_id": mark.id, "ready": true };
            if self.collection.update_one(held, doc! { "$set": { "ready": false } }).await?.modified_count
                == 1
            {
                storage.delete_each(&[mark.display_key.clone(), mark.thumb_key.clone()]).await?;
            }
        }
        Ok(u64::try_from(marks.len()).unwrap_or(u64::MAX))
    }

    /// `request`'s copies, made now if they are not yet. Making is
    /// deterministic (the same clean photo, key and id give the same
    /// bytes), so racing makers write identical objects.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn copy_for(
        &self,
        record: &MediaRecord,
        request: &MarkedCopyRequest,
        records: &Records,
        storage: &Storage,
        slots: &Slots,
    ) -> Result<MarkedCopy, MediaError> {
        let mark = self.record_for(record, request).await?;
        self.asked(&mark).await?;
        if mark.ready {
            return Ok(mark.copy());
        }
        let display_key = record.display_key().ok_or(MediaError::NotFound)?;
        let clean = storage.read(display_key).await?.ok_or(MediaError::NotFound)?;
        let id = mark
            .mark_id()
            .ok_or_else(|| MediaError::Internal(anyhow::anyhow!("mark {} out of range", mark.id)))?;
        let key = self.key.clone();
        let copies = slots
            .run(move || imaging::watermark::marked_copies(&clean, &key, id))
            .await?
            .map_err(|err| MediaError::Internal(anyhow::anyhow!("our own display does not decode: {err}")))?;
        let jpeg = "image/jpeg";
        storage
            .put_all(vec![
                (mark.display_key.clone(), jpeg, Bytes::from(copies.display.jpeg)),
                (mark.thumb_key.clone(), jpeg, Bytes::from(copies.thumb.jpeg)),
            ])
            .await?;
        // A removal that came while the copy was made listed this mark and
        // deleted its objects before they were written: look again, after
        // writing, and take them away if the photo is gone. (A removal after
        // this look finds them in place and deletes them itself.)
        let still_ready = records.get(&record.id).await?.is_some_and(|r| r.status == MediaStatus::Ready);
        if !still_ready {
            storage.delete_each(&[mark.display_key.clone(), mark.thumb_key.clone()]).await?;
            return Err(MediaError::NotFound);
        }
        self.collection.update_one(doc! { "_id": mark.id }, doc! { "$set": { "ready": true } }).await?;
        Ok(mark.copy())
    }
}
