//! The CloudFront private keys: loaded once, from files only url-signer can read.

use std::path::Path;

use cloudfront_sign::{HashAlgorithm, KeyKind, PrivateKey, PublicKey, Signer};
use common::ids::KeyId;

/// Reads a private key, refusing files that group or others may read. The
/// message names the file; it never quotes the file's content.
pub fn load_key_file(path: &Path) -> Result<PrivateKey, String> {
    let pem = common::private_file::read(path)?;
    PrivateKey::from_pem(&pem).map_err(|err| format!("key file {}: {err}", path.display()))
}

/// Generates a key pair into `dir`: `private_key.pem` (created 0600, never
/// overwritten) and `public_key.pem`. Returns the public key's PEM.
pub fn write_new_key(kind: KeyKind, dir: &Path) -> Result<String, String> {
    let key = PrivateKey::generate(kind).map_err(|e| e.to_string())?;
    let public = key.public_key().and_then(|p| p.to_pem()).map_err(|e| e.to_string())?;
    let private_path = dir.join("private_key.pem");
    let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
    common::private_file::create(&private_path, &pem)
        .map_err(|e| format!("{}: {e}", private_path.display()))?;
    std::fs::write(dir.join("public_key.pem"), &public).map_err(|e| e.to_string())?;
    Ok(public)
}

/// One published key; only the active one signs new URLs.
pub struct KeyEntry {
    pub key_id: KeyId,
    pub public: PublicKey,
    pub public_pem: String,
    pub signer: Signer,
}

pub struct KeyRing {
    entries: Vec<KeyEntry>,
    active: usize,
}

impl KeyRing {
    pub fn new(
        keys: &[(KeyId, PrivateKey)],
        active_key_id: Option<&KeyId>,
        hash: HashAlgorithm,
    ) -> anyhow::Result<Self> {
        let mut entries = Vec::with_capacity(keys.len());
        for (key_id, key) in keys {
            let public = key.public_key()?;
            let public_pem = public.to_pem()?;
            entries.push(KeyEntry {
                key_id: key_id.clone(),
                public,
                public_pem,
                signer: Signer::new(key_id.as_str(), key.clone(), hash),
            });
        }
        // Without a choice, the first key signs.
        let active = match active_key_id {
            Some(id) => entries.iter().position(|entry| entry.key_id == *id),
            None => (!entries.is_empty()).then_some(0),
        };
        let active = active.ok_or_else(|| {
            anyhow::anyhow!("the active key {active_key_id:?} is not among the loaded keys")
        })?;
        Ok(Self { entries, active })
    }

    pub fn active(&self) -> &KeyEntry {
        &self.entries[self.active]
    }

    pub fn get(&self, key_id: &KeyId) -> Option<&KeyEntry> {
        self.entries.iter().find(|entry| entry.key_id == *key_id)
    }

    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }
}
