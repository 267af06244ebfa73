//! url-signer's internal API over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cookies;
mod helpers;
mod rotation;
mod shutdown;
mod sign;
