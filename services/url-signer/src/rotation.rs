//! `url-signer keys rotate`: CloudFront's zero-downtime key rotation, as a
//! resumable sequence of idempotent steps.
//!
//! 1. **generate** a new key pair next to the manifest (private key 0600);
//! 2. **register** its public key with CloudFront (found again by name on a retry);
//! 3. **publish**: add it to the key group, and to the manifest as a published
//!    but inactive key, so edge and CloudFront trust it before anything is
//!    signed with it;
//! 4. **activate** once the propagation delay has passed since step 3: the
//!    manifest names it active and url-signer signs with it from its next reload;
//! 5. **retire** once every URL the old key signed has expired (the maximum
//!    URL lifetime plus a margin for the reload and the signature cache):
//!    remove the old key from the group and the manifest, delete its public
//!    key from CloudFront and its private key file.
//!
//! Progress lives in `rotation.json` beside the manifest, written after every
//! step, so a rotation interrupted anywhere resumes where it stopped.
//!
//! Self-hosted (edge follows the keys url-signer publishes, no CloudFront),
//! steps 2, 3 and 5 touch the manifest only. Where the manifest reaches the
//! running url-signer only through a rollout (a Kubernetes Secret), the
//! operator marks the moment the rollout finished (`mark_deployed`), and the
//! waits count from then.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudfront_api::CloudFront;
use cloudfront_sign::{KeyKind, PrivateKey};
use common::ids::KeyId;
use serde::{Deserialize, Serialize};

use crate::keyring::load_key_file;
use crate::manifest::{Manifest, ManifestKey, folder, write_json};

/// url-signer's manifest reload interval plus its signature-cache bucket, rounded up.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(120);

/// Who must trust a new key before anything is signed with it.
#[derive(Clone, Copy)]
pub enum Trust<'a> {
    /// CloudFront: the key is registered and put in the key group.
    CloudFront { api: &'a CloudFront, key_group: &'a str },
    /// Self-hosted: edge trusts what url-signer publishes.
    Published,
}

#[derive(Debug, Clone)]
pub struct RotationSettings {
    pub manifest: PathBuf,
    /// New public keys are named `{prefix}-{unix time}` in CloudFront.
    pub name_prefix: String,
    pub kind: KeyKind,
    pub propagation_delay: Duration,
    /// The longest lifetime url-signer gives a URL (`SIGNER_MAX_TTL`).
    pub max_url_lifetime: Duration,
    /// Added to the lifetime: url-signer's reload interval and cache bucket.
    pub margin: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Generated,
    Registered,
    Published,
    Activated,
    Retired,
}

impl Step {
    pub fn number(self) -> u8 {
        match self {
            Step::Generated => 1,
            Step::Registered => 2,
            Step::Published => 3,
            Step::Activated => 4,
            Step::Retired => 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationState {
    pub step: Step,
    pub old_key_id: KeyId,
    pub new_key_name: String,
    /// Relative to the manifest's folder.
    pub new_key_file: PathBuf,
    pub new_key_id: Option<KeyId>,
    pub published_at: Option<u64>,
    pub activated_at: Option<u64>,
}

/// Where a run of `rotate` stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The step done last and when the next one may run.
    Waiting { done: Step, until: u64 },
    /// The rotation is complete: `new_key_id` alone is published and active.
    Done { new_key_id: KeyId },
}

fn state_path(manifest: &Path) -> PathBuf {
    manifest.with_file_name("rotation.json")
}

fn save(manifest: &Path, state: &RotationState) -> anyhow::Result<()> {
    write_json(&state_path(manifest), state)?;
    tracing::info!(step = ?state.step, "rotation step done");
    Ok(())
}

pub fn load_state(manifest: &Path) -> anyhow::Result<Option<RotationState>> {
    match std::fs::read(state_path(manifest)) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err.into()),
    }
}

fn public_pem(manifest: &Path, state: &RotationState) -> anyhow::Result<String> {
    let key = load_key_file(&folder(manifest).join(&state.new_key_file)).map_err(anyhow::Error::msg)?;
    Ok(key.public_key()?.to_pem()?)
}

/// The step done last took effect only now (the rollout carrying its
/// manifest finished): the wait after it counts from `now`.
pub fn mark_deployed(manifest: &Path, now: u64) -> anyhow::Result<Step> {
    let mut state = load_state(manifest)?.ok_or_else(|| anyhow::anyhow!("no rotation is under way"))?;
    match state.step {
        Step::Published => state.published_at = Some(now),
        Step::Activated => state.activated_at = Some(now),
        other => anyhow::bail!("step {} has no wait to count from its deployment", other.number()),
    }
    save(manifest, &state)?;
    Ok(state.step)
}

