//! Verification of signed URLs and cookies, as CloudFront performs it.
//!
//! The signing parameters are taken out of the query; what remains is the
//! URL the policy must cover. A canned policy is rebuilt from that URL and
//! its `Expires`; a custom policy is checked against it. Every refusal has a
//! precise [`Denial`] for the log and CloudFront's own code and message for
//! the client.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::keys::PublicKey;
use crate::policy::{Policy, PolicyError, Violation};
use crate::{HashAlgorithm, encoding};

/// A `Policy` parameter longer than this is refused before decoding. CloudFront
/// caps a whole request URL at 8,192 bytes.
pub const MAX_POLICY_CHARS: usize = 8192;

const EXPIRES: &str = "Expires";
const POLICY: &str = "Policy";
const SIGNATURE: &str = "Signature";
const KEY_PAIR_ID: &str = "Key-Pair-Id";
const HASH_ALGORITHM: &str = "Hash-Algorithm";
const PARAMETERS: [&str; 5] = [EXPIRES, POLICY, SIGNATURE, KEY_PAIR_ID, HASH_ALGORITHM];
const COOKIE_PREFIX: &str = "CloudFront-";

/// The public keys a distribution trusts, by CloudFront key id.
#[derive(Clone, Default)]
pub struct KeyGroup {
    keys: HashMap<String, PublicKey>,
    /// Signatures already found good with these keys (see [`KeyGroup::with_memo`]).
    memo: Option<Arc<quick_cache::sync::Cache<[u8; 32], ()>>>,
}

impl std::fmt::Debug for KeyGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyGroup")
            .field("keys", &self.keys.keys())
            .field("memo", &self.memo.is_some())
            .finish()
    }
}

impl KeyGroup {
    pub fn new() -> Self {
        Self::default()
    }

    /// A group that remembers up to `capacity` signatures it found good, so
    /// a URL many viewers share (post hands one out per photo and lifetime
    /// bucket) costs one public-key operation, not one per request. Only
    /// the cryptographic check is remembered — by key id, hash, signed bytes
    /// and signature — never the policy's verdict: expiry, addresses and
    /// resource are evaluated on every request. Changing the keys forgets all.
    pub fn with_memo(capacity: usize) -> Self {
        Self { keys: HashMap::new(), memo: Some(Arc::new(quick_cache::sync::Cache::new(capacity))) }
    }

    pub fn insert(&mut self, key_id: impl Into<String>, key: PublicKey) {
        self.forget();
        self.keys.insert(key_id.into(), key);
    }

    pub fn remove(&mut self, key_id: &str) -> Option<PublicKey> {
        self.forget();
        self.keys.remove(key_id)
    }

    fn forget(&mut self) {
        if let Some(memo) = &self.memo {
            self.memo = Some(Arc::new(quick_cache::sync::Cache::new(memo.capacity() as usize)));
        }
    }

    /// `key_id`'s key verifies `signature` (as the URL encodes it) over
    /// `message`; a signature that does not decode is malformed.
    fn verifies(
        &self,
        key_id: &str,
        key: &PublicKey,
        message: &[u8],
        signature: &str,
        hash: HashAlgorithm,
    ) -> Result<bool, Denial> {
        let check = || {
            let decoded = encoding::decode(signature).map_err(|_| Denial::MalformedSignature)?;
            Ok(key.verify(message, &decoded, hash))
        };
        let Some(memo) = &self.memo else { return check() };
        let mut hasher = openssl::sha::Sha256::new();
        for part in
            [key_id.as_bytes(), hash.parameter().unwrap_or("SHA1").as_bytes(), message, signature.as_bytes()]
        {
            hasher.update(&(part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        let seen = hasher.finish();
        if memo.get(&seen).is_some() {
            return Ok(true);
        }
        let good = check()?;
        if good {
            memo.insert(seen, ());
        }
        Ok(good)
    }

    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.get(key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A request as the gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `scheme://host[:port]/path[?query]`, exactly as requested.
    pub url: &'a str,
    /// The request's cookies (name, value); used when the query carries no
    /// signing parameters.
    pub cookies: &'a [(&'a str, &'a str)],
    pub client_ip: Option<IpAddr>,
    /// Epoch seconds.
    pub now: u64,
}

/// What a valid signature granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub key_pair_id: String,
    pub policy: Policy,
    pub canned: bool,
    pub from_cookies: bool,
    /// The request URL without its signing parameters.
    pub resource_url: String,
}

/// Why a request was refused. `Display` is for logs; clients get
/// [`Denial::code`] and [`Denial::message`], CloudFront's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("the URL is not absolute")]
    NotAbsolute,
    #[error("the path has dot segments (raw or encoded)")]
    UnsafePath,
    #[error("signing parameter {0} appears more than once")]
    Duplicate(&'static str),
    #[error("parameter {0:?} differs from a signing parameter only in case or encoding")]
    LookAlike(String),
    #[error("no Key-Pair-Id in the query or cookies")]
    MissingKeyPairId,
    #[error("key id {0:?} is not in the trusted key group")]
    UnknownKey(String),
    #[error("no Signature")]
    MissingSignature,
    #[error("the Signature is not CloudFront base64")]
    MalformedSignature,
    #[error("Hash-Algorithm {0:?} is not supported")]
    UnsupportedHash(String),
    #[error("neither Expires nor Policy is present")]
    MissingPolicy,
    #[error("both Expires and Policy are present")]
    BothPolicyAndExpires,
    #[error("Expires is not a whole number of seconds")]
    MalformedExpires,
    #[error("the Policy is longer than {MAX_POLICY_CHARS} characters")]
    PolicyTooLarge,
    #[error("the Policy is not CloudFront base64")]
    MalformedPolicyEncoding,
    #[error("the signature does not match the policy")]
    BadSignature,
    #[error("{0}")]
    MalformedPolicy(PolicyError),
    #[error("{0}")]
    Violation(Violation),
}

impl Denial {
    /// CloudFront's `<Code>` for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::MissingKeyPairId => "MissingKey",
            Denial::UnknownKey(_) => "InvalidKey",
            _ => "AccessDenied",
        }
    }

    /// CloudFront's `<Message>` for this refusal.
    pub fn message(&self) -> &'static str {
        match self {
            Denial::MissingKeyPairId => "Missing Key-Pair-Id query parameter or cookie value",
            Denial::UnknownKey(_) => "Unknown Key",
            _ => "Access denied",
        }
    }
}

