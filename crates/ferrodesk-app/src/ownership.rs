//! Shared ownership (SPEC §4): the invariants checked on every ticket write, and the
//! automatic removals that keep them true — each one audited with its reason and the
//! internal agent who lost the ticket notified. Never silent.

use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_core::{GroupId, OrganizationId, Role, StatusCategory, UserId};
use ferrodesk_store::Conn;
use ferrodesk_store::directory::{self as dir, Status};
use ferrodesk_store::tickets::{self as store, Ticket, TicketRef};

use crate::{Actor, App, AppError, Result};

/// What the write asked for explicitly, which automatic removal must not undo.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Explicit {
    /// The internal group was set in this write.
    pub internal_group: bool,
    /// The internal agent was set in this write.
    pub internal_agent: bool,
}

/// Finds a status by id.
pub(crate) fn status_of(statuses: &[Status], id: ferrodesk_core::StatusId) -> Result<&Status> {
    statuses
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| AppError::Internal(format!("ticket refers to unknown status {id}")))
}

/// One of the four built-in statuses, by name (`Open`, `Pending`, `Resolved`, `Closed`).
pub(crate) fn built_in<'a>(statuses: &'a [Status], name: &str) -> Result<&'a Status> {
    statuses
        .iter()
        .find(|s| s.built_in && s.name == name)
        .ok_or_else(|| AppError::Internal(format!("the built-in {name} status is missing")))
}

/// Applies the automatic removal a status change calls for, then checks every invariant
/// of `after`. Returns the reason when shared ownership was removed.
pub(crate) async fn enforce(
    c: &mut Conn,
    statuses: &[Status],
    before: Option<&Ticket>,
    after: &mut Ticket,
    explicit: Explicit,
    problems: &mut Problems,
) -> Result<Option<&'static str>> {
    let status = status_of(statuses, after.status_id)?;
    let mut removed = None;
    if let Some(b) = before
        && b.status_id != after.status_id
        && !explicit.internal_group
        && after.internal_group_id.is_some_and(|g| !status.maps(g))
    {
        after.internal_group_id = None;
        if !explicit.internal_agent {
            after.internal_agent_id = None;
        }
        removed = Some("status_changed");
    }
    if let Some(g) = after.internal_group_id
        && !status.maps(g)
    {
        let groups = dir::list_groups(c, None).await?;
        let mapped: Vec<String> = if status.all_groups {
            vec!["all groups".into()]
        } else {
            groups
                .iter()
                .filter(|gr| status.internal_group_ids.contains(&gr.id))
                .map(|gr| format!("{} ({})", gr.name, gr.id))
                .collect()
        };
        let known = groups.iter().any(|gr| gr.id == g);
        problems.push(FieldError::new(
            "internal_group_id",
            if known {
                "wrong_internal_group"
            } else {
                "not_found"
            },
            if !known {
                format!("group {g} does not exist")
            } else if mapped.is_empty() {
                format!(
                    "no group is mapped to status {}: it cannot have an internal group",
                    status.name
                )
            } else {
                format!(
                    "status {} allows these internal groups: {}",
                    status.name,
                    mapped.join(", ")
                )
            },
        ));
    }
    if let Some(agent) = after.internal_agent_id {
        match after.internal_group_id {
            None => problems.push(FieldError::new(
                "internal_agent_id",
                "wrong_internal_agent",
                "an internal agent requires an internal group",
            )),
            Some(g) => {
                if !dir::is_group_member(c, g, agent).await? {
                    problems.push(FieldError::new(
                        "internal_agent_id",
                        "wrong_internal_agent",
                        format!("user {agent} is not a member of the internal group {g}"),
                    ));
                }
            }
        }
    }
    if let Some(a) = after.assignee_id {
        match after.group_id {
            Some(g) => {
                if !dir::is_group_member(c, g, a).await? {
                    problems.push(FieldError::new(
                        "assignee_id",
                        "wrong_assignee",
                        format!("user {a} is not a member of group {g}"),
                    ));
                }
            }
            None => {
                let mut p = Problems::default();
                crate::directory::check_staff(c, "assignee_id", &[a.0], &mut p).await?;
                for mut e in p.0 {
                    e.field = "assignee_id".into();
                    problems.push(e);
                }
            }
        }
    }
    if let Some(g) = after.group_id
        && before.is_none_or(|b| b.group_id != Some(g))
        && dir::get_group(c, g).await?.is_none()
    {
        problems.push(FieldError::new(
            "group_id",
            "not_found",
            format!("group {g} does not exist"),
        ));
    }
    Ok(removed)
}

