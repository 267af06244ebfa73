//! Money out: creators' payouts of earnings, and wallet money refunded to
//! the card it came from.
//!
//! Both debit at once (one transaction: the debit, its ledger entries and a
//! `pending` record), then ask the provider with the record's id as the
//! idempotency key. The provider's answer — or later its webhook — moves the
//! record to `paid`, or to `failed`, which puts the money back in the same
//! transaction as the reversal's ledger entries. A provider that never got
//! the first request is a 503 with the money back; one that may have got it
//! is asked again, with the same key, by the outbox worker until it answers
//! — but only while the provider still remembers the key (Stripe keeps them
//! 24 hours): a retry after that could pay twice. An outflow still open when
//! its key's time runs out goes to `review`, the operators' queue
//! (`GET /v1/admin/outflows`), where an operator who has checked with the
//! provider settles it as paid or failed; a provider's event about it still
//! settles it too.

use std::time::Duration;

use common::backoff::Backoff;
use common::ids::UserId;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::OutflowId;
use crate::money::gate::MoneyGate;
use crate::money::ledger::{Account, Ledger, LedgerKind, Leg};
use crate::money::stored::stored_enum;
use crate::money::stripe::{OutgoingRequest, PayoutProvider, ProviderError, Stripe, Transfer};
use crate::money::topups::{Applied, TopupRecord, Topups};
use crate::money::txn::{self, Attempts, Refusal, Stop, transaction};
use crate::money::{ProviderId, TopupId};
use crate::notify::Event;
use crate::notify::outbox::Outbox;

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum OutflowKind {
        Payout,
        CardRefund,
    }
}

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum OutflowState {
        /// Debited; the provider has it, or will be asked again.
        Pending,
        /// The provider sent the money.
        Paid,
        /// The provider did not: the money is back where it came from.
        Failed,
        /// The provider never said, and its idempotency key is too old to ask
        /// again safely: an operator checks with the provider and settles it.
        Review,
    }
}

impl OutflowState {
    /// Debited, and not yet settled either way.
    pub const OPEN: [OutflowState; 2] = [OutflowState::Pending, OutflowState::Review];
    /// What the provider may still say failed: a payout the bank returns, or
    /// a card refund that bounces, fails after it was paid.
    pub const REVERSIBLE: [OutflowState; 3] =
        [OutflowState::Pending, OutflowState::Review, OutflowState::Paid];
}

/// How long the provider keeps an idempotency key (Stripe: at least 24
/// hours), less an hour's margin: no request for an outflow is sent later
/// than this after its first.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(23 * 60 * 60);

/// Whether an outflow first sent at `created` may still be asked about at `at`.
fn within_key_window(created: DateTime, at: std::time::SystemTime) -> bool {
    at < created.to_system_time() + IDEMPOTENCY_WINDOW
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutflowRecord {
    #[serde(rename = "_id")]
    pub id: OutflowId,
    pub kind: OutflowKind,
    pub user_id: UserId,
    pub amount_cents: i64,
    pub currency: String,
    /// `{kind}:{user}:{Idempotency-Key}`, unique.
    pub request_key: String,
    /// A card refund's top-up and its PaymentIntent.
    pub topup_id: Option<TopupId>,
    pub intent_id: Option<ProviderId>,
    pub state: OutflowState,
    pub provider_id: Option<ProviderId>,
    pub failure: Option<String>,
    /// Whether a request may have reached the provider: then only the
    /// provider can say it failed.
    pub maybe_sent: bool,
    pub attempts: u32,
    /// When the outbox worker next asks the provider (none: it is not to).
    pub next_attempt_at: Option<DateTime>,
    pub created_at: DateTime,
    /// What the operator who settled it from review found.
    #[serde(default)]
    pub review_note: Option<String>,
}

impl OutflowRecord {
    /// Where the money came from, and goes back to if this fails.
    fn source(&self) -> (Account, LedgerKind, LedgerKind) {
        match self.kind {
            OutflowKind::Payout => {
                (Account::Earnings(self.user_id.clone()), LedgerKind::Payout, LedgerKind::PayoutReversal)
            }
            OutflowKind::CardRefund => (
                Account::Wallet(self.user_id.clone()),
                LedgerKind::CardRefund,
                LedgerKind::CardRefundReversal,
            ),
        }
    }

    fn destination(&self) -> Account {
        match self.kind {
            OutflowKind::Payout => Account::Payouts,
            OutflowKind::CardRefund => Account::Cards,
        }
    }
}

/// What a new outflow request asks for.
pub struct OutflowRequest<'a> {
    pub kind: OutflowKind,
    pub user_id: &'a UserId,
    pub amount_cents: i64,
    pub idempotency_key: &'a str,
    /// A card refund's top-up.
    pub topup: Option<&'a TopupRecord>,
    /// A card refund's payment, when not a top-up's (a card subscription's invoice).
    pub intent_id: Option<&'a ProviderId>,
}

