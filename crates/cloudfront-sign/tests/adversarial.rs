//! Every way of bending a signed URL is refused, with the right reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use cloudfront_sign::encoding;
use cloudfront_sign::policy::Violation;
use cloudfront_sign::verify::{self, Denial, SignedRequest};
use cloudfront_sign::{HashAlgorithm, KeyGroup, KeyKind, Policy, PrivateKey, Signer};
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;
const URL: &str = "https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/display.jpg";

struct Keys {
    rsa: PrivateKey,
    ecdsa: PrivateKey,
    group: KeyGroup,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = PrivateKey::generate(KeyKind::Rsa).unwrap();
        let ecdsa = PrivateKey::generate(KeyKind::Ecdsa).unwrap();
        let mut group = KeyGroup::new();
        group.insert("KRSA", rsa.public_key().unwrap());
        group.insert("KEC", ecdsa.public_key().unwrap());
        Keys { rsa, ecdsa, group }
    })
}

fn signer(hash: HashAlgorithm) -> Signer {
    Signer::new("KRSA", keys().rsa.clone(), hash)
}

fn check(url: &str) -> Result<(), Denial> {
    check_at(url, NOW, "203.0.113.7")
}

fn check_at(url: &str, now: u64, ip: &str) -> Result<(), Denial> {
    let request = SignedRequest { url, cookies: &[], client_ip: Some(ip.parse().unwrap()), now };
    verify::verify(&keys().group, &request).map(drop)
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|p| if p.starts_with(&format!("{name}=")) { format!("{name}={value}") } else { p.to_owned() })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&']).find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap()
}

/// A custom policy (the start time keeps it from the canned form).
fn custom(resource: &str) -> Policy {
    Policy {
        resource: Some(resource.into()),
        date_less_than: NOW + 600,
        date_greater_than: Some(NOW - 60),
        ip_address: None,
    }
}

#[test]
fn a_genuine_url_passes() {
    let url = signer(HashAlgorithm::Sha1).canned_url(URL, NOW + 600).unwrap();
    assert_eq!(check(&url), Ok(()));
}

