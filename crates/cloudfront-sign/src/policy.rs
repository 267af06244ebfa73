//! CloudFront policies: what a signature grants.
//!
//! A *canned* policy is implied by the URL and its `Expires`; a *custom*
//! policy travels base64-encoded in `Policy` and may add a start time, a
//! source-IP range and a wildcard resource. The JSON text we write is
//! byte-for-byte botocore's (`Resource`, then `Condition` with
//! `DateLessThan`, `IpAddress`, `DateGreaterThan`); any key order parses.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::encoding::push_json_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The URL pattern (`*` any run of characters, `?` exactly one). CloudFront
    /// lets a custom policy omit it (any resource); we never write one so.
    pub resource: Option<String>,
    /// Epoch seconds; the request must come strictly before.
    pub date_less_than: u64,
    /// Epoch seconds; the request must come at or after.
    pub date_greater_than: Option<u64>,
    pub ip_address: Option<IpNet>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not JSON: {0}")]
    NotJson(String),
    #[error("policy has an unexpected shape: {0}")]
    Shape(&'static str),
    #[error("policy has an unknown key {0:?}")]
    UnknownKey(String),
    #[error("policy has an invalid IP range {0:?}")]
    IpRange(String),
}

/// Why a valid signature still does not grant this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("the policy's resource does not match the request URL")]
    ResourceMismatch,
    #[error("the URL has expired")]
    Expired,
    #[error("the URL is not valid yet")]
    NotYetValid,
    #[error("the client's IP address is outside the policy's range")]
    IpNotAllowed,
}

impl Policy {
    pub fn canned(resource: impl Into<String>, expires: u64) -> Self {
        Self {
            resource: Some(resource.into()),
            date_less_than: expires,
            date_greater_than: None,
            ip_address: None,
        }
    }

    /// Whether only `Expires` is needed: no start time and no IP condition.
    pub fn is_canned_form(&self) -> bool {
        self.date_greater_than.is_none() && self.ip_address.is_none() && self.resource.is_some()
    }

    /// The policy's JSON text, exactly as botocore's `build_policy` writes it.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160 + self.resource.as_ref().map_or(0, String::len));
        out.push_str("{\"Statement\":[{");
        if let Some(resource) = &self.resource {
            out.push_str("\"Resource\":");
            push_json_string(&mut out, resource);
            out.push(',');
        }
        out.push_str("\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":");
        out.push_str(&self.date_less_than.to_string());
        out.push('}');
        if let Some(range) = &self.ip_address {
            out.push_str(",\"IpAddress\":{\"AWS:SourceIp\":");
            push_json_string(&mut out, &range.to_string());
            out.push('}');
        }
        if let Some(start) = self.date_greater_than {
            out.push_str(",\"DateGreaterThan\":{\"AWS:EpochTime\":");
            out.push_str(&start.to_string());
            out.push('}');
        }
        out.push_str("}}]}");
        out
    }

