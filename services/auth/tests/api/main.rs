//! auth over HTTP against the MongoDB-compatible test server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod helpers;
mod login;
mod shutdown;
mod signup;
mod tokens;
