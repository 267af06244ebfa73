//! Subscriptions, their charges, and the two markers that settle races:
//! one live subscription per (subscriber, creator) and one trial per pair.

use std::collections::HashMap;

use common::ids::{SubscriptionId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::ProviderId;
use crate::money::purchases::Party;
use crate::money::stored::stored_enum;
use crate::money::subscriptions::tiers::TierRecord;
use crate::money::subscriptions::{Interval, TierId};

stored_enum! {
    pub enum SubscriptionState {
        /// Paid by card, waiting for the provider's first word.
        Incomplete,
        /// Free until the trial's end, then charged.
        Trialing,
        Active,
        /// A renewal failed: still open until `grace_until`, charged again meanwhile.
        PastDue,
        /// Lapsed, or cancelled and at its period's end.
        Ended,
        /// Its period refunded by the creator or an admin; ended at once.
        Refunded,
    }
}

impl SubscriptionState {
    pub const LIVE: [SubscriptionState; 3] =
        [SubscriptionState::Trialing, SubscriptionState::Active, SubscriptionState::PastDue];
}

stored_enum! {
    pub enum ChargeState {
        Paid,
        Refunded,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    #[serde(rename = "_id")]
    pub id: SubscriptionId,
    pub subscriber_id: UserId,
    pub creator_id: UserId,
    pub tier_id: TierId,
    pub rank: i64,
    pub interval: Interval,
    /// What each renewal charges: the tier's price when it began.
    pub price_cents: i64,
    /// The promotional amount of the first paid period, while still to come (after a trial).
    pub first_charge_cents: Option<i64>,
    pub state: SubscriptionState,
    pub cancel_at_period_end: bool,
    /// The current period's number (its charge's), from 0.
    pub period: i64,
    pub period_start: DateTime,
    pub period_end: DateTime,
    pub grace_until: Option<DateTime>,
    /// A move to a lower tier, due at the period's end (its place is held).
    #[serde(default)]
    pub next_tier: Option<NextTier>,
    /// Held by the one renewal working on it.
    pub lease_until: Option<DateTime>,
    pub created_at: DateTime,
    pub ended_at: Option<DateTime>,
    /// Paid by card through the provider's billing (`None`: from the wallet).
    #[serde(default)]
    pub card: Option<CardBilling>,
}

/// A card subscription's objects at the provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardBilling {
    pub customer: ProviderId,
    /// Known once the provider made it.
    pub subscription: Option<ProviderId>,
}

impl SubscriptionRecord {
    /// A new subscription of `subscriber` to `tier` at `price`, from `now`
    /// (active, its period still to be set by the caller).
    pub fn starting(
        id: SubscriptionId,
        subscriber: &UserId,
        tier: &TierRecord,
        interval: Interval,
        price_cents: i64,
        now: DateTime,
    ) -> Self {
        Self {
            id,
            subscriber_id: subscriber.clone(),
            creator_id: tier.creator_id.clone(),
            tier_id: tier.id.clone(),
            rank: tier.rank,
            interval,
            price_cents,
            first_charge_cents: None,
            state: SubscriptionState::Active,
            cancel_at_period_end: false,
            period: 0,
            period_start: now,
            period_end: now,
            grace_until: None,
            next_tier: None,
            lease_until: None,
            created_at: now,
            ended_at: None,
            card: None,
        }
    }

    /// Whether it opens the creator's posts at `now`: live, within its
    /// period, its grace, or waiting for a renewal that has not failed.
    pub fn opens(&self, now: DateTime) -> bool {
        match self.state {
            SubscriptionState::Trialing | SubscriptionState::Active => {
                now < self.period_end || !self.cancel_at_period_end
            }
            SubscriptionState::PastDue => self.grace_until.is_some_and(|grace| now < grace),
            SubscriptionState::Incomplete | SubscriptionState::Ended | SubscriptionState::Refunded => false,
        }
    }
}

/// A lower tier a subscription moves to when its period ends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NextTier {
    pub tier_id: TierId,
    pub rank: i64,
    pub price_cents: i64,
}

