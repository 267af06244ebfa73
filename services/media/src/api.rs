//! media's public API: every route, registered and documented from this one list (each
//! handler's method and path are written once, on the handler).

use crate::routes;

common::public_api! {
    tags((name = "media", description = "Photo uploads")),
    routes::upload,
    routes::start_upload,
    routes::complete,
    routes::get_own,
    routes::delete_own,
    routes::trace,
}
