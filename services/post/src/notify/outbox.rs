//! The outbox: each event written with the action that caused it — in the
//! action's own transaction where it has one ([`Outbox::stage`],
//! [`Outbox::begin`]), just before a single-record write otherwise
//! ([`Outbox::insert_with`]) — so an action that happened is told and one
//! that did not is not; the relay delivers and then deletes it. An entry
//! stays until it is delivered: a crash is a later delivery, never a loss.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::error::PostError;
use crate::notify::{Event, EventId};

/// How long a relay holds an entry it took before another may take it
/// (the holder died); also the longest wait after a failed delivery.
const LEASE: Duration = Duration::from_secs(60);
/// How long an event staged before its action's write waits for the write
/// to confirm it before a relay checks whether the action happened.
const CONFIRM_WITHIN: Duration = Duration::from_secs(30);
/// How often a commit whose outcome the driver could not learn is retried.
const COMMIT_ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    #[serde(rename = "_id")]
    pub id: EventId,
    pub event: Event,
    /// When a relay may next take it: at once when staged, a lease ahead
    /// while one delivers it.
    pub due_at: DateTime,
    pub attempts: u32,
    pub staged_at: DateTime,
    /// Staged before its action's write, which has not been seen to
    /// succeed: told only if the action's record exists.
    #[serde(default = "confirmed")]
    pub confirmed: bool,
}

fn confirmed() -> bool {
    true
}

#[derive(Clone)]
pub struct Outbox {
    entries: Collection<OutboxEntry>,
    client: Client,
    /// Wakes this process's relay when an action committed an event.
    wake: Arc<Notify>,
}

/// A transaction begun for one write and the events it causes.
pub struct Staged<'o> {
    outbox: &'o Outbox,
    session: ClientSession,
}

impl Outbox {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let entries = db.collection::<OutboxEntry>("outbox");
        entries.create_index(IndexModel::builder().keys(doc! { "due_at": 1 }).build()).await?;
        Ok(Self { entries, client: db.client().clone(), wake: Arc::default() })
    }

    /// Adds `event` to the transaction `session` runs: call [`Outbox::wake`]
    /// once it committed.
    pub async fn stage(&self, session: &mut ClientSession, event: Event) -> mongodb::error::Result<()> {
        let now = DateTime::now();
        let entry = OutboxEntry {
            id: EventId::mint(),
            event,
            due_at: now,
            attempts: 0,
            staged_at: now,
            confirmed: true,
        };
        self.entries.insert_one(entry).session(session).await?;
        Ok(())
    }

    /// Tells the relay an event was committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(super) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// A transaction for one write whose events [`Staged::commit`] adds.
    pub async fn begin(&self) -> Result<Staged<'_>, PostError> {
        let mut session = self.client.start_session().await?;
        session.start_transaction().await?;
        Ok(Staged { outbox: self, session })
    }

    /// Inserts `record` and, when it is new, has `events` told: `false`
    /// (nothing written, nothing to tell) when a record with its id exists.
    ///
    /// Not one transaction: jongodb does not isolate transactions, so two
    /// inserting the same id at once would both succeed (a like counted
    /// twice); a plain insert's unique index refuses the second. Instead the
    /// events are staged first, unconfirmed and due only after
    /// [`CONFIRM_WITHIN`]; the insert's success confirms them (due now). A
    /// crash between the two leaves them unconfirmed, and the relay then
    /// tells them only if the record exists (the relay's `recorded`).
    pub async fn insert_with<T: Serialize + Send + Sync>(
        &self,
        records: &Collection<T>,
        record: &T,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<bool, PostError> {
        let now = SystemTime::now();
        let unconfirmed = DateTime::from_system_time(now + CONFIRM_WITHIN);
        let entries: Vec<OutboxEntry> = events
            .into_iter()
            .map(|event| OutboxEntry {
                id: EventId::mint(),
                event,
                due_at: unconfirmed,
                attempts: 0,
                staged_at: DateTime::from_system_time(now),
                confirmed: false,
            })
            .collect();
        let ids: Vec<&EventId> = entries.iter().map(|entry| &entry.id).collect();
        if !entries.is_empty() {
            self.entries.insert_many(&entries).await?;
        }
        let inserted = records.insert_one(record).await;
        let staged = doc! { "_id": { "$in": &ids } };
        match inserted {
            Ok(_) => {
                if !ids.is_empty() {
                    let confirmed = doc! { "$set": { "confirmed": true, "due_at": DateTime::now() } };
                    self.entries.update_many(staged, confirmed).await?;
                    self.wake();
                }
                Ok(true)
            }
            Err(err) => {
                self.entries.delete_many(staged).await?;
                if common::mongo::is_duplicate_key(&err) { Ok(false) } else { Err(err.into()) }
            }
        }
    }

    /// Entries no relay holds, oldest first.
    pub(super) async fn due(&self, limit: i64) -> mongodb::error::Result<Vec<OutboxEntry>> {
        let due = doc! { "due_at": { "$lte": DateTime::now() } };
        self.entries.find(due).sort(doc! { "due_at": 1 }).limit(limit).await?.try_collect().await
    }

    /// Takes `entry` for one delivery, unless another relay took it since it
    /// was read. Two relays delivering one entry is harmless (deliveries are
    /// idempotent); the lease only spares the work.
    pub(super) async fn take(&self, entry: &OutboxEntry) -> mongodb::error::Result<bool> {
        let as_read = doc! { "_id": &entry.id, "due_at": entry.due_at };
        let until = DateTime::from_system_time(SystemTime::now() + LEASE);
        let take = doc! { "$set": { "due_at": until }, "$inc": { "attempts": 1 } };
        Ok(self.entries.update_one(as_read, take).await?.modified_count == 1)
    }

    pub(super) async fn delivered(&self, id: &EventId) -> mongodb::error::Result<()> {
        self.entries.delete_one(doc! { "_id": id }).await?;
        Ok(())
    }
}

impl Staged<'_> {
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// Stages `events` and commits them with the write: both land, or
    /// neither (an error before the commit aborts both).
    pub async fn commit(mut self, events: impl IntoIterator<Item = Event>) -> Result<(), PostError> {
        for event in events {
            self.outbox.stage(&mut self.session, event).await?;
        }
        for _attempt in 0..COMMIT_ATTEMPTS {
            match self.session.commit_transaction().await {
                Ok(()) => {
                    self.outbox.wake();
                    return Ok(());
                }
                Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(PostError::Unavailable("the database"))
    }

    /// Ends the transaction without writing (its write found nothing to do).
    pub async fn abort(mut self) {
        let _ = self.session.abort_transaction().await;
    }
}