/// One payment: a period's (`{subscription}:{period}`, so a period is
/// charged once), or a move up within one (`…:upgrade-{rank}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChargeRecord {
    #[serde(rename = "_id")]
    pub key: String,
    pub subscription_id: SubscriptionId,
    pub subscriber_id: UserId,
    pub creator_id: UserId,
    pub period: i64,
    pub amount_cents: i64,
    pub fee_cents: i64,
    pub state: ChargeState,
    /// The creator's share is pending until `clears_at`.
    pub pending: bool,
    pub clears_at: DateTime,
    pub created_at: DateTime,
    /// A card charge's invoice and payment (`None`: paid from the wallet).
    #[serde(default)]
    pub invoice: Option<ProviderId>,
    #[serde(default)]
    pub intent: Option<ProviderId>,
}

impl ChargeRecord {
    pub fn key_of(subscription: &SubscriptionId, period: i64) -> String {
        format!("{subscription}:{period}")
    }

    /// A card charge: one per invoice the provider made.
    pub fn invoice_key(subscription: &SubscriptionId, invoice: &ProviderId) -> String {
        format!("{subscription}:invoice:{invoice}")
    }

    pub fn upgrade_key(subscription: &SubscriptionId, period: i64, rank: i64) -> String {
        format!("{subscription}:{period}:upgrade-{rank}")
    }

    /// The ledger operation that paid it (`…:refund` and `{key}:cleared` follow it).
    pub fn operation(&self) -> String {
        format!("subscription:{}", self.key)
    }

    pub fn share_cents(&self) -> i64 {
        self.amount_cents - self.fee_cents
    }
}

/// `{subscriber}:{creator}` → the live subscription (or the one being made).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    #[serde(rename = "_id")]
    key: String,
    subscription_id: SubscriptionId,
}

/// A user's customer at the provider (their cards for subscriptions).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Customer {
    #[serde(rename = "_id")]
    user_id: UserId,
    customer: ProviderId,
}

/// `{subscriber}:{creator}`: a trial was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Trial {
    #[serde(rename = "_id")]
    key: String,
    at: DateTime,
}

fn pair(subscriber: &UserId, creator: &UserId) -> String {
    format!("{subscriber}:{creator}")
}

#[derive(Clone)]
pub struct Store {
    pub(super) records: Collection<SubscriptionRecord>,
    pub(super) charges: Collection<ChargeRecord>,
    slots: Collection<Slot>,
    trials: Collection<Trial>,
    customers: Collection<Customer>,
}

/// Taking the pair's slot.
pub enum Slotted {
    Taken,
    /// The pair has a live subscription (or one being made).
    Held(SubscriptionId),
}