/// The signing parameters of one request, from its query or its cookies.
#[derive(Default)]
struct Credentials {
    expires: Option<String>,
    policy: Option<String>,
    signature: Option<String>,
    key_pair_id: Option<String>,
    hash_algorithm: Option<String>,
}

impl Credentials {
    fn slot(&mut self, name: &str) -> Option<(&'static str, &mut Option<String>)> {
        Some(match name {
            EXPIRES => (EXPIRES, &mut self.expires),
            POLICY => (POLICY, &mut self.policy),
            SIGNATURE => (SIGNATURE, &mut self.signature),
            KEY_PAIR_ID => (KEY_PAIR_ID, &mut self.key_pair_id),
            HASH_ALGORITHM => (HASH_ALGORITHM, &mut self.hash_algorithm),
            _ => return None,
        })
    }

    fn set(&mut self, name: &str, value: String) -> Result<bool, Denial> {
        let Some((canonical, slot)) = self.slot(name) else { return Ok(false) };
        if slot.is_some() {
            return Err(Denial::Duplicate(canonical));
        }
        *slot = Some(value);
        Ok(true)
    }

    fn is_empty(&self) -> bool {
        self.expires.is_none()
            && self.policy.is_none()
            && self.signature.is_none()
            && self.key_pair_id.is_none()
            && self.hash_algorithm.is_none()
    }
}

/// Checks `request` against the trusted `keys`.
pub fn verify(keys: &KeyGroup, request: &SignedRequest<'_>) -> Result<Granted, Denial> {
    let (resource_url, mut credentials) = split_signing_parameters(request.url)?;
    let from_cookies = credentials.is_empty();
    if from_cookies {
        credentials = from_cookie_jar(request.cookies)?;
    }
    let key_pair_id = credentials.key_pair_id.filter(|id| !id.is_empty()).ok_or(Denial::MissingKeyPairId)?;
    let key = keys.get(&key_pair_id).ok_or_else(|| Denial::UnknownKey(key_pair_id.clone()))?;
    let signature = credentials.signature.filter(|s| !s.is_empty()).ok_or(Denial::MissingSignature)?;
    let hash = match credentials.hash_algorithm.as_deref() {
        None => HashAlgorithm::Sha1,
        Some("SHA1") => HashAlgorithm::Sha1,
        Some("SHA256") => HashAlgorithm::Sha256,
        Some(other) => return Err(Denial::UnsupportedHash(other.to_owned())),
    };
    let (policy, canned) = match (credentials.expires, credentials.policy) {
        (Some(_), Some(_)) => return Err(Denial::BothPolicyAndExpires),
        (None, None) => return Err(Denial::MissingPolicy),
        (Some(expires), None) => {
            if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Denial::MalformedExpires);
            }
            let expires = expires.parse().map_err(|_| Denial::MalformedExpires)?;
            let policy = Policy::canned(resource_url.clone(), expires);
            if !keys.verifies(&key_pair_id, key, policy.to_json().as_bytes(), &signature, hash)? {
                return Err(Denial::BadSignature);
            }
            (policy, true)
        }
        (None, Some(encoded)) => {
            if encoded.len() > MAX_POLICY_CHARS {
                return Err(Denial::PolicyTooLarge);
            }
            let json = encoding::decode(&encoded).map_err(|_| Denial::MalformedPolicyEncoding)?;
            // The signature is checked before the attacker-supplied JSON is parsed.
            if !keys.verifies(&key_pair_id, key, &json, &signature, hash)? {
                return Err(Denial::BadSignature);
            }
            (Policy::parse(&json).map_err(Denial::MalformedPolicy)?, false)
        }
    };
    policy.evaluate(&resource_url, request.now, request.client_ip).map_err(Denial::Violation)?;
    Ok(Granted { key_pair_id, policy, canned, from_cookies, resource_url })
}

