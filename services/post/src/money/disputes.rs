//! Card money that goes back after it was credited: disputes (chargebacks)
//! and refunds made on the provider's dashboard, each about one card top-up.
//!
//! The rules (docs/POST.md, "Disputes and refunds made at the provider"):
//! - A dispute opened (`charge.dispute.created`) holds what the buyer's
//!   wallet still has of the disputed amount; nothing else moves yet.
//! - Won by us (`charge.dispute.closed`, `won`): the hold goes back to the wallet.
//! - Lost (`lost`), or a dashboard refund: the amount goes back to the card.
//!   It is covered by the hold (or, for a refund, the wallet), then by
//!   ending the buyer's purchases made since the top-up was credited, newest
//!   first: each gives back its price — the creator's share from their
//!   pending or available earnings, the fee from the platform — and the
//!   buyer's entitlement ends. What a creator's earnings no longer hold
//!   (paid out), and whatever no purchase covers, is the platform's loss.
//!   A purchase ended for more than was still needed returns the excess to
//!   the buyer's wallet, like a refund.
//!
//! Each reversal is one record keyed by the provider's id, moved once in the
//! same transaction as its ledger entries, so a replayed or reordered event
//! changes nothing twice.

use crate::money::{ProviderId, PurchaseId, TopupId};
use common::ids::UserId;
use mongodb::bson::{DateTime, doc};
use mongodb::{Client, ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::gate::MoneyGate;
use crate::money::ledger::{Account, Ledger, LedgerKind, Leg};
use crate::money::purchases::Purchases;
use crate::money::stored::stored_enum;
use crate::money::topups::{Applied, TopupRecord, Topups};
use crate::money::txn::{Attempts, Refusal, Stop, transaction};

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum ReversalKind {
        /// A card dispute (chargeback).
        Dispute,
        /// A refund made at the provider, not through Shutter.
        ExternalRefund,
    }
}

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum ReversalState {
        /// A dispute under way: the wallet's part is held.
        Open,
        /// A dispute we won: the hold is back in the wallet.
        Won,
        /// The money went back to the card (a lost dispute, or a refund).
        Reversed,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReversalRecord {
    /// The provider's dispute or refund id.
    #[serde(rename = "_id")]
    pub id: ProviderId,
    pub kind: ReversalKind,
    pub topup_id: TopupId,
    pub user_id: UserId,
    pub amount_cents: i64,
    pub state: ReversalState,
    /// What the wallet held back while the dispute was open.
    pub held_cents: i64,
    /// Purchases ended to cover it.
    pub revoked: Vec<PurchaseId>,
    /// What nobody else covered: the platform's loss.
    pub loss_cents: i64,
    pub created_at: DateTime,
    pub closed_at: Option<DateTime>,
}

/// A provider's dispute or refund, as read from its event.
pub struct CardReversal<'a> {
    pub id: &'a ProviderId,
    pub kind: ReversalKind,
    pub amount_cents: i64,
    pub topup: &'a TopupRecord,
}

#[derive(Clone)]
pub struct Reversals {
    client: Client,
    ledger: Ledger,
    gate: MoneyGate,
    purchases: Purchases,
    pub(crate) records: Collection<ReversalRecord>,
    topups: Topups,
}

impl Reversals {
    pub fn new(db: &Database, ledger: Ledger, gate: MoneyGate, purchases: Purchases, topups: Topups) -> Self {
        Self {
            client: db.client().clone(),
            ledger,
            gate,
            purchases,
            records: db.collection("card_reversals"),
            topups,
        }
    }

    /// Every reversal (for reconciliation).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all(&self) -> anyhow::Result<Vec<ReversalRecord>> {
        use futures_util::TryStreamExt;
        Ok(self.records.find(doc! {}).await?.try_collect().await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get(&self, id: &ProviderId) -> anyhow::Result<Option<ReversalRecord>> {
        Ok(self.records.find_one(doc! { "_id": id }).await?)
    }

    /// A dispute opened: holds what the wallet has of it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open_dispute(&self, dispute: &CardReversal<'_>) -> Result<Applied, PostError> {
        let _passage = self.gate.enter().await;
        self.open_held(dispute).await
    }