impl Store {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let records = db.collection::<SubscriptionRecord>("subscriptions");
        records
            .create_index(IndexModel::builder().keys(doc! { "state": 1, "period_end": 1 }).build())
            .await?;
        records
            .create_index(IndexModel::builder().keys(doc! { "subscriber_id": 1, "created_at": -1 }).build())
            .await?;
        records
            .create_index(IndexModel::builder().keys(doc! { "creator_id": 1, "created_at": -1 }).build())
            .await?;
        let by_provider = doc! { "card.subscription": 1 };
        let sparse = mongodb::options::IndexOptions::builder().sparse(true).build();
        records.create_index(IndexModel::builder().keys(by_provider).options(sparse).build()).await?;
        let charges = db.collection::<ChargeRecord>("subscription_charges");
        charges
            .create_index(
                IndexModel::builder().keys(doc! { "creator_id": 1, "pending": 1, "clears_at": 1 }).build(),
            )
            .await?;
        Ok(Self {
            records,
            charges,
            slots: db.collection("subscription_slots"),
            trials: db.collection("subscription_trials"),
            customers: db.collection("billing_customers"),
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &SubscriptionId) -> Result<SubscriptionRecord, PostError> {
        self.records.find_one(doc! { "_id": id }).await?.ok_or(PostError::SubscriptionNotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_slot(
        &self,
        subscriber: &UserId,
        creator: &UserId,
        id: &SubscriptionId,
    ) -> anyhow::Result<Slotted> {
        let slot = Slot { key: pair(subscriber, creator), subscription_id: id.clone() };
        match self.slots.insert_one(&slot).await {
            Ok(_) => Ok(Slotted::Taken),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                let held = self.slots.find_one(doc! { "_id": &slot.key }).await?;
                Ok(held.map_or(Slotted::Taken, |held| Slotted::Held(held.subscription_id)))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Frees the pair for a new subscription (subscription `id` ended, or never began).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn free_slot(
        &self,
        subscriber: &UserId,
        creator: &UserId,
        id: &SubscriptionId,
    ) -> anyhow::Result<()> {
        self.slots.delete_one(doc! { "_id": pair(subscriber, creator), "subscription_id": id }).await?;
        Ok(())
    }

    /// Marks the pair's trial taken: `false` when it was before.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_trial(
        &self,
        subscriber: &UserId,
        creator: &UserId,
        now: DateTime,
    ) -> anyhow::Result<bool> {
        match self.trials.insert_one(Trial { key: pair(subscriber, creator), at: now }).await {
            Ok(_) => Ok(true),
            Err(err) if common::mongo::is_duplicate_key(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Gives back the pair's trial (taken for a subscription that never began).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn give_back_trial(&self, subscriber: &UserId, creator: &UserId) -> anyhow::Result<()> {
        self.trials.delete_one(doc! { "_id": pair(subscriber, creator) }).await?;
        Ok(())
    }

    /// The live subscriptions `subscriber` holds to any of `creators`, by creator.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn live_to(
        &self,
        subscriber: &UserId,
        creators: &[&UserId],
    ) -> anyhow::Result<HashMap<UserId, SubscriptionRecord>> {
        let filter = doc! {
            "subscriber_id": subscriber,
            "creator_id": { "$in": creators },
            "state": { "$in": SubscriptionState::LIVE.to_vec() },
        };
        let found: Vec<SubscriptionRecord> = self.records.find(filter).await?.try_collect().await?;
        Ok(found.into_iter().map(|record| (record.creator_id.clone(), record)).collect())
    }

    /// Everyone whose subscription to `creator` is live now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn subscriber_ids(&self, creator: &UserId) -> anyhow::Result<Vec<UserId>> {
        let live = doc! { "creator_id": creator, "state": { "$in": SubscriptionState::LIVE.to_vec() } };
        let found: Vec<SubscriptionRecord> = self.records.find(live).await?.try_collect().await?;
        Ok(found.into_iter().map(|record| record.subscriber_id).collect())
    }

    /// `user`'s subscriptions (the buyer's side) or subscribers (the creator's), newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent(
        &self,
        party: Party,
        user: &UserId,
        limit: i64,
    ) -> anyhow::Result<Vec<SubscriptionRecord>> {
        let field = match party {
            Party::Buyer => "subscriber_id",
            Party::Creator => "creator_id",
        };
        Ok(common::mongo::newest(&self.records, doc! { field: user }, limit).await?)
    }

    /// Subscriptions whose period is over, not held by a renewal now. A
    /// card subscription is due only to end (cancelled, or past its grace):
    /// the provider renews it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due(&self, now: DateTime, limit: i64) -> anyhow::Result<Vec<SubscriptionRecord>> {
        let card = doc! { "$ne": null };
        let filter = doc! {
            "state": { "$in": SubscriptionState::LIVE.to_vec() },
            "$and": [
                { "$or": [{ "lease_until": null }, { "lease_until": { "$lte": now } }] },
                { "$or": [
                    { "card": null, "period_end": { "$lte": now } },
                    { "card": card.clone(), "cancel_at_period_end": true, "period_end": { "$lte": now } },
                    { "card": card, "grace_until": { "$lte": now } },
                ] },
            ],
        };
        Ok(self.records.find(filter).sort(doc! { "period_end": 1 }).limit(limit).await?.try_collect().await?)
    }

    /// Holds `record` for one renewal until `until`, if no one else took it
    /// since it was read.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lease(&self, record: &SubscriptionRecord, until: DateTime) -> anyhow::Result<bool> {
        let as_read = doc! { "_id": &record.id, "period": record.period, "state": record.state, "lease_until": record.lease_until };
        let leased = self.records.update_one(as_read, doc! { "$set": { "lease_until": until } }).await?;
        Ok(leased.modified_count == 1)
    }

    /// Sets whether `record` ends at its period's end.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_cancel(&self, record: &SubscriptionRecord, cancel: bool) -> anyhow::Result<()> {
        let live = doc! { "_id": &record.id, "state": { "$in": SubscriptionState::LIVE.to_vec() } };
        self.records.update_one(live, doc! { "$set": { "cancel_at_period_end": cancel } }).await?;
        Ok(())
    }

