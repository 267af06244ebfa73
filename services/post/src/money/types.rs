//! Wallets' and purchases' request and answer bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::store::LedgerKind;

#[derive(Serialize, ToSchema)]
pub struct PurchaseView {
    pub post_id: String,
    pub price_cents: u64,
    /// RFC 3339.
    pub purchased_at: String,
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

#[derive(Serialize, ToSchema)]
pub struct WalletView {
    pub balance_cents: i64,
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
