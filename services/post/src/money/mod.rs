//! Money: wallets, creators' earnings, the platform's fees, and every
//! movement between them and the outside world, in one double-entry ledger.
//!
//! - [`account`]: where money sits; [`ledger`]: balances, entries; [`txn`]: running transactions.
//! - [`purchases`]: buying a post and refunding it.
//! - [`topups`]: money in (cards through the provider; the dev top-up).
//! - [`outflows`]: money out (payouts of earnings, refunds to cards).
//! - [`disputes`]: card money that goes back anyway (disputes, dashboard refunds).
//! - [`creators`]: who may be paid out; [`limits`]: purchases and refunds per user and minute.
//! - [`stripe`]: the provider's API; [`webhook`]: its events.
//! - [`reconcile`]: whether the books agree.

pub mod account;
pub mod billing;
pub mod creators;
pub mod disputes;
pub mod gate;
pub mod ledger;
pub mod limits;
pub mod outflows;
pub mod purchases;
pub mod reconcile;
pub mod routes;
pub mod stored;
pub mod stripe;
pub mod subscriptions;
pub mod topups;
pub(crate) mod txn;
pub mod types;
pub mod webhook;

use std::sync::Arc;

use common::ids::{SubscriptionId, UserId};
use common::secrecy::SecretString;
use mongodb::Database;

use crate::config::Config;
use crate::error::PostError;
use crate::notify::outbox::Outbox;
use crate::posts::copies::Copies;
use ledger::{Account, Ledger, LedgerKind, Leg};
use subscriptions::store::SubscriptionRecord;
use txn::{Attempts, transaction};

pub use common::ids::PurchaseId;

common::uuid_id!(
    /// A card top-up.
    TopupId,
    "top-up id"
);
pub use common::ids::OutflowId;
common::opaque_id!(
    /// An object of the payment provider's: a PaymentIntent (`pi_…`), a
    /// payout (`po_…`), a refund (`re_…`), a dispute (`dp_…`), an event (`evt_…`).
    ProviderId,
    "payment provider id"
);

/// What needs the payment provider.
pub struct Payments {
    pub stripe: Arc<stripe::Stripe>,
    pub outflows: outflows::Outflows,
    pub webhook_secret: SecretString,
}

pub struct Money {
    client: mongodb::Client,
    /// One money operation at a time where the database needs it ([`gate`]).
    pub gate: gate::MoneyGate,
    pub ledger: Ledger,
    pub purchases: purchases::Purchases,
    pub topups: topups::Topups,
    /// Card money that went back: disputes, refunds made at the provider.
    pub reversals: disputes::Reversals,
    /// Who may be paid out.
    pub creators: creators::Creators,
    /// Purchases and refunds per user and minute.
    pub limits: limits::ActionLimits,
    /// Creators' tiers and their subscribers.
    pub subscriptions: subscriptions::Subscriptions,
    /// `None` without a provider: no card top-ups, card refunds or payouts.
    pub payments: Option<Payments>,
    pub currency: String,
}