    /// The paid charges of a subscription's period (its own, and any move up within it).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn paid_in(&self, id: &SubscriptionId, period: i64) -> anyhow::Result<Vec<ChargeRecord>> {
        let paid = doc! { "subscription_id": id, "period": period, "state": ChargeState::Paid };
        Ok(self.charges.find(paid).await?.try_collect().await?)
    }

    /// Holds (or drops, with `None`) a move down at the period's end.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_next_tier(
        &self,
        record: &SubscriptionRecord,
        next: Option<&NextTier>,
    ) -> anyhow::Result<bool> {
        let as_read = doc! { "_id": &record.id, "period": record.period, "state": record.state };
        let next = mongodb::bson::to_bson(&next)?;
        Ok(self.records.update_one(as_read, doc! { "$set": { "next_tier": next } }).await?.modified_count
            == 1)
    }

    /// The subscription the provider's `subscription` bills.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn by_provider(&self, subscription: &ProviderId) -> anyhow::Result<Option<SubscriptionRecord>> {
        Ok(self.records.find_one(doc! { "card.subscription": subscription }).await?)
    }

    /// `user`'s customer at the provider, when they have paid by card before.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn customer_of(&self, user: &UserId) -> anyhow::Result<Option<ProviderId>> {
        Ok(self.customers.find_one(doc! { "_id": user }).await?.map(|c| c.customer))
    }

    /// Keeps `customer` as `user`'s; the one kept first when two raced.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn keep_customer(&self, user: &UserId, customer: ProviderId) -> anyhow::Result<ProviderId> {
        match self.customers.insert_one(Customer { user_id: user.clone(), customer: customer.clone() }).await
        {
            Ok(_) => Ok(customer),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                Ok(self.customer_of(user).await?.unwrap_or(customer))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Ends a subscription the provider never began.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_ended(&self, record: &SubscriptionRecord, at: DateTime) -> anyhow::Result<()> {
        let incomplete = doc! { "_id": &record.id, "state": SubscriptionState::Incomplete };
        let ended = doc! { "$set": { "state": SubscriptionState::Ended, "ended_at": at } };
        self.records.update_one(incomplete, ended).await?;
        Ok(())
    }

    /// Records the provider's subscription of our `id` (once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn link_provider(&self, id: &SubscriptionId, provider: &ProviderId) -> anyhow::Result<()> {
        let unlinked = doc! { "_id": id, "card.subscription": null };
        self.records.update_one(unlinked, doc! { "$set": { "card.subscription": provider } }).await?;
        Ok(())
    }

    /// A card subscription the provider began with a trial until `end`.
    #[tracing::instrument(level = "debug", skip_all)]
    /// `true` when this call began it.
    pub async fn begin_trial(
        &self,
        session: &mut mongodb::ClientSession,
        id: &SubscriptionId,
        end: DateTime,
    ) -> anyhow::Result<bool> {
        let incomplete = doc! { "_id": id, "state": SubscriptionState::Incomplete };
        let trialing = doc! { "$set": { "state": SubscriptionState::Trialing, "period_end": end } };
        Ok(self.records.update_one(incomplete, trialing).session(session).await?.modified_count == 1)
    }

    /// A renewal failed: past due, open until `grace_until`. `false` when it already was.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn fall_due(&self, id: &SubscriptionId, grace_until: DateTime) -> anyhow::Result<bool> {
        let paying =
            doc! { "_id": id, "state": { "$in": [SubscriptionState::Active, SubscriptionState::Trialing] } };
        let due = doc! { "$set": { "state": SubscriptionState::PastDue, "grace_until": grace_until } };
        Ok(self.records.update_one(paying, due).await?.modified_count == 1)
    }

    /// Every charge (for reconciliation).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all_charges(&self) -> anyhow::Result<Vec<ChargeRecord>> {
        Ok(self.charges.find(doc! {}).await?.try_collect().await?)
    }

    /// `creator`'s charges whose share is due to clear at `now`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clearing(&self, creator: &UserId, now: DateTime) -> anyhow::Result<Vec<ChargeRecord>> {
        let due = doc! { "creator_id": creator, "pending": true, "state": ChargeState::Paid, "clears_at": { "$lte": now } };
        Ok(self.charges.find(due).await?.try_collect().await?)
    }
}