#[test]
fn the_adversarial_matrix_is_refused() {
    let sha1 = signer(HashAlgorithm::Sha1);
    let sha256 = signer(HashAlgorithm::Sha256);
    let canned = sha1.canned_url(URL, NOW + 600).unwrap();
    let custom_url = sha1.url(URL, &custom(URL)).unwrap();
    let wildcard = sha1
        .url(
            &URL.replace("display", "thumb"),
            &custom("https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/*"),
        )
        .unwrap();
    let signature = param(&canned, "Signature");
    let policy = param(&custom_url, "Policy");
    let policy_json = String::from_utf8(encoding::decode(policy).unwrap()).unwrap();
    let mut flipped = signature.to_owned();
    flipped.replace_range(10..11, if &signature[10..11] == "A" { "B" } else { "A" });

    let standard_b64 = format!("+{}", &policy[1..]);
    let reserialized = encoding::encode(policy_json.replace(",", ", ").as_bytes());
    let later_policy = encoding::encode(
        policy_json.replace(&(NOW + 600).to_string(), &(NOW + 60_000).to_string()).as_bytes(),
    );
    let huge_policy = "A".repeat(1_000_000);
    let other_object = canned.replace("display.jpg", "original.jpg");
    let outside_wildcard = wildcard.replace("/m1/thumb.jpg", "/m2/thumb.jpg");
    let traversal = wildcard.replace("/m1/thumb.jpg", "/m1/../m2/thumb.jpg");
    let encoded_traversal = wildcard.replace("/m1/thumb.jpg", "/m1/%2e%2e/m2/thumb.jpg");
    let double_encoded = wildcard.replace("/m1/thumb.jpg", "/m1/%252e%252e/m2/thumb.jpg");
    let sha256_url = sha256.canned_url(URL, NOW + 600).unwrap();
    let mut removed_group = keys().group.clone();
    removed_group.remove("KRSA");

    let cases: Vec<(&str, String, Denial)> = vec![
        ("tampered signature", replace_param(&canned, "Signature", &flipped), Denial::BadSignature),
        ("tampered policy", replace_param(&custom_url, "Policy", &later_policy), Denial::BadSignature),
        (
            "policy in standard base64",
            replace_param(&custom_url, "Policy", &standard_b64),
            Denial::MalformedPolicyEncoding,
        ),
        ("policy re-serialized", replace_param(&custom_url, "Policy", &reserialized), Denial::BadSignature),
        (
            "later Expires",
            replace_param(&canned, "Expires", &(NOW + 60_000).to_string()),
            Denial::BadSignature,
        ),
        ("signature for another object", other_object, Denial::BadSignature),
        ("wildcard outside its scope", outside_wildcard, Denial::Violation(Violation::ResourceMismatch)),
        ("dot-dot traversal", traversal, Denial::UnsafePath),
        ("encoded traversal", encoded_traversal, Denial::UnsafePath),
        ("double-encoded traversal", double_encoded, Denial::UnsafePath),
        ("duplicated Signature", format!("{canned}&Signature={signature}"), Denial::Duplicate("Signature")),
        ("mixed-case parameter", format!("{canned}&signature=x"), Denial::LookAlike("signature".into())),
        ("Hash-Algorithm added", format!("{canned}&Hash-Algorithm=SHA256"), Denial::BadSignature),
        ("Hash-Algorithm removed", sha256_url.replace("&Hash-Algorithm=SHA256", ""), Denial::BadSignature),
        (
            "unknown Hash-Algorithm",
            format!("{canned}&Hash-Algorithm=MD5"),
            Denial::UnsupportedHash("MD5".into()),
        ),
        (
            "garbage signature",
            replace_param(&canned, "Signature", "!!not*base64!!"),
            Denial::MalformedSignature,
        ),
        ("garbage policy", replace_param(&custom_url, "Policy", "%%%"), Denial::MalformedPolicyEncoding),
        ("1 MB policy", replace_param(&custom_url, "Policy", &huge_policy), Denial::PolicyTooLarge),
        (
            "unknown key id",
            replace_param(&canned, "Key-Pair-Id", "KNOPE"),
            Denial::UnknownKey("KNOPE".into()),
        ),
        ("no key id", canned.replace(&format!("&Key-Pair-Id={}", "KRSA"), ""), Denial::MissingKeyPairId),
        ("empty key id", replace_param(&canned, "Key-Pair-Id", ""), Denial::MissingKeyPairId),
        ("no signature", canned.replace(&format!("&Signature={signature}"), ""), Denial::MissingSignature),
        (
            "both Expires and Policy",
            format!("{custom_url}&Expires={}", NOW + 600),
            Denial::BothPolicyAndExpires,
        ),
        (
            "neither Expires nor Policy",
            canned.replace(&format!("Expires={}&", NOW + 600), ""),
            Denial::MissingPolicy,
        ),
        ("non-numeric Expires", replace_param(&canned, "Expires", "1e10"), Denial::MalformedExpires),
        ("nothing at all", URL.to_owned(), Denial::MissingKeyPairId),
        ("relative URL", "/private/a.jpg?Expires=1".to_owned(), Denial::NotAbsolute),
    ];
    for (case, url, expected) in cases {
        assert_eq!(check(&url), Err(expected), "{case}: {url:.200}");
    }

    let request = SignedRequest { url: &canned, cookies: &[], client_ip: None, now: NOW };
    assert_eq!(
        verify::verify(&removed_group, &request).unwrap_err(),
        Denial::UnknownKey("KRSA".into()),
        "a key removed from the group"
    );
    assert_eq!(check_at(&canned, NOW + 600, "203.0.113.7"), Err(Denial::Violation(Violation::Expired)));
}

#[test]
fn every_denial_speaks_cloudfronts_words() {
    assert_eq!(Denial::MissingKeyPairId.message(), "Missing Key-Pair-Id query parameter or cookie value");
    assert_eq!(Denial::UnknownKey("K".into()).message(), "Unknown Key");
    assert_eq!(Denial::BadSignature.code(), "AccessDenied");
    assert_eq!(Denial::Violation(Violation::Expired).message(), "Access denied");
}

