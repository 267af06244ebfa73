use aws_sdk_s3::primitives::ByteStream;
use nix::sys::signal::Signal;
use testkit::stopping::{InFlight, ServiceProcess};

#[tokio::test]
async fn a_large_photo_being_served_at_sigterm_arrives_whole_and_edge_exits_zero() {
    let bucket = testkit::s3::bucket("edge-stop").await;
    // Larger than loopback's socket buffers: edge is still writing at the signal.
    let photo: Vec<u8> = (0..=255u8).cycle().take(24 << 20).collect();
    let client = testkit::s3::client(&bucket).await;
    let key = "public/previews/large.jpg";
    client
        .put_object()
        .bucket(&bucket.bucket)
        .key(key)
        .body(ByteStream::from(photo.clone()))
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let public_key = dir.path().join("public_key.pem");
    std::fs::write(&public_key, crate::helpers::vector_public_key("rsa").to_pem().unwrap()).unwrap();
    let mut env = testkit::s3::endpoint().env(&bucket.bucket);
    env.push(("EDGE_PUBLIC_KEYS", format!("{}={}", crate::helpers::KEY_ID, public_key.display())));
    let edge = ServiceProcess::start(env!("CARGO_BIN_EXE_edge"), &[], &env).await;
    let answer = edge.stop_during(InFlight::get(&format!("/{key}")), Signal::SIGTERM).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body == photo, "the photo arrived whole");
}
