use auth::config::{Config, PasswordCost};
use auth::keys::SigningKey;
use common::server::HttpSettings;
use serde_json::{Value, json};

pub struct TestAuth {
    pub base: String,
    pub active_pem: Vec<u8>,
    http: reqwest::Client,
}

/// Cheap argon2 parameters: tests check behaviour, the bench checks cost.
pub fn cheap() -> PasswordCost {
    PasswordCost { memory_kib: 1024, iterations: 1, parallelism: 1 }
}

pub fn config(cost: PasswordCost) -> (Config, Vec<u8>) {
    let active_pem = SigningKey::generate_pem().unwrap();
    let other_pem = SigningKey::generate_pem().unwrap();
    let mongo = testkit::mongo::settings("auth");
    let config = Config {
        http: HttpSettings::ephemeral(),
        mongo,
        signing_keys: vec![
            SigningKey::from_pem("k-active", &active_pem).unwrap(),
            SigningKey::from_pem("k-next", &other_pem).unwrap(),
        ],
        active_key_id: Some(common::ids::KeyId::parse("k-active").unwrap()),
        issuer: "shutter-auth".into(),
        audience: "shutter".into(),
        password_cost: cost,
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        internal_keys: testkit::service::internal_keys("auth"),
        // The sign-up budget has its own test; the others sign up freely.
        signups_per_hour: 10_000,
    };
    (config, active_pem)
}

pub async fn spawn_with(config: Config, active_pem: Vec<u8>) -> TestAuth {
    testkit::init_logging();
    let app = auth::build(config).await.unwrap();
    TestAuth { base: testkit::service::spawn(app), active_pem, http: reqwest::Client::new() }
}

pub async fn spawn() -> TestAuth {
    let (config, pem) = config(cheap());
    spawn_with(config, pem).await
}

impl TestAuth {
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.post_from(path, body, "198.51.100.1").await
    }

    /// As if the load balancer forwarded it for `client_ip`.
    pub async fn post_from(&self, path: &str, body: Value, client_ip: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-forwarded-for", client_ip)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, username: &str, email: &str, password: &str) -> reqwest::Response {
        self.post("/v1/auth/signup", json!({ "username": username, "email": email, "password": password }))
            .await
    }

    pub async fn login(&self, login: &str, password: &str) -> reqwest::Response {
        self.post("/v1/auth/login", json!({ "login": login, "password": password })).await
    }

    pub async fn me(&self, access_token: &str) -> reqwest::Response {
        self.http.get(format!("{}/v1/users/me", self.base)).bearer_auth(access_token).send().await.unwrap()
    }

    pub async fn json(response: reqwest::Response) -> Value {
        response.json().await.unwrap()
    }
}
