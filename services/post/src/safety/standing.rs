//! Each user's standing with the moderators: warnings, a limit (their
//! profile and posts are seen by their followers only), a suspension
//! (their tokens refused everywhere at once — auth keeps the list, see
//! `common::suspensions` — their posts hidden and unsellable, their payouts
//! held). Users nobody acted on have no record.

use std::collections::HashMap;

use common::ids::UserId;
use common::suspensions::Suspensions;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::options::UpdateOptions;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StandingRecord {
    #[serde(rename = "_id")]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub warnings: i64,
    #[serde(default)]
    pub limited: bool,
    #[serde(default)]
    pub suspended: bool,
    pub updated_at: Option<DateTime>,
}

/// A change of standing.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Warn,
    Limit(bool),
    Suspend(bool),
}

#[derive(Clone)]
pub struct Standings {
    records: Collection<StandingRecord>,
    /// The suspended accounts every request is checked against.
    pub suspended: Suspensions,
}

impl Standings {
    pub fn new(db: &Database, suspended: Suspensions) -> Self {
        Self { records: db.collection("standing"), suspended }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn of(&self, user: &UserId) -> anyhow::Result<StandingRecord> {
        Ok(self.records.find_one(doc! { "_id": user }).await?.unwrap_or_default())
    }

    /// The standing of those of `users` who have one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn of_many(&self, users: &[&UserId]) -> anyhow::Result<HashMap<UserId, StandingRecord>> {
        let found: Vec<StandingRecord> =
            self.records.find(doc! { "_id": { "$in": users } }).await?.try_collect().await?;
        Ok(found.into_iter().filter_map(|record| Some((record.user_id.clone()?, record))).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change(&self, user: &UserId, change: Change) -> anyhow::Result<()> {
        let update = match change {
            Change::Warn => doc! { "$inc": { "warnings": 1_i64 }, "$set": { "updated_at": DateTime::now() } },
            Change::Limit(on) => doc! { "$set": { "limited": on, "updated_at": DateTime::now() } },
            Change::Suspend(on) => doc! { "$set": { "suspended": on, "updated_at": DateTime::now() } },
        };
        let upsert = UpdateOptions::builder().upsert(true).build();
        self.records.update_one(doc! { "_id": user }, update).with_options(upsert).await?;
        if let Change::Suspend(on) = change {
            self.suspended.note(user, on);
        }
        Ok(())
    }

    /// Whether `user` is suspended now (by the list every replica follows).
    pub fn is_suspended(&self, user: &UserId) -> bool {
        self.suspended.contains(user)
    }
}
