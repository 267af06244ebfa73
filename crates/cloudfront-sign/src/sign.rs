//! Signed URLs and cookies, laid out as botocore lays them out: the URL as
//! given (no re-encoding), then `Expires` or `Policy`, `Signature`,
//! `Key-Pair-Id`, and `Hash-Algorithm=SHA256` last when SHA-256 is used.

use crate::keys::{KeyError, PrivateKey};
use crate::{HashAlgorithm, Policy, encoding};

/// Why nothing was signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A start at or after the expiry: a URL no request could ever use (the
    /// AWS SDKs' shared signing cases require this refusal).
    #[error("the start time {starts} is not before the expiry {expires}")]
    EmptyWindow { starts: u64, expires: u64 },
}

/// Signs with one key under one CloudFront key id.
#[derive(Debug, Clone)]
pub struct Signer {
    key_id: String,
    key: PrivateKey,
    hash: HashAlgorithm,
}

/// The `CloudFront-*` cookies that stand in for a signed URL's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCookies {
    pub expires: Option<u64>,
    pub policy: Option<String>,
    pub signature: String,
    pub key_pair_id: String,
    pub hash_algorithm: Option<&'static str>,
}

impl SignedCookies {
    /// Cookie names and values, in the order they are usually set.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(4);
        if let Some(expires) = self.expires {
            pairs.push(("CloudFront-Expires", expires.to_string()));
        }
        if let Some(policy) = &self.policy {
            pairs.push(("CloudFront-Policy", policy.clone()));
        }
        pairs.push(("CloudFront-Signature", self.signature.clone()));
        pairs.push(("CloudFront-Key-Pair-Id", self.key_pair_id.clone()));
        if let Some(hash) = self.hash_algorithm {
            pairs.push(("CloudFront-Hash-Algorithm", hash.to_owned()));
        }
        pairs
    }
}

impl Signer {
    pub fn new(key_id: impl Into<String>, key: PrivateKey, hash: HashAlgorithm) -> Self {
        Self { key_id: key_id.into(), key, hash }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    /// CloudFront's base64 of the signature over `policy_json`.
    pub fn signature(&self, policy_json: &[u8]) -> Result<String, KeyError> {
        Ok(encoding::encode(&self.key.sign(policy_json, self.hash)?))
    }

    /// A canned-policy URL: valid for exactly `url` until `expires`.
    pub fn canned_url(&self, url: &str, expires: u64) -> Result<String, SignError> {
        self.url(url, &Policy::canned(url, expires))
    }

    /// A signed URL for `url` under `policy`: canned when the policy says no
    /// more than "this URL until then", custom otherwise.
    pub fn url(&self, url: &str, policy: &Policy) -> Result<String, SignError> {
        let json = signable(policy)?;
        let signature = self.signature(json.as_bytes())?;
        let canned = policy.is_canned_form() && policy.resource.as_deref() == Some(url);
        let mut out = String::with_capacity(url.len() + json.len() * 4 / 3 + signature.len() + 64);
        out.push_str(url);
        out.push(if url.contains('?') { '&' } else { '?' });
        if canned {
            out.push_str("Expires=");
            out.push_str(&policy.date_less_than.to_string());
        } else {
            out.push_str("Policy=");
            out.push_str(&encoding::encode(json.as_bytes()));
        }
        out.push_str("&Signature=");
        out.push_str(&signature);
        out.push_str("&Key-Pair-Id=");
        out.push_str(&self.key_id);
        if let Some(hash) = self.hash.parameter() {
            out.push_str("&Hash-Algorithm=");
            out.push_str(hash);
        }
        Ok(out)
    }

    /// Signed cookies for `policy`: canned (`CloudFront-Expires`) when the
    /// policy names one exact URL without conditions, custom otherwise.
    pub fn cookies(&self, policy: &Policy) -> Result<SignedCookies, SignError> {
        let json = signable(policy)?;
        let canned = policy.is_canned_form() && policy.resource.as_deref().is_some_and(|r| !r.contains('*'));
        Ok(SignedCookies {
            expires: canned.then_some(policy.date_less_than),
            policy: (!canned).then(|| encoding::encode(json.as_bytes())),
            signature: self.signature(json.as_bytes())?,
            key_pair_id: self.key_id.clone(),
            hash_algorithm: self.hash.parameter(),
        })
    }
}

/// The policy's text, if it can ever grant a request.
fn signable(policy: &Policy) -> Result<String, SignError> {
    match policy.date_greater_than {
        Some(starts) if starts >= policy.date_less_than => {
            Err(SignError::EmptyWindow { starts, expires: policy.date_less_than })
        }
        _ => Ok(policy.to_json()),
    }
}
