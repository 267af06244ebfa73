//! Subscriptions paid by card, billed by the provider (Stripe Billing).
//!
//! Stripe runs the schedule and charges each period; its signed events
//! move ours: `invoice.paid` (or `invoice.payment_succeeded`) records the
//! period's charge — once per invoice, by a unique charge key — and moves
//! the subscription on; `invoice.payment_failed` opens the grace period
//! (access until `grace_until`, then our renewal worker cancels it at the
//! provider and ends it); `customer.subscription.updated` and `.deleted`
//! mirror a cancellation or an end made at the provider. Moving tier is
//! at once, either way, and the provider prorates it on the next invoice.

use common::ids::{SubscriptionId, UserId};
use mongodb::bson::{DateTime, doc};

use crate::error::PostError;
use crate::money::billing::{Invoice, ProviderSubscription};
use crate::money::stripe::{ProviderError, Stripe};
use crate::money::subscriptions::store::{CardBilling, ChargeRecord, SubscriptionRecord, SubscriptionState};
use crate::money::subscriptions::tiers::TierRecord;
use crate::money::subscriptions::{
    Along, Interval, Payer, Subscribed, Subscriptions, TierId, offer, subscribed,
};
use crate::money::topups::Applied;
use crate::money::txn::Refusal;
use crate::money::{OutflowId, ProviderId};

impl From<ProviderError> for PostError {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Declined(message) => PostError::CardDeclined(message),
            ProviderError::Rejected(_) => PostError::ProviderRefused,
            ProviderError::NotSent | ProviderError::Busy | ProviderError::Unknown => {
                PostError::Unavailable("the payment provider")
            }
        }
    }
}

fn at_unix(seconds: i64) -> DateTime {
    DateTime::from_millis(seconds.saturating_mul(1000))
}

/// What `subscribe_by_card` asks for.
pub struct CardOrder<'a> {
    pub tier: &'a TierRecord,
    pub interval: Interval,
    pub trial: bool,
    /// The card (`pm_…`) the subscriber pays with from now on.
    pub payment_method: &'a ProviderId,
}

impl Subscriptions {
    fn billing(&self) -> Result<&Stripe, PostError> {
        self.stripe.as_deref().ok_or(PostError::PaymentsOff)
    }

