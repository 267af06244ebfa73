//! Byte-compatibility with AWS's own signers, on the vectors in vectors/
//! (regenerate with vectors/generate.sh).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use cloudfront_sign::verify::{self, Denial, SignedRequest};
use cloudfront_sign::{HashAlgorithm, KeyGroup, Policy, PrivateKey, PublicKey, Signer, policy::Violation};
use serde_json::Value;

const KEY_ID: &str = "K2JCJMDEHXQW5F";
const VECTORS: &str = include_str!("vectors/vectors.json");
/// Inside every vector's validity window.
const NOW: u64 = 1_767_225_600 + 60;
const CLIENT_IN_RANGE: &str = "203.0.113.7";

fn vectors(source: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(VECTORS).unwrap();
    all[source].as_array().unwrap().clone()
}

fn private(kind: &str) -> PrivateKey {
    let pem = match kind {
        "rsa" => include_bytes!("vectors/keys/rsa_private.pem").as_slice(),
        _ => include_bytes!("vectors/keys/ecdsa_private.pem").as_slice(),
    };
    PrivateKey::from_pem(pem).unwrap()
}

fn group(kind: &str) -> KeyGroup {
    let pem = match kind {
        "rsa" => include_bytes!("vectors/keys/rsa_public.pem").as_slice(),
        _ => include_bytes!("vectors/keys/ecdsa_public.pem").as_slice(),
    };
    let mut group = KeyGroup::new();
    group.insert(KEY_ID, PublicKey::from_pem(pem).unwrap());
    group
}

fn hash(vector: &Value) -> HashAlgorithm {
    vector["hash"].as_str().unwrap().parse().unwrap()
}

fn policy_of(vector: &Value) -> Policy {
    let url = vector["url"].as_str().unwrap();
    Policy {
        resource: Some(vector.get("resource").and_then(Value::as_str).unwrap_or(url).to_owned()),
        date_less_than: vector["expires"].as_u64().unwrap(),
        date_greater_than: vector.get("not_before").and_then(Value::as_u64),
        ip_address: vector.get("ip").and_then(Value::as_str).map(|ip| ip.parse().unwrap()),
    }
}

fn query_params(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').unwrap().1;
    query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn request(url: &str) -> SignedRequest<'_> {
    SignedRequest { url, cookies: &[], client_ip: Some(CLIENT_IN_RANGE.parse().unwrap()), now: NOW }
}

#[test]
fn our_rsa_urls_equal_botocores_character_for_character() {
    let mut compared = 0;
    for vector in vectors("botocore").iter().filter(|v| v["key"] == "rsa") {
        let signer = Signer::new(KEY_ID, private("rsa"), hash(vector));
        let policy = policy_of(vector);
        assert_eq!(policy.to_json(), vector["policy"].as_str().unwrap(), "policy text for {vector}");
        let ours = signer.url(vector["url"].as_str().unwrap(), &policy).unwrap();
        assert_eq!(ours, vector["signed_url"].as_str().unwrap(), "signed URL for {vector}");
        compared += 1;
    }
    assert_eq!(compared, 22, "every RSA vector was compared");
}

#[test]
fn our_rsa_canned_signatures_equal_the_javascript_signers() {
    let mut compared = 0;
    for vector in vectors("js").iter().filter(|v| v["key"] == "rsa" && v["kind"] == "canned") {
        let theirs = vector["signed_url"].as_str().unwrap();
        // The JavaScript signer percent-encodes the path first; sign what it signed.
        let base = theirs
            .split_once("?Expires=")
            .map(|(base, _)| base)
            .unwrap_or_else(|| theirs.split_once("&Expires=").unwrap().0);
        let signer = Signer::new(KEY_ID, private("rsa"), hash(vector));
        let ours = signer.canned_url(base, vector["expires"].as_u64().unwrap()).unwrap();
        assert_eq!(query_params(&ours), query_params(theirs), "parameters for {vector}");
        compared += 1;
    }
    assert_eq!(compared, 10);
}

#[test]
fn every_url_either_signer_made_passes_our_verification() {
    for source in ["botocore", "js"] {
        for vector in vectors(source).iter().filter(|v| v.get("signed_url").is_some()) {
            let url = vector["signed_url"].as_str().unwrap();
            let granted = verify::verify(&group(vector["key"].as_str().unwrap()), &request(url))
                .unwrap_or_else(|denial| panic!("{source} URL refused ({denial}): {vector}"));
            assert_eq!(granted.canned, vector["kind"] == "canned");
            assert_eq!(granted.key_pair_id, KEY_ID);
        }
    }
}

#[test]
fn every_cookie_set_the_javascript_signer_made_passes_our_verification() {
    let mut checked = 0;
    for vector in vectors("js").iter().filter(|v| v.get("cookies").is_some()) {
        let cookies: Vec<(String, String)> = vector["cookies"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        let jar: Vec<(&str, &str)> = cookies.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let url = vector["url"].as_str().unwrap();
        let request = SignedRequest { cookies: &jar, ..request(url) };
        let granted = verify::verify(&group(vector["key"].as_str().unwrap()), &request)
            .unwrap_or_else(|denial| panic!("cookies refused ({denial}): {vector}"));
        assert!(granted.from_cookies);
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn vectors_stop_working_when_their_conditions_fail() {
    for vector in vectors("botocore").iter().filter(|v| v["kind"] == "custom" && v.get("ip").is_some()) {
        let url = vector["signed_url"].as_str().unwrap();
        let keys = group(vector["key"].as_str().unwrap());
        let expired = SignedRequest { now: vector["expires"].as_u64().unwrap(), ..request(url) };
        assert_eq!(verify::verify(&keys, &expired).unwrap_err(), Denial::Violation(Violation::Expired));
        let early = SignedRequest { now: vector["not_before"].as_u64().unwrap() - 1, ..request(url) };
        assert_eq!(verify::verify(&keys, &early).unwrap_err(), Denial::Violation(Violation::NotYetValid));
        let elsewhere: IpAddr = "198.51.100.1".parse().unwrap();
        let outside = SignedRequest { client_ip: Some(elsewhere), ..request(url) };
        assert_eq!(verify::verify(&keys, &outside).unwrap_err(), Denial::Violation(Violation::IpNotAllowed));
    }
}
