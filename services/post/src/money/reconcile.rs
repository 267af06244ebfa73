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

use serde::Serialize;

use crate::money::disputes::{ReversalKind, ReversalRecord, ReversalState};
use crate::money::ledger::{Account, SumBy};
use crate::money::outflows::{OutflowKind, OutflowRecord, OutflowState};
use crate::money::stripe::{ProviderError, Transfer};
use crate::money::subscriptions::store::{ChargeRecord, ChargeState};
use crate::money::topups::TopupRecord;
use crate::money::{Money, Payments};

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
    /// Net money in by card, by the ledger (top-ups and card subscriptions, less card refunds).
    pub cards_in_cents: i64,
    /// The same, by the records the provider's events confirmed (top-ups, card subscriptions' invoices).
    pub confirmed_cards_in_cents: i64,
    /// Money created by the dev top-up.
    pub dev_topups_cents: i64,
    /// Money paid out (or on its way), by the ledger.
    pub payouts_cents: i64,
    /// The same, by the payout records.
    pub recorded_payouts_cents: i64,
    /// Top-ups, payouts, card refunds, disputes, dashboard refunds and subscription invoices checked with the provider (0 unless asked).
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

/// When the provider holds another amount than ours (`we_did`: what we did with it).
fn other_amount(said: &Transfer, ours: i64, we_did: &str) -> Option<String> {
    let theirs = said.amount.filter(|amount| *amount != ours)?;
    Some(format!("the provider holds {theirs} cents, we {we_did} {ours}"))
}

