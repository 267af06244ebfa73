//! Creators' subscriptions, paid from the wallet: tiers (`tiers`), the
//! subscriptions and their charges (`store`), and their renewals (`renewal`).
//!
//! Every period is charged once: its charge is `{subscription}:{period}`
//! and its ledger operation `subscription:{subscription}:{period}`, both
//! unique, written in the one transaction that moves the money and moves
//! the subscription on (a move up within a period is one more charge,
//! `…:upgrade-{rank}`); a renewal also holds its subscription under a
//! lease, so two workers (or replicas) meet at most at the unique ids. A
//! failed renewal opens a grace period (`POST_SUBSCRIPTION_GRACE`), charged
//! again each round; past it the subscription lapses. Shares clear like
//! sales (`POST_CLEARING_PERIOD`). The time is the service's [`Clock`], so
//! tests renew a month in a second.

pub mod cards;
pub mod renewal;
pub mod store;
pub mod tiers;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::clock::Clock;
use common::contract::media::Grant;
use common::ids::{SubscriptionId, UserId};
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Client, Database};

use crate::error::PostError;
use crate::money::ProviderId;
use crate::money::gate::MoneyGate;
use crate::money::ledger::{Account, Ledger, LedgerKind, Leg};
use crate::money::purchases::fee_of;
use crate::money::stored::stored_enum;
use crate::money::stripe::Stripe;
use crate::money::txn::{Attempts, Refusal, Stop, transaction};
use crate::notify::Event;
use crate::notify::outbox::Outbox;
use crate::posts::copies::Copies;
use store::{ChargeRecord, ChargeState, NextTier, Slotted, Store, SubscriptionRecord, SubscriptionState};
use tiers::{TierRecord, Tiers};

pub use common::ids::TierId;

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum Interval {
        Monthly,
        Yearly,
    }
}

