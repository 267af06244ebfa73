//! Posts and the media they show. A post keeps the object keys of its
//! photos, so showing it needs no call to media.

use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use common::ids::{MediaId, PostId, UserId};

use crate::error::PostError;
use crate::notify::Event;
use crate::notify::outbox::Outbox;
use crate::pages::{self, Cursor, PAGE_SIZE};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Photo {
    pub media_id: MediaId,
    pub display_key: String,
    pub thumb_key: String,
    pub preview_key: String,
    pub blurhash: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Taken down or deleted by its owner in media: shown as unavailable,
    /// never signed.
    #[serde(default)]
    pub removed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostRecord {
    #[serde(rename = "_id")]
    pub id: PostId,
    pub author_id: UserId,
    pub caption: String,
    pub price_cents: u64,
    pub photos: Vec<Photo>,
    pub created_at: DateTime,
    /// Deleted posts stay readable by their author and buyers.
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub like_count: i64,
    #[serde(default)]
    pub comment_count: i64,
    /// Who sees it without buying it.
    #[serde(default)]
    pub audience: Audience,
}

/// Who sees a post's photos without buying it. Anyone else may buy a post
/// with a price; one without a price stays locked to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// No one: the price decides (free for all at 0).
    #[default]
    Anyone,
    /// The author's followers (and subscribers).
    Followers,
    /// Subscribers of a tier of this rank or higher (1–5).
    Subscribers { min_rank: i64 },
}

impl PostRecord {
    /// The photos a buyer would get: those not taken down or deleted.
    pub fn deliverable_photos(&self) -> usize {
        self.photos.iter().filter(|photo| !photo.removed).count()
    }
}

/// A photo media said is gone. Kept for a while so that a post written
/// after the notice (its creation asked media before the photo went) still
/// learns of it: the notice records this first, then marks the posts; a new
/// post is written first, then looks here.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RemovedMedia {
    #[serde(rename = "_id")]
    media_id: MediaId,
    at: DateTime,
}

/// Far longer than a post's creation takes from asking media to writing it.
const REMOVED_MEDIA_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A post's counters, kept exact by moving them only when a like or a
/// comment was really added or removed.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    Likes,
    Comments,
}

#[derive(Clone)]
pub struct Posts {
    pub collection: Collection<PostRecord>,
    removed_media: Collection<RemovedMedia>,
    outbox: Outbox,
}

impl Posts {
    pub async fn new(db: &Database, outbox: Outbox) -> anyhow::Result<Self> {
        let collection = db.collection::<PostRecord>("posts");
        collection
            .create_indexes([
                IndexModel::builder().keys(doc! { "author_id": 1, "created_at": -1, "_id": -1 }).build(),
                IndexModel::builder().keys(doc! { "photos.media_id": 1 }).build(),
            ])
            .await?;
        let removed_media = db.collection::<RemovedMedia>("removed_media");
        let expiry = mongodb::options::IndexOptions::builder().expire_after(REMOVED_MEDIA_KEPT).build();
        removed_media
            .create_index(IndexModel::builder().keys(doc! { "at": 1 }).options(expiry).build())
            .await?;
        Ok(Self { collection, removed_media, outbox })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    /// Writes a new post; its author's followers and subscribers hear of it.
    pub async fn insert(&self, post: &PostRecord) -> Result<(), PostError> {
        let posted = Event::Posted { author: post.author_id.clone(), post: post.id.clone() };
        self.outbox.insert_with(&self.collection, post, [posted]).await?;
        Ok(())
    }

    /// How many like each of `ids` (those that exist).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn like_counts(
        &self,
        ids: &[PostId],
    ) -> anyhow::Result<std::collections::HashMap<PostId, i64>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let found: Vec<PostRecord> =
            self.collection.find(doc! { "_id": { "$in": ids } }).await?.try_collect().await?;
        Ok(found.into_iter().map(|post| (post.id, post.like_count)).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &PostId) -> anyhow::Result<Option<PostRecord>> {
        Ok(self.collection.find_one(doc! { "_id": id }).await?)
    }

    /// A post that is not deleted, or 404.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn live(&self, id: &PostId) -> Result<PostRecord, PostError> {
        self.get(id).await?.filter(|p| !p.deleted).ok_or(PostError::NotFound)
    }

    /// A page of live posts by any of `authors`, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page(&self, authors: &[UserId], cursor: Option<&Cursor>) -> anyhow::Result<Vec<PostRecord>> {
        let filter = Cursor::after(cursor, doc! { "author_id": { "$in": authors }, "deleted": false });
        Ok(self.collection.find(filter).sort(pages::sort()).limit(PAGE_SIZE + 1).await?.try_collect().await?)
    }

    /// Moves one of a post's counters by `delta`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count(&self, id: &PostId, counter: Counter, delta: i64) -> anyhow::Result<()> {
        let field = match counter {
            Counter::Likes => "like_count",
            Counter::Comments => "comment_count",
        };
        self.collection.update_one(doc! { "_id": id }, doc! { "$inc": { field: delta } }).await?;
        Ok(())
    }

    /// Marks `media_id` removed in every post that shows it, and in any
    /// written later by a creation already under way ([`Posts::apply_removals`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_media_removed(&self, media_id: &MediaId) -> anyhow::Result<u64> {
        let record = doc! { "$setOnInsert": { "at": DateTime::now() } };
        self.removed_media.update_one(doc! { "_id": media_id }, record).upsert(true).await?;
        self.mark_in_posts(media_id).await
    }

    /// After `post` is written: marks its photos media has said are gone
    /// (the notice may have come while it was being created).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn apply_removals(&self, post: &mut PostRecord) -> anyhow::Result<()> {
        let ids: Vec<&MediaId> = post.photos.iter().map(|p| &p.media_id).collect();
        let removed: Vec<RemovedMedia> =
            self.removed_media.find(doc! { "_id": { "$in": ids } }).await?.try_collect().await?;
        for gone in removed {
            self.mark_in_posts(&gone.media_id).await?;
            for photo in post.photos.iter_mut().filter(|p| p.media_id == gone.media_id) {
                photo.removed = true;
            }
        }
        Ok(())
    }

    async fn mark_in_posts(&self, media_id: &MediaId) -> anyhow::Result<u64> {
        let updated = self
            .collection
            .update_many(
                doc! { "photos.media_id": media_id },
                doc! { "$set": { "photos.$[photo].removed": true } },
            )
            .array_filters(vec![doc! { "photo.media_id": media_id }])
            .await?;
        Ok(updated.modified_count)
    }

    /// The ids of every post (deleted ones included) showing `media_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn showing_media(&self, media_id: &MediaId) -> anyhow::Result<Vec<PostId>> {
        let posts: Vec<PostRecord> =
            self.collection.find(doc! { "photos.media_id": media_id }).await?.try_collect().await?;
        Ok(posts.into_iter().map(|p| p.id).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_deleted(&self, id: &PostId) -> anyhow::Result<()> {
        self.collection.update_one(doc! { "_id": id }, doc! { "$set": { "deleted": true } }).await?;
        Ok(())
    }
}
