//! post's configuration.

use std::net::SocketAddr;
use std::time::Duration;

use common::clock::Clock;
use common::config::{Env, FromEnv, Seconds};
use common::internal_auth::{InternalKeys, Role};
use common::mongo::MongoSettings;
use common::secrecy::SecretString;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;
use ipnet::IpNet;

use crate::posts::binding::BindingSettings;
use crate::posts::cookies::CookieSettings;

pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8082);
/// A page must not wait long for URLs: it answers without them instead.
pub const DEFAULT_SIGNER_TIMEOUT: Duration = Duration::from_millis(300);
pub const DEFAULT_URL_LIFETIME: Duration = Duration::from_secs(600);
/// url-signer's own default `SIGNER_MAX_BATCH`.
pub const DEFAULT_SIGN_BATCH: usize = 100;
pub const DEFAULT_MAX_PRICE_CENTS: u64 = 100_000;
pub const DEFAULT_CURRENCY: &str = "usd";
/// Card top-ups: $1 to $500 unless configured otherwise.
pub const DEFAULT_TOPUP_LIMITS: AmountLimits = AmountLimits { min_cents: 100, max_cents: 50_000 };
/// Payouts: at least $10, at most $10,000 at a time.
pub const DEFAULT_PAYOUT_LIMITS: AmountLimits = AmountLimits { min_cents: 1_000, max_cents: 1_000_000 };
pub const DEFAULT_STRIPE_API_URL: &str = "https://api.stripe.com";
/// How long a sale's share stays pending before it can be paid out: card
/// payments can be disputed, and a week covers most early disputes.
pub const DEFAULT_CLEARING_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);
/// How many purchases, and how many refunds, one user may make a minute.
pub const DEFAULT_PURCHASES_PER_MINUTE: u32 = 20;
pub const DEFAULT_REFUNDS_PER_MINUTE: u32 = 20;
pub const DEFAULT_REPORTS_PER_MINUTE: u32 = 5;
/// Three days to top up after a renewal fails.
pub const DEFAULT_SUBSCRIPTION_GRACE: Duration = Duration::from_secs(3 * 24 * 3600);
pub const DEFAULT_RENEWAL_EVERY: Duration = Duration::from_secs(30);
pub const DEFAULT_NOTIFICATION_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// How long post waits for the payment provider's answer.
pub const DEFAULT_PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpSettings,
    pub mongo: MongoSettings,
    pub user_auth: UserAuthSettings,
    pub internal_keys: InternalKeys,
    pub upstreams: Upstreams,
    /// How long post waits for url-signer before answering without URLs.
    pub signer_timeout: Duration,
    pub url_lifetime: Duration,
    /// The most URLs in one signing call: url-signer's `SIGNER_MAX_BATCH`.
    pub sign_batch: usize,
    /// Paid photos' URLs are bound to the viewer's network (`None`: off).
    pub binding: Option<BindingSettings>,
    /// CIDRs (the load balancer) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub max_price_cents: u64,
    /// Platform fee in basis points of the price (0 = the creator gets all).
    pub fee_bps: u64,
    /// `POST /v1/wallet/dev-topup` exists only when this is set.
    pub dev_topup: bool,
    /// Every creator counts as verified for payouts (the dev stack only,
    /// like the dev top-up: it has no admin to verify anyone).
    pub dev_creators_verified: bool,
    /// The currency of every wallet, price and payment (ISO 4217, lower case).
    pub currency: String,
    pub topup_limits: AmountLimits,
    pub payout_limits: AmountLimits,
    /// How long a creator's share of a sale is pending before it is available.
    pub clearing_period: Duration,
    /// Per user and minute: purchases made, and refunds given (a creator or an admin).
    pub purchases_per_minute: u32,
    pub refunds_per_minute: u32,
    pub reports_per_minute: u32,
    /// How long a subscription whose renewal failed stays open while it is charged again.
    pub subscription_grace: Duration,
    /// How often due subscriptions are renewed.
    pub renewal_every: Duration,
    /// How long a notification is kept (and a live stream may resume after it).
    pub notification_retention: Duration,
    /// Viewers' cookies (their own copies): the domain they are set for and
    /// whether only over HTTPS.
    pub cookies: CookieSettings,
    /// The time subscriptions and their shares' clearing run on (tests move it).
    pub clock: Clock,
    /// The payment provider; without it card top-ups, card refunds and
    /// payouts are 404 (the dev top-up may still run).
    pub stripe: Option<StripeSettings>,
}

