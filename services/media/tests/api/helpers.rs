use auth::config::{Config as AuthConfig, PasswordCost};
use auth::keys::SigningKey;
use common::s3::S3Settings;
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;
use media::processing::Limits;

pub struct Stack {
    pub auth: String,
    /// auth's database, where an operator grants the admin role.
    pub auth_db: common::mongo::MongoSettings,
    pub media: String,
    pub s3: S3Settings,
    pub mongo: common::mongo::MongoSettings,
    pub http: reqwest::Client,
}

pub async fn spawn_auth() -> String {
    spawn_auth_on(testkit::mongo::settings("media-auth")).await
}

async fn spawn_auth_on(database: common::mongo::MongoSettings) -> String {
    let key = SigningKey::from_pem("k1", &SigningKey::generate_pem().unwrap()).unwrap();
    let mut config = AuthConfig::new(
        HttpSettings::ephemeral(),
        database,
        vec![key],
        testkit::service::internal_keys("auth"),
    );
    config.password_cost = PasswordCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
    // Every test user signs up from loopback.
    config.signups_per_hour = 10_000;
    testkit::service::spawn(auth::build(config).await.unwrap())
}

pub fn media_config(auth: &str, s3: S3Settings, mongo: common::mongo::MongoSettings) -> media::Config {
    let user_auth = UserAuthSettings {
        jwks_url: format!("{auth}/.well-known/jwks.json"),
        issuer: "shutter-auth".into(),
        audience: "shutter".into(),
    };
    let mut config = media::Config::new(
        HttpSettings::ephemeral(),
        mongo,
        s3,
        user_auth,
        testkit::service::internal_keys("media"),
        testkit::service::watermark_secret(),
    );
    config.auth_url = Some(auth.to_owned());
    config.limits = Limits { max_pixels: 50_000_000, max_bytes: 4 << 20 };
    config
}

pub async fn spawn() -> Stack {
    spawn_with(|_| {}).await
}

/// A stack whose media runs with `adjust`ed settings.
pub async fn spawn_with(adjust: impl FnOnce(&mut media::Config)) -> Stack {
    testkit::init_logging();
    let auth_db = testkit::mongo::settings("media-auth");
    let auth = spawn_auth_on(auth_db.clone()).await;
    let s3 = testkit::s3::bucket("media").await;
    let mongo = testkit::mongo::settings("media");
    let mut config = media_config(&auth, s3.clone(), mongo.clone());
    adjust(&mut config);
    let media = testkit::service::spawn(media::build(config).await.unwrap());
    Stack { auth, auth_db, media, s3, mongo, http: reqwest::Client::new() }
}

impl Stack {
    /// A new user's access token.
    pub async fn user(&self, name: &str) -> String {
        testkit::users::sign_up(&self.auth, name).await.token
    }

    /// A moderator's access token.
    pub async fn moderator(&self, name: &str) -> String {
        let db =
            mongodb::Client::with_uri_str(&self.auth_db.uri).await.unwrap().database(&self.auth_db.database);
        testkit::users::moderator(&self.auth, &db, name).await
    }

    /// Takes `id` down, as the moderation service acting for a new moderator.
    pub async fn takedown(&self, id: &str) -> reqwest::Response {
        let moderator = self.moderator(&testkit::unique_name("mod").replace('-', "_")[..20]).await;
        let path = format!("/internal/v1/media/{id}/takedown");
        let token = testkit::service::service_token("moderation", "media", "POST", &path);
        self.http
            .post(format!("{}/internal/v1/media/{id}/takedown", self.media))
            .bearer_auth(token)
            .header("x-acting-user", moderator)
            .json(&serde_json::json!({ "reason": "test takedown" }))
            .send()
            .await
            .unwrap()
    }

    pub async fn upload(&self, token: &str, content_type: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/media", self.media))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let client = testkit::s3::client(&self.s3).await;
        let object = client.get_object().bucket(&self.s3.bucket).key(key).send().await.ok()?;
        Some(object.body.collect().await.unwrap().into_bytes().to_vec())
    }

    pub async fn object_count(&self) -> usize {
        let client = testkit::s3::client(&self.s3).await;
        let listed = client.list_objects_v2().bucket(&self.s3.bucket).send().await.unwrap();
        listed.contents().len()
    }

    pub async fn internal(&self, caller: &str, id: &str) -> reqwest::Response {
        let token =
            testkit::service::service_token(caller, "media", "GET", &format!("/internal/v1/media/{id}"));
        self.http
            .get(format!("{}/internal/v1/media/{id}", self.media))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}
