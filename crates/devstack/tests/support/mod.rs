//! What the stack's tests share (each test binary uses a part).
#![allow(dead_code)]

use devstack::{Stack, StackOptions};

/// The whole stack on any free ports, with a fresh data directory, on the
/// embedded servers (or the replica set `MONGODB_URI` names).
pub async fn start_stack() -> Stack {
    start_stack_with(None).await
}

/// The same, purging CloudFront caches through `invalidation` on removals.
pub async fn start_stack_with(invalidation: Option<media::config::InvalidationSettings>) -> Stack {
    testkit::init_logging();
    let data_dir = std::env::temp_dir().join(testkit::unique_name("devstack-public"));
    std::fs::create_dir_all(&data_dir).unwrap();
    Stack::start(StackOptions {
        data_dir,
        listen: "127.0.0.1:0".parse().unwrap(),
        mongodb_uri: std::env::var("MONGODB_URI").ok(),
        s3: None,
        invalidation,
    })
    .await
    .unwrap()
}
