//! What the admin pages ask before a deletion — what it will do, counted the way the
//! deletion's cascades select their tickets — and the group list searched and paged.
//! Admins only, like the deletions themselves.

use ferrodesk_core::{GroupId, StatusId, UserId};
use ferrodesk_store::admin::{self as store, AgentCounts, GroupCounts};
use ferrodesk_store::directory as dir;

use crate::directory::group_out;
use crate::dto::GroupOut;
use crate::{App, AppError, Principal, Result};

/// What deleting a group will do.
#[derive(Debug, Clone)]
pub struct GroupDeleteImpact {
    /// The group's name.
    pub name: String,
    /// The counts.
    pub counts: GroupCounts,
}

/// What deleting a status will do.
#[derive(Debug, Clone)]
pub struct StatusDeleteImpact {
    /// The status's name.
    pub name: String,
    /// Built-in statuses cannot be deleted.
    pub built_in: bool,
    /// The status its tickets move to.
    pub moves_to: String,
    /// Tickets in the status.
    pub tickets: i64,
    /// Of those, the tickets whose internal group `moves_to` does not map: they lose their
    /// internal owner.
    pub lose_internal_owner: i64,
}

/// What deleting an agent will do.
#[derive(Debug, Clone)]
pub struct AgentDeleteImpact {
    /// Their name.
    pub name: String,
    /// The counts and their groups.
    pub counts: AgentCounts,
}

impl App {
    /// What deleting group `id` will do (admins).
    pub async fn group_delete_impact(
        &self,
        p: &Principal,
        id: GroupId,
    ) -> Result<GroupDeleteImpact> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let g = dir::get_group(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        Ok(GroupDeleteImpact {
            name: g.name,
            counts: store::group_counts(&mut c, id).await?,
        })
    }

    /// What deleting status `id` will do (admins): its tickets move to Open, and those whose
    /// internal group Open does not map lose their internal owner.
    pub async fn status_delete_impact(
        &self,
        p: &Principal,
        id: StatusId,
    ) -> Result<StatusDeleteImpact> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let statuses = dir::list_statuses(&mut c).await?;
        let s = statuses
            .iter()
            .find(|s| s.id == id)
            .ok_or(AppError::NotFound("status"))?;
        let open = statuses
            .iter()
            .find(|s| s.built_in && s.name == "Open")
            .ok_or_else(|| AppError::Internal("the built-in Open status is missing".into()))?;
        let (tickets, lose_internal_owner) =
            store::status_counts(&mut c, id, open.id, open.all_groups).await?;
        Ok(StatusDeleteImpact {
            name: s.name.clone(),
            built_in: s.built_in,
            moves_to: open.name.clone(),
            tickets,
            lose_internal_owner,
        })
    }

    /// What deleting agent `id` will do (admins); refused as the deletion would be (oneself,
    /// end users).
    pub async fn agent_delete_impact(
        &self,
        p: &Principal,
        id: UserId,
    ) -> Result<AgentDeleteImpact> {
        let mut c = self.store().read().await?;
        let u = crate::directory::agent_to_delete(&mut c, p, id).await?;
        Ok(AgentDeleteImpact {
            name: u.name,
            counts: store::agent_counts(&mut c, id).await?,
        })
    }

    /// The names of the organizations with these ids, by id (staff: the admin lists name
    /// every organization a user is in, not only the first page's).
    pub async fn organization_names(
        &self,
        p: &Principal,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>> {
        p.require_staff()?;
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut c = self.store().read().await?;
        Ok(dir::names(&mut c, dir::Named::Organizations, &ids)
            .await?
            .into_iter()
            .collect())
    }

    /// Groups whose name contains `q` (case-insensitive), by name: `limit` (at most 100)
    /// from `offset`, and whether more follow (admins).
    pub async fn search_groups(
        &self,
        p: &Principal,
        q: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<GroupOut>, bool)> {
        p.require_admin()?;
        let limit = limit.clamp(1, 100);
        let mut c = self.store().read().await?;
        let mut groups = store::search_groups(&mut c, q, offset.max(0), limit + 1).await?;
        let more = groups.len() as i64 > limit;
        groups.truncate(limit as usize);
        Ok((groups.into_iter().map(group_out).collect(), more))
    }
}
