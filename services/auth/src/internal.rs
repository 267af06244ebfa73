//! The internal API (`common::contract::users`): usernames for post, and
//! suspensions — set by post's moderators, followed by post and media.

use actix_web::web;
use common::contract::users::{
    Account, Accounts, BY_USERNAME, LOOKUP, Lookup, MAX_LOOKUP, SUSPENDED, SUSPENSION, Suspended, Suspension,
};
use common::ids::{UserId, Username};
use common::internal_auth::ServiceCaller;
use serde::Deserialize;

use crate::error::AuthError;
use crate::state::Auth;
use crate::users::UserRecord;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(BY_USERNAME.serve(by_username))
        .service(LOOKUP.serve(lookup))
        .service(SUSPENSION.serve(suspend))
        .service(SUSPENDED.serve(suspended));
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

/// Suspends an account, or ends its suspension: its sign-in and refresh
/// tokens stop working here at once; the other services refuse its access
/// tokens by the list below.
async fn suspend(
    _caller: ServiceCaller,
    id: web::Path<UserId>,
    body: web::Json<Suspension>,
    auth: web::Data<Auth>,
) -> Result<web::Json<Suspension>, AuthError> {
    if !auth.users.set_suspended(&id, body.suspended).await? {
        return Err(AuthError::NotFound);
    }
    tracing::info!(user_id = %id, suspended = body.suspended, "account standing changed");
    Ok(web::Json(Suspension { suspended: body.suspended }))
}

#[derive(Deserialize)]
struct Known {
    #[serde(default)]
    known: i64,
}

/// The suspended accounts, unless the caller's `known` version is current.
async fn suspended(
    _caller: ServiceCaller,
    query: web::Query<Known>,
    auth: web::Data<Auth>,
) -> Result<web::Json<Suspended>, AuthError> {
    let version = auth.users.suspensions_version().await?;
    if version == query.known {
        return Ok(web::Json(Suspended { version, user_ids: None }));
    }
    Ok(web::Json(Suspended { version, user_ids: Some(auth.users.suspended().await?) }))
}
