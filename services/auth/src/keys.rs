//! Ed25519 keys that sign access tokens, and the JWKS that publishes them.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::ids::KeyId;
use jsonwebtoken::{DecodingKey, EncodingKey};
use openssl::pkey::{Id, PKey};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct SigningKey {
    pub kid: KeyId,
    encoding: EncodingKey,
    public: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, Ed25519, [redacted])", self.kid)
    }
}

impl SigningKey {
    /// A PKCS#8 PEM Ed25519 private key from a file only its owner may
    /// read (0600). Errors name the file, never its content.
    pub fn from_pem_file(kid: &KeyId, path: &Path) -> Result<Self, String> {
        let pem = common::private_file::read(path)?;
        Self::from_pem(kid.as_str(), &pem).map_err(|err| format!("{}: {err}", path.display()))
    }

    pub fn from_pem(kid: &str, pem: &[u8]) -> Result<Self, String> {
        let kid = KeyId::parse(kid).map_err(|err| format!("{kid:?} {err}"))?;
        let pkey = PKey::private_key_from_pem(pem).map_err(|_| "not a PEM private key".to_owned())?;
        if pkey.id() != Id::ED25519 {
            return Err("not an Ed25519 key".into());
        }
        let der = pkey.private_key_to_pkcs8().map_err(|_| "cannot encode the key".to_owned())?;
        let public = pkey.raw_public_key().map_err(|_| "cannot read the public key".to_owned())?;
        Ok(Self { kid, encoding: EncodingKey::from_ed_der(&der), public })
    }

    /// A fresh key, as PEM (for tests, the dev stack and key rotation).
    pub fn generate_pem() -> anyhow::Result<Vec<u8>> {
        Ok(PKey::generate_ed25519()?.private_key_to_pem_pkcs8()?)
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self) -> anyhow::Result<DecodingKey> {
        Ok(DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(&self.public))?)
    }

    pub fn jwk(&self) -> Value {
        json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid,
                "x": URL_SAFE_NO_PAD.encode(&self.public) })
    }
}
