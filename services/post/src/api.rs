//! post's public API: every route, registered and documented from this one list.

use crate::money::routes::{admin, earnings, purchases, wallet};
use crate::money::webhook;
use crate::posts;
use crate::social;

common::public_api! {
    tags((name = "posts", description = "Posts, who sees which photo, purchases"),
         (name = "social", description = "Follows, feed, likes, comments"),
         (name = "wallet", description = "Balance, ledger, top-ups, purchases and refunds"),
         (name = "earnings", description = "Creators' earnings and payouts"),
         (name = "admin", description = "The books, outflows waiting for an operator, creators' verification")),
    post "/v1/posts" => posts::routes::create,
    get "/v1/posts/{id}" => posts::routes::get,
    delete "/v1/posts/{id}" => posts::routes::delete,
    post "/v1/posts/{id}/purchase" => purchases::purchase,
    get "/v1/purchases" => purchases::list,
    post "/v1/purchases/{id}/refund" => purchases::refund,
    get "/v1/wallet" => wallet::wallet,
    post "/v1/wallet/dev-topup" => wallet::dev_topup,
    post "/v1/wallet/topups" => wallet::start_topup,
    get "/v1/wallet/topups" => wallet::topups,
    post "/v1/wallet/topups/{id}/refund" => wallet::refund_topup,
    get "/v1/earnings" => earnings::earnings,
    post "/v1/earnings/payouts" => earnings::pay_out,
    post "/v1/earnings/transfers" => earnings::move_to_wallet,
    get "/v1/admin/reconciliation" => admin::reconciliation,
    get "/v1/admin/outflows" => admin::review_queue,
    post "/v1/admin/outflows/{id}/resolution" => admin::resolve,
    put "/v1/admin/creators/{id}/verification" => admin::verify_creator,
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
