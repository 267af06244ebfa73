//! Request and answer bodies of blocks, mutes, reports, the moderation
//! queue and the audit log.

use common::ids::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::safety::audit::AuditRecord;
use crate::safety::reports::{Group, Reason, ReportRecord, ReportState};
use crate::safety::{Action, AuditId, NamedTarget, ReportId, Target};

fn rfc3339(at: mongodb::bson::DateTime) -> String {
    at.try_to_rfc3339_string().unwrap_or_default()
}

/// `POST /v1/reports`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub(crate) target: NamedTarget,
    pub(crate) reason: Reason,
    /// What the moderators should know (at most 1,000 characters).
    #[serde(default)]
    pub(crate) text: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    #[schema(value_type = String)]
    pub id: ReportId,
    pub target: Target,
    pub reason: Reason,
    pub text: Option<String>,
    /// `open`, `dismissed` or `actioned`.
    pub state: ReportState,
    /// RFC 3339.
    pub created_at: String,
}

impl From<ReportRecord> for ReportView {
    fn from(record: ReportRecord) -> Self {
        Self {
            id: record.id,
            target: record.target,
            reason: record.reason,
            text: record.text,
            state: record.state,
            created_at: rfc3339(record.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
}

/// Open reports of one target.
#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    pub target: Target,
    /// Whose post, comment or account it is.
    pub owner_id: UserId,
    pub reports: usize,
    pub reasons: Vec<Reason>,
    /// The oldest open report's time (RFC 3339): the queue's order.
    pub oldest: String,
}

impl From<Group> for QueueItem {
    fn from(group: Group) -> Self {
        Self {
            target: group.target,
            owner_id: group.owner_id,
            reports: group.count,
            reasons: group.reasons,
            oldest: rfc3339(group.oldest),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Queue {
    pub items: Vec<QueueItem>,
}

/// `POST /v1/moderation/actions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub(crate) target: NamedTarget,
    pub(crate) action: Action,
    /// Why (1 to 500 characters): kept in the audit log and told to the owner.
    pub(crate) reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionOutcome {
    #[schema(value_type = String)]
    pub audit_id: AuditId,
    pub action: Action,
    pub target: Target,
    pub owner_id: UserId,
    /// Open reports of the target this closed.
    pub reports_resolved: usize,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    #[schema(value_type = String)]
    pub id: AuditId,
    /// Who acted (none: an operator outside the API, named in `operator`).
    pub actor_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub action: Action,
    pub target: Target,
    pub owner_id: UserId,
    pub reason: String,
    /// Whom it names besides the owner: the buyer a leak trace found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<UserId>,
    #[schema(value_type = Option<String>)]
    pub request_id: Option<common::request_id::RequestId>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<AuditRecord> for AuditEntry {
    fn from(record: AuditRecord) -> Self {
        Self {
            id: record.id,
            actor_id: record.actor_id,
            operator: record.operator,
            action: record.action,
            target: record.target,
            owner_id: record.owner_id,
            reason: record.reason,
            subject_id: record.subject_id,
            request_id: record.request_id,
            created_at: rfc3339(record.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}
