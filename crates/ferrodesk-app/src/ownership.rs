//! Shared ownership (SPEC §4) when the directory changes: the cascades that keep a ticket's
//! owners valid when a group is deleted, an agent leaves a group or is deleted, or an end
//! user leaves an organization — each ticket rewritten through the ticket write pipeline
//! (`ticket_write`), audited with its reason, and the internal agent who lost it notified.
//! Never silent. The invariants themselves are checked in `ticket_write`.

use ferrodesk_core::{GroupId, OrganizationId, StatusCategory, UserId};
use ferrodesk_store::Conn;
use ferrodesk_store::tickets::{self as store, TicketRef};

use crate::{Actor, App, Result};

impl App {
    /// A group is being deleted: its tickets lose it as group or internal group.
    pub(crate) async fn cascade_group_deleted(
        &self,
        c: &mut Conn,
        actor: Actor,
        g: GroupId,
    ) -> Result<()> {
        let w = self.ticket_write(c).await?;
        for id in store::ticket_ids_where(c, TicketRef::Group, g.0).await? {
            w.rewrite(c, actor, id, "group_deleted", |t| t.group_id = None)
                .await?;
        }
        for id in store::ticket_ids_where(c, TicketRef::InternalGroup, g.0).await? {
            w.rewrite(c, actor, id, "group_deleted", |t| {
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
        let w = self.ticket_write(c).await?;
        for id in store::ticket_ids_where(c, TicketRef::InternalAgent, agent.0).await? {
            w.rewrite(c, actor, id, "agent_left_group", |t| {
                if t.internal_group_id == Some(g) {
                    t.internal_agent_id = None;
                }
            })
            .await?;
        }
        for id in store::ticket_ids_where(c, TicketRef::Assignee, agent.0).await? {
            w.rewrite(c, actor, id, "agent_left_group", |t| {
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
        let w = self.ticket_write(c).await?;
        for id in store::ticket_ids_where(c, TicketRef::InternalAgent, agent.0).await? {
            w.rewrite(c, actor, id, "agent_deleted", |t| {
                t.internal_agent_id = None
            })
            .await?;
        }
        for id in store::ticket_ids_where(c, TicketRef::Assignee, agent.0).await? {
            w.rewrite(c, actor, id, "agent_deleted", |t| t.assignee_id = None)
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
        let w = self.ticket_write(c).await?;
        for id in store::ticket_ids_where(c, TicketRef::Requester, user.0).await? {
            w.rewrite(c, actor, id, "member_removed", |t| {
                let closed = w
                    .status(t.status_id)
                    .is_ok_and(|s| s.category == StatusCategory::Closed);
                if t.organization_id == Some(org) && !closed {
                    t.organization_id = None;
                }
            })
            .await?;
        }
        Ok(())
    }
}
