//! Invalidation paths as CloudFront defines them: absolute, URL-encoded where
//! unsafe, case-sensitive, a query string ignored, and one `*` wildcard at
//! the very end matching any rest of the path (`/*` is everything).

use cloudfront_sign::verify::percent_decode_bytes;

/// What one path removes from the cache, in object keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Exact(String),
    Prefix(String),
}

impl PathPattern {
    pub fn parse(path: &str) -> Result<Self, &'static str> {
        if path.len() > 4000 {
            return Err("an invalidation path is longer than 4000 characters");
        }
        let without_query = path.split_once('?').map_or(path, |(path, _)| path);
        let relative = without_query.strip_prefix('/').ok_or("an invalidation path must begin with /")?;
        let (relative, wildcard) = match relative.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (relative, false),
        };
        if relative.contains('*') {
            return Err("the * wildcard must be the last character of an invalidation path");
        }
        let key = String::from_utf8(percent_decode_bytes(relative))
            .map_err(|_| "an invalidation path is not UTF-8")?;
        Ok(if wildcard { PathPattern::Prefix(key) } else { PathPattern::Exact(key) })
    }

    pub fn matches(&self, key: &str) -> bool {
        match self {
            PathPattern::Exact(exact) => key == exact,
            PathPattern::Prefix(prefix) => key.starts_with(prefix.as_str()),
        }
    }

    pub fn is_wildcard(&self) -> bool {
        matches!(self, PathPattern::Prefix(_))
    }
}

/// Whether any of `patterns` names `key`.
pub fn any_matches(patterns: &[PathPattern], key: &str) -> bool {
    patterns.iter().any(|pattern| pattern.matches(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_keys_exactly_or_by_a_trailing_wildcard() {
        let exact = PathPattern::parse("/private/m1/display.jpg").unwrap();
        assert!(exact.matches("private/m1/display.jpg"));
        assert!(!exact.matches("private/m1/display.jpg2"));
        assert!(!exact.matches("Private/m1/display.jpg"), "case-sensitive");
        let prefix = PathPattern::parse("/private/m1/*").unwrap();
        assert!(prefix.matches("private/m1/display.jpg") && prefix.matches("private/m1/thumb.jpg"));
        assert!(!prefix.matches("private/m10/display.jpg") && !prefix.matches("public/m1/x"));
        let partial = PathPattern::parse("/private/m1*").unwrap();
        assert!(partial.matches("private/m10/display.jpg"), "a wildcard ends a name, not only a folder");
        assert!(PathPattern::parse("/*").unwrap().matches("anything/at/all"));
        assert!(PathPattern::parse("/caf%C3%A9/ph%20oto.jpg?size=large").unwrap().matches("café/ph oto.jpg"));
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["private/x", "/a*/b", "/*/x", "/%FF%FE", ""] {
            assert!(PathPattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
