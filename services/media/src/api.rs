//! media's public API: the routes it serves and their OpenAPI description.

use std::collections::BTreeMap;

use common::openapi::Conventions;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::routes;

common::public_routes! {
    post "/v1/media" => routes::upload,
    post "/v1/media/uploads" => routes::start_upload,
    post "/v1/media/{id}/complete" => routes::complete,
    get "/v1/media/{id}" => routes::get_own,
    delete "/v1/media/{id}" => routes::delete_own,
}

#[derive(OpenApi)]
#[openapi(
    paths(routes::upload, routes::start_upload, routes::complete, routes::get_own, routes::delete_own),
    tags((name = "media", description = "Photo uploads")),
    modifiers(&Conventions),
)]
pub struct ApiDoc;

#[derive(ToSchema)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub content_type: String,
}

/// A media item as its uploader sees it (storage keys are never shown).
#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub id: String,
    /// `pending`, `ready`, `failed`, `taken_down` or `deleted`.
    pub status: String,
    pub failure: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub blurhash: Option<String>,
    /// `original`, `display`, `thumb`, `preview`.
    pub variants: BTreeMap<String, Variant>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DirectUpload {
    pub id: String,
    /// PUT the image here with the headers below.
    pub upload_url: String,
    /// `PUT`.
    pub method: String,
    #[schema(value_type = Object)]
    pub headers: serde_json::Value,
    pub expires_at: String,
}
