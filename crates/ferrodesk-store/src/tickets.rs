//! Writing tickets (with their CCs, tags and custom field values), comments and custom field
//! definitions, and the ticket lookups cascades need. Lists are in `scope`, views in
//! `view_query`, the outbox in `jobs`.

use std::collections::BTreeMap;

use crate::sql::Sql;
use ferrodesk_core::{Channel, CommentId, StatusId, TicketId, UserId};

use crate::{Conn, Micros, Result, StoreError, from_json, to_json, word};

pub use crate::ticket_rows::Ticket;
use crate::ticket_rows::{
    CHILD_ORDER, TICKET_COLUMNS, TicketChildRow, fetch_tickets, push_children_join,
    ticket_child_columns, ticket_of_child_rows,
};

/// Reads a ticket with its CCs, tags and custom fields, in one statement.
pub async fn get_ticket(c: &mut Conn, id: TicketId) -> Result<Option<Ticket>> {
    let mut q = Sql::new(format!("SELECT {} FROM tickets t", ticket_child_columns()));
    push_children_join(&mut q, id);
    q.push(" WHERE t.id = ").push_bind(id.0).push(CHILD_ORDER);
    let rows: Vec<TicketChildRow> = q.query_as().fetch_all(&mut *c).await?;
    ticket_of_child_rows(rows)
}

/// Reads several tickets with their CCs, tags and custom fields, by ascending id; ids of no
/// ticket are left out.
pub async fn get_tickets(c: &mut Conn, ids: &[TicketId]) -> Result<Vec<Ticket>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|t| t.0).collect();
    let mut q = Sql::new(format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ("
    ));
    q.push_ids(&ids).push(") ORDER BY t.id");
    fetch_tickets(c, q).await
}

/// Inserts a ticket with its CCs, tags, custom fields and first comment (its description,
/// whose `ticket_id` is ignored), and starts its search index row with that comment's text;
/// returns the ticket's and the comment's ids.
pub async fn insert_ticket(
    c: &mut Conn,
    t: &Ticket,
    field_ids: &BTreeMap<String, i64>,
    first: &Comment,
) -> Result<(TicketId, CommentId)> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (subject, requester_id, organization_id, status_id, priority, group_id, \
         assignee_id, internal_group_id, internal_agent_id, channel, sharing_check, created_at, \
         updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1) \
         RETURNING id",
    )
    .bind(&t.subject)
    .bind(t.requester_id.0)
    .bind(t.organization_id.map(|o| o.0))
    .bind(t.status_id.0)
    .bind(t.priority.as_str())
    .bind(t.group_id.map(|g| g.0))
    .bind(t.assignee_id.map(|u| u.0))
    .bind(t.internal_group_id.map(|g| g.0))
    .bind(t.internal_agent_id.map(|u| u.0))
    .bind(t.channel.as_str())
    .bind(t.sharing_check.as_ref().map(to_json))
    .bind(t.created_at)
    .fetch_one(&mut *c)
    .await?;
    let id = TicketId(id);
    write_children(c, id, t, field_ids).await?;
    let comment = insert_comment_row(c, id, first).await?;
    crate::search::insert_row(c, id, &t.subject, &first.body, first.public).await?;
    Ok((id, comment))
}

/// Writes a changed ticket if its stored version is still `expected_version`
/// (else [`StoreError::Stale`]); the stored version becomes `expected_version + 1`.
pub async fn update_ticket(
    c: &mut Conn,
    t: &Ticket,
    expected_version: i64,
    field_ids: &BTreeMap<String, i64>,
) -> Result<()> {
    let n = sqlx::query(
        "UPDATE tickets SET subject = $1, requester_id = $2, organization_id = $3, status_id = $4, \
         priority = $5, group_id = $6, assignee_id = $7, internal_group_id = $8, \
         internal_agent_id = $9, sharing_check = $10, updated_at = $11, version = version + 1 \
         WHERE id = $12 AND version = $13",
    )
    .bind(&t.subject)
    .bind(t.requester_id.0)
    .bind(t.organization_id.map(|o| o.0))
    .bind(t.status_id.0)
    .bind(t.priority.as_str())
    .bind(t.group_id.map(|g| g.0))
    .bind(t.assignee_id.map(|u| u.0))
    .bind(t.internal_group_id.map(|g| g.0))
    .bind(t.internal_agent_id.map(|u| u.0))
    .bind(t.sharing_check.as_ref().map(to_json))
    .bind(t.updated_at)
    .bind(t.id.0)
    .bind(expected_version)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Stale);
    }
    crate::search::set_subject(&mut *c, t.id, &t.subject).await?;
    sqlx::query("DELETE FROM ticket_ccs WHERE ticket_id = $1")
        .bind(t.id.0)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1")
        .bind(t.id.0)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM ticket_field_values WHERE ticket_id = $1")
        .bind(t.id.0)
        .execute(&mut *c)
        .await?;
    write_children(c, t.id, t, field_ids).await
}

