//! Brute-force limits on login, kept in MongoDB so every replica sees the
//! same counts. Each attempt is counted *before* its password is hashed, in
//! one atomic step per budget, so a burst of parallel guesses cannot pass
//! the limit; an attempt that succeeds is uncounted again.
//!
//! A budget is one record holding its recent attempts and a version; every
//! change is a compare-and-swap on the version (read, change, write only if
//! nobody wrote in between, else again), which any MongoDB-compatible server
//! does atomically.
//!
//! The budgets, each over a sliding 15 minutes:
//! - a login name as typed (username or e-mail, lower-cased): 5 — a
//!   username and its e-mail have separate budgets, so a spent budget never
//!   tells which e-mail belongs to which account;
//! - a known device of an account (one that signed in before and presents
//!   its device token): 5, its own — a stranger spending an account's login
//!   budget does not lock its owner out of their own devices;
//! - a client address: 20, whatever it tries.
//!
//! Unknown accounts count like real ones, so the limits reveal nothing.
//!
//! Sign-ups have a budget of their own per client address (an IPv6 client
//! by its /64, which one subscriber usually holds whole): `AUTH_SIGNUPS_PER_HOUR`
//! accounts an hour (10 by default). Each costs a password hash, so an
//! unlimited stream of them would be a cheap way to burn auth's CPU. Only a
//! well-formed sign-up is counted, before its password is hashed; a
//! successful one stays counted.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const PER_LOGIN: usize = 5;
pub const PER_DEVICE: usize = 5;
pub const PER_ADDRESS: usize = 20;

/// The window of the sign-up budget.
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_SIGNUPS_PER_HOUR: usize = 10;

/// One limit: at most `limit` counted attempts under `key` in `window`
/// ([`WINDOW`] unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    key: String,
    limit: usize,
    window: Duration,
}

impl Budget {
    /// A login name as typed: `Alice ` and `alice` are one name.
    pub fn login(login: &str) -> Self {
        Self { key: format!("login:{}", login.trim().to_lowercase()), limit: PER_LOGIN, window: WINDOW }
    }

    /// One known device of one account (`device` is the device's stored id).
    pub fn device(device: &str) -> Self {
        Self { key: format!("device:{device}"), limit: PER_DEVICE, window: WINDOW }
    }

    pub fn address(ip: Option<IpAddr>) -> Self {
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        Self { key: format!("ip:{ip}"), limit: PER_ADDRESS, window: WINDOW }
    }

    /// Sign-ups from one client: an IPv4 address, or an IPv6 /64.
    pub fn signups(ip: Option<IpAddr>, per_hour: usize) -> Self {
        let client = match ip {
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                ipnet::Ipv6Net::new(v6, 64).map_or_else(|_| v6.to_string(), |net| net.trunc().to_string())
            }
            Some(ip) => ip.to_canonical().to_string(),
            None => "unknown".to_owned(),
        };
        Self { key: format!("signup:{client}"), limit: per_hour, window: SIGNUP_WINDOW }
    }
}

common::uuid_id!(
    /// One sign-in or sign-up attempt, as counted in each of its budgets.
    AttemptId,
    "attempt id"
);

#[derive(Debug, Serialize, Deserialize)]
struct Attempt {
    id: AttemptId,
    at: DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct Counted {
    #[serde(rename = "_id")]
    key: String,
    version: i64,
    attempts: Vec<Attempt>,
    expires_at: DateTime,
}

/// Compare-and-swap rounds before giving up: each round, one contender wins.
const MAX_ROUNDS: usize = 200;

/// The attempt as counted in each of its budgets.
#[derive(Debug)]
pub struct Reservation {
    id: AttemptId,
    budgets: Vec<Budget>,
}

#[derive(Clone)]
pub struct LoginLimiter {
    collection: Collection<Counted>,
}

impl LoginLimiter {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<Counted>("login_budgets");
        collection.create_index(common::mongo::expiring("expires_at", Duration::ZERO)).await?;
        Ok(Self { collection })
    }

