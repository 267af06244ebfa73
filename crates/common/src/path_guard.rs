//! Request paths in one plain form, so that every hop routes a request the
//! same way. A proxy that decodes `%2F` or resolves `..` before matching a
//! route, in front of a server that does neither, can be walked into routes
//! it never meant to forward (`/v1/x/..%2F..%2Finternal/...`). So a path that
//! carries an encoded `/`, `.` or `\`, a backslash, an invalid or NUL escape,
//! or a `.`/`..` segment is refused outright (400) — nginx's routes do the
//! same (`deploy/nginx/routes.conf`) — and what remains is normalised:
//! escapes of unreserved characters decoded (`%41` is `A`), the others
//! upper-cased, runs of `/` merged.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::Problem;

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAbsolute,
    /// `%2F`, `%2E`, `%5C` or `%00`, in either case.
    EncodedSeparator,
    Backslash,
    /// `%` not followed by two hex digits.
    BadEscape,
    DotSegment,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NotAbsolute => "The request path must start with '/'.",
            Refusal::EncodedSeparator => "The request path may not encode '/', '.', '\\' or NUL.",
            Refusal::Backslash => "The request path may not contain '\\'.",
            Refusal::BadEscape => "The request path has a malformed percent-escape.",
            Refusal::DotSegment => "The request path may not contain '.' or '..' segments.",
        }
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~')
}

/// The plain form of `raw` (a path without its query), or why there is none.
pub fn normalise(raw: &str) -> Result<String, Refusal> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(Refusal::NotAbsolute);
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return Err(Refusal::Backslash),
            b'%' => {
                let (Some(high), Some(low)) = (
                    bytes.get(i + 1).copied().and_then(hex_value),
                    bytes.get(i + 2).copied().and_then(hex_value),
                ) else {
                    return Err(Refusal::BadEscape);
                };
                let decoded = high << 4 | low;
                if matches!(decoded, b'/' | b'.' | b'\\' | 0) {
                    return Err(Refusal::EncodedSeparator);
                }
                if is_unreserved(decoded) {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(bytes[i + 1]).to_ascii_uppercase());
                    out.push(char::from(bytes[i + 2]).to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
            b'/' if out.ends_with('/') => {}
            _ => {
                // Multi-byte characters are copied whole.
                let width = raw[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&raw[i..i + width]);
                i += width;
                continue;
            }
        }
        i += 1;
    }
    if out.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(Refusal::DotSegment);
    }
    Ok(out)
}

/// Refuses (400, problem+json) a request whose path has no plain form.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, Error> {
    if let Err(refusal) = normalise(req.uri().path()) {
        tracing::info!(?refusal, "request path refused");
        let response = Problem::bad_request(refusal.message()).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_and_equivalent_spellings_become_one() {
        for (raw, plain) in [
            ("/v1/feed", "/v1/feed"),
            ("/v1//feed", "/v1/feed"),
            ("//internal/v1/sign", "/internal/v1/sign"),
            ("/v1/%66eed", "/v1/feed"),
            ("/%69nternal/v1/sign", "/internal/v1/sign"),
            ("/private/caf%c3%a9.jpg", "/private/caf%C3%A9.jpg"),
            ("/v1/users/a.b/posts", "/v1/users/a.b/posts"),
            ("/private/x/display.jpg", "/private/x/display.jpg"),
            ("/", "/"),
            ("/é", "/é"),
        ] {
            assert_eq!(normalise(raw).as_deref(), Ok(plain), "{raw}");
        }
    }

    #[test]
    fn paths_that_could_route_differently_at_another_hop_are_refused() {
        for (raw, refusal) in [
            ("v1/feed", Refusal::NotAbsolute),
            ("/v1/x/..%2F..%2Finternal", Refusal::EncodedSeparator),
            ("/v1/x/..%2f..%2finternal", Refusal::EncodedSeparator),
            ("/v1/%2e%2e/metrics", Refusal::EncodedSeparator),
            ("/v1/%2E./metrics", Refusal::EncodedSeparator),
            ("/v1/x%5C..%5Cinternal", Refusal::EncodedSeparator),
            ("/v1/x%00", Refusal::EncodedSeparator),
            ("/v1\\..\\internal", Refusal::Backslash),
            ("/v1/%zz", Refusal::BadEscape),
            ("/v1/%4", Refusal::BadEscape),
            ("/v1/../internal/v1/sign", Refusal::DotSegment),
            ("/v1/./feed", Refusal::DotSegment),
            ("/v1/..", Refusal::DotSegment),
            ("/..", Refusal::DotSegment),
            ("/v1//../metrics", Refusal::DotSegment),
        ] {
            assert_eq!(normalise(raw), Err(refusal), "{raw}");
        }
    }
}
