//! Leak tracing: a photo's owner (or a moderator) sends a suspected leaked
//! copy; the mark it carries, read against the clean display, names the
//! purchase and the buyer. Every trace is recorded here, and handed to
//! post's audit log by an outbox: the record is its own outbox entry
//! (`audited: false` until post has it), so a trace made while post is down,
//! or by the command line, reaches the log once post answers.

use std::sync::Arc;
use std::time::Duration;

use common::backoff::Backoff;
use common::contract::photos::{Traced, Tracer, traced_path};
use common::contract::users::{Accounts, LOOKUP_PATH, Lookup};
use common::ids::{MediaId, PurchaseId, SubscriptionId, UserId};
use common::internal_client::ServiceClient;
use common::request_id::RequestId;
use imaging::watermark::Detection;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::marks::MarkRecord;
use crate::records::Records;
use crate::types::{TraceBuyer, TraceResult};

pub use common::ids::TraceId;

/// How often traces post has not got yet are looked for (each trace also
/// wakes the forwarder at once).
const FORWARD_EVERY: Duration = Duration::from_secs(30);
/// How long one forwarder holds a trace before another may send it.
const LEASE: Duration = Duration::from_secs(60);

/// One trace, kept: who traced which photo, when, and what it found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceRecord {
    #[serde(rename = "_id")]
    pub id: TraceId,
    pub media_id: MediaId,
    /// A user id, or the operator CLI.
    pub by: String,
    pub at: DateTime,
    pub found: bool,
    pub mark_id: Option<i64>,
    pub purchase_id: Option<PurchaseId>,
    #[serde(default)]
    pub subscription_id: Option<SubscriptionId>,
    pub buyer_id: Option<UserId>,
    pub confidence: Option<f64>,
    /// The suspect file's SHA-256, to recognise the same file traced again.
    pub suspect_sha256: String,
    /// The request that traced (none from the command line).
    #[serde(default)]
    pub request_id: Option<RequestId>,
    /// Whether post's audit log has it (traces older than the log lack the
    /// field, and are not sent).
    #[serde(default = "already_audited")]
    pub audited: bool,
    /// When the forwarder may next send it.
    #[serde(default)]
    pub audit_due: Option<DateTime>,
    #[serde(default)]
    pub audit_attempts: u32,
}

fn already_audited() -> bool {
    true
}

impl TraceRecord {
    /// What post's audit log records of this trace of a photo `owner` owns.
    fn traced(&self, owner: UserId) -> Traced {
        let by = match self.by.strip_prefix("operator:") {
            Some(operator) => Tracer::Operator(operator.to_owned()),
            None => match UserId::parse(&self.by) {
                Ok(user) => Tracer::User(user),
                Err(_) => Tracer::Operator(self.by.clone()),
            },
        };
        Traced {
            trace_id: self.id.clone(),
            owner_id: owner,
            by,
            found: self.found,
            buyer_id: self.buyer_id.clone(),
            purchase_id: self.purchase_id.clone(),
            subscription_id: self.subscription_id.clone(),
            confidence: self.confidence,
            request_id: self.request_id.clone(),
            at_ms: self.at.timestamp_millis(),
        }
    }
}

#[derive(Clone)]
pub struct Traces {
    collection: Collection<TraceRecord>,
    wake: Arc<Notify>,
}

