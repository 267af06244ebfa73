//! The test servers are real: the MongoDB driver and the AWS SDK talk to
//! them over sockets, transactions commit, and SigV4 is enforced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_s3::primitives::ByteStream;
use mongodb::bson::{Document, doc};

#[tokio::test]
async fn mongodb_stores_and_finds_documents_and_commits_transactions() {
    let db = testkit::mongo::database("testkit").await;
    let accounts = db.collection::<Document>("accounts");
    accounts
        .insert_many([doc! { "_id": "alice", "cents": 500 }, doc! { "_id": "bob", "cents": 0 }])
        .await
        .unwrap();

    let found = accounts.find_one(doc! { "_id": "alice" }).await.unwrap().unwrap();
    assert_eq!(found.get_i32("cents").unwrap(), 500);

    // Move 200 cents in one multi-document transaction.
    let mut session = db.client().start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    accounts
        .update_one(doc! { "_id": "alice" }, doc! { "$inc": { "cents": -200 } })
        .session(&mut session)
        .await
        .unwrap();
    accounts
        .update_one(doc! { "_id": "bob" }, doc! { "$inc": { "cents": 200 } })
        .session(&mut session)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();

    // And abort one: nothing of it remains.
    session.start_transaction().await.unwrap();
    accounts
        .update_one(doc! { "_id": "alice" }, doc! { "$inc": { "cents": -300 } })
        .session(&mut session)
        .await
        .unwrap();
    session.abort_transaction().await.unwrap();

    let alice = accounts.find_one(doc! { "_id": "alice" }).await.unwrap().unwrap();
    let bob = accounts.find_one(doc! { "_id": "bob" }).await.unwrap().unwrap();
    assert_eq!(alice.get_i32("cents").unwrap(), 300);
    assert_eq!(bob.get_i32("cents").unwrap(), 200);
}

#[tokio::test]
async fn each_test_database_starts_empty() {
    let first = testkit::mongo::database("isolation").await;
    first.collection::<Document>("things").insert_one(doc! { "x": 1 }).await.unwrap();
    let second = testkit::mongo::database("isolation").await;
    assert_ne!(first.name(), second.name());
    assert_eq!(second.collection::<Document>("things").count_documents(doc! {}).await.unwrap(), 0);
}

#[tokio::test]
async fn s3_puts_and_gets_objects_with_valid_credentials() {
    let settings = testkit::s3::bucket("testkit").await;
    let client = testkit::s3::client(&settings).await;
    client
        .put_object()
        .bucket(&settings.bucket)
        .key("private/2026/11/28/m1/original.jpg")
        .content_type("image/jpeg")
        .body(ByteStream::from_static(b"not really a jpeg"))
        .send()
        .await
        .unwrap();
    let object = client
        .get_object()
        .bucket(&settings.bucket)
        .key("private/2026/11/28/m1/original.jpg")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("image/jpeg"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"not really a jpeg");
}

#[tokio::test]
async fn s3_refuses_a_wrong_secret_key() {
    let settings = testkit::s3::bucket("testkit").await;
    let mut wrong = settings.clone();
    wrong.credentials = Some((
        settings.credentials.as_ref().unwrap().0.clone(),
        common::secrecy::SecretString::from("definitely-not-the-secret".to_owned()),
    ));
    let client = testkit::s3::client(&wrong).await;
    let err = client
        .put_object()
        .bucket(&wrong.bucket)
        .key("x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("a wrong secret must be refused");
    let service_error = err.into_service_error();
    assert_eq!(service_error.meta().code(), Some("SignatureDoesNotMatch"), "{service_error:?}");
}
