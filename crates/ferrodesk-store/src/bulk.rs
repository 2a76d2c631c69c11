//! Writing many tickets at once, for importers: the rows [`crate::tickets::insert_ticket`] and
//! [`crate::tickets::insert_comment`] would write ticket by ticket — tickets, CCs, tags, custom
//! field values, comments, the search index — in a handful of multi-row statements per page
//! instead of some thirty statements per ticket. The caller holds the write transaction
//! (writers are serial: `Store::begin`), which is what makes reserving ids safe on SQLite.

use std::collections::BTreeMap;

use ferrodesk_core::{CommentId, TicketId};

use crate::search::CHUNK_BYTES;
use crate::sql::{Sql, is_postgres, rows_per_statement};
use crate::tickets::{Comment, Ticket};
use crate::{Conn, Result, to_json};

/// Prepares the caller's write transaction for a page of [`insert_tickets`]: on PostgreSQL its
/// commit does not wait for the WAL to reach the disk (`SET LOCAL synchronous_commit = off`,
/// this transaction only). A crash right after the commit can lose the last pages, never
/// corrupt anything; an import writes its links in the same transaction, so a rerun writes
/// such a lost page again. SQLite in WAL mode with `synchronous = NORMAL` does not wait at
/// commit anyway.
pub async fn relax_commit(c: &mut Conn) -> Result<()> {
    if is_postgres(c) {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// `n` new ids of `table` (`tickets` or `comments`), ascending. PostgreSQL takes them from the
/// column's sequence; SQLite's rowids continue from the largest, which no other writer can
/// take before this transaction ends.
///
/// The sequence is looked up once (a materialized CTE), not per id: `pg_get_serial_sequence`
/// in the select list ran once per row, two catalogue scans each — 20 ms of a page's 5,000
/// comment ids, against under 2 ms for the `nextval`s themselves
/// (bench/results/2026-12-03-s13-import-pg.md).
async fn reserve_ids(c: &mut Conn, table: &'static str, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if is_postgres(c) {
        let mut ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS seq) \
             SELECT nextval(s.seq) FROM s CROSS JOIN generate_series(1, $1)"
        )))
        .bind(n as i64)
        .fetch_all(&mut *c)
        .await?;
        ids.sort_unstable();
        Ok(ids)
    } else {
        let top: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COALESCE(MAX(id), 0) FROM {table}"
        )))
        .fetch_one(&mut *c)
        .await?;
        Ok((1..=n as i64).map(|i| top + i).collect())
    }
}

