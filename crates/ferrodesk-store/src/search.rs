//! Full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL — the one place where the
//! two dialects truly differ, so the SQL is written per backend here. The index is written
//! by the ticket and comment functions, in the same transaction as the change.

use ferrodesk_core::TicketId;
use ferrodesk_core::policy::ListScope;

use crate::sql::Sql;
use crate::tickets::{TICKET_COLUMNS, Ticket, TicketFilter, push_filter_public, push_scope};
use crate::{Conn, Result};

fn is_postgres(c: &Conn) -> bool {
    c.backend_name().to_ascii_lowercase().contains("postgres")
}

/// Starts the index row of a new ticket.
pub(crate) async fn insert_row(c: &mut Conn, id: TicketId, subject: &str) -> Result<()> {
    let sql = if is_postgres(c) {
        "INSERT INTO ticket_search (ticket_id, subject) VALUES ($1, $2)"
    } else {
        "INSERT INTO ticket_search (rowid, subject, public_text, private_text) VALUES ($1, $2, '', '')"
    };
    sqlx::query(sql).bind(id.0).bind(subject).execute(c).await?;
    Ok(())
}

/// Keeps the indexed subject current.
pub(crate) async fn set_subject(c: &mut Conn, id: TicketId, subject: &str) -> Result<()> {
    let sql = if is_postgres(c) {
        "UPDATE ticket_search SET subject = $1 WHERE ticket_id = $2 AND subject <> $1"
    } else {
        "UPDATE ticket_search SET subject = $1 WHERE rowid = $2 AND subject <> $1"
    };
    sqlx::query(sql).bind(subject).bind(id.0).execute(c).await?;
    Ok(())
}

/// Adds a comment's text to its ticket's public or private text.
pub(crate) async fn add_text(c: &mut Conn, id: TicketId, body: &str, public: bool) -> Result<()> {
    let sql = match (is_postgres(c), public) {
        (true, true) => {
            "UPDATE ticket_search SET public_text = public_text || E'\\n' || $1 WHERE ticket_id = $2"
        }
        (true, false) => {
            "UPDATE ticket_search SET private_text = private_text || E'\\n' || $1 WHERE ticket_id = $2"
        }
        (false, true) => {
            "UPDATE ticket_search SET public_text = public_text || char(10) || $1 WHERE rowid = $2"
        }
        (false, false) => {
            "UPDATE ticket_search SET private_text = private_text || char(10) || $1 WHERE rowid = $2"
        }
    };
    sqlx::query(sql).bind(body).bind(id.0).execute(c).await?;
    Ok(())
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

    fn fts5(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        self.words
            .iter()
            .chain(self.phrases.iter())
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn websearch(&self) -> String {
        let mut parts: Vec<String> = self
            .words
            .iter()
            .map(|w| w.replace(['"', '-'], " "))
            .collect();
        parts.extend(
            self.phrases
                .iter()
                .map(|p| format!("\"{}\"", p.replace('"', " "))),
        );
        parts.join(" ")
    }
}

/// One page of search results within `scope`, best match first (`offset` rows skipped).
/// End users (`public_only`) match only subjects and public comments.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    c: &mut Conn,
    scope: &ListScope,
    filter: &TicketFilter,
    extra: &[crate::tickets::Pred],
    text: &TextQuery,
    public_only: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<Ticket>> {
    let pg = is_postgres(c);
    // With text, the ranking runs over narrow rows (id and score) and only the page's tickets
    // are read in full afterwards: sorting thousands of matches with every ticket column was
    // a third of a search's time at a million tickets.
    let (mut q, rank_dir) = if text.is_empty() {
        (
            Sql::new(format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1"
            )),
            "",
        )
    } else if pg {
        let col = if public_only {
            "s.public_tsv"
        } else {
            "s.all_tsv"
        };
        let mut q = Sql::new(format!(
            "SELECT {TICKET_COLUMNS} FROM (SELECT t.id AS id, ts_rank({col}, websearch_to_tsquery('simple', "
        ));
        q.push_bind(text.websearch()).push(format!(
            ")) AS r FROM ticket_search s JOIN tickets t ON t.id = s.ticket_id WHERE {col} @@ websearch_to_tsquery('simple', "
        ));
        q.push_bind(text.websearch()).push(")");
        (q, "DESC")
    } else {
        let m = if public_only {
            format!("{{subject public_text}} : ({})", text.fts5())
        } else {
            text.fts5()
        };
        let mut q = Sql::new(format!(
            "SELECT {TICKET_COLUMNS} FROM (SELECT t.id AS id, bm25(ticket_search, 10.0, 1.0, 1.0) AS r \
             FROM ticket_search s JOIN tickets t ON t.id = s.rowid WHERE ticket_search MATCH "
        ));
        q.push_bind(m);
        (q, "ASC")
    };
    push_scope(&mut q, scope, !pg);
    push_filter_public(&mut q, filter);
    crate::tickets::push_preds(&mut q, extra);
    if text.is_empty() {
        q.push(" ORDER BY t.updated_at DESC, t.id DESC");
    } else {
        q.push(format!(" ORDER BY r {rank_dir}, t.id DESC"));
    }
    q.push(" LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    if !text.is_empty() {
        q.push(format!(
            ") k JOIN tickets t ON t.id = k.id ORDER BY k.r {rank_dir}, t.id DESC"
        ));
    }
    crate::tickets::fetch_tickets(c, q).await
}
