//! Serving an object from the S3 origin: streamed (memory stays flat however
//! large the object), with range requests and conditional GETs. Conditionals
//! are evaluated here so they behave the same on every S3-compatible origin.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::denied;
use crate::viewer::{Body, Response, Viewer, empty, response, stream};

#[derive(Clone)]
pub struct Origin {
    pub client: Client,
    pub bucket: String,
}

/// What S3 said about the object, whichever call fetched it.
#[derive(Debug, Clone)]
pub struct Meta {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub content_length: Option<i64>,
    pub content_range: Option<String>,
    pub e_tag: Option<String>,
    pub last_modified: Option<DateTime>,
    /// The object's own `Cache-Control`, as stored in S3.
    pub cache_control: Option<String>,
}

impl Meta {
    /// What a GET answered (its fields taken; the body stays).
    fn of(out: &mut GetObjectOutput) -> Self {
        let content_range = out.content_range.take();
        Self {
            status: if content_range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK },
            content_type: out.content_type.take(),
            content_length: out.content_length,
            content_range,
            e_tag: out.e_tag.take(),
            last_modified: out.last_modified,
            cache_control: out.cache_control.take(),
        }
    }
}

/// A whole object fetched for the cache.
pub enum Fetched {
    Whole(Meta, Bytes),
    /// The object still has the validator it was asked with.
    NotModified,
    /// Over the cache's object size: not read.
    TooLarge,
}

/// Why the origin gave no object (never cached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    Unavailable,
}

impl Origin {
    pub async fn serve(&self, req: &Viewer, key: &str, default_cache_control: &str) -> Response {
        let head = req.head.method == Method::HEAD;
        let range = req.header(header::RANGE.as_str()).map(str::to_owned);
        let (meta, body) = if head {
            match self.client.head_object().bucket(&self.bucket).key(key).send().await {
                Ok(out) => (
                    Meta {
                        status: StatusCode::OK,
                        content_type: out.content_type,
                        content_length: out.content_length,
                        content_range: None,
                        e_tag: out.e_tag,
                        last_modified: out.last_modified,
                        cache_control: out.cache_control,
                    },
                    None,
                ),
                Err(err) => {
                    let (status, code) = describe(&err);
                    return self.failure(key, status, code.as_deref()).await;
                }
            }
        } else {
            let request = self.client.get_object().bucket(&self.bucket).key(key).set_range(range);
            match request.send().await {
                Ok(mut out) => (Meta::of(&mut out), Some(out.body)),
                Err(err) => {
                    let (status, code) = describe(&err);
                    return self.failure(key, status, code.as_deref()).await;
                }
            }
        };
        if not_modified(req, &meta) {
            return not_modified_response(&meta);
        }
        let length = meta.content_length.and_then(|l| u64::try_from(l).ok()).unwrap_or_default();
        // HEAD: the headers of a body of this size, and no body.
        let body = body.map_or_else(empty, |body| stream(chunks(body)));
        let mut response = object_response(meta.status, body, length, &meta, default_cache_control);
        if let Some(range) = meta.content_range.as_deref().and_then(|r| HeaderValue::from_str(r).ok()) {
            response.headers_mut().insert(header::CONTENT_RANGE, range);
        }
        response
    }

