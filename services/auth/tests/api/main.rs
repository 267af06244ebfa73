//! auth over HTTP against the MongoDB-compatible test server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod login;
mod signup;
mod tokens;