/// The smallest and largest amount one request may move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountLimits {
    pub min_cents: u64,
    pub max_cents: u64,
}

impl AmountLimits {
    pub fn admits(&self, amount_cents: u64) -> bool {
        (self.min_cents..=self.max_cents).contains(&amount_cents)
    }
}

/// Stripe (or a server speaking its API, such as localstripe in the tests).
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com` in production.
    pub api_url: String,
    /// The secret API key, `sk_live_…` or `sk_test_…`.
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secret, `whsec_…`.
    pub webhook_secret: SecretString,
    pub timeout: Duration,
}

/// The services post calls, and where photos are served from.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub auth: String,
    pub media: String,
    pub url_signer: String,
    /// The CloudFront distribution (or edge), e.g. `https://d111111abcdef8.cloudfront.net`.
    pub photos: String,
}

impl Config {
    pub fn new(
        http: HttpSettings,
        mongo: MongoSettings,
        user_auth: UserAuthSettings,
        internal_keys: InternalKeys,
        mut upstreams: Upstreams,
    ) -> Self {
        upstreams.photos = upstreams.photos.trim_end_matches('/').to_owned();
        Self {
            http,
            mongo,
            user_auth,
            internal_keys,
            upstreams,
            signer_timeout: DEFAULT_SIGNER_TIMEOUT,
            url_lifetime: DEFAULT_URL_LIFETIME,
            sign_batch: DEFAULT_SIGN_BATCH,
            binding: Some(BindingSettings::DEFAULT),
            trusted_proxies: Vec::new(),
            max_price_cents: DEFAULT_MAX_PRICE_CENTS,
            fee_bps: 0,
            dev_topup: false,
            dev_creators_verified: false,
            currency: DEFAULT_CURRENCY.to_owned(),
            topup_limits: DEFAULT_TOPUP_LIMITS,
            payout_limits: DEFAULT_PAYOUT_LIMITS,
            clearing_period: DEFAULT_CLEARING_PERIOD,
            purchases_per_minute: DEFAULT_PURCHASES_PER_MINUTE,
            refunds_per_minute: DEFAULT_REFUNDS_PER_MINUTE,
            reports_per_minute: DEFAULT_REPORTS_PER_MINUTE,
            subscription_grace: DEFAULT_SUBSCRIPTION_GRACE,
            renewal_every: DEFAULT_RENEWAL_EVERY,
            notification_retention: DEFAULT_NOTIFICATION_RETENTION,
            cookies: CookieSettings { domain: None, secure: true },
            clock: Clock::system(),
            stripe: None,
        }
    }
}