impl Interval {
    /// A period's length: a month is 30 days, a year 365.
    pub fn length(self) -> Duration {
        match self {
            Interval::Monthly => Duration::from_secs(30 * 24 * 3600),
            Interval::Yearly => Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// The settings subscriptions run with.
pub struct Terms {
    pub fee_bps: u64,
    pub clearing: Duration,
    pub grace: Duration,
    pub clock: Clock,
    /// Where ended subscriptions' copies are released.
    pub copies: Copies,
    /// The provider that bills card subscriptions (none: wallet only).
    pub stripe: Option<Arc<Stripe>>,
    pub currency: String,
    /// Where creators hear of subscribers coming and going.
    pub outbox: Outbox,
}

#[derive(Clone)]
pub struct Subscriptions {
    client: Client,
    pub tiers: Tiers,
    pub store: Store,
    ledger: Ledger,
    gate: MoneyGate,
    fee_bps: i64,
    clearing: Duration,
    grace: Duration,
    clock: Clock,
    copies: Copies,
    stripe: Option<Arc<Stripe>>,
    currency: String,
    outbox: Outbox,
}

/// A new subscription, or the pair's live one.
pub enum Subscribed {
    New(SubscriptionRecord),
    Existing(SubscriptionRecord),
}

/// Who pays a charge: the subscriber's wallet, or their card (an invoice
/// the provider charged).
enum Payer {
    Wallet,
    Card { invoice: ProviderId, intent: Option<ProviderId> },
}

/// What a charge's transaction also writes: the new subscription, the
/// move of an existing one to its next period, or nothing.
enum Along<'a> {
    Nothing,
    Insert(&'a SubscriptionRecord),
    /// An update of the subscription as it was read (its period unchanged).
    Switch(Document),
}

/// The price and trial of subscribing `subscriber` to `tier`, or why not.
fn offer(
    subscriber: &UserId,
    tier: &TierRecord,
    interval: Interval,
    trial: bool,
) -> Result<(i64, Option<i64>), PostError> {
    if tier.creator_id == *subscriber {
        return Err(PostError::Conflict("You cannot subscribe to yourself."));
    }
    if tier.retired {
        return Err(PostError::Conflict("This tier takes no new subscribers."));
    }
    let price =
        tier.price(interval).ok_or_else(|| PostError::invalid("interval", "this tier has no such price"))?;
    let trial_days = match (trial, tier.trial_days) {
        (false, _) => None,
        (true, Some(days)) => Some(days),
        (true, None) => return Err(PostError::invalid("trial", "this tier offers no trial")),
    };
    Ok((price, trial_days))
}

/// What a creator hears when `record` begins.
pub(super) fn subscribed(record: &SubscriptionRecord) -> Event {
    Event::Subscribed {
        creator: record.creator_id.clone(),
        subscriber: record.subscriber_id.clone(),
        tier: record.tier_id.clone(),
    }
}

/// What a creator hears when `record` ends.
pub(super) fn subscription_ended(record: &SubscriptionRecord) -> Event {
    Event::SubscriptionEnded {
        creator: record.creator_id.clone(),
        subscriber: record.subscriber_id.clone(),
        tier: record.tier_id.clone(),
    }
}

pub(crate) fn after(time: DateTime, length: Duration) -> DateTime {
    DateTime::from_system_time(time.to_system_time() + length)
}

impl Subscriptions {
    pub async fn new(db: &Database, ledger: Ledger, gate: MoneyGate, terms: Terms) -> anyhow::Result<Self> {
        Ok(Self {
            client: db.client().clone(),
            tiers: Tiers::new(db).await?,
            store: Store::new(db).await?,
            ledger,
            gate,
            fee_bps: i64::try_from(terms.fee_bps)?,
            clearing: terms.clearing,
            grace: terms.grace,
            clock: terms.clock,
            copies: terms.copies,
            stripe: terms.stripe,
            currency: terms.currency,
            outbox: terms.outbox,
        })
    }

    pub fn now(&self) -> DateTime {
        DateTime::from_system_time(self.clock.now())
    }

    /// Subscribes `subscriber` to `tier` for `interval`, paying the first
    /// period from the wallet now (after the trial, with one). The pair's
    /// live subscription when there is one: subscribing twice is once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn subscribe(
        &self,
        subscriber: &UserId,
        tier: &TierRecord,
        interval: Interval,
        trial: bool,
    ) -> Result<Subscribed, PostError> {
        let (price, trial_days) = offer(subscriber, tier, interval, trial)?;
        let _passage = self.gate.enter().await;
        let id = SubscriptionId::mint();
        if let Some(live) = self.hold_place(subscriber, tier, &id).await? {
            return Ok(Subscribed::Existing(live));
        }
        let begun = self.begin(subscriber, tier, interval, price, trial_days, id.clone()).await;
        if begun.is_err() {
            self.let_go(subscriber, tier, &id).await?;
        }
        begun.map(Subscribed::New)
    }

    /// Frees what [`Subscriptions::hold_place`] held for a subscription that never began.
    async fn let_go(
        &self,
        subscriber: &UserId,
        tier: &TierRecord,
        id: &SubscriptionId,
    ) -> Result<(), PostError> {
        self.tiers.give_place(&tier.id).await?;
        self.store.free_slot(subscriber, &tier.creator_id, id).await?;
        Ok(())
    }

    /// Holds the pair's slot and a place in `tier` for subscription `id`;
    /// the pair's live subscription instead when it has one.
    async fn hold_place(
        &self,
        subscriber: &UserId,
        tier: &TierRecord,
        id: &SubscriptionId,
    ) -> Result<Option<SubscriptionRecord>, PostError> {
        if let Slotted::Held(live) = self.store.take_slot(subscriber, &tier.creator_id, id).await? {
            return Ok(Some(self.store.get(&live).await?));
        }
        if !self.tiers.take_place(tier).await? {
            self.store.free_slot(subscriber, &tier.creator_id, id).await?;
            return Err(PostError::Conflict("This tier is full."));
        }
        Ok(None)
    }

    /// The subscription, its trial or first charge (the slot and a place held).
    async fn begin(
        &self,
        subscriber: &UserId,
        tier: &TierRecord,
        interval: Interval,
        price: i64,
        trial_days: Option<i64>,
        id: SubscriptionId,
    ) -> Result<SubscriptionRecord, PostError> {
        let now = self.now();
        if trial_days.is_some() && !self.store.take_trial(subscriber, &tier.creator_id, now).await? {
            return Err(PostError::Conflict("You have had your trial of this creator."));
        }
        let percent_off = self.tiers.redeem(tier, now).await?;
        let first = percent_off.map_or(price, |off| price * (100 - off) / 100);
        let days = |n: i64| Duration::from_secs(u64::try_from(n).unwrap_or(0) * 24 * 3600);
        let record = SubscriptionRecord {
            first_charge_cents: trial_days.map(|_| first),
            state: if trial_days.is_some() { SubscriptionState::Trialing } else { SubscriptionState::Active },
            period_end: after(now, trial_days.map_or(interval.length(), days)),
            ..SubscriptionRecord::starting(id, subscriber, tier, interval, price, now)
        };
        if trial_days.is_some() {
            self.outbox.insert_with(&self.store.records, &record, [subscribed(&record)]).await?;
            return Ok(record);
        }
        let key = ChargeRecord::key_of(&record.id, 0);
        match self.charge(&record, key, 0, first, Payer::Wallet, Along::Insert(&record)).await {
            Ok(()) => Ok(record),
            Err(refusal) => {
                if percent_off.is_some() {
                    self.tiers.unredeem(&tier.id).await?;
                }
                Err(self.refused(refusal, subscriber, first).await)
            }
        }
    }

    /// A refused charge as the client hears it.
    async fn refused(&self, refusal: Refusal, subscriber: &UserId, amount: i64) -> PostError {
        match refusal {
            Refusal::Short(_) => {
                let balance = self.ledger.balance(&Account::Wallet(subscriber.clone())).await;
                match balance {
                    Ok(balance_cents) => PostError::InsufficientFunds {
                        balance_cents,
                        price_cents: u64::try_from(amount).unwrap_or(0),
                    },
                    Err(err) => err.into(),
                }
            }
            Refusal::Error(err) => err,
        }
    }

    /// Charges `amount` for `record`'s period `period` (as charge `key`)
    /// to `payer`, and writes `along` in the same transaction. The caller
    /// is in the gate.
    async fn charge(
        &self,
        record: &SubscriptionRecord,
        key: String,
        period: i64,
        amount: i64,
        payer: Payer,
        along: Along<'_>,
    ) -> Result<(), Refusal> {
        let now = self.now();
        let fee = fee_of(amount, self.fee_bps);
        let charge = ChargeRecord {
            key,
            subscription_id: record.id.clone(),
            subscriber_id: record.subscriber_id.clone(),
            creator_id: record.creator_id.clone(),
            period,
            amount_cents: amount,
            fee_cents: fee,
            state: ChargeState::Paid,
            pending: true,
            clears_at: after(now, self.clearing),
            created_at: now,
            invoice: None,
            intent: None,
        };
        let (source, charge) = match payer {
            Payer::Wallet => {
                let wallet = Account::Wallet(record.subscriber_id.clone());
                (Leg::covered_debit(wallet, amount, LedgerKind::Subscription), charge)
            }
            Payer::Card { invoice, intent } => (
                Leg::debit(Account::Cards, amount, LedgerKind::Subscription),
                ChargeRecord { invoice: Some(invoice), intent, ..charge },
            ),
        };
        let legs = [
            source,
            Leg::credit(Account::PendingEarnings(record.creator_id.clone()), amount - fee, LedgerKind::Sale),
            Leg::credit(Account::Platform, fee, LedgerKind::Fee),
        ];
        let operation = charge.operation();
        // A first charge (by card: the provider's first word) begins the subscription.
        let begins = match &along {
            Along::Insert(_) => true,
            Along::Switch(_) => record.state == SubscriptionState::Incomplete,
            Along::Nothing => false,
        };
        let mut attempts = Attempts::new(&self.client);
        let charged = transaction!(attempts, |session| {
            match self.store.charges.insert_one(&charge).session(&mut *session).await {
                Err(err) if common::mongo::is_duplicate_key(&err) => {
                    return Err(Stop::Refuse(PostError::Duplicate));
                }
                inserted => inserted?,
            };
            self.ledger.post(session, &operation, &record.tier_id, &legs).await?;
            match &along {
                Along::Nothing => {}
                Along::Insert(new) => {
                    self.store.records.insert_one(*new).session(&mut *session).await?;
                }
                Along::Switch(update) => {
                    let as_read = doc! { "_id": &record.id, "period": record.period };
                    let moved =
                        self.store.records.update_one(as_read, update.clone()).session(&mut *session).await?;
                    if moved.matched_count == 0 {
                        return Err(Stop::Refuse(PostError::Conflict("the subscription moved on")));
                    }
                }
            }
            if begins {
                self.outbox.stage(session, subscribed(record)).await?;
            }
            Ok(())
        });
        if charged.is_ok() && begins {
            self.outbox.wake();
        }
        charged
    }

    /// The subscriptions `subscriber` holds that open any of `creators`' posts now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn opening(
        &self,
        subscriber: &UserId,
        creators: &[&UserId],
    ) -> Result<HashMap<UserId, SubscriptionRecord>, PostError> {
        let now = self.now();
        let mut live = self.store.live_to(subscriber, creators).await?;
        live.retain(|_, record| record.opens(now));
        Ok(live)
    }

    /// `subscriber`'s subscription `id`, while it is live (the caller is in the gate).
    async fn live_of(
        &self,
        id: &SubscriptionId,
        subscriber: &UserId,
    ) -> Result<SubscriptionRecord, PostError> {
        let record = self.store.get(id).await?;
        if record.subscriber_id != *subscriber {
            return Err(PostError::SubscriptionNotFound);
        }
        if !SubscriptionState::LIVE.contains(&record.state) {
            return Err(PostError::Conflict("This subscription has ended."));
        }
        Ok(record)
    }

    /// The subscriber's word: end at the period's end (`cancel`), or go on (resume).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_cancelled(
        &self,
        id: &SubscriptionId,
        subscriber: &UserId,
        cancel: bool,
    ) -> Result<SubscriptionRecord, PostError> {
        let _passage = self.gate.enter().await;
        let record = self.live_of(id, subscriber).await?;
        self.cancel_billing(&record, cancel).await?;
        self.store.set_cancel(&record, cancel).await?;
        self.store.get(id).await
    }

