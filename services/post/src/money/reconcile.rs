//! Whether the books agree: every stored balance is the sum of its ledger
//! entries, every operation sums to zero, nobody's balance is negative, and
//! the outside world's side of the ledger matches the records of what the
//! provider confirmed (card top-ups less what went back to the cards,
//! payouts) — and, when asked, the provider itself: the amount and state of
//! every top-up, payout and card refund it holds for us.
//!
//! The platform's own account may be negative: it bears what a lost
//! dispute could not take back ([`crate::money::disputes`]). Nobody else's may.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use serde::Serialize;

use crate::money::Money;
use crate::money::ledger::Account;
use crate::money::outflows::{OutflowKind, OutflowRecord, OutflowState};
use crate::money::stripe::Transfer;
use crate::money::topups::TopupRecord;
use crate::money::topups::TopupState;

/// At most this many problems are listed (the counts stay exact).
const MAX_LISTED: usize = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub agrees: bool,
    /// Sums of the stored balances.
    pub wallets_cents: i64,
    pub earnings_cents: i64,
    /// Creators' shares still in their clearing period.
    pub pending_earnings_cents: i64,
    /// Wallet money held while disputes are open.
    pub disputed_cents: i64,
    pub platform_cents: i64,
    /// Net money in by card, by the ledger (top-ups less card refunds).
    pub cards_in_cents: i64,
    /// The same, by the top-up records the provider's events confirmed.
    pub confirmed_cards_in_cents: i64,
    /// Money created by the dev top-up.
    pub dev_topups_cents: i64,
    /// Money paid out (or on its way), by the ledger.
    pub payouts_cents: i64,
    /// The same, by the payout records.
    pub recorded_payouts_cents: i64,
    /// Top-ups, payouts and card refunds checked with the provider (0 unless asked).
    pub provider_checked: usize,
    pub problem_count: usize,
    pub problems: Vec<String>,
}

#[derive(Default)]
struct Findings {
    count: usize,
    listed: Vec<String>,
}

impl Findings {
    fn add(&mut self, problem: String) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(problem);
        }
    }
}

/// Sums `amount_cents` of ledger entries grouped by `field`.
async fn sums(money: &Money, field: &str) -> anyhow::Result<HashMap<String, i64>> {
    let pipeline = [doc! { "$group": { "_id": format!("${field}"), "sum": { "$sum": "$amount_cents" } } }];
    let groups: Vec<Document> = money.ledger.entries.aggregate(pipeline).await?.try_collect().await?;
    Ok(groups
        .into_iter()
        .filter_map(|g| Some((g.get_str("_id").ok()?.to_owned(), number(&g, "sum"))))
        .collect())
}

