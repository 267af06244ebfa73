//! CloudFront's control plane, as Shutter uses it: registering public keys,
//! keeping key groups, and invalidating cached paths.
//!
//! Every call goes through `aws-sdk-cloudfront` with the SDK's standard retry
//! mode (exponential backoff with jitter, throttling included); what still
//! fails comes back as an error naming the operation.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::error::DisplayErrorContext;
use aws_sdk_cloudfront::types::{InvalidationBatch, KeyGroupConfig, Paths, PublicKeyConfig};
use common::config::{Env, FromEnv};

/// Where CloudFront's API is: AWS itself unless `CLOUDFRONT_ENDPOINT_URL`
/// names an emulator. Credentials come from the default AWS chain.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub endpoint: Option<String>,
    /// Fixed credentials, for emulators; `None` uses the default AWS chain.
    pub credentials: Option<(String, String)>,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self { endpoint: None, credentials: None, max_attempts: 5 }
    }
}

impl FromEnv for ApiSettings {
    fn read(env: &mut Env) -> Option<Self> {
        let endpoint = env.optional::<String>(
            "CLOUDFRONT_ENDPOINT_URL",
            "CloudFront's API (an emulator in tests); unset: AWS, credentials from the AWS default chain",
        );
        let max_attempts = env.or("CLOUDFRONT_MAX_ATTEMPTS", 5u32, "attempts per CloudFront API call");
        Some(Self { endpoint, credentials: None, max_attempts: max_attempts?.max(1) })
    }
}

/// CloudFront is a global service; its API lives in us-east-1.
const REGION: &str = "us-east-1";

#[derive(Clone)]
pub struct CloudFront {
    client: Client,
}

/// What a key-group change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupChange {
    Created,
    Updated,
    AlreadySo,
}

fn failed<E>(operation: &str, err: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    anyhow::anyhow!("CloudFront {operation} failed: {}", DisplayErrorContext(err))
}

/// A reference CloudFront keeps with a request so a retried create is
/// recognised: a digest of what identifies it.
pub fn caller_reference(parts: &[&str]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, parts.join("\n").as_bytes());
    common::hex(&digest.as_ref()[..16])
}

impl CloudFront {
    pub async fn new(settings: &ApiSettings) -> Self {
        let retry = RetryConfig::standard()
            .with_max_attempts(settings.max_attempts)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .retry_config(retry);
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        if let Some((key, secret)) = &settings.credentials {
            loader = loader.credentials_provider(aws_sdk_cloudfront::config::Credentials::new(
                key.clone(),
                secret.clone(),
                None,
                None,
                "static",
            ));
        }
        Self { client: Client::new(&loader.load().await) }
    }

