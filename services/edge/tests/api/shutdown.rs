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

/// A viewer that stops reading mid-photo does not hold edge open past its
/// grace: at the end of `SHUTDOWN_GRACE` the connection is closed and edge
/// has stopped.
#[tokio::test]
async fn a_viewer_that_never_finishes_reading_is_cut_at_the_end_of_the_grace() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let bucket = testkit::s3::bucket("edge-grace").await;
    let key = "public/previews/stalled.jpg";
    let client = testkit::s3::client(&bucket).await;
    let photo: Vec<u8> = (0..=255u8).cycle().take(24 << 20).collect();
    client.put_object().bucket(&bucket.bucket).key(key).body(ByteStream::from(photo)).send().await.unwrap();
    let mut config = crate::helpers::vector_config(bucket);
    config.http.shutdown_grace = Duration::from_secs(1);
    let app = edge::build(config).await.unwrap();
    let (port, handle) = (app.port(), app.handle());
    let running = tokio::spawn(app.run_until_stopped());

    let mut viewer = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    viewer.write_all(format!("GET /{key} HTTP/1.1\r\nHost: edge\r\n\r\n").as_bytes()).await.unwrap();
    let mut first = [0u8; 4096];
    viewer.read_exact(&mut first).await.unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"));

    let asked = Instant::now();
    handle.stop(true).await;
    tokio::time::timeout(Duration::from_secs(5), running).await.expect("edge stopped").unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(4), "stopped {:?} after being asked", asked.elapsed());
    let mut rest = Vec::new();
    let _ =
        tokio::time::timeout(Duration::from_secs(5), viewer.read_to_end(&mut rest)).await.expect("closed");
    assert!(rest.len() + first.len() < 24 << 20, "cut before the end ({} bytes)", rest.len());
}
