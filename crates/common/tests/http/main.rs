//! The common crate's behaviour over real HTTP: services built with
//! `common::server` on port 0, talked to with a real client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod internal_auth;
mod observability;
mod problem;
mod request_id;
mod user_auth;