impl FromEnv for Config {
    fn read(env: &mut Env) -> Option<Self> {
        let currency_code = |c: &String| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase());
        common::read_env!(Config {
            http: HttpSettings::from_env(env, DEFAULT_LISTEN),
            mongo: MongoSettings::from_env(env, "shutter_post"),
            user_auth: UserAuthSettings::from_env(env),
            internal_keys: InternalKeys::from_env(env, Role { calls: true, serves: true }),
            upstreams: upstreams_from_env(env),
            signer_timeout: env
                .or(
                    "POST_SIGNER_TIMEOUT",
                    Seconds(DEFAULT_SIGNER_TIMEOUT),
                    "how long a page waits for its photo URLs"
                )
                .map(|s| s.0),
            url_lifetime: env
                .or(
                    "POST_URL_LIFETIME",
                    Seconds(DEFAULT_URL_LIFETIME),
                    "the lifetime of the photo URLs post asks for"
                )
                .map(|s| s.0),
            sign_batch: env
                .or(
                    "POST_SIGN_BATCH",
                    DEFAULT_SIGN_BATCH,
                    "the most URLs per signing call (at most url-signer's `SIGNER_MAX_BATCH`)",
                )
                .map(|n| n.max(1)),
            binding: binding_from_env(env),
            trusted_proxies: env.list::<IpNet>(
                "POST_TRUSTED_PROXIES",
                "CIDRs whose `X-Forwarded-For` names the viewer (the load balancer)",
            ),
            max_price_cents: env.or(
                "POST_MAX_PRICE_CENTS",
                DEFAULT_MAX_PRICE_CENTS,
                "the highest price of a post"
            ),
            fee_bps: env.or_where(
                "POST_FEE_BPS",
                (0u64, "the platform's fee on each sale, in basis points"),
                |f| *f <= 10_000,
                "must be at most 10000 (100%)",
            ),
            dev_topup: env.or("POST_DEV_TOPUP", false, "the development top-up (the dev stack only)"),
            dev_creators_verified: env.or(
                "POST_DEV_CREATORS_VERIFIED",
                false,
                "every creator verified for payouts (the dev stack only)",
            ),
            currency: env.or_where(
                "POST_CURRENCY",
                (DEFAULT_CURRENCY.to_owned(), "the one currency of wallets, top-ups and payouts"),
                currency_code,
                "must be a lower-case ISO 4217 code such as usd or eur",
            ),
            topup_limits: limits(env, "POST_TOPUP", DEFAULT_TOPUP_LIMITS, "card top-up"),
            payout_limits: limits(env, "POST_PAYOUT", DEFAULT_PAYOUT_LIMITS, "payout"),
            clearing_period: env
                .or(
                    "POST_CLEARING_PERIOD",
                    Seconds(DEFAULT_CLEARING_PERIOD),
                    "how long a sale's share is pending before it can be paid out or moved",
                )
                .map(|s| s.0),
            purchases_per_minute: env
                .or(
                    "POST_PURCHASES_PER_MINUTE",
                    DEFAULT_PURCHASES_PER_MINUTE,
                    "purchases per user and minute (429 beyond)"
                )
                .map(|n| n.max(1)),
            refunds_per_minute: env
                .or(
                    "POST_REFUNDS_PER_MINUTE",
                    DEFAULT_REFUNDS_PER_MINUTE,
                    "refunds per user and minute (429 beyond)"
                )
                .map(|n| n.max(1)),
            reports_per_minute: env
                .or(
                    "POST_REPORTS_PER_MINUTE",
                    DEFAULT_REPORTS_PER_MINUTE,
                    "reports per user and minute (429 beyond)"
                )
                .map(|n| n.max(1)),
            subscription_grace: env
                .or(
                    "POST_SUBSCRIPTION_GRACE",
                    Seconds(DEFAULT_SUBSCRIPTION_GRACE),
                    "how long a subscription whose renewal failed stays open while it is charged again; then it lapses",
                )
                .map(|s| s.0),
            renewal_every: env
                .or("POST_RENEWAL_EVERY", Seconds(DEFAULT_RENEWAL_EVERY), "how often due subscriptions are renewed")
                .map(|s| s.0),
            notification_retention: env
                .or(
                    "POST_NOTIFICATION_RETENTION",
                    Seconds(DEFAULT_NOTIFICATION_RETENTION),
                    "how long a notification is kept; a live stream may resume only after a newer one",
                )
                .map(|s| s.0),
            cookies: common::read_env!(CookieSettings {
                domain: Some(env.optional(
                    "POST_COOKIE_DOMAIN",
                    "the domain viewers' photo cookies are set for: one the API and the distribution's alternate domain share (e.g. example.com for api.example.com and photos.example.com); unset: the API's own host (one origin, as on the dev stack)",
                )),
                secure: env.or("POST_COOKIE_SECURE", true, "viewers' photo cookies go over HTTPS only"),
            }),
            clock: Some(Clock::system()),
            stripe: stripe_from_env(env),
        })
    }
}