    async fn open_held(&self, dispute: &CardReversal<'_>) -> Result<Applied, PostError> {
        let wallet = Account::Wallet(dispute.topup.user_id.clone());
        let mut attempts = Attempts::new(&self.client);
        let opened = transaction!(attempts, |session| {
            let held_cents = self.ledger.balance_in(session, &wallet).await?.clamp(0, dispute.amount_cents);
            let record = ReversalRecord { held_cents, state: ReversalState::Open, ..new_record(dispute) };
            insert_once(&self.records, session, &record).await?;
            let legs = [
                Leg::covered_debit(wallet.clone(), held_cents, LedgerKind::DisputeHold),
                Leg::credit(
                    Account::DisputeHold(record.user_id.clone()),
                    held_cents,
                    LedgerKind::DisputeHold,
                ),
            ];
            self.ledger.post(session, &format!("{}:held", record.id), &record.topup_id, &legs).await?;
            Ok(())
        });
        applied(opened)
    }

    /// A dispute closed: `lost` sends the money back to the card, anything
    /// else releases the hold. A close whose opening never arrived opens it first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close_dispute(&self, dispute: &CardReversal<'_>, lost: bool) -> Result<Applied, PostError> {
        let _passage = self.gate.enter().await;
        if self.get(dispute.id).await?.is_none() {
            self.open_held(dispute).await?;
        }
        let record = self.get(dispute.id).await?.ok_or(PostError::Unavailable("the database"))?;
        let hold = Account::DisputeHold(record.user_id.clone());
        let mut attempts = Attempts::new(&self.client);
        let closed = transaction!(attempts, |session| {
            let open = doc! { "_id": &record.id, "state": ReversalState::Open };
            let mut legs = vec![Leg::debit(hold.clone(), record.held_cents, LedgerKind::DisputeRelease)];
            let state = if lost {
                legs.push(Leg::credit(Account::Cards, record.amount_cents, LedgerKind::Chargeback));
                let need = record.amount_cents - record.held_cents;
                let covered = self.cover(session, dispute.topup, need, &mut legs).await?;
                close_in(&self.records, session, open, ReversalState::Reversed, &covered).await?;
                self.back_to_card(session, dispute).await?;
                ReversalState::Reversed
            } else {
                legs.push(Leg::credit(
                    Account::Wallet(record.user_id.clone()),
                    record.held_cents,
                    LedgerKind::DisputeRelease,
                ));
                close_in(&self.records, session, open, ReversalState::Won, &Covered::default()).await?;
                ReversalState::Won
            };
            self.ledger.post(session, &format!("{}:closed", record.id), &record.topup_id, &legs).await?;
            Ok(state)
        });
        log(dispute, closed.as_ref().ok());
        applied(closed.map(|_| ()))
    }

    /// A refund made on the provider's dashboard: the money went back to the card.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn external_refund(&self, refund: &CardReversal<'_>) -> Result<Applied, PostError> {
        let _passage = self.gate.enter().await;
        let wallet = Account::Wallet(refund.topup.user_id.clone());
        let mut attempts = Attempts::new(&self.client);
        let reversed = transaction!(attempts, |session| {
            let from_wallet = self.ledger.balance_in(session, &wallet).await?.clamp(0, refund.amount_cents);
            let mut legs = vec![
                Leg::credit(Account::Cards, refund.amount_cents, LedgerKind::ExternalRefund),
                Leg::covered_debit(wallet.clone(), from_wallet, LedgerKind::ExternalRefund),
            ];
            let covered =
                self.cover(session, refund.topup, refund.amount_cents - from_wallet, &mut legs).await?;
            let record = ReversalRecord {
                state: ReversalState::Reversed,
                revoked: covered.revoked.clone(),
                loss_cents: covered.loss_cents,
                closed_at: Some(DateTime::now()),
                ..new_record(refund)
            };
            insert_once(&self.records, session, &record).await?;
            self.back_to_card(session, refund).await?;
            self.ledger.post(session, &record.id, &record.topup_id, &legs).await?;
            Ok(ReversalState::Reversed)
        });
        log(refund, reversed.as_ref().ok());
        applied(reversed.map(|_| ()))
    }

    /// The top-up records what went back to its card.
    async fn back_to_card(
        &self,
        session: &mut ClientSession,
        reversal: &CardReversal<'_>,
    ) -> Result<(), Stop> {
        self.topups.back_to_card_in(session, &reversal.topup.id, reversal.amount_cents).await
    }

    /// Covers `need` cents for the card, after the wallet: ends the buyer's
    /// purchases made since the top-up, newest first, and the platform
    /// takes what is left. Adds the legs to `legs`.
    async fn cover(
        &self,
        session: &mut ClientSession,
        topup: &TopupRecord,
        mut need: i64,
        legs: &mut Vec<Leg>,
    ) -> Result<Covered, Stop> {
        let mut covered = Covered::default();
        // What this operation already takes from each account: its legs are
        // posted at the end, so a second sale of one creator must not count
        // the same earnings again.
        let mut taking: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        let since = topup.credited_at.unwrap_or(topup.created_at);
        let purchases = self.purchases.active_since(&topup.user_id, since).await.map_err(PostError::from)?;
        for purchase in purchases {
            if need <= 0 {
                break;
            }
            if !self.purchases.revoke_in(session, &purchase).await? {
                continue;
            }
            let share_account = purchase.share_account();
            let share = purchase.share_cents();
            let already = taking.get(&share_account.key()).copied().unwrap_or(0);
            let taken = (self.ledger.balance_in(session, &share_account).await? - already).clamp(0, share);
            *taking.entry(share_account.key()).or_insert(0) += taken;
            let excess = (purchase.price_cents - need).max(0);
            legs.push(Leg::covered_debit(share_account, taken, LedgerKind::ChargebackSale));
            legs.push(Leg::debit(Account::Platform, purchase.fee_cents, LedgerKind::ChargebackFee));
            legs.push(Leg::debit(Account::Platform, share - taken, LedgerKind::ChargebackLoss));
            legs.push(Leg::credit(Account::Wallet(topup.user_id.clone()), excess, LedgerKind::Refund));
            covered.loss_cents += share - taken;
            covered.revoked.push(purchase.id.clone());
            need -= purchase.price_cents - excess;
        }
        if need > 0 {
            legs.push(Leg::debit(Account::Platform, need, LedgerKind::ChargebackLoss));
            covered.loss_cents += need;
        }
        Ok(covered)
    }
}

