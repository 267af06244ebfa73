//! The key manifest: which private keys url-signer publishes and which one
//! signs. `keys rotate` rewrites it; the service rereads it while running, so
//! a rotation needs no restart.
//!
//! ```json
//! { "active_key_id": "K2EXAMPLE", "keys": [ { "key_id": "K1EXAMPLE", "path": "key-1.pem" },
//!                                           { "key_id": "K2EXAMPLE", "path": "key-2.pem" } ] }
//! ```
//! Relative paths are relative to the manifest's folder.

use std::path::{Path, PathBuf};

use cloudfront_sign::PrivateKey;
use common::ids::KeyId;
use serde::{Deserialize, Serialize};

use crate::keyring::load_key_file;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub active_key_id: KeyId,
    pub keys: Vec<ManifestKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestKey {
    pub key_id: KeyId,
    pub path: PathBuf,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read(path)
            .map_err(|err| format!("cannot read key manifest {}: {err}", path.display()))?;
        serde_json::from_slice(&text).map_err(|err| format!("key manifest {}: {err}", path.display()))
    }

    /// Writes atomically (a reader sees the old or the new manifest, whole).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        write_json(path, self).map_err(|err| format!("cannot write key manifest {}: {err}", path.display()))
    }

    pub fn key_path(&self, manifest_path: &Path, key_id: &KeyId) -> Option<PathBuf> {
        self.keys.iter().find(|k| k.key_id == *key_id).map(|k| folder(manifest_path).join(&k.path))
    }

    /// Every key it names, loaded; the active one must be among them.
    pub fn load_keys(&self, manifest_path: &Path) -> Result<Vec<(KeyId, PrivateKey)>, String> {
        if !self.keys.iter().any(|k| k.key_id == self.active_key_id) {
            return Err(format!("the active key {} is not among the manifest's keys", self.active_key_id));
        }
        let folder = folder(manifest_path);
        self.keys.iter().map(|k| Ok((k.key_id.clone(), load_key_file(&folder.join(&k.path))?))).collect()
    }
}

/// The folder relative key paths (and the rotation's state) are taken from.
pub fn folder(manifest_path: &Path) -> &Path {
    manifest_path.parent().unwrap_or(Path::new("."))
}

/// Writes `value` as JSON through a temporary file and a rename, so a reader
/// (url-signer rereading the manifest) never sees half of it.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, serde_json::to_vec_pretty(value)?)?;
    std::fs::rename(&temporary, path)
}
