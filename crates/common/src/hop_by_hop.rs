//! Headers that describe one connection, not the message (RFC 9110 §7.6.1):
//! a proxy drops them instead of passing them on (the dev stack's gateway,
//! edge handing its control requests to its own actix server).

/// Lower-case, as header names are compared.
pub const HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `name` (lower-case, as `http` header names are) is one of [`HEADERS`].
pub fn is_hop_by_hop(name: &str) -> bool {
    HEADERS.contains(&name)
}
