//! Keys CloudFront accepts: RSA of at least 2048 bits and ECDSA on P-256.
//! A private key never appears in `Debug` output or error messages.

use std::fmt;

use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{HasParams, HasPublic, Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};

use crate::HashAlgorithm;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ecdsa,
}

impl std::str::FromStr for KeyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "rsa" => Ok(KeyKind::Rsa),
            "ecdsa" | "ec" | "p256" | "p-256" => Ok(KeyKind::Ecdsa),
            _ => Err(format!("unknown key kind {s:?}; use rsa or ecdsa")),
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Rsa => "RSA",
            KeyKind::Ecdsa => "ECDSA",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Deliberately without OpenSSL's text, which can quote input.
    #[error("not a PEM-encoded {0} key")]
    NotPem(&'static str),
    #[error("RSA keys must have at least 2048 bits; this one has {0}")]
    RsaTooShort(u32),
    #[error("ECDSA keys must be on the P-256 curve")]
    WrongCurve,
    #[error("only RSA and ECDSA P-256 keys are accepted")]
    Unsupported,
    #[error("cryptographic operation failed")]
    Crypto,
}

impl From<openssl::error::ErrorStack> for KeyError {
    fn from(_: openssl::error::ErrorStack) -> Self {
        KeyError::Crypto
    }
}

fn kind_of<T: HasPublic + HasParams>(pkey: &PKey<T>) -> Result<KeyKind, KeyError> {
    match pkey.id() {
        Id::RSA => {
            if pkey.bits() < 2048 {
                return Err(KeyError::RsaTooShort(pkey.bits()));
            }
            Ok(KeyKind::Rsa)
        }
        Id::EC => {
            let curve = pkey.ec_key().ok().and_then(|ec| ec.group().curve_name());
            if curve != Some(Nid::X9_62_PRIME256V1) {
                return Err(KeyError::WrongCurve);
            }
            Ok(KeyKind::Ecdsa)
        }
        _ => Err(KeyError::Unsupported),
    }
}

/// A CloudFront signing key. Only url-signer ever constructs one.
#[derive(Clone)]
pub struct PrivateKey {
    pkey: PKey<Private>,
    kind: KeyKind,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, {} bits, [redacted])", self.kind, self.pkey.bits())
    }
}

impl PrivateKey {
    /// PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1
    /// (`BEGIN EC PRIVATE KEY`). Encrypted keys are refused.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let pkey =
            PKey::private_key_from_pem_passphrase(pem, b"").map_err(|_| KeyError::NotPem("private"))?;
        let kind = kind_of(&pkey)?;
        Ok(Self { pkey, kind })
    }

    pub fn generate(kind: KeyKind) -> Result<Self, KeyError> {
        let pkey = match kind {
            KeyKind::Rsa => PKey::from_rsa(Rsa::generate(2048)?)?,
            KeyKind::Ecdsa => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
        };
        Ok(Self { pkey, kind })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// PKCS#8 PEM, for `keygen` to write to a 0600 file.
    pub fn to_pkcs8_pem(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self.pkey.private_key_to_pem_pkcs8()?)
    }

    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let der = self.pkey.public_key_to_der()?;
        Ok(PublicKey { pkey: PKey::public_key_from_der(&der)?, kind: self.kind })
    }

    /// RSA: PKCS#1 v1.5. ECDSA: a DER-encoded signature, as CloudFront expects.
    pub fn sign(&self, message: &[u8], hash: HashAlgorithm) -> Result<Vec<u8>, KeyError> {
        let mut signer = Signer::new(hash.digest(), &self.pkey)?;
        Ok(signer.sign_oneshot_to_vec(message)?)
    }
}

/// A key CloudFront (or edge) trusts to verify signatures.
#[derive(Clone)]
pub struct PublicKey {
    pkey: PKey<Public>,
    kind: KeyKind,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {} bits)", self.kind, self.pkey.bits())
    }
}

impl PublicKey {
    /// SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, what CloudFront's
    /// CreatePublicKey takes) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let pkey = match PKey::public_key_from_pem(pem) {
            Ok(pkey) => pkey,
            Err(_) => {
                let rsa = Rsa::public_key_from_pem_pkcs1(pem).map_err(|_| KeyError::NotPem("public"))?;
                PKey::from_rsa(rsa)?
            }
        };
        let kind = kind_of(&pkey)?;
        Ok(Self { pkey, kind })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// SubjectPublicKeyInfo PEM, as CloudFront's CreatePublicKey takes it.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        String::from_utf8(self.pkey.public_key_to_pem()?).map_err(|_| KeyError::Crypto)
    }

    pub fn verify(&self, message: &[u8], signature: &[u8], hash: HashAlgorithm) -> bool {
        Verifier::new(hash.digest(), &self.pkey)
            .and_then(|mut verifier| verifier.verify_oneshot(signature, message))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_rsa_keys_and_other_curves_are_refused() {
        let short = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert_eq!(PrivateKey::from_pem(&short).unwrap_err(), KeyError::RsaTooShort(1024));
        let p384 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap();
        let pem = PKey::from_ec_key(p384).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert_eq!(PrivateKey::from_pem(&pem).unwrap_err(), KeyError::WrongCurve);
        assert_eq!(
            PrivateKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .unwrap_err(),
            KeyError::NotPem("private")
        );
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let key = PrivateKey::generate(KeyKind::Rsa).unwrap();
        let pem = String::from_utf8(key.to_pkcs8_pem().unwrap()).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("redacted"));
        let body_line = pem.lines().nth(1).unwrap();
        assert!(!debug.contains(body_line));
    }

    #[test]
    fn signatures_verify_with_the_matching_public_key_only() {
        for kind in [KeyKind::Rsa, KeyKind::Ecdsa] {
            let key = PrivateKey::generate(kind).unwrap();
            let other = PrivateKey::generate(kind).unwrap().public_key().unwrap();
            let public = PublicKey::from_pem(key.public_key().unwrap().to_pem().unwrap().as_bytes()).unwrap();
            for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
                let sig = key.sign(b"policy", hash).unwrap();
                assert!(public.verify(b"policy", &sig, hash));
                assert!(!public.verify(b"policy!", &sig, hash));
                assert!(!other.verify(b"policy", &sig, hash));
                let other_hash =
                    if hash == HashAlgorithm::Sha1 { HashAlgorithm::Sha256 } else { HashAlgorithm::Sha1 };
                assert!(!public.verify(b"policy", &sig, other_hash));
            }
        }
    }
}
