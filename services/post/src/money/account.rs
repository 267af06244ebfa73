//! The accounts money sits in (the ledger's and the transactions' shared vocabulary).

use common::ids::UserId;

/// Where money sits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Account {
    /// Spendable on purchases.
    Wallet(UserId),
    /// A creator's share of sales that have cleared: paid out, or moved to the wallet.
    Earnings(UserId),
    /// A creator's share of sales still within the clearing period.
    PendingEarnings(UserId),
    /// Wallet money held while a card payment that brought it is disputed.
    DisputeHold(UserId),
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

    /// The account a [`key`](Self::key) names; `None` for anything else.
    pub fn parse(key: &str) -> Option<Account> {
        let user = |id: &str| UserId::parse(id).ok();
        Some(match key.split_once(':') {
            Some(("wallet", id)) => Account::Wallet(user(id)?),
            Some(("earnings", id)) => Account::Earnings(user(id)?),
            Some(("pending", id)) => Account::PendingEarnings(user(id)?),
            Some(("disputed", id)) => Account::DisputeHold(user(id)?),
            Some(("external", "cards")) => Account::Cards,
            Some(("external", "dev")) => Account::DevTopups,
            Some(("external", "payouts")) => Account::Payouts,
            None if key == "platform" => Account::Platform,
            _ => return None,
        })
    }

    /// The outside world: no stored balance.
    pub fn is_external(&self) -> bool {
        matches!(self, Account::Cards | Account::DevTopups | Account::Payouts)
    }

    pub(crate) fn user(&self) -> Option<&UserId> {
        match self {
            Account::Wallet(user)
            | Account::Earnings(user)
            | Account::PendingEarnings(user)
            | Account::DisputeHold(user) => Some(user),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_is_read_back_from_its_key() {
        let user = UserId::mint();
        let all = [
            Account::Wallet(user.clone()),
            Account::Earnings(user.clone()),
            Account::PendingEarnings(user.clone()),
            Account::DisputeHold(user.clone()),
            Account::Platform,
            Account::Cards,
            Account::DevTopups,
            Account::Payouts,
        ];
        for account in all {
            assert_eq!(Account::parse(&account.key()), Some(account));
        }
        for stranger in
            ["", "wallet:", "wallet:u1", "platform:x", "external:bank", &format!("savings:{user}")]
        {
            assert_eq!(Account::parse(stranger), None, "{stranger}");
        }
    }
}
