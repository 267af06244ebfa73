//! What a viewer holds towards the posts they look at — purchases,
//! subscriptions, follows — read in one query each for a whole page, and
//! the access each post gives them.

use std::collections::HashSet;

use common::ids::{PostId, UserId};

use crate::error::PostError;
use crate::posts::store::{Audience, PostRecord};
use crate::posts::views::{Access, Standing};
use crate::service::Service;

/// `viewer`'s access to each of `posts`, in order.
pub async fn access_to(
    service: &Service,
    viewer: Option<&UserId>,
    posts: &[PostRecord],
) -> Result<Vec<Access>, PostError> {
    let Some(viewer) = viewer else {
        return Ok(posts.iter().map(|post| Access::of(post, None, Standing::default())).collect());
    };
    let others: Vec<&PostRecord> = posts.iter().filter(|post| post.author_id != *viewer).collect();
    let ids: Vec<&PostId> = others.iter().map(|post| &post.id).collect();
    let mut bought = match ids.is_empty() {
        true => Default::default(),
        false => service.money.purchases.bought(viewer, &ids).await?,
    };
    let authors_with = |wanted: fn(&Audience) -> bool| -> Vec<&UserId> {
        let authors: HashSet<&UserId> =
            others.iter().filter(|post| wanted(&post.audience)).map(|post| &post.author_id).collect();
        authors.into_iter().collect()
    };
    let restricted = authors_with(|audience| *audience != Audience::Anyone);
    let subscriptions = match restricted.is_empty() {
        true => Default::default(),
        false => service.money.subscriptions.opening(viewer, &restricted).await?,
    };
    let for_followers = authors_with(|audience| *audience == Audience::Followers);
    let follows = match for_followers.is_empty() {
        true => HashSet::new(),
        false => service.social.following_among(viewer, &for_followers).await?,
    };
    Ok(posts
        .iter()
        .map(|post| {
            let standing = Standing {
                purchase: bought.remove(&post.id),
                subscription: subscriptions.get(&post.author_id).map(|s| (s.id.clone(), s.rank)),
                follows: follows.contains(&post.author_id),
            };
            Access::of(post, Some(viewer), standing)
        })
        .collect())
}
