//! A creator's tiers: up to five, ranked 1–5, a higher one including every
//! lower one. Ranks are unique per creator (an index), which is what holds a
//! creator to five, however many requests race. A tier's price changes
//! only for new subscribers: a subscription keeps the price it began with.

use common::ids::UserId;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::subscriptions::{Interval, TierId};

/// The most tiers a creator may have.
pub const MAX_TIERS: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierRecord {
    #[serde(rename = "_id")]
    pub id: TierId,
    pub creator_id: UserId,
    /// 1–5; a subscriber of rank N sees posts for ranks 1 to N.
    pub rank: i64,
    pub name: String,
    pub description: String,
    pub monthly_cents: i64,
    pub yearly_cents: Option<i64>,
    pub trial_days: Option<i64>,
    /// The most live subscriptions; `subscribers` counts them.
    pub subscriber_cap: Option<i64>,
    pub subscribers: i64,
    pub promotion: Option<Promotion>,
    /// No new subscribers; existing ones go on.
    pub retired: bool,
    pub created_at: DateTime,
}

/// A percentage off the first paid period, for a limited number of new
/// subscribers until a date.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Promotion {
    pub percent_off: i64,
    pub max_redemptions: i64,
    pub redeemed: i64,
    pub ends_at: DateTime,
}

impl TierRecord {
    /// The price of one period of `interval`, if the tier offers it.
    pub fn price(&self, interval: Interval) -> Option<i64> {
        match interval {
            Interval::Monthly => Some(self.monthly_cents),
            Interval::Yearly => self.yearly_cents,
        }
    }
}

/// What a creator may change of a tier (absent: unchanged).
#[derive(Debug, Default)]
pub struct TierChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub monthly_cents: Option<i64>,
    pub yearly_cents: Option<Option<i64>>,
    pub trial_days: Option<Option<i64>>,
    pub subscriber_cap: Option<Option<i64>>,
    pub promotion: Option<Option<Promotion>>,
}

#[derive(Clone)]
pub struct Tiers {
    collection: Collection<TierRecord>,
}

impl Tiers {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<TierRecord>("tiers");
        let unique = IndexOptions::builder().unique(true).build();
        collection
            .create_index(
                IndexModel::builder().keys(doc! { "creator_id": 1, "rank": 1 }).options(unique).build(),
            )
            .await?;
        Ok(Self { collection })
    }

    /// Adds `tier` under its rank; 409 when the creator has that rank.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create(&self, tier: &TierRecord) -> Result<(), PostError> {
        match self.collection.insert_one(tier).await {
            Ok(_) => Ok(()),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                Err(PostError::Conflict("You already have a tier of that rank."))
            }
            Err(err) => Err(err.into()),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &TierId) -> Result<TierRecord, PostError> {
        self.collection.find_one(doc! { "_id": id }).await?.ok_or(PostError::TierNotFound)
    }

    /// A creator's tiers, lowest rank first (retired ones too when asked).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn of(&self, creator: &UserId, with_retired: bool) -> anyhow::Result<Vec<TierRecord>> {
        let mut filter = doc! { "creator_id": creator };
        if !with_retired {
            filter.insert("retired", false);
        }
        Ok(self.collection.find(filter).sort(doc! { "rank": 1 }).await?.try_collect().await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change(&self, id: &TierId, change: TierChange) -> Result<TierRecord, PostError> {
        let mut set = doc! {};
        if let Some(name) = change.name {
            set.insert("name", name);
        }
        if let Some(description) = change.description {
            set.insert("description", description);
        }
        if let Some(cents) = change.monthly_cents {
            set.insert("monthly_cents", cents);
        }
        if let Some(cents) = change.yearly_cents {
            set.insert("yearly_cents", cents);
        }
        if let Some(days) = change.trial_days {
            set.insert("trial_days", days);
        }
        if let Some(cap) = change.subscriber_cap {
            set.insert("subscriber_cap", cap);
        }
        if let Some(promotion) = change.promotion {
            set.insert("promotion", mongodb::bson::to_bson(&promotion).map_err(anyhow::Error::from)?);
        }
        if !set.is_empty() {
            self.collection.update_one(doc! { "_id": id }, doc! { "$set": set }).await?;
        }
        self.get(id).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn retire(&self, id: &TierId) -> anyhow::Result<()> {
        self.collection.update_one(doc! { "_id": id }, doc! { "$set": { "retired": true } }).await?;
        Ok(())
    }

    /// Takes one of the tier's places for a new subscriber: `false` when it
    /// is full (one conditional update: racing subscribers cannot overfill it).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_place(&self, tier: &TierRecord) -> anyhow::Result<bool> {
        let mut filter = doc! { "_id": &tier.id };
        if let Some(cap) = tier.subscriber_cap {
            filter.insert("subscribers", doc! { "$lt": cap });
        }
        let taken = self.collection.update_one(filter, doc! { "$inc": { "subscribers": 1 } }).await?;
        Ok(taken.modified_count == 1)
    }

    /// Gives a place back (a subscription ended or never began).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn give_place(&self, tier: &TierId) -> anyhow::Result<()> {
        let held = doc! { "_id": tier, "subscribers": { "$gt": 0 } };
        self.collection.update_one(held, doc! { "$inc": { "subscribers": -1 } }).await?;
        Ok(())
    }

    /// Gives a redemption back (the first charge did not go through).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unredeem(&self, tier: &TierId) -> anyhow::Result<()> {
        let redeemed = doc! { "_id": tier, "promotion.redeemed": { "$gt": 0 } };
        self.collection.update_one(redeemed, doc! { "$inc": { "promotion.redeemed": -1 } }).await?;
        Ok(())
    }

    /// Redeems the tier's promotion for one subscriber, when it still runs:
    /// the percentage off, or `None`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn redeem(&self, tier: &TierRecord, now: DateTime) -> anyhow::Result<Option<i64>> {
        let Some(promotion) = &tier.promotion else {
            return Ok(None);
        };
        let running = doc! {
            "_id": &tier.id,
            "promotion.ends_at": { "$gt": now },
            "promotion.redeemed": { "$lt": promotion.max_redemptions },
        };
        let redeemed =
            self.collection.update_one(running, doc! { "$inc": { "promotion.redeemed": 1 } }).await?;
        Ok((redeemed.modified_count == 1).then_some(promotion.percent_off))
    }
}
