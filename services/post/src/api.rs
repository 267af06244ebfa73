//! post's public API: every route, registered and documented from this one list (each
//! handler's method and path are written once, on the handler).

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
    posts::routes::create,
    posts::routes::get,
    posts::routes::delete,
    purchases::purchase,
    purchases::list,
    purchases::refund,
    wallet::wallet,
    wallet::dev_topup,
    wallet::start_topup,
    wallet::topups,
    wallet::refund_topup,
    earnings::earnings,
    earnings::pay_out,
    earnings::move_to_wallet,
    admin::reconciliation,
    admin::review_queue,
    admin::resolve,
    admin::verify_creator,
    webhook::receive,
    social::routes::follow,
    social::routes::unfollow,
    social::routes::followers,
    social::routes::following,
    social::routes::profile,
    social::routes::feed,
    social::routes::like,
    social::routes::unlike,
    social::routes::comments,
    social::routes::add_comment,
    social::routes::delete_comment,
}
