//! Password hashing with argon2id, off the async executor and bounded in
//! concurrency, so a burst of logins cannot starve everything else.
//!
//! The stored hash is a PHC string that records its parameters; a login that
//! succeeds against weaker parameters than today's is rehashed.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordCost;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so an unknown login
    /// costs the same as a wrong password.
    dummy: Arc<str>,
}

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    Wrong,
    Right { rehash: Option<String> },
}

impl Passwords {
    pub fn new(cost: PasswordCost) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|err| anyhow::anyhow!("invalid argon2 parameters: {err}"))?;
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let mut passwords = Self { params, permits: Arc::new(Semaphore::new(cores)), dummy: Arc::from("") };
        passwords.dummy = Arc::from(passwords.hash_now("a password nobody has").as_str());
        Ok(passwords)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_now(&self, password: &str) -> String {
        let salt = SaltString::generate(&mut OsRng);
        // Hashing only fails for parameters `new` already accepted or salts we made.
        self.argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let this = self.clone();
        let hash = self.blocking(move || this.hash_now(&password)).await?;
        anyhow::ensure!(!hash.is_empty(), "argon2 hashing failed");
        Ok(hash)
    }

    /// Checks `password` against `stored`, or against the dummy hash when
    /// there is no account, doing the same work either way.
    pub async fn check(&self, password: String, stored: Option<String>) -> anyhow::Result<Checked> {
        let this = self.clone();
        let exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| this.dummy.to_string());
        self.blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else { return Checked::Wrong };
            if this.argon2().verify_password(password.as_bytes(), &parsed).is_err() || !exists {
                return Checked::Wrong;
            }
            let current = Params::try_from(&parsed).is_ok_and(|p| {
                (p.m_cost(), p.t_cost(), p.p_cost())
                    == (this.params.m_cost(), this.params.t_cost(), this.params.p_cost())
            }) && parsed.algorithm == Algorithm::Argon2id.ident();
            Checked::Right { rehash: (!current).then(|| this.hash_now(&password)) }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordCost {
        PasswordCost { memory_kib: 1024, iterations: 1, parallelism: 1 }
    }

    #[tokio::test]
    async fn right_wrong_and_missing_passwords() {
        let passwords = Passwords::new(cheap()).unwrap();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
        assert_eq!(
            passwords.check("correct horse".into(), Some(hash.clone())).await.unwrap(),
            Checked::Right { rehash: None }
        );
        assert_eq!(passwords.check("wrong horse".into(), Some(hash)).await.unwrap(), Checked::Wrong);
        assert_eq!(passwords.check("a password nobody has".into(), None).await.unwrap(), Checked::Wrong);
    }

    #[tokio::test]
    async fn hashes_with_weaker_parameters_are_replaced_on_login() {
        let old = Passwords::new(cheap()).unwrap().hash("correct horse".into()).await.unwrap();
        let stronger = Passwords::new(PasswordCost { memory_kib: 2048, ..cheap() }).unwrap();
        let Checked::Right { rehash: Some(new) } =
            stronger.check("correct horse".into(), Some(old)).await.unwrap()
        else {
            panic!("expected a rehash");
        };
        assert!(new.contains("m=2048"), "{new}");
    }
}
