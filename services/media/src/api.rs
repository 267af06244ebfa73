//! media's public API: every route, registered and documented from this one list.

use crate::routes;

common::public_api! {
    tags((name = "media", description = "Photo uploads")),
    post "/v1/media" => routes::upload,
    post "/v1/media/uploads" => routes::start_upload,
    post "/v1/media/{id}/complete" => routes::complete,
    get "/v1/media/{id}" => routes::get_own,
    delete "/v1/media/{id}" => routes::delete_own,
    post "/v1/media/{id}/trace" => routes::trace,
}