    /// The whole object, for the cache: `TooLarge` past `max_bytes`;
    /// `NotModified` when its ETag is still `if_none_match`.
    pub async fn fetch_whole(
        &self,
        key: &str,
        if_none_match: Option<&str>,
        max_bytes: u64,
    ) -> Result<Fetched, Failure> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(if_none_match.map(str::to_owned));
        let mut out = match request.send().await {
            Ok(out) => out,
            Err(err) => {
                let (status, code) = describe(&err);
                return match (status, code.as_deref()) {
                    (Some(304), _) => Ok(Fetched::NotModified),
                    (status, code) if is_missing(status, code) => Err(Failure::NotFound),
                    (status, code) => {
                        tracing::error!(key, status, code, "S3 origin failed");
                        Err(Failure::Unavailable)
                    }
                };
            }
        };
        if out.content_length.and_then(|l| u64::try_from(l).ok()).is_none_or(|l| l > max_bytes) {
            return Ok(Fetched::TooLarge);
        }
        let meta = Meta::of(&mut out);
        match out.body.collect().await {
            Ok(body) => Ok(Fetched::Whole(meta, body.into_bytes())),
            Err(err) => {
                tracing::error!(key, error = %err, "S3 origin failed mid-body");
                Err(Failure::Unavailable)
            }
        }
    }

    /// S3's refusal turned into the answer a viewer should get; never a 500.
    async fn failure(&self, key: &str, status: Option<u16>, code: Option<&str>) -> Response {
        match (status, code) {
            (status, code) if is_missing(status, code) => denied::no_such_key(),
            (Some(416), _) | (_, Some("InvalidRange")) => {
                let size = self
                    .client
                    .head_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.content_length);
                let mut response = denied::xml(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                );
                if let Some(value) =
                    size.and_then(|size| HeaderValue::from_str(&format!("bytes */{size}")).ok())
                {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                response
            }
            _ => {
                tracing::error!(key, status, code, "S3 origin failed");
                denied::origin_unavailable()
            }
        }
    }
}

/// S3's words for "no such object".
fn is_missing(status: Option<u16>, code: Option<&str>) -> bool {
    status == Some(404) || matches!(code, Some("NoSuchKey" | "NotFound"))
}

/// The HTTP status and S3 error code of a failed call, where there were any.
fn describe<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> (Option<u16>, Option<String>) {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.as_service_error().and_then(ProvideErrorMetadata::code).map(str::to_owned);
    (status, code)
}

/// An object's answer, from the cache or the origin: `body` (`length`
/// bytes of it, or none for HEAD) with [`object_headers`].
pub fn object_response(
    status: StatusCode,
    body: Body,
    length: u64,
    meta: &Meta,
    default_cache_control: &str,
) -> Response {
    let mut response = response(status, body);
    let headers = response.headers_mut();
    object_headers(headers, meta, default_cache_control);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// 304, with the validators the client may keep.
pub fn not_modified_response(meta: &Meta) -> Response {
    let mut response = response(StatusCode::NOT_MODIFIED, empty());
    validators(response.headers_mut(), meta);
    response
}

/// What every answer with an object's body says about it: its validators,
/// ranges, caching (the origin's, or `default_cache_control`) and type.
/// (A value that is not a valid header value is left out.)
pub fn object_headers(headers: &mut HeaderMap, meta: &Meta, default_cache_control: &str) {
    validators(headers, meta);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let cache_control = meta.cache_control.as_deref().unwrap_or(default_cache_control);
    insert(headers, header::CACHE_CONTROL, cache_control);
    if let Some(content_type) = &meta.content_type {
        insert(headers, header::CONTENT_TYPE, content_type);
    }
}

pub fn validators(headers: &mut HeaderMap, meta: &Meta) {
    if let Some(e_tag) = &meta.e_tag {
        insert(headers, header::ETAG, e_tag);
    }
    if let Some(modified) = meta.last_modified.and_then(|t| t.fmt(DateTimeFormat::HttpDate).ok()) {
        insert(headers, header::LAST_MODIFIED, &modified);
    }
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// RFC 9110: `If-None-Match` wins over `If-Modified-Since`.
pub fn not_modified(req: &Viewer, meta: &Meta) -> bool {
    let headers = &req.head.headers;
    if let Some(candidates) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let Some(e_tag) = meta.e_tag.as_deref() else { return false };
        let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
        return candidates
            .split(',')
            .any(|candidate| candidate.trim() == "*" || strip(candidate) == strip(e_tag));
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::from_str(v, DateTimeFormat::HttpDate).ok());
    match (since, meta.last_modified) {
        (Some(since), Some(modified)) => modified.secs() <= since.secs(),
        _ => false,
    }
}

/// The object body as a stream of chunks, read from S3 as the client reads.
fn chunks(body: ByteStream) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(Some(body), |state| async move {
        let mut body = state?;
        match body.next().await {
            Some(Ok(bytes)) => Some((Ok(bytes), Some(body))),
            Some(Err(err)) => Some((Err(std::io::Error::other(err)), None)),
            None => None,
        }
    })
}
