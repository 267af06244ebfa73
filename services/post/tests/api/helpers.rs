use std::time::Duration;

use auth::config::PasswordCost;
use auth::keys::SigningKey;
use cloudfront_sign::{KeyGroup, KeyKind, PrivateKey};
use common::secrecy::SecretString;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;
use serde_json::{Value, json};

pub const PHOTOS: &str = "https://d111111abcdef8.cloudfront.net";
pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";

pub struct Stack {
    pub post: String,
    /// post's clock: `clock.advance(…)` moves its subscriptions' time.
    pub clock: common::clock::Clock,
    /// How post was started: `replica()` starts another on the same database and clock.
    replica_config: post::Config,
    /// post's own database, for tests that must arrange what the API cannot.
    pub post_db: common::mongo::MongoSettings,
    pub media_db: common::mongo::MongoSettings,
    pub media: String,
    pub auth: String,
    pub keys: KeyGroup,
    pub http: reqwest::Client,
    /// An admin of this stack's auth.
    pub admin: User,
    /// A moderator (not an admin) of this stack's auth.
    pub moderator: User,
}

pub struct User {
    pub token: String,
    pub id: String,
}

pub struct Options {
    pub fee_bps: u64,
    pub signer_up: bool,
    pub dev_topup: bool,
    /// The payment provider: none, localstripe, or an address nothing answers at.
    pub provider: Provider,
    /// Paid photos' URLs bound to the viewer's network (post's default).
    pub binding: Option<post::posts::binding::BindingSettings>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a sale's share is pending (0 here: available at once).
    pub clearing_period: Duration,
    /// Purchases and refunds per user and minute (high here: tests buy in bursts).
    pub per_minute: u32,
    /// How often due subscriptions renew (often here: tests move the clock).
    pub renewal_every: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    None,
    Localstripe,
    Down,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fee_bps: 0,
            signer_up: true,
            dev_topup: true,
            provider: Provider::None,
            binding: Some(post::posts::binding::BindingSettings::DEFAULT),
            trusted_proxies: Vec::new(),
            clearing_period: Duration::ZERO,
            per_minute: 10_000,
            renewal_every: Duration::from_millis(100),
        }
    }
}

pub async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub async fn spawn_with_fee(fee_bps: u64) -> Stack {
    spawn_with(Options { fee_bps, ..Options::default() }).await
}

/// A stack whose post takes payments through localstripe (in euros:
/// localstripe pays out only those), its events delivered to post's webhook.
pub async fn spawn_paying() -> Stack {
    spawn_with(Options { provider: Provider::Localstripe, ..Options::default() }).await
}

/// An auth service with cheap password hashing; answers its base URL and its database.
pub async fn spawn_auth() -> (String, common::mongo::MongoSettings) {
    let token_key = SigningKey::from_pem("k1", &SigningKey::generate_pem().unwrap()).unwrap();
    let auth_db = testkit::mongo::settings("post-auth");
    let mut auth_config = auth::Config::new(
        HttpSettings::ephemeral(),
        auth_db.clone(),
        vec![token_key],
        testkit::service::internal_keys("auth"),
    );
    auth_config.password_cost = PasswordCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
    // Every test user signs up from loopback.
    auth_config.signups_per_hour = 10_000;
    (testkit::service::spawn(auth::build(auth_config).await.unwrap()), auth_db)
}

