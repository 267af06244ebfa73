//! The public API: signup, login, refresh, logout, profile, JWKS.

use actix_web::{HttpRequest, HttpResponse, web};
use common::mongo::is_duplicate_key;
use common::user_auth::AuthUser;
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::AuthError;
use crate::limiter::Budget;
use crate::passwords::Checked;
use crate::tokens::{ACCESS_LIFETIME, RefreshRefusal};
use crate::users::{Email, Password, UserRecord, Username};
use crate::{Auth, Jwks};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::api::configure_public).service(
        web::scope("/internal/v1/users")
            .app_data(common::internal_auth::AllowedCallers::new(["post"]))
            .route("/by-username/{username}", web::get().to(by_username))
            .route("/lookup", web::post().to(lookup)),
    );
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignupRequest {
    /// 3 to 30 of a-z, 0-9, `_` and `.`; unique regardless of case.
    #[schema(min_length = 3, max_length = 30, pattern = "^[A-Za-z0-9_.]+$")]
    username: String,
    #[schema(format = "email", max_length = 254)]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// Username or e-mail.
    login: String,
    password: String,
    /// The `device_token` an earlier sign-in on this device received: a
    /// known device keeps its own attempt budget.
    #[serde(default)]
    device_token: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenPair {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
    /// At sign-up and login: keep it on this device and send it with the
    /// next login (see `LoginRequest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Profile {
    id: String,
    username: String,
    email: String,
    created_at: String,
}

impl From<&UserRecord> for Profile {
    fn from(user: &UserRecord) -> Self {
        Self {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            created_at: user.created_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }
}

async fn pair(
    auth: &Auth,
    user: &UserRecord,
    family: Option<String>,
    device_token: Option<String>,
) -> Result<TokenPair, AuthError> {
    Ok(TokenPair {
        access_token: auth.access.issue(&user.id, &user.roles)?,
        refresh_token: auth.refresh.issue(&user.id, family).await?,
        token_type: "Bearer",
        expires_in: ACCESS_LIFETIME.as_secs(),
        device_token,
    })
}

#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, description = "The account and its first tokens", body = crate::api::SignedUp),
              (status = 409, description = "The username is taken (names the field), or the account cannot be made with these details"),
              (status = 413, description = "The body is over 16 KiB"),
              (status = 422, description = "A username, e-mail or password out of bounds (names the field)")))]
pub(crate) async fn signup(
    auth: web::Data<Auth>,
    body: web::Json<SignupRequest>,
) -> Result<HttpResponse, AuthError> {
    let body = body.into_inner();
    let invalid = |field, message| AuthError::Invalid { field, message };
    let username = Username::parse(&body.username).map_err(|m| invalid("username", m))?;
    let email = Email::parse(&body.email).map_err(|m| invalid("email", m))?;
    let password = Password::parse(body.password).map_err(|m| invalid("password", m))?;
    let user = UserRecord {
        id: uuid::Uuid::now_v7().simple().to_string(),
        username: username.as_str().to_owned(),
        email: email.as_str().to_owned(),
        email_lower: email.lower(),
        password_hash: auth.passwords.hash(password.into_inner()).await?,
        created_at: DateTime::now(),
        roles: Vec::new(),
    };
    if let Err(err) = auth.users.insert(&user).await {
        if is_duplicate_key(&err) {
            // A taken username is public anyway; a taken e-mail is not named.
            return Err(match auth.users.username_taken(&username).await? {
                true => AuthError::Taken("username"),
                false => AuthError::NotAvailable,
            });
        }
        return Err(AuthError::Internal(err.into()));
    }
    tracing::info!(user_id = user.id, "account created");
    let device = auth.devices.issue(&user.id).await?;
    let tokens = pair(&auth, &user, None, Some(device)).await?;
    Ok(HttpResponse::Created().json(crate::api::SignedUp { user: Profile::from(&user), tokens }))
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Tokens", body = TokenPair),
              (status = 401, description = "Wrong login or password"),
              (status = 429, description = "Too many failures for this login name, device or address (see Retry-After)")))]
