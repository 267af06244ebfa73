//! Viewer binding: a paid photo's URLs carry a custom policy whose
//! `IpAddress` is the viewer's network, so a link passed on works nowhere
//! else. The viewer's address is the socket peer's, or what a trusted proxy
//! (the load balancer) forwarded — never a header an arbitrary client wrote.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use ipnet::IpNet;

use crate::service::Service;

/// How wide a viewer's network is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingSettings {
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
}

impl BindingSettings {
    /// A household's or a carrier gateway's /24; an IPv6 site's /56.
    pub const DEFAULT: BindingSettings = BindingSettings { ipv4_prefix: 24, ipv6_prefix: 56 };

    /// The network of `ip` (an IPv4 client seen on an IPv6 socket counts as IPv4).
    pub fn range_of(&self, ip: IpAddr) -> IpNet {
        let ip = ip.to_canonical();
        let prefix = if ip.is_ipv4() { self.ipv4_prefix } else { self.ipv6_prefix };
        // Prefixes are validated at start; a full-length one is the fallback.
        IpNet::new(ip, prefix).unwrap_or_else(|_| IpNet::from(ip)).trunc()
    }
}

/// The range a request's paid URLs are bound to: `None` when binding is off
/// (or, on a socket without a peer address, when there is nothing to bind to).
pub struct ViewerRange(pub Option<IpNet>);

impl FromRequest for ViewerRange {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let range = req.app_data::<web::Data<Service>>().and_then(|service| {
            let binding = service.binding?;
            common::client_ip::client_ip(req, &service.trusted_proxies).map(|ip| binding.range_of(ip))
        });
        ready(Ok(ViewerRange(range)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_is_widened_to_the_configured_network() {
        let binding = BindingSettings { ipv4_prefix: 24, ipv6_prefix: 48 };
        let range = |ip: &str| binding.range_of(ip.parse().unwrap()).to_string();
        assert_eq!(range("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(range("::ffff:203.0.113.77"), "203.0.113.0/24", "IPv4 on an IPv6 socket");
        assert_eq!(range("2001:db8:1:2:3::9"), "2001:db8:1::/48");
        let exact = BindingSettings { ipv4_prefix: 32, ipv6_prefix: 128 };
        assert_eq!(exact.range_of("198.51.100.9".parse().unwrap()).to_string(), "198.51.100.9/32");
    }
}
