use std::time::{SystemTime, UNIX_EPOCH};

use cloudfront_sign::{HashAlgorithm, Policy, Signer, encoding};

use crate::helpers::{DIST, KEY_ID, spawn_for_vectors, vector_private_key};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn signer(hash: HashAlgorithm) -> Signer {
    Signer::new(KEY_ID, vector_private_key("rsa"), hash)
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let parts: Vec<String> = query
        .split('&')
        .map(|p| if p.starts_with(&format!("{name}=")) { format!("{name}={value}") } else { p.to_owned() })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&']).find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap()
}

#[tokio::test]
async fn the_adversarial_matrix_gets_403_with_cloudfronts_words() {
    let edge = spawn_for_vectors("rsa").await;
    let m1 = format!("https://{DIST}/private/2026/11/28/m1/display.jpg");
    let sha1 = signer(HashAlgorithm::Sha1);
    let good = sha1.canned_url(&m1, now() + 600).unwrap();
    let wildcard_policy = Policy {
        resource: Some(format!("https://{DIST}/private/2026/11/28/m1/*")),
        date_less_than: now() + 600,
        date_greater_than: None,
        ip_address: None,
    };
    let wildcard = sha1.url(&m1.replace("display", "thumb"), &wildcard_policy).unwrap();
    let ip_bound = sha1
        .url(
            &m1,
            &Policy {
                ip_address: Some("198.51.100.0/24".parse().unwrap()),
                ..Policy::canned(&m1, now() + 600)
            },
        )
        .unwrap();
    let signature = param(&good, "Signature").to_owned();
    let mut flipped = signature.clone();
    flipped.replace_range(5..6, if &signature[5..6] == "A" { "B" } else { "A" });
    let policy = param(&wildcard, "Policy").to_owned();
    let json = String::from_utf8(encoding::decode(&policy).unwrap()).unwrap();
    let widened = encoding::encode(json.replace("/m1/*", "/*").as_bytes());
    let reserialized = encoding::encode(json.replace(',', ", ").as_bytes());
    let sha256 = signer(HashAlgorithm::Sha256).canned_url(&m1, now() + 600).unwrap();

    let cases: Vec<(&str, String, &str)> = vec![
        ("no signature at all", m1.clone(), "MissingKey"),
        ("tampered signature", replace_param(&good, "Signature", &flipped), "AccessDenied"),
        ("tampered policy", replace_param(&wildcard, "Policy", &widened), "AccessDenied"),
        ("re-encoded policy", replace_param(&wildcard, "Policy", &reserialized), "AccessDenied"),
        (
            "policy in standard base64",
            replace_param(&wildcard, "Policy", &format!("+{}", &policy[1..])),
            "AccessDenied",
        ),
        ("expired", sha1.canned_url(&m1, now() - 1).unwrap(), "AccessDenied"),
        (
            "not yet valid",
            sha1.url(
                &m1,
                &Policy { date_greater_than: Some(now() + 300), ..Policy::canned(&m1, now() + 600) },
            )
            .unwrap(),
            "AccessDenied",
        ),
        ("wrong client IP", ip_bound, "AccessDenied"),
        ("unknown key id", replace_param(&good, "Key-Pair-Id", "KUNKNOWN"), "InvalidKey"),
        ("signature for another object", good.replace("/m1/display.jpg", "/m2/display.jpg"), "AccessDenied"),
        ("wildcard outside its scope", wildcard.replace("/m1/thumb.jpg", "/m2/display.jpg"), "AccessDenied"),
        ("duplicated parameter", format!("{good}&Signature={signature}"), "AccessDenied"),
        ("mixed-case parameter", good.replace("Signature=", "signature="), "AccessDenied"),
        ("Hash-Algorithm added", format!("{good}&Hash-Algorithm=SHA256"), "AccessDenied"),
        ("Hash-Algorithm removed", sha256.replace("&Hash-Algorithm=SHA256", ""), "AccessDenied"),
        ("garbage base64", replace_param(&good, "Signature", "%%%%"), "AccessDenied"),
        ("oversized policy", replace_param(&wildcard, "Policy", &"A".repeat(9000)), "AccessDenied"),
        ("scheme changed", good.replace("https://", "http://"), "AccessDenied"),
        ("host changed", good.replace(DIST, "evil.example"), "AccessDenied"),
    ];
    for (case, url, code) in cases {
        let response = edge.get(&url, "203.0.113.7").send().await.unwrap();
        let status = response.status();
        let content_type = response.headers().get("content-type").cloned();
        let body = response.text().await.unwrap();
        assert_eq!(status, 403, "{case}: {body}");
        assert_eq!(content_type.unwrap(), "text/xml", "{case}");
        assert!(body.contains(&format!("<Code>{code}</Code>")), "{case}: {body}");
        assert!(
            !body.contains("display.jpg") && !body.contains("expired"),
            "{case}: no internals in the body: {body}"
        );
    }
}

#[tokio::test]
async fn traversal_and_odd_bytes_never_reach_an_object() {
    let edge = spawn_for_vectors("rsa").await;
    let wildcard_policy = Policy {
        resource: Some(format!("https://{DIST}/private/2026/11/28/m1/*")),
        date_less_than: now() + 600,
        date_greater_than: None,
        ip_address: None,
    };
    let signed = signer(HashAlgorithm::Sha1)
        .url(&format!("https://{DIST}/private/2026/11/28/m1/x"), &wildcard_policy)
        .unwrap();
    let query = signed.split_once('?').unwrap().1;
    for path in [
        "/private/2026/11/28/m1/../m2/display.jpg",
        "/private/2026/11/28/m1/%2e%2e/m2/display.jpg",
        "/private/2026/11/28/m1/%2E%2E/m2/display.jpg",
        "/private/2026/11/28/m1/%252e%252e/m2/display.jpg",
        "/private/2026/11/28/m1/..%2fm2/display.jpg",
        "/public/../private/2026/11/28/m2/display.jpg",
        "/public/%2e%2e/private/2026/11/28/m2/display.jpg",
        "/private/2026/11/28/m1/%FF%FE.jpg",
    ] {
        let (status, text) = edge.raw(format!("{path}?{query}").as_bytes(), DIST).await;
        // Dot segments in any encoding are refused before routing (400), the rest at the gate (403).
        assert!(status == 400 || status == 403, "{path}: {text}");
    }
    // A Host that carries a path of its own: the wildcard signature would
    // cover `https://{DIST}/…/m1/x?/…/m2/display.jpg` while the path names m2.
    for host in [
        format!("{DIST}/private/2026/11/28/m1/x?"),
        format!("{DIST}/private/2026/11/28/m1/x#"),
        format!("a@{DIST}"),
    ] {
        let target = format!("/private/2026/11/28/m2/display.jpg?{query}");
        let (status, text) = edge.raw(target.as_bytes(), &host).await;
        assert_eq!(status, 400, "Host {host:?}: {text}");
    }
    // Bytes that are not even ASCII in the request line are refused by the HTTP layer.
    let (status, _) = edge.raw(b"/private/2026/11/28/m1/\xff\xfe.jpg", DIST).await;
    assert!(status == 0 || (400..500).contains(&status), "non-UTF-8 request line: {status}");
    // A megabyte-long URL never reaches verification, and never succeeds.
    let huge = format!(
        "/private/2026/11/28/m1/display.jpg?Policy={}&Signature=x&Key-Pair-Id={KEY_ID}",
        "A".repeat(1 << 20)
    );
    let (status, _) = edge.raw(huge.as_bytes(), DIST).await;
    assert!(status == 0 || (400..500).contains(&status), "1 MB policy: {status}");
}
