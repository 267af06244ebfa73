//! auth's public API: every route, registered and documented from this one list (each
//! handler's method and path are written once, on the handler).

use crate::routes;

common::public_api! {
    tags((name = "auth", description = "Accounts and tokens")),
    routes::signup,
    routes::login,
    routes::refresh,
    routes::logout,
    routes::me,
    routes::jwks,
}
