//! The append-only, hash-chained audit trail (SPEC §7).

use ferrodesk_core::audit::{ChainedEvent, FieldChange, GENESIS_HASH};

use crate::sql::{Sql, rows_per_statement};
use crate::{Conn, Micros, Result, from_json, to_json};

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// When.
    pub at: Micros,
    /// `user`, `rule` or `system`.
    pub actor_kind: &'static str,
    /// The user or rule.
    pub actor_id: Option<i64>,
    /// Channel (`api`, `web`, `cli`, …).
    pub via: &'static str,
    /// `ticket`, `user`, `organization`, `group`, …
    pub entity_type: &'static str,
    /// The entity's id.
    pub entity_id: i64,
    /// What happened.
    pub action: &'static str,
    /// Fields before and after.
    pub changes: Vec<FieldChange>,
    /// Why, for changes nobody asked for directly.
    pub reason: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Id.
    pub id: i64,
    /// Position in the chain.
    pub seq: i64,
    /// When.
    pub at: Micros,
    /// `user`, `rule` or `system`.
    pub actor_kind: String,
    /// The user or rule.
    pub actor_id: Option<i64>,
    /// Channel.
    pub via: String,
    /// Entity type.
    pub entity_type: String,
    /// Entity id.
    pub entity_id: i64,
    /// What happened.
    pub action: String,
    /// Fields before and after.
    pub changes: Vec<FieldChange>,
    /// Why.
    pub reason: Option<String>,
}

/// Locks the audit chain's head row until the transaction ends (PostgreSQL). Every write
/// transaction takes it first ([`crate::Store::begin`]): writers are serial, as on SQLite, and
/// shared rows such as `ticket_counts` can never be taken in opposite orders (no deadlocks).
pub(crate) async fn lock_head(c: &mut Conn) -> Result<()> {
    sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The hash of event `e` at position `seq` after `prev_hash`.
fn chain_hash(seq: i64, e: &NewEvent, changes: &str, prev_hash: &str) -> String {
    ChainedEvent {
        seq,
        at: e.at,
        actor_kind: e.actor_kind,
        actor_id: e.actor_id,
        via: e.via,
        entity_type: e.entity_type,
        entity_id: e.entity_id,
        action: e.action,
        changes,
        reason: e.reason.as_deref(),
        prev_hash,
    }
    .hash()
}

/// Appends an event to the chain. The head row is updated first, which locks it until the
/// transaction ends, so concurrent appends queue up instead of forking the chain.
pub async fn append(c: &mut Conn, e: &NewEvent) -> Result<i64> {
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *c)
            .await?;
    let changes = to_json(&e.changes);
    let hash = chain_hash(seq, e, &changes, &prev_hash);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (seq, at, actor_kind, actor_id, via, entity_type, entity_id, \
         action, changes, reason, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(seq)
    .bind(e.at)
    .bind(e.actor_kind)
    .bind(e.actor_id)
    .bind(e.via)
    .bind(e.entity_type)
    .bind(e.entity_id)
    .bind(e.action)
    .bind(&changes)
    .bind(&e.reason)
    .bind(&prev_hash)
    .bind(&hash)
    .fetch_one(&mut *c)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *c)
        .await?;
    Ok(id)
}

/// Appends several events to the chain in their order, in three statements whatever their
/// number: the head moves by `events.len()` at once (locking it, as [`append`] does), the
/// events are chained in memory and inserted together, and the head takes the last hash.
/// The chain is the one [`append`] would write event by event.
pub async fn append_many(c: &mut Conn, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let (last_seq, mut prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
            .bind(n)
            .fetch_one(&mut *c)
            .await?;
    let mut rows = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let seq = last_seq - n + 1 + i as i64;
        let changes = to_json(&e.changes);
        let hash = chain_hash(seq, e, &changes, &prev_hash);
        let prev = std::mem::replace(&mut prev_hash, hash.clone());
        rows.push((seq, e, changes, prev, hash));
    }
    for chunk in rows.chunks(rows_per_statement(12)) {
        let mut q = Sql::on(
            c,
            "INSERT INTO audit_events (seq, at, actor_kind, actor_id, via, entity_type, \
             entity_id, action, changes, reason, prev_hash, hash) VALUES ",
        );
        for (i, (seq, e, changes, prev, hash)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(*seq)
                .push(", ")
                .push_bind(e.at)
                .push(", ")
                .push_bind(e.actor_kind)
                .push(", ")
                .push_bind(e.actor_id)
                .push(", ")
                .push_bind(e.via)
                .push(", ")
                .push_bind(e.entity_type)
                .push(", ")
                .push_bind(e.entity_id)
                .push(", ")
                .push_bind(e.action)
                .push(", ")
                .push_bind(changes.clone())
                .push(", ")
                .push_bind(e.reason.clone())
                .push(", ")
                .push_bind(prev.clone())
                .push(", ")
                .push_bind(hash.clone())
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev_hash)
        .execute(&mut *c)
        .await?;
    Ok(())
}

type EventRow = (
    i64,
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
);

const EVENT_COLUMNS: &str =
    "id, seq, at, actor_kind, actor_id, via, entity_type, entity_id, action, changes, reason";

fn into_event(r: EventRow) -> Result<Event> {
    Ok(Event {
        id: r.0,
        seq: r.1,
        at: r.2,
        actor_kind: r.3,
        actor_id: r.4,
        via: r.5,
        entity_type: r.6,
        entity_id: r.7,
        action: r.8,
        changes: from_json(&r.9)?,
        reason: r.10,
    })
}

/// The events of one entity, oldest first, ids above `after`.
pub async fn list_for(
    c: &mut Conn,
    entity_type: &str,
    entity_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE entity_type = $1 AND entity_id = $2 \
         AND seq > $3 ORDER BY seq LIMIT $4"
    )))
    .bind(entity_type)
    .bind(entity_id)
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.into_iter().map(into_event).collect()
}

