//! CloudFront signed URLs and cookies.
//!
//! - [`policy`]: canned and custom policies, their JSON text byte-for-byte as
//!   botocore's `CloudFrontSigner` writes it, and their evaluation (resource
//!   wildcards, dates, source IP) exactly as CloudFront reads them.
//! - [`encoding`]: CloudFront's URL-safe base64 and botocore's JSON escaping.
//! - [`keys`]: RSA-2048+ and ECDSA P-256 keys; private keys never print.
//! - [`sign`]: signed URLs and cookies.
//! - [`verify`]: checks a request's signed URL or cookies against a key
//!   group, with a precise reason on failure.
//!
//! Cryptography is OpenSSL's (through the `openssl` crate): of the engines
//! at hand it is the one that signs RSA with SHA-1 — CloudFront's default —
//! at OpenSSL's own speed (the pure-Rust `rsa` crate reaches about a quarter
//! of it; `aws-lc-rs` signs RSA only with SHA-256 and up).

pub mod encoding;
pub mod keys;
pub mod policy;
pub mod sign;
pub mod verify;

pub use keys::{KeyKind, PrivateKey, PublicKey};
pub use policy::Policy;
pub use sign::{SignError, SignedCookies, Signer};
pub use verify::{Denial, KeyGroup, SignedRequest};

/// The digest CloudFront applies before verifying a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// CloudFront's default; no `Hash-Algorithm` parameter.
    Sha1,
    /// Announced with `Hash-Algorithm=SHA256` (cookie `CloudFront-Hash-Algorithm`).
    Sha256,
}

impl HashAlgorithm {
    /// The value of the `Hash-Algorithm` parameter, if one is sent.
    pub fn parameter(self) -> Option<&'static str> {
        match self {
            HashAlgorithm::Sha1 => None,
            HashAlgorithm::Sha256 => Some("SHA256"),
        }
    }

    pub(crate) fn digest(self) -> openssl::hash::MessageDigest {
        match self {
            HashAlgorithm::Sha1 => openssl::hash::MessageDigest::sha1(),
            HashAlgorithm::Sha256 => openssl::hash::MessageDigest::sha256(),
        }
    }
}

impl std::str::FromStr for HashAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Ok(HashAlgorithm::Sha1),
            "SHA256" => Ok(HashAlgorithm::Sha256),
            _ => Err(format!("unsupported hash algorithm {s:?}; use SHA1 or SHA256")),
        }
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Sha1 => "SHA1",
            HashAlgorithm::Sha256 => "SHA256",
        })
    }
}