/// Who moves money out: card refunds go through Stripe, payouts through
/// the payout provider (the same Stripe here; Connect in production).
pub struct Providers {
    pub stripe: std::sync::Arc<Stripe>,
    pub payouts: std::sync::Arc<dyn PayoutProvider>,
}

/// How often the worker looks for outflows to ask the provider about again.
const POLL_EVERY: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Outflows {
    client: Client,
    ledger: Ledger,
    gate: MoneyGate,
    records: Collection<OutflowRecord>,
    topups: Topups,
    currency: String,
    stripe: std::sync::Arc<Stripe>,
    payouts: std::sync::Arc<dyn PayoutProvider>,
    outbox: Outbox,
}

impl Outflows {
    pub async fn new(
        db: &Database,
        ledger: Ledger,
        gate: MoneyGate,
        topups: Topups,
        currency: String,
        providers: Providers,
        outbox: Outbox,
    ) -> anyhow::Result<Self> {
        let Providers { stripe, payouts } = providers;
        let records = db.collection::<OutflowRecord>("outflows");
        let unique = mongodb::options::IndexOptions::builder().unique(true).build();
        records
            .create_index(IndexModel::builder().keys(doc! { "request_key": 1 }).options(unique).build())
            .await?;
        records
            .create_index(IndexModel::builder().keys(doc! { "user_id": 1, "created_at": -1 }).build())
            .await?;
        records
            .create_index(IndexModel::builder().keys(doc! { "state": 1, "next_attempt_at": 1 }).build())
            .await?;
        Ok(Self {
            client: db.client().clone(),
            ledger,
            gate,
            records,
            topups,
            currency,
            stripe,
            payouts,
            outbox,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &OutflowId) -> Result<Option<OutflowRecord>, PostError> {
        Ok(self.records.find_one(doc! { "_id": id }).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent(
        &self,
        user_id: &UserId,
        kind: OutflowKind,
        limit: i64,
    ) -> anyhow::Result<Vec<OutflowRecord>> {
        let filter = doc! { "user_id": user_id, "kind": kind };
        Ok(common::mongo::newest(&self.records, filter, limit).await?)
    }

    /// Every outflow (for reconciliation).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all(&self) -> anyhow::Result<Vec<OutflowRecord>> {
        Ok(self.records.find(doc! {}).await?.try_collect().await?)
    }

    /// The operators' queue: outflows the provider never settled within its
    /// idempotency window, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn in_review(&self, limit: i64) -> anyhow::Result<Vec<OutflowRecord>> {
        let filter = doc! { "state": OutflowState::Review };
        Ok(self.records.find(filter).sort(doc! { "created_at": 1 }).limit(limit).await?.try_collect().await?)
    }

    /// An operator's word on an outflow in review, after checking with the
    /// provider: paid (the money stays out) or failed (it comes back).
    /// `false` when it is not in review (any more).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn resolve(&self, id: &OutflowId, paid: bool, note: &str) -> Result<bool, PostError> {
        let _passage = self.gate.enter().await;
        let in_review = doc! { "_id": id, "state": OutflowState::Review };
        if paid {
            let settled = doc! { "state": OutflowState::Paid, "failure": null, "review_note": note };
            return self.mark_paid(id, in_review, settled).await;
        }
        Ok(self.fail_held(id, note, &[OutflowState::Review]).await? == Applied::Applied)
    }

    /// What `user_id` asked for before with `idempotency_key`, if anything.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn made_with(
        &self,
        kind: OutflowKind,
        user_id: &UserId,
        idempotency_key: &str,
    ) -> Result<Option<OutflowRecord>, PostError> {
        Ok(self.records.find_one(doc! { "request_key": request_key(kind, user_id, idempotency_key) }).await?)
    }

