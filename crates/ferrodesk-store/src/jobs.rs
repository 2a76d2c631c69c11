//! The outbox: jobs queued in the transaction of the change that causes them.

use crate::{Conn, Micros, Result, to_json};

/// Queues a job in the outbox, in the caller's transaction.
pub async fn enqueue_job(
    c: &mut Conn,
    kind: &str,
    payload: &serde_json::Value,
    now: Micros,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(kind)
    .bind(to_json(payload))
    .bind(now)
    .fetch_one(c)
    .await?)
}
