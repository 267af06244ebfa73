//! Purchases and their refunds.
//!
//! An entitlement (`{buyer}:{post}`, one per buyer and post by its id) is
//! what grants the photos; the purchase record behind it is the history and
//! outlives a refund. Both moves — buying and refunding — first claim their
//! record with one conditional single-document write, then move the money
//! in one transaction that completes only the claim it holds: whatever the
//! concurrency, money moves once.
//!
//! The creator's share of a sale is *pending* for the clearing period (a card
//! payment behind it may still be disputed), then *clears* into earnings,
//! which can be paid out. Clearing is done when the creator's money is next
//! looked at or moved ([`Purchases::clear_due`]): no worker wakes for it.

use common::ids::{PostId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::PurchaseId;
use crate::money::gate::MoneyGate;
use crate::money::ledger::{Account, Ledger, LedgerKind, Leg};
use crate::money::stored::stored_enum;
use crate::money::txn::{self, Attempts, Refusal, Stop, transaction};
use crate::notify::Event;
use crate::notify::outbox::Outbox;
use crate::posts::PostRecord;

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum PurchaseState {
        Active,
        /// A refund holds the purchase (until `lease_until`).
        Refunding,
        Refunded,
        /// Ended by a card dispute the buyer won ([`crate::money::disputes`]).
        Revoked,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurchaseRecord {
    #[serde(rename = "_id")]
    pub id: PurchaseId,
    pub buyer_id: UserId,
    pub post_id: PostId,
    pub creator_id: UserId,
    pub price_cents: i64,
    pub fee_cents: i64,
    pub state: PurchaseState,
    pub lease_until: Option<DateTime>,
    pub created_at: DateTime,
    pub refunded_at: Option<DateTime>,
    pub refunded_by: Option<String>,
    /// Whether the creator's share is still pending (sales from before
    /// clearing existed went straight to earnings).
    #[serde(default)]
    pub pending: bool,
    /// When the share clears.
    #[serde(default)]
    pub clears_at: Option<DateTime>,
}

impl PurchaseRecord {
    /// What the creator's earnings received.
    pub fn share_cents(&self) -> i64 {
        self.price_cents - self.fee_cents
    }

    /// Where the creator's share sits now.
    pub fn share_account(&self) -> Account {
        match self.pending {
            true => Account::PendingEarnings(self.creator_id.clone()),
            false => Account::Earnings(self.creator_id.clone()),
        }
    }
}

stored_enum! {
    pub(crate) enum EntitlementState {
        /// A purchase holds the slot while it moves the money.
        Pending,
        Active,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entitlement {
    /// `{buyer}:{post}`.
    #[serde(rename = "_id")]
    key: String,
    purchase_id: PurchaseId,
    user_id: UserId,
    post_id: PostId,
    state: EntitlementState,
    lease_until: DateTime,
}

/// An Idempotency-Key of a purchase request: bound to a post at first use,
/// and to the purchase it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PurchaseKey {
    /// `{user}:{key}`.
    #[serde(rename = "_id")]
    key: String,
    post_id: PostId,
    purchase_id: Option<PurchaseId>,
    at: DateTime,
}

/// Which side of a sale someone is on.
#[derive(Debug, Clone, Copy)]
pub enum Party {
    Buyer,
    Creator,
}

pub enum Outcome {
    New(PurchaseRecord),
    Existing(PurchaseRecord),
}

/// Who asks for a refund.
pub struct Refunder<'a> {
    pub user_id: &'a UserId,
    pub admin: bool,
}

/// The platform's fee on a sale of `price_cents` at `fee_bps` basis points,
/// rounded down: the creator never gets less than their share.
pub(crate) fn fee_of(price_cents: i64, fee_bps: i64) -> i64 {
    price_cents * fee_bps / 10_000
}

/// Matches a record's `pending` as read (a record from before clearing has none: not pending).
fn where_pending(pending: bool) -> mongodb::bson::Bson {
    match pending {
        true => true.into(),
        false => doc! { "$ne": true }.into(),
    }
}

fn slot(user_id: &UserId, thing: impl std::fmt::Display) -> String {
    format!("{user_id}:{thing}")
}

#[derive(Clone)]
pub struct Purchases {
    client: Client,
    ledger: Ledger,
    records: Collection<PurchaseRecord>,
    entitlements: Collection<Entitlement>,
    keys: Collection<PurchaseKey>,
    gate: MoneyGate,
    fee_bps: i64,
    clearing: std::time::Duration,
    outbox: Outbox,
}

impl Purchases {
    pub async fn new(
        db: &Database,
        ledger: Ledger,
        gate: MoneyGate,
        fee_bps: u64,
        clearing: std::time::Duration,
        outbox: Outbox,
    ) -> anyhow::Result<Self> {
        let entitlements = db.collection::<Entitlement>("entitlements");
        entitlements.create_index(IndexModel::builder().keys(doc! { "post_id": 1 }).build()).await?;
        let records = db.collection::<PurchaseRecord>("purchases");
        records
            .create_index(IndexModel::builder().keys(doc! { "creator_id": 1, "created_at": -1 }).build())
            .await?;
        records
            .create_index(IndexModel::builder().keys(doc! { "buyer_id": 1, "created_at": -1 }).build())
            .await?;
        Ok(Self {
            client: db.client().clone(),
            ledger,
            records,
            entitlements,
            keys: db.collection("purchase_keys"),
            gate,
            fee_bps: i64::try_from(fee_bps)?,
            clearing,
            outbox,
        })
    }

    /// Whether anyone holds (or is buying) any of `post_ids`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn any_buyer(&self, post_ids: &[PostId]) -> anyhow::Result<bool> {
        Ok(self.entitlements.find_one(doc! { "post_id": { "$in": post_ids } }).await?.is_some())
    }

    /// Post ids among `post_ids` that `user_id` has bought (and not had
    /// refunded), each with its purchase.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn bought(
        &self,
        user_id: &UserId,
        post_ids: &[&PostId],
    ) -> anyhow::Result<std::collections::HashMap<PostId, PurchaseId>> {
        let ids: Vec<String> = post_ids.iter().map(|p| slot(user_id, p)).collect();
        let found: Vec<Entitlement> = self
            .entitlements
            .find(doc! { "_id": { "$in": ids }, "state": EntitlementState::Active })
            .await?
            .try_collect()
            .await?;
        Ok(found.into_iter().map(|e| (e.post_id, e.purchase_id)).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &PurchaseId) -> Result<PurchaseRecord, PostError> {
        self.records.find_one(doc! { "_id": id }).await?.ok_or(PostError::PurchaseNotFound)
    }

    /// The newest purchases `user_id` made (as the buyer) or sold (as the creator).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent(
        &self,
        party: Party,
        user_id: &UserId,
        limit: i64,
    ) -> anyhow::Result<Vec<PurchaseRecord>> {
        let field = match party {
            Party::Buyer => "buyer_id",
            Party::Creator => "creator_id",
        };
        Ok(common::mongo::newest(&self.records, doc! { field: user_id }, limit).await?)
    }

    /// Binds `key` to `post_id` for `user` on first use; the same key for
    /// another post is refused (a client bug that must not buy the wrong
    /// thing). Answers the purchase the key already made, if any.
    async fn claim_key(
        &self,
        user: &UserId,
        key: &str,
        post_id: &PostId,
    ) -> Result<Option<PurchaseId>, PostError> {
        let id = slot(user, key);
        let record =
            PurchaseKey { key: id.clone(), post_id: post_id.clone(), purchase_id: None, at: DateTime::now() };
        match self.keys.insert_one(&record).await {
            Ok(_) => Ok(None),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                match self.keys.find_one(doc! { "_id": &id }).await? {
                    Some(bound) if bound.post_id == *post_id => Ok(bound.purchase_id),
                    _ => Err(PostError::invalid("Idempotency-Key", "was already used for another purchase")),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Buys `post` for `buyer`: exactly once, however often it is asked. A
    /// retry with the key of a purchase since refunded answers that purchase
    /// rather than buying again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn buy(&self, buyer: &UserId, post: &PostRecord, key: &str) -> Result<Outcome, PostError> {
        let _passage = self.gate.enter().await;
        if let Some(made) = self.claim_key(buyer, key, &post.id).await? {
            return Ok(Outcome::Existing(self.get(&made).await?));
        }
        let price = i64::try_from(post.price_cents).map_err(|_| PostError::Conflict("price out of range"))?;
        let fee = fee_of(price, self.fee_bps);
        let slot_id = slot(buyer, &post.id);
        let mut attempts = Attempts::new(&self.client);
        while attempts.time_left() {
            let purchase_id = PurchaseId::mint();
            match self.hold_slot(&slot_id, &purchase_id, buyer, &post.id).await? {
                Hold::Held => {}
                Hold::Taken(existing) => return Ok(Outcome::Existing(self.get(&existing).await?)),
                Hold::Busy => {
                    txn::pause().await;
                    continue;
                }
            }
            let record = PurchaseRecord {
                id: purchase_id.clone(),
                buyer_id: buyer.clone(),
                post_id: post.id.clone(),
                creator_id: post.author_id.clone(),
                price_cents: price,
                fee_cents: fee,
                state: PurchaseState::Active,
                lease_until: None,
                created_at: DateTime::now(),
                refunded_at: None,
                refunded_by: None,
                pending: true,
                clears_at: Some(DateTime::from_system_time(std::time::SystemTime::now() + self.clearing)),
            };
            let legs = [
                Leg::covered_debit(Account::Wallet(buyer.clone()), price, LedgerKind::Purchase),
                Leg::credit(record.share_account(), price - fee, LedgerKind::Sale),
                Leg::credit(Account::Platform, fee, LedgerKind::Fee),
            ];
            let key_id = slot(buyer, key);
            let sold = Event::Purchased {
                author: post.author_id.clone(),
                post: post.id.clone(),
                buyer: buyer.clone(),
                price_cents: price,
            };
            let bought = transaction!(attempts, |session| {
                let held =
                    doc! { "_id": &slot_id, "purchase_id": &purchase_id, "state": EntitlementState::Pending };
                let activated = self
                    .entitlements
                    .update_one(held, doc! { "$set": { "state": EntitlementState::Active } })
                    .session(&mut *session)
                    .await?;
                if activated.matched_count == 0 {
                    return Err(Stop::Refuse(PostError::Conflict("the purchase was taken over")));
                }
                self.ledger.post(session, &purchase_id, &post.id, &legs).await?;
                self.records.insert_one(&record).session(&mut *session).await?;
                self.keys
                    .update_one(doc! { "_id": &key_id }, doc! { "$set": { "purchase_id": &purchase_id } })
                    .session(&mut *session)
                    .await?;
                self.outbox.stage(session, sold.clone()).await?;
                Ok(())
            });
            return match bought {
                Ok(()) => {
                    self.outbox.wake();
                    Ok(Outcome::New(record))
                }
                Err(Refusal::Short(_)) => {
                    self.release_slot(&slot_id, &purchase_id).await?;
                    let balance_cents = self.ledger.balance(&Account::Wallet(buyer.clone())).await?;
                    Err(PostError::InsufficientFunds { balance_cents, price_cents: post.price_cents })
                }
                Err(Refusal::Error(PostError::Conflict(_))) => continue,
                Err(Refusal::Error(err)) => {
                    self.release_slot(&slot_id, &purchase_id).await?;
                    Err(err)
                }
            };
        }
        Err(attempts.exhausted())
    }

    /// Takes the buyer's slot for `post_id` for one purchase.
    async fn hold_slot(
        &self,
        slot_id: &str,
        purchase_id: &PurchaseId,
        buyer: &UserId,
        post_id: &PostId,
    ) -> Result<Hold, PostError> {
        let entitlement = Entitlement {
            key: slot_id.to_owned(),
            purchase_id: purchase_id.clone(),
            user_id: buyer.clone(),
            post_id: post_id.clone(),
            state: EntitlementState::Pending,
            lease_until: txn::lease_until(),
        };
        match self.entitlements.insert_one(&entitlement).await {
            Ok(_) => return Ok(Hold::Held),
            Err(err) if common::mongo::is_duplicate_key(&err) => {}
            Err(err) => return Err(err.into()),
        }
        let Some(existing) = self.entitlements.find_one(doc! { "_id": slot_id }).await? else {
            return Ok(Hold::Busy); // refunded in between: try again
        };
        if existing.state == EntitlementState::Active {
            return Ok(Hold::Taken(existing.purchase_id));
        }
        if existing.lease_until > DateTime::now() {
            return Ok(Hold::Busy);
        }
        // Its holder died mid-purchase (its transaction never committed): take over.
        let stale =
            doc! { "_id": slot_id, "purchase_id": &existing.purchase_id, "state": EntitlementState::Pending };
        let take = doc! { "$set": { "purchase_id": purchase_id, "lease_until": txn::lease_until() } };
        let taken = self.entitlements.update_one(stale, take).await?;
        Ok(if taken.modified_count == 1 { Hold::Held } else { Hold::Busy })
    }

    async fn release_slot(&self, slot_id: &str, purchase_id: &PurchaseId) -> Result<(), PostError> {
        let held = doc! { "_id": slot_id, "purchase_id": purchase_id, "state": EntitlementState::Pending };
        self.entitlements.delete_one(held).await?;
        Ok(())
    }

    /// Refunds purchase `id`: the buyer's wallet gets the price back, the
    /// creator's earnings lose their share (refused when they no longer
    /// hold it), the fee is given back, and the entitlement ends.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refund(&self, id: &PurchaseId, by: Refunder<'_>) -> Result<Outcome, PostError> {
        let _passage = self.gate.enter().await;
        let mut attempts = Attempts::new(&self.client);
        while attempts.time_left() {
            let record = self.get(id).await?;
            if record.creator_id != *by.user_id && !by.admin {
                return Err(PostError::Forbidden("Only the post's creator or an admin can refund it."));
            }
            match record.state {
                PurchaseState::Refunded | PurchaseState::Revoked => return Ok(Outcome::Existing(record)),
                PurchaseState::Refunding if txn::lease_live(record.lease_until) => {
                    txn::pause().await;
                    continue;
                }
                PurchaseState::Active | PurchaseState::Refunding => {}
            }
            let read = (record.state, record.lease_until);
            let Some(lease) = txn::claim(&self.records, &record.id, read, PurchaseState::Refunding).await?
            else {
                continue; // another request moved it first
            };
            let operation = format!("{}:refund", record.id);
            let legs = [
                Leg::credit(Account::Wallet(record.buyer_id.clone()), record.price_cents, LedgerKind::Refund),
                Leg::covered_debit(record.share_account(), record.share_cents(), LedgerKind::SaleReversal),
                Leg::debit(Account::Platform, record.fee_cents, LedgerKind::FeeReversal),
            ];
            let refunded = transaction!(attempts, |session| {
                // Read with its share where it was: cleared since, it is read again.
                let held = doc! { "_id": &record.id, "state": PurchaseState::Refunding, "lease_until": lease, "pending": where_pending(record.pending) };
                let done = doc! { "$set": { "state": PurchaseState::Refunded, "refunded_at": DateTime::now(), "refunded_by": by.user_id, "lease_until": null } };
                if self.records.update_one(held, done).session(&mut *session).await?.matched_count == 0 {
                    return Err(Stop::Refuse(PostError::Conflict("the refund was taken over")));
                }
                let slot_id = slot(&record.buyer_id, &record.post_id);
                self.entitlements
                    .delete_one(doc! { "_id": slot_id, "purchase_id": &record.id })
                    .session(&mut *session)
                    .await?;
                self.ledger.post(session, &operation, &record.post_id, &legs).await?;
                Ok(())
            });
            match refunded {
                Ok(()) => return Ok(Outcome::New(self.get(id).await?)),
                Err(Refusal::Error(PostError::Conflict(_))) => continue,
                Err(refusal) => {
                    let held =
                        doc! { "_id": &record.id, "state": PurchaseState::Refunding, "lease_until": lease };
                    let back = doc! { "$set": { "state": PurchaseState::Active, "lease_until": null } };
                    self.records.update_one(held, back).await?;
                    return Err(match refusal {
                        Refusal::Short(_) => PostError::Conflict(
                            "The creator's earnings no longer cover their share of this sale (paid out); it cannot be refunded.",
                        ),
                        Refusal::Error(err) => err,
                    });
                }
            }
        }
        Err(attempts.exhausted())
    }

    /// Clears `creator_id`'s pending shares whose clearing period is over
    /// into their earnings, each once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear_due(&self, creator_id: &UserId) -> Result<(), PostError> {
        let due = doc! { "creator_id": creator_id, "pending": true, "state": PurchaseState::Active, "clears_at": { "$lte": DateTime::now() } };
        if self.records.find_one(due.clone()).await?.is_none() {
            return Ok(()); // the common case, without waiting at the gate
        }
        let _passage = self.gate.enter().await;
        let records: Vec<PurchaseRecord> = self.records.find(due).await?.try_collect().await?;
        for record in records {
            let legs = [
                Leg::debit(
                    Account::PendingEarnings(creator_id.clone()),
                    record.share_cents(),
                    LedgerKind::Cleared,
                ),
                Leg::credit(Account::Earnings(creator_id.clone()), record.share_cents(), LedgerKind::Cleared),
            ];
            let operation = format!("{}:cleared", record.id);
            let mut attempts = Attempts::new(&self.client);
            let cleared = transaction!(attempts, |session| {
                let still = doc! { "_id": &record.id, "pending": true, "state": PurchaseState::Active };
                let moved = doc! { "$set": { "pending": false } };
                if self.records.update_one(still, moved).session(&mut *session).await?.matched_count == 0 {
                    return Err(Stop::Refuse(PostError::Duplicate));
                }
                self.ledger.post(session, &operation, &record.post_id, &legs).await?;
                Ok(())
            });
            match cleared {
                Ok(()) | Err(Refusal::Error(PostError::Duplicate)) => {}
                Err(refusal) => return Err(refusal.into()),
            }
        }
        Ok(())
    }

    /// `buyer_id`'s purchases still granting photos that were made at or
    /// after `since`, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn active_since(
        &self,
        buyer_id: &UserId,
        since: DateTime,
    ) -> anyhow::Result<Vec<PurchaseRecord>> {
        let filter =
            doc! { "buyer_id": buyer_id, "state": PurchaseState::Active, "created_at": { "$gte": since } };
        Ok(self.records.find(filter).sort(doc! { "created_at": -1 }).await?.try_collect().await?)
    }

    /// Ends purchase `record` (a lost dispute) inside the caller's
    /// transaction: its entitlement goes and it no longer clears. `false`
    /// when it was no longer active.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn revoke_in(
        &self,
        session: &mut mongodb::ClientSession,
        record: &PurchaseRecord,
    ) -> Result<bool, Stop> {
        let active = doc! { "_id": &record.id, "state": PurchaseState::Active, "pending": where_pending(record.pending) };
        let revoked = doc! { "$set": { "state": PurchaseState::Revoked, "refunded_at": DateTime::now(), "refunded_by": "card dispute" } };
        if self.records.update_one(active, revoked).session(&mut *session).await?.matched_count == 0 {
            return Ok(false);
        }
        let slot_id = slot(&record.buyer_id, &record.post_id);
        self.entitlements
            .delete_one(doc! { "_id": slot_id, "purchase_id": &record.id })
            .session(&mut *session)
            .await?;
        Ok(true)
    }
}

enum Hold {
    Held,
    /// Bought already, by this purchase.
    Taken(PurchaseId),
    /// Another request holds it for now.
    Busy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_rounds_down_and_the_share_is_the_rest() {
        assert_eq!(fee_of(1000, 0), 0);
        assert_eq!(fee_of(1000, 1000), 100, "10 %");
        assert_eq!(fee_of(999, 1000), 99, "99.9 rounds down");
        assert_eq!(fee_of(1, 2500), 0, "a cent is never split");
        assert_eq!(fee_of(1000, 10_000), 1000, "100 %");
    }
}
