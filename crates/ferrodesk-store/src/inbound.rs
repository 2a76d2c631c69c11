//! Inbound email: each message received, what became of it, and the lookups threading and
//! loop safety need (a Message-ID seen before, a sender's recent messages, a notice already
//! sent). Written in the transaction that creates the ticket or comment, so a message is
//! either fully taken in or not at all.

use crate::sql::Sql;
use crate::{Conn, Micros, Result};

/// What became of an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It opened a new ticket.
    Created,
    /// It was added to a ticket as a comment.
    Commented,
    /// Automatic mail (auto-replies, bulk mail, bounces, loops): kept, never answered.
    Suppressed,
    /// The access policy or a setting refused it (the sender may get a notice).
    Refused,
    /// Not a usable message (no sender, not parseable).
    Rejected,
}

impl Outcome {
    /// Its stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Commented => "commented",
            Outcome::Suppressed => "suppressed",
            Outcome::Refused => "refused",
            Outcome::Rejected => "rejected",
        }
    }

    /// The outcome of a stored word.
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Created,
            Outcome::Commented,
            Outcome::Suppressed,
            Outcome::Refused,
            Outcome::Rejected,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A message to record.
#[derive(Debug, Clone)]
pub struct NewInbound<'a> {
    /// The Message-ID header, lower case, without angle brackets.
    pub message_id: Option<&'a str>,
    /// The sender's address, lower case.
    pub from_address: Option<&'a str>,
    /// Subject (decoded).
    pub subject: &'a str,
    /// Bytes of the raw message.
    pub size: i64,
    /// The raw message, base64.
    pub raw_base64: &'a str,
    /// What became of it.
    pub outcome: Outcome,
    /// Why, in words (not for tickets and comments).
    pub reason: Option<&'a str>,
    /// The ticket it opened, was added to, or was refused on.
    pub ticket_id: Option<i64>,
    /// The comment it became.
    pub comment_id: Option<i64>,
    /// The sender's user.
    pub user_id: Option<i64>,
    /// Whether a notice went back to the sender.
    pub notice_sent: bool,
    /// Received.
    pub received_at: Micros,
}

/// Records a message; its id.
pub async fn insert(c: &mut Conn, m: &NewInbound<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO inbound_messages (message_id, from_address, subject, size, raw_base64, \
         outcome, reason, ticket_id, comment_id, user_id, notice_sent, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(m.message_id)
    .bind(m.from_address)
    .bind(m.subject)
    .bind(m.size)
    .bind(m.raw_base64)
    .bind(m.outcome.as_str())
    .bind(m.reason)
    .bind(m.ticket_id)
    .bind(m.comment_id)
    .bind(m.user_id)
    .bind(i64::from(m.notice_sent))
    .bind(m.received_at)
    .fetch_one(c)
    .await?)
}

/// A recorded message, without its raw text.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Inbound {
    /// Id.
    pub id: i64,
    /// Message-ID (lower case, no brackets).
    pub message_id: Option<String>,
    /// Sender (lower case).
    pub from_address: Option<String>,
    /// Subject.
    pub subject: String,
    /// Bytes.
    pub size: i64,
    /// `created`, `commented`, `suppressed`, `refused` or `rejected`.
    pub outcome: String,
    /// Why, in words.
    pub reason: Option<String>,
    /// Its ticket.
    pub ticket_id: Option<i64>,
    /// Its comment.
    pub comment_id: Option<i64>,
    /// The sender's user.
    pub user_id: Option<i64>,
    /// Received.
    pub received_at: Micros,
}

const COLUMNS: &str = "id, message_id, from_address, subject, size, outcome, reason, ticket_id, \
                       comment_id, user_id, received_at";

/// The message with this Message-ID taken in before (not a rejected one), if any.
pub async fn seen(c: &mut Conn, message_id: &str) -> Result<Option<Inbound>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inbound_messages WHERE message_id = $1 AND outcome <> 'rejected' \
         ORDER BY id LIMIT 1"
    )))
    .bind(message_id)
    .fetch_optional(c)
    .await?)
}

/// Tickets of earlier messages with any of these Message-IDs (threading by References), the
/// most recent message's first.
pub async fn tickets_of(c: &mut Conn, message_ids: &[String]) -> Result<Vec<i64>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT ticket_id FROM inbound_messages WHERE message_id IN (");
    q.push_words(message_ids)
        .push(") AND ticket_id IS NOT NULL ORDER BY id DESC");
    Ok(q.query_scalar().fetch_all(c).await?)
}

/// Messages from `address` received at or after `since`.
pub async fn count_from(c: &mut Conn, address: &str, since: Micros) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbound_messages WHERE from_address = $1 AND received_at >= $2",
    )
    .bind(address)
    .bind(since)
    .fetch_one(c)
    .await?)
}

/// Whether a notice went to `address` about `ticket` (or about no ticket) at or after `since`.
pub async fn notice_sent_since(
    c: &mut Conn,
    address: &str,
    ticket: Option<i64>,
    since: Micros,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbound_messages WHERE from_address = $1 AND received_at >= $2 \
         AND notice_sent = 1 AND COALESCE(ticket_id, 0) = $3",
    )
    .bind(address)
    .bind(since)
    .bind(ticket.unwrap_or(0))
    .fetch_one(c)
    .await?;
    Ok(n > 0)
}

/// Messages with `outcomes` and ids below `before`, newest first.
pub async fn list(
    c: &mut Conn,
    outcomes: &[Outcome],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Inbound>> {
    let mut q = Sql::new(format!(
        "SELECT {COLUMNS} FROM inbound_messages WHERE outcome IN ("
    ));
    q.push_words(
        &outcomes
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .push(") AND id < ")
    .push_bind(before.unwrap_or(i64::MAX))
    .push(" ORDER BY id DESC LIMIT ")
    .push_bind(limit);
    Ok(q.query_as().fetch_all(c).await?)
}

/// A recorded message.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<Inbound>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inbound_messages WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await?)
}

/// The raw text of a recorded message (base64).
pub async fn raw(c: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT raw_base64 FROM inbound_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?,
    )
}

/// The inbound messages that became these comments: (comment id, message id).
pub async fn of_comments(c: &mut Conn, comments: &[i64]) -> Result<Vec<(i64, i64)>> {
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT comment_id, id FROM inbound_messages WHERE comment_id IN (");
    q.push_ids(comments).push(")");
    Ok(q.query_as().fetch_all(c).await?)
}

/// Deletes up to `limit` suppressed messages (automatic mail) received before `before`; how
/// many went. Messages that became tickets or comments, and refusals, stay.
pub async fn purge_suppressed(c: &mut Conn, before: Micros, limit: i64) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM inbound_messages WHERE id IN (SELECT id FROM inbound_messages \
         WHERE outcome = 'suppressed' AND received_at < $1 ORDER BY id LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await?
    .rows_affected())
}
