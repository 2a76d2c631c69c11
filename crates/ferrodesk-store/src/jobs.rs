//! The outbox: jobs queued in the transaction of the change that causes them, and claimed by
//! delivery workers. A claim takes a lease: a worker that dies leaves its jobs to be claimed
//! again when the lease ends (so a job may run once more, never zero times). Claims run in the
//! serial write transaction (see `Store::begin`) and repeat their condition in the `UPDATE`,
//! so two workers — in one process or in several on one PostgreSQL — never hold one job at
//! once; on PostgreSQL the candidates are also read `FOR UPDATE SKIP LOCKED`.

use crate::sql::Sql;
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

/// A claimed job.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// What to do (`mail`, `notify`).
    pub kind: String,
    /// Its parameters (JSON).
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Queued.
    pub created_at: Micros,
    /// The lease this claim holds: finishing checks it, so a worker whose lease ran out and
    /// whose job another worker claimed cannot mark it done or failed.
    pub locked_until: Micros,
}

/// Claims up to `limit` due jobs of `kinds` until `now + lease`, oldest due first.
pub async fn claim(
    c: &mut Conn,
    kinds: &[&str],
    now: Micros,
    lease: Micros,
    limit: i64,
) -> Result<Vec<Job>> {
    let postgres = c.backend_name().to_ascii_lowercase().contains("postgres");
    let due = |q: &mut Sql| {
        q.push("done_at IS NULL AND failed_at IS NULL AND run_at <= ")
            .push_bind(now)
            .push(" AND (locked_until IS NULL OR locked_until <= ")
            .push_bind(now)
            .push(")");
    };
    let mut q = Sql::new("UPDATE jobs SET locked_until = ");
    q.push_bind(now + lease)
        .push(", attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE ");
    due(&mut q);
    q.push(" AND kind IN (")
        .push_words(&kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>())
        .push(") ORDER BY run_at, id LIMIT ")
        .push_bind(limit);
    // SQLite has no row locks (its writers are serial); PostgreSQL skips rows another
    // worker is claiming instead of waiting for them.
    q.push(if postgres {
        " FOR UPDATE SKIP LOCKED) AND "
    } else {
        ") AND "
    });
    due(&mut q);
    q.push(" RETURNING id, kind, payload, attempts, created_at, locked_until");
    let mut jobs: Vec<Job> = q.query_as().fetch_all(c).await?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// How a claimed job's attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Delivered.
    Done,
    /// To run again at `run_at`; why this attempt failed.
    Retry {
        /// When.
        run_at: Micros,
        /// Why.
        error: &'a str,
    },
    /// Given up, with why.
    Failed {
        /// Why.
        error: &'a str,
    },
}

/// Ends a claimed job's attempt with `outcome` (its claim released); false when the claim
/// was lost (its lease ended and another worker holds the job now), and nothing changes.
pub async fn settle(c: &mut Conn, job: &Job, now: Micros, outcome: Outcome<'_>) -> Result<bool> {
    let (done_at, failed_at, run_at, error) = match outcome {
        Outcome::Done => (Some(now), None, None, None),
        Outcome::Retry { run_at, error } => (None, None, Some(run_at), Some(error)),
        Outcome::Failed { error } => (None, Some(now), None, Some(error)),
    };
    let n = sqlx::query(
        "UPDATE jobs SET done_at = $1, failed_at = $2, run_at = COALESCE($3, run_at), \
         last_error = $4, locked_until = NULL \
         WHERE id = $5 AND locked_until = $6 AND done_at IS NULL",
    )
    .bind(done_at)
    .bind(failed_at)
    .bind(run_at)
    .bind(error)
    .bind(job.id)
    .bind(job.locked_until)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Which jobs a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Not delivered yet (due now or later, or being delivered).
    Pending,
    /// Given up.
    Failed,
    /// Delivered.
    Done,
}

/// A job as an admin sees it in the outbox.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredJob {
    /// Id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Its parameters (JSON).
    pub payload: String,
    /// Next attempt (pending jobs).
    pub run_at: Micros,
    /// Attempts so far.
    pub attempts: i64,
    /// Delivered.
    pub done_at: Option<Micros>,
    /// Given up.
    pub failed_at: Option<Micros>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: Micros,
}

/// Jobs in `state` with ids below `before`, newest first.
pub async fn list(
    c: &mut Conn,
    state: JobState,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredJob>> {
    let condition = match state {
        JobState::Pending => "done_at IS NULL AND failed_at IS NULL",
        JobState::Failed => "failed_at IS NOT NULL",
        JobState::Done => "done_at IS NOT NULL",
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, kind, payload, run_at, attempts, done_at, failed_at, last_error, created_at \
         FROM jobs WHERE {condition} AND id < $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(c)
    .await?)
}

/// Queues a failed job again, due now; false when it is not failed (or does not exist).
pub async fn requeue(c: &mut Conn, id: i64, now: Micros) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET failed_at = NULL, run_at = $1, locked_until = NULL \
         WHERE id = $2 AND failed_at IS NOT NULL",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The state of job `id`, if it exists.
pub async fn state_of(c: &mut Conn, id: i64) -> Result<Option<JobState>> {
    let row: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT done_at, failed_at FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?;
    Ok(row.map(|(done, failed)| match (done, failed) {
        (Some(_), _) => JobState::Done,
        (None, Some(_)) => JobState::Failed,
        (None, None) => JobState::Pending,
    }))
}

/// A job's parameters (JSON), if it exists.
pub async fn payload(c: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT payload FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(c)
        .await?)
}

/// Marks a mail job failed after its message bounced (it was delivered to the next server,
/// which later gave up): the admin sees the bounce's reason. False when no such job.
pub async fn bounced(c: &mut Conn, id: i64, now: Micros, error: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET failed_at = $1, last_error = $2, done_at = NULL, locked_until = NULL \
         WHERE id = $3 AND kind IN ('mail', 'notify')",
    )
    .bind(now)
    .bind(error)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Deletes up to `limit` jobs delivered before `before` (failed and pending ones stay); how
/// many went.
pub async fn purge_done(c: &mut Conn, before: Micros, limit: i64) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE done_at IS NOT NULL \
         AND done_at < $1 ORDER BY done_at LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await?
    .rows_affected())
}