/// How a reversal was covered beyond the wallet.
#[derive(Default)]
struct Covered {
    revoked: Vec<PurchaseId>,
    loss_cents: i64,
}

fn new_record(reversal: &CardReversal<'_>) -> ReversalRecord {
    ReversalRecord {
        id: reversal.id.to_owned(),
        kind: reversal.kind,
        topup_id: reversal.topup.id.clone(),
        user_id: reversal.topup.user_id.clone(),
        amount_cents: reversal.amount_cents,
        state: ReversalState::Open,
        held_cents: 0,
        revoked: Vec::new(),
        loss_cents: 0,
        created_at: DateTime::now(),
        closed_at: None,
    }
}

/// Inserts a reversal's record; a second one for the same provider id stops the transaction.
async fn insert_once(
    records: &Collection<ReversalRecord>,
    session: &mut ClientSession,
    record: &ReversalRecord,
) -> Result<(), Stop> {
    match records.insert_one(record).session(&mut *session).await {
        Err(err) if common::mongo::is_duplicate_key(&err) => Err(Stop::Refuse(PostError::Duplicate)),
        inserted => inserted.map(|_| ()).map_err(Stop::Db),
    }
}

/// Closes an open dispute's record; one already closed stops the transaction.
async fn close_in(
    records: &Collection<ReversalRecord>,
    session: &mut ClientSession,
    open: mongodb::bson::Document,
    state: ReversalState,
    covered: &Covered,
) -> Result<(), Stop> {
    let closed = doc! { "$set": { "state": state, "closed_at": DateTime::now(), "revoked": &covered.revoked, "loss_cents": covered.loss_cents } };
    if records.update_one(open, closed).session(&mut *session).await?.matched_count == 0 {
        return Err(Stop::Refuse(PostError::Duplicate));
    }
    Ok(())
}

fn applied(outcome: Result<(), Refusal>) -> Result<Applied, PostError> {
    match outcome {
        Ok(()) => Ok(Applied::Applied),
        Err(Refusal::Error(PostError::Duplicate)) => Ok(Applied::Duplicate),
        Err(refusal) => Err(refusal.into()),
    }
}

fn log(reversal: &CardReversal<'_>, state: Option<&ReversalState>) {
    if let Some(state) = state {
        tracing::warn!(target: "audit", reversal_id = %reversal.id, topup_id = %reversal.topup.id, amount_cents = reversal.amount_cents, state = <&str>::from(*state), "card money reversed");
    }
}
