//! Trust and safety: blocks and mutes between users (`relations`), reports
//! (`reports`), moderators' actions on them (`moderation`) with the
//! append-only audit log (`audit`), and each user's standing — warned,
//! limited, suspended (`standing`).

pub mod audit;
pub mod moderation;
pub mod relations;
pub mod reports;
pub mod routes;
pub mod standing;
pub mod types;
pub mod visibility;

use common::ids::{CommentId, MediaId, PostId, UserId};
use common::suspensions::Suspensions;
use mongodb::Database;
use serde::{Deserialize, Serialize};

use crate::money::stored::stored_enum;

stored_enum! {
    /// What a moderator does to a target ([`moderation`] says what each means).
    #[derive(utoipa::ToSchema)]
    pub enum Action {
        Dismiss,
        Remove,
        Warn,
        Limit,
        Unlimit,
        Suspend,
        Unsuspend,
        /// A leak trace of a photo (recorded from media; never a moderator's action here).
        Trace,
    }
}

/// What trust and safety keeps.
pub struct Safety {
    pub relations: relations::Relations,
    pub reports: reports::Reports,
    pub audit: audit::AuditLog,
    pub standing: standing::Standings,
}

impl Safety {
    pub async fn new(db: &Database, suspended: Suspensions) -> anyhow::Result<Self> {
        Ok(Self {
            relations: relations::Relations::new(db).await?,
            reports: reports::Reports::new(db).await?,
            audit: audit::AuditLog::new(db).await?,
            standing: standing::Standings::new(db, suspended),
        })
    }
}

common::uuid_id!(
    /// A user's report of a post, a comment or a user.
    ReportId,
    "report id"
);
common::uuid_id!(
    /// One entry of the moderators' audit log.
    AuditId,
    "audit entry id"
);

/// What a report or a moderator's action is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    #[schema(value_type = String)]
    Post(PostId),
    #[schema(value_type = String)]
    Comment(CommentId),
    #[schema(value_type = String)]
    User(UserId),
    /// A photo (media id): what a leak trace is about.
    #[schema(value_type = String)]
    Photo(MediaId),
}

impl Target {
    /// `{kind}:{id}`: what records about one target share.
    pub fn key(&self) -> String {
        match self {
            Target::Post(id) => format!("post:{id}"),
            Target::Comment(id) => format!("comment:{id}"),
            Target::User(id) => format!("user:{id}"),
            Target::Photo(id) => format!("photo:{id}"),
        }
    }
}

/// A target as a client names it: `{"kind": "post", "id": "…"}`, a user
/// by username; each id parsed by its kind as the body is read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum NamedTarget {
    #[schema(value_type = String)]
    Post(PostId),
    #[schema(value_type = String)]
    Comment(CommentId),
    /// A username.
    #[schema(value_type = String)]
    User(common::ids::Username),
}

#[cfg(test)]
mod tests {
    use common::stored::stored_as_queried;

    use super::Action;
    use super::reports::{Reason, ReportState};

    #[test]
    fn queries_name_reasons_states_and_actions_as_they_are_stored() {
        assert!(stored_as_queried::<Reason>(), "Reason");
        assert!(stored_as_queried::<ReportState>(), "ReportState");
        assert!(stored_as_queried::<Action>(), "Action");
        assert!(stored_as_queried::<super::relations::Kind>(), "Kind");
    }

    #[test]
    fn a_target_is_named_by_its_kind_and_id() {
        let post = common::ids::PostId::mint();
        let target = super::Target::Post(post.clone());
        assert_eq!(target.key(), format!("post:{post}"));
        let wire = serde_json::to_value(&target).unwrap();
        assert_eq!(wire, serde_json::json!({ "kind": "post", "id": post.to_string() }));
    }
}
