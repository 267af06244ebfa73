//! The internal API's wire types, written once and used by the service that
//! answers and the service that asks: a field renamed on one side is a
//! compile error on the other, not a runtime surprise.
//!
//! | module | served by | asked by |
//! |---|---|---|
//! | [`signing`] | url-signer | post (URLs), edge (public keys) |
//! | [`media`] | media | post (a photo's record), the moderation console (takedowns) |
//! | [`photos`] | post | media (who bought a photo; a photo is gone) |
//! | [`users`] | auth | post (usernames) |
//!
//! Each route is one [`route::InternalRoute`]: the server registers it, the
//! client builds its path from it, and its callers are [`route::Service`]s.

pub mod media;
pub mod photos;
pub mod route;
pub mod signing;
pub mod users;
