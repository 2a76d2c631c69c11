//! A ticket as stored, read from rows: the columns, the row type and the loading of each
//! ticket's CCs, tags and custom field values. Shared by the ticket writes, the lists, the
//! views and search, which depend on it and not on each other.

use std::collections::BTreeMap;

use ferrodesk_core::policy::TicketFacts;
use ferrodesk_core::{Channel, GroupId, OrganizationId, Priority, StatusId, TicketId, UserId};

use crate::sql::Sql;
use crate::{Conn, Micros, Result, from_json, word};

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Id (0 before insertion).
    pub id: TicketId,
    /// Subject.
    pub subject: String,
    /// Who asked.
    pub requester_id: UserId,
    /// Organization.
    pub organization_id: Option<OrganizationId>,
    /// Status.
    pub status_id: StatusId,
    /// Priority.
    pub priority: Priority,
    /// Primary owner group.
    pub group_id: Option<GroupId>,
    /// Primary owner agent.
    pub assignee_id: Option<UserId>,
    /// Internal owner group.
    pub internal_group_id: Option<GroupId>,
    /// Internal owner agent.
    pub internal_agent_id: Option<UserId>,
    /// CC'd users, ascending.
    pub cc_ids: Vec<UserId>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Custom field values by field key.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// How it came in.
    pub channel: Channel,
    /// Metadata of the sharing pre-checks (agents only).
    pub sharing_check: Option<serde_json::Value>,
    /// Created.
    pub created_at: Micros,
    /// Last changed.
    pub updated_at: Micros,
    /// Optimistic-concurrency version, +1 on every write.
    pub version: i64,
}

