//! The client's address: the socket peer, or — when that peer is a trusted
//! proxy (the load balancer) — what it says in `X-Forwarded-For`.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

pub fn is_trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The socket peer, or — when that peer is a trusted proxy — the rightmost
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req.headers().get_all("x-forwarded-for").filter_map(|value| value.to_str().ok());
    Some(resolve(peer, forwarded, proxies))
}

/// [`client_ip`] from the peer and the `X-Forwarded-For` values, for
/// servers that are not actix (edge's viewer listener).
pub fn resolve<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, proxies: &[IpNet]) -> IpAddr {
    if !is_trusted(peer, proxies) {
        return peer;
    }
    let forwarded: Vec<IpAddr> =
        forwarded.flat_map(|value| value.split(',')).filter_map(|item| item.trim().parse().ok()).collect();
    forwarded.into_iter().rev().find(|ip| !is_trusted(*ip, proxies)).unwrap_or(peer)
}
