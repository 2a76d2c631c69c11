//! What the admin pages need beyond the directory's lists: how many tickets, members and
//! mappings a deletion touches (counted in SQL, as the cascades select them), and the group
//! list searched by name and paged.

use ferrodesk_core::{GroupId, StatusId, UserId};

use crate::directory::{Group, list_groups_in};
use crate::sql::Sql;
use crate::{Conn, Result};

/// What deleting a group touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Tickets whose group it is (they lose it; their assignee stays).
    pub tickets: i64,
    /// Tickets whose internal group it is (they lose their internal owner).
    pub internal_tickets: i64,
    /// Its members.
    pub members: i64,
    /// Statuses that map it by name (not those mapping all groups).
    pub statuses: i64,
}

/// Counts what deleting group `g` touches, in one statement.
pub async fn group_counts(c: &mut Conn, g: GroupId) -> Result<GroupCounts> {
    let (tickets, internal_tickets, members, statuses): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE group_id = $1), \
         (SELECT COUNT(*) FROM tickets WHERE internal_group_id = $1), \
         (SELECT COUNT(*) FROM group_members WHERE group_id = $1), \
         (SELECT COUNT(*) FROM status_groups WHERE group_id = $1)",
    )
    .bind(g.0)
    .fetch_one(c)
    .await?;
    Ok(GroupCounts {
        tickets,
        internal_tickets,
        members,
        statuses,
    })
}

/// Counts the tickets in status `s`, and those of them whose internal group the status
/// `to` does not map (`to_all_groups`: it maps every group), in one statement.
pub async fn status_counts(
    c: &mut Conn,
    s: StatusId,
    to: StatusId,
    to_all_groups: bool,
) -> Result<(i64, i64)> {
    if to_all_groups {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status_id = $1")
            .bind(s.0)
            .fetch_one(c)
            .await?;
        return Ok((n, 0));
    }
    let row: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE status_id = $1), \
         (SELECT COUNT(*) FROM tickets WHERE status_id = $1 AND internal_group_id IS NOT NULL \
          AND internal_group_id NOT IN (SELECT group_id FROM status_groups WHERE status_id = $2))",
    )
    .bind(s.0)
    .bind(to.0)
    .fetch_one(c)
    .await?;
    Ok(row)
}

/// What deleting an agent touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentCounts {
    /// Tickets they are assignee of.
    pub assigned: i64,
    /// Tickets they are internal agent of.
    pub internal: i64,
    /// Tickets they are one or both of.
    pub tickets: i64,
    /// Their API tokens.
    pub tokens: i64,
    /// The names of their groups, by name.
    pub groups: Vec<String>,
}

/// Counts what deleting agent `u` touches.
pub async fn agent_counts(c: &mut Conn, u: UserId) -> Result<AgentCounts> {
    let (assigned, internal, tickets, tokens): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE assignee_id = $1), \
         (SELECT COUNT(*) FROM tickets WHERE internal_agent_id = $1), \
         (SELECT COUNT(*) FROM tickets WHERE assignee_id = $1 OR internal_agent_id = $1), \
         (SELECT COUNT(*) FROM api_tokens WHERE user_id = $1)",
    )
    .bind(u.0)
    .fetch_one(&mut *c)
    .await?;
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT g.name FROM agent_groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = $1 ORDER BY g.name_lower",
    )
    .bind(u.0)
    .fetch_all(c)
    .await?;
    Ok(AgentCounts {
        assigned,
        internal,
        tickets,
        tokens,
        groups,
    })
}

/// Groups whose name contains `q` (case-insensitive; all when empty), by name, `limit`
/// from `offset`.
pub async fn search_groups(c: &mut Conn, q: &str, offset: i64, limit: i64) -> Result<Vec<Group>> {
    let mut s = Sql::new("SELECT id FROM agent_groups");
    if !q.trim().is_empty() {
        s.push(" WHERE name_lower LIKE ")
            .push_bind(crate::sql::contains_pattern(q.trim()))
            .push(" ESCAPE '\\'");
    }
    s.push(" ORDER BY name_lower, id LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset.max(0));
    let ids: Vec<i64> = s.query_scalar().fetch_all(&mut *c).await?;
    list_groups_in(c, &ids).await
}