    /// Refunds the current period (the creator or an admin): the subscriber
    /// gets it back in the wallet (a card's charges then go back to the
    /// card, [`crate::money::Money::refund_subscription`]), the creator's
    /// share and the fee go back, and the subscription ends now (and its
    /// card billing). Refused (409) when the creator's earnings no longer
    /// hold the share. Answers the charges it refunded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refund(
        &self,
        id: &SubscriptionId,
        by: &UserId,
        admin: bool,
    ) -> Result<(SubscriptionRecord, Vec<ChargeRecord>), PostError> {
        let _passage = self.gate.enter().await;
        let record = self.store.get(id).await?;
        if record.creator_id != *by && !admin {
            return Err(PostError::Forbidden("Only the creator or an admin can refund a subscription."));
        }
        match record.state {
            SubscriptionState::Refunded => return Ok((record, Vec::new())),
            SubscriptionState::Ended | SubscriptionState::Incomplete => {
                return Err(PostError::Conflict("This subscription has ended."));
            }
            _ => {}
        }
        let now = self.now();
        let ended =
            doc! { "$set": { "state": SubscriptionState::Refunded, "ended_at": now, "lease_until": null } };
        let live = doc! { "_id": &record.id, "state": record.state };
        // The period's charges (none in a trial), each reversed by its own operation.
        let charges = self.store.paid_in(&record.id, record.period).await?;
        let mut attempts = Attempts::new(&self.client);
        let refunded = transaction!(attempts, |session| {
            for charge in &charges {
                let share = match charge.pending {
                    true => Account::PendingEarnings(record.creator_id.clone()),
                    false => Account::Earnings(record.creator_id.clone()),
                };
                let wallet = Account::Wallet(record.subscriber_id.clone());
                let legs = [
                    Leg::credit(wallet, charge.amount_cents, LedgerKind::Refund),
                    Leg::covered_debit(share, charge.share_cents(), LedgerKind::SaleReversal),
                    Leg::debit(Account::Platform, charge.fee_cents, LedgerKind::FeeReversal),
                ];
                let paid = doc! { "_id": &charge.key, "state": ChargeState::Paid, "pending": charge.pending };
                let back = doc! { "$set": { "state": ChargeState::Refunded } };
                if self.store.charges.update_one(paid, back).session(&mut *session).await?.matched_count == 0
                {
                    return Err(Stop::Refuse(PostError::Conflict("the charge moved on; try again")));
                }
                let operation = format!("{}:refund", charge.operation());
                self.ledger.post(session, &operation, &record.tier_id, &legs).await?;
            }
            self.store.records.update_one(live.clone(), ended.clone()).session(&mut *session).await?;
            self.outbox.stage(session, subscription_ended(&record)).await?;
            Ok(())
        });
        match refunded {
            Ok(()) => {
                self.outbox.wake();
                if let Err(err) = self.stop_billing(&record).await {
                    // Its next invoice, if the provider makes one, is recorded for an operator.
                    tracing::error!(subscription_id = %record.id, error = %err, "a refunded card subscription's billing could not be stopped");
                }
                Ok((self.ended(&record).await?, charges))
            }
            Err(Refusal::Short(_)) => Err(PostError::Conflict(
                "The creator's earnings no longer cover their share of this period (paid out); it cannot be refunded.",
            )),
            Err(Refusal::Error(err)) => Err(err),
        }
    }

    /// After `record` ended: its pair and its tier's place (and a lower
    /// one held for a move down) are free again.
    async fn ended(&self, record: &SubscriptionRecord) -> Result<SubscriptionRecord, PostError> {
        self.store.free_slot(&record.subscriber_id, &record.creator_id, &record.id).await?;
        self.copies.release(record.subscriber_id.clone(), Grant::Subscription(record.id.clone()));
        self.tiers.give_place(&record.tier_id).await?;
        if let Some(next) = &record.next_tier {
            self.tiers.give_place(&next.tier_id).await?;
        }
        self.store.get(&record.id).await
    }

    /// Moves a subscription to another tier of its creator. Up: at once,
    /// paying now the difference in price for what is left of the period
    /// (rounded down to the cent); the period's end stays. Down: at the
    /// period's end, from when the lower price is charged; until then the
    /// higher tier stays open. Moving back to the current tier drops a move
    /// down still to come.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_tier(
        &self,
        id: &SubscriptionId,
        subscriber: &UserId,
        tier: &TierRecord,
    ) -> Result<SubscriptionRecord, PostError> {
        let _passage = self.gate.enter().await;
        let record = self.live_of(id, subscriber).await?;
        if tier.creator_id != record.creator_id {
            return Err(PostError::invalid("tier_id", "is another creator's tier"));
        }
        if tier.id == record.tier_id {
            if let Some(next) = &record.next_tier
                && self.store.set_next_tier(&record, None).await?
            {
                self.tiers.give_place(&next.tier_id).await?;
            }
            return self.store.get(id).await;
        }
        if tier.retired {
            return Err(PostError::Conflict("This tier takes no new subscribers."));
        }
        if record.next_tier.is_some() {
            return Err(PostError::Conflict(
                "A move down is already due; move back to the current tier first.",
            ));
        }
        let price = tier.price(record.interval).ok_or_else(|| {
            PostError::invalid("tier_id", "this tier has no price for the subscription's interval")
        })?;
        if !self.tiers.take_place(tier).await? {
            return Err(PostError::Conflict("This tier is full."));
        }
        let moved = match tier.rank > record.rank {
            _ if record.card.is_some() => self.move_by_card(&record, tier, price).await,
            true => self.move_up(&record, tier, price).await,
            false => {
                let next = NextTier { tier_id: tier.id.clone(), rank: tier.rank, price_cents: price };
                match self.store.set_next_tier(&record, Some(&next)).await? {
                    true => Ok(()),
                    false => Err(PostError::Conflict("The subscription moved on; try again.")),
                }
            }
        };
        match moved {
            Ok(()) => self.store.get(id).await,
            Err(err) => {
                self.tiers.give_place(&tier.id).await?;
                Err(err)
            }
        }
    }

    /// Up to `tier` now, for the prorated difference.
    async fn move_up(
        &self,
        record: &SubscriptionRecord,
        tier: &TierRecord,
        price: i64,
    ) -> Result<(), PostError> {
        let now = self.now().timestamp_millis();
        let (start, end) = (record.period_start.timestamp_millis(), record.period_end.timestamp_millis());
        let left = (end - now).clamp(0, (end - start).max(1));
        let amount = (price - record.price_cents).max(0) * left / (end - start).max(1);
        let key = ChargeRecord::upgrade_key(&record.id, record.period, tier.rank);
        let switch = doc! { "$set": { "tier_id": &tier.id, "rank": tier.rank, "price_cents": price } };
        match self.charge(record, key, record.period, amount, Payer::Wallet, Along::Switch(switch)).await {
            Ok(()) => {
                self.tiers.give_place(&record.tier_id).await?;
                Ok(())
            }
            Err(refusal) => Err(self.refused(refusal, &record.subscriber_id, amount).await),
        }
    }

    /// Clears `creator`'s subscription shares whose clearing period is over.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear_due(&self, creator: &UserId) -> Result<(), PostError> {
        let due = self.store.clearing(creator, self.now()).await?;
        if due.is_empty() {
            return Ok(());
        }
        let _passage = self.gate.enter().await;
        for charge in due {
            let legs = [
                Leg::debit(
                    Account::PendingEarnings(creator.clone()),
                    charge.share_cents(),
                    LedgerKind::Cleared,
                ),
                Leg::credit(Account::Earnings(creator.clone()), charge.share_cents(), LedgerKind::Cleared),
            ];
            let operation = format!("{}:cleared", charge.key);
            let mut attempts = Attempts::new(&self.client);
            let cleared = transaction!(attempts, |session| {
                let still = doc! { "_id": &charge.key, "pending": true, "state": ChargeState::Paid };
                let moved = doc! { "$set": { "pending": false } };
                if self.store.charges.update_one(still, moved).session(&mut *session).await?.matched_count
                    == 0
                {
                    return Err(Stop::Refuse(PostError::Duplicate));
                }
                self.ledger.post(session, &operation, &charge.subscription_id, &legs).await?;
                Ok(())
            });
            match cleared {
                Ok(()) | Err(Refusal::Error(PostError::Duplicate)) => {}
                Err(refusal) => return Err(refusal.into()),
            }
        }
        Ok(())
    }
}
