//! post's configuration from the environment: read whole, every problem named at once.

use common::config::{Env, FromEnv};

fn vars(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut vars = testkit::service::internal_auth_env("post");
    vars.extend(
        [
            ("MONGODB_URI", "mongodb://127.0.0.1:27017/?replicaSet=rs0"),
            ("AUTH_JWKS_URL", "http://auth:8081/.well-known/jwks.json"),
            ("AUTH_URL", "http://auth:8081"),
            ("MEDIA_URL", "http://media:8083"),
            ("URL_SIGNER_URL", "http://url-signer:8084"),
            ("PHOTO_BASE_URL", "https://photos.example.com/"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k, v.to_owned())),
    );
    vars
}

#[test]
fn a_whole_configuration_is_read_with_its_defaults() {
    let config = Env::from_map(vars(&[("POST_CLEARING_PERIOD", "24h"), ("POST_SIGN_BATCH", "0")]))
        .load(post::Config::read)
        .unwrap();
    assert_eq!(config.upstreams.photos, "https://photos.example.com", "no trailing slash");
    assert_eq!(config.clearing_period, std::time::Duration::from_secs(24 * 3600));
    assert_eq!(config.sign_batch, 1, "at least one URL per batch");
    assert_eq!(config.currency, "usd");
    assert_eq!(config.purchases_per_minute, post::config::DEFAULT_PURCHASES_PER_MINUTE);
    assert!(config.binding.is_some() && config.stripe.is_none());
}

#[test]
fn every_problem_is_named_at_once() {
    let bad = [
        ("POST_FEE_BPS", "20000"),
        ("POST_CURRENCY", "EUR"),
        ("POST_BIND_IPV4_PREFIX", "40"),
        ("POST_SIGN_BATCH", "many"),
    ];
    let mut without_media = vars(&bad);
    without_media.retain(|(k, _)| *k != "MEDIA_URL");
    let err = Env::from_map(without_media).load(post::Config::read).expect_err("misconfigured");
    let text = err.to_string();
    for named in [
        "POST_FEE_BPS must be at most",
        "POST_CURRENCY must be a lower-case",
        "POST_BIND_IPV4_PREFIX must be between",
        "POST_SIGN_BATCH is malformed",
        "MEDIA_URL is required",
    ] {
        assert!(text.contains(named), "{named}: {text}");
    }
    assert_eq!(err.problems.len(), 5, "{text}");
}
