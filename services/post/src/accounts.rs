//! Usernames belong to auth; post asks it over the internal API.

use std::collections::HashMap;

use common::ids::Username;
use common::internal_client::ServiceClient;
use serde::Deserialize;
use serde_json::json;

use crate::error::PostError;

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub id: String,
    pub username: String,
}

#[derive(Deserialize)]
struct Found {
    users: Vec<Account>,
}

pub struct Accounts {
    pub client: ServiceClient,
}

impl Accounts {
    /// The account named `username` as a client wrote it: a name that could
    /// not be anyone's is not looked up.
    pub async fn by_username(&self, username: &str) -> Result<Account, PostError> {
        let username = Username::parse(username).map_err(|_| PostError::UserNotFound)?;
        // A parsed username is plain [a-z0-9_.]: safe as a path segment.
        let path = format!("/internal/v1/users/by-username/{username}");
        match self.client.get_json::<Account>(&path).await {
            Ok(account) => Ok(account),
            Err(err) if err.status().is_some_and(|s| s.as_u16() == 404) => Err(PostError::UserNotFound),
            Err(err) => Err(PostError::Internal(err.into())),
        }
    }

    /// Usernames by id; unknown ids are missing from the map.
    pub async fn usernames(&self, ids: &[String]) -> Result<HashMap<String, String>, PostError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Found = self
            .client
            .post_json_idempotent("/internal/v1/users/lookup", &json!({ "ids": ids }))
            .await
            .map_err(|err| PostError::Internal(err.into()))?;
        Ok(found.users.into_iter().map(|a| (a.id, a.username)).collect())
    }
}