impl App {
    /// Rewrites one ticket for a cascade, audited with `reason`.
    async fn cascade_one(
        &self,
        c: &mut Conn,
        actor: Actor,
        id: ferrodesk_core::TicketId,
        reason: &str,
        change: impl FnOnce(&mut Ticket),
    ) -> Result<()> {
        let Some(before) = store::get_ticket(c, id).await? else {
            return Ok(());
        };
        let mut after = before.clone();
        change(&mut after);
        self.save_ticket(c, actor, &before, &mut after, Some(reason.to_owned()))
            .await
    }

    /// A group is being deleted: its tickets lose it as group or internal group.
    pub(crate) async fn cascade_group_deleted(
        &self,
        c: &mut Conn,
        actor: Actor,
        g: GroupId,
    ) -> Result<()> {
        for id in store::ticket_ids_where(c, TicketRef::Group, g.0).await? {
            self.cascade_one(c, actor, id, "group_deleted", |t| t.group_id = None)
                .await?;
        }
        for id in store::ticket_ids_where(c, TicketRef::InternalGroup, g.0).await? {
            self.cascade_one(c, actor, id, "group_deleted", |t| {
                t.internal_group_id = None;
                t.internal_agent_id = None;
            })
            .await?;
        }
        Ok(())
    }

    /// An agent left group `g`: where they were internal agent for `g`, or assignee in `g`,
    /// they are removed.
    pub(crate) async fn cascade_agent_left_group(
        &self,
        c: &mut Conn,
        actor: Actor,
        g: GroupId,
        agent: UserId,
    ) -> Result<()> {
        for id in store::ticket_ids_where(c, TicketRef::InternalAgent, agent.0).await? {
            self.cascade_one(c, actor, id, "agent_left_group", |t| {
                if t.internal_group_id == Some(g) {
                    t.internal_agent_id = None;
                }
            })
            .await?;
        }
        for id in store::ticket_ids_where(c, TicketRef::Assignee, agent.0).await? {
            self.cascade_one(c, actor, id, "agent_left_group", |t| {
                if t.group_id == Some(g) {
                    t.assignee_id = None;
                }
            })
            .await?;
        }
        Ok(())
    }

    /// An agent is deleted: they leave every ticket they own, as assignee or internal agent
    /// (reason `agent_deleted`).
    pub(crate) async fn cascade_agent_deleted(
        &self,
        c: &mut Conn,
        actor: Actor,
        agent: UserId,
    ) -> Result<()> {
        for id in store::ticket_ids_where(c, TicketRef::InternalAgent, agent.0).await? {
            self.cascade_one(c, actor, id, "agent_deleted", |t| {
                t.internal_agent_id = None
            })
            .await?;
        }
        for id in store::ticket_ids_where(c, TicketRef::Assignee, agent.0).await? {
            self.cascade_one(c, actor, id, "agent_deleted", |t| t.assignee_id = None)
                .await?;
        }
        Ok(())
    }

    /// An end user left organization `org`: their non-closed tickets in it lose it.
    pub(crate) async fn detach_tickets_from_organization(
        &self,
        c: &mut Conn,
        actor: Actor,
        org: OrganizationId,
        user: UserId,
    ) -> Result<()> {
        let statuses = dir::list_statuses(c).await?;
        for id in store::ticket_ids_where(c, TicketRef::Requester, user.0).await? {
            let Some(t) = store::get_ticket(c, id).await? else {
                continue;
            };
            let closed = status_of(&statuses, t.status_id)?.category == StatusCategory::Closed;
            if t.organization_id == Some(org) && !closed {
                self.cascade_one(c, actor, id, "member_removed", |t| t.organization_id = None)
                    .await?;
            }
        }
        Ok(())
    }

    /// Queues the notice to an internal agent who lost a ticket.
    pub(crate) async fn notify_internal_owner_removed(
        &self,
        c: &mut Conn,
        before: &Ticket,
        reason: &str,
    ) -> Result<()> {
        let Some(agent) = before.internal_agent_id else {
            return Ok(());
        };
        let role = dir::user_roles(c, &[agent.0]).await?;
        if role.first().is_some_and(|(_, r)| *r != Role::EndUser) {
            ferrodesk_store::jobs::enqueue_job(
                c,
                "notify",
                &serde_json::json!({
                    "template": "internal_owner_removed",
                    "user_id": agent.0,
                    "ticket_id": before.id.0,
                    "internal_group_id": before.internal_group_id.map(|g| g.0),
                    "reason": reason,
                }),
                self.now(),
            )
            .await?;
        }
        Ok(())
    }
}
