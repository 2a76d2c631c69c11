//! Idempotency keys: a retried POST with the same key answers what the first one answered,
//! and the request's change happens once.
//!
//! The key lives and dies with the request's own write transaction. A request that carries a
//! key runs inside a [`Scope`] (a task-local the web layer sets):
//! - the first write transaction it begins ([`crate::Store::begin`]) inserts the key's row, in
//!   that transaction, after the write lock is taken; a row that is already there means an
//!   earlier request with the key committed first, and this one stops ([`StoreError::KeyUsed`])
//!   so the caller can replay that answer;
//! - the use case's commit ([`commit`]) does not commit but parks the transaction in the scope;
//! - the web layer renders the answer, writes it into the key's row in the parked transaction and
//!   commits it, or rolls it back when the answer is an error.
//!
//! So a request is acknowledged only after its change and its key's answer are durable together,
//! and a request that was cut off (crash, disconnect) before that leaves neither: its retry runs
//! it once. A use case that writes in two transactions commits the first one when it begins the
//! second (its key row is then committed without an answer, [`Claim::Unanswered`]).

use std::sync::{Arc, Mutex};

use ferrodesk_core::UserId;

use crate::{Conn, Micros, Result, StoreError, Tx};

/// What a key's record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Not used yet: run the request.
    New,
    /// Already answered.
    Done {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: String,
    },
    /// A request with this key changed data but its answer was not recorded (a use case that
    /// commits twice, cut off between its commits).
    Unanswered,
    /// The key was used for a different request body.
    Mismatch,
}

/// One request that carries an idempotency key.
#[derive(Debug)]
pub struct Scope {
    user: UserId,
    key: String,
    route: String,
    request_hash: String,
    now: Micros,
    state: Mutex<ScopeState>,
}

#[derive(Debug, Default)]
struct ScopeState {
    claimed: bool,
    used_by_other: bool,
    parked: Option<Tx>,
}

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

impl Scope {
    /// A scope for `key` of `user` on `route`, for a request whose body hashes to `request_hash`.
    pub fn new(
        user: UserId,
        key: &str,
        route: &str,
        request_hash: &str,
        now: Micros,
    ) -> Arc<Scope> {
        Arc::new(Scope {
            user,
            key: key.to_owned(),
            route: route.to_owned(),
            request_hash: request_hash.to_owned(),
            now,
            state: Mutex::default(),
        })
    }

    /// Runs `f` (the request's handler) inside this scope.
    pub async fn run<F: Future>(self: &Arc<Scope>, f: F) -> F::Output {
        SCOPE.scope(self.clone(), f).await
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ScopeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request's write transaction, parked by [`commit`], if any.
    pub fn take_parked(&self) -> Option<Tx> {
        self.state().parked.take()
    }

    /// Whether the request stopped because an earlier one with the same key committed first.
    pub fn used_by_other(&self) -> bool {
        self.state().used_by_other
    }

    /// Writes the key's row into `tx` the first time the request begins a write transaction.
    pub(crate) async fn claim_in(&self, tx: &mut Conn) -> Result<()> {
        if self.state().claimed {
            return Ok(());
        }
        let n = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, route, status, body, created_at, request_hash) \
             VALUES ($1, $2, $3, 0, '', $4, $5) ON CONFLICT (user_id, key, route) DO NOTHING",
        )
        .bind(self.user.0)
        .bind(&self.key)
        .bind(&self.route)
        .bind(self.now)
        .bind(&self.request_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let mut s = self.state();
        if n == 0 {
            s.used_by_other = true;
            return Err(StoreError::KeyUsed);
        }
        s.claimed = true;
        Ok(())
    }

    /// Records the answer in the parked transaction and commits it.
    pub async fn finish(&self, mut tx: Tx, status: u16, body: &str) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, body = $2 \
             WHERE user_id = $3 AND key = $4 AND route = $5",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(self.user.0)
        .bind(&self.key)
        .bind(&self.route)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The scope of the running request, if it carries a key.
pub(crate) fn current() -> Option<Arc<Scope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// Commits a use case's transaction — or, inside a request with an idempotency key, parks it
/// so that the key's answer is committed with it.
pub async fn commit(tx: Tx) -> Result<()> {
    match current() {
        Some(scope) => {
            let earlier = scope.state().parked.replace(tx);
            debug_assert!(
                earlier.is_none(),
                "begin commits a parked transaction first"
            );
            Ok(())
        }
        None => Ok(tx.commit().await?),
    }
}

/// What an earlier use of `key` left, read outside any transaction.
pub async fn lookup(
    c: &mut Conn,
    user: UserId,
    key: &str,
    route: &str,
    request_hash: &str,
) -> Result<Claim> {
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT status, body, request_hash FROM idempotency_keys \
         WHERE user_id = $1 AND key = $2 AND route = $3",
    )
    .bind(user.0)
    .bind(key)
    .bind(route)
    .fetch_optional(c)
    .await?;
    Ok(match row {
        None => Claim::New,
        Some((_, _, hash)) if hash != request_hash => Claim::Mismatch,
        Some((0, _, _)) => Claim::Unanswered,
        Some((status, body, _)) => Claim::Done {
            status: status as u16,
            body,
        },
    })
}
