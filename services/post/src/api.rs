//! post's public API: every route, registered and documented from this one list.

use crate::money::{self, webhook};
use crate::posts;
use crate::social;

common::public_api! {
    tags((name = "posts", description = "Posts, who sees which photo, purchases"),
         (name = "social", description = "Follows, feed, likes, comments"),
         (name = "wallet", description = "Balance, ledger, top-ups")),
    post "/v1/posts" => posts::routes::create,
    get "/v1/posts/{id}" => posts::routes::get,
    delete "/v1/posts/{id}" => posts::routes::delete,
    post "/v1/posts/{id}/purchase" => money::routes::purchase,
    get "/v1/wallet" => money::routes::wallet,
    post "/v1/wallet/dev-topup" => money::routes::dev_topup,
    post "/v1/payments/webhook" => webhook::receive,
    post "/v1/users/{username}/follow" => social::routes::follow,
    delete "/v1/users/{username}/follow" => social::routes::unfollow,
    get "/v1/users/{username}/followers" => social::routes::followers,
    get "/v1/users/{username}/following" => social::routes::following,
    get "/v1/users/{username}/posts" => social::routes::profile,
    get "/v1/feed" => social::routes::feed,
    post "/v1/posts/{id}/like" => social::routes::like,
    delete "/v1/posts/{id}/like" => social::routes::unlike,
    get "/v1/posts/{id}/comments" => social::routes::comments,
    post "/v1/posts/{id}/comments" => social::routes::add_comment,
    delete "/v1/posts/{id}/comments/{comment_id}" => social::routes::delete_comment,
}
