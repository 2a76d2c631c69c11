//! Full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL — the one place where the
//! two dialects truly differ, so the SQL is written per backend here. The index is written
//! by the ticket and comment functions, in the same transaction as the change.

use ferrodesk_core::TicketId;
use ferrodesk_core::policy::ListScope;

use sqlx::AssertSqlSafe;

use crate::scope::{TicketFilter, push_filter_public, push_scope};
use crate::sql::Sql;
use crate::ticket_rows::{TICKET_COLUMNS, Ticket};
use crate::{Conn, Result};

fn is_postgres(c: &Conn) -> bool {
    c.backend_name().to_ascii_lowercase().contains("postgres")
}

/// Bytes of comment text one index row (or chunk) collects before the next comment starts a
/// new chunk: what bounds the cost of indexing a comment, however long the ticket.
pub const CHUNK_BYTES: i64 = 16 * 1024;

/// Starts the index row of a new ticket, holding its first comment's text (`public` or
/// private) — what [`add_text`] would write, in two statements instead of five.
pub(crate) async fn insert_row(
    c: &mut Conn,
    id: TicketId,
    subject: &str,
    first: &str,
    public: bool,
) -> Result<()> {
    let text = if first.is_empty() {
        String::new()
    } else {
        format!("\n{first}")
    };
    let (public_text, private_text) = if public {
        (text.as_str(), "")
    } else {
        ("", text.as_str())
    };
    let sql = if is_postgres(c) {
        "INSERT INTO ticket_search (ticket_id, subject, public_text, private_text) VALUES ($1, $2, $3, $4)"
    } else {
        "INSERT INTO ticket_search (rowid, subject, public_text, private_text) VALUES ($1, $2, $3, $4)"
    };
    sqlx::query(sql)
        .bind(id.0)
        .bind(subject)
        .bind(public_text)
        .bind(private_text)
        .execute(&mut *c)
        .await?;
    sqlx::query("INSERT INTO search_fill (ticket_id, chunk_len) VALUES ($1, $2)")
        .bind(id.0)
        .bind(first.len() as i64)
        .execute(c)
        .await?;
    Ok(())
}

/// Keeps the indexed subject current (in the ticket's row and, for a long ticket, in the
/// first of its chunks).
pub(crate) async fn set_subject(c: &mut Conn, id: TicketId, subject: &str) -> Result<()> {
    let sql = if is_postgres(c) {
        "UPDATE ticket_search SET subject = $1 WHERE ticket_id = $2 AND subject <> $1"
    } else {
        "UPDATE ticket_search SET subject = $1 WHERE rowid = $2 AND subject <> $1"
    };
    sqlx::query(sql)
        .bind(subject)
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    let first: Option<Option<i64>> =
        sqlx::query_scalar("SELECT first_more_id FROM search_fill WHERE ticket_id = $1")
            .bind(id.0)
            .fetch_optional(&mut *c)
            .await?;
    if let Some(Some(chunk)) = first {
        let sql = if is_postgres(c) {
            "UPDATE ticket_search_more SET subject = $1 WHERE id = $2"
        } else {
            "UPDATE ticket_search_more SET subject = $1 WHERE rowid = $2"
        };
        sqlx::query(sql)
            .bind(subject)
            .bind(chunk)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Adds a comment's text to its ticket's public or private text: to the ticket's row while it
/// holds less than [`CHUNK_BYTES`], else to the chunk being filled or a new one. Either way the
/// write touches at most one chunk, so its cost does not grow with the ticket's history.
pub(crate) async fn add_text(c: &mut Conn, id: TicketId, body: &str, public: bool) -> Result<()> {
    let pg = is_postgres(c);
    let column = if public {
        "public_text"
    } else {
        "private_text"
    };
    let add = body.len() as i64;
    let text = format!("\n{body}");
    let fill: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT chunk_len, more_id FROM search_fill WHERE ticket_id = $1")
            .bind(id.0)
            .fetch_optional(&mut *c)
            .await?;
    let (len, more) = match fill {
        Some(f) => f,
        None => {
            // A ticket indexed before chunks existed, or loaded in bulk: start its record.
            sqlx::query("INSERT INTO search_fill (ticket_id, chunk_len) VALUES ($1, 0)")
                .bind(id.0)
                .execute(&mut *c)
                .await?;
            (0, None)
        }
    };
    let (key, more_key) = if pg {
        ("ticket_id", "id")
    } else {
        ("rowid", "rowid")
    };
    // The row or chunk that takes the comment, while it has room.
    let target = match more {
        None if len == 0 || len + add <= CHUNK_BYTES => Some(("ticket_search", key, id.0)),
        Some(chunk) if len + add <= CHUNK_BYTES => Some(("ticket_search_more", more_key, chunk)),
        _ => None,
    };
    match target {
        Some((table, key, row)) => {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE {table} SET {column} = {column} || $1 WHERE {key} = $2"
            )))
            .bind(&text)
            .bind(row)
            .execute(&mut *c)
            .await?;
            sqlx::query("UPDATE search_fill SET chunk_len = chunk_len + $1 WHERE ticket_id = $2")
                .bind(add)
                .bind(id.0)
                .execute(&mut *c)
                .await?;
        }
        None => {
            // The ticket becomes long: its row is copied once as its first chunk, so that its
            // whole text is in ticket_search_more.
            let first = if more.is_none() {
                let copy = if pg {
                    "INSERT INTO ticket_search_more (ticket_id, subject, public_text, private_text) \
                     SELECT ticket_id, subject, public_text, private_text FROM ticket_search WHERE ticket_id = $1"
                } else {
                    "INSERT INTO ticket_search_more (ticket_id, subject, public_text, private_text) \
                     SELECT rowid, subject, public_text, private_text FROM ticket_search WHERE rowid = $1"
                };
                sqlx::query(copy).bind(id.0).execute(&mut *c).await?;
                Some(last_chunk_id(c, id).await?)
            } else {
                None
            };
            let (public_text, private_text) = if public { (body, "") } else { ("", body) };
            sqlx::query(
                "INSERT INTO ticket_search_more (ticket_id, subject, public_text, private_text) \
                 VALUES ($1, '', $2, $3)",
            )
            .bind(id.0)
            .bind(public_text)
            .bind(private_text)
            .execute(&mut *c)
            .await?;
            let chunk = last_chunk_id(c, id).await?;
            sqlx::query(
                "UPDATE search_fill SET chunk_len = $1, more_id = $2, \
                 first_more_id = COALESCE(first_more_id, $3) WHERE ticket_id = $4",
            )
            .bind(add)
            .bind(chunk)
            .bind(first)
            .bind(id.0)
            .execute(c)
            .await?;
        }
    }
    Ok(())
}

