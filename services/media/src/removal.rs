//! Removing a media item — a moderator's takedown or its owner's deletion —
//! and the follow-up work that must not be lost.
//!
//! The request itself marks the record removed (post stops signing it) and
//! deletes every object from S3; both are idempotent, so a failed request is
//! simply retried. What follows goes through an outbox in MongoDB, retried
//! with backoff until it succeeds and never holding up the deletion:
//! telling post (its posts then show the photo as unavailable) and one
//! CloudFront invalidation of every path, whose caller reference is derived
//! from the media id so a retry is the same invalidation, not a second one.

use std::sync::Arc;
use std::time::Duration;

use cloudfront_api::CloudFront;
use common::backoff::Backoff;
use common::contract::photos::{PhotoRemoved, removed_path};
use common::ids::{DistributionId, InvalidationId, MediaId};
use common::internal_client::ServiceClient;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;

/// Where invalidations go; absent on a local stack without CloudFront.
#[derive(Clone)]
pub struct Invalidations {
    pub cloudfront: CloudFront,
    pub distribution_id: DistributionId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Invalidation {
    Pending,
    Created {
        id: InvalidationId,
    },
    /// No distribution is configured (a local stack): nothing to purge.
    Skipped,
}

/// One removal's follow-up work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemovalTask {
    #[serde(rename = "_id")]
    pub media_id: MediaId,
    /// URL paths to purge from CloudFront's caches.
    pub paths: Vec<String>,
    pub post_notified: bool,
    pub invalidation: Invalidation,
    pub attempts: u32,
    pub next_attempt_at: DateTime,
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_at: DateTime,
    #[serde(default)]
    pub completed_at: Option<DateTime>,
}

#[derive(Clone)]
pub struct Removals {
    pub tasks: Collection<RemovalTask>,
    pub post: Option<ServiceClient>,
    pub invalidations: Option<Invalidations>,
    wake: Arc<Notify>,
}

const POLL_EVERY: Duration = Duration::from_secs(5);
/// How long a claimed task is left to the replica working it.
const LEASE: Duration = Duration::from_secs(120);

impl Removals {
    pub async fn new(
        db: &Database,
        post: Option<ServiceClient>,
        invalidations: Option<Invalidations>,
    ) -> anyhow::Result<Self> {
        let tasks = db.collection::<RemovalTask>("removals");
        tasks
            .create_index(
                IndexModel::builder().keys(doc! { "completed_at": 1, "next_attempt_at": 1 }).build(),
            )
            .await?;
        Ok(Self { tasks, post, invalidations, wake: Arc::new(Notify::new()) })
    }

    /// Records the follow-up work for media `media_id`, whose objects are
    /// `keys` (once, however often asked) and wakes the worker.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn enqueue(&self, media_id: &MediaId, keys: &[String]) -> anyhow::Result<()> {
        let paths: Vec<String> = keys.iter().map(|key| format!("/{key}")).collect();
        let now = DateTime::now();
        let task = RemovalTask {
            media_id: media_id.clone(),
            paths,
            post_notified: false,
            invalidation: Invalidation::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            completed_at: None,
        };
        let insert = doc! { "$setOnInsert": mongodb::bson::to_document(&task)? };
        self.tasks.update_one(doc! { "_id": media_id }, insert).upsert(true).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Works the outbox until the process stops: woken by `enqueue`, and
    /// every few seconds for retries that have come due.
    pub fn start_worker(&self, workers: &common::shutdown::Workers) {
        let removals = self.clone();
        workers.spawn("removal outbox", async move {
            loop {
                if let Err(err) = removals.run_due().await {
                    tracing::warn!(error = format!("{err:#}"), "removal outbox unavailable; will retry");
                }
                tokio::select! {
                    () = removals.wake.notified() => {}
                    () = tokio::time::sleep(POLL_EVERY) => {}
                }
            }
        });
    }

    /// Runs every task that is due now. Each is claimed first (its next
    /// attempt pushed a lease ahead), so replicas never work one together.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn run_due(&self) -> anyhow::Result<()> {
        loop {
            let now = DateTime::now();
            let lease = DateTime::from_system_time(std::time::SystemTime::now() + LEASE);
            let claimed = self
                .tasks
                .find_one_and_update(
                    doc! { "completed_at": null, "next_attempt_at": { "$lte": now } },
                    doc! { "$set": { "next_attempt_at": lease } },
                )
                .await?;
            match claimed {
                Some(task) => self.run(task).await?,
                None => return Ok(()),
            }
        }
    }

    async fn run(&self, mut task: RemovalTask) -> anyhow::Result<()> {
        let mut failures = Vec::new();
        if !task.post_notified {
            match self.notify_post(&task.media_id).await {
                Ok(()) => task.post_notified = true,
                Err(err) => failures.push(format!("post: {err:#}")),
            }
        }
        if task.invalidation == Invalidation::Pending {
            match self.invalidate(&task).await {
                Ok(state) => task.invalidation = state,
                Err(err) => failures.push(format!("{err:#}")),
            }
        }
        let id = task.media_id.clone();
        if failures.is_empty() {
            task.completed_at = Some(DateTime::now());
            task.last_error = None;
            tracing::info!(media_id = %id, invalidation = ?task.invalidation, "removal follow-up done");
        } else {
            task.attempts += 1;
            let wait = Backoff::BACKGROUND.after(task.attempts);
            task.next_attempt_at = DateTime::from_system_time(std::time::SystemTime::now() + wait);
            task.last_error = Some(failures.join("; "));
            tracing::warn!(
                media_id = %id,
                attempts = task.attempts,
                retry_in_s = wait.as_secs(),
                error = task.last_error,
                "removal follow-up failed; will retry"
            );
        }
        self.tasks.replace_one(doc! { "_id": &id }, &task).await?;
        Ok(())
    }

    async fn notify_post(&self, media_id: &MediaId) -> anyhow::Result<()> {
        let Some(post) = &self.post else {
            tracing::warn!(%media_id, "no POST_URL configured: posts are not told this photo is gone");
            return Ok(());
        };
        let _: PhotoRemoved = post.post_json_idempotent(&removed_path(media_id), &json!({})).await?;
        Ok(())
    }

    async fn invalidate(&self, task: &RemovalTask) -> anyhow::Result<Invalidation> {
        let Some(target) = &self.invalidations else {
            tracing::info!(
                media_id = %task.media_id,
                "no CloudFront distribution configured: cache invalidation skipped"
            );
            return Ok(Invalidation::Skipped);
        };
        let reference = cloudfront_api::caller_reference(&["media-removal", task.media_id.as_str()]);
        let id =
            target.cloudfront.invalidate(target.distribution_id.as_str(), &reference, &task.paths).await?;
        let id = InvalidationId::parse(&id)?;
        tracing::info!(media_id = %task.media_id, invalidation_id = %id, "CloudFront invalidation created");
        Ok(Invalidation::Created { id })
    }
}