    /// Reads a policy as CloudFront does: one statement, a `DateLessThan`,
    /// optional `DateGreaterThan` and `IpAddress`, and nothing unknown.
    pub fn parse(text: &[u8]) -> Result<Self, PolicyError> {
        let value: Value =
            serde_json::from_slice(text).map_err(|err| PolicyError::NotJson(err.to_string()))?;
        let root = object(&value, "the policy is not an object")?;
        only_keys(root, &["Statement"])?;
        let statements =
            root.get("Statement").and_then(Value::as_array).ok_or(PolicyError::Shape("no Statement list"))?;
        let [statement] = statements.as_slice() else {
            return Err(PolicyError::Shape("exactly one statement is allowed"));
        };
        let statement = object(statement, "the statement is not an object")?;
        only_keys(statement, &["Resource", "Condition"])?;
        let resource = match statement.get("Resource") {
            None => None,
            Some(Value::String(resource)) => Some(resource.clone()),
            Some(_) => return Err(PolicyError::Shape("Resource is not a string")),
        };
        let condition = object(
            statement.get("Condition").ok_or(PolicyError::Shape("no Condition"))?,
            "Condition is not an object",
        )?;
        only_keys(condition, &["DateLessThan", "DateGreaterThan", "IpAddress"])?;
        let date_less_than =
            epoch(condition.get("DateLessThan").ok_or(PolicyError::Shape("no DateLessThan"))?)?;
        let date_greater_than = condition.get("DateGreaterThan").map(epoch).transpose()?;
        let ip_address = match condition.get("IpAddress") {
            None => None,
            Some(value) => {
                let inner = object(value, "IpAddress is not an object")?;
                only_keys(inner, &["AWS:SourceIp"])?;
                let text = inner
                    .get("AWS:SourceIp")
                    .and_then(Value::as_str)
                    .ok_or(PolicyError::Shape("no AWS:SourceIp"))?;
                Some(parse_ip_range(text).map_err(|_| PolicyError::IpRange(text.to_owned()))?)
            }
        };
        Ok(Self { resource, date_less_than, date_greater_than, ip_address })
    }

    /// Whether this policy grants a request for `url` at `now` from `client_ip`.
    pub fn evaluate(&self, url: &str, now: u64, client_ip: Option<IpAddr>) -> Result<(), Violation> {
        if let Some(pattern) = &self.resource
            && !wildcard_match(pattern, url)
        {
            return Err(Violation::ResourceMismatch);
        }
        if now >= self.date_less_than {
            return Err(Violation::Expired);
        }
        if self.date_greater_than.is_some_and(|start| now < start) {
            return Err(Violation::NotYetValid);
        }
        if let Some(range) = &self.ip_address {
            // IPv4 clients reaching an IPv6 socket appear as `::ffff:a.b.c.d`.
            let allowed = client_ip.map(|ip| ip.to_canonical()).is_some_and(|ip| range.contains(&ip));
            if !allowed {
                return Err(Violation::IpNotAllowed);
            }
        }
        Ok(())
    }
}

/// An address or a CIDR range; a bare address means that host alone
/// (`/32`, or `/128` for IPv6 — botocore would write `/32` for both).
pub fn parse_ip_range(text: &str) -> Result<IpNet, String> {
    if let Ok(range) = IpNet::from_str(text) {
        return Ok(range);
    }
    IpAddr::from_str(text)
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))
}

/// CloudFront's resource matching: `*` matches any run of characters
/// (including none), `?` exactly one, everything else itself (case-sensitive).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much of the text it has swallowed.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn object<'a>(value: &'a Value, what: &'static str) -> Result<&'a Map<String, Value>, PolicyError> {
    value.as_object().ok_or(PolicyError::Shape(what))
}

fn only_keys(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), PolicyError> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(PolicyError::UnknownKey(key.clone())),
        None => Ok(()),
    }
}

