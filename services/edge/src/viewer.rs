//! What a viewer asked (the request's head and where it came from) and
//! what they get back, for the gate, the cache and the origin path.

use std::io;
use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;

pub type Body = UnsyncBoxBody<Bytes, io::Error>;
pub type Response = http::Response<Body>;

pub fn response(status: http::StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub fn stream(chunks: impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static) -> Body {
    use futures_util::TryStreamExt;
    StreamBody::new(chunks.map_ok(Frame::data)).boxed_unsync()
}

/// A viewer's request as the gate sees it: its head and where it came from.
pub struct Viewer {
    pub head: http::request::Parts,
    pub peer: IpAddr,
}

impl Viewer {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name)?.to_str().ok()
    }
}
