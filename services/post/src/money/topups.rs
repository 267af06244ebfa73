//! Money in: card top-ups through the payment provider, and the dev top-up.
//!
//! A card top-up is a record of ours first, then a PaymentIntent at the
//! provider carrying the record's id in its metadata. The wallet is credited
//! only when the provider's signed `payment_intent.succeeded` event names a
//! record of ours with the same user, amount and currency: the record is
//! claimed (one conditional write), then credited in one transaction with
//! its ledger entries, so however often the event arrives, once.

use crate::money::ProviderId;
use common::ids::UserId;
use mongodb::bson::{DateTime, doc};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::TopupId;
use crate::money::gate::MoneyGate;
use crate::money::ledger::{Account, Ledger, LedgerKind, Leg};
use crate::money::stored::stored_enum;
use crate::money::stripe::{Intent, ProviderError, Stripe};
use crate::money::txn::{self, Attempts, Refusal, Stop, transaction};

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum TopupState {
        /// Asking the provider for a PaymentIntent.
        Creating,
        /// Waiting for the payment.
        Pending,
        /// The provider did not answer when asked: it may hold a payment, which
        /// is credited if its event arrives.
        Unconfirmed,
        /// The last payment attempt failed; another may still succeed.
        Failed,
        /// Being credited (until `lease_until`).
        Crediting,
        Succeeded,
        Canceled,
    }
}

impl TopupState {
    /// States a payment may still succeed from.
    const OPEN: [TopupState; 4] =
        [TopupState::Creating, TopupState::Pending, TopupState::Unconfirmed, TopupState::Failed];
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopupRecord {
    #[serde(rename = "_id")]
    pub id: TopupId,
    pub user_id: UserId,
    pub amount_cents: i64,
    pub currency: String,
    pub state: TopupState,
    pub intent_id: Option<ProviderId>,
    /// Why the last attempt failed, in the provider's words for the user.
    pub failure: Option<String>,
    /// How much of it has gone back to the card: our refunds, refunds made
    /// at the provider, lost disputes.
    pub refunded_cents: i64,
    pub lease_until: Option<DateTime>,
    pub created_at: DateTime,
    pub credited_at: Option<DateTime>,
}

/// What a provider event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    Applied,
    /// Seen before, or overtaken by a later state: nothing changed.
    Duplicate,
}

/// Why an event about a PaymentIntent cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Not a top-up of ours.
    Unknown,
    /// Ours, but another user, amount, currency or intent than we created.
    Different(&'static str),
}

#[derive(Clone)]
pub struct Topups {
    client: Client,
    ledger: Ledger,
    gate: MoneyGate,
    records: Collection<TopupRecord>,
}

