//! edge over real HTTP, in front of a real S3 server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod cache;
mod helpers;
mod invalidation;
mod key_rotation;
mod serving;
mod shutdown;
mod vectors;
