//! Idempotency keys: a retried POST with the same key answers what the first one answered.

use ferrodesk_core::UserId;

use crate::{Conn, Micros, Result};

/// What a key's record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use: the caller runs the request.
    New,
    /// Already answered.
    Done {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: String,
    },
    /// Another request with this key is running now.
    InProgress,
    /// The key was used for a different request body.
    Mismatch,
}

/// Claims `key` for `route`, or tells what an earlier use left.
pub async fn claim(
    c: &mut Conn,
    user: UserId,
    key: &str,
    route: &str,
    request_hash: &str,
    now: Micros,
) -> Result<Claim> {
    let n = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, route, status, body, created_at, request_hash) \
         VALUES ($1, $2, $3, 0, '', $4, $5) ON CONFLICT (user_id, key, route) DO NOTHING",
    )
    .bind(user.0)
    .bind(key)
    .bind(route)
    .bind(now)
    .bind(request_hash)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Claim::New);
    }
    let (status, body, hash): (i64, String, String) = sqlx::query_as(
        "SELECT status, body, request_hash FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND route = $3",
    )
    .bind(user.0)
    .bind(key)
    .bind(route)
    .fetch_one(c)
    .await?;
    Ok(if hash != request_hash {
        Claim::Mismatch
    } else if status == 0 {
        Claim::InProgress
    } else {
        Claim::Done {
            status: status as u16,
            body,
        }
    })
}

/// Records the answer of a claimed key.
pub async fn complete(
    c: &mut Conn,
    user: UserId,
    key: &str,
    route: &str,
    status: u16,
    body: &str,
) -> Result<()> {
    sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND key = $4 AND route = $5")
        .bind(i64::from(status))
        .bind(body)
        .bind(user.0)
        .bind(key)
        .bind(route)
        .execute(c)
        .await?;
    Ok(())
}

/// Forgets a claimed key (the request failed; a retry may run it again).
pub async fn release(c: &mut Conn, user: UserId, key: &str, route: &str) -> Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND route = $3")
        .bind(user.0)
        .bind(key)
        .bind(route)
        .execute(c)
        .await?;
    Ok(())
}
