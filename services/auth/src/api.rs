//! auth's public API: every route, registered and documented from this one list.

use crate::routes;

common::public_api! {
    tags((name = "auth", description = "Accounts and tokens")),
    post "/v1/auth/signup" => routes::signup,
    post "/v1/auth/login" => routes::login,
    post "/v1/auth/refresh" => routes::refresh,
    post "/v1/auth/logout" => routes::logout,
    get "/v1/users/me" => routes::me,
    get "/.well-known/jwks.json" => routes::jwks,
}
