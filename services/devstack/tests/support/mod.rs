//! What the stack's tests share (each test binary uses a part).
#![allow(dead_code)]

use devstack::{Stack, StackOptions};

pub mod nginx;
pub mod story;

/// The whole stack's options: any free ports, a fresh data directory, the
/// embedded servers (or the replica set `MONGODB_URI` names).
pub fn options() -> StackOptions {
    testkit::init_logging();
    StackOptions::on_any_ports(testkit::temp_folder("devstack"))
}

pub async fn start_stack() -> Stack {
    Stack::start(options()).await.unwrap()
}
