//! Answering from a cached object exactly as the origin path answers:
//! conditionals, one byte range, HEAD; plus CloudFront's `X-Cache` and `Age`.

// actix's typed `Range` parser, on the header's text: the same reading of
// a range whichever server carries the request.
use actix_web::http::header::{ByteRangeSpec, Range};
use http::{HeaderValue, Method, StatusCode, header};

use crate::cache::entry::Cached;
use crate::denied;
use crate::origin::{not_modified, not_modified_response, object_response};
use crate::viewer::{Response, Viewer, empty, full};

/// CloudFront's `X-Cache` values, for this edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Hit,
    /// Stale, then vouched for again by the origin (a 304).
    RefreshHit,
    Miss,
    /// The origin failed and nothing could stand in.
    Error,
}

impl Served {
    pub fn header(self) -> &'static str {
        match self {
            Served::Hit => "Hit from edge",
            Served::RefreshHit => "RefreshHit from edge",
            Served::Miss => "Miss from edge",
            Served::Error => "Error from edge",
        }
    }
}

pub fn mark(response: &mut Response, served: Served) {
    response
        .headers_mut()
        .insert(header::HeaderName::from_static("x-cache"), HeaderValue::from_static(served.header()));
}

pub fn respond(req: &Viewer, cached: &Cached, default_cache_control: &str, served: Served) -> Response {
    let meta = &cached.meta;
    let length = cached.body.len() as u64;
    let mut response = if not_modified(req, meta) {
        not_modified_response(meta)
    } else {
        match requested_range(req, length) {
            Requested::Whole => {
                body_response(req, cached, default_cache_control, StatusCode::OK, (0, length))
            }
            Requested::Part(start, end) => {
                let mut partial = body_response(
                    req,
                    cached,
                    default_cache_control,
                    StatusCode::PARTIAL_CONTENT,
                    (start, end + 1),
                );
                let range = format!("bytes {start}-{end}/{length}");
                if let Ok(value) = HeaderValue::from_str(&range) {
                    partial.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                partial
            }
            Requested::Unsatisfiable => {
                let mut refused = denied::xml(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                );
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                    refused.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                refused
            }
        }
    };
    mark(&mut response, served);
    if let Ok(age) = HeaderValue::from_str(&cached.age().to_string()) {
        response.headers_mut().insert(header::AGE, age);
    }
    response
}

fn body_response(
    req: &Viewer,
    cached: &Cached,
    default_cache_control: &str,
    status: StatusCode,
    (start, end): (u64, u64),
) -> Response {
    // HEAD: the headers of a body of this size, and no body.
    let body = if req.head.method == Method::HEAD {
        empty()
    } else {
        // The cached bytes themselves (no copy): one buffer, which the
        // viewer's writer sends from sealed memory when it is there.
        full(cached.body.slice(start as usize..end as usize))
    };
    object_response(status, body, end - start, &cached.meta, default_cache_control)
}

enum Requested {
    Whole,
    /// Inclusive byte positions.
    Part(u64, u64),
    Unsatisfiable,
}

/// One byte range, as S3 serves them; several ranges, or a header that does
/// not parse, are ignored (the whole object), as S3 ignores them.
fn requested_range(req: &Viewer, length: u64) -> Requested {
    if req.head.method == Method::HEAD {
        return Requested::Whole;
    }
    let Some(value) = req.header(header::RANGE.as_str()) else {
        return Requested::Whole;
    };
    match value.parse::<Range>() {
        Ok(Range::Bytes(specs)) => match specs.as_slice() {
            [spec] => match spec.to_satisfiable_range(length) {
                Some((start, end)) => Requested::Part(start, end),
                None => unsatisfiable_or_whole(spec),
            },
            _ => Requested::Whole,
        },
        _ => Requested::Whole,
    }
}

/// A suffix range of zero bytes is malformed rather than unsatisfiable.
fn unsatisfiable_or_whole(spec: &ByteRangeSpec) -> Requested {
    match spec {
        ByteRangeSpec::Last(0) => Requested::Whole,
        _ => Requested::Unsatisfiable,
    }
}
