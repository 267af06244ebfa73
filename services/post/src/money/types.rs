//! Money's request and answer bodies.

use crate::money::{OutflowId, ProviderId, PurchaseId, TopupId};
use common::ids::{PostId, UserId};
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::ledger::{LedgerEntry, LedgerKind};
use crate::money::outflows::{OutflowRecord, OutflowState};
use crate::money::purchases::{PurchaseRecord, PurchaseState};
use crate::money::topups::{TopupRecord, TopupState};

fn rfc3339(at: DateTime) -> String {
    at.try_to_rfc3339_string().unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct PurchaseView {
    pub id: PurchaseId,
    pub post_id: PostId,
    pub price_cents: i64,
    pub state: PurchaseState,
    /// RFC 3339.
    pub purchased_at: String,
    pub refunded_at: Option<String>,
}

impl From<PurchaseRecord> for PurchaseView {
    fn from(record: PurchaseRecord) -> Self {
        Self {
            id: record.id,
            post_id: record.post_id,
            price_cents: record.price_cents,
            state: record.state,
            purchased_at: rfc3339(record.created_at),
            refunded_at: record.refunded_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PurchaseList {
    /// The 50 newest, newest first.
    pub purchases: Vec<PurchaseView>,
}

/// A sale, as its creator sees it.
#[derive(Serialize, ToSchema)]
pub struct SaleView {
    pub purchase_id: PurchaseId,
    pub post_id: PostId,
    pub buyer_id: UserId,
    pub price_cents: i64,
    /// The platform's fee.
    pub fee_cents: i64,
    /// What the creator's earnings received.
    pub share_cents: i64,
    pub state: PurchaseState,
    /// RFC 3339.
    pub sold_at: String,
    /// When the share becomes available (RFC 3339), while it is still pending.
    pub clears_at: Option<String>,
}

impl From<PurchaseRecord> for SaleView {
    fn from(record: PurchaseRecord) -> Self {
        Self {
            share_cents: record.share_cents(),
            purchase_id: record.id,
            post_id: record.post_id,
            buyer_id: record.buyer_id,
            price_cents: record.price_cents,
            fee_cents: record.fee_cents,
            state: record.state,
            sold_at: rfc3339(record.created_at),
            clears_at: record
                .clears_at
                .filter(|_| record.pending && record.state == PurchaseState::Active)
                .map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerLine {
    /// Positive in, negative out.
    pub amount_cents: i64,
    pub kind: LedgerKind,
    pub reference: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<LedgerEntry> for LedgerLine {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            amount_cents: entry.amount_cents,
            kind: entry.kind,
            reference: entry.reference,
            created_at: rfc3339(entry.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WalletView {
    pub balance_cents: i64,
    pub currency: String,
    /// Whether card top-ups are enabled here.
    pub card_topups: bool,
    /// The 20 newest entries.
    pub ledger: Vec<LedgerLine>,
}

#[derive(Serialize, ToSchema)]
pub struct Balance {
    pub balance_cents: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub(crate) amount_cents: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardTopUp {
    /// Within the configured limits ($1–$500 by default).
    #[schema(minimum = 1)]
    pub(crate) amount_cents: u64,
    /// A PaymentMethod the client already holds (`pm_…`): the payment is
    /// confirmed at once. Without it the client confirms with `client_secret`.
    pub(crate) payment_method: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TopupView {
    pub id: TopupId,
    pub amount_cents: i64,
    pub currency: String,
    pub state: TopupState,
    /// Why the last payment attempt failed.
    pub failure: Option<String>,
    /// How much has gone back to the card.
    pub refunded_cents: i64,
    /// RFC 3339.
    pub created_at: String,
}

impl From<TopupRecord> for TopupView {
    fn from(record: TopupRecord) -> Self {
        Self {
            id: record.id,
            amount_cents: record.amount_cents,
            currency: record.currency,
            state: record.state,
            failure: record.failure,
            refunded_cents: record.refunded_cents,
            created_at: rfc3339(record.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TopupStarted {
    #[serde(flatten)]
    pub topup: TopupView,
    /// The provider's PaymentIntent.
    pub intent_id: Option<ProviderId>,
    /// What the client confirms the payment with (Stripe.js), when it still must.
    pub client_secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TopupList {
    /// The 50 newest, newest first.
    pub topups: Vec<TopupView>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CardRefund {
    /// Default: all that can go back — what is left of the top-up, at most the wallet's balance.
    pub(crate) amount_cents: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    #[schema(minimum = 1)]
    pub(crate) amount_cents: u64,
}

/// A payout or a card refund.
#[derive(Serialize, ToSchema)]
pub struct OutflowView {
    pub id: OutflowId,
    pub amount_cents: i64,
    pub currency: String,
    pub state: OutflowState,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<OutflowRecord> for OutflowView {
    fn from(record: OutflowRecord) -> Self {
        Self {
            id: record.id,
            amount_cents: record.amount_cents,
            currency: record.currency,
            state: record.state,
            failure: record.failure,
            created_at: rfc3339(record.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EarningsView {
    /// Available: can be paid out or moved to the wallet.
    pub earnings_cents: i64,
    /// Shares of sales still in their clearing period.
    pub pending_cents: i64,
    /// Whether payouts can be made to you (a verified creator).
    pub payouts_enabled: bool,
    pub currency: String,
    /// The 50 newest sales, newest first.
    pub sales: Vec<SaleView>,
    /// The 20 newest payouts, newest first.
    pub payouts: Vec<OutflowView>,
}

#[derive(Serialize, ToSchema)]
pub struct Moved {
    pub wallet_cents: i64,
    pub earnings_cents: i64,
}
