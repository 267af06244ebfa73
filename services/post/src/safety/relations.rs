//! Blocks and mutes between users: one record per (kind, who, whom),
//! keyed `{kind}:{user}:{other}`, so setting one twice is once and finding
//! one is a key lookup. The feed never reads them: a block ends follows both
//! ways, and a mute marks the muter's follow (`social::store::Follow::muted`),
//! so a feed costs the same with a thousand blocks and mutes as with none.

use std::collections::HashSet;

use common::ids::UserId;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::money::stored::stored_enum;
use crate::pages::{self, Cursor, PAGE_SIZE};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relation {
    /// `{kind}:{user}:{other}`
    #[serde(rename = "_id")]
    pub key: String,
    pub kind: Kind,
    /// Who blocked or muted.
    pub user_id: UserId,
    /// Whom.
    pub other_id: UserId,
    pub created_at: DateTime,
}

stored_enum! {
    /// Which relation: a block (both sides lose sight of each other) or a
    /// mute (the muter stops seeing the other, who notices nothing).
    pub enum Kind {
        Block,
        Mute,
    }
}

fn key(kind: Kind, user: &UserId, other: &UserId) -> String {
    format!("{}:{user}:{other}", <&str>::from(kind))
}

#[derive(Clone)]
pub struct Relations {
    records: Collection<Relation>,
}

impl Relations {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let records = db.collection::<Relation>("relations");
        records
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "kind": 1, "user_id": 1, "created_at": -1, "_id": -1 })
                    .build(),
                IndexModel::builder().keys(doc! { "kind": 1, "other_id": 1 }).build(),
            ])
            .await?;
        Ok(Self { records })
    }

    /// Sets `user`'s `kind` of `other`: `true` when this call set it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set(&self, kind: Kind, user: &UserId, other: &UserId) -> anyhow::Result<bool> {
        let relation = Relation {
            key: key(kind, user, other),
            kind,
            user_id: user.clone(),
            other_id: other.clone(),
            created_at: DateTime::now(),
        };
        match self.records.insert_one(&relation).await {
            Ok(_) => Ok(true),
            Err(err) if common::mongo::is_duplicate_key(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unset(&self, kind: Kind, user: &UserId, other: &UserId) -> anyhow::Result<()> {
        self.records.delete_one(doc! { "_id": key(kind, user, other) }).await?;
        Ok(())
    }

    /// Whether either of `a` and `b` blocked the other.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn blocked_between(&self, a: &UserId, b: &UserId) -> anyhow::Result<bool> {
        if a == b {
            return Ok(false);
        }
        let either = doc! { "_id": { "$in": [key(Kind::Block, a, b), key(Kind::Block, b, a)] } };
        Ok(self.records.find_one(either).await?.is_some())
    }

    /// Whether `user` has set `kind` on `other`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn has(&self, kind: Kind, user: &UserId, other: &UserId) -> anyhow::Result<bool> {
        Ok(self.records.find_one(doc! { "_id": key(kind, user, other) }).await?.is_some())
    }

    /// Everyone `user` must not see (for pages whose authors are not known
    /// before the query: comments): blocked either way, and muted.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn hidden_from(&self, user: &UserId) -> anyhow::Result<HashSet<UserId>> {
        let theirs = doc! { "user_id": user, "kind": { "$in": [Kind::Block, Kind::Mute] } };
        let mine: Vec<Relation> = self.records.find(theirs).await?.try_collect().await?;
        let blockers = doc! { "kind": Kind::Block, "other_id": user };
        let blockers: Vec<Relation> = self.records.find(blockers).await?.try_collect().await?;
        Ok(mine.into_iter().map(|r| r.other_id).chain(blockers.into_iter().map(|r| r.user_id)).collect())
    }

    /// Everyone who must hear nothing of what `actor` does: they blocked or
    /// muted `actor`, or `actor` blocked them. Two indexed queries however
    /// many are to be told (a creator's followers are many; those who
    /// silenced them, few).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn silencing(&self, actor: &UserId) -> anyhow::Result<HashSet<UserId>> {
        let theirs = doc! { "kind": { "$in": [Kind::Block, Kind::Mute] }, "other_id": actor };
        let silencers: Vec<Relation> = self.records.find(theirs).await?.try_collect().await?;
        let blocked = doc! { "kind": Kind::Block, "user_id": actor };
        let blocked: Vec<Relation> = self.records.find(blocked).await?.try_collect().await?;
        Ok(silencers.into_iter().map(|r| r.user_id).chain(blocked.into_iter().map(|r| r.other_id)).collect())
    }

    /// A page of `user`'s blocks or mutes, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page(
        &self,
        kind: Kind,
        user: &UserId,
        cursor: Option<&Cursor>,
    ) -> anyhow::Result<Vec<Relation>> {
        let filter = Cursor::after(cursor, doc! { "kind": kind, "user_id": user });
        Ok(self.records.find(filter).sort(pages::sort()).limit(PAGE_SIZE + 1).await?.try_collect().await?)
    }
}