pub(crate) async fn login(
    req: HttpRequest,
    auth: web::Data<Auth>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, AuthError> {
    let body = body.into_inner();
    let ip = common::client_ip::client_ip(&req, &auth.trusted_proxies);
    let user = auth.users.find_by_login(&body.login).await?;
    let device = match (&body.device_token, &user) {
        (Some(token), Some(user)) => auth.devices.recognise(token, &user.id).await?,
        _ => None,
    };
    let budget = device.as_ref().map_or_else(|| Budget::login(&body.login), |d| Budget::device(&d.id));
    // Counted before hashing: parallel guesses cannot outrun the limit.
    let reservation = match auth.limiter.reserve(vec![budget.clone(), Budget::address(ip)]).await? {
        Ok(reservation) => reservation,
        Err(retry_after_s) => {
            tracing::warn!(?ip, known_device = device.is_some(), "login rate-limited");
            return Err(AuthError::RateLimited { retry_after_s });
        }
    };
    // Too long to be anyone's password: refuse without hashing, but say no more than "wrong".
    let plausible = body.password.chars().count() <= 128;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let checked = if plausible { auth.passwords.check(body.password, stored).await? } else { Checked::Wrong };
    let (Checked::Right { rehash }, Some(user)) = (checked, user) else {
        // The attempt stays counted: it was a failure.
        return Err(AuthError::BadCredentials);
    };
    if let Some(hash) = rehash {
        auth.users.set_password_hash(&user.id, &hash).await?;
        tracing::info!(user_id = user.id, "password rehashed with current parameters");
    }
    auth.limiter.succeeded(reservation, &budget).await?;
    let device_token = match device {
        Some(device) => device.token,
        None => auth.devices.issue(&user.id).await?,
    };
    Ok(HttpResponse::Ok().json(pair(&auth, &user, None, Some(device_token)).await?))
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "New tokens; the refresh token given is used up", body = TokenPair),
              (status = 401, description = "Unknown, expired, used or revoked refresh token")))]
pub(crate) async fn refresh(
    auth: web::Data<Auth>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    match auth.refresh.consume(&body.refresh_token).await? {
        Ok((user_id, family)) => {
            // Roles are read again, so a granted or revoked role shows from the next refresh.
            let user = auth.users.find(&user_id).await?.ok_or(AuthError::BadRefreshToken)?;
            Ok(HttpResponse::Ok().json(pair(&auth, &user, Some(family), None).await?))
        }
        Err(refusal) => {
            if refusal == RefreshRefusal::Reused {
                tracing::warn!("refresh token reused: its family is revoked");
            } else {
                tracing::debug!(?refusal, "refresh refused");
            }
            Err(AuthError::BadRefreshToken)
        }
    }
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Every refresh token of this sign-in is revoked"),
              (status = 401, description = "Unknown refresh token")))]
pub(crate) async fn logout(
    auth: web::Data<Auth>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    if !auth.refresh.revoke_family_of(&body.refresh_token).await? {
        return Err(AuthError::BadRefreshToken);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v1/users/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Your account", body = Profile), (status = 404, description = "The account is gone")))]
pub(crate) async fn me(user: AuthUser, auth: web::Data<Auth>) -> Result<HttpResponse, AuthError> {
    let record = auth.users.find(&user.user_id).await?.ok_or(AuthError::NotFound)?;
    Ok(HttpResponse::Ok().json(Profile::from(&record)))
}

/// For post: a username's account id (404 when there is none).
async fn by_username(
    _caller: common::internal_auth::ServiceCaller,
    username: web::Path<String>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    // By username only: an e-mail address is not a public handle.
    let username = Username::parse(&username).map_err(|_| AuthError::NotFound)?;
    let user = auth.users.find_by_login(username.as_str()).await?.ok_or(AuthError::NotFound)?;
    Ok(HttpResponse::Ok().json(json!({ "id": user.id, "username": user.username })))
}

#[derive(Deserialize)]
struct Lookup {
    ids: Vec<String>,
}

/// For post: usernames of up to 100 account ids (unknown ids are left out).
async fn lookup(
    _caller: common::internal_auth::ServiceCaller,
    body: web::Json<Lookup>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    if body.ids.len() > 100 {
        return Err(AuthError::Invalid { field: "ids", message: "may name at most 100 accounts" });
    }
    let users = auth.users.find_many(&body.ids).await?;
    let users: Vec<_> = users.iter().map(|u| json!({ "id": u.id, "username": u.username })).collect();
    Ok(HttpResponse::Ok().json(json!({ "users": users })))
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "The public keys access tokens are signed with (RFC 7517)", body = crate::api::KeySet)))]
pub(crate) async fn jwks(keys: web::Data<Jwks>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("cache-control", "public, max-age=300")).json(&keys.0)
}
