//! When each staff member last opened each ticket and last had its page open (`ticket_seen`):
//! the list's "updated since you last looked" marker and the ticket page's presence notice.
//! Not part of the ticket: no version, no audit, no rules.

use crate::sql::Sql;
use crate::{Conn, Micros, Result};

/// What a look at a ticket records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// The page was opened: its changes so far count as seen (and the page is open).
    Opened,
    /// A presence poll: the page is open; its latest changes do not count as seen.
    Polled,
}

/// `user` looked at `ticket` at `now`. One upsert for both kinds of look (a poll writes
/// `seen_at` 0, which never wins), one text for both databases, and a late write never
/// moves a time back. Not an audited change: run it on `Store::side_write`, outside the
/// writers' lock.
pub async fn record(c: &mut Conn, user: i64, ticket: i64, look: Look, now: Micros) -> Result<()> {
    let seen_at = match look {
        Look::Opened => now,
        Look::Polled => 0,
    };
    sqlx::query(
        "INSERT INTO ticket_seen (user_id, ticket_id, seen_at, pinged_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, ticket_id) DO UPDATE SET \
         seen_at = CASE WHEN excluded.seen_at > ticket_seen.seen_at \
                        THEN excluded.seen_at ELSE ticket_seen.seen_at END, \
         pinged_at = CASE WHEN excluded.pinged_at > ticket_seen.pinged_at \
                          THEN excluded.pinged_at ELSE ticket_seen.pinged_at END",
    )
    .bind(user)
    .bind(ticket)
    .bind(seen_at)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// When `user` last opened and last polled `ticket`: `(seen_at, pinged_at)`.
pub async fn times(c: &mut Conn, user: i64, ticket: i64) -> Result<Option<(Micros, Micros)>> {
    Ok(sqlx::query_as(
        "SELECT seen_at, pinged_at FROM ticket_seen WHERE user_id = $1 AND ticket_id = $2",
    )
    .bind(user)
    .bind(ticket)
    .fetch_optional(c)
    .await?)
}

/// When `user` last opened each of `tickets`, as `(ticket id, seen_at)`; tickets never opened
/// are left out. One statement over the primary key.
pub async fn seen_at(c: &mut Conn, user: i64, tickets: &[i64]) -> Result<Vec<(i64, Micros)>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT ticket_id, seen_at FROM ticket_seen WHERE user_id = ");
    q.push_bind(user)
        .push(" AND ticket_id IN (")
        .push_ids(tickets)
        .push(")");
    Ok(q.query_as().fetch_all(c).await?)
}

/// The other people (id, name) who had `ticket`'s page open at or after `since`, by name.
pub async fn lookers(
    c: &mut Conn,
    ticket: i64,
    since: Micros,
    except: i64,
) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name FROM ticket_seen s JOIN users u ON u.id = s.user_id \
         WHERE s.ticket_id = $1 AND s.pinged_at >= $2 AND s.user_id <> $3 ORDER BY u.name, u.id",
    )
    .bind(ticket)
    .bind(since)
    .bind(except)
    .fetch_all(c)
    .await?)
}

/// Who made the latest recorded change of `ticket` and when: `(actor kind, user id, user's
/// name, at)`, from the audit chain's index on (entity, seq).
pub async fn last_change(
    c: &mut Conn,
    ticket: i64,
) -> Result<Option<(String, Option<i64>, Option<String>, Micros)>> {
    Ok(sqlx::query_as(
        "SELECT e.actor_kind, e.actor_id, u.name, e.at FROM audit_events e \
         LEFT JOIN users u ON u.id = e.actor_id \
         WHERE e.entity_type = 'ticket' AND e.entity_id = $1 ORDER BY e.seq DESC LIMIT 1",
    )
    .bind(ticket)
    .fetch_optional(c)
    .await?)
}