    /// Subscribes `subscriber` by card: the provider charges the first
    /// period now (or begins the trial) and every period after. The pair's
    /// live subscription when there is one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn subscribe_by_card(
        &self,
        subscriber: &UserId,
        order: CardOrder<'_>,
    ) -> Result<Subscribed, PostError> {
        let stripe = self.billing()?;
        let tier = order.tier;
        let (price, trial_days) = offer(subscriber, tier, order.interval, order.trial)?;
        let id = SubscriptionId::mint();
        {
            let _passage = self.gate.enter().await;
            if let Some(live) = self.hold_place(subscriber, tier, &id).await? {
                return Ok(Subscribed::Existing(live));
            }
        }
        let trial_taken = match trial_days {
            Some(_) => self.store.take_trial(subscriber, &tier.creator_id, self.now()).await?,
            None => false,
        };
        if trial_days.is_some() && !trial_taken {
            self.let_go(subscriber, tier, &id).await?;
            return Err(PostError::Conflict("You have had your trial of this creator."));
        }
        let begun = self.begin_by_card(stripe, subscriber, &order, price, trial_days, &id).await;
        if begun.is_err() {
            self.let_go(subscriber, tier, &id).await?;
            if trial_taken {
                self.store.give_back_trial(subscriber, &tier.creator_id).await?;
            }
        }
        begun.map(Subscribed::New)
    }

    /// The provider's customer, plan and subscription for ours. Once the
    /// provider has made it, ours is not given up: whatever fails after
    /// that is completed by the provider's events.
    async fn begin_by_card(
        &self,
        stripe: &Stripe,
        subscriber: &UserId,
        order: &CardOrder<'_>,
        price: i64,
        trial_days: Option<i64>,
        id: &SubscriptionId,
    ) -> Result<SubscriptionRecord, PostError> {
        let (tier, now) = (order.tier, self.now());
        let card = order.payment_method.as_str();
        let customer = match self.store.customer_of(subscriber).await? {
            Some(customer) => customer,
            None => {
                let made = stripe.create_customer(subscriber, card, &format!("customer:{id}")).await?;
                self.store.keep_customer(subscriber, made).await?
            }
        };
        // A kept customer (or one that won a race) takes this card as its default.
        stripe.set_default_card(&customer, card).await?;
        let plan = stripe.plan(&tier.id, &tier.name, order.interval, price, &self.currency).await?;
        let promotion = self.promote(stripe, tier, &customer, price, id, now).await?;
        let record = SubscriptionRecord {
            state: SubscriptionState::Incomplete,
            card: Some(CardBilling { customer: customer.clone(), subscription: None }),
            ..SubscriptionRecord::starting(id.clone(), subscriber, tier, order.interval, price, now)
        };
        if let Err(err) = self.store.records.insert_one(&record).await {
            self.withdraw(stripe, &tier.id, promotion).await?;
            return Err(anyhow::Error::from(err).into());
        }
        let made = match stripe.create_subscription(&record, &customer, &plan, trial_days).await {
            Ok(made) => made,
            // It may have been made: its events will complete ours.
            Err(ProviderError::Unknown) => return Ok(record),
            Err(err) => {
                self.give_up(stripe, &record, promotion).await?;
                return Err(err.into());
            }
        };
        if made.status != "trialing" && made.status != "active" {
            // Its first payment needs the cardholder (3-D Secure): not taken here.
            stripe.cancel_subscription(&made.id).await?;
            self.give_up(stripe, &record, promotion).await?;
            return Err(PostError::CardDeclined("This card needs confirming by its holder.".into()));
        }
        if let Err(err) = self.follow_up(stripe, id, &made, now).await {
            tracing::warn!(subscription_id = %id, error = %err, "a card subscription waits for the provider's events");
        }
        Ok(self.store.get(id).await.unwrap_or(record))
    }

    /// Ends `record`, which the provider never began, and gives its promotion back.
    async fn give_up(
        &self,
        stripe: &Stripe,
        record: &SubscriptionRecord,
        promotion: Option<ProviderId>,
    ) -> Result<(), PostError> {
        self.store.mark_ended(record, self.now()).await?;
        self.withdraw(stripe, &record.tier_id, promotion).await
    }

    /// Records what the provider made: its id, and its trial or first payment.
    async fn follow_up(
        &self,
        stripe: &Stripe,
        id: &SubscriptionId,
        made: &ProviderSubscription,
        now: DateTime,
    ) -> Result<(), PostError> {
        self.store.link_provider(id, &made.id).await?;
        match (made.status.as_str(), &made.latest_invoice) {
            ("trialing", _) => self.begin_trial(id, made.trial_end.map_or(now, at_unix)).await?,
            (_, Some(invoice)) => {
                self.on_invoice_paid(&stripe.invoice(invoice).await?).await?;
            }
            (_, None) => {}
        }
        Ok(())
    }

    /// Redeems `tier`'s promotion, if it has one running, as a credit the
    /// provider takes off the first paid invoice (the same amount off as
    /// from the wallet); answers the credit.
    async fn promote(
        &self,
        stripe: &Stripe,
        tier: &TierRecord,
        customer: &ProviderId,
        price: i64,
        id: &SubscriptionId,
        now: DateTime,
    ) -> Result<Option<ProviderId>, PostError> {
        let Some(percent_off) = self.tiers.redeem(tier, now).await? else { return Ok(None) };
        let off = price - price * (100 - percent_off) / 100;
        match stripe.credit(customer, off, &self.currency, &format!("{id}:promotion")).await {
            Ok(item) => Ok(Some(item)),
            Err(err) => {
                self.tiers.unredeem(&tier.id).await?;
                Err(err.into())
            }
        }
    }

    /// Gives back a promotion no subscription took.
    async fn withdraw(
        &self,
        stripe: &Stripe,
        tier: &TierId,
        credit: Option<ProviderId>,
    ) -> Result<(), PostError> {
        let Some(item) = credit else { return Ok(()) };
        if let Err(err) = stripe.drop_credit(&item).await {
            // Left pending, it would come off this customer's next invoice: an operator removes it.
            tracing::error!(invoice_item = %item, error = ?err, "a promotion's credit could not be withdrawn");
        }
        self.tiers.unredeem(tier).await?;
        Ok(())
    }

    /// Our subscription the provider's `subscription` is, linked on first sight
    /// by the id we gave it (`metadata.subscription_id`).
    async fn card_record(
        &self,
        subscription: &ProviderId,
        named: Option<&String>,
    ) -> Result<Option<SubscriptionRecord>, PostError> {
        if let Some(record) = self.store.by_provider(subscription).await? {
            return Ok(Some(record));
        }
        let named = match named {
            Some(named) => named.clone(),
            None => {
                let held = self.billing()?.subscription(subscription).await;
                match held {
                    Ok(held) => held.metadata.get("subscription_id").cloned().unwrap_or_default(),
                    Err(ProviderError::Rejected(_)) => return Ok(None),
                    Err(err) => return Err(err.into()),
                }
            }
        };
        let Ok(id) = SubscriptionId::parse(&named) else { return Ok(None) };
        match self.store.get(&id).await {
            Ok(record) if record.card.as_ref().is_some_and(|card| card.subscription.is_none()) => {
                self.store.link_provider(&id, subscription).await?;
                Ok(Some(self.store.get(&id).await?))
            }
            Ok(_) | Err(PostError::SubscriptionNotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A paid invoice: the period's charge, recorded once, and the
    /// subscription moved to the period it pays for. `None`: not ours.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn on_invoice_paid(&self, invoice: &Invoice) -> Result<Option<Applied>, PostError> {
        let Some(provider) = invoice.subscription() else { return Ok(None) };
        let Some(record) = self.card_record(&provider, None).await? else { return Ok(None) };
        if invoice.currency != self.currency || invoice.status.as_deref() != Some("paid") {
            tracing::warn!(invoice_id = %invoice.id, "an invoice event is not a paid invoice in our currency");
            return Err(PostError::UnknownPayment("The invoice is not paid, or not in our currency.".into()));
        }
        let _passage = self.gate.enter().await;
        let record = self.store.get(&record.id).await?;
        let (start, end) = invoice.period();
        let (start, end) = (at_unix(start), at_unix(end));
        let live =
            record.state == SubscriptionState::Incomplete || SubscriptionState::LIVE.contains(&record.state);
        let period = match record.state {
            SubscriptionState::Incomplete => 0,
            _ if live && start > record.period_start => record.period + 1,
            _ => record.period, // a proration within the period, or money after the end
        };
        if !live {
            tracing::error!(subscription_id = %record.id, invoice_id = %invoice.id, "an invoice was paid for an ended subscription; recorded for an operator to refund");
        }
        let moves = live && (record.state == SubscriptionState::Incomplete || period != record.period);
        let advance = doc! { "$set": {
            "state": SubscriptionState::Active,
            "period": period,
            "period_start": start,
            "period_end": end,
            "grace_until": null,
        } };
        if invoice.amount_paid == 0 {
            if moves {
                self.store
                    .records
                    .update_one(doc! { "_id": &record.id, "period": record.period }, advance)
                    .await?;
            }
            return Ok(Some(if moves { Applied::Applied } else { Applied::Duplicate }));
        }
        let key = ChargeRecord::invoice_key(&record.id, &invoice.id);
        let payer = Payer::Card { invoice: invoice.id.clone(), intent: invoice.payment_intent.clone() };
        let along = if moves { Along::Switch(advance) } else { Along::Nothing };
        match self.charge(&record, key, period, invoice.amount_paid, payer, along).await {
            Ok(()) => {
                tracing::info!(subscription_id = %record.id, period, amount_cents = invoice.amount_paid, "card period paid");
                Ok(Some(Applied::Applied))
            }
            Err(Refusal::Error(PostError::Duplicate)) => Ok(Some(Applied::Duplicate)),
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// A failed invoice: the grace period begins (once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn on_invoice_failed(&self, invoice: &Invoice) -> Result<Option<Applied>, PostError> {
        let Some(provider) = invoice.subscription() else { return Ok(None) };
        let Some(record) = self.card_record(&provider, None).await? else { return Ok(None) };
        let _passage = self.gate.enter().await;
        let grace_until = super::after(self.now(), self.grace);
        Ok(Some(match self.store.fall_due(&record.id, grace_until).await? {
            true => Applied::Applied,
            false => Applied::Duplicate,
        }))
    }

    /// The provider's subscription changed: a cancellation set or withdrawn
    /// there, or its end.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn on_provider_subscription(
        &self,
        held: &ProviderSubscription,
        deleted: bool,
    ) -> Result<Option<Applied>, PostError> {
        let named = held.metadata.get("subscription_id");
        let Some(record) = self.card_record(&held.id, named).await? else { return Ok(None) };
        let _passage = self.gate.enter().await;
        let record = self.store.get(&record.id).await?;
        let open =
            record.state == SubscriptionState::Incomplete || SubscriptionState::LIVE.contains(&record.state);
        if !open {
            return Ok(Some(Applied::Duplicate));
        }
        if deleted || held.ended() {
            self.end(&record, self.now()).await?;
            return Ok(Some(Applied::Applied));
        }
        if held.status == "trialing" && record.state == SubscriptionState::Incomplete {
            self.begin_trial(&record.id, held.trial_end.map_or(self.now(), at_unix)).await?;
            return Ok(Some(Applied::Applied));
        }
        if record.cancel_at_period_end == held.cancel_at_period_end {
            return Ok(Some(Applied::Duplicate));
        }
        self.store.set_cancel(&record, held.cancel_at_period_end).await?;
        Ok(Some(Applied::Applied))
    }

    /// The provider began `id` with a trial until `end`: it is live, and
    /// the creator hears of a new subscriber.
    async fn begin_trial(&self, id: &SubscriptionId, end: DateTime) -> Result<(), PostError> {
        let record = self.store.get(id).await?;
        let mut staged = self.outbox.begin().await?;
        let began = self.store.begin_trial(staged.session(), id, end).await?;
        staged.commit(began.then(|| subscribed(&record))).await
    }

    /// Ends a card subscription at the provider, then here (the caller is in the gate).
    pub(super) async fn end_by_card(
        &self,
        record: &SubscriptionRecord,
        at: DateTime,
    ) -> Result<(), PostError> {
        self.stop_billing(record).await?;
        self.end(record, at).await
    }

    /// No more invoices for `record` (nothing to do for a wallet subscription).
    pub(super) async fn stop_billing(&self, record: &SubscriptionRecord) -> Result<(), PostError> {
        match record.card.as_ref().and_then(|card| card.subscription.as_ref()) {
            Some(provider) => Ok(self.billing()?.cancel_subscription(provider).await?),
            None => Ok(()),
        }
    }

    /// Tells the provider to end (or not) at the period's end.
    pub(super) async fn cancel_billing(
        &self,
        record: &SubscriptionRecord,
        cancel: bool,
    ) -> Result<(), PostError> {
        if let Some(provider) = record.card.as_ref().and_then(|card| card.subscription.as_ref()) {
            let key = format!("{}:cancel-{cancel}:{}", record.id, OutflowId::mint());
            self.billing()?.set_cancel_at_period_end(provider, cancel, &key).await?;
        }
        Ok(())
    }

    /// Moves a card subscription to `tier` now, either way; the provider
    /// prorates the rest of the period on the next invoice. The caller is
    /// in the gate and holds a place in `tier`.
    pub(super) async fn move_by_card(
        &self,
        record: &SubscriptionRecord,
        tier: &TierRecord,
        price: i64,
    ) -> Result<(), PostError> {
        let Some(provider) = record.card.as_ref().and_then(|card| card.subscription.as_ref()) else {
            return Err(PostError::Conflict(
                "The card subscription is not confirmed yet; try again shortly.",
            ));
        };
        let stripe = self.billing()?;
        let plan = stripe.plan(&tier.id, &tier.name, record.interval, price, &self.currency).await?;
        let key = format!("{}:plan:{plan}", record.id);
        stripe.change_plan(provider, &plan, &key).await?;
        let switch = doc! { "$set": { "tier_id": &tier.id, "rank": tier.rank, "price_cents": price } };
        self.store.records.update_one(doc! { "_id": &record.id, "period": record.period }, switch).await?;
        self.tiers.give_place(&record.tier_id).await?;
        Ok(())
    }
}
