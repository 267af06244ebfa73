//! Double-entry bookkeeping: accounts, their balances and the ledger.
//!
//! Every movement of money is one operation whose legs sum to zero. Legs on
//! our own accounts (wallets, earnings, the platform) change a stored
//! balance; legs on the outside world (cards, the dev top-up, bank payouts)
//! exist only as ledger entries, so `reconcile` can compare both sides.
//! Entry ids are `{operation}:{leg}`: posting one operation twice fails on
//! the unique id and aborts its transaction.

use common::ids::UserId;
use mongodb::bson::{DateTime, doc};
use mongodb::{ClientSession, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

pub use crate::money::account::Account;
use crate::money::txn::Stop;

/// Why money moved (one per leg, so each side reads naturally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// A card top-up credited to a wallet.
    Topup,
    /// The development top-up (dev stack only).
    DevTopup,
    /// A buyer paying for a post.
    Purchase,
    /// A subscriber paying for a period.
    Subscription,
    /// The creator's share of a sale, into pending earnings.
    Sale,
    /// A sale's share, out of its clearing period: pending to available earnings.
    Cleared,
    /// The platform's fee on a sale.
    Fee,
    /// A refunded purchase, back into the buyer's wallet.
    Refund,
    /// The creator's share taken back by a refund.
    SaleReversal,
    /// The platform's fee given back by a refund.
    FeeReversal,
    /// Wallet money sent back to the card it came from.
    CardRefund,
    /// A card refund the provider did not make: the money is back.
    CardRefundReversal,
    /// Earnings sent to the creator's bank account.
    Payout,
    /// A payout that failed: the money is back in earnings.
    PayoutReversal,
    /// Earnings moved into the creator's own wallet.
    Transfer,
    /// Wallet money held while the card payment that brought it is disputed, and released.
    DisputeHold,
    DisputeRelease,
    /// A card dispute the buyer won: the money goes back to their card.
    Chargeback,
    /// What a lost dispute took back from a sale it revoked (the creator's share, the fee).
    ChargebackSale,
    ChargebackFee,
    /// The part of a lost dispute nobody else covered: the platform's loss.
    ChargebackLoss,
    /// A refund made on the provider's dashboard, not through Shutter.
    ExternalRefund,
}

/// One side of an operation.
#[derive(Debug, Clone)]
pub struct Leg {
    pub account: Account,
    /// Positive in, negative out.
    pub amount_cents: i64,
    pub kind: LedgerKind,
    /// Refuse the whole operation if this debit would take the balance below zero.
    pub guarded: bool,
}

impl Leg {
    pub fn credit(account: Account, amount_cents: i64, kind: LedgerKind) -> Self {
        Self { account, amount_cents, kind, guarded: false }
    }

    /// A debit that must be covered by the balance.
    pub fn covered_debit(account: Account, amount_cents: i64, kind: LedgerKind) -> Self {
        Self { account, amount_cents: -amount_cents, kind, guarded: true }
    }