    /// For tests that put their own HTTP client or interceptors under the SDK.
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }

    /// The id of the public key called `name`, if there is one, with its PEM.
    pub async fn find_public_key(&self, name: &str) -> anyhow::Result<Option<(String, String)>> {
        let mut marker = None;
        loop {
            let page = self
                .client
                .list_public_keys()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| failed("ListPublicKeys", e))?;
            let Some(list) = page.public_key_list else { return Ok(None) };
            for key in list.items.unwrap_or_default() {
                if key.name == name {
                    return Ok(Some((key.id, key.encoded_key)));
                }
            }
            match list.next_marker {
                Some(next) if !next.is_empty() => marker = Some(next),
                _ => return Ok(None),
            }
        }
    }

    /// Registers `public_pem` as `name` and answers its CloudFront key id. A
    /// key already registered under that name is reused when it is the same
    /// key, and refused when it is another.
    pub async fn register_public_key(&self, name: &str, public_pem: &str) -> anyhow::Result<String> {
        if let Some((id, existing)) = self.find_public_key(name).await? {
            if existing.trim() == public_pem.trim() {
                return Ok(id);
            }
            anyhow::bail!("a different public key is already registered as {name:?} (id {id})");
        }
        let config = PublicKeyConfig::builder()
            .caller_reference(caller_reference(&[name, public_pem.trim()]))
            .name(name)
            .encoded_key(public_pem.trim())
            .comment("Shutter url-signer")
            .build()?;
        let created = self
            .client
            .create_public_key()
            .public_key_config(config)
            .send()
            .await
            .map_err(|e| failed("CreatePublicKey", e))?;
        created.public_key.map(|key| key.id).ok_or_else(|| anyhow::anyhow!("CreatePublicKey answered no key"))
    }

    /// Deletes a public key (already gone is fine).
    pub async fn delete_public_key(&self, id: &str) -> anyhow::Result<()> {
        let found = self.client.get_public_key().id(id).send().await;
        let etag = match found {
            Ok(found) => found.e_tag,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_public_key()) => return Ok(()),
            Err(err) => return Err(failed("GetPublicKey", err)),
        };
        self.client
            .delete_public_key()
            .id(id)
            .set_if_match(etag)
            .send()
            .await
            .map_err(|e| failed("DeletePublicKey", e))?;
        Ok(())
    }

    /// The id of the key group called `name`, if there is one.
    pub async fn find_key_group(&self, name: &str) -> anyhow::Result<Option<String>> {
        let mut marker = None;
        loop {
            let page = self
                .client
                .list_key_groups()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| failed("ListKeyGroups", e))?;
            let Some(list) = page.key_group_list else { return Ok(None) };
            for summary in list.items.unwrap_or_default() {
                if let Some(group) = summary.key_group
                    && group.key_group_config.as_ref().is_some_and(|c| c.name == name)
                {
                    return Ok(Some(group.id));
                }
            }
            match list.next_marker {
                Some(next) if !next.is_empty() => marker = Some(next),
                _ => return Ok(None),
            }
        }
    }

    /// The key ids in group `id`, with the ETag an update must quote.
    pub async fn key_group(&self, id: &str) -> anyhow::Result<(KeyGroupConfig, Option<String>)> {
        let found = self.client.get_key_group().id(id).send().await.map_err(|e| failed("GetKeyGroup", e))?;
        let config = found
            .key_group
            .and_then(|group| group.key_group_config)
            .ok_or_else(|| anyhow::anyhow!("GetKeyGroup answered no configuration"))?;
        Ok((config, found.e_tag))
    }

    /// Puts `key_id` into the group called `group_name`, creating the group
    /// when there is none.
    pub async fn add_to_key_group(&self, group_name: &str, key_id: &str) -> anyhow::Result<GroupChange> {
        let Some(group_id) = self.find_key_group(group_name).await? else {
            let config = KeyGroupConfig::builder().name(group_name).items(key_id).build()?;
            self.client
                .create_key_group()
                .key_group_config(config)
                .send()
                .await
                .map_err(|e| failed("CreateKeyGroup", e))?;
            return Ok(GroupChange::Created);
        };
        self.change_key_group(&group_id, |items| {
            if items.iter().any(|item| item == key_id) {
                return false;
            }
            items.push(key_id.to_owned());
            true
        })
        .await
    }

    /// Takes `key_id` out of the group called `group_name`. CloudFront refuses
    /// an empty key group, and so do we: the last key stays.
    pub async fn remove_from_key_group(&self, group_name: &str, key_id: &str) -> anyhow::Result<GroupChange> {
        let group_id = self
            .find_key_group(group_name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("there is no key group called {group_name:?}"))?;
        self.change_key_group(&group_id, |items| {
            let before = items.len();
            items.retain(|item| item != key_id);
            items.len() != before && !items.is_empty()
        })
        .await
    }

    /// Read-modify-write of a key group under its ETag; another writer in
    /// between (412) makes us read again, a few times.
    async fn change_key_group(
        &self,
        group_id: &str,
        change: impl Fn(&mut Vec<String>) -> bool,
    ) -> anyhow::Result<GroupChange> {
        for _ in 0..3 {
            let (config, etag) = self.key_group(group_id).await?;
            let mut items = config.items.clone();
            if !change(&mut items) {
                return Ok(GroupChange::AlreadySo);
            }
            let updated = KeyGroupConfig::builder()
                .name(config.name.clone())
                .set_items(Some(items))
                .set_comment(config.comment.clone())
                .build()?;
            let sent = self
                .client
                .update_key_group()
                .id(group_id)
                .key_group_config(updated)
                .set_if_match(etag)
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(GroupChange::Updated),
                Err(err) if err.as_service_error().is_some_and(|e| e.is_precondition_failed()) => {
                    tracing::info!(group_id, "key group changed under us; reading it again");
                }
                Err(err) => return Err(failed("UpdateKeyGroup", err)),
            }
        }
        anyhow::bail!("key group {group_id} kept changing while we updated it")
    }

    /// Invalidates `paths` in `distribution_id`. The caller reference makes a
    /// retry of the same batch one invalidation, not two. Answers its id.
    pub async fn invalidate(
        &self,
        distribution_id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> anyhow::Result<String> {
        let batch = InvalidationBatch::builder()
            .caller_reference(caller_reference)
            .paths(Paths::builder().quantity(paths.len() as i32).set_items(Some(paths.to_vec())).build()?)
            .build()?;
        let created = self
            .client
            .create_invalidation()
            .distribution_id(distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| failed("CreateInvalidation", e))?;
        created
            .invalidation
            .map(|i| i.id)
            .ok_or_else(|| anyhow::anyhow!("CreateInvalidation answered no invalidation"))
    }

    /// The SDK client, for reads the tests make.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