impl Topups {
    pub async fn new(db: &Database, ledger: Ledger, gate: MoneyGate) -> anyhow::Result<Self> {
        let records = db.collection::<TopupRecord>("topups");
        records
            .create_index(IndexModel::builder().keys(doc! { "user_id": 1, "created_at": -1 }).build())
            .await?;
        records.create_index(IndexModel::builder().keys(doc! { "intent_id": 1 }).build()).await?;
        Ok(Self { client: db.client().clone(), ledger, gate, records })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &TopupId) -> Result<TopupRecord, PostError> {
        self.records.find_one(doc! { "_id": id.as_str() }).await?.ok_or(PostError::TopupNotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent(&self, user_id: &UserId, limit: i64) -> anyhow::Result<Vec<TopupRecord>> {
        Ok(common::mongo::newest(&self.records, doc! { "user_id": user_id }, limit).await?)
    }

    /// Starts a card top-up; answers the record and the intent's client secret.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create(
        &self,
        stripe: &Stripe,
        user_id: &UserId,
        amount_cents: i64,
        currency: &str,
        payment_method: Option<&str>,
    ) -> Result<(TopupRecord, Option<String>), PostError> {
        let _passage = self.gate.enter().await;
        let id = TopupId::mint();
        let record = TopupRecord {
            id: id.clone(),
            user_id: user_id.clone(),
            amount_cents,
            currency: currency.to_owned(),
            state: TopupState::Creating,
            intent_id: None,
            failure: None,
            refunded_cents: 0,
            lease_until: None,
            created_at: DateTime::now(),
            credited_at: None,
        };
        self.records.insert_one(&record).await?;
        let creating = doc! { "_id": &id, "state": TopupState::Creating };
        let created = stripe.create_intent(&id, user_id, amount_cents, currency, payment_method).await;
        let (update, answer) = match created {
            // Its event may have been applied already: only a record still
            // `creating` becomes `pending`.
            Ok(intent) => {
                (doc! { "state": TopupState::Pending, "intent_id": &intent.id }, Ok(intent.client_secret))
            }
            Err(ProviderError::Declined(message)) => (
                doc! { "state": TopupState::Failed, "failure": &message },
                Err(PostError::CardDeclined(message)),
            ),
            Err(ProviderError::Rejected(_)) => (
                doc! { "state": TopupState::Failed, "failure": "refused by the payment provider" },
                Err(PostError::ProviderRefused),
            ),
            Err(ProviderError::NotSent | ProviderError::Busy) => (
                doc! { "state": TopupState::Failed, "failure": "the payment provider was unreachable" },
                Err(PostError::Unavailable("the payment provider")),
            ),
            Err(ProviderError::Unknown) => (
                doc! { "state": TopupState::Unconfirmed },
                Err(PostError::Unavailable("the payment provider")),
            ),
        };
        self.records.update_one(creating, doc! { "$set": update }).await?;
        let client_secret = answer?;
        let record = self.records.find_one(doc! { "_id": &id }).await?.unwrap_or(record);
        Ok((record, client_secret))
    }

    /// Every credited top-up (for reconciliation).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn succeeded(&self) -> anyhow::Result<Vec<TopupRecord>> {
        use futures_util::TryStreamExt;
        Ok(self.records.find(doc! { "state": TopupState::Succeeded }).await?.try_collect().await?)
    }

