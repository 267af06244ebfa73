//! Follows, the home feed and profile grids, likes and comments.

pub mod routes;
pub mod store;
pub mod types;

pub use store::Social;
