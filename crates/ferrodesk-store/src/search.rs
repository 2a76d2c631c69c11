//! Full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL — the one place where the
//! two dialects truly differ, so the SQL is written per backend here. The index is written
//! by the ticket and comment functions, in the same transaction as the change.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrodesk_core::TicketId;
use ferrodesk_core::policy::{ListScope, ScopeTerm};

use sqlx::AssertSqlSafe;

use crate::scope::{Form, TicketFilter, push_filter_public, push_scope, push_terms};
use crate::sql::{Sql, is_postgres};
use crate::ticket_rows::{TICKET_COLUMNS, Ticket};
use crate::{Conn, Result};

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

/// How many of the newest matching tickets (in the caller's scope) a search ranks. A common
/// word can match most of a desk, and scoring every match cost tens of milliseconds at a
/// million tickets (FTS5's BM25 even reads every match of each word to weigh it), while an
/// agent reads the first page. So the newest `RANK_WINDOW` matches are ranked, best first, and
/// the older matches follow them newest first: every match is still reachable by paging, and
/// the cost of a page no longer grows with the desk.
pub const RANK_WINDOW: i64 = 100;

/// Characters of each text column read to rank a match (the whole of most tickets; the start
/// of a long one).
const RANK_TEXT_CHARS: i64 = 8192;

/// One page of search results within `scope` (`offset` rows skipped): the newest
/// [`RANK_WINDOW`] matches best match first (see [`rank`]), then the older ones newest first.
/// End users (`public_only`) match, and are ranked on, only subjects and public comments.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    c: &mut Conn,
    planner: &Planner,
    scope: &ListScope,
    filter: &TicketFilter,
    extra: &[crate::view_query::Pred],
    text: &TextQuery,
    public_only: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<Ticket>> {
    let pg = is_postgres(c);
    let narrow = Narrow {
        scope,
        filter,
        extra,
        sqlite: !pg,
    };
    if text.is_empty() {
        let mut q = Sql::new(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1"
        ));
        narrow.all(&mut q);
        q.push(" ORDER BY t.updated_at DESC, t.id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        return crate::ticket_rows::fetch_tickets(c, q).await;
    }
    // Long tickets' chunks are searched only when some ticket is long: most installations
    // have none, and their searches then cost one index lookup (no grouping of the matches).
    let any_long: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM ticket_search_more LIMIT 1) x")
            .fetch_one(&mut *c)
            .await?;
    // PostgreSQL: how the matches are found (see `Matches::newest`). A scope of few tickets
    // (an end user's, a narrow agent's) is read from its own indexes and each of its tickets
    // tested; otherwise the text index answers first, asked for the uncommon terms only
    // (and the scope's keys).
    let scope_first = match scope {
        ListScope::AnyOf(terms) if pg => {
            crate::scope::scope_at_most(c, terms, planner.scope_first_max()).await?
        }
        _ => false,
    };
    let rare = if pg && !scope_first {
        let common = planner.common(c, public_only).await?;
        text.terms()
            .filter(|t| !rank::words(t).iter().any(|w| common.contains(w)))
            .collect()
    } else {
        Vec::new()
    };
    let m = Matches {
        text,
        pg,
        public_only,
        long: any_long > 0,
        narrow,
        scope_first,
        rare,
    };
    let window = newest_matches(c, &m).await?;
    let ranked = rank_window(c, text, pg, public_only, &window).await?;
    let mut ids: Vec<i64> = ranked
        .iter()
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
        .copied()
        .collect();
    // Past the ranked window: the older matches, newest first.
    if window.len() as i64 == RANK_WINDOW && (ids.len() as i64) < limit {
        let oldest = window.iter().copied().min().unwrap_or(0);
        let (skip, take) = ((offset - RANK_WINDOW).max(0), limit - ids.len() as i64);
        let mut q = m.newest(Some(oldest), None, skip + take);
        q.push(" LIMIT ")
            .push_bind(take)
            .push(" OFFSET ")
            .push_bind(skip);
        let older: Vec<i64> = q.query_scalar().fetch_all(&mut *c).await?;
        ids.extend(older);
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ("
    ));
    q.push_ids(&ids).push(")");
    let mut tickets = crate::ticket_rows::fetch_tickets(c, q).await?;
    tickets.sort_by_key(|t| ids.iter().position(|i| *i == t.id.0));
    Ok(tickets)
}

