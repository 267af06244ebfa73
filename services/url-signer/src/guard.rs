//! What url-signer agrees to sign: absolute URLs in normal form, on the
//! configured distribution hosts, under the configured path prefixes, for no
//! longer than the maximum lifetime.

use std::time::Duration;

use url::Url;

use crate::config::Guards;

/// A URL (or, for cookies, a pattern) that passed the guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource(pub String);

impl Guards {
    /// A URL to sign: exactly as it will be requested, no wildcards.
    pub fn url(&self, resource: &str) -> Result<Resource, String> {
        if resource.contains('*') {
            return Err("wildcards are only allowed in cookie patterns".into());
        }
        self.check_literal(resource)?;
        Ok(Resource(resource.to_owned()))
    }

    /// A cookie pattern: a URL whose path may end in `*` wildcards after an
    /// allowed prefix (e.g. `https://d.example/private/2026/11/28/m1/*`).
    pub fn pattern(&self, pattern: &str) -> Result<Resource, String> {
        // Everything before the first wildcard must already be an allowed URL.
        let literal = pattern.split('*').next().unwrap_or_default();
        self.check_literal(literal)?;
        Ok(Resource(pattern.to_owned()))
    }

    /// A URL in normal form on an allowed scheme, host and path prefix.
    fn check_literal(&self, literal: &str) -> Result<(), String> {
        let parsed = Url::parse(literal).map_err(|err| format!("not an absolute URL: {err}"))?;
        if parsed.as_str() != literal {
            return Err(format!(
                "not in normal form (percent-encode the path, lower-case the host, no dot segments): {:?} would be requested as {:?}",
                literal,
                parsed.as_str()
            ));
        }
        if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("URLs with credentials or fragments are not signed".into());
        }
        if !self.schemes.iter().any(|s| s == parsed.scheme()) {
            return Err(format!("scheme {} is not allowed", parsed.scheme()));
        }
        let host = parsed.host_str().unwrap_or_default();
        let authority = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        if !self.hosts.contains(&authority) {
            return Err(format!("host {authority} is not a configured distribution"));
        }
        if !self.path_prefixes.iter().any(|prefix| parsed.path().starts_with(prefix.as_str())) {
            return Err(format!("path {} is outside the signable prefixes", parsed.path()));
        }
        Ok(())
    }

    pub fn ttl(&self, seconds: u64) -> Result<Duration, String> {
        if seconds == 0 {
            return Err("expires_in_s must be at least 1".into());
        }
        let ttl = Duration::from_secs(seconds);
        if ttl > self.max_ttl {
            return Err(format!("expires_in_s {seconds} is over the maximum of {}", self.max_ttl.as_secs()));
        }
        Ok(ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards() -> Guards {
        Guards {
            hosts: vec!["d111.cloudfront.net".into(), "127.0.0.1:8085".into()],
            schemes: vec!["https".into(), "http".into()],
            path_prefixes: vec!["/private/".into()],
            max_ttl: Duration::from_secs(3600),
            max_batch: 10,
        }
    }

    #[test]
    fn only_normal_urls_on_the_distribution_are_signed() {
        let g = guards();
        assert!(g.url("https://d111.cloudfront.net/private/a/b.jpg").is_ok());
        assert!(g.url("https://d111.cloudfront.net/private/a/b.jpg?w=320").is_ok());
        assert!(g.url("http://127.0.0.1:8085/private/a.jpg").is_ok());
        for bad in [
            "/private/a.jpg",
            "not a url",
            "https://evil.example/private/a.jpg",
            "https://d111.cloudfront.net/public/a.jpg",
            "https://d111.cloudfront.net/private/../public/a.jpg",
            "https://D111.cloudfront.net/private/a.jpg",
            "https://d111.cloudfront.net/private/café.jpg",
            "https://d111.cloudfront.net/private/*",
            "ftp://d111.cloudfront.net/private/a.jpg",
            "https://user:pw@d111.cloudfront.net/private/a.jpg",
            "http://127.0.0.1:9999/private/a.jpg",
        ] {
            assert!(g.url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cookie_patterns_put_wildcards_after_the_prefix() {
        let g = guards();
        assert!(g.pattern("https://d111.cloudfront.net/private/2026/11/28/m1/*").is_ok());
        assert!(g.pattern("https://d111.cloudfront.net/*").is_err());
        assert!(g.pattern("https://*.cloudfront.net/private/*").is_err());
        assert!(g.pattern("*").is_err());
    }

    #[test]
    fn lifetimes_over_the_maximum_are_refused_not_clamped() {
        let g = guards();
        assert_eq!(g.ttl(3600), Ok(Duration::from_secs(3600)));
        assert!(g.ttl(3601).is_err());
        assert!(g.ttl(0).is_err());
    }
}