/// The services post calls, and where photos are served from.
fn upstreams_from_env(env: &mut Env) -> Option<Upstreams> {
    common::read_env!(Upstreams {
        auth: env.required("AUTH_URL", "auth's internal address, e.g. http://auth:8081: username lookups"),
        media: env.required("MEDIA_URL", "media's internal address, e.g. http://media:8083"),
        url_signer: env
            .required("URL_SIGNER_URL", "url-signer's internal address, e.g. http://url-signer:8084"),
        photos: env
            .required("PHOTO_BASE_URL", "the distribution photos are served from (CloudFront, or edge)")
            .map(|url: String| url.trim_end_matches('/').to_owned()),
    })
}

/// `POST_BIND_URLS` (on unless `false`) and the network widths.
fn binding_from_env(env: &mut Env) -> Option<Option<BindingSettings>> {
    let on = env.or(
        "POST_BIND_URLS",
        true,
        "paid photos' URLs work only from the viewer's network (docs/POST.md#viewer-bound-urls-paid-photos)",
    );
    let defaults = BindingSettings::DEFAULT;
    let settings = common::read_env!(BindingSettings {
        ipv4_prefix: env.or_where(
            "POST_BIND_IPV4_PREFIX",
            (defaults.ipv4_prefix, "how wide a viewer's IPv4 network is"),
            |p| (8..=32).contains(p),
            "must be between 8 and 32"
        ),
        ipv6_prefix: env.or_where(
            "POST_BIND_IPV6_PREFIX",
            (defaults.ipv6_prefix, "how wide a viewer's IPv6 network is"),
            |p| (16..=128).contains(p),
            "must be between 16 and 128"
        ),
    });
    Some(on?.then_some(settings?))
}

/// `{prefix}_MIN_CENTS` and `{prefix}_MAX_CENTS`.
fn limits(env: &mut Env, prefix: &str, default: AmountLimits, what: &str) -> Option<AmountLimits> {
    let min_cents =
        env.or(&format!("{prefix}_MIN_CENTS"), default.min_cents, &format!("the smallest {what}"));
    let max_cents = env.or(&format!("{prefix}_MAX_CENTS"), default.max_cents, &format!("the largest {what}"));
    let (min_cents, max_cents) = (min_cents?, max_cents?);
    if min_cents == 0 || min_cents > max_cents {
        env.problem(format!("{prefix}_MIN_CENTS must be at least 1 and at most {prefix}_MAX_CENTS"));
        return None;
    }
    Some(AmountLimits { min_cents, max_cents })
}

/// Stripe is on when its secret key is set; the webhook secret must then be set too.
fn stripe_from_env(env: &mut Env) -> Option<Option<StripeSettings>> {
    if !env.switch(
        "STRIPE_SECRET_KEY",
        "turns card payments on: the provider's secret API key (`sk_…`); unset: off",
    ) {
        if env.is_set("STRIPE_WEBHOOK_SECRET") {
            env.problem("STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is not");
            return None;
        }
        return Some(None);
    }
    let api_url = env.or(
        "STRIPE_API_URL",
        DEFAULT_STRIPE_API_URL.to_owned(),
        "the provider's API (localstripe in tests and the dev stack)",
    );
    let secret_key = env.secret("STRIPE_SECRET_KEY", "Stripe's secret API key, sk_…", 8);
    let webhook_secret =
        env.secret("STRIPE_WEBHOOK_SECRET", "the webhook endpoint's signing secret, whsec_…", 16);
    let timeout = env.or(
        "STRIPE_TIMEOUT",
        Seconds(DEFAULT_PROVIDER_TIMEOUT),
        "how long one call to the provider may take",
    );
    Some(Some(StripeSettings {
        api_url: api_url?.trim_end_matches('/').to_owned(),
        secret_key: secret_key?,
        webhook_secret: webhook_secret?,
        timeout: timeout?.0,
    }))
}