    /// Debits and sends: `(true, record)` when new, `(false, record)` when
    /// the key was used before.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn start(&self, request: OutflowRequest<'_>) -> Result<(bool, OutflowRecord), PostError> {
        let _passage = self.gate.enter().await;
        let request_key = request_key(request.kind, request.user_id, request.idempotency_key);
        if let Some(existing) = self.made_with(request.kind, request.user_id, request.idempotency_key).await?
        {
            return Ok((false, existing));
        }
        let record = OutflowRecord {
            id: OutflowId::mint(),
            kind: request.kind,
            user_id: request.user_id.clone(),
            amount_cents: request.amount_cents,
            currency: self.currency.clone(),
            request_key: request_key.clone(),
            topup_id: request.topup.map(|t| t.id.clone()),
            intent_id: request.topup.and_then(|t| t.intent_id.clone()).or(request.intent_id.cloned()),
            state: OutflowState::Pending,
            provider_id: None,
            failure: None,
            maybe_sent: false,
            attempts: 0,
            // Ours to send now; the worker's if this process dies first.
            next_attempt_at: Some(txn::lease_until()),
            created_at: DateTime::now(),
            review_note: None,
        };
        let (source, kind, _) = record.source();
        let legs = [
            Leg::covered_debit(source, record.amount_cents, kind),
            Leg::credit(record.destination(), record.amount_cents, kind),
        ];
        let mut attempts = Attempts::new(&self.client);
        let debited = transaction!(attempts, |session| {
            if let Some(topup) = request.topup
                && !self.topups.take_refundable_in(session, topup, record.amount_cents).await?
            {
                return Err(Stop::Refuse(PostError::Conflict(
                    "That is more than is left of this top-up to refund.",
                )));
            }
            match self.records.insert_one(&record).session(&mut *session).await {
                Err(err) if common::mongo::is_duplicate_key(&err) => {
                    return Err(Stop::Refuse(PostError::Duplicate));
                }
                inserted => inserted?,
            };
            self.ledger.post(session, &record.id, &record.id, &legs).await?;
            Ok(())
        });
        match debited {
            Ok(()) => {}
            Err(Refusal::Error(PostError::Duplicate)) => {
                let existing = self.records.find_one(doc! { "request_key": &request_key }).await?;
                return existing.map(|r| (false, r)).ok_or(PostError::Unavailable("the database"));
            }
            Err(Refusal::Short(_)) => {
                let balance_cents = self.ledger.balance(&record.source().0).await?;
                return Err(PostError::NotCovered { balance_cents, amount_cents: record.amount_cents });
            }
            Err(Refusal::Error(err)) => return Err(err),
        }
        let (sent, reached) = self.send(record).await?;
        if !reached {
            // Nothing happened at the provider, and the money is back.
            return Err(PostError::Unavailable("the payment provider"));
        }
        Ok((true, sent))
    }

    /// Asks the provider to send `record`'s money, and records its answer;
    /// `false` when the provider was never reached and the outflow failed for it.
    async fn send(&self, record: OutflowRecord) -> Result<(OutflowRecord, bool), PostError> {
        let request = OutgoingRequest {
            id: &record.id,
            user_id: &record.user_id,
            amount_cents: record.amount_cents,
            currency: &record.currency,
            intent_id: record.intent_id.as_ref(),
        };
        let answer = match record.kind {
            OutflowKind::Payout => self.payouts.pay_out(request).await,
            OutflowKind::CardRefund => self.stripe.refund(request).await,
        };
        let attempts = record.attempts + 1;
        let mut reached = true;
        match answer {
            Ok(transfer) => self.settle_held(&record.id, &transfer).await?,
            Err(ProviderError::Declined(reason) | ProviderError::Rejected(reason)) => {
                self.fail_held(&record.id, &reason, &OutflowState::OPEN).await?;
            }
            Err(ProviderError::NotSent) if !record.maybe_sent => {
                self.records
                    .update_one(doc! { "_id": &record.id }, doc! { "$set": { "attempts": attempts } })
                    .await?;
                self.fail_held(&record.id, "the payment provider was unreachable", &OutflowState::OPEN)
                    .await?;
                reached = false;
            }
            Err(error) => {
                let maybe_sent = record.maybe_sent || error == ProviderError::Unknown;
                let next = std::time::SystemTime::now() + Backoff::BACKGROUND.after(attempts);
                let pending = doc! { "_id": &record.id, "state": OutflowState::Pending };
                if within_key_window(record.created_at, next) {
                    let next = DateTime::from_system_time(next);
                    let retry = doc! { "$set": { "attempts": attempts, "maybe_sent": maybe_sent, "next_attempt_at": next } };
                    self.records.update_one(pending, retry).await?;
                    tracing::warn!(
                        outflow_id = %record.id,
                        attempts,
                        "payment provider did not answer; will ask again"
                    );
                } else {
                    let review = doc! { "$set": { "attempts": attempts, "maybe_sent": maybe_sent, "state": OutflowState::Review, "next_attempt_at": null } };
                    self.records.update_one(pending, review).await?;
                    tracing::error!(
                        outflow_id = %record.id,
                        attempts,
                        "payment provider never answered within its idempotency window; an operator must settle it"
                    );
                }
            }
        }
        let now = self.records.find_one(doc! { "_id": &record.id }).await?;
        Ok((now.ok_or(PostError::Unavailable("the database"))?, reached))
    }

    /// Records what the provider says about an outflow it accepted.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn settle(&self, id: &OutflowId, transfer: &Transfer) -> Result<(), PostError> {
        let _passage = self.gate.enter().await;
        self.settle_held(id, transfer).await
    }

    async fn settle_held(&self, id: &OutflowId, transfer: &Transfer) -> Result<(), PostError> {
        if transfer.failed() {
            let reason = transfer.failure_reason();
            self.fail_held(id, &reason, &OutflowState::REVERSIBLE).await?;
            return Ok(());
        }
        let mut set = doc! { "provider_id": &transfer.id, "next_attempt_at": null, "maybe_sent": true };
        let open = doc! { "_id": id, "state": { "$in": OutflowState::OPEN.to_vec() } };
        if transfer.done() {
            set.insert("state", OutflowState::Paid);
            self.mark_paid(id, open, set).await?;
        } else {
            self.records.update_one(open, doc! { "$set": set }).await?;
        }
        Ok(())
    }

    /// Sets `set` (a paid state) on outflow `id` if `filter` still matches
    /// it; a creator hears that their payout was paid. Whether it matched.
    async fn mark_paid(&self, id: &OutflowId, filter: Document, set: Document) -> Result<bool, PostError> {
        let Some(record) = self.records.find_one(doc! { "_id": id }).await? else { return Ok(false) };
        let mut staged = self.outbox.begin().await?;
        let moved = self.records.update_one(filter, doc! { "$set": set }).session(staged.session()).await?;
        let paid = moved.modified_count == 1;
        staged.commit(paid.then(|| told(&record, true)).flatten()).await?;
        Ok(paid)
    }

    /// Marks an outflow in one of the states `from` failed and puts its
    /// money back, once: `Duplicate` when it was in none of them.
    async fn fail_held(
        &self,
        id: &OutflowId,
        reason: &str,
        from: &[OutflowState],
    ) -> Result<Applied, PostError> {
        let Some(record) = self.records.find_one(doc! { "_id": id }).await? else {
            return Ok(Applied::Duplicate);
        };
        if !from.contains(&record.state) {
            return Ok(Applied::Duplicate);
        }
        let (source, _, reversal) = record.source();
        let legs = [
            Leg::credit(source, record.amount_cents, reversal),
            Leg::debit(record.destination(), record.amount_cents, reversal),
        ];
        let operation = format!("{}:reversal", record.id);
        let mut attempts = Attempts::new(&self.client);
        let reversed = transaction!(attempts, |session| {
            let failed = doc! { "$set": { "state": OutflowState::Failed, "failure": reason, "next_attempt_at": null } };
            let open = doc! { "_id": &record.id, "state": { "$in": from.to_vec() } };
            if self.records.update_one(open, failed).session(&mut *session).await?.matched_count == 0 {
                return Err(Stop::Refuse(PostError::Duplicate));
            }
            if let Some(topup) = &record.topup_id {
                self.topups.back_to_card_in(session, topup, -record.amount_cents).await?;
            }
            self.ledger.post(session, &operation, &record.id, &legs).await?;
            if let Some(failed) = told(&record, false) {
                self.outbox.stage(session, failed).await?;
            }
            Ok(())
        });
        match reversed {
            Ok(()) => {
                self.outbox.wake();
                tracing::info!(
                    outflow_id = %record.id,
                    reason,
                    was = <&str>::from(record.state),
                    "outflow failed; money returned"
                );
                Ok(Applied::Applied)
            }
            Err(Refusal::Error(PostError::Duplicate)) => Ok(Applied::Duplicate),
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// Asks the provider again about every outflow whose answer is overdue.
    /// Each is claimed first (its next attempt pushed a lease ahead with a
    /// compare-and-set), so replicas never send one together.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn run_due(&self) -> Result<(), PostError> {
        let due = doc! { "state": OutflowState::Pending, "next_attempt_at": { "$lte": DateTime::now() } };
        let candidates: Vec<OutflowRecord> = self.records.find(due).limit(50).await?.try_collect().await?;
        for record in candidates {
            let _passage = self.gate.enter().await;
            let as_read = doc! { "_id": &record.id, "state": OutflowState::Pending, "next_attempt_at": record.next_attempt_at };
            let claim = doc! { "$set": { "next_attempt_at": txn::lease_until() } };
            if self.records.update_one(as_read, claim).await?.modified_count == 1 {
                self.send(record).await?;
            }
        }
        Ok(())
    }

    /// Works the outbox until the process stops.
    pub fn start_worker(&self, workers: &common::shutdown::Workers) {
        let outflows = self.clone();
        workers.spawn("outflow outbox", async move {
            loop {
                if let Err(err) = outflows.run_due().await {
                    tracing::warn!(error = %err, "outflow outbox unavailable; will retry");
                }
                tokio::time::sleep(POLL_EVERY).await;
            }
        });
    }
}

