//! media over HTTP, with real auth, S3 and MongoDB-compatible servers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod direct;
mod helpers;
mod marks;
mod removal;
mod shutdown;
mod upload;