async fn write_children(
    c: &mut Conn,
    id: TicketId,
    t: &Ticket,
    field_ids: &BTreeMap<String, i64>,
) -> Result<()> {
    if !t.cc_ids.is_empty() {
        let mut q = Sql::new("INSERT INTO ticket_ccs (ticket_id, user_id) VALUES ");
        for (i, u) in t.cc_ids.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(id.0)
                .push(", ")
                .push_bind(u.0)
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    if !t.tags.is_empty() {
        let mut q = Sql::new("INSERT INTO ticket_tags (ticket_id, tag) VALUES ");
        for (i, tag) in t.tags.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(id.0)
                .push(", ")
                .push_bind(tag.clone())
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    let values: Vec<(i64, String)> = t
        .custom_fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .filter_map(|(k, v)| field_ids.get(k).map(|fid| (*fid, to_json(v))))
        .collect();
    if !values.is_empty() {
        let mut q =
            Sql::new("INSERT INTO ticket_field_values (ticket_id, field_id, value) VALUES ");
        for (i, (fid, v)) in values.into_iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(id.0)
                .push(", ")
                .push_bind(fid)
                .push(", ")
                .push_bind(v)
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    Ok(())
}

/// The custom field definitions: key → (id, type, options).
pub async fn custom_fields(c: &mut Conn) -> Result<Vec<CustomField>> {
    let rows: Vec<(i64, String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, key, title, field_type, options, active, position FROM custom_fields \
         ORDER BY position, id",
    )
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(|(id, key, title, field_type, options, active, position)| {
            Ok(CustomField {
                id,
                key,
                title,
                field_type,
                options: from_json(&options)?,
                active: active != 0,
                position,
            })
        })
        .collect()
}

/// A custom ticket field definition.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    /// Id.
    pub id: i64,
    /// Stable key used in the API.
    pub key: String,
    /// Title shown to people.
    pub title: String,
    /// `text`, `number`, `checkbox`, `dropdown` or `date`.
    pub field_type: String,
    /// Dropdown options.
    pub options: Vec<String>,
    /// Inactive fields keep their values but accept none.
    pub active: bool,
    /// Order.
    pub position: i64,
}

/// Inserts a custom field definition.
pub async fn insert_custom_field(c: &mut Conn, f: &CustomField, now: Micros) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO custom_fields (key, title, field_type, options, active, position, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&f.key)
    .bind(&f.title)
    .bind(&f.field_type)
    .bind(to_json(&f.options))
    .bind(i64::from(f.active))
    .bind(f.position)
    .bind(now)
    .fetch_one(c)
    .await?)
}

// ---------------------------------------------------------------- comments

/// A public reply or private note.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// Id.
    pub id: CommentId,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Author.
    pub author_id: UserId,
    /// Text.
    pub body: String,
    /// Public reply (true) or private note (false).
    pub public: bool,
    /// How it came in.
    pub channel: Channel,
    /// Created.
    pub created_at: Micros,
}

/// Inserts a comment and adds its text to its ticket's search index.
pub async fn insert_comment(c: &mut Conn, m: &Comment) -> Result<CommentId> {
    let id = insert_comment_row(c, m.ticket_id, m).await?;
    crate::search::add_text(c, m.ticket_id, &m.body, m.public).await?;
    Ok(id)
}

async fn insert_comment_row(c: &mut Conn, ticket: TicketId, m: &Comment) -> Result<CommentId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO comments (ticket_id, author_id, body, public, channel, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(ticket.0)
    .bind(m.author_id.0)
    .bind(&m.body)
    .bind(i64::from(m.public))
    .bind(m.channel.as_str())
    .bind(m.created_at)
    .fetch_one(c)
    .await?;
    Ok(CommentId(id))
}

/// A comment's columns, in the order of [`CommentRow`].
const COMMENT_COLUMNS: &str = "id, ticket_id, author_id, body, public, channel, created_at";

type CommentRow = (i64, i64, i64, String, i64, String, i64);

fn comment_of(
    (id, ticket_id, author_id, body, public, channel, created_at): CommentRow,
) -> Result<Comment> {
    Ok(Comment {
        id: CommentId(id),
        ticket_id: TicketId(ticket_id),
        author_id: UserId(author_id),
        body,
        public: public != 0,
        channel: word(&channel)?,
        created_at,
    })
}

