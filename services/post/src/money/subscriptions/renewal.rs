//! Renewals: each round, every subscription whose period is over is taken
//! under a lease and either ended (cancelled at its period's end), charged
//! for its next period, or — when the wallet cannot cover it — given a
//! grace period, past which it lapses. A period is charged once however
//! many workers race (see the module above).

use std::time::Duration;

use mongodb::bson::{DateTime, doc};

use crate::error::PostError;
use crate::money::subscriptions::store::{ChargeRecord, SubscriptionRecord, SubscriptionState};
use crate::money::subscriptions::{Along, Payer, Subscriptions, after, subscription_ended};
use crate::money::txn::Refusal;

/// How long one renewal holds its subscription.
const LEASE: Duration = Duration::from_secs(60);
/// The most subscriptions one round takes on.
const ROUND: i64 = 200;

impl Subscriptions {
    /// Renews due subscriptions every `every`.
    pub fn start_worker(&self, workers: &common::shutdown::Workers, every: Duration) {
        let subscriptions = self.clone();
        workers.spawn("subscription renewals", async move {
            loop {
                if let Err(err) = subscriptions.renew_due().await {
                    tracing::warn!(error = %err, "renewals unavailable; will retry");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// One round: how many subscriptions it moved.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn renew_due(&self) -> Result<usize, PostError> {
        let mut moved = 0;
        for record in self.store.due(self.now(), ROUND).await? {
            let _passage = self.gate.enter().await;
            if !self.store.lease(&record, after(self.now(), LEASE)).await? {
                continue; // another worker has it
            }
            let id = record.id.clone();
            match self.renew(record).await {
                Ok(()) => moved += 1,
                Err(err) => {
                    tracing::warn!(subscription_id = %id, error = %err, "renewal failed; will retry");
                    self.store
                        .records
                        .update_one(doc! { "_id": &id }, doc! { "$set": { "lease_until": null } })
                        .await?;
                }
            }
        }
        Ok(moved)
    }

    /// Moves `record` (leased, its period over) on. The caller is in the gate.
    async fn renew(&self, record: SubscriptionRecord) -> Result<(), PostError> {
        let now = self.now();
        if record.card.is_some() {
            // Due only to end: cancelled, or past its grace (the provider renews it).
            let at = if record.cancel_at_period_end { record.period_end } else { now };
            return self.end_by_card(&record, at).await;
        }
        if record.cancel_at_period_end {
            return self.end(&record, record.period_end).await;
        }
        let next = record.period + 1;
        // A move down takes effect now, at its price.
        let (tier_id, rank, price) = match &record.next_tier {
            Some(lower) => (&lower.tier_id, lower.rank, lower.price_cents),
            None => (&record.tier_id, record.rank, record.price_cents),
        };
        let amount = record.first_charge_cents.unwrap_or(price);
        let advance = doc! { "$set": {
            "state": SubscriptionState::Active,
            "period": next,
            "period_start": record.period_end,
            "period_end": after(record.period_end, record.interval.length()),
            "tier_id": tier_id,
            "rank": rank,
            "price_cents": price,
            "next_tier": null,
            "grace_until": null,
            "first_charge_cents": null,
            "lease_until": null,
        } };
        let key = ChargeRecord::key_of(&record.id, next);
        match self.charge(&record, key, next, amount, Payer::Wallet, Along::Switch(advance)).await {
            Ok(()) => {
                if record.next_tier.is_some() {
                    self.tiers.give_place(&record.tier_id).await?;
                }
                tracing::info!(subscription_id = %record.id, period = next, amount_cents = amount, "renewed");
                Ok(())
            }
            Err(Refusal::Short(_)) => {
                let grace_until = record.grace_until.unwrap_or_else(|| after(record.period_end, self.grace));
                if now >= grace_until {
                    tracing::info!(subscription_id = %record.id, "lapsed after its grace period");
                    return self.end(&record, now).await;
                }
                let past_due = doc! { "$set": { "state": SubscriptionState::PastDue, "grace_until": grace_until, "lease_until": null } };
                self.store
                    .records
                    .update_one(doc! { "_id": &record.id, "period": record.period }, past_due)
                    .await?;
                tracing::info!(subscription_id = %record.id, "renewal not covered; in its grace period");
                Ok(())
            }
            Err(Refusal::Error(err)) => Err(err),
        }
    }

    /// Ends `record` as of `at`: its posts close, its pair and place are free.
    pub(super) async fn end(&self, record: &SubscriptionRecord, at: DateTime) -> Result<(), PostError> {
        let ended =
            doc! { "$set": { "state": SubscriptionState::Ended, "ended_at": at, "lease_until": null } };
        let over = [SubscriptionState::Ended, SubscriptionState::Refunded];
        let open = doc! { "_id": &record.id, "period": record.period, "state": { "$nin": over.to_vec() } };
        let mut staged = self.outbox.begin().await?;
        let moved = self.store.records.update_one(open, ended).session(staged.session()).await?;
        staged.commit((moved.modified_count == 1).then(|| subscription_ended(record))).await?;
        self.ended(record).await?;
        Ok(())
    }
}
