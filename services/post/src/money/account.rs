//! The accounts money sits in (the ledger's and the transactions' shared vocabulary).

/// Where money sits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Account {
    /// Spendable on purchases.
    Wallet(String),
    /// A creator's share of sales that have cleared: paid out, or moved to the wallet.
    Earnings(String),
    /// A creator's share of sales still within the clearing period.
    PendingEarnings(String),
    /// Wallet money held while a card payment that brought it is disputed.
    DisputeHold(String),
    /// Platform fees.
    Platform,
    /// Money that came in by card (and went back by card refund).
    Cards,
    /// Money created by the development top-up.
    DevTopups,
    /// Money sent out to creators' bank accounts.
    Payouts,
}

impl Account {
    pub fn key(&self) -> String {
        match self {
            Account::Wallet(user) => format!("wallet:{user}"),
            Account::Earnings(user) => format!("earnings:{user}"),
            Account::PendingEarnings(user) => format!("pending:{user}"),
            Account::DisputeHold(user) => format!("disputed:{user}"),
            Account::Platform => "platform".to_owned(),
            Account::Cards => "external:cards".to_owned(),
            Account::DevTopups => "external:dev".to_owned(),
            Account::Payouts => "external:payouts".to_owned(),
        }
    }

    /// The outside world: no stored balance.
    pub fn is_external(&self) -> bool {
        matches!(self, Account::Cards | Account::DevTopups | Account::Payouts)
    }

    pub(crate) fn user(&self) -> Option<&str> {
        match self {
            Account::Wallet(user)
            | Account::Earnings(user)
            | Account::PendingEarnings(user)
            | Account::DisputeHold(user) => Some(user),
            _ => None,
        }
    }
}