/// The newest [`RANK_WINDOW`] matches in scope, newest first. On PostgreSQL, when some term
/// is not a common word (and the scope is not read first), the newest tickets (the last
/// [`SLICE_BUCKETS`] buckets of ids) are searched first through the index with only the
/// uncommon terms and the buckets, the common words checked on those few rows; only when they
/// hold too few matches are the older tickets searched, again through the uncommon terms. The
/// answer is the same either way (every match with an id in the slice is found there); what
/// changes is the cost: GIN reads the whole list of each word it is asked for, and a common
/// word's list is the size of the desk.
async fn newest_matches(c: &mut Conn, m: &Matches<'_>) -> Result<Vec<i64>> {
    let mut found = Vec::new();
    let mut below = None;
    if m.pg && !m.rare.is_empty() {
        let top: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM tickets")
            .fetch_one(&mut *c)
            .await?;
        if let Some(top) = top {
            let slice = Slice::newest(top);
            let mut q = m.newest(None, Some(&slice), RANK_WINDOW);
            q.push(" LIMIT ").push_bind(RANK_WINDOW);
            found = q.query_scalar().fetch_all(&mut *c).await?;
            if found.len() as i64 == RANK_WINDOW || slice.from == 0 {
                return Ok(found);
            }
            below = Some(slice.from);
        }
    }
    let cap = RANK_WINDOW - found.len() as i64;
    let mut q = m.newest(below, None, cap);
    q.push(" LIMIT ").push_bind(cap);
    let older: Vec<i64> = q.query_scalar().fetch_all(&mut *c).await?;
    found.extend(older);
    Ok(found)
}

/// The largest scope (in tickets, counted from the scope's indexes) whose tickets a PostgreSQL
/// search reads first and tests one by one against the text, instead of asking the text index
/// first: each test reads one row of `ticket_search` by its key (~11 µs at a million tickets,
/// so ~11 ms for the largest such scope), while the text index answers with every match of its
/// uncommon words within the scope's keys (migration 0028), each then read and tested.
pub const SCOPE_FIRST_MAX: i64 = 1_000;

/// Ids per bucket of the PostgreSQL search index: each ticket's index entry also holds the
/// lexeme `#sN`, N its id shifted right by this (migration 0024; the text parser never makes
/// a lexeme with `#`, so no word can meet it).
const SLICE_SHIFT: i64 = 14;
/// Buckets searched first: the newest 48k–64k tickets.
const SLICE_BUCKETS: i64 = 4;
/// A word in more than this share of the tickets is common (PostgreSQL's statistics).
const COMMON_SHARE: f64 = 0.02;

/// The newest tickets, as a set of buckets of the PostgreSQL search index.
struct Slice {
    /// The lowest id in the slice (a bucket's first id).
    from: i64,
    /// `'#s12' | '#s11' …` as tsquery text.
    buckets: String,
}

impl Slice {
    fn newest(top: i64) -> Self {
        let last = top >> SLICE_SHIFT;
        let first = (last - SLICE_BUCKETS + 1).max(0);
        let buckets = (first..=last)
            .rev()
            .map(|b| format!("'#s{b}'"))
            .collect::<Vec<_>>()
            .join(" | ");
        Slice {
            from: first << SLICE_SHIFT,
            buckets,
        }
    }
}

/// How searches use the PostgreSQL index: its common words, from its statistics (`pg_stats`,
/// kept by ANALYZE and autovacuum; the frequencies array ends with three summary numbers, paired
/// with no word), read at most once a minute for the public text and for all text; and the
/// largest scope read before the text ([`SCOPE_FIRST_MAX`]). They choose how a search finds its
/// matches, never what it finds.
#[derive(Debug)]
pub struct Planner {
    common: [Mutex<Option<(Instant, Words)>>; 2],
    scope_first_max: AtomicI64,
}

/// A set of lexemes.
type Words = Arc<HashSet<String>>;

impl Default for Planner {
    fn default() -> Self {
        Planner {
            common: Default::default(),
            scope_first_max: AtomicI64::new(SCOPE_FIRST_MAX),
        }
    }
}

