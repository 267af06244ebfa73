//! AWS Signature Version 4, checked as CloudFront's API checks it.
//!
//! The request is signed again with the configured secret by `aws-sigv4`,
//! the crate the AWS SDKs sign with, from exactly the headers the caller
//! says it signed, at the time it says it signed; the two `Authorization`
//! values must be equal (compared in constant time).

use std::time::{Duration, SystemTime};

use actix_web::HttpRequest;
use actix_web::http::header;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use common::ids::AccessKeyId;
use common::secrecy::{ExposeSecret, SecretString};

/// How far a request's signing time may be from ours (AWS allows 15 minutes).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
const SERVICE: &str = "cloudfront";

/// Why a request is not authenticated (all answered 403, as AWS does).
#[derive(Debug, PartialEq, Eq)]
pub enum Unsigned {
    Missing,
    Malformed(&'static str),
    UnknownKey,
    Expired,
    Mismatch,
}

impl Unsigned {
    pub fn code(&self) -> &'static str {
        match self {
            Unsigned::Missing => "MissingAuthenticationToken",
            Unsigned::Malformed(_) => "IncompleteSignature",
            Unsigned::UnknownKey => "InvalidClientTokenId",
            Unsigned::Expired => "RequestExpired",
            Unsigned::Mismatch => "SignatureDoesNotMatch",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Unsigned::Missing => "The request is not signed.",
            Unsigned::Malformed(why) => why,
            Unsigned::UnknownKey => "The security token included in the request is invalid.",
            Unsigned::Expired => "Signature expired: the request was signed more than 15 minutes from now.",
            Unsigned::Mismatch => {
                "The request signature we calculated does not match the signature you provided."
            }
        }
    }
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key_id: AccessKeyId,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
}

fn parse(value: &str) -> Result<Authorization<'_>, Unsigned> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(Unsigned::Malformed("Only AWS4-HMAC-SHA256 is accepted."))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(Unsigned::Malformed("Authorization has an unknown part.")),
        }
    }
    let malformed = Unsigned::Malformed("Authorization needs Credential, SignedHeaders and Signature.");
    let (credential, signed_headers) =
        (credential.ok_or(malformed)?, signed_headers.ok_or(Unsigned::Missing)?);
    if signature.is_none_or(|s| s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(Unsigned::Malformed("The signature must be 64 hex digits."));
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(Unsigned::Malformed("The credential scope is malformed."));
    };
    let access_key_id = AccessKeyId::parse(access_key_id)
        .map_err(|_| Unsigned::Malformed("The access key id is malformed."))?;
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
    })
}

/// Whether `req` with `body` was signed with this access key and secret.
pub fn verify(
    req: &HttpRequest,
    body: &[u8],
    access_key_id: &AccessKeyId,
    secret: &SecretString,
    now: SystemTime,
) -> Result<(), Unsigned> {
    let header_text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let given = header_text(header::AUTHORIZATION.as_str()).ok_or(Unsigned::Missing)?;
    let auth = parse(given)?;
    if auth.access_key_id != *access_key_id {
        return Err(Unsigned::UnknownKey);
    }
    if auth.service != SERVICE || req.headers().contains_key("x-amz-security-token") {
        return Err(Unsigned::Mismatch);
    }
    let amz_date = header_text("x-amz-date").ok_or(Unsigned::Malformed("X-Amz-Date is required."))?;
    let signed_at: SystemTime = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| Unsigned::Malformed("X-Amz-Date is malformed."))?
        .and_utc()
        .into();
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(Unsigned::Mismatch);
    }
    let skew = now.duration_since(signed_at).unwrap_or_else(|early| early.duration());
    if skew > MAX_SKEW {
        return Err(Unsigned::Expired);
    }
    if !auth.signed_headers.contains(&"host") || !auth.signed_headers.contains(&"x-amz-date") {
        return Err(Unsigned::Malformed("Host and X-Amz-Date must be signed."));
    }

    // The signer adds X-Amz-Date (and X-Amz-Content-Sha256) itself.
    let mut settings = SigningSettings::default();
    if auth.signed_headers.contains(&"x-amz-content-sha256") {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let mut headers = Vec::new();
    for name in auth.signed_headers.iter().filter(|n| !matches!(**n, "x-amz-date" | "x-amz-content-sha256")) {
        let values = req.headers().get_all(*name).map(|v| v.to_str().map_err(|_| Unsigned::Mismatch));
        let mut any = false;
        for value in values {
            headers.push((*name, value?));
            any = true;
        }
        if !any {
            return Err(Unsigned::Malformed("A signed header is missing."));
        }
    }
    let host = header_text(header::HOST.as_str()).ok_or(Unsigned::Mismatch)?;
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let uri = format!("http://{host}{path_and_query}");
    let identity =
        Credentials::new(access_key_id.as_str(), secret.expose_secret(), None, None, "edge").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(SERVICE)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|_| Unsigned::Mismatch)?
        .into();
    let request =
        SignableRequest::new(req.method().as_str(), uri, headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|_| Unsigned::Mismatch)?;
    let (instructions, _) = sign(request, &params).map_err(|_| Unsigned::Mismatch)?.into_parts();
    let expected = instructions
        .headers()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.to_owned())
        .ok_or(Unsigned::Mismatch)?;
    if common::same_secret(given.as_bytes(), expected.as_bytes()) { Ok(()) } else { Err(Unsigned::Mismatch) }
}