/// Rebuilds the whole search index from tickets and comments (after an import): short
/// tickets in bulk, long ones comment by comment, as if their comments had just been added.
pub async fn rebuild(c: &mut Conn) -> Result<()> {
    for table in ["ticket_search", "ticket_search_more", "search_fill"] {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *c)
            .await?;
    }
    let (text_of, bytes) = if is_postgres(c) {
        (
            "COALESCE((SELECT string_agg(E'\\n' || m.body, '' ORDER BY m.id) FROM comments m \
             WHERE m.ticket_id = t.id AND m.public = {public}), '')",
            "(SELECT COALESCE(SUM(octet_length(m.body)), 0) FROM comments m WHERE m.ticket_id = t.id)",
        )
    } else {
        (
            "COALESCE((SELECT group_concat(char(10) || m.body, '') FROM \
             (SELECT body FROM comments WHERE ticket_id = t.id AND public = {public} ORDER BY id) m), '')",
            "(SELECT COALESCE(SUM(length(CAST(m.body AS BLOB))), 0) FROM comments m WHERE m.ticket_id = t.id)",
        )
    };
    let key = if is_postgres(c) { "ticket_id" } else { "rowid" };
    let (public, private) = (
        text_of.replace("{public}", "1"),
        text_of.replace("{public}", "0"),
    );
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO ticket_search ({key}, subject, public_text, private_text) \
         SELECT t.id, t.subject, {public}, {private} FROM tickets t WHERE {bytes} <= $1"
    )))
    .bind(CHUNK_BYTES)
    .execute(&mut *c)
    .await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO search_fill (ticket_id, chunk_len) \
         SELECT t.id, {bytes} FROM tickets t WHERE {bytes} <= $1"
    )))
    .bind(CHUNK_BYTES)
    .execute(&mut *c)
    .await?;
    let long: Vec<(i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT t.id, t.subject FROM tickets t WHERE {bytes} > $1 ORDER BY t.id"
    )))
    .bind(CHUNK_BYTES)
    .fetch_all(&mut *c)
    .await?;
    for (id, subject) in long {
        insert_row(c, TicketId(id), &subject, "", true).await?;
        let comments: Vec<(String, i64)> =
            sqlx::query_as("SELECT body, public FROM comments WHERE ticket_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *c)
                .await?;
        for (body, public) in comments {
            add_text(c, TicketId(id), &body, public != 0).await?;
        }
    }
    Ok(())
}

/// The id of the newest chunk of `ticket` (SQLite's virtual tables have no `RETURNING`).
async fn last_chunk_id(c: &mut Conn, ticket: TicketId) -> Result<i64> {
    let sql = if is_postgres(c) {
        "SELECT MAX(id) FROM ticket_search_more WHERE ticket_id = $1"
    } else {
        "SELECT last_insert_rowid() + 0 * $1"
    };
    Ok(sqlx::query_scalar(sql).bind(ticket.0).fetch_one(c).await?)
}

/// The text part of a search: words and quoted phrases, all required.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextQuery {
    /// Single words.
    pub words: Vec<String>,
    /// Phrases.
    pub phrases: Vec<String>,
}

impl TextQuery {
    /// Nothing to match on.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }

    /// Every word and phrase: each must occur in the ticket (words are one-word phrases).
    fn terms(&self) -> impl Iterator<Item = &String> {
        self.words.iter().chain(self.phrases.iter())
    }