impl Planner {
    /// Sets the largest scope whose tickets are read before the text (0: the text index is
    /// always asked first), e.g. for a test that compares the ways of finding matches.
    pub fn set_scope_first_max(&self, tickets: i64) {
        self.scope_first_max.store(tickets, Ordering::Relaxed);
    }

    /// Forgets the common words read, so that the next search reads the statistics again
    /// (e.g. right after an `ANALYZE`).
    pub fn forget_common_words(&self) {
        for slot in &self.common {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    fn scope_first_max(&self) -> i64 {
        self.scope_first_max.load(Ordering::Relaxed)
    }

    async fn common(&self, c: &mut Conn, public_only: bool) -> Result<Words> {
        const FRESH: Duration = Duration::from_secs(60);
        let slot = &self.common[usize::from(public_only)];
        let kept = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((at, words)) = kept
            && at.elapsed() < FRESH
        {
            return Ok(words);
        }
        let column = if public_only { "public_tsv" } else { "all_tsv" };
        let words: Vec<String> = sqlx::query_scalar(
            "SELECT x.e FROM pg_stats s, \
             unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS x(e, f) \
             WHERE s.schemaname = current_schema() AND s.tablename = 'ticket_search' \
             AND s.attname = $1 AND x.e IS NOT NULL AND x.f > $2",
        )
        .bind(column)
        .bind(COMMON_SHARE)
        .fetch_all(&mut *c)
        .await?;
        let words = Arc::new(words.into_iter().collect::<HashSet<_>>());
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), words.clone()));
        Ok(words)
    }
}

/// The window's tickets, best match first ([`rank`]), read in one statement. The same
/// scoring on both databases, so both order results alike; an end user's ranking never reads
/// private notes.
async fn rank_window(
    c: &mut Conn,
    text: &TextQuery,
    pg: bool,
    public_only: bool,
    window: &[i64],
) -> Result<Vec<i64>> {
    if window.len() < 2 {
        return Ok(window.to_vec());
    }
    let key = if pg { "ticket_id" } else { "rowid" };
    let private = if public_only {
        "''".to_owned()
    } else {
        format!("substr(private_text, 1, {RANK_TEXT_CHARS})")
    };
    let mut q = Sql::new(format!(
        "SELECT {key} AS id, subject, substr(public_text, 1, {RANK_TEXT_CHARS}) AS public_text, \
         {private} AS private_text FROM ticket_search WHERE {key} IN ("
    ));
    q.push_ids(window).push(")");
    let rows: Vec<(i64, String, String, String)> = q.query_as().fetch_all(c).await?;
    let docs: Vec<rank::Doc> = rows
        .iter()
        .map(|(id, subject, public, private)| rank::Doc {
            id: *id,
            subject,
            body: [public.as_str(), private.as_str()],
        })
        .collect();
    let terms: Vec<&String> = text.terms().collect();
    Ok(rank::best_first(&terms, &docs))
}

/// Scoring a window of matches: BM25's term-frequency saturation and length normalisation,
/// with a subject occurrence worth ten body occurrences, and no corpus-wide weights (like
/// PostgreSQL's `ts_rank`; every term is required anyway). Ties: newest first.
mod rank {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    const SUBJECT_WEIGHT: f64 = 10.0;

    pub(super) struct Doc<'a> {
        pub id: i64,
        pub subject: &'a str,
        pub body: [&'a str; 2],
    }

