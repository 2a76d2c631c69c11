//! The outbox: jobs queued in the transaction of the change that causes them, and claimed by
//! delivery workers. A claim takes a lease: a worker that dies leaves its jobs to be claimed
//! again when the lease ends (so a job may run once more, never zero times). Claims run in the
//! serial write transaction (see `Store::begin`) and repeat their condition in the `UPDATE`,
//! so two workers — in one process or in several on one PostgreSQL — never hold one job at
//! once; on PostgreSQL the candidates are also read `FOR UPDATE SKIP LOCKED`.

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
#[derive(Debug, Clone, PartialEq)]
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
    let kinds_json = to_json(&kinds);
    let due = "done_at IS NULL AND failed_at IS NULL AND run_at <= $1 \
               AND (locked_until IS NULL OR locked_until <= $1)";
    let kind_in = if postgres {
        "kind IN (SELECT json_array_elements_text($3::json))"
    } else {
        "kind IN (SELECT value FROM json_each($3))"
    };
    let skip = if postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let rows: Vec<(i64, String, String, i64, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE {due} AND {kind_in} \
             ORDER BY run_at, id LIMIT $4{skip}) AND {due} \
             RETURNING id, kind, payload, attempts, created_at, locked_until"
        )))
        .bind(now)
        .bind(now + lease)
        .bind(kinds_json)
        .bind(limit)
        .fetch_all(c)
        .await?;
    let mut jobs: Vec<Job> = rows
        .into_iter()
        .map(
            |(id, kind, payload, attempts, created_at, locked_until)| Job {
                id,
                kind,
                payload,
                attempts,
                created_at,
                locked_until,
            },
        )
        .collect();
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Marks a claimed job done; false when the claim was lost (its lease ended and another
/// worker holds the job now).
pub async fn finish(c: &mut Conn, job: &Job, now: Micros) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = NULL \
         WHERE id = $2 AND locked_until = $3 AND done_at IS NULL",
    )
    .bind(now)
    .bind(job.id)
    .bind(job.locked_until)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Puts a claimed job back to run again at `run_at`, with why this attempt failed.
pub async fn retry(c: &mut Conn, job: &Job, run_at: Micros, error: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 \
         WHERE id = $3 AND locked_until = $4 AND done_at IS NULL",
    )
    .bind(run_at)
    .bind(error)
    .bind(job.id)
    .bind(job.locked_until)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Gives a claimed job up: failed, with why, for an admin to see.
pub async fn fail(c: &mut Conn, job: &Job, now: Micros, error: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET failed_at = $1, locked_until = NULL, last_error = $2 \
         WHERE id = $3 AND locked_until = $4 AND done_at IS NULL",
    )
    .bind(now)
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
#[derive(Debug, Clone, PartialEq)]
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
    type Row = (
        i64,
        String,
        String,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, kind, payload, run_at, attempts, done_at, failed_at, last_error, created_at \
         FROM jobs WHERE {condition} AND id < $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, payload, run_at, attempts, done_at, failed_at, last_error, created_at)| {
                StoredJob {
                    id,
                    kind,
                    payload,
                    run_at,
                    attempts,
                    done_at,
                    failed_at,
                    last_error,
                    created_at,
                }
            },
        )
        .collect())
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
