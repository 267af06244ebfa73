//! What every Shutter service shares. Each module is one concern; a service
//! composes them through [`server::ServiceServer`].

pub mod client_ip;
pub mod config;
pub mod health;
pub mod internal_auth;
pub mod internal_client;
pub mod metrics;
pub mod mongo;
pub mod private_file;
pub mod problem;
pub mod request_id;
pub mod s3;
pub mod server;
pub mod telemetry;
pub mod user_auth;

pub use problem::Problem;
pub use request_id::RequestId;
pub use secrecy;
