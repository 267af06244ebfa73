//! Posts and the photos they show, as each viewer may see them.

pub mod access;
pub mod binding;
pub mod cookies;
pub mod copies;
pub mod routes;
pub mod store;
pub mod types;
pub mod views;

pub use store::{Photo, PostRecord, Posts};
