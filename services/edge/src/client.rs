//! Who is asking, and by which URL: the client address (from the socket, or
//! from `X-Forwarded-For` when the peer is a trusted proxy) and the URL as
//! the client requested it.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;
use ipnet::IpNet;

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The socket peer, or — when that peer is a trusted proxy — the rightmost
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted(peer, proxies) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.trim().parse().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !trusted(*ip, proxies)).unwrap_or(peer))
}

/// `scheme://host/path?query` as requested. The scheme comes from
/// `X-Forwarded-Proto` only when a trusted proxy sent it.
pub fn requested_url(req: &HttpRequest, proxies: &[IpNet]) -> Option<String> {
    let from_proxy = req.peer_addr().is_some_and(|peer| trusted(peer.ip(), proxies));
    let scheme = from_proxy
        .then(|| req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()))
        .flatten()
        .filter(|proto| matches!(*proto, "http" | "https"))
        .unwrap_or("http");
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    Some(format!("{scheme}://{host}{path_and_query}"))
}