pub async fn spawn_with(options: Options) -> Stack {
    testkit::init_logging();
    let (auth, auth_db) = spawn_auth().await;
    let user_auth = UserAuthSettings {
        jwks_url: format!("{auth}/.well-known/jwks.json"),
        issuer: "shutter-auth".into(),
        audience: "shutter".into(),
    };

    let media_db = testkit::mongo::settings("post-media");
    let mut media_config = media::Config::new(
        HttpSettings::ephemeral(),
        media_db.clone(),
        testkit::s3::bucket("post").await,
        user_auth.clone(),
        testkit::service::internal_keys("media"),
        testkit::service::watermark_secret(),
    );
    media_config.auth_url = Some(auth.clone());
    let media = testkit::service::spawn(media::build(media_config).await.unwrap());

    let cf_key = PrivateKey::generate(KeyKind::Ecdsa).unwrap();
    let mut keys = KeyGroup::new();
    keys.insert("KTEST", cf_key.public_key().unwrap());
    let signer_url = if options.signer_up {
        let guards = url_signer::config::Guards::new(
            vec!["d111111abcdef8.cloudfront.net".into()],
            vec!["https".into()],
        );
        let config = url_signer::Config::new(
            HttpSettings::ephemeral(),
            testkit::service::internal_keys("url-signer"),
            vec![(common::ids::KeyId::parse("KTEST").unwrap(), cf_key)],
            guards,
        );
        testkit::service::spawn(url_signer::build(config).await.unwrap())
    } else {
        "http://127.0.0.1:9".to_owned()
    };
    let post_db = testkit::mongo::settings("post");
    let mut config = post::Config::new(
        HttpSettings::ephemeral(),
        post_db.clone(),
        user_auth,
        testkit::service::internal_keys("post"),
        post::Upstreams {
            auth: auth.clone(),
            media: media.clone(),
            url_signer: signer_url,
            photos: PHOTOS.to_owned(),
        },
    );
    config.dev_topup = options.dev_topup;
    config.fee_bps = options.fee_bps;
    config.binding = options.binding;
    config.trusted_proxies = options.trusted_proxies;
    config.signer_timeout = Duration::from_millis(300);
    config.clearing_period = options.clearing_period;
    config.purchases_per_minute = options.per_minute;
    config.refunds_per_minute = options.per_minute;
    config.reports_per_minute = options.per_minute;
    config.renewal_every = options.renewal_every;
    let clock = config.clock.clone();
    let replica_config = config.clone();
    let api_url = match options.provider {
        Provider::None => None,
        Provider::Localstripe => Some(testkit::stripe::api_url().to_owned()),
        Provider::Down => Some("http://127.0.0.1:9".to_owned()),
    };
    if let Some(api_url) = api_url {
        config.currency = "eur".into();
        config.stripe = Some(post::config::StripeSettings {
            api_url,
            secret_key: SecretString::from(testkit::stripe::SECRET_KEY.to_owned()),
            webhook_secret: SecretString::from(WEBHOOK_SECRET.to_owned()),
            timeout: Duration::from_secs(10),
        });
    }
    let post = testkit::service::spawn(post::build(config).await.unwrap());
    if options.provider == Provider::Localstripe {
        let webhook = format!("{post}/v1/payments/webhook");
        testkit::stripe::register_webhook(testkit::stripe::api_url(), &webhook, WEBHOOK_SECRET)
            .await
            .unwrap();
    }
    let auth_database =
        mongodb::Client::with_uri_str(&auth_db.uri).await.unwrap().database(&auth_db.database);
    let admin = testkit::users::admin(&auth, &auth_database, "operator").await;
    let admin = User { token: admin.token, id: admin.id };
    let moderator = testkit::users::with_role(&auth, &auth_database, "moderator", "moderator").await;
    let moderator = User { token: moderator.token, id: moderator.id };
    Stack {
        post,
        post_db,
        media_db,
        media,
        auth,
        keys,
        http: reqwest::Client::new(),
        admin,
        moderator,
        clock,
        replica_config,
    }
}

impl Stack {
    pub async fn database(&self) -> mongodb::Database {
        mongodb::Client::with_uri_str(&self.post_db.uri).await.unwrap().database(&self.post_db.database)
    }

    pub async fn user(&self, name: &str) -> User {
        let signed_up = testkit::users::sign_up(&self.auth, name).await;
        User { token: signed_up.token, id: signed_up.id }
    }

    /// A second post process on the same database and clock (its own workers).
    pub async fn replica(&self) -> String {
        testkit::service::spawn(post::build(self.replica_config.clone()).await.unwrap())
    }

