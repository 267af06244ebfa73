//! The removal outbox: a CloudFront invalidation that fails is recorded and
//! retried with backoff until it succeeds, once.

use cloudfront_api::{ApiSettings, CloudFront};
use common::ids::{DistributionId, MediaId, UserId};
use media::records::{MediaRecord, MediaStatus, Variant};
use media::removal::{Invalidation, Invalidations, RemovalTask, Removals};
use mongodb::bson::{DateTime, doc};

async fn invalidations_to(endpoint: &str, distribution_id: &str) -> Invalidations {
    let api = ApiSettings {
        endpoint: Some(endpoint.to_owned()),
        max_attempts: 1,
        ..testkit::cloudfront::settings()
    };
    Invalidations {
        cloudfront: CloudFront::new(&api).await,
        distribution_id: DistributionId::parse(distribution_id).unwrap(),
    }
}

fn object_keys(id: &MediaId) -> Vec<String> {
    removed_record(id).object_keys().map(str::to_owned).collect()
}

fn removed_record(id: &MediaId) -> MediaRecord {
    let variant = |name: &str| Variant {
        key: format!("private/2026/11/28/{id}/{name}.jpg"),
        width: 10,
        height: 10,
        bytes: 100,
        content_type: "image/jpeg".into(),
    };
    MediaRecord {
        id: id.clone(),
        owner_id: UserId::mint(),
        status: MediaStatus::TakenDown,
        failure: None,
        width: Some(10),
        height: Some(10),
        blurhash: None,
        sha256: None,
        variants: [("display".to_owned(), variant("display")), ("thumb".to_owned(), variant("thumb"))].into(),
        upload: None,
        created_at: DateTime::now(),
        removal: None,
        completing_until: None,
    }
}

async fn task(removals: &Removals, id: &MediaId) -> RemovalTask {
    removals.tasks.find_one(doc! { "_id": id }).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_failed_invalidation_is_retried_until_it_succeeds_and_made_once() {
    let db = testkit::mongo::database("removal").await;
    let distribution_id = testkit::cloudfront::distribution().await;
    let id = MediaId::mint();

    // CloudFront unreachable: the failure is recorded with a later retry.
    let down = Removals::new(&db, None, Some(invalidations_to("http://127.0.0.1:9", &distribution_id).await))
        .await
        .unwrap();
    down.enqueue(&id, &object_keys(&id)).await.unwrap();
    down.run_due().await.unwrap();
    let failed = task(&down, &id).await;
    assert_eq!(failed.invalidation, Invalidation::Pending);
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.as_deref().unwrap().contains("CreateInvalidation"), "{:?}", failed.last_error);
    assert!(failed.next_attempt_at > DateTime::now(), "retried later, not in a loop");
    assert!(failed.completed_at.is_none());
    down.run_due().await.unwrap();
    assert_eq!(task(&down, &id).await.attempts, 1, "not due yet");

    // Asked again meanwhile: still one task.
    down.enqueue(&id, &object_keys(&id)).await.unwrap();
    assert_eq!(task(&down, &id).await.attempts, 1);

    // CloudFront is back and the retry comes due.
    let up = Removals::new(
        &db,
        None,
        Some(invalidations_to(testkit::cloudfront::endpoint(), &distribution_id).await),
    )
    .await
    .unwrap();
    up.tasks
        .update_one(doc! { "_id": &id }, doc! { "$set": { "next_attempt_at": DateTime::now() } })
        .await
        .unwrap();
    up.run_due().await.unwrap();
    let done = task(&up, &id).await;
    assert!(matches!(done.invalidation, Invalidation::Created { .. }), "{:?}", done.invalidation);
    assert!(done.completed_at.is_some());
    up.run_due().await.unwrap();
    let made = testkit::cloudfront::invalidations(&distribution_id).await;
    assert_eq!(made.len(), 1, "one invalidation however often the task ran");
    assert_eq!(made[0].0, cloudfront_api::caller_reference(&["media-removal", id.as_str()]));
    assert_eq!(made[0].1.len(), 2);
}

#[tokio::test]
async fn without_a_distribution_the_invalidation_is_skipped() {
    let db = testkit::mongo::database("removal").await;
    let id = MediaId::mint();
    let removals = Removals::new(&db, None, None).await.unwrap();
    removals.enqueue(&id, &object_keys(&id)).await.unwrap();
    removals.run_due().await.unwrap();
    let done = task(&removals, &id).await;
    assert_eq!(done.invalidation, Invalidation::Skipped);
    assert!(done.completed_at.is_some());
}

#[tokio::test]
async fn two_replicas_never_work_one_task_together() {
    let db = testkit::mongo::database("removal").await;
    let distribution_id = testkit::cloudfront::distribution().await;
    let id = MediaId::mint();
    let replica = || async {
        Removals::new(
            &db,
            None,
            Some(invalidations_to(testkit::cloudfront::endpoint(), &distribution_id).await),
        )
        .await
        .unwrap()
    };
    let (first, second) = (replica().await, replica().await);
    first.enqueue(&id, &object_keys(&id)).await.unwrap();
    let (a, b) = tokio::join!(first.run_due(), second.run_due());
    a.unwrap();
    b.unwrap();
    assert!(task(&first, &id).await.completed_at.is_some());
    assert_eq!(testkit::cloudfront::invalidations(&distribution_id).await.len(), 1, "claimed by one replica");
}
