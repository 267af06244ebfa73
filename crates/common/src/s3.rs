//! S3 client construction: AWS itself (credentials from the default chain) or
//! an S3-compatible endpoint such as MinIO or the in-process test server.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Env;
use crate::health::ReadinessCheck;

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Static keys; `None` means the AWS default credential chain.
    pub credentials: Option<(String, SecretString)>,
    pub force_path_style: bool,
}

impl S3Settings {
    pub fn from_env(env: &mut Env) -> Option<Self> {
        let bucket = env.required("S3_BUCKET", "the private media bucket");
        let region = env.or("S3_REGION", "us-east-1".to_owned(), "the bucket's region");
        let endpoint: Option<String> =
            env.optional("S3_ENDPOINT", "an S3-compatible endpoint (MinIO); unset: AWS");
        let access_key: Option<String> = env.optional(
            "S3_ACCESS_KEY_ID",
            "static credentials, with `S3_SECRET_ACCESS_KEY`; unset: the AWS default chain",
        );
        let secret_key = env.optional_secret("S3_SECRET_ACCESS_KEY", "the secret of `S3_ACCESS_KEY_ID`", 1);
        let credentials = match (access_key, secret_key.flatten()) {
            (Some(key), Some(secret)) => Some((key, secret)),
            (None, None) => None,
            _ => {
                env.problem("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together");
                None
            }
        };
        let force_path_style = env
            .optional("S3_FORCE_PATH_STYLE", "path-style addressing; unset: on with `S3_ENDPOINT`")
            .unwrap_or(endpoint.is_some());
        Some(Self { bucket: bucket?, region: region?, endpoint, credentials, force_path_style })
    }
}

pub async fn client(settings: &S3Settings) -> Client {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(settings.region.clone()));
    if let Some((key, secret)) = &settings.credentials {
        loader = loader.credentials_provider(Credentials::new(
            key.clone(),
            secret.expose_secret().to_owned(),
            None,
            None,
            "shutter-config",
        ));
    }
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint.clone());
    }
    let shared = loader.load().await;
    let config =
        aws_sdk_s3::config::Builder::from(&shared).force_path_style(settings.force_path_style).build();
    Client::from_conf(config)
}

/// Readiness: the bucket exists and our credentials may use it.
pub struct S3Ready {
    pub client: Client,
    pub bucket: String,
}

impl ReadinessCheck for S3Ready {
    fn name(&self) -> &'static str {
        "s3"
    }

    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            self.client.head_bucket().bucket(&self.bucket).send().await?;
            Ok(())
        })
    }
}