/// What a creator hears of their payout's end (a card refund is the
/// buyer's own request: its answer says it).
fn told(record: &OutflowRecord, paid: bool) -> Option<Event> {
    let (creator, payout, amount_cents) = (record.user_id.clone(), record.id.clone(), record.amount_cents);
    match (record.kind, paid) {
        (OutflowKind::Payout, true) => Some(Event::PayoutPaid { creator, payout, amount_cents }),
        (OutflowKind::Payout, false) => Some(Event::PayoutFailed { creator, payout, amount_cents }),
        (OutflowKind::CardRefund, _) => None,
    }
}

/// One outflow per user, kind and Idempotency-Key (a unique index).
fn request_key(kind: OutflowKind, user_id: &UserId, idempotency_key: &str) -> String {
    format!("{}:{user_id}:{idempotency_key}", <&str>::from(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_request_goes_out_once_the_providers_key_may_be_forgotten() {
        let created = DateTime::now();
        let at = |hours: u64| created.to_system_time() + Duration::from_secs(hours * 3600);
        assert!(within_key_window(created, at(1)));
        assert!(within_key_window(created, at(22)));
        assert!(!within_key_window(created, at(23)), "an hour's margin before Stripe's 24 h");
        assert!(!within_key_window(created, at(48)));
    }
}
