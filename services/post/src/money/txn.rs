//! Running a MongoDB transaction to its end: committed, refused, or given up
//! with 503 when the database does not let it through within the budget;
//! and the lease by which one request holds a record (a refund, a credit)
//! until its transaction is done.
//!
//! ```ignore
//! let mut attempts = Attempts::new(&client);
//! let done: Result<T, Refusal> = transaction!(attempts, |session| {
//!     collection.update_one(filter, update).session(&mut *session).await?;
//!     Ok(value)
//! });
//! ```

use std::time::{Duration, Instant};

use mongodb::bson::{Bson, DateTime, doc};
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::{Client, ClientSession, Collection};

use crate::error::PostError;
use crate::money::account::Account;

/// How often a transaction (or its commit) is retried before giving up with 503.
const MAX_ATTEMPTS: usize = 50;
/// How long a transaction may keep being retried: a client waiting longer
/// than this is better told 503 and to come back (its Idempotency-Key makes
/// that safe).
pub const RETRY_BUDGET: Duration = Duration::from_secs(10);

/// Why a transaction's body stopped before committing.
#[derive(Debug)]
pub enum Stop {
    Db(mongodb::error::Error),
    /// A guarded debit `Account` could not cover: the transaction is aborted.
    Short(Account),
    /// Anything else that must abort the transaction and answer the client.
    Refuse(PostError),
}

impl From<mongodb::error::Error> for Stop {
    fn from(err: mongodb::error::Error) -> Self {
        Stop::Db(err)
    }
}

impl From<PostError> for Stop {
    fn from(err: PostError) -> Self {
        Stop::Refuse(err)
    }
}

/// What ended a transaction without committing it.
#[derive(Debug)]
pub enum Refusal {
    Short(Account),
    Error(PostError),
}

impl From<PostError> for Refusal {
    fn from(err: PostError) -> Self {
        Refusal::Error(err)
    }
}

impl From<mongodb::error::Error> for Refusal {
    fn from(err: mongodb::error::Error) -> Self {
        Refusal::Error(err.into())
    }
}

impl From<Refusal> for PostError {
    /// For callers with no better words for a shortfall than a conflict.
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Short(_) => PostError::Conflict("The balance does not cover this."),
            Refusal::Error(err) => err,
        }
    }
}

pub struct Attempts<'c> {
    client: &'c Client,
    deadline: Instant,
    started: usize,
}

impl<'c> Attempts<'c> {
    pub fn new(client: &'c Client) -> Self {
        Self { client, deadline: Instant::now() + RETRY_BUDGET, started: 0 }
    }

    /// Whether time is left for another try (of a transaction or of anything
    /// else retried under the same budget).
    pub fn time_left(&self) -> bool {
        Instant::now() < self.deadline && self.started < MAX_ATTEMPTS
    }

    /// A session with a transaction started, or `None` when the budget is spent.
    pub async fn start(&mut self) -> Result<Option<ClientSession>, PostError> {
        if !self.time_left() {
            return Ok(None);
        }
        self.started += 1;
        let mut session = self.client.start_session().await?;
        session.start_transaction().await?;
        Ok(Some(session))
    }

    /// Commits on success; aborts otherwise. `Ok(None)`: run the body again.
    pub async fn finish<T>(
        &self,
        session: &mut ClientSession,
        outcome: Result<T, Stop>,
    ) -> Result<Option<T>, Refusal> {
        match outcome {
            Ok(value) => {
                for _attempt in 0..MAX_ATTEMPTS {
                    if Instant::now() > self.deadline {
                        break;
                    }
                    match session.commit_transaction().await {
                        Ok(()) => return Ok(Some(value)),
                        Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
                        Err(err) if is_transient(&err) => return Ok(None),
                        Err(err) => return Err(err.into()),
                    }
                }
                Err(Refusal::Error(self.exhausted()))
            }
            Err(stop) => {
                let _ = session.abort_transaction().await;
                match stop {
                    Stop::Db(err) if is_transient(&err) => Ok(None),
                    Stop::Db(err) => Err(err.into()),
                    Stop::Short(account) => Err(Refusal::Short(account)),
                    Stop::Refuse(err) => Err(Refusal::Error(err)),
                }
            }
        }
    }

    /// The answer when the budget ran out.
    pub fn exhausted(&self) -> PostError {
        PostError::Unavailable("the database")
    }
}

/// Retry the whole transaction: MongoDB's `TransientTransactionError`, or a
/// bare write conflict (code 112), which some servers send unlabelled.
fn is_transient(err: &mongodb::error::Error) -> bool {
    err.contains_label(TRANSIENT_TRANSACTION_ERROR)
        || matches!(err.kind.as_ref(), mongodb::error::ErrorKind::Command(e) if e.code == 112)
}

/// A short pause between looks at something another request holds.
pub async fn pause() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// How long a claim on a record (a purchase being refunded, a top-up being
/// credited) holds before another request may take it over: the holder died.
pub const LEASE: Duration = Duration::from_secs(30);

/// When a lease taken now runs out.
pub fn lease_until() -> DateTime {
    DateTime::from_system_time(std::time::SystemTime::now() + LEASE)
}

/// Whether a lease read from a record still holds.
pub fn lease_live(until: Option<DateTime>) -> bool {
    until.is_some_and(|until| until > DateTime::now())
}

/// Claims record `id` for one request in one atomic update: from the state
/// and lease it was read with to `busy` under a new lease. The new lease, or
/// `None` when another request moved the record first.
pub async fn claim<T: Send + Sync>(
    records: &Collection<T>,
    id: impl Into<Bson>,
    (state, lease): (impl Into<Bson>, Option<DateTime>),
    busy: impl Into<Bson>,
) -> Result<Option<DateTime>, PostError> {
    let until = lease_until();
    let as_read = doc! { "_id": id.into(), "state": state.into(), "lease_until": lease };
    let claim = doc! { "$set": { "state": busy.into(), "lease_until": until } };
    let claimed = records.update_one(as_read, claim).await?.modified_count == 1;
    Ok(claimed.then_some(until))
}

/// Runs `$body` (an `async` block's contents using `$session: &mut
/// ClientSession`, answering `Result<T, Stop>`) in a transaction until it
/// commits, is refused, or `$attempts` runs out: `Result<T, Refusal>`.
macro_rules! transaction {
    ($attempts:expr, |$session:ident| $body:block) => {
        loop {
            let mut session = match $attempts.start().await {
                Ok(Some(session)) => session,
                Ok(None) => break Err($crate::money::txn::Refusal::Error($attempts.exhausted())),
                Err(err) => break Err($crate::money::txn::Refusal::Error(err)),
            };
            let outcome: Result<_, $crate::money::txn::Stop> = async {
                let $session = &mut session;
                $body
            }
            .await;
            match $attempts.finish(&mut session, outcome).await {
                Ok(Some(done)) => break Ok(done),
                Ok(None) => continue,
                Err(refusal) => break Err(refusal),
            }
        }
    };
}
pub(crate) use transaction;