/// Inserts tickets with their comments (the first of each is its description; at least one
/// each), setting every ticket's and comment's id (and the comments' `ticket_id`). Each ticket
/// keeps its `created_at`, `updated_at` and `version`; the search index gets each ticket's
/// text as if its comments had been added one by one.
pub async fn insert_tickets(
    c: &mut Conn,
    page: &mut [(Ticket, Vec<Comment>)],
    field_ids: &BTreeMap<String, i64>,
) -> Result<()> {
    let ticket_ids = reserve_ids(c, "tickets", page.len()).await?;
    let comment_count = page.iter().map(|(_, m)| m.len()).sum();
    let comment_ids = reserve_ids(c, "comments", comment_count).await?;
    let mut next_comment = comment_ids.into_iter();
    for ((t, comments), id) in page.iter_mut().zip(ticket_ids) {
        t.id = TicketId(id);
        for m in comments.iter_mut() {
            m.ticket_id = t.id;
            m.id = CommentId(next_comment.next().unwrap_or_default());
        }
    }
    for chunk in page.chunks(rows_per_statement(15)) {
        let mut q = Sql::on(
            c,
            "INSERT INTO tickets (id, subject, requester_id, organization_id, status_id, priority, \
             group_id, assignee_id, internal_group_id, internal_agent_id, channel, sharing_check, \
             created_at, updated_at, version) VALUES ",
        );
        for (i, (t, _)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(t.id.0)
                .push(", ")
                .push_bind(t.subject.clone())
                .push(", ")
                .push_bind(t.requester_id.0)
                .push(", ")
                .push_bind(t.organization_id.map(|o| o.0))
                .push(", ")
                .push_bind(t.status_id.0)
                .push(", ")
                .push_bind(t.priority.as_str())
                .push(", ")
                .push_bind(t.group_id.map(|g| g.0))
                .push(", ")
                .push_bind(t.assignee_id.map(|u| u.0))
                .push(", ")
                .push_bind(t.internal_group_id.map(|g| g.0))
                .push(", ")
                .push_bind(t.internal_agent_id.map(|u| u.0))
                .push(", ")
                .push_bind(t.channel.as_str())
                .push(", ")
                .push_bind(t.sharing_check.as_ref().map(to_json))
                .push(", ")
                .push_bind(t.created_at)
                .push(", ")
                .push_bind(t.updated_at)
                .push(", ")
                .push_bind(t.version)
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    let ccs: Vec<(i64, i64)> = page
        .iter()
        .flat_map(|(t, _)| t.cc_ids.iter().map(|u| (t.id.0, u.0)))
        .collect();
    insert_pairs(
        c,
        "INSERT INTO ticket_ccs (ticket_id, user_id) VALUES ",
        &ccs,
    )
    .await?;
    let tags: Vec<(i64, String)> = page
        .iter()
        .flat_map(|(t, _)| t.tags.iter().map(|tag| (t.id.0, tag.clone())))
        .collect();
    insert_pairs(c, "INSERT INTO ticket_tags (ticket_id, tag) VALUES ", &tags).await?;
    let values: Vec<(i64, i64, String)> = page
        .iter()
        .flat_map(|(t, _)| {
            t.custom_fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, v)| field_ids.get(k).map(|f| (t.id.0, *f, to_json(v))))
        })
        .collect();
    for chunk in values.chunks(rows_per_statement(3)) {
        let mut q = Sql::on(
            c,
            "INSERT INTO ticket_field_values (ticket_id, field_id, value) VALUES ",
        );
        for (i, (t, f, v)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(*t)
                .push(", ")
                .push_bind(*f)
                .push(", ")
                .push_bind(v.clone())
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    let comments: Vec<&Comment> = page.iter().flat_map(|(_, m)| m.iter()).collect();
    for chunk in comments.chunks(rows_per_statement(7)) {
        let mut q = Sql::on(
            c,
            "INSERT INTO comments (id, ticket_id, author_id, body, public, channel, created_at) \
             VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(m.id.0)
                .push(", ")
                .push_bind(m.ticket_id.0)
                .push(", ")
                .push_bind(m.author_id.0)
                .push(", ")
                .push_bind(m.body.clone())
                .push(", ")
                .push_bind(i64::from(m.public))
                .push(", ")
                .push_bind(m.channel.as_str())
                .push(", ")
                .push_bind(m.created_at)
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    index(c, page).await
}

/// Inserts `(ticket, value)` rows after `head`, a multi-row statement at a time.
async fn insert_pairs<T>(c: &mut Conn, head: &str, rows: &[(i64, T)]) -> Result<()>
where
    T: Clone + for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    for chunk in rows.chunks(rows_per_statement(2)) {
        let mut q = Sql::on(c, head);
        for (i, (t, v)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(*t)
                .push(", ")
                .push_bind(v.clone())
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    Ok(())
}

/// The search index of new tickets. A ticket whose comments fit in one index row gets that
/// row and its fill record in two multi-row statements — the text and length that starting
/// the row with the first comment and adding the others would have left; a longer one is
/// indexed comment by comment, chunks and all.
async fn index(c: &mut Conn, page: &[(Ticket, Vec<Comment>)]) -> Result<()> {
    let mut short = Vec::new();
    for (t, comments) in page {
        let len: i64 = comments.iter().map(|m| m.body.len() as i64).sum();
        let Some((first, rest)) = comments.split_first() else {
            continue;
        };
        if rest.is_empty() || len <= CHUNK_BYTES {
            let (mut public, mut private) = (String::new(), String::new());
            for (i, m) in comments.iter().enumerate() {
                let text = if m.public { &mut public } else { &mut private };
                if i > 0 || !m.body.is_empty() {
                    text.push('\n');
                    text.push_str(&m.body);
                }
            }
            short.push((t.id.0, t.subject.clone(), public, private, len));
        } else {
            crate::search::insert_row(c, t.id, &t.subject, &first.body, first.public).await?;
            for m in rest {
                crate::search::add_text(c, t.id, &m.body, m.public).await?;
            }
        }
    }
    let key = if is_postgres(c) { "ticket_id" } else { "rowid" };
    for chunk in short.chunks(rows_per_statement(4)) {
        let mut q = Sql::on(
            c,
            format!(
                "INSERT INTO ticket_search ({key}, subject, public_text, private_text) VALUES "
            ),
        );
        for (i, (id, subject, public, private, _)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(*id)
                .push(", ")
                .push_bind(subject.clone())
                .push(", ")
                .push_bind(public.clone())
                .push(", ")
                .push_bind(private.clone())
                .push(")");
        }
        q.query().execute(&mut *c).await?;
        let fills: Vec<(i64, i64)> = chunk.iter().map(|r| (r.0, r.4)).collect();
        insert_pairs(
            c,
            "INSERT INTO search_fill (ticket_id, chunk_len) VALUES ",
            &fills,
        )
        .await?;
    }
    Ok(())
}