impl Ticket {
    /// The facts the access policy needs.
    pub fn facts(&self) -> TicketFacts {
        TicketFacts {
            id: self.id,
            requester_id: self.requester_id,
            organization_id: self.organization_id,
            group_id: self.group_id,
            assignee_id: self.assignee_id,
            internal_group_id: self.internal_group_id,
            internal_agent_id: self.internal_agent_id,
            cc_ids: self.cc_ids.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    id: i64,
    subject: String,
    requester_id: i64,
    organization_id: Option<i64>,
    status_id: i64,
    priority: String,
    group_id: Option<i64>,
    assignee_id: Option<i64>,
    internal_group_id: Option<i64>,
    internal_agent_id: Option<i64>,
    channel: String,
    sharing_check: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

pub(crate) const TICKET_COLUMNS: &str = "t.id, t.subject, t.requester_id, t.organization_id, t.status_id, \
     t.priority, t.group_id, t.assignee_id, t.internal_group_id, t.internal_agent_id, t.channel, \
     t.sharing_check, t.created_at, t.updated_at, t.version";

impl TicketRow {
    pub(crate) fn into_ticket(self) -> Result<Ticket> {
        Ok(Ticket {
            id: TicketId(self.id),
            subject: self.subject,
            requester_id: UserId(self.requester_id),
            organization_id: self.organization_id.map(OrganizationId),
            status_id: StatusId(self.status_id),
            priority: word(&self.priority)?,
            group_id: self.group_id.map(GroupId),
            assignee_id: self.assignee_id.map(UserId),
            internal_group_id: self.internal_group_id.map(GroupId),
            internal_agent_id: self.internal_agent_id.map(UserId),
            cc_ids: Vec::new(),
            tags: Vec::new(),
            custom_fields: BTreeMap::new(),
            channel: word(&self.channel)?,
            sharing_check: self.sharing_check.as_deref().map(from_json).transpose()?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Runs a query for ticket rows and loads their CCs, tags and custom fields.
pub(crate) async fn fetch_tickets(c: &mut Conn, q: Sql) -> Result<Vec<Ticket>> {
    let rows: Vec<TicketRow> = q.query_as().fetch_all(&mut *c).await?;
    let mut tickets = rows
        .into_iter()
        .map(TicketRow::into_ticket)
        .collect::<Result<Vec<_>>>()?;
    attach_children(c, &mut tickets).await?;
    Ok(tickets)
}

/// Loads CCs, tags and custom fields of `tickets` with three queries.
pub(crate) async fn attach_children(c: &mut Conn, tickets: &mut [Ticket]) -> Result<()> {
    if tickets.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = tickets.iter().map(|t| t.id.0).collect();
    // One query for the three child tables: (ticket, kind, user id, text, value).
    let mut q = Sql::new(
        "SELECT ticket_id, 'c' AS kind, user_id AS n, '' AS a, '' AS b FROM ticket_ccs WHERE ticket_id IN (",
    );
    q.push_ids(&ids);
    q.push(") UNION ALL SELECT ticket_id, 't', 0, tag, '' FROM ticket_tags WHERE ticket_id IN (");
    q.push_ids(&ids);
    q.push(
        ") UNION ALL SELECT v.ticket_id, 'f', 0, f.key, v.value FROM ticket_field_values v \
         JOIN custom_fields f ON f.id = v.field_id WHERE v.ticket_id IN (",
    );
    q.push_ids(&ids);
    q.push(") ORDER BY 1, 2, 3, 4");
    let rows: Vec<(i64, String, i64, String, String)> = q.query_as().fetch_all(&mut *c).await?;
    for t in tickets.iter_mut() {
        let id = t.id.0;
        for (_, kind, n, a, b) in rows.iter().filter(|r| r.0 == id) {
            t.add_child(kind, *n, a, b)?;
        }
    }
    Ok(())
}

impl Ticket {
    /// Adds one child row of the children query: a CC (`c`, user id `n`), a tag (`t`, `a`)
    /// or a custom field value (`f`, key `a`, JSON `b`).
    pub(crate) fn add_child(&mut self, kind: &str, n: i64, a: &str, b: &str) -> Result<()> {
        match kind {
            "c" => self.cc_ids.push(UserId(n)),
            "t" => self.tags.push(a.to_owned()),
            _ => {
                self.custom_fields.insert(a.to_owned(), from_json(b)?);
            }
        }
        Ok(())
    }
}

/// A ticket row joined to one of its child rows (none: NULLs), for reading one ticket with
/// its CCs, tags and custom fields in one statement.
#[derive(sqlx::FromRow)]
pub(crate) struct TicketChildRow {
    #[sqlx(flatten)]
    pub(crate) ticket: TicketRow,
    pub(crate) kind: Option<String>,
    pub(crate) n: Option<i64>,
    pub(crate) a: Option<String>,
    pub(crate) b: Option<String>,
}

/// The columns of a [`TicketChildRow`], of tickets `t` joined by [`push_children_join`].
pub(crate) fn ticket_child_columns() -> String {
    format!("{TICKET_COLUMNS}, ch.kind, ch.n, ch.a, ch.b")
}

/// Appends the join of ticket `id`'s CCs, tags and custom field values (`ch`) to tickets `t`.
pub(crate) fn push_children_join(q: &mut Sql, id: TicketId) {
    q.push(" LEFT JOIN (SELECT ticket_id, 'c' AS kind, user_id AS n, '' AS a, '' AS b FROM ticket_ccs WHERE ticket_id = ")
        .push_bind(id.0)
        .push(" UNION ALL SELECT ticket_id, 't', 0, tag, '' FROM ticket_tags WHERE ticket_id = ")
        .push_bind(id.0)
        .push(
            " UNION ALL SELECT v.ticket_id, 'f', 0, f.key, v.value FROM ticket_field_values v \
             JOIN custom_fields f ON f.id = v.field_id WHERE v.ticket_id = ",
        )
        .push_bind(id.0)
        .push(") ch ON ch.ticket_id = t.id");
}

/// Orders [`TicketChildRow`]s' children as [`attach_children`] does.
pub(crate) const CHILD_ORDER: &str = " ORDER BY ch.kind, ch.n, ch.a, ch.b";

/// The ticket of [`TicketChildRow`]s (none when there are no rows).
pub(crate) fn ticket_of_child_rows(
    rows: impl IntoIterator<Item = TicketChildRow>,
) -> Result<Option<Ticket>> {
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else {
        return Ok(None);
    };
    let mut t = first.ticket.into_ticket()?;
    for child in std::iter::once((first.kind, first.n, first.a, first.b))
        .chain(rows.map(|r| (r.kind, r.n, r.a, r.b)))
    {
        if let (Some(kind), n, a, b) = child {
            t.add_child(
                &kind,
                n.unwrap_or_default(),
                a.as_deref().unwrap_or_default(),
                b.as_deref().unwrap_or_default(),
            )?;
        }
    }
    Ok(Some(t))
}