    /// Lower-cased words, as the indexes split text (letters and digits).
    pub(super) fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }

    /// How often the phrase (a sequence of words) occurs in `words`.
    fn occurrences(words: &[String], phrase: &[String]) -> usize {
        if phrase.is_empty() || phrase.len() > words.len() {
            return 0;
        }
        words.windows(phrase.len()).filter(|w| *w == phrase).count()
    }

    /// The ids of `docs`, best match for `terms` first, then newest (highest id) first.
    pub(super) fn best_first(terms: &[&String], docs: &[Doc]) -> Vec<i64> {
        let phrases: Vec<Vec<String>> = terms.iter().map(|t| words(t)).collect();
        let split: Vec<(Vec<String>, Vec<String>)> = docs
            .iter()
            .map(|d| {
                let mut body = words(d.body[0]);
                body.extend(words(d.body[1]));
                (words(d.subject), body)
            })
            .collect();
        let lengths: Vec<f64> = split
            .iter()
            .map(|(s, b)| (s.len() + b.len()).max(1) as f64)
            .collect();
        let average = lengths.iter().sum::<f64>() / lengths.len().max(1) as f64;
        let mut scored: Vec<(f64, i64)> = docs
            .iter()
            .zip(&split)
            .zip(&lengths)
            .map(|((d, (subject, body)), len)| {
                let norm = K1 * (1.0 - B + B * len / average);
                let score = phrases
                    .iter()
                    .map(|p| {
                        // Every term matched (the index said so): at least once, even where
                        // this reading missed it (the end of a long ticket, accents).
                        let f = (SUBJECT_WEIGHT * occurrences(subject, p) as f64
                            + occurrences(body, p) as f64)
                            .max(1.0);
                        f * (K1 + 1.0) / (f + norm)
                    })
                    .sum::<f64>();
                (score, d.id)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        scored.into_iter().map(|(_, id)| id).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn doc<'a>(id: i64, subject: &'a str, body: &'a str) -> Doc<'a> {
            Doc {
                id,
                subject,
                body: [body, ""],
            }
        }

        #[test]
        fn subject_and_repeated_words_rank_higher_and_ties_go_newest_first() {
            let printer = "printer".to_owned();
            let jam = "paper jam".to_owned();
            let docs = [
                doc(1, "Printer broken", "the printer jams"),
                doc(2, "Question", "my printer is slow"),
                doc(3, "Question", "my printer is slow"),
                doc(4, "Question", "printer printer printer, the printer"),
            ];
            assert_eq!(best_first(&[&printer], &docs), vec![1, 4, 3, 2]);
            // A phrase counts only as a whole, in order.
            let docs = [
                doc(1, "Jam", "paper and a jam"),
                doc(2, "Tray", "a paper jam again"),
            ];
            assert_eq!(best_first(&[&jam], &docs), vec![2, 1]);
        }

        #[test]
        fn longer_texts_weigh_each_occurrence_less() {
            let word = "invoice".to_owned();
            let long = format!("invoice {}", "words ".repeat(200));
            let docs = [doc(1, "A", "invoice attached"), doc(2, "B", &long)];
            assert_eq!(best_first(&[&word], &docs), vec![1, 2]);
        }
    }
}

/// A scope as a tsquery over the scope lexemes of the PostgreSQL search index (migration 0028:
/// `'#g3' | '#r12' | …`), or `None` for every ticket. No user text: ids only.
fn scope_keys(scope: &ListScope) -> Option<String> {
    let ListScope::AnyOf(terms) = scope else {
        return None;
    };
    let mut keys = Vec::new();
    for term in terms {
        match term {
            ScopeTerm::RequesterIs(u) => keys.push(format!("'#r{}'", u.0)),
            ScopeTerm::CcIncludes(u) => keys.push(format!("'#c{}'", u.0)),
            ScopeTerm::AssigneeIs(u) => keys.push(format!("'#a{}'", u.0)),
            ScopeTerm::InternalAgentIs(u) => keys.push(format!("'#ia{}'", u.0)),
            ScopeTerm::GroupIn(gs) => keys.extend(gs.iter().map(|g| format!("'#g{}'", g.0))),
            ScopeTerm::InternalGroupIn(gs) => {
                keys.extend(gs.iter().map(|g| format!("'#ig{}'", g.0)))
            }
            ScopeTerm::OrganizationIn(os) => keys.extend(os.iter().map(|o| format!("'#o{}'", o.0))),
        }
    }
    // An empty scope sees nothing: a key no ticket has.
    Some(if keys.is_empty() {
        "'#none'".to_owned()
    } else {
        keys.join(" | ")
    })
}

/// Which tickets a search may answer: the person's scope, and the filters of the query.
#[derive(Clone, Copy)]
struct Narrow<'q> {
    scope: &'q ListScope,
    filter: &'q TicketFilter,
    extra: &'q [crate::view_query::Pred],
    sqlite: bool,
}

impl Narrow<'_> {
    /// Appends ` AND scope AND filters`.
    fn all(&self, q: &mut Sql) {
        push_scope(q, self.scope, self.sqlite);
        self.refine(q);
    }

    /// Appends ` AND filters` (the scope left to the caller).
    fn refine(&self, q: &mut Sql) {
        push_filter_public(q, self.filter);
        crate::view_query::push_preds(q, self.extra);
    }
}

