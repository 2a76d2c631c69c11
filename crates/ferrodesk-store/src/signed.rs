//! Reads that bring their caller along: one statement names who asks, by their credential,
//! exactly as [`directory::signed_in`] does, and reads what they asked for, so that both come
//! from one snapshot of the database and one round trip. Nothing about the caller is kept
//! between requests: a revoked token, an ended session, a suspension or a new role shows in the
//! very row that carries the answer. Their groups and organizations come from the cache at the
//! generation read in that row (see [`crate::cache`]), or from one more statement.

use ferrodesk_core::TicketId;
use sqlx::{FromRow, Row};

use crate::directory::{self, SignedIn, SignedInRow, Who};
use crate::sql::Sql;
use crate::ticket_rows::{
    CHILD_ORDER, Ticket, TicketChildRow, push_children_join, ticket_child_columns,
    ticket_of_child_rows,
};
use crate::{Conn, DirectoryCache, Result};

/// Who `who` names and ticket `id` with its CCs, tags and custom fields (none when there is no
/// such ticket), in one statement; none when `who` names no one (an unknown user, a credential
/// that is not live). Whether they may see the ticket is the access policy's to decide.
pub async fn ticket(
    c: &mut Conn,
    who: Who<'_>,
    id: TicketId,
    cache: &DirectoryCache,
) -> Result<Option<(SignedIn, Option<Ticket>)>> {
    let mut q = Sql::new(format!("SELECT s.*, {} FROM (", ticket_child_columns()));
    directory::push_signed_in(&mut q, who);
    q.push(") s LEFT JOIN tickets t ON t.id = ").push_bind(id.0);
    push_children_join(&mut q, id);
    q.push(CHILD_ORDER);
    let rows = q.query().fetch_all(&mut *c).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let signed = SignedInRow::from_row(first)?;
    let ticket = if first.try_get::<Option<i64>, _>("id")?.is_some() {
        let rows = rows
            .iter()
            .map(TicketChildRow::from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        ticket_of_child_rows(rows)?
    } else {
        None
    };
    let signed = directory::signed_in_of(c, signed, cache).await?;
    Ok(Some((signed, ticket)))
}