    /// Counts one attempt in every budget, or in none: `Err(seconds to
    /// wait)` when one of them is spent.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reserve(&self, budgets: Vec<Budget>) -> anyhow::Result<Result<Reservation, u64>> {
        let id = AttemptId::mint();
        let mut counted = Vec::new();
        for budget in budgets {
            match self.count(&budget, &id).await? {
                Ok(()) => counted.push(budget),
                Err(wait) => {
                    self.uncount(&Reservation { id, budgets: counted }).await?;
                    return Ok(Err(wait));
                }
            }
        }
        Ok(Ok(Reservation { id, budgets: counted }))
    }

    /// The attempt succeeded: it no longer counts, and neither do the
    /// earlier failures in `cleared` (the budget it signed in through).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn succeeded(&self, reservation: Reservation, cleared: &Budget) -> anyhow::Result<()> {
        self.uncount(&reservation).await?;
        self.collection
            .update_one(
                doc! { "_id": &cleared.key },
                doc! { "$set": { "attempts": [] }, "$inc": { "version": 1 } },
            )
            .await?;
        Ok(())
    }

    async fn uncount(&self, reservation: &Reservation) -> anyhow::Result<()> {
        for budget in &reservation.budgets {
            let removed: Result<(), std::convert::Infallible> = self
                .change(budget, |attempts, _| {
                    attempts.retain(|attempt| attempt.id != reservation.id);
                    Ok(())
                })
                .await?;
            let Ok(()) = removed;
        }
        Ok(())
    }

    /// Adds attempt `id` to `budget` unless `limit` attempts are already in
    /// the window; `Err(seconds until a place frees)` when they are.
    async fn count(&self, budget: &Budget, id: &AttemptId) -> anyhow::Result<Result<(), u64>> {
        self.change(budget, |attempts, now| {
            if attempts.len() >= budget.limit {
                let oldest = attempts.iter().map(|a| a.at.to_system_time()).min().unwrap_or(now);
                let lifts = oldest + budget.window;
                return Err(lifts.duration_since(now).map_or(1, |d| d.as_secs().max(1)));
            }
            attempts.push(Attempt { id: id.clone(), at: DateTime::from_system_time(now) });
            Ok(())
        })
        .await
    }

    /// Applies `edit` to the budget's attempts in the window (older ones are
    /// dropped first) and writes the result only if nobody changed the
    /// budget meanwhile; otherwise reads and edits again. An `Err` from
    /// `edit` is answered as it is, nothing written.
    async fn change<T>(
        &self,
        budget: &Budget,
        edit: impl Fn(&mut Vec<Attempt>, SystemTime) -> Result<(), T>,
    ) -> anyhow::Result<Result<(), T>> {
        for _ in 0..MAX_ROUNDS {
            let now = SystemTime::now();
            let window_start = DateTime::from_system_time(now - budget.window);
            let current = self.collection.find_one(doc! { "_id": &budget.key }).await?;
            let (version, mut attempts) = match current {
                Some(counted) => (Some(counted.version), counted.attempts),
                None => (None, Vec::new()),
            };
            attempts.retain(|attempt| attempt.at > window_start);
            if let Err(refusal) = edit(&mut attempts, now) {
                return Ok(Err(refusal));
            }
            let expires_at = DateTime::from_system_time(now + budget.window);
            let written = match version {
                None => {
                    let counted = Counted { key: budget.key.clone(), version: 0, attempts, expires_at };
                    match self.collection.insert_one(&counted).await {
                        Ok(_) => true,
                        Err(err) if common::mongo::is_duplicate_key(&err) => false,
                        Err(err) => return Err(err.into()),
                    }
                }
                Some(version) => {
                    let attempts = mongodb::bson::to_bson(&attempts)?;
                    let swapped = self
                        .collection
                        .update_one(
                            doc! { "_id": &budget.key, "version": version },
                            doc! { "$set": { "attempts": attempts, "version": version + 1, "expires_at": expires_at } },
                        )
                        .await?;
                    swapped.matched_count == 1
                }
            };
            if written {
                return Ok(Ok(()));
            }
        }
        anyhow::bail!("the login budget {} is too contended", budget.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signups(ip: &str) -> String {
        Budget::signups(Some(ip.parse().unwrap_or_else(|_| panic!("{ip}"))), 10).key
    }

    #[test]
    fn an_ipv6_client_signs_up_by_its_64_and_an_ipv4_one_by_its_address() {
        assert_eq!(signups("2001:db8:1:2:aaaa::1"), signups("2001:db8:1:2:bbbb::9"));
        assert_ne!(signups("2001:db8:1:2::1"), signups("2001:db8:1:3::1"));
        assert_eq!(signups("203.0.113.7"), "signup:203.0.113.7");
        assert_eq!(signups("::ffff:203.0.113.7"), "signup:203.0.113.7", "an IPv4 client over IPv6");
        assert_ne!(signups("203.0.113.7"), signups("203.0.113.8"));
    }
}
