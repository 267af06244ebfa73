//! Follows' and comments' request and answer bodies.

use common::ids::{CommentId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::posts::types::UserRef;

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserRef>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: CommentId,
    pub author_id: UserId,
    pub text: String,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<CommentView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    #[schema(min_length = 1, max_length = 1000)]
    pub(crate) text: String,
}
