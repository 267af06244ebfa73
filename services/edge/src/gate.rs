//! The gate: every object request passes here. Keys under the public prefix
//! are served as they are; every other key needs a signed URL or signed
//! cookies that CloudFront itself would accept.

use std::time::{SystemTime, UNIX_EPOCH};

use cloudfront_sign::verify::{self, SignedRequest, has_dot_segments, percent_decode_bytes};
use http::{HeaderValue, Method, StatusCode, header};

use crate::client::{client_ip, requested_url};
use crate::denied;
use crate::state::Edge;
use crate::viewer::{Response, Viewer};

pub async fn serve(req: &Viewer, edge: &Edge) -> Response {
    // The signature is checked against Host + path while the object is named
    // by the path alone: a Host that could carry a path of its own
    // (`d1.net/private/other`) must not reach the check.
    if req.head.headers.get(header::HOST).is_some_and(|host| !is_plain_host(host.as_bytes())) {
        tracing::info!("request with a malformed Host refused");
        return denied::xml(StatusCode::BAD_REQUEST, "InvalidArgument", "The Host header is malformed");
    }
    if !matches!(req.head.method, Method::GET | Method::HEAD) {
        let mut response =
            denied::xml(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "Only GET and HEAD are allowed");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let key = match object_key(req.head.uri.path()) {
        Ok(key) => key,
        Err(reason) => {
            tracing::info!(reason, "request refused");
            return denied::access_denied();
        }
    };
    let public = key.starts_with(&edge.public_prefix);
    if !public && let Err(reason) = check_signature(req, edge) {
        tracing::info!(key, %reason, "signed request refused");
        return reason_response(&reason);
    }
    if let Some(answer) = never_an_object(&key) {
        return answer;
    }
    let cache_control = if public { &edge.public_cache_control } else { &edge.private_cache_control };
    match &edge.cache {
        Some(cache) => cache.serve(req, &key, cache_control, &edge.origin).await,
        None => {
            let mut response = edge.origin.serve(req, &key, cache_control).await;
            crate::cache::respond::mark(&mut response, crate::cache::respond::Served::Miss);
            response
        }
    }
}

enum Refusal {
    NoHost,
    Denied(verify::Denial),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NoHost => f.write_str("no usable Host header"),
            Refusal::Denied(denial) => denial.fmt(f),
        }
    }
}

fn reason_response(reason: &Refusal) -> Response {
    match reason {
        Refusal::NoHost => denied::access_denied(),
        Refusal::Denied(denial) => denied::xml(StatusCode::FORBIDDEN, denial.code(), denial.message()),
    }
}

fn check_signature(req: &Viewer, edge: &Edge) -> Result<(), Refusal> {
    let url = requested_url(req, &edge.trusted_proxies).ok_or(Refusal::NoHost)?;
    let cookies = cookies(req);
    let jar: Vec<(&str, &str)> = cookies.iter().map(|c| (c.name(), c.value())).collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let request = SignedRequest {
        url: &url,
        cookies: &jar,
        client_ip: Some(client_ip(req, &edge.trusted_proxies)),
        now,
    };
    let granted = verify::verify(&edge.keys.snapshot(), &request).map_err(Refusal::Denied)?;
    tracing::debug!(
        key_pair_id = granted.key_pair_id,
        canned = granted.canned,
        cookies = granted.from_cookies,
        "signature accepted"
    );
    Ok(())
}

/// The request's cookies, percent-decoded; none at all when any of them is
/// malformed (a jar edge cannot read whole is not trusted in part).
fn cookies(req: &Viewer) -> Vec<cookie::Cookie<'_>> {
    req.head
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(cookie::Cookie::parse_encoded)
        .collect::<Result<_, _>>()
        .unwrap_or_default()
}

/// A host name, IPv4 address or bracketed IPv6 address, with an optional
/// port: nothing that could end the authority (`/ ? # @ \`), no spaces.
pub fn is_plain_host(host: &[u8]) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.iter().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(b))
}

/// S3's longest key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// S3's own answer for a key no object can have, given without asking it:
/// a folder (`public/previews/`) holds no object of its own, and a key over
/// S3's limit is refused as S3 refuses it. A viewer's mistake, not an
/// origin failure (info, not error).
fn never_an_object(key: &str) -> Option<Response> {
    if key.len() > MAX_KEY_BYTES {
        tracing::info!(bytes = key.len(), "key longer than S3 allows");
        return Some(denied::xml(StatusCode::BAD_REQUEST, "KeyTooLongError", "Your key is too long"));
    }
    key.ends_with('/').then(denied::no_such_key)
}

/// The S3 key a path names: percent-decoded once, UTF-8, no dot segments in
/// any encoding, no control characters.
pub fn object_key(path: &str) -> Result<String, &'static str> {
    if has_dot_segments(path) {
        return Err("dot segments in the path");
    }
    let raw = path.strip_prefix('/').ok_or("the path is not absolute")?;
    let key = String::from_utf8(percent_decode_bytes(raw)).map_err(|_| "the path is not UTF-8")?;
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err("empty key or control characters");
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_names_or_addresses_with_a_port_and_nothing_more() {
        for good in ["d111111abcdef8.cloudfront.net", "127.0.0.1:8080", "[::1]:8085", "localhost"] {
            assert!(is_plain_host(good.as_bytes()), "{good}");
        }
        for bad in ["", "d1.net/private/x", "d1.net?x", "d1.net#x", "user@d1.net", "d1.net\\x", "d1 .net"] {
            assert!(!is_plain_host(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn paths_become_keys_only_when_plain() {
        assert_eq!(object_key("/private/caf%C3%A9/ph%20oto.jpg").unwrap(), "private/café/ph oto.jpg");
        assert_eq!(object_key("/public/previews/m1.jpg").unwrap(), "public/previews/m1.jpg");
        assert!(never_an_object("public/previews/m1.jpg").is_none());
        assert_eq!(never_an_object("public/previews/").unwrap().status(), StatusCode::NOT_FOUND);
        let long = format!("public/{}", "a".repeat(MAX_KEY_BYTES));
        assert_eq!(never_an_object(&long).unwrap().status(), StatusCode::BAD_REQUEST);
        for bad in [
            "/",
            "/private/%FF%FE.jpg",
            "/public/../private/a.jpg",
            "/public/%2e%2e/private/a.jpg",
            "/a%00b",
            "/public/..%2fprivate/x",
        ] {
            assert!(object_key(bad).is_err(), "{bad}");
        }
    }
}
