//! No spelling of a path walks past the public address into an internal
//! route or a service's metrics: the dev gateway and production's nginx
//! routes are tried with the same table of encodings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

/// What must come back for a request target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 400: the path has no plain form.
    Refused,
    /// Anything but an internal route or metrics (404, or the web page).
    NotInternal,
}

const WALKS: &[(&str, Expect)] = &[
    ("/internal/v1/public-keys", Expect::NotInternal),
    ("//internal/v1/public-keys", Expect::NotInternal),
    ("/INTERNAL/v1/public-keys", Expect::NotInternal),
    ("/Internal/v1/users/lookup", Expect::NotInternal),
    ("/%69nternal/v1/public-keys", Expect::NotInternal),
    ("/metrics", Expect::NotInternal),
    ("/v1/metrics", Expect::NotInternal),
    ("/v1/auth/../../internal/v1/users/by-username/alice", Expect::Refused),
    ("/v1/auth/./../internal/v1/users/lookup", Expect::Refused),
    ("/v1/%2e%2e/metrics", Expect::Refused),
    ("/v1/%2E%2E/metrics", Expect::Refused),
    ("/v1/%2e./metrics", Expect::Refused),
    ("/v1/..%2f..%2finternal/v1/sign", Expect::Refused),
    ("/v1/..%2F..%2Finternal/v1/sign", Expect::Refused),
    ("/internal/v1/media/..%2F..%2F..%2Fv1%2Ffeed/access", Expect::Refused),
    ("/v1/media/x%2F..%2F..%2F..%2Finternal%2Fv1%2Fmedia%2Fm1", Expect::Refused),
    ("/v1/media/x%5C..%5C..%5Cinternal", Expect::Refused),
    ("/v1/media/x%5c..%5c..%5cinternal", Expect::Refused),
    ("/v1/media/x\\..\\..\\internal", Expect::Refused),
    ("/v1/feed%00", Expect::Refused),
    ("/public/..%2F..%2Fmetrics", Expect::Refused),
    ("/private/../metrics", Expect::Refused),
    ("/.well-known/jwks%2Ejson", Expect::Refused),
];

/// Sends `target` as written (no client normalises it) and answers (status, body).
async fn raw_get(authority: &str, target: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("{text:?}"));
    (status, text)
}

async fn walk_every_path(public_url: &str) {
    let authority = public_url.trim_start_matches("http://");
    for (path, expected) in WALKS {
        // Each also in absolute form, as a proxy client would send it.
        for target in [path.to_string(), format!("http://{authority}{path}")] {
            let (status, answer) = raw_get(authority, &target).await;
            let leaked = answer.contains("service credential") || answer.contains("# HELP");
            assert!(!leaked, "{target} reached an internal route or metrics: {answer}");
            match expected {
                Expect::Refused => assert_eq!(status, 400, "{target}: {answer}"),
                Expect::NotInternal => assert!(
                    status == 404 || (status == 200 && answer.contains("<title>Shutter</title>")),
                    "{target}: {answer}"
                ),
            }
        }
    }
    // Harmless spellings of public routes still reach their service.
    for (path, status) in [("/v1/%66eed", 401), ("//v1//users//me", 401), ("/v1/users/%6De", 401)] {
        assert_eq!(raw_get(authority, path).await.0, status, "{path}");
    }
}

#[tokio::test]
async fn no_spelling_of_a_path_reaches_internal_routes_through_the_dev_gateway() {
    let stack = support::start_stack().await;
    walk_every_path(&stack.public_url).await;
}

#[tokio::test]
async fn no_spelling_of_a_path_reaches_internal_routes_through_nginx() {
    let nginx = support::nginx::start().await;
    walk_every_path(&nginx.stack.public_url).await;
}