impl Traces {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<TraceRecord>("traces");
        collection
            .create_indexes([
                IndexModel::builder().keys(doc! { "media_id": 1, "at": -1 }).build(),
                IndexModel::builder().keys(doc! { "audited": 1, "audit_due": 1 }).build(),
            ])
            .await?;
        Ok(Self { collection, wake: Arc::default() })
    }

    /// Keeps `trace` and wakes the forwarder.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record(&self, trace: &TraceRecord) -> anyhow::Result<()> {
        self.collection.insert_one(trace).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Hands each trace to post's audit log until the process stops.
    pub fn start_forwarding(
        &self,
        post: ServiceClient,
        records: Records,
        workers: &common::shutdown::Workers,
    ) {
        let traces = self.clone();
        workers.spawn("trace audit outbox", async move {
            loop {
                if let Err(err) = traces.forward_due(&post, &records).await {
                    tracing::warn!(error = format!("{err:#}"), "traces not handed to post yet; will retry");
                }
                // Until the next retry comes due (a lease or a backoff), or a new trace.
                let wait = match traces.next_due().await {
                    Ok(Some(due)) => due.min(FORWARD_EVERY),
                    _ => FORWARD_EVERY,
                };
                tokio::select! {
                    () = traces.wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        });
    }

    /// How long until the earliest trace post does not have comes due.
    async fn next_due(&self) -> anyhow::Result<Option<Duration>> {
        let pending = doc! { "audited": false };
        let next = self.collection.find_one(pending).sort(doc! { "audit_due": 1 }).await?;
        Ok(next
            .and_then(|trace| trace.audit_due)
            .map(|due| due.to_system_time().duration_since(std::time::SystemTime::now()).unwrap_or_default()))
    }

    /// Sends every trace post does not have yet. Each is claimed first (its
    /// next attempt pushed a lease ahead); post records one trace once, so
    /// two replicas sending one is harmless.
    async fn forward_due(&self, post: &ServiceClient, records: &Records) -> anyhow::Result<()> {
        loop {
            let now = DateTime::now();
            let due = doc! { "audited": false, "audit_due": { "$lte": now } };
            let Some(trace) = self.collection.find_one(due).sort(doc! { "audit_due": 1 }).await? else {
                return Ok(());
            };
            let lease = DateTime::from_system_time(std::time::SystemTime::now() + LEASE);
            let as_read = doc! { "_id": &trace.id, "audit_due": trace.audit_due };
            let claim = doc! { "$set": { "audit_due": lease }, "$inc": { "audit_attempts": 1 } };
            if self.collection.update_one(as_read, claim).await?.modified_count == 0 {
                continue;
            }
            let Some(photo) = records.get(&trace.media_id).await? else {
                // The record outlives its photo's bytes, never its record.
                tracing::error!(trace_id = %trace.id, "a trace of no photo record; not sent");
                continue;
            };
            let body = trace.traced(photo.owner_id);
            // Idempotent at post: one entry per trace, however often told.
            match post.post_idempotent(&traced_path(&trace.media_id), &body).await {
                Ok(_) => {
                    let sent = doc! { "$set": { "audited": true, "audit_due": null } };
                    self.collection.update_one(doc! { "_id": &trace.id }, sent).await?;
                }
                Err(err) => {
                    let next =
                        std::time::SystemTime::now() + Backoff::BACKGROUND.after(trace.audit_attempts + 1);
                    let retry = doc! { "$set": { "audit_due": DateTime::from_system_time(next) } };
                    self.collection.update_one(doc! { "_id": &trace.id }, retry).await?;
                    return Err(anyhow::Error::from(err).context("post did not take a trace"));
                }
            }
        }
    }
}

/// A detection counts only when its mark is one media made for this photo.
pub async fn outcome(
    detection: Option<&Detection>,
    mark: Option<&MarkRecord>,
    auth: Option<&ServiceClient>,
) -> TraceResult {
    let (Some(detection), Some(mark)) = (detection, mark) else {
        return TraceResult {
            found: false,
            buyer: None,
            purchase_id: None,
            subscription_id: None,
            confidence: None,
        };
    };
    TraceResult {
        found: true,
        buyer: Some(TraceBuyer { id: mark.buyer_id.clone(), username: username(auth, &mark.buyer_id).await }),
        purchase_id: mark.purchase_id.clone(),
        subscription_id: mark.subscription_id.clone(),
        confidence: Some((detection.confidence * 1000.0).round() / 1000.0),
    }
}

/// The buyer's username from auth; `None` when auth cannot say now (the
/// id and the purchase still answer the question).
async fn username(auth: Option<&ServiceClient>, user_id: &UserId) -> Option<String> {
    let lookup = Lookup { ids: vec![user_id.clone()] };
    match auth?.post_json_idempotent::<_, Accounts>(LOOKUP_PATH, &lookup).await {
        Ok(accounts) => accounts.users.into_iter().find(|a| a.id == *user_id).map(|a| a.username),
        Err(err) => {
            tracing::warn!(error = %err, "usernames unavailable; tracing without one");
            None
        }
    }
}
