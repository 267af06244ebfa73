//! What every Shutter service shares. Each module is one concern; a service
//! composes them through [`server::start`] and [`server::run_main`].

pub mod backoff;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod contract;
pub mod health;
pub mod hop_by_hop;
pub mod ids;
pub mod internal_auth;
pub mod internal_client;
pub mod metrics;
#[cfg(feature = "mongo")]
pub mod mongo;
pub mod openapi;
pub mod path_guard;
pub mod private_file;
pub mod problem;
pub mod request_id;
pub mod respond;
#[cfg(feature = "s3")]
pub mod s3;
pub mod server;
pub mod shutdown;
pub mod stored;
pub mod suspensions;
pub mod telemetry;
pub mod user_auth;

pub use problem::Problem;

/// Whether two secrets (signatures, MACs) are equal, in time that does not
/// depend on where they first differ.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && openssl::memcmp::eq(given, expected)
}

/// Lower-case hex, for digests and signatures in storage and headers.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
/// SHA-256 of `bytes`, as lower-case hex: how tokens are stored (never the
/// tokens themselves) and objects fingerprinted.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&openssl::sha::sha256(bytes))
}

pub use request_id::RequestId;
pub use secrecy;

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(super::hex(&[]), "");
    }
}