fn epoch(value: &Value) -> Result<u64, PolicyError> {
    let inner = object(value, "a date condition is not an object")?;
    only_keys(inner, &["AWS:EpochTime"])?;
    inner
        .get("AWS:EpochTime")
        .and_then(Value::as_u64)
        .ok_or(PolicyError::Shape("AWS:EpochTime is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn botocore_order_and_spacing() {
        let policy = Policy {
            resource: Some("https://d.example/private/*".into()),
            date_less_than: 200,
            date_greater_than: Some(100),
            ip_address: Some("203.0.113.0/24".parse().unwrap()),
        };
        assert_eq!(
            policy.to_json(),
            r#"{"Statement":[{"Resource":"https://d.example/private/*","Condition":{"DateLessThan":{"AWS:EpochTime":200},"IpAddress":{"AWS:SourceIp":"203.0.113.0/24"},"DateGreaterThan":{"AWS:EpochTime":100}}}]}"#
        );
        assert_eq!(Policy::parse(policy.to_json().as_bytes()).unwrap(), policy);
    }

    #[test]
    fn the_javascript_condition_order_parses_the_same() {
        let js = r#"{"Statement":[{"Resource":"https://d.example/a.jpg","Condition":{"DateLessThan":{"AWS:EpochTime":200},"DateGreaterThan":{"AWS:EpochTime":100},"IpAddress":{"AWS:SourceIp":"10.0.0.1/32"}}}]}"#;
        let policy = Policy::parse(js.as_bytes()).unwrap();
        assert_eq!(policy.date_greater_than, Some(100));
        assert_eq!(policy.ip_address, Some("10.0.0.1/32".parse().unwrap()));
    }

    #[test]
    fn malformed_policies_are_refused() {
        let cases = [
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Statement":[{"Condition":{}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":"200"}}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":-1}}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":1.5}}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":200},"Foo":{}}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":200},"IpAddress":{"AWS:SourceIp":"999.1.1.1/8"}}}]}"#,
            r#"{"Statement":[{"Resource":1,"Condition":{"DateLessThan":{"AWS:EpochTime":200}}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":2}}},{"Condition":{"DateLessThan":{"AWS:EpochTime":2}}}]}"#,
            r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":2}}}],"Extra":1}"#,
        ];
        for case in cases {
            assert!(Policy::parse(case.as_bytes()).is_err(), "{case}");
        }
    }

    #[test]
    fn wildcards_match_as_cloudfront_documents() {
        assert!(wildcard_match("https://d/private/m1/*", "https://d/private/m1/display.jpg"));
        assert!(wildcard_match("https://d/private/m1/*", "https://d/private/m1/"));
        assert!(!wildcard_match("https://d/private/m1/*", "https://d/private/m2/display.jpg"));
        assert!(wildcard_match("https://d/private/m?/a.jpg", "https://d/private/m7/a.jpg"));
        assert!(!wildcard_match("https://d/private/m?/a.jpg", "https://d/private/m/a.jpg"));
        assert!(wildcard_match("*", "anything at all"));
        assert!(wildcard_match("https://*/a*b*c", "https://host/aXXbYYc"));
        assert!(!wildcard_match("https://*/a*b*c", "https://host/aXXbYYcZ"));
        assert!(!wildcard_match("https://d/A.jpg", "https://d/a.jpg"), "case-sensitive");
    }

    #[test]
    fn conditions_bound_time_and_address() {
        let policy = Policy {
            resource: Some("https://d/a.jpg".into()),
            date_less_than: 200,
            date_greater_than: Some(100),
            ip_address: Some("203.0.113.0/24".parse().unwrap()),
        };
        let inside: IpAddr = "203.0.113.9".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(policy.evaluate("https://d/a.jpg", 150, Some(inside)), Ok(()));
        assert_eq!(policy.evaluate("https://d/a.jpg", 100, Some(mapped)), Ok(()));
        assert_eq!(policy.evaluate("https://d/a.jpg", 200, Some(inside)), Err(Violation::Expired));
        assert_eq!(policy.evaluate("https://d/a.jpg", 99, Some(inside)), Err(Violation::NotYetValid));
        assert_eq!(
            policy.evaluate("https://d/a.jpg", 150, Some("198.51.100.1".parse().unwrap())),
            Err(Violation::IpNotAllowed)
        );
        assert_eq!(policy.evaluate("https://d/a.jpg", 150, None), Err(Violation::IpNotAllowed));
        assert_eq!(policy.evaluate("https://d/b.jpg", 150, Some(inside)), Err(Violation::ResourceMismatch));
    }

    #[test]
    fn bare_addresses_mean_one_host() {
        assert_eq!(parse_ip_range("192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(parse_ip_range("2001:db8::1").unwrap().to_string(), "2001:db8::1/128");
        assert!(parse_ip_range("2001:db8::/33").is_ok());
        assert!(parse_ip_range("192.0.2.0/33").is_err());
        assert!(parse_ip_range("example.com").is_err());
    }
}