/// Runs every step that may run at `now` (unix seconds) and says where it stopped.
pub async fn rotate(trust: Trust<'_>, settings: &RotationSettings, now: u64) -> anyhow::Result<Progress> {
    let manifest_path = settings.manifest.as_path();
    let mut state = match load_state(manifest_path)? {
        Some(state) => state,
        None => generate(settings, now)?,
    };
    loop {
        match state.step {
            Step::Generated => {
                let id = match trust {
                    Trust::CloudFront { api, .. } => {
                        let registered = api
                            .register_public_key(&state.new_key_name, &public_pem(manifest_path, &state)?)
                            .await?;
                        KeyId::parse(&registered)?
                    }
                    // CloudFront's form, for a key only url-signer and edge ever see.
                    Trust::Published => KeyId::mint_upper("K", 14),
                };
                state.new_key_id = Some(id);
                state.step = Step::Registered;
            }
            Step::Registered => {
                let new_id = new_key_id(&state)?;
                if let Trust::CloudFront { api, key_group } = trust {
                    api.add_to_key_group(key_group, new_id.as_str()).await?;
                }
                let mut manifest = Manifest::read(manifest_path).map_err(anyhow::Error::msg)?;
                if !manifest.keys.iter().any(|k| k.key_id == new_id) {
                    manifest.keys.push(ManifestKey { key_id: new_id, path: state.new_key_file.clone() });
                    manifest.write(manifest_path).map_err(anyhow::Error::msg)?;
                }
                state.published_at = Some(now);
                state.step = Step::Published;
            }
            Step::Published => {
                let until = state.published_at.unwrap_or(now) + settings.propagation_delay.as_secs();
                if now < until {
                    return Ok(Progress::Waiting { done: Step::Published, until });
                }
                let mut manifest = Manifest::read(manifest_path).map_err(anyhow::Error::msg)?;
                manifest.active_key_id = new_key_id(&state)?;
                manifest.write(manifest_path).map_err(anyhow::Error::msg)?;
                state.activated_at = Some(now);
                state.step = Step::Activated;
            }
            Step::Activated => {
                let lifetime = settings.max_url_lifetime + settings.margin;
                let until = state.activated_at.unwrap_or(now) + lifetime.as_secs();
                if now < until {
                    return Ok(Progress::Waiting { done: Step::Activated, until });
                }
                retire_old_key(trust, settings, &state).await?;
                state.step = Step::Retired;
            }
            Step::Retired => {
                std::fs::remove_file(state_path(manifest_path))?;
                tracing::info!(key_id = ?state.new_key_id, "rotation complete");
                return Ok(Progress::Done { new_key_id: new_key_id(&state)? });
            }
        }
        save(manifest_path, &state)?;
    }
}

fn new_key_id(state: &RotationState) -> anyhow::Result<KeyId> {
    state.new_key_id.clone().ok_or_else(|| anyhow::anyhow!("rotation.json has no new key id past step 2"))
}

/// Step 1: a new private key beside the manifest, and the state naming it.
fn generate(settings: &RotationSettings, now: u64) -> anyhow::Result<RotationState> {
    let manifest = Manifest::read(&settings.manifest).map_err(anyhow::Error::msg)?;
    let file = PathBuf::from(format!("key-{now}.pem"));
    let key = PrivateKey::generate(settings.kind)?;
    common::private_file::create(&folder(&settings.manifest).join(&file), &key.to_pkcs8_pem()?)?;
    let state = RotationState {
        step: Step::Generated,
        old_key_id: manifest.active_key_id,
        new_key_name: format!("{}-{now}", settings.name_prefix),
        new_key_file: file,
        new_key_id: None,
        published_at: None,
        activated_at: None,
    };
    save(&settings.manifest, &state)?;
    Ok(state)
}

/// Step 5: the old key leaves CloudFront's group, the manifest and the disk.
async fn retire_old_key(
    trust: Trust<'_>,
    settings: &RotationSettings,
    state: &RotationState,
) -> anyhow::Result<()> {
    let old = &state.old_key_id;
    if let Trust::CloudFront { api, key_group } = trust {
        api.remove_from_key_group(key_group, old.as_str()).await?;
    }
    let mut manifest = Manifest::read(&settings.manifest).map_err(anyhow::Error::msg)?;
    let old_file = manifest.key_path(&settings.manifest, old);
    manifest.keys.retain(|k| &k.key_id != old);
    manifest.write(&settings.manifest).map_err(anyhow::Error::msg)?;
    if let Trust::CloudFront { api, .. } = trust {
        api.delete_public_key(old.as_str()).await?;
    }
    if let Some(file) = old_file {
        match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
            _ => {}
        }
    }
    Ok(())
}