    pub fn debit(account: Account, amount_cents: i64, kind: LedgerKind) -> Self {
        Self { account, amount_cents: -amount_cents, kind, guarded: false }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Balance {
    /// [`Account::key`].
    #[serde(rename = "_id")]
    pub account: String,
    pub balance_cents: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// `{operation}:{leg}`.
    #[serde(rename = "_id")]
    pub key: String,
    pub operation: String,
    /// [`Account::key`].
    pub account: String,
    /// The wallet's or earnings' owner.
    pub user_id: Option<UserId>,
    /// Positive in, negative out.
    pub amount_cents: i64,
    pub kind: LedgerKind,
    /// What the operation was about: a post, a top-up, a payout.
    pub reference: String,
    pub created_at: DateTime,
}

/// How [`Ledger::sums`] groups entries.
#[derive(Debug, Clone, Copy)]
pub enum SumBy {
    Account,
    Operation,
}

/// A number as a `$sum` gives it (an int32, an int64 or a double).
fn number(document: &mongodb::bson::Document, key: &str) -> i64 {
    match document.get(key) {
        Some(mongodb::bson::Bson::Int64(n)) => *n,
        Some(mongodb::bson::Bson::Int32(n)) => i64::from(*n),
        Some(mongodb::bson::Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

#[derive(Clone)]
pub struct Ledger {
    balances: Collection<Balance>,
    entries: Collection<LedgerEntry>,
}

impl Ledger {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let entries = db.collection::<LedgerEntry>("ledger");
        entries
            .create_index(IndexModel::builder().keys(doc! { "account": 1, "created_at": -1 }).build())
            .await?;
        Ok(Self { balances: db.collection("balances"), entries })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn balance(&self, account: &Account) -> anyhow::Result<i64> {
        Ok(self.balances.find_one(doc! { "_id": account.key() }).await?.map_or(0, |b| b.balance_cents))
    }

    /// Every stored balance: (account key, cents).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn stored_balances(&self) -> anyhow::Result<Vec<(String, i64)>> {
        use futures_util::TryStreamExt;
        Ok(self.balances.find(doc! {}).await?.map_ok(|b| (b.account, b.balance_cents)).try_collect().await?)
    }

    /// The entries' amounts summed per account key, or per operation.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sums(&self, by: SumBy) -> anyhow::Result<std::collections::HashMap<String, i64>> {
        use futures_util::TryStreamExt;
        let field = match by {
            SumBy::Account => "$account",
            SumBy::Operation => "$operation",
        };
        let pipeline = [doc! { "$group": { "_id": field, "sum": { "$sum": "$amount_cents" } } }];
        let groups: Vec<mongodb::bson::Document> =
            self.entries.aggregate(pipeline).await?.try_collect().await?;
        Ok(groups
            .into_iter()
            .filter_map(|g| Some((g.get_str("_id").ok()?.to_owned(), number(&g, "sum"))))
            .collect())
    }

    /// `account`'s balance as the caller's transaction reads it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn balance_in(&self, session: &mut ClientSession, account: &Account) -> Result<i64, Stop> {
        let found = self.balances.find_one(doc! { "_id": account.key() }).session(&mut *session).await?;
        Ok(found.map_or(0, |b| b.balance_cents))
    }

    /// The newest entries of `account`, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent(&self, account: &Account, limit: i64) -> anyhow::Result<Vec<LedgerEntry>> {
        Ok(common::mongo::newest(&self.entries, doc! { "account": account.key() }, limit).await?)
    }

    /// Posts `legs` as operation `operation` inside the caller's transaction.
    /// A guarded debit the balance cannot cover stops with [`Stop::Short`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn post(
        &self,
        session: &mut ClientSession,
        operation: impl std::fmt::Display,
        reference: impl std::fmt::Display,
        legs: &[Leg],
    ) -> Result<(), Stop> {
        debug_assert_eq!(legs.iter().map(|l| l.amount_cents).sum::<i64>(), 0, "an operation must balance");
        let now = DateTime::now();
        let mut entries = Vec::with_capacity(legs.len());
        for (n, leg) in legs.iter().enumerate() {
            if leg.amount_cents == 0 {
                continue;
            }
            if !leg.account.is_external() {
                let key = leg.account.key();
                let change = doc! { "$inc": { "balance_cents": leg.amount_cents } };
                if leg.guarded {
                    let covered = doc! { "_id": &key, "balance_cents": { "$gte": -leg.amount_cents } };
                    let debited = self.balances.update_one(covered, change).session(&mut *session).await?;
                    if debited.matched_count == 0 {
                        return Err(Stop::Short(leg.account.clone()));
                    }
                } else {
                    self.balances
                        .update_one(doc! { "_id": &key }, change)
                        .upsert(true)
                        .session(&mut *session)
                        .await?;
                }
            }
            entries.push(LedgerEntry {
                key: format!("{operation}:{n}"),
                operation: operation.to_string(),
                account: leg.account.key(),
                user_id: leg.account.user().cloned(),
                amount_cents: leg.amount_cents,
                kind: leg.kind,
                reference: reference.to_string(),
                created_at: now,
            });
        }
        if !entries.is_empty() {
            self.entries.insert_many(entries).session(&mut *session).await?;
        }
        Ok(())
    }
}