/// Removes the signing parameters from `url`'s query and returns the URL
/// that remains, with the parameters found.
fn split_signing_parameters(url: &str) -> Result<(String, Credentials), Denial> {
    let authority_start = url.find("://").ok_or(Denial::NotAbsolute)? + 3;
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let path = base.get(authority_start..).and_then(|rest| rest.find('/').map(|i| &rest[i..])).unwrap_or("");
    if has_dot_segments(path) {
        return Err(Denial::UnsafePath);
    }
    let mut credentials = Credentials::default();
    let mut kept: Vec<&str> = Vec::new();
    for part in query.into_iter().flat_map(|q| q.split('&')) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        if credentials.set(name, percent_decode_lossy(value))? {
            continue;
        }
        let decoded = percent_decode_lossy(name);
        if PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(&decoded)) {
            return Err(Denial::LookAlike(name.to_owned()));
        }
        kept.push(part);
    }
    let mut resource = base.to_owned();
    if !kept.is_empty() {
        resource.push('?');
        resource.push_str(&kept.join("&"));
    }
    Ok((resource, credentials))
}

fn from_cookie_jar(cookies: &[(&str, &str)]) -> Result<Credentials, Denial> {
    let mut credentials = Credentials::default();
    for (name, value) in cookies {
        let Some(parameter) = name.strip_prefix(COOKIE_PREFIX) else { continue };
        if !credentials.set(parameter, (*value).to_owned())?
            && PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(parameter))
        {
            return Err(Denial::LookAlike((*name).to_owned()));
        }
    }
    Ok(credentials)
}

/// Percent-decodes once into bytes; invalid escapes stay as they are.
pub fn percent_decode_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// Percent-decodes once; bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode_lossy(text: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(text)).into_owned()
}

/// `.` or `..` segments, also when percent-encoded once or more (`%2e%2e`,
/// `%252e%252e`) or separated by an encoded or back slash: a policy for
/// `/private/m1/*` must never reach `/private/m2/`.
pub fn has_dot_segments(path: &str) -> bool {
    let mut decoded = path.to_owned();
    for _ in 0..4 {
        if decoded.split(['/', '\\']).any(|segment| segment == "." || segment == "..") {
            return true;
        }
        let next = percent_decode_lossy(&decoded);
        if next == decoded {
            return false;
        }
        decoded = next;
    }
    // Still changing after four rounds of decoding: nobody does that honestly.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_parameters_are_removed_wherever_they_stand() {
        let (url, credentials) =
            split_signing_parameters("https://d/p.jpg?w=1&Expires=5&Signature=a&x=y&Key-Pair-Id=K").unwrap();
        assert_eq!(url, "https://d/p.jpg?w=1&x=y");
        assert_eq!(credentials.expires.as_deref(), Some("5"));
        let (url, _) = split_signing_parameters("https://d/p.jpg?Expires=5").unwrap();
        assert_eq!(url, "https://d/p.jpg");
    }

    #[test]
    fn duplicated_and_look_alike_parameters_are_refused() {
        assert_eq!(
            split_signing_parameters("https://d/p?Signature=a&Signature=b").err(),
            Some(Denial::Duplicate("Signature"))
        );
        assert!(matches!(split_signing_parameters("https://d/p?signature=a"), Err(Denial::LookAlike(_))));
        assert!(matches!(split_signing_parameters("https://d/p?Key%2DPair-Id=K"), Err(Denial::LookAlike(_))));
    }

    #[test]
    fn traversal_in_any_encoding_is_refused() {
        for path in [
            "/private/m1/../m2/a.jpg",
            "/private/m1/%2e%2e/m2/a.jpg",
            "/private/m1/%2E%2e/m2/a.jpg",
            "/private/m1/%252e%252e/m2/a.jpg",
            "/private/m1/..%2fm2/a.jpg",
            "/private/m1/..\\m2/a.jpg",
            "/private/./a.jpg",
        ] {
            assert!(has_dot_segments(path), "{path}");
        }
        for path in ["/private/m1/a..b.jpg", "/private/.well/a.jpg", "/private/m1/%2e%2ejpg"] {
            assert!(!has_dot_segments(path), "{path}");
        }
    }
}