fn number(document: &Document, key: &str) -> i64 {
    match document.get(key) {
        Some(mongodb::bson::Bson::Int64(n)) => *n,
        Some(mongodb::bson::Bson::Int32(n)) => i64::from(*n),
        Some(mongodb::bson::Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

/// Where the provider's word on a payout or card refund differs from ours.
fn outflow_disagrees(outflow: &OutflowRecord, transfer: &Transfer) -> Option<String> {
    if transfer.amount.is_some_and(|amount| amount != outflow.amount_cents) {
        return Some(format!(
            "the provider holds {} cents, we recorded {}",
            transfer.amount.unwrap_or_default(),
            outflow.amount_cents
        ));
    }
    let agrees = match outflow.state {
        OutflowState::Paid => transfer.done(),
        OutflowState::Failed => transfer.failed(),
        // Ours still open: the provider may have moved on and its event be on the way.
        OutflowState::Pending | OutflowState::Review => true,
    };
    (!agrees)
        .then(|| format!("the provider says {}, we say {}", transfer.status, <&str>::from(outflow.state)))
}

pub async fn run(money: &Money, ask_provider: bool) -> anyhow::Result<Report> {
    let mut findings = Findings::default();
    let by_account = sums(money, "account").await?;
    for (operation, sum) in sums(money, "operation").await? {
        if sum != 0 {
            findings.add(format!("operation {operation} does not balance: {sum:+} cents"));
        }
    }
    let (mut wallets, mut earnings, mut pending, mut disputed, mut platform) = (0, 0, 0, 0, 0);
    let mut stored: Vec<_> = money.ledger.balances.find(doc! {}).await?.try_collect().await?;
    stored.sort_by(|a, b| a.account.cmp(&b.account));
    for balance in &stored {
        let entries = by_account.get(&balance.account).copied().unwrap_or(0);
        if entries != balance.balance_cents {
            findings.add(format!(
                "{} holds {} cents but its entries sum to {entries}",
                balance.account, balance.balance_cents
            ));
        }
        if balance.balance_cents < 0 && balance.account != Account::Platform.key() {
            findings.add(format!("{} is negative: {} cents", balance.account, balance.balance_cents));
        }
        match balance.account.split_once(':') {
            Some(("wallet", _)) => wallets += balance.balance_cents,
            Some(("earnings", _)) => earnings += balance.balance_cents,
            Some(("pending", _)) => pending += balance.balance_cents,
            Some(("disputed", _)) => disputed += balance.balance_cents,
            _ if balance.account == Account::Platform.key() => platform += balance.balance_cents,
            _ => findings.add(format!("{} is not an account", balance.account)),
        }
    }
    for (account, sum) in &by_account {
        let external = account.starts_with("external:");
        if !external && sum != &0 && !stored.iter().any(|b| &b.account == account) {
            findings.add(format!("{account} has entries summing to {sum} but no balance"));
        }
    }
    let external = |account: Account| by_account.get(&account.key()).copied().unwrap_or(0);
    let cards_in_cents = -external(Account::Cards);
    let dev_topups_cents = -external(Account::DevTopups);
    let payouts_cents = external(Account::Payouts);
    let held = wallets + earnings + pending + disputed + platform;
    if held != cards_in_cents + dev_topups_cents - payouts_cents {
        findings.add(format!(
            "our accounts hold {held} cents but {} came in and {payouts_cents} went out",
            cards_in_cents + dev_topups_cents
        ));
    }

    let topups: Vec<TopupRecord> =
        money.topups.records.find(doc! { "state": TopupState::Succeeded }).await?.try_collect().await?;
    let confirmed_cards_in_cents: i64 = topups.iter().map(|t| t.amount_cents - t.refunded_cents).sum();
    if confirmed_cards_in_cents != cards_in_cents {
        findings.add(format!(
            "the ledger took {cards_in_cents} cents in by card; confirmed top-ups less refunds are {confirmed_cards_in_cents}"
        ));
    }
    let mut recorded_payouts_cents = 0;
    let mut outflows: Vec<OutflowRecord> = Vec::new();
    if let Some(payments) = &money.payments {
        outflows = payments.outflows.records.find(doc! {}).await?.try_collect().await?;
        let out = |o: &&OutflowRecord| o.kind == OutflowKind::Payout && o.state != OutflowState::Failed;
        recorded_payouts_cents = outflows.iter().filter(out).map(|p| p.amount_cents).sum();
    }
    if recorded_payouts_cents != payouts_cents {
        findings.add(format!(
            "the ledger paid out {payouts_cents} cents; payout records say {recorded_payouts_cents}"
        ));
    }

    let mut provider_checked = 0;
    if let (true, Some(payments)) = (ask_provider, &money.payments) {
        for topup in &topups {
            let Some(intent_id) = &topup.intent_id else {
                findings.add(format!("top-up {} was credited without a payment intent", topup.id));
                continue;
            };
            match payments.stripe.intent(intent_id).await {
                Ok(intent) if intent.status == "succeeded" && intent.amount == topup.amount_cents => {}
                Ok(intent) => findings.add(format!(
                    "top-up {}: the provider says {} for {} cents",
                    topup.id, intent.status, intent.amount
                )),
                Err(err) => {
                    findings.add(format!("top-up {}: the provider could not be asked ({err:?})", topup.id))
                }
            }
            provider_checked += 1;
        }
        for outflow in outflows.iter().filter(|o| o.provider_id.is_some()) {
            let Some(provider_id) = &outflow.provider_id else { continue };
            match payments.stripe.transfer(outflow.kind, provider_id).await {
                Ok(transfer) => {
                    if let Some(problem) = outflow_disagrees(outflow, &transfer) {
                        findings.add(format!("{} {}: {problem}", <&str>::from(outflow.kind), outflow.id));
                    }
                }
                Err(err) => findings.add(format!(
                    "{} {}: the provider could not be asked ({err:?})",
                    <&str>::from(outflow.kind),
                    outflow.id
                )),
            }
            provider_checked += 1;
        }
    }

    Ok(Report {
        agrees: findings.count == 0,
        wallets_cents: wallets,
        earnings_cents: earnings,
        pending_earnings_cents: pending,
        disputed_cents: disputed,
        platform_cents: platform,
        cards_in_cents,
        confirmed_cards_in_cents,
        dev_topups_cents,
        payouts_cents,
        recorded_payouts_cents,
        provider_checked,
        problem_count: findings.count,
        problems: findings.listed,
    })
}

#[cfg(test)]
mod tests {
    use mongodb::bson::DateTime;

    use super::*;

    fn outflow(state: OutflowState, amount_cents: i64) -> OutflowRecord {
        OutflowRecord {
            id: "o".into(),
            kind: OutflowKind::Payout,
            user_id: "u".into(),
            amount_cents,
            currency: "eur".into(),
            request_key: "k".into(),
            topup_id: None,
            intent_id: None,
            state,
            provider_id: Some("po_1".into()),
            failure: None,
            maybe_sent: true,
            attempts: 1,
            next_attempt_at: None,
            created_at: DateTime::now(),
            review_note: None,
        }
    }

    fn said(status: &str, amount: i64) -> Transfer {
        Transfer {
            id: "po_1".into(),
            status: status.into(),
            amount: Some(amount),
            failure_message: None,
            failure_reason: None,
        }
    }

    #[test]
    fn the_providers_amount_and_final_state_must_be_ours() {
        assert_eq!(outflow_disagrees(&outflow(OutflowState::Paid, 100), &said("paid", 100)), None);
        assert_eq!(outflow_disagrees(&outflow(OutflowState::Failed, 100), &said("canceled", 100)), None);
        assert!(outflow_disagrees(&outflow(OutflowState::Paid, 100), &said("paid", 90)).is_some());
        assert!(outflow_disagrees(&outflow(OutflowState::Paid, 100), &said("failed", 100)).is_some());
        assert!(outflow_disagrees(&outflow(OutflowState::Failed, 100), &said("paid", 100)).is_some());
        // Open on our side: the provider's event may still be on its way.
        for status in ["pending", "in_transit", "paid", "failed"] {
            assert_eq!(outflow_disagrees(&outflow(OutflowState::Pending, 100), &said(status, 100)), None);
        }
    }
}