#[test]
fn query_signatures_win_over_cookies_and_cookies_work_alone() {
    let signer = signer(HashAlgorithm::Sha256);
    let cookies =
        signer.cookies(&custom("https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/*")).unwrap();
    let pairs = cookies.pairs();
    let jar: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ok = SignedRequest { url: URL, cookies: &jar, client_ip: None, now: NOW };
    assert!(verify::verify(&keys().group, &ok).unwrap().from_cookies);
    let elsewhere =
        SignedRequest { url: "https://d111111abcdef8.cloudfront.net/private/2026/11/28/m2/a.jpg", ..ok };
    assert_eq!(
        verify::verify(&keys().group, &elsewhere).unwrap_err(),
        Denial::Violation(Violation::ResourceMismatch)
    );
    let mut doubled = jar.clone();
    doubled.push(("CloudFront-Signature", "AAAA"));
    let doubled = SignedRequest { cookies: &doubled, ..ok };
    assert_eq!(verify::verify(&keys().group, &doubled).unwrap_err(), Denial::Duplicate("Signature"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Sign-then-verify accepts exactly when the policy holds.
    #[test]
    fn sign_then_verify_accepts_exactly_when_the_policy_holds(
        ecdsa in any::<bool>(),
        sha256 in any::<bool>(),
        segment in "[a-z0-9]{1,12}",
        other in "[a-z0-9]{1,12}",
        wildcard in any::<bool>(),
        request_other in any::<bool>(),
        expires_in in 1u64..10_000,
        start_offset in proptest::option::of(0u64..10_000),
        prefix in proptest::option::of(8u8..=32),
        client in any::<u32>(),
        at_offset in 0u64..20_000,
    ) {
        let hash = if sha256 { HashAlgorithm::Sha256 } else { HashAlgorithm::Sha1 };
        let (id, key) = if ecdsa { ("KEC", keys().ecdsa.clone()) } else { ("KRSA", keys().rsa.clone()) };
        let signer = Signer::new(id, key, hash);
        let base = 1_700_000_000u64;
        let resource_url = format!("https://d.example/private/{segment}/a.jpg");
        let pattern = if wildcard { format!("https://d.example/private/{segment}/*") } else { resource_url.clone() };
        let client_ip = std::net::Ipv4Addr::from(client);
        let range = prefix.map(|p| ipnet::IpNet::from(ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(client ^ 0x0000_00ff), p).unwrap().trunc()));
        let policy = Policy {
            resource: Some(pattern.clone()),
            date_less_than: base + expires_in,
            // A start before the expiry: a window that never opens is not signed (tested apart).
            date_greater_than: start_offset.map(|s| base + s % expires_in),
            ip_address: range,
        };
        let signed = signer.url(&resource_url, &policy).unwrap();
        let requested = if request_other { signed.replace(&format!("/{segment}/"), &format!("/{other}/")) } else { signed.clone() };
        let now = base + at_offset;
        let request = SignedRequest { url: &requested, cookies: &[], client_ip: Some(client_ip.into()), now };
        let outcome = verify::verify(&keys().group, &request);

        let requested_url = if request_other { resource_url.replace(&format!("/{segment}/"), &format!("/{other}/")) } else { resource_url.clone() };
        let canned = policy.is_canned_form() && !wildcard;
        let resource_ok = if canned { requested_url == resource_url } else { cloudfront_sign::policy::wildcard_match(&pattern, &requested_url) };
        let holds = resource_ok
            && now < policy.date_less_than
            && policy.date_greater_than.is_none_or(|s| now >= s)
            && policy.ip_address.is_none_or(|r| r.contains(&std::net::IpAddr::from(client_ip)));
        prop_assert_eq!(outcome.is_ok(), holds, "{:?}", outcome);
    }
}

#[test]
fn a_remembered_signature_still_meets_its_policy_and_goes_with_its_key() {
    let rsa = PrivateKey::generate(KeyKind::Rsa).unwrap();
    let mut group = KeyGroup::with_memo(16);
    group.insert("KMEMO", rsa.public_key().unwrap());
    let url = Signer::new("KMEMO", rsa, HashAlgorithm::Sha1).canned_url(URL, NOW + 60).unwrap();
    let at = |group: &KeyGroup, url: &str, now: u64| {
        let request = SignedRequest { url, cookies: &[], client_ip: None, now };
        verify::verify(group, &request).map(drop)
    };
    assert_eq!(at(&group, &url, NOW), Ok(()));
    assert_eq!(at(&group, &url, NOW), Ok(()), "again, from the memo");
    assert!(matches!(at(&group, &url, NOW + 61), Err(Denial::Violation(_))), "expiry is checked every time");
    let mut flipped = param(&url, "Signature").to_owned();
    flipped.replace_range(5..6, if &flipped[5..6] == "A" { "B" } else { "A" });
    assert_eq!(at(&group, &replace_param(&url, "Signature", &flipped), NOW), Err(Denial::BadSignature));
    // The same id, another key: what the old one signed is no longer good.
    group.insert("KMEMO", PrivateKey::generate(KeyKind::Rsa).unwrap().public_key().unwrap());
    assert_eq!(at(&group, &url, NOW), Err(Denial::BadSignature));
}

#[test]
fn a_policy_whose_start_is_not_before_its_expiry_is_never_signed() {
    use cloudfront_sign::SignError;
    for starts in [NOW + 60, NOW + 61] {
        let policy = Policy { date_greater_than: Some(starts), ..Policy::canned(URL, NOW + 60) };
        let refused = SignError::EmptyWindow { starts, expires: NOW + 60 };
        assert_eq!(signer(HashAlgorithm::Sha1).url(URL, &policy), Err(refused.clone()));
        assert_eq!(signer(HashAlgorithm::Sha256).cookies(&policy).map(drop), Err(refused));
    }
    let open = Policy { date_greater_than: Some(NOW + 59), ..Policy::canned(URL, NOW + 60) };
    assert!(signer(HashAlgorithm::Sha1).url(URL, &open).is_ok(), "one second is a window");
}
