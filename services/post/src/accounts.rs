//! Usernames belong to auth; post asks it over the internal API
//! (`common::contract::users`).

use std::collections::HashMap;

use common::contract::users::{Account, Accounts, LOOKUP_PATH, Lookup, by_username_path};
use common::ids::{UserId, Username};
use common::internal_client::ServiceClient;

use crate::error::PostError;

pub struct AccountDirectory {
    pub client: ServiceClient,
}

impl AccountDirectory {
    /// The account named `username` as a client wrote it: a name that could
    /// not be anyone's is not looked up.
    pub async fn by_username(&self, username: &Username) -> Result<Account, PostError> {
        match self.client.get_json::<Account>(&by_username_path(username)).await {
            Ok(account) => Ok(account),
            Err(err) if err.status().is_some_and(|s| s.as_u16() == 404) => Err(PostError::UserNotFound),
            Err(err) => Err(PostError::Internal(err.into())),
        }
    }

    /// Usernames by id; unknown ids are missing from the map.
    pub async fn usernames(&self, ids: &[UserId]) -> Result<HashMap<UserId, String>, PostError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Accounts = self
            .client
            .post_json_idempotent(LOOKUP_PATH, &Lookup { ids: ids.to_vec() })
            .await
            .map_err(|err| PostError::Internal(err.into()))?;
        Ok(found.users.into_iter().map(|a| (a.id, a.username)).collect())
    }
}
