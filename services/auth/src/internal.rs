//! The internal API, for post: usernames (`common::contract::users`).

use actix_web::web;
use common::contract::users::{Account, Accounts, BY_USERNAME, LOOKUP, Lookup, MAX_LOOKUP};
use common::ids::Username;
use common::internal_auth::ServiceCaller;

use crate::error::AuthError;
use crate::state::Auth;
use crate::users::UserRecord;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(BY_USERNAME.serve(by_username)).service(LOOKUP.serve(lookup));
}

fn account(user: &UserRecord) -> Account {
    Account { id: user.id.clone(), username: user.username.clone() }
}

/// A username's account (404 when there is none).
async fn by_username(
    _caller: ServiceCaller,
    username: web::Path<Username>,
    auth: web::Data<Auth>,
) -> Result<web::Json<Account>, AuthError> {
    // By username only: an e-mail address is not a public handle.
    let user = auth.users.find_by_login(username.as_str()).await?.ok_or(AuthError::NotFound)?;
    Ok(web::Json(account(&user)))
}

/// Usernames of up to 100 account ids (unknown ids are left out).
async fn lookup(
    _caller: ServiceCaller,
    body: web::Json<Lookup>,
    auth: web::Data<Auth>,
) -> Result<web::Json<Accounts>, AuthError> {
    if body.ids.len() > MAX_LOOKUP {
        return Err(AuthError::Invalid { field: "ids", message: "may name at most 100 accounts" });
    }
    let users = auth.users.find_many(&body.ids).await?;
    Ok(web::Json(Accounts { users: users.iter().map(account).collect() }))
}