impl Money {
    pub async fn new(db: &Database, config: &Config, copies: Copies, outbox: Outbox) -> anyhow::Result<Self> {
        let ledger = Ledger::new(db).await?;
        let gate = gate::MoneyGate::for_database(db).await?;
        let topups = topups::Topups::new(db, ledger.clone(), gate.clone()).await?;
        let payments = match &config.stripe {
            Some(settings) => {
                let stripe = Arc::new(stripe::Stripe::new(settings)?);
                let outflows = outflows::Outflows::new(
                    db,
                    ledger.clone(),
                    gate.clone(),
                    topups.clone(),
                    config.currency.clone(),
                    outflows::Providers { stripe: stripe.clone(), payouts: stripe.clone() },
                    outbox.clone(),
                )
                .await?;
                Some(Payments { stripe, outflows, webhook_secret: settings.webhook_secret.clone() })
            }
            None => None,
        };
        let purchases = purchases::Purchases::new(
            db,
            ledger.clone(),
            gate.clone(),
            config.fee_bps,
            config.clearing_period,
            outbox.clone(),
        )
        .await?;
        let terms = subscriptions::Terms {
            fee_bps: config.fee_bps,
            clearing: config.clearing_period,
            grace: config.subscription_grace,
            clock: config.clock.clone(),
            copies,
            stripe: payments.as_ref().map(|p| p.stripe.clone()),
            currency: config.currency.clone(),
            outbox,
        };
        let subscriptions =
            subscriptions::Subscriptions::new(db, ledger.clone(), gate.clone(), terms).await?;
        Ok(Self {
            client: db.client().clone(),
            subscriptions,
            reversals: disputes::Reversals::new(
                db,
                ledger.clone(),
                gate.clone(),
                purchases.clone(),
                topups.clone(),
            ),
            creators: creators::Creators::new(db, config.dev_creators_verified),
            limits: limits::ActionLimits::new(
                db,
                config.purchases_per_minute,
                config.refunds_per_minute,
                config.reports_per_minute,
            )
            .await?,
            purchases,
            topups,
            gate,
            ledger,
            payments,
            currency: config.currency.clone(),
        })
    }

    /// Clears `creator`'s shares of sales and subscriptions whose clearing
    /// period is over (on their next look or move: no worker wakes for it).
    pub async fn clear_due(&self, creator: &UserId) -> Result<(), PostError> {
        self.purchases.clear_due(creator).await?;
        self.subscriptions.clear_due(creator).await
    }

    pub fn payments(&self) -> Result<&Payments, PostError> {
        self.payments.as_ref().ok_or(PostError::PaymentsOff)
    }

    /// Refunds a subscription's current period ([`subscriptions::Subscriptions::refund`]):
    /// what a card paid then goes back to the card, from the wallet it was
    /// refunded into (it stays there when the card refund cannot start).
    pub async fn refund_subscription(
        &self,
        id: &SubscriptionId,
        by: &UserId,
        admin: bool,
    ) -> Result<SubscriptionRecord, PostError> {
        let (record, charges) = self.subscriptions.refund(id, by, admin).await?;
        let Some(payments) = &self.payments else { return Ok(record) };
        for charge in charges.iter().filter(|charge| charge.invoice.is_some()) {
            let key = format!("subscription:{}", charge.key);
            let request = outflows::OutflowRequest {
                kind: outflows::OutflowKind::CardRefund,
                user_id: &record.subscriber_id,
                amount_cents: charge.amount_cents,
                idempotency_key: &key,
                topup: None,
                intent_id: charge.intent.as_ref(),
            };
            if let Err(err) = payments.outflows.start(request).await {
                tracing::warn!(subscription_id = %record.id, error = %err, "a card subscription's refund stays in the wallet");
            }
        }
        Ok(record)
    }

    /// Moves earnings into the creator's own wallet, where they can buy with it.
    pub async fn move_earnings_to_wallet(
        &self,
        user_id: &UserId,
        amount_cents: i64,
    ) -> Result<(), PostError> {
        self.clear_due(user_id).await?;
        let _passage = self.gate.enter().await;
        let operation = format!("transfer-{}", OutflowId::mint());
        let earnings = Account::Earnings(user_id.to_owned());
        let legs = [
            Leg::covered_debit(earnings.clone(), amount_cents, LedgerKind::Transfer),
            Leg::credit(Account::Wallet(user_id.to_owned()), amount_cents, LedgerKind::Transfer),
        ];
        let mut attempts = Attempts::new(&self.client);
        let moved = transaction!(attempts, |session| {
            self.ledger.post(session, &operation, "earnings-to-wallet", &legs).await?;
            Ok(())
        });
        match moved {
            Ok(()) => Ok(()),
            Err(txn::Refusal::Short(_)) => {
                let balance_cents = self.ledger.balance(&earnings).await?;
                Err(PostError::NotCovered { balance_cents, amount_cents })
            }
            Err(txn::Refusal::Error(err)) => Err(err),
        }
    }
}
