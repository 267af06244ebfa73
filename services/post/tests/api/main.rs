//! post over HTTP with real auth, media, url-signer, S3 and MongoDB servers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod card_subscriptions;
mod clearing;
mod concurrency;
mod config;
mod disputes;
mod helpers;
mod money;
mod notifications;
mod payments;
mod posts;
mod refunds;
mod safety;
mod shutdown;
mod social;
mod subscriptions;
mod webhook;
