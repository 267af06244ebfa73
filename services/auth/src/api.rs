//! auth's public API: the routes it serves and their OpenAPI description.

use common::openapi::Conventions;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::routes::{self, Profile, TokenPair};

common::public_routes! {
    post "/v1/auth/signup" => routes::signup,
    post "/v1/auth/login" => routes::login,
    post "/v1/auth/refresh" => routes::refresh,
    post "/v1/auth/logout" => routes::logout,
    get "/v1/users/me" => routes::me,
    get "/.well-known/jwks.json" => routes::jwks,
}

#[derive(OpenApi)]
#[openapi(
    paths(routes::signup, routes::login, routes::refresh, routes::logout, routes::me, routes::jwks),
    tags((name = "auth", description = "Accounts and tokens")),
    modifiers(&Conventions),
)]
pub struct ApiDoc;

#[derive(Serialize, ToSchema)]
pub struct SignedUp {
    pub(crate) user: Profile,
    pub(crate) tokens: TokenPair,
}

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
pub struct KeySet {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}
