//! The public handlers: signup, login, refresh, logout, profile, JWKS.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use common::ids::UserId;
use common::mongo::is_duplicate_key;
use common::respond::Created;
use common::user_auth::AuthUser;
use mongodb::bson::DateTime;

use crate::error::AuthError;
use crate::limiter::Budget;
use crate::passwords::Checked;
use crate::state::{Auth, Jwks};
use crate::tokens::{ACCESS_LIFETIME, FamilyId, RefreshRefusal};
use crate::types::{KeySet, LoginRequest, Profile, RefreshRequest, SignedUp, SignupRequest, TokenPair};
use crate::users::{Email, Password, UserRecord, Username};

async fn pair(
    auth: &Auth,
    user: &UserRecord,
    family: Option<FamilyId>,
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

#[utoipa::path(tag = "auth", request_body = SignupRequest,
    responses((status = 201, description = "The account and its first tokens", body = SignedUp),
              (status = 409, description = "The username is taken (names the field), or the account cannot be made with these details"),
              (status = 413, description = "The body is over 16 KiB"),
              (status = 422, description = "A username, e-mail or password out of bounds (names the field)"),
              (status = 429, description = "Too many accounts made from this address this hour (see Retry-After)")))]
#[post("/v1/auth/signup")]
pub(crate) async fn signup(
    req: HttpRequest,
    auth: web::Data<Auth>,
    body: web::Json<SignupRequest>,
) -> Result<Created<SignedUp>, AuthError> {
    let body = body.into_inner();
    let invalid = |field, message| AuthError::Invalid { field, message };
    let username = Username::parse(&body.username).map_err(|m| invalid("username", m))?;
    let email = Email::parse(&body.email).map_err(|m| invalid("email", m))?;
    let password = Password::parse(body.password).map_err(|m| invalid("password", m))?;
    // Counted before the password is hashed; a made account stays counted.
    let ip = common::client_ip::client_ip(&req, &auth.trusted_proxies);
    if let Err(retry_after_s) = auth.limiter.reserve(vec![Budget::signups(ip, auth.signups_per_hour)]).await?
    {
        tracing::warn!(?ip, "sign-up rate-limited");
        return Err(AuthError::SignupsRateLimited { retry_after_s });
    }
    let user = UserRecord {
        id: UserId::mint(),
        username: username.as_str().to_owned(),
        email: email.as_str().to_owned(),
        email_lower: email.lower(),
        password_hash: auth.passwords.hash(password.into_inner()).await?,
        created_at: DateTime::now(),
        roles: Vec::new(),
        suspended: false,
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
    tracing::info!(user_id = %user.id, "account created");
    let device = auth.devices.issue(&user.id).await?;
    let tokens = pair(&auth, &user, None, Some(device)).await?;
    Ok(Created(SignedUp { user: Profile::from(&user), tokens }))
}

#[utoipa::path(tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Tokens", body = TokenPair),
              (status = 401, description = "Wrong login or password"),
              (status = 403, description = "The account is suspended by the moderators"),
              (status = 429, description = "Too many failures for this login name, device or address (see Retry-After)")))]
#[post("/v1/auth/login")]
pub(crate) async fn login(
    req: HttpRequest,
    auth: web::Data<Auth>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenPair>, AuthError> {
    let body = body.into_inner();
    let ip = common::client_ip::client_ip(&req, &auth.trusted_proxies);
    let user = auth.users.find_by_login(&body.login).await?;
    let device = match (&body.device_token, &user) {
        (Some(token), Some(user)) => auth.devices.recognise(token, &user.id).await?,
        _ => None,
    };
    let budget = device.as_ref().map_or_else(|| Budget::login(&body.login), |d| Budget::device(&d.digest));
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
    if user.suspended {
        // The password was right: saying so is no help to a guesser.
        return Err(AuthError::Suspended);
    }
    if let Some(hash) = rehash {
        auth.users.set_password_hash(&user.id, &hash).await?;
        tracing::info!(user_id = %user.id, "password rehashed with current parameters");
    }
    auth.limiter.succeeded(reservation, &budget).await?;
    let device_token = match device {
        Some(device) => device.token,
        None => auth.devices.issue(&user.id).await?,
    };
    Ok(web::Json(pair(&auth, &user, None, Some(device_token)).await?))
}

#[utoipa::path(tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "New tokens; the refresh token given is used up", body = TokenPair),
              (status = 401, description = "Unknown, expired, used or revoked refresh token"),
              (status = 403, description = "The account is suspended by the moderators")))]
#[post("/v1/auth/refresh")]
pub(crate) async fn refresh(
    auth: web::Data<Auth>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenPair>, AuthError> {
    match auth.refresh.consume(&body.refresh_token).await? {
        Ok((user_id, family)) => {
            // Roles are read again, so a granted or revoked role shows from the next refresh.
            let user = auth.users.find(&user_id).await?.ok_or(AuthError::BadRefreshToken)?;
            if user.suspended {
                return Err(AuthError::Suspended);
            }
            Ok(web::Json(pair(&auth, &user, Some(family), None).await?))
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

#[utoipa::path(tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Every refresh token of this sign-in is revoked"),
              (status = 401, description = "Unknown refresh token")))]
#[post("/v1/auth/logout")]
pub(crate) async fn logout(
    auth: web::Data<Auth>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    if !auth.refresh.revoke_family_of(&body.refresh_token).await? {
        return Err(AuthError::BadRefreshToken);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Your account", body = Profile), (status = 403, description = "The account is suspended"),
              (status = 404, description = "The account is gone")))]
#[get("/v1/users/me")]
pub(crate) async fn me(user: AuthUser, auth: web::Data<Auth>) -> Result<web::Json<Profile>, AuthError> {
    let record = auth.users.find(&user.user_id).await?.ok_or(AuthError::NotFound)?;
    if record.suspended {
        return Err(AuthError::Suspended);
    }
    Ok(web::Json(Profile::from(&record)))
}

#[utoipa::path(tag = "auth",
    responses((status = 200, description = "The public keys access tokens are signed with (RFC 7517)", body = KeySet)))]
#[get("/.well-known/jwks.json")]
pub(crate) async fn jwks(keys: web::Data<Jwks>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("cache-control", "public, max-age=300")).json(&keys.0)
}