    /// Takes `cents` of what is left of `topup` to send back to its card,
    /// in the caller's transaction: `false` when less is left.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn take_refundable_in(
        &self,
        session: &mut mongodb::ClientSession,
        topup: &TopupRecord,
        cents: i64,
    ) -> Result<bool, Stop> {
        let left = doc! { "_id": &topup.id, "state": TopupState::Succeeded, "refunded_cents": { "$lte": topup.amount_cents - cents } };
        let taken = doc! { "$inc": { "refunded_cents": cents } };
        Ok(self.records.update_one(left, taken).session(&mut *session).await?.matched_count == 1)
    }

    /// Records `cents` more (or, negative, less) gone back to top-up `id`'s
    /// card, in the caller's transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn back_to_card_in(
        &self,
        session: &mut mongodb::ClientSession,
        id: &TopupId,
        cents: i64,
    ) -> Result<(), Stop> {
        let back = doc! { "$inc": { "refunded_cents": cents } };
        self.records.update_one(doc! { "_id": id }, back).session(&mut *session).await?;
        Ok(())
    }

    /// The top-up paid by PaymentIntent `intent_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn by_intent(&self, intent_id: &ProviderId) -> anyhow::Result<Option<TopupRecord>> {
        Ok(self.records.find_one(doc! { "intent_id": intent_id }).await?)
    }

    /// Finds the top-up an intent's event is about, and checks it is the
    /// payment we asked for.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn matching(&self, intent: &Intent) -> Result<Result<TopupRecord, Mismatch>, PostError> {
        let Some(id) = intent.metadata.get("topup_id").and_then(|id| TopupId::parse(id).ok()) else {
            return Ok(Err(Mismatch::Unknown));
        };
        let Some(record) = self.records.find_one(doc! { "_id": id.as_str() }).await? else {
            return Ok(Err(Mismatch::Unknown));
        };
        let different = if intent.metadata.get("user_id").map(String::as_str) != Some(record.user_id.as_str())
        {
            Some("user")
        } else if intent.amount != record.amount_cents {
            Some("amount")
        } else if intent.currency != record.currency {
            Some("currency")
        } else if record.intent_id.as_ref().is_some_and(|ours| *ours != intent.id) {
            Some("payment intent")
        } else {
            None
        };
        Ok(different.map_or(Ok(record), |what| Err(Mismatch::Different(what))))
    }

    /// Credits a succeeded payment to its wallet, once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credit(&self, record: &TopupRecord, intent_id: &ProviderId) -> Result<Applied, PostError> {
        let _passage = self.gate.enter().await;
        let mut attempts = Attempts::new(&self.client);
        while attempts.time_left() {
            let record =
                self.records.find_one(doc! { "_id": &record.id }).await?.ok_or(PostError::TopupNotFound)?;
            match record.state {
                TopupState::Succeeded => return Ok(Applied::Duplicate),
                TopupState::Canceled => return Err(PostError::Conflict("This top-up was canceled.")),
                TopupState::Crediting if txn::lease_live(record.lease_until) => {
                    txn::pause().await;
                    continue;
                }
                _ => {}
            }
            let read = (record.state, record.lease_until);
            let Some(lease) = txn::claim(&self.records, &record.id, read, TopupState::Crediting).await?
            else {
                continue; // another request moved it first
            };
            let legs = [
                Leg::credit(Account::Wallet(record.user_id.clone()), record.amount_cents, LedgerKind::Topup),
                Leg::debit(Account::Cards, record.amount_cents, LedgerKind::Topup),
            ];
            let credited = transaction!(attempts, |session| {
                let held = doc! { "_id": &record.id, "state": TopupState::Crediting, "lease_until": lease };
                let done = doc! { "$set": { "state": TopupState::Succeeded, "intent_id": intent_id, "credited_at": DateTime::now(), "lease_until": null, "failure": null } };
                if self.records.update_one(held, done).session(&mut *session).await?.matched_count == 0 {
                    return Err(Stop::Refuse(PostError::Conflict("taken over")));
                }
                self.ledger.post(session, &record.id, intent_id, &legs).await?;
                Ok(())
            });
            match credited {
                Ok(()) => return Ok(Applied::Applied),
                Err(Refusal::Error(PostError::Conflict(_))) => continue,
                Err(refusal) => return Err(refusal.into()),
            }
        }
        Err(attempts.exhausted())
    }

    /// Records a failed or canceled payment; a succeeded or canceled top-up stays as it is.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(
        &self,
        record: &TopupRecord,
        state: TopupState,
        intent_id: &ProviderId,
        failure: Option<&str>,
    ) -> Result<Applied, PostError> {
        let _passage = self.gate.enter().await;
        let open = doc! { "_id": &record.id, "state": { "$in": TopupState::OPEN.to_vec() } };
        let update = doc! { "$set": { "state": state, "intent_id": intent_id, "failure": failure } };
        let changed = self.records.update_one(open, update).await?;
        Ok(if changed.modified_count == 1 { Applied::Applied } else { Applied::Duplicate })
    }

    /// The development top-up: money from nowhere, for the dev stack only.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn dev_top_up(&self, user_id: &UserId, amount_cents: i64) -> Result<i64, PostError> {
        let _passage = self.gate.enter().await;
        let operation = format!("dev-{}", TopupId::mint());
        let legs = [
            Leg::credit(Account::Wallet(user_id.to_owned()), amount_cents, LedgerKind::DevTopup),
            Leg::debit(Account::DevTopups, amount_cents, LedgerKind::DevTopup),
        ];
        let mut attempts = Attempts::new(&self.client);
        let posted: Result<(), Refusal> = transaction!(attempts, |session| {
            self.ledger.post(session, &operation, "dev-topup", &legs).await?;
            Ok(())
        });
        posted?;
        Ok(self.ledger.balance(&Account::Wallet(user_id.to_owned())).await?)
    }
}