    fn len(&self) -> usize {
        self.words.len() + self.phrases.len()
    }
}

/// An FTS5 phrase that matches `term` literally (quotes doubled; no operators).
fn fts5_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// One page of search results within `scope`, best match first (`offset` rows skipped).
/// End users (`public_only`) match only subjects and public comments.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    c: &mut Conn,
    scope: &ListScope,
    filter: &TicketFilter,
    extra: &[crate::view_query::Pred],
    text: &TextQuery,
    public_only: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<Ticket>> {
    let pg = is_postgres(c);
    let narrow = |q: &mut Sql| {
        push_scope(q, scope, !pg);
        push_filter_public(q, filter);
        crate::view_query::push_preds(q, extra);
    };
    if text.is_empty() {
        let mut q = Sql::new(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1"
        ));
        narrow(&mut q);
        q.push(" ORDER BY t.updated_at DESC, t.id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        return crate::ticket_rows::fetch_tickets(c, q).await;
    }
    // Every word and phrase must occur in the ticket (no operators: `or` is a word, on both
    // databases). Two branches find the tickets: (a) a short ticket's whole text is one
    // ticket_search row, matched at once; (b) a long ticket's text is in several
    // ticket_search_more chunks, each term matched on its own and the ticket kept when every
    // term matched one of its chunks. The ranking runs over narrow rows (id and score); only
    // the page's tickets are read in full.
    let (best, dir) = if pg { ("MAX", "DESC") } else { ("MIN", "ASC") };
    // Branch (b) only when some ticket is long: most installations have none, and their
    // searches then cost what a single index lookup costs (no grouping of the matches).
    let any_long: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM ticket_search_more LIMIT 1) x")
            .fetch_one(&mut *c)
            .await?;
    let mut q = Sql::new(format!("SELECT {TICKET_COLUMNS} FROM ("));
    if any_long > 0 {
        q.push(format!("SELECT id, {best}(r) AS r FROM ("));
    }
    let pg_col = if public_only { "public_tsv" } else { "all_tsv" };
    let fts5_columns = if public_only {
        "{subject public_text} : "
    } else {
        ""
    };
    let fts5_terms: Vec<String> = text.terms().map(|t| fts5_phrase(t)).collect();
    // (a) every term in a short ticket's one row.
    if pg {
        let query = |q: &mut Sql| {
            for (i, term) in text.terms().enumerate() {
                if i > 0 {
                    q.push(" && ");
                }
                q.push("phraseto_tsquery('simple', ")
                    .push_bind(term.clone())
                    .push(")");
            }
        };
        q.push(format!("SELECT t.id AS id, ts_rank(s.{pg_col}, "));
        query(&mut q);
        q.push(format!(
            ") AS r FROM ticket_search s JOIN tickets t ON t.id = s.ticket_id WHERE s.{pg_col} @@ ("
        ));
        query(&mut q);
        q.push(")");
    } else {
        q.push(
            "SELECT t.id AS id, bm25(ticket_search, 10.0, 1.0, 1.0) AS r \
                FROM ticket_search s JOIN tickets t ON t.id = s.rowid WHERE ticket_search MATCH ",
        )
        .push_bind(format!("{fts5_columns}({})", fts5_terms.join(" ")));
    }
    narrow(&mut q);
    // (b) each term in some chunk of a long ticket.
    if any_long > 0 {
        q.push(" UNION ALL SELECT t.id AS id, g.r AS r FROM (SELECT ticket_id, SUM(r) AS r FROM (");
        for (i, term) in text.terms().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            if pg {
                q.push(format!("SELECT m.ticket_id, ts_rank(m.{pg_col}, x.q) AS r, {i} AS k FROM ticket_search_more m, phraseto_tsquery('simple', "))
                    .push_bind(term.clone())
                    .push(format!(") AS x(q) WHERE m.{pg_col} @@ x.q"));
            } else {
                q.push(format!("SELECT ticket_id, bm25(ticket_search_more, 10.0, 1.0, 1.0) AS r, {i} AS k FROM ticket_search_more WHERE ticket_search_more MATCH "))
                    .push_bind(format!("{fts5_columns}{}", fts5_terms[i]));
            }
        }
        if !pg {
            // A LIMIT keeps SQLite from flattening the terms into the grouping query, where
            // bm25() cannot run.
            q.push(" LIMIT -1");
        }
        q.push(") AS hits GROUP BY ticket_id HAVING COUNT(DISTINCT k) = ")
            .push_bind(text.len() as i64)
            .push(") AS g JOIN tickets t ON t.id = g.ticket_id WHERE 1 = 1");
        narrow(&mut q);
        q.push(") AS u GROUP BY id");
    }
    q.push(format!(" ORDER BY r {dir}, id DESC LIMIT "))
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset)
        .push(format!(
            ") k JOIN tickets t ON t.id = k.id ORDER BY k.r {dir}, t.id DESC"
        ));
    crate::ticket_rows::fetch_tickets(c, q).await
}