/// Where the provider's word on a payout or card refund differs from ours.
fn outflow_disagrees(outflow: &OutflowRecord, transfer: &Transfer) -> Option<String> {
    if let Some(problem) = other_amount(transfer, outflow.amount_cents, "recorded") {
        return Some(problem);
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

/// What the books hold, read once; each check below looks at it.
struct Books {
    /// Ledger entries summed per account key, and per operation.
    by_account: HashMap<String, i64>,
    by_operation: HashMap<String, i64>,
    /// Stored balances, by account key.
    stored: Vec<(String, i64)>,
    succeeded_topups: Vec<TopupRecord>,
    outflows: Vec<OutflowRecord>,
    reversals: Vec<ReversalRecord>,
    charges: Vec<ChargeRecord>,
}

/// Sums of the stored balances, by kind of account.
#[derive(Debug, Default, PartialEq, Eq)]
struct Held {
    wallets: i64,
    earnings: i64,
    pending: i64,
    disputed: i64,
    platform: i64,
}

impl Held {
    fn total(&self) -> i64 {
        self.wallets + self.earnings + self.pending + self.disputed + self.platform
    }
}

impl Books {
    async fn read(money: &Money) -> anyhow::Result<Books> {
        let mut stored = money.ledger.stored_balances().await?;
        stored.sort();
        let outflows = match &money.payments {
            Some(payments) => payments.outflows.all().await?,
            None => Vec::new(),
        };
        Ok(Books {
            by_account: money.ledger.sums(SumBy::Account).await?,
            by_operation: money.ledger.sums(SumBy::Operation).await?,
            stored,
            succeeded_topups: money.topups.succeeded().await?,
            reversals: money.reversals.all().await?,
            charges: money.subscriptions.store.all_charges().await?,
            outflows,
        })
    }

    fn external(&self, account: Account) -> i64 {
        self.by_account.get(&account.key()).copied().unwrap_or(0)
    }

    fn cards_in(&self) -> i64 {
        -self.external(Account::Cards)
    }

    fn dev_topups(&self) -> i64 {
        -self.external(Account::DevTopups)
    }

    fn paid_out(&self) -> i64 {
        self.external(Account::Payouts)
    }

    /// Card money in by the records: what top-ups brought less what went
    /// back to their cards, and card subscriptions' paid invoices less
    /// their card refunds (refunds of no top-up) not failed.
    fn confirmed_cards_in(&self) -> i64 {
        let topups: i64 = self.succeeded_topups.iter().map(|t| t.amount_cents - t.refunded_cents).sum();
        let invoices: i64 = self.charges.iter().filter(|c| c.invoice.is_some()).map(|c| c.amount_cents).sum();
        let back = |o: &&OutflowRecord| {
            o.kind == OutflowKind::CardRefund && o.topup_id.is_none() && o.state != OutflowState::Failed
        };
        let refunded: i64 = self.outflows.iter().filter(back).map(|o| o.amount_cents).sum();
        topups + invoices - refunded
    }

    /// Payouts out by their records: every one not failed.
    fn recorded_payouts(&self) -> i64 {
        let out = |o: &&OutflowRecord| o.kind == OutflowKind::Payout && o.state != OutflowState::Failed;
        self.outflows.iter().filter(out).map(|p| p.amount_cents).sum()
    }

    /// Every check that needs no provider; answers the balances' sums.
    fn check(&self, findings: &mut Findings) -> Held {
        self.operations_balance(findings);
        let held = self.balances_match_entries(findings);
        self.entries_have_balances(findings);
        self.money_is_conserved(&held, findings);
        self.outside_matches_records(findings);
        self.charges_match_operations(findings);
        held
    }

    /// Every subscription charge has its operations in the ledger (paid,
    /// refunded, cleared, as its record says), and every subscription
    /// payment in the ledger has its charge.
    fn charges_match_operations(&self, findings: &mut Findings) {
        let mut expected = std::collections::HashSet::new();
        for charge in self.charges.iter().filter(|c| c.amount_cents > 0) {
            let paid = charge.operation();
            let mut wanted = vec![paid.clone()];
            if charge.state == ChargeState::Refunded {
                wanted.push(format!("{paid}:refund"));
            }
            if !charge.pending && charge.share_cents() > 0 {
                wanted.push(format!("{}:cleared", charge.key));
            }
            for operation in wanted {
                if !self.by_operation.contains_key(&operation) {
                    findings.add(format!("charge {} has no operation {operation} in the ledger", charge.key));
                }
                expected.insert(operation);
            }
        }
        let mut strays: Vec<&String> = self
            .by_operation
            .keys()
            .filter(|op| op.starts_with("subscription:") && !expected.contains(*op))
            .collect();
        strays.sort();
        for operation in strays {
            findings.add(format!("operation {operation} has no subscription charge"));
        }
    }

    /// Every operation sums to zero.
    fn operations_balance(&self, findings: &mut Findings) {
        let mut operations: Vec<_> = self.by_operation.iter().filter(|(_, sum)| **sum != 0).collect();
        operations.sort();
        for (operation, sum) in operations {
            findings.add(format!("operation {operation} does not balance: {sum:+} cents"));
        }
    }

    /// Every stored balance is one of our accounts, equals its entries and
    /// is not negative (but the platform's); answers the sums by kind.
    fn balances_match_entries(&self, findings: &mut Findings) -> Held {
        let mut held = Held::default();
        for (key, cents) in &self.stored {
            let entries = self.by_account.get(key).copied().unwrap_or(0);
            if entries != *cents {
                findings.add(format!("{key} holds {cents} cents but its entries sum to {entries}"));
            }
            let account = Account::parse(key);
            if *cents < 0 && account != Some(Account::Platform) {
                findings.add(format!("{key} is negative: {cents} cents"));
            }
            match account {
                Some(Account::Wallet(_)) => held.wallets += cents,
                Some(Account::Earnings(_)) => held.earnings += cents,
                Some(Account::PendingEarnings(_)) => held.pending += cents,
                Some(Account::DisputeHold(_)) => held.disputed += cents,
                Some(Account::Platform) => held.platform += cents,
                Some(external) if external.is_external() => {
                    findings.add(format!("{key} is the outside world's and has a stored balance"));
                }
                _ => findings.add(format!("{key} is not an account")),
            }
        }
        held
    }

    /// No account of ours has entries but no stored balance.
    fn entries_have_balances(&self, findings: &mut Findings) {
        let mut orphans: Vec<_> = self
            .by_account
            .iter()
            .filter(|(key, sum)| {
                **sum != 0
                    && !Account::parse(key).is_some_and(|a| a.is_external())
                    && !self.stored.iter().any(|(stored, _)| stored == *key)
            })
            .collect();
        orphans.sort();
        for (key, sum) in orphans {
            findings.add(format!("{key} has entries summing to {sum} but no balance"));
        }
    }

    /// What our accounts hold is what came in less what went out.
    fn money_is_conserved(&self, held: &Held, findings: &mut Findings) {
        let came_in = self.cards_in() + self.dev_topups();
        if held.total() != came_in - self.paid_out() {
            findings.add(format!(
                "our accounts hold {} cents but {came_in} came in and {} went out",
                held.total(),
                self.paid_out()
            ));
        }
    }

    /// The ledger's card side is the top-ups the provider confirmed, less
    /// what went back; its payout side is the payout records.
    fn outside_matches_records(&self, findings: &mut Findings) {
        let (cards_in, confirmed) = (self.cards_in(), self.confirmed_cards_in());
        if cards_in != confirmed {
            findings.add(format!(
                "the ledger took {cards_in} cents in by card; confirmed top-ups and invoices less refunds are {confirmed}"
            ));
        }
        let (paid_out, recorded) = (self.paid_out(), self.recorded_payouts());
        if paid_out != recorded {
            findings.add(format!("the ledger paid out {paid_out} cents; payout records say {recorded}"));
        }
    }

    /// Every top-up, payout and card refund the provider holds for us, as it
    /// says now; answers how many were asked about.
    async fn provider_agrees(&self, payments: &Payments, findings: &mut Findings) -> usize {
        let mut checked = 0;
        for topup in &self.succeeded_topups {
            checked += 1;
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
        }
        for outflow in &self.outflows {
            let Some(provider_id) = &outflow.provider_id else { continue };
            checked += 1;
            let asked = match outflow.kind {
                OutflowKind::Payout => payments.stripe.payout(provider_id).await,
                OutflowKind::CardRefund => payments.stripe.refund_of(provider_id).await,
            };
            let subject = format!("{} {}", <&str>::from(outflow.kind), outflow.id);
            compare(findings, &subject, asked, |said| outflow_disagrees(outflow, said));
        }
        for reversal in &self.reversals {
            checked += 1;
            let asked = match reversal.kind {
                ReversalKind::Dispute => payments.stripe.dispute(&reversal.id).await,
                ReversalKind::ExternalRefund => payments.stripe.refund_of(&reversal.id).await,
            };
            let subject = format!("{} {}", <&str>::from(reversal.kind), reversal.id);
            compare(findings, &subject, asked, |said| reversal_disagrees(reversal, said));
        }
        for charge in &self.charges {
            let Some(invoice_id) = &charge.invoice else { continue };
            checked += 1;
            match payments.stripe.invoice(invoice_id).await {
                Ok(invoice)
                    if invoice.status.as_deref() == Some("paid")
                        && invoice.amount_paid == charge.amount_cents => {}
                Ok(invoice) => findings.add(format!(
                    "subscription charge {}: the provider says {} for {} cents",
                    charge.key,
                    invoice.status.as_deref().unwrap_or("nothing"),
                    invoice.amount_paid
                )),
                Err(err) => findings.add(format!(
                    "subscription charge {}: the provider could not be asked ({err:?})",
                    charge.key
                )),
            }
        }
        checked
    }
}

/// Records what the provider said of `subject` where it differs from ours,
/// or that it could not be asked.
fn compare(
    findings: &mut Findings,
    subject: &str,
    asked: Result<Transfer, ProviderError>,
    disagrees: impl FnOnce(&Transfer) -> Option<String>,
) {
    match asked {
        Ok(said) => {
            if let Some(problem) = disagrees(&said) {
                findings.add(format!("{subject}: {problem}"));
            }
        }
        Err(err) => findings.add(format!("{subject}: the provider could not be asked ({err:?})")),
    }
}

/// Where the provider's word on a dispute or a refund made at its dashboard
/// differs from what we applied.
fn reversal_disagrees(reversal: &ReversalRecord, said: &Transfer) -> Option<String> {
    if let Some(problem) = other_amount(said, reversal.amount_cents, "applied") {
        return Some(problem);
    }
    let status = said.status.as_str();
    let agrees = match (reversal.kind, reversal.state) {
        // Still open on our side: the provider's close may be on its way.
        (ReversalKind::Dispute, ReversalState::Open) => true,
        (ReversalKind::Dispute, ReversalState::Won) => matches!(status, "won" | "warning_closed"),
        (ReversalKind::Dispute, ReversalState::Reversed) => status == "lost",
        (ReversalKind::ExternalRefund, _) => matches!(status, "succeeded" | "pending"),
    };
    (!agrees).then(|| format!("the provider says {status}, we say {}", <&str>::from(reversal.state)))
}

pub async fn run(money: &Money, ask_provider: bool) -> anyhow::Result<Report> {
    let books = Books::read(money).await?;
    let mut findings = Findings::default();
    let held = books.check(&mut findings);
    let provider_checked = match (ask_provider, &money.payments) {
        (true, Some(payments)) => books.provider_agrees(payments, &mut findings).await,
        _ => 0,
    };
    Ok(Report {
        agrees: findings.count == 0,
        wallets_cents: held.wallets,
        earnings_cents: held.earnings,
        pending_earnings_cents: held.pending,
        disputed_cents: held.disputed,
        platform_cents: held.platform,
        cards_in_cents: books.cards_in(),
        confirmed_cards_in_cents: books.confirmed_cards_in(),
        dev_topups_cents: books.dev_topups(),
        payouts_cents: books.paid_out(),
        recorded_payouts_cents: books.recorded_payouts(),
        provider_checked,
        problem_count: findings.count,
        problems: findings.listed,
    })
}

#[cfg(test)]
mod tests {
    use common::ids::UserId;
    use mongodb::bson::DateTime;

    use super::*;
    use crate::money::{OutflowId, ProviderId, TopupId};

    fn outflow(state: OutflowState, amount_cents: i64) -> OutflowRecord {
        OutflowRecord {
            id: OutflowId::mint(),
            kind: OutflowKind::Payout,
            user_id: UserId::mint(),
            amount_cents,
            currency: "eur".into(),
            request_key: "k".into(),
            topup_id: None,
            intent_id: None,
            state,
            provider_id: Some(ProviderId::parse("po_1").unwrap()),
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
            id: ProviderId::parse("po_1").unwrap(),
            status: status.into(),
            amount: Some(amount),
            failure_message: None,
            failure_reason: None,
        }
    }

    /// The cases' users a, b and c, as the user ids accounts hold.
    const USERS: [(&str, &str); 3] = [
        ("a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        ("c", "cccccccccccccccccccccccccccccccc"),
    ];

    /// `wallet:b` as the books key it.
    fn keyed(account: &str) -> String {
        let named = USERS
            .iter()
            .find_map(|(short, id)| Some(format!("{}:{id}", account.strip_suffix(&format!(":{short}"))?)));
        named.unwrap_or_else(|| account.to_owned())
    }

    fn books(entries: &[(&str, &str, i64)], stored: &[(&str, i64)]) -> Books {
        let mut by_account = HashMap::new();
        let mut by_operation = HashMap::new();
        for (operation, account, cents) in entries {
            *by_account.entry(keyed(account)).or_insert(0) += cents;
            *by_operation.entry((*operation).to_owned()).or_insert(0) += cents;
        }
        Books {
            by_account,
            by_operation,
            stored: stored.iter().map(|(k, c)| (keyed(k), *c)).collect(),
            succeeded_topups: Vec::new(),
            outflows: Vec::new(),
            reversals: Vec::new(),
            charges: Vec::new(),
        }
    }

    /// What `check` found, its users named a, b and c again.
    fn problems(check: impl FnOnce(&mut Findings)) -> Vec<String> {
        let mut findings = Findings::default();
        check(&mut findings);
        let shortened = |text: String| USERS.iter().fold(text, |text, (short, id)| text.replace(id, short));
        findings.listed.into_iter().map(shortened).collect()
    }

    #[test]
    fn books_that_agree_have_no_findings() {
        let sale = [
            ("d", "wallet:b", 500),
            ("d", "external:dev", -500),
            ("p", "wallet:b", -300),
            ("p", "earnings:a", 270),
            ("p", "platform", 30),
        ];
        let books = books(&sale, &[("wallet:b", 200), ("earnings:a", 270), ("platform", 30)]);
        let mut findings = Findings::default();
        let held = books.check(&mut findings);
        assert_eq!(findings.listed, Vec::<String>::new());
        assert_eq!(held, Held { wallets: 200, earnings: 270, platform: 30, ..Held::default() });
    }

    #[test]
    fn each_check_names_what_is_wrong() {
        let lopsided = books(&[("op1", "wallet:b", 100), ("op1", "external:dev", -90)], &[]);
        assert_eq!(
            problems(|f| lopsided.operations_balance(f)),
            ["operation op1 does not balance: +10 cents"]
        );

        let drifted =
            books(&[("op", "wallet:b", 100)], &[("wallet:b", 120), ("wallet:c", -5), ("savings:x", 1)]);
        let found = problems(|f| {
            drifted.balances_match_entries(f);
        });
        assert!(
            found.contains(&"wallet:b holds 120 cents but its entries sum to 100".to_owned()),
            "{found:?}"
        );
        assert!(found.contains(&"wallet:c is negative: -5 cents".to_owned()));
        assert!(found.contains(&"savings:x is not an account".to_owned()));

        let platform_loss = books(&[], &[("platform", -1000)]);
        assert!(
            problems(|f| {
                platform_loss.balances_match_entries(f);
            })
            .iter()
            .all(|p| !p.contains("negative")),
            "the platform bears lost disputes"
        );

        let orphan = books(&[("op", "earnings:a", 50), ("op", "external:cards", -50)], &[]);
        assert_eq!(
            problems(|f| orphan.entries_have_balances(f)),
            ["earnings:a has entries summing to 50 but no balance"]
        );

        let created = books(&[("op", "external:dev", -100)], &[("wallet:b", 150)]);
        let held = Held { wallets: 150, ..Held::default() };
        assert_eq!(
            problems(|f| created.money_is_conserved(&held, f)),
            ["our accounts hold 150 cents but 100 came in and 0 went out"]
        );

        let unconfirmed = books(&[("op", "external:cards", -700)], &[]);
        assert_eq!(
            problems(|f| unconfirmed.outside_matches_records(f)),
            ["the ledger took 700 cents in by card; confirmed top-ups and invoices less refunds are 0"]
        );
    }

    #[test]
    fn a_dispute_or_dashboard_refund_must_be_what_the_provider_says() {
        let record = |kind, state| ReversalRecord {
            id: ProviderId::parse("dp_1").unwrap(),
            kind,
            topup_id: TopupId::mint(),
            user_id: UserId::mint(),
            amount_cents: 500,
            state,
            held_cents: 0,
            revoked: Vec::new(),
            loss_cents: 0,
            created_at: DateTime::now(),
            closed_at: None,
        };
        let (dispute, refund) = (ReversalKind::Dispute, ReversalKind::ExternalRefund);
        let agree = |r: &ReversalRecord, status: &str| reversal_disagrees(r, &said(status, 500)).is_none();
        assert!(agree(&record(dispute, ReversalState::Open), "under_review"));
        assert!(agree(&record(dispute, ReversalState::Open), "lost"), "its close may be on its way");
        assert!(agree(&record(dispute, ReversalState::Won), "won"));
        assert!(!agree(&record(dispute, ReversalState::Won), "lost"));
        assert!(agree(&record(dispute, ReversalState::Reversed), "lost"));
        assert!(!agree(&record(dispute, ReversalState::Reversed), "won"));
        assert!(agree(&record(refund, ReversalState::Reversed), "succeeded"));
        assert!(!agree(&record(refund, ReversalState::Reversed), "failed"));
        let other_amount = reversal_disagrees(&record(dispute, ReversalState::Won), &said("won", 400));
        assert_eq!(other_amount.as_deref(), Some("the provider holds 400 cents, we applied 500"));
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

    #[test]
    fn every_subscription_charge_is_in_the_ledger_and_every_subscription_payment_has_a_charge() {
        use crate::money::subscriptions::store::{ChargeRecord, ChargeState};
        use common::ids::SubscriptionId;
        let subscription = SubscriptionId::mint();
        let charge = |period: i64, state, pending| ChargeRecord {
            key: ChargeRecord::key_of(&subscription, period),
            subscription_id: subscription.clone(),
            subscriber_id: UserId::mint(),
            creator_id: UserId::mint(),
            period,
            amount_cents: 500,
            fee_cents: 50,
            state,
            pending,
            clears_at: DateTime::now(),
            created_at: DateTime::now(),
            invoice: None,
            intent: None,
        };
        let op = |suffix: &str| format!("subscription:{subscription}:{suffix}");
        let mut ledger = books(&[], &[]);
        for operation in [op("0"), op("1"), op("1:refund"), format!("{subscription}:0:cleared"), op("7")] {
            ledger.by_operation.insert(operation, 0);
        }
        ledger.charges = vec![
            charge(0, ChargeState::Paid, false),
            charge(1, ChargeState::Refunded, true),
            charge(2, ChargeState::Paid, true),
        ];
        let found = problems(|f| ledger.charges_match_operations(f));
        assert_eq!(
            found,
            [
                format!("charge {subscription}:2 has no operation {} in the ledger", op("2")),
                format!("operation {} has no subscription charge", op("7")),
            ]
        );
    }
}
