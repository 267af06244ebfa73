//! Login latency with the configured (OWASP) argon2id parameters, against the
//! MongoDB-compatible test server, over loopback HTTP. Also the latency of a
//! wrong password and of an unknown account, which must cost the same.
//! `cargo bench -p auth`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use auth::config::{Config, PasswordCost};
use auth::keys::SigningKey;
use common::server::HttpSettings;
use serde_json::json;

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    format!("median {:.1} ms, p99 {:.1} ms ({} logins)", at(0.5), at(0.99), samples.len())
}

async fn run() {
    let cost = PasswordCost::default();
    let config = Config {
        http: HttpSettings::ephemeral(),
        mongo: testkit::mongo::settings("auth-bench"),
        signing_keys: vec![SigningKey::from_pem("bench", &SigningKey::generate_pem().unwrap()).unwrap()],
        active_key_id: None,
        issuer: "shutter-auth".into(),
        audience: "shutter".into(),
        password_cost: cost,
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        internal_keys: testkit::service::internal_keys("auth"),
        signups_per_hour: auth::limiter::DEFAULT_SIGNUPS_PER_HOUR,
    };
    let app = auth::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    for n in 0..8 {
        let body = json!({ "username": format!("bench{n}"), "email": format!("bench{n}@example.com"), "password": "correct horse battery" });
        assert_eq!(
            client.post(format!("{base}/v1/auth/signup")).json(&body).send().await.unwrap().status(),
            201
        );
    }
    let login = |login: String, password: &'static str, ip: String| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let started = Instant::now();
            let response = client
                .post(format!("{base}/v1/auth/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({ "login": login, "password": password }))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), started.elapsed())
        }
    };
    let mut ok = Vec::new();
    for n in 0..100 {
        let (status, took) =
            login(format!("bench{}", n % 8), "correct horse battery", "198.51.100.1".into()).await;
        assert_eq!(status, 200);
        ok.push(took);
    }
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for n in 0..40 {
        // Spread over accounts and addresses so the brute-force limits stay out of the way.
        let (status, took) =
            login(format!("bench{}", n % 8), "wrong password!", format!("203.0.113.{n}")).await;
        assert_eq!(status, 401);
        wrong.push(took);
        let (status, took) = login(format!("nobody{n}"), "wrong password!", format!("203.0.114.{n}")).await;
        assert_eq!(status, 401);
        unknown.push(took);
    }
    println!(
        "argon2id m={} KiB, t={}, p={} (OWASP), sequential logins over loopback HTTP:",
        cost.memory_kib, cost.iterations, cost.parallelism
    );
    println!("  successful login:      {}", summary(ok));
    println!("  wrong password:        {}", summary(wrong));
    println!("  unknown account:       {}", summary(unknown));
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
