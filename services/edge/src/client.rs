//! Who is asking, and by which URL: the client address (from the socket, or
//! from `X-Forwarded-For` when the peer is a trusted proxy) and the URL as
//! the client requested it.

use std::net::IpAddr;

use http::header;
use ipnet::IpNet;

use common::client_ip::is_trusted;

use crate::viewer::Viewer;

pub fn client_ip(viewer: &Viewer, proxies: &[IpNet]) -> IpAddr {
    let forwarded = viewer.head.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    common::client_ip::resolve(viewer.peer, forwarded, proxies)
}

/// `scheme://host/path?query` as requested. The scheme comes from
/// `X-Forwarded-Proto` only when a trusted proxy sent it.
pub fn requested_url(viewer: &Viewer, proxies: &[IpNet]) -> Option<String> {
    let scheme = is_trusted(viewer.peer, proxies)
        .then(|| viewer.header("x-forwarded-proto"))
        .flatten()
        .filter(|proto| matches!(*proto, "http" | "https"))
        .unwrap_or("http");
    let host = viewer.header(header::HOST.as_str())?;
    let path_and_query = viewer.head.uri.path_and_query().map_or("/", |pq| pq.as_str());
    Some(format!("{scheme}://{host}{path_and_query}"))
}
