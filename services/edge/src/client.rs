//! Who is asking, and by which URL: the client address (from the socket, or
//! from `X-Forwarded-For` when the peer is a trusted proxy) and the URL as
//! the client requested it.

use actix_web::HttpRequest;
use actix_web::http::header;
use ipnet::IpNet;

pub use common::client_ip::client_ip;
use common::client_ip::is_trusted;

/// `scheme://host/path?query` as requested. The scheme comes from
/// `X-Forwarded-Proto` only when a trusted proxy sent it.
pub fn requested_url(req: &HttpRequest, proxies: &[IpNet]) -> Option<String> {
    let from_proxy = req.peer_addr().is_some_and(|peer| is_trusted(peer.ip(), proxies));
    let scheme = from_proxy
        .then(|| req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()))
        .flatten()
        .filter(|proto| matches!(*proto, "http" | "https"))
        .unwrap_or("http");
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    Some(format!("{scheme}://{host}{path_and_query}"))
}