/// Reads one comment.
pub async fn get_comment(c: &mut Conn, id: CommentId) -> Result<Option<Comment>> {
    let row: Option<CommentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COMMENT_COLUMNS} FROM comments WHERE id = $1"
    )))
    .bind(id.0)
    .fetch_optional(c)
    .await?;
    row.map(comment_of).transpose()
}

/// Lists a ticket's comments, oldest first, ids above `after`; private notes only when asked.
pub async fn list_comments(
    c: &mut Conn,
    ticket: TicketId,
    include_private: bool,
    after: Option<CommentId>,
    limit: i64,
) -> Result<Vec<Comment>> {
    let mut q = Sql::new(format!(
        "SELECT {COMMENT_COLUMNS} FROM comments WHERE ticket_id = "
    ));
    q.push_bind(ticket.0);
    if !include_private {
        q.push(" AND public = 1");
    }
    if let Some(a) = after {
        q.push(" AND id > ").push_bind(a.0);
    }
    q.push(" ORDER BY id LIMIT ").push_bind(limit);
    let rows: Vec<CommentRow> = q.query_as().fetch_all(c).await?;
    rows.into_iter().map(comment_of).collect()
}

/// Every comment of the tickets `ids` (private notes included), by ticket then oldest first:
/// the exports' sideload.
pub async fn comments_of_tickets(c: &mut Conn, ids: &[i64]) -> Result<Vec<Comment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(format!(
        "SELECT {COMMENT_COLUMNS} FROM comments WHERE ticket_id IN ("
    ));
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push_bind(*id);
    }
    q.push(") ORDER BY ticket_id, id");
    let rows: Vec<CommentRow> = q.query_as().fetch_all(c).await?;
    rows.into_iter().map(comment_of).collect()
}

/// Marks a ticket as updated now (a comment was added) without changing its version.
pub async fn touch_ticket(c: &mut Conn, id: TicketId, now: Micros) -> Result<()> {
    sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Ids of tickets matching a simple column condition, for cascades.
pub async fn ticket_ids_where(
    c: &mut Conn,
    column: TicketRef,
    value: i64,
) -> Result<Vec<TicketId>> {
    let sql = match column {
        TicketRef::Group => "SELECT id FROM tickets WHERE group_id = $1 ORDER BY id",
        TicketRef::InternalGroup => {
            "SELECT id FROM tickets WHERE internal_group_id = $1 ORDER BY id"
        }
        TicketRef::Assignee => "SELECT id FROM tickets WHERE assignee_id = $1 ORDER BY id",
        TicketRef::InternalAgent => {
            "SELECT id FROM tickets WHERE internal_agent_id = $1 ORDER BY id"
        }
        TicketRef::Requester => "SELECT id FROM tickets WHERE requester_id = $1 ORDER BY id",
    };
    let ids: Vec<i64> = sqlx::query_scalar(sql).bind(value).fetch_all(c).await?;
    Ok(ids.into_iter().map(TicketId).collect())
}

/// A ticket column that refers to a group or user.
#[derive(Debug, Clone, Copy)]
pub enum TicketRef {
    /// `group_id`.
    Group,
    /// `internal_group_id`.
    InternalGroup,
    /// `assignee_id`.
    Assignee,
    /// `internal_agent_id`.
    InternalAgent,
    /// `requester_id`.
    Requester,
}

/// Ids of the tickets in a status, optionally only those with an internal group.
pub async fn ticket_ids_in_status(
    c: &mut Conn,
    status: StatusId,
    with_internal_group: bool,
) -> Result<Vec<TicketId>> {
    let sql = if with_internal_group {
        "SELECT id FROM tickets WHERE status_id = $1 AND internal_group_id IS NOT NULL ORDER BY id"
    } else {
        "SELECT id FROM tickets WHERE status_id = $1 ORDER BY id"
    };
    let ids: Vec<i64> = sqlx::query_scalar(sql).bind(status.0).fetch_all(c).await?;
    Ok(ids.into_iter().map(TicketId).collect())
}

/// Changes a custom field definition's title, options, active flag or position.
pub async fn update_custom_field(c: &mut Conn, f: &CustomField, now: Micros) -> Result<()> {
    sqlx::query("UPDATE custom_fields SET title = $1, options = $2, active = $3, position = $4, updated_at = $5 WHERE id = $6")
        .bind(&f.title)
        .bind(to_json(&f.options))
        .bind(i64::from(f.active))
        .bind(f.position)
        .bind(now)
        .bind(f.id)
        .execute(c)
        .await?;
    Ok(())
}
