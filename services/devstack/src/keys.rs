//! The dev stack's keys: made on first run under the data folder (0600)
//! where they must outlive a restart (the CloudFront key, auth's token key,
//! media's watermark secret), minted fresh for each run otherwise (internal
//! call keys, edge's invalidation credentials).

use std::sync::Arc;

use base64::Engine;
use common::ids::{AccessKeyId, DistributionId};
use common::internal_auth::InternalKeys;
use common::mongo::MongoSettings;
use common::secrecy::SecretString;
use rand::RngCore;

/// The development CloudFront key id (any letters and digits will do locally).
pub const DEV_KEY_ID: &str = "KSHUTTERDEV";

/// The development CloudFront key: made on first run under `data_dir/keys`
/// (0600) and given to url-signer alone.
pub(crate) fn dev_signing_key(data_dir: &std::path::Path) -> anyhow::Result<cloudfront_sign::PrivateKey> {
    let dir = data_dir.join("keys");
    let path = dir.join("private_key.pem");
    if !path.exists() {
        url_signer::keyring::write_new_key(cloudfront_sign::KeyKind::Rsa, &dir)
            .map_err(anyhow::Error::msg)?;
        tracing::info!(path = %path.display(), "generated a development CloudFront key pair");
    }
    url_signer::keyring::load_key_file(&path).map_err(anyhow::Error::msg)
}

/// auth's development token-signing key, made on first run (0600).
pub const DEV_TOKEN_KEY_ID: &str = "dev-1";

pub(crate) fn dev_token_key(data_dir: &std::path::Path) -> anyhow::Result<auth::keys::SigningKey> {
    let path = data_dir.join("keys").join("auth_ed25519.pem");
    if !path.exists() {
        common::private_file::create(&path, &auth::keys::SigningKey::generate_pem()?)?;
    }
    auth::keys::SigningKey::from_pem_file(&common::ids::KeyId::parse(DEV_TOKEN_KEY_ID)?, &path)
        .map_err(anyhow::Error::msg)
}

/// media's watermark secret, kept with the other dev keys: a copy marked
/// before a restart is still traced after it.
pub(crate) fn dev_watermark_secret(data_dir: &std::path::Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("keys").join("watermark.secret");
    if !path.exists() {
        common::private_file::create(&path, random_secret().as_bytes())?;
    }
    Ok(SecretString::from(std::fs::read_to_string(&path)?.trim().to_owned()))
}

/// edge's CloudFront invalidation API in the dev stack: its distribution id
/// and credentials, minted fresh for each run.
pub(crate) struct EdgeInvalidations {
    distribution_id: DistributionId,
    access_key_id: AccessKeyId,
    secret: String,
}

/// The distribution id edge answers to in the dev stack.
pub const DEV_DISTRIBUTION_ID: &str = "EDEVSTACK";

impl EdgeInvalidations {
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            distribution_id: DistributionId::parse(DEV_DISTRIBUTION_ID)?,
            access_key_id: AccessKeyId::parse("SHUTTERDEVEDGE")?,
            secret: random_secret(),
        })
    }

    pub(crate) fn for_media(&self, edge_url: &str) -> media::config::InvalidationSettings {
        media::config::InvalidationSettings {
            distribution_id: self.distribution_id.clone(),
            api: cloudfront_api::ApiSettings {
                endpoint: Some(edge_url.to_owned()),
                credentials: Some((self.access_key_id.to_string(), self.secret.clone())),
                ..cloudfront_api::ApiSettings::default()
            },
        }
    }

    pub(crate) fn for_edge(&self, mongo: MongoSettings) -> edge::config::InvalidationSettings {
        edge::config::InvalidationSettings {
            distribution_id: self.distribution_id.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: SecretString::from(self.secret.clone()),
            mongo,
            poll: std::time::Duration::from_millis(500),
        }
    }
}

/// Every caller's own internal-call key pair, and who may call whom: each
/// service is given its own private key and the public keys of its callers
/// only (as in production, docs/ARCHITECTURE.md#internal-calls).
#[derive(Clone)]
pub struct InternalKeyring {
    pairs: Arc<std::collections::HashMap<&'static str, (SecretString, String)>>,
}

/// Who calls whom: (service, the callers it accepts).
const INTERNAL_CALLERS: [(&str, &[&str]); 5] = [
    ("auth", &["post", "media"]),
    ("post", &["media"]),
    ("media", &["post", "moderation"]),
    ("url-signer", &["post"]),
    ("edge", &[]),
];
/// The callers with a key: the services that call others, and the
/// moderation console (a tool's or test's).
const INTERNAL_SIGNERS: [&str; 3] = ["post", "media", "moderation"];

impl std::fmt::Debug for InternalKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalKeyring([redacted])")
    }
}

impl InternalKeyring {
    pub(crate) fn generate() -> anyhow::Result<Self> {
        let pairs = INTERNAL_SIGNERS
            .into_iter()
            .map(|name| Ok((name, common::internal_auth::generate_key()?)))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { pairs: Arc::new(pairs) })
    }

    /// What service `name` is given: its own key, if it calls anyone, and
    /// its callers' public keys.
    pub fn of(&self, name: &str) -> InternalKeys {
        let callers =
            INTERNAL_CALLERS.iter().find(|(service, _)| *service == name).map_or(&[][..], |(_, c)| c);
        InternalKeys {
            own: self.pairs.get(name).map(|(own, _)| own.clone()),
            callers: callers
                .iter()
                .map(|caller| ((*caller).to_owned(), self.pairs[caller].1.clone()))
                .collect(),
        }
    }

    /// Mints as `caller` (a service or the moderation console).
    pub fn caller(&self, caller: &str) -> anyhow::Result<common::internal_auth::ServiceAuth> {
        common::internal_auth::ServiceAuth::new(caller, &self.of(caller))
    }
}

pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