/// Why the chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first event (by position) that does not verify; `None` when the break is at the head.
    pub seq: Option<i64>,
    /// What is wrong.
    pub problem: String,
}

/// The chain's head: the number of events and the last one's hash. Published somewhere the
/// database's administrators cannot rewrite (a ticket in another system, a signed email, a
/// printout), it anchors the chain: `verify` against it fails if events up to it were
/// rewritten and re-hashed.
pub async fn head(c: &mut Conn) -> Result<(i64, String)> {
    Ok(
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(c)
            .await?,
    )
}

/// Walks the whole chain; `Ok(n)` with the number of events when it is intact and every
/// anchor (a published head: event number and hash) is still in it.
pub async fn verify(
    c: &mut Conn,
    anchors: &[(i64, String)],
) -> Result<std::result::Result<i64, ChainBreak>> {
    const PAGE: i64 = 1000;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS_HASH.to_owned();
    loop {
        type Row = (
            i64,
            i64,
            String,
            Option<i64>,
            String,
            String,
            i64,
            String,
            String,
            Option<String>,
            String,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, at, actor_kind, actor_id, via, entity_type, entity_id, action, changes, \
             reason, prev_hash, hash FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(&mut *c)
        .await?;
        let n = rows.len() as i64;
        for r in rows {
            let seq = r.0;
            if seq != expected_seq {
                return Ok(Err(ChainBreak {
                    seq: Some(expected_seq),
                    problem: format!("event {expected_seq} is missing (next stored is {seq})"),
                }));
            }
            if r.10 != prev {
                return Ok(Err(ChainBreak {
                    seq: Some(seq),
                    problem: "its previous-hash does not match the event before it".into(),
                }));
            }
            let hash = ChainedEvent {
                seq,
                at: r.1,
                actor_kind: &r.2,
                actor_id: r.3,
                via: &r.4,
                entity_type: &r.5,
                entity_id: r.6,
                action: &r.7,
                changes: &r.8,
                reason: r.9.as_deref(),
                prev_hash: &r.10,
            }
            .hash();
            if hash != r.11 {
                return Ok(Err(ChainBreak {
                    seq: Some(seq),
                    problem: "its content does not match its hash (the row was altered)".into(),
                }));
            }
            if let Some((_, anchored)) = anchors.iter().find(|(s, _)| *s == seq)
                && *anchored != hash
            {
                return Ok(Err(ChainBreak {
                    seq: Some(seq),
                    problem:
                        "its hash differs from the published head: the chain up to it was rewritten"
                            .into(),
                }));
            }
            prev = hash;
            expected_seq += 1;
        }
        if n < PAGE {
            break;
        }
    }
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *c)
            .await?;
    let last = expected_seq - 1;
    if head_seq != last || head_hash != prev {
        return Ok(Err(ChainBreak {
            seq: Some(last + 1),
            problem: format!(
                "the chain ends at event {last} but {head_seq} events were written (events at the end were removed)"
            ),
        }));
    }
    if let Some((seq, _)) = anchors.iter().find(|(s, _)| *s > last) {
        return Ok(Err(ChainBreak {
            seq: Some(*seq),
            problem: format!(
                "a head with {seq} events was published but the chain holds only {last}"
            ),
        }));
    }
    Ok(Ok(last))
}
