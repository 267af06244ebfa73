//! Wallets in integer cents, the ledger, purchases and top-ups.

pub mod routes;
pub mod store;
pub mod types;
pub mod webhook;

pub use store::Money;
