//! Signing and verification speed on one core, beside `openssl speed` run on
//! the same machine in the same run. `cargo bench -p cloudfront-sign`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use cloudfront_sign::verify::{self, SignedRequest};
use cloudfront_sign::{HashAlgorithm, KeyGroup, KeyKind, PrivateKey, Signer};

const RUN: Duration = Duration::from_secs(2);

/// Operations per second of `op`, run on this thread for about `RUN`.
fn rate(mut op: impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < RUN {
        for _ in 0..32 {
            op(n);
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// (sign/s, verify/s) for rsa2048 and ecdsap256 from `openssl speed`, one core.
fn openssl_speed() -> Option<((f64, f64), (f64, f64))> {
    let out =
        Command::new("openssl").args(["speed", "-seconds", "2", "rsa2048", "ecdsap256"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let last_two = |needle: &str| -> Option<(f64, f64)> {
        let line = text.lines().find(|l| l.contains(needle))?;
        let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        Some((nums[nums.len() - 2], nums[nums.len() - 1]))
    };
    Some((last_two("rsa 2048 bits")?, last_two("(nistp256)")?))
}

fn main() {
    let url = "https://d111111abcdef8.cloudfront.net/private/2026/11/28/0192f1d3a4b5c6d7/display.jpg";
    let expires = 4_000_000_000u64;
    let mut group = KeyGroup::new();
    let mut figures = Vec::new();
    for kind in [KeyKind::Rsa, KeyKind::Ecdsa] {
        let key = PrivateKey::generate(kind).unwrap();
        let id = format!("K{kind}");
        group.insert(&id, key.public_key().unwrap());
        for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
            let signer = Signer::new(&id, key.clone(), hash);
            // A different expiry each time: no two URLs are the same.
            let signs = rate(|n| {
                black_box(signer.canned_url(url, expires + n).unwrap());
            });
            let signed = signer.canned_url(url, expires).unwrap();
            let request = SignedRequest { url: &signed, cookies: &[], client_ip: None, now: 1_800_000_000 };
            let verifies = rate(|_| {
                black_box(verify::verify(&group, &request).unwrap());
            });
            figures.push((kind, hash, signs, verifies));
        }
    }
    let reference = openssl_speed();
    println!("CloudFront canned-policy URLs, one core (whole URL: policy, signature, encoding)");
    println!(
        "{:<6} {:<7} {:>12} {:>14} {:>14} {:>16}",
        "key", "hash", "signed/s", "× openssl sign", "verified/s", "× openssl verify"
    );
    for (kind, hash, signs, verifies) in figures {
        let (sign_ref, verify_ref) = match (kind, reference) {
            (KeyKind::Rsa, Some((rsa, _))) => rsa,
            (KeyKind::Ecdsa, Some((_, ec))) => ec,
            _ => (f64::NAN, f64::NAN),
        };
        println!(
            "{:<6} {:<7} {:>12.0} {:>14.2} {:>14.0} {:>16.2}",
            kind.to_string(),
            hash.to_string(),
            signs,
            signs / sign_ref,
            verifies,
            verifies / verify_ref
        );
    }
    match reference {
        Some(((rs, rv), (es, ev))) => println!(
            "openssl speed, same run: rsa2048 {rs:.0} sign/s {rv:.0} verify/s; ecdsap256 {es:.0} sign/s {ev:.0} verify/s"
        ),
        None => println!("openssl speed: not available on this machine"),
    }
}
