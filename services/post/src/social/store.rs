//! Follows, likes and comments.

use common::ids::{CommentId, PostId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::notify::Event;
use crate::notify::outbox::Outbox;
use crate::pages::{self, Cursor, PAGE_SIZE};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Follow {
    /// `{follower}:{followee}`
    #[serde(rename = "_id")]
    pub key: String,
    pub follower_id: UserId,
    pub followee_id: UserId,
    pub created_at: DateTime,
    /// The follower muted the followee: their posts stay out of the
    /// follower's feed (kept on the follow, so the feed asks nothing more).
    #[serde(default)]
    pub muted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Like {
    /// `{user}:{post}`
    #[serde(rename = "_id")]
    pub key: String,
    pub post_id: PostId,
    pub user_id: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comment {
    #[serde(rename = "_id")]
    pub id: CommentId,
    pub post_id: PostId,
    pub author_id: UserId,
    pub text: String,
    pub created_at: DateTime,
}

/// Which side of the follow graph a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowSide {
    Followers,
    Following,
}

#[derive(Clone)]
pub struct Social {
    follows: Collection<Follow>,
    likes: Collection<Like>,
    comments: Collection<Comment>,
    outbox: Outbox,
}

impl Social {
    pub async fn new(db: &Database, outbox: Outbox) -> anyhow::Result<Self> {
        let follows = db.collection::<Follow>("follows");
        follows
            .create_indexes([
                IndexModel::builder().keys(doc! { "follower_id": 1, "created_at": -1, "_id": -1 }).build(),
                IndexModel::builder().keys(doc! { "followee_id": 1, "created_at": -1, "_id": -1 }).build(),
            ])
            .await?;
        let comments = db.collection::<Comment>("comments");
        comments
            .create_index(
                IndexModel::builder().keys(doc! { "post_id": 1, "created_at": -1, "_id": -1 }).build(),
            )
            .await?;
        Ok(Self { follows, likes: db.collection("likes"), comments, outbox })
    }

    /// Idempotent: following twice is following once (and told once).
    /// `muted`: the follower has muted the followee.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn follow(&self, follower: &UserId, followee: &UserId, muted: bool) -> Result<(), PostError> {
        let follow = Follow {
            key: format!("{follower}:{followee}"),
            follower_id: follower.clone(),
            followee_id: followee.clone(),
            created_at: DateTime::now(),
            muted,
        };
        let followed = Event::Followed { follower: follower.clone(), followee: followee.clone() };
        self.outbox.insert_with(&self.follows, &follow, [followed]).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unfollow(&self, follower: &UserId, followee: &UserId) -> anyhow::Result<()> {
        self.follows.delete_one(doc! { "_id": format!("{follower}:{followee}") }).await?;
        Ok(())
    }

    /// Which of `authors` `user` follows.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn following_among(
        &self,
        user: &UserId,
        authors: &[&UserId],
    ) -> anyhow::Result<std::collections::HashSet<UserId>> {
        let keys: Vec<String> = authors.iter().map(|author| format!("{user}:{author}")).collect();
        let follows: Vec<Follow> =
            self.follows.find(doc! { "_id": { "$in": keys } }).await?.try_collect().await?;
        Ok(follows.into_iter().map(|f| f.followee_id).collect())
    }

    /// Marks `follower`'s follow of `followee` (if any) muted or not.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_muted(&self, follower: &UserId, followee: &UserId, muted: bool) -> anyhow::Result<()> {
        let follow = doc! { "_id": format!("{follower}:{followee}") };
        self.follows.update_one(follow, doc! { "$set": { "muted": muted } }).await?;
        Ok(())
    }

    /// Everyone `user` follows and has not muted (the feed's authors).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn following_ids(&self, user: &UserId) -> anyhow::Result<Vec<UserId>> {
        let unmuted = doc! { "follower_id": user, "muted": { "$ne": true } };
        let follows: Vec<Follow> = self.follows.find(unmuted).await?.try_collect().await?;
        Ok(follows.into_iter().map(|f| f.followee_id).collect())
    }

    /// Everyone who follows `user`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn follower_ids(&self, user: &UserId) -> anyhow::Result<Vec<UserId>> {
        let follows: Vec<Follow> =
            self.follows.find(doc! { "followee_id": user }).await?.try_collect().await?;
        Ok(follows.into_iter().map(|f| f.follower_id).collect())
    }

    /// A page of `user`'s followers, or of those `user` follows.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page(
        &self,
        side: FollowSide,
        user: &UserId,
        cursor: Option<&Cursor>,
    ) -> anyhow::Result<Vec<Follow>> {
        let field = match side {
            FollowSide::Followers => "followee_id",
            FollowSide::Following => "follower_id",
        };
        let filter = Cursor::after(cursor, doc! { field: user });
        Ok(self.follows.find(filter).sort(pages::sort()).limit(PAGE_SIZE + 1).await?.try_collect().await?)
    }

    /// True when this call added the like (so the count moves, and the
    /// post's author hears of it, exactly once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn like(&self, user: &UserId, post: &PostId, author: &UserId) -> Result<bool, PostError> {
        let like = Like { key: format!("{user}:{post}"), post_id: post.clone(), user_id: user.clone() };
        let liked = Event::Liked { author: author.clone(), post: post.clone(), liker: user.clone() };
        self.outbox.insert_with(&self.likes, &like, [liked]).await
    }

    /// Whether `user` likes `post`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn likes(&self, user: &UserId, post: &PostId) -> anyhow::Result<bool> {
        Ok(self.likes.find_one(doc! { "_id": format!("{user}:{post}") }).await?.is_some())
    }

    /// True when this call removed the like.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unlike(&self, user: &UserId, post: &PostId) -> anyhow::Result<bool> {
        Ok(self.likes.delete_one(doc! { "_id": format!("{user}:{post}") }).await?.deleted_count == 1)
    }

    /// Writes `comment` on a post of `author`'s, who hears of it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_comment(&self, comment: &Comment, author: &UserId) -> Result<(), PostError> {
        let commented = Event::Commented {
            author: author.clone(),
            post: comment.post_id.clone(),
            commenter: comment.author_id.clone(),
            comment: comment.id.clone(),
        };
        self.outbox.insert_with(&self.comments, comment, [commented]).await?;
        Ok(())
    }

    /// Comment `id` on post `post`, if there is one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn comment(&self, post: &PostId, id: &CommentId) -> anyhow::Result<Option<Comment>> {
        Ok(self.comments.find_one(doc! { "_id": id, "post_id": post }).await?)
    }

    /// Comment `id`, on whichever post.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn comment_by_id(&self, id: &CommentId) -> anyhow::Result<Option<Comment>> {
        Ok(self.comments.find_one(doc! { "_id": id }).await?)
    }

    /// True when this call deleted the comment (so the count moves exactly once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_comment(&self, post: &PostId, id: &CommentId) -> anyhow::Result<bool> {
        Ok(self.comments.delete_one(doc! { "_id": id, "post_id": post }).await?.deleted_count == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn comment_page(
        &self,
        post: &PostId,
        hidden: &std::collections::HashSet<UserId>,
        cursor: Option<&Cursor>,
    ) -> anyhow::Result<Vec<Comment>> {
        let mut filter = doc! { "post_id": post };
        if !hidden.is_empty() {
            let hidden: Vec<&UserId> = hidden.iter().collect();
            filter.insert("author_id", doc! { "$nin": hidden });
        }
        let filter = Cursor::after(cursor, filter);
        Ok(self.comments.find(filter).sort(pages::sort()).limit(PAGE_SIZE + 1).await?.try_collect().await?)
    }
}