    pub async fn photo(&self, user: &User) -> String {
        let response = self
            .http
            .post(format!("{}/v1/media", self.media))
            .bearer_auth(&user.token)
            .header("content-type", "image/jpeg")
            .body(imaging::samples::jpeg(400, 300))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_post(&self, user: &User, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/posts", self.post))
            .bearer_auth(&user.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn new_post(&self, user: &User, price_cents: u64) -> String {
        let media_id = self.photo(user).await;
        let response = self
            .create_post(
                user,
                json!({ "caption": "hello", "media_ids": [media_id], "price_cents": price_cents }),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    pub async fn get_post(&self, viewer: Option<&User>, id: &str) -> reqwest::Response {
        let mut request = self.http.get(format!("{}/v1/posts/{id}", self.post));
        if let Some(viewer) = viewer {
            request = request.bearer_auth(&viewer.token);
        }
        request.send().await.unwrap()
    }

    pub async fn buy(&self, buyer: &User, id: &str, key: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/posts/{id}/purchase", self.post))
            .bearer_auth(&buyer.token)
            .header("idempotency-key", key)
            .send()
            .await
            .unwrap()
    }

    pub async fn top_up(&self, user: &User, amount_cents: u64) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/wallet/dev-topup", self.post))
            .bearer_auth(&user.token)
            .json(&json!({ "amount_cents": amount_cents }))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, user: Option<&User>, path: &str) -> Value {
        let mut request = self.http.get(format!("{}{path}", self.post));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        user: &User,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, format!("{}{path}", self.post)).bearer_auth(&user.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn balance(&self, user: &User) -> i64 {
        self.get(Some(user), "/v1/wallet").await["balance_cents"].as_i64().unwrap()
    }

    /// A verified creator `ann` with earnings from one sale of `price_cents`
    /// to `bob`; answers (ann, bob, the purchase).
    pub async fn verified_creator_with_a_sale(&self, price_cents: u64) -> (User, User, Value) {
        let (ann, bob) = (self.user("ann").await, self.user("bob").await);
        let post = self.new_post(&ann, price_cents).await;
        self.verify_creator(&ann).await;
        self.top_up(&bob, price_cents).await;
        let bought = self.buy(&bob, &post, "k").await;
        assert_eq!(bought.status(), 201);
        (ann, bob, bought.json().await.unwrap())
    }

    /// An admin verifies `user` as a creator payouts may go to.
    pub async fn verify_creator(&self, user: &User) {
        let path = format!("/v1/admin/creators/{}/verification", user.id);
        let body = serde_json::json!({ "verified": true });
        let verified = self.send(reqwest::Method::PUT, &self.admin, &path, Some(body)).await;
        assert_eq!(verified.status(), 200);
    }

    pub async fn earnings(&self, user: &User) -> i64 {
        self.get(Some(user), "/v1/earnings").await["earnings_cents"].as_i64().unwrap()
    }

    /// A POST as `user` with an Idempotency-Key.
    pub async fn post_keyed(&self, user: &User, path: &str, key: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.post))
            .bearer_auth(&user.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The books, which must agree after every test that moves money.
    /// (jongodb applies a transaction's writes one by one, so a transaction
    /// still being applied may show for a moment: the books must agree
    /// within 5 s, and stay so.)
    pub async fn assert_books_agree(&self, ask_provider: bool) -> Value {
        let path = format!("/v1/admin/reconciliation?provider={ask_provider}");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut report = self.get(Some(&self.admin), &path).await;
        while report["agrees"] != true && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            report = self.get(Some(&self.admin), &path).await;
        }
        assert_eq!(report["agrees"], true, "the reconciliation: {report:#}");
        report
    }

    /// Waits (at most 10 s: localstripe sends events a second late) until
    /// `check` holds of `path`'s answer to `user`.
    pub async fn eventually(&self, user: &User, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let answer = self.get(Some(user), path).await;
            if check(&answer) {
                return answer;
            }
            assert!(std::time::Instant::now() < deadline, "{path} never got there: {answer:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether CloudFront would serve `url` to this test's client (127.0.0.1).
    pub fn opens(&self, url: &str) -> bool {
        self.opens_from(url, "127.0.0.1")
    }

    pub fn opens_from(&self, url: &str, client_ip: &str) -> bool {
        self.opens_with(url, &[], client_ip)
    }

    /// Whether CloudFront would serve `url`, sent with `cookies`, to `client_ip`.
    pub fn opens_with(&self, url: &str, cookies: &[(String, String)], client_ip: &str) -> bool {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let client_ip = Some(client_ip.parse().unwrap());
        let cookies: Vec<(&str, &str)> = cookies.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = cloudfront_sign::verify::SignedRequest { url, cookies: &cookies, client_ip, now };
        cloudfront_sign::verify::verify(&self.keys, &request).is_ok()
    }

    /// A post as `viewer` sees it from `forwarded_for` (the header, believed
    /// only from a trusted proxy), and the photo cookies the answer sets.
    pub async fn see(&self, viewer: &User, post: &str, forwarded_for: &str) -> Seen {
        let response = self
            .http
            .get(format!("{}/v1/posts/{post}", self.post))
            .bearer_auth(&viewer.token)
            .header("x-forwarded-for", forwarded_for)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|header| {
                let cookie = actix_web::cookie::Cookie::parse(header.to_str().unwrap().to_owned()).unwrap();
                (cookie.name().to_owned(), cookie.value().to_owned())
            })
            .collect();
        Seen { body: response.json().await.unwrap(), cookies }
    }
}

/// A post as one viewer saw it.
pub struct Seen {
    pub body: Value,
    /// `CloudFront-Policy`, `-Signature`, `-Key-Pair-Id`, when their own copies are shown.
    pub cookies: Vec<(String, String)>,
}

impl Seen {
    /// The display URL of photo `n`.
    pub fn url(&self, n: usize) -> String {
        self.body["photos"][n]["url"].as_str().unwrap().to_owned()
    }
}
