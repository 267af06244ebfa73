//! post's public API: the routes it serves and their OpenAPI description.
//! The response shapes below document what the handlers write.

use common::openapi::Conventions;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

common::public_routes! {
    post "/v1/posts" => crate::routes::create,
    get "/v1/posts/{id}" => crate::routes::get,
    delete "/v1/posts/{id}" => crate::routes::delete,
    post "/v1/posts/{id}/purchase" => crate::routes::purchase,
    get "/v1/wallet" => crate::routes::wallet,
    post "/v1/wallet/dev-topup" => crate::routes::dev_topup,
    post "/v1/payments/webhook" => crate::webhook::receive,
    post "/v1/users/{username}/follow" => crate::social_routes::follow,
    delete "/v1/users/{username}/follow" => crate::social_routes::unfollow,
    get "/v1/users/{username}/followers" => crate::social_routes::followers,
    get "/v1/users/{username}/following" => crate::social_routes::following,
    get "/v1/users/{username}/posts" => crate::social_routes::profile,
    get "/v1/feed" => crate::social_routes::feed,
    post "/v1/posts/{id}/like" => crate::social_routes::like,
    delete "/v1/posts/{id}/like" => crate::social_routes::unlike,
    get "/v1/posts/{id}/comments" => crate::social_routes::comments,
    post "/v1/posts/{id}/comments" => crate::social_routes::add_comment,
    delete "/v1/posts/{id}/comments/{comment_id}" => crate::social_routes::delete_comment,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::routes::create, crate::routes::get, crate::routes::delete, crate::routes::purchase,
        crate::routes::wallet, crate::routes::dev_topup, crate::webhook::receive,
        crate::social_routes::follow, crate::social_routes::unfollow, crate::social_routes::followers,
        crate::social_routes::following, crate::social_routes::profile, crate::social_routes::feed,
        crate::social_routes::like, crate::social_routes::unlike, crate::social_routes::comments,
        crate::social_routes::add_comment, crate::social_routes::delete_comment,
    ),
    tags((name = "posts", description = "Posts, who sees which photo, purchases"),
         (name = "social", description = "Follows, feed, likes, comments"),
         (name = "wallet", description = "Balance, ledger, top-ups")),
    modifiers(&Conventions),
)]
pub struct ApiDoc;

/// A photo as this viewer may see it: signed URLs when entitled, else locked
/// with its blurred preview; `unavailable` once taken down or deleted.
#[derive(Serialize, ToSchema)]
pub struct PhotoView {
    pub media_id: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub blurhash: Option<String>,
    /// The public blurred preview.
    pub preview_url: Option<String>,
    pub locked: Option<bool>,
    /// Set when locked.
    pub price_cents: Option<u64>,
    /// CloudFront signed URLs, when entitled; `null` with `error` when they cannot be made now.
    pub url: Option<String>,
    pub thumb_url: Option<String>,
    /// Epoch seconds.
    pub expires_at: Option<u64>,
    pub error: Option<String>,
    pub unavailable: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct UserRef {
    pub id: String,
    pub username: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PostView {
    pub id: String,
    pub author_id: String,
    /// In pages (feed, profile).
    pub author: Option<UserRef>,
    pub caption: String,
    pub price_cents: u64,
    pub deleted: bool,
    pub like_count: i64,
    pub comment_count: i64,
    /// RFC 3339.
    pub created_at: String,
    pub photos: Vec<PhotoView>,
}

#[derive(Serialize, ToSchema)]
pub struct PostPage {
    pub items: Vec<PostView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserRef>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub author_id: String,
    pub text: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<CommentView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PurchaseView {
    pub post_id: String,
    pub price_cents: u64,
    pub purchased_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerLine {
    /// Positive in, negative out.
    pub amount_cents: i64,
    /// `topup`, `purchase`, `sale`, `fee`.
    pub kind: String,
    pub reference: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WalletView {
    pub balance_cents: i64,
    /// The 20 newest entries.
    pub ledger: Vec<LedgerLine>,
}

#[derive(Serialize, ToSchema)]
pub struct Balance {
    pub balance_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOutcome {
    /// `applied`, `duplicate` (an event seen before) or `ignored` (another type).
    pub status: String,
}