/// The tickets that match a text query, as SQL: every word and phrase must occur in the
/// ticket (no operators: `or` is a word, on both databases).
struct Matches<'q> {
    text: &'q TextQuery,
    pg: bool,
    public_only: bool,
    /// Whether long tickets' chunks exist to be searched.
    long: bool,
    /// Who may see which tickets, and the filters.
    narrow: Narrow<'q>,
    /// PostgreSQL: the scope's tickets are read first, each tested against the text.
    scope_first: bool,
    /// PostgreSQL: the terms that are not common words (empty when `scope_first`), which
    /// the text index is asked for first.
    rare: Vec<&'q String>,
}

impl Matches<'_> {
    /// `SELECT id … ORDER BY id DESC` over the newest `cap` matches in scope and filters
    /// (`narrow`), older than `below` and within `slice` when given, without scoring.
    ///
    /// Two branches find the tickets: (a) a short ticket's whole text is one ticket_search
    /// row, matched at once; (b) a long ticket's text is in several ticket_search_more chunks,
    /// each term matched on its own and the ticket kept when every term matched one of its
    /// chunks.
    ///
    /// Branch (a) has three shapes on PostgreSQL, all with the same answer; the fences
    /// (`OFFSET 0`) keep the planner to the one chosen, as its estimates cannot see how the
    /// scope and the text overlap (walking the index newest first while few matches are in
    /// scope reads the whole desk):
    /// - the scope's tickets read first from their indexes, each tested against the text
    ///   (`scope_first`);
    /// - the index asked for the uncommon terms (`rare`; in `slice` when given) within the
    ///   person's scope keys ([`scope_keys`]), every term and the scope tested on what it
    ///   answers;
    /// - when every term is a common word, the index walked newest first with every term,
    ///   the scope tested on each match (matches are then dense).
    ///
    /// SQLite's FTS5 walks its index newest first with every term.
    fn newest(&self, below: Option<i64>, slice: Option<&Slice>, cap: i64) -> Sql {
        let (pg, text) = (self.pg, self.text);
        let pg_col = if self.public_only {
            "public_tsv"
        } else {
            "all_tsv"
        };
        // What the PostgreSQL indexes are built on (migrations 0024, 0028): the text's
        // lexemes, the ticket's bucket and its scope keys. A test on the bare column
        // (`s.{pg_col} @@ …`) uses no index.
        let pg_indexed = format!(
            "(s.{pg_col} || array_to_tsvector(ARRAY['#s' || (s.ticket_id >> {SLICE_SHIFT})::text] || s.scope_keys))"
        );
        let fts5_columns = if self.public_only {
            "{subject public_text} : "
        } else {
            ""
        };
        let fts5_terms: Vec<String> = text.terms().map(|t| fts5_phrase(t)).collect();
        // Tickets below `below`; `older` also keeps them in `slice` when one is given.
        let below_bound = |q: &mut Sql, column: &str| {
            if let Some(id) = below {
                q.push(format!(" AND {column} < ")).push_bind(id);
            }
        };
        let older = |q: &mut Sql, column: &str| {
            below_bound(q, column);
            if let Some(slice) = slice {
                q.push(format!(" AND {column} >= ")).push_bind(slice.from);
            }
        };
        let all_terms = |q: &mut Sql| {
            for (i, term) in text.terms().enumerate() {
                if i > 0 {
                    q.push(" && ");
                }
                q.push("phraseto_tsquery('simple', ")
                    .push_bind(term.clone())
                    .push(")");
            }
        };
        let mut q = Sql::new("SELECT id FROM (");
        // (a) every term in a short ticket's one row.
        if !pg {
            q.push("SELECT * FROM (SELECT s.rowid AS id FROM ticket_search s JOIN tickets t ON t.id = s.rowid WHERE ticket_search MATCH ")
                .push_bind(format!("{fts5_columns}({})", fts5_terms.join(" ")));
            self.narrow.all(&mut q);
            older(&mut q, "s.rowid");
            q.push(" ORDER BY s.rowid DESC LIMIT ");
        } else if self.scope_first {
            // One branch per scope term, each read through its own index (an `OR` over a
            // CC subquery would read the whole table).
            q.push("SELECT * FROM (SELECT c.id FROM (");
            let terms = match self.narrow.scope {
                ListScope::AnyOf(terms) if !terms.is_empty() => terms.as_slice(),
                // Nobody's scope (a suspended person's): no ticket.
                _ => &[],
            };
            if terms.is_empty() {
                q.push("SELECT t.id FROM tickets t WHERE 1 = 0");
            }
            for (i, term) in terms.iter().enumerate() {
                if i > 0 {
                    q.push(" UNION ");
                }
                q.push("SELECT t.id FROM tickets t WHERE ");
                push_terms(&mut q, std::slice::from_ref(term), Form::Plain);
                self.narrow.refine(&mut q);
                older(&mut q, "t.id");
            }
            q.push(format!(
                ") c JOIN ticket_search s ON s.ticket_id = c.id WHERE s.{pg_col} @@ ("
            ));
            all_terms(&mut q);
            q.push(") ORDER BY c.id DESC LIMIT ");
        } else if !self.rare.is_empty() {
            q.push(format!(
                "SELECT * FROM (SELECT c.id FROM (SELECT s.ticket_id AS id, s.{pg_col} AS tsv \
                 FROM ticket_search s WHERE {pg_indexed} @@ ("
            ));
            for (i, term) in self.rare.iter().enumerate() {
                if i > 0 {
                    q.push(" && ");
                }
                q.push("phraseto_tsquery('simple', ")
                    .push_bind((*term).clone())
                    .push(")");
            }
            if let Some(slice) = slice {
                q.push(" && CAST(")
                    .push_bind(slice.buckets.clone())
                    .push(" AS tsquery)");
            }
            // The person's scope, as the index knows it: only a narrowing, the scope itself
            // is tested on the ticket below.
            if let Some(keys) = scope_keys(self.narrow.scope) {
                q.push(" && CAST(").push_bind(keys).push(" AS tsquery)");
            }
            q.push(")");
            // The slice's lower bound is left to its buckets, which say the same: with it
            // also written as `ticket_id >= …`, PostgreSQL may AND a bitmap of the primary
            // key's whole range (tens of thousands of entries) to the few matches.
            below_bound(&mut q, "s.ticket_id");
            q.push(" OFFSET 0) c JOIN tickets t ON t.id = c.id WHERE c.tsv @@ (");
            all_terms(&mut q);
            q.push(")");
            self.narrow.all(&mut q);
            q.push(" ORDER BY c.id DESC LIMIT ");
        } else {
            q.push(format!(
                "SELECT * FROM (SELECT s.ticket_id AS id FROM ticket_search s JOIN tickets t ON t.id = s.ticket_id WHERE {pg_indexed} @@ ("
            ));
            all_terms(&mut q);
            q.push(")");
            self.narrow.all(&mut q);
            older(&mut q, "s.ticket_id");
            q.push(" ORDER BY s.ticket_id DESC LIMIT ");
        }
        q.push_bind(cap).push(") AS a");
        // (b) each term in some chunk of a long ticket.
        if self.long {
            q.push(" UNION SELECT t.id AS id FROM (SELECT ticket_id FROM (");
            for (i, term) in text.terms().enumerate() {
                if i > 0 {
                    q.push(" UNION ALL ");
                }
                if pg {
                    q.push(format!("SELECT m.ticket_id, {i} AS k FROM ticket_search_more m WHERE m.{pg_col} @@ phraseto_tsquery('simple', "))
                        .push_bind(term.clone())
                        .push(")");
                } else {
                    q.push(format!("SELECT ticket_id, {i} AS k FROM ticket_search_more WHERE ticket_search_more MATCH "))
                        .push_bind(format!("{fts5_columns}{}", fts5_terms[i]));
                }
            }
            q.push(") AS hits GROUP BY ticket_id HAVING COUNT(DISTINCT k) = ")
                .push_bind(text.len() as i64)
                .push(") AS g JOIN tickets t ON t.id = g.ticket_id WHERE 1 = 1");
            self.narrow.all(&mut q);
            older(&mut q, "t.id");
        }
        q.push(") AS matches ORDER BY id DESC");
        q
    }
}
