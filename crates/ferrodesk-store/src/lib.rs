//! Ferrodesk's storage on SQLite and PostgreSQL.
//!
//! Both backends are reached through sqlx's `Any` driver, so one SQL text serves both
//! wherever the dialects agree (they accept `$1` placeholders, `RETURNING` and
//! `ON CONFLICT`); ids and timestamps are 64-bit integers on both. What truly differs
//! (DDL) lives in the per-backend migration folders. Every function here takes an open
//! connection or transaction: the use-case layer owns transaction boundaries.

pub mod admin;
pub mod attachments;
pub mod audit;
pub mod bulk;
pub mod cache;
pub mod directory;
pub mod idempotency;
pub mod imports;
pub mod inbound;
pub mod initial_load;
pub mod jobs;
pub mod macros;
pub mod rules;
pub mod scope;
pub mod search;
pub mod seen;
pub mod sharing;
pub mod signed;
mod sql;
mod ticket_rows;
pub mod tickets;
pub mod transfer;
pub mod view_query;
pub mod views;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use sqlx::AnyConnection as Conn;
pub use sqlx::any::Any;

/// An open transaction; commit it or it rolls back when dropped.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (one file, WAL).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "database URL must start with sqlite:// or postgres://, got {url:?}"
            )))
        }
    }

    /// The backend's name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A storage failure. Constraint violations are told apart so the app can answer 409/422.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; carries the constraint's name (or the columns, on SQLite).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A foreign key pointed at nothing.
    #[error("foreign key violated: {0}")]
    ForeignKey(String),
    /// Optimistic concurrency: the row changed since it was read.
    #[error("the row was changed by someone else")]
    Stale,
    /// A row that must exist does not.
    #[error("not found")]
    NotFound,
    /// An earlier request with the same idempotency key committed first (see [`idempotency`]).
    #[error("the idempotency key was used by an earlier request")]
    KeyUsed,
    /// Bad configuration (database URL).
    #[error("{0}")]
    Config(String),
    /// Stored data that does not parse (should never happen).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Foreign keys an initial load dropped did not validate when added back (each named, with
    /// the database's reason); they stay added but not validated (see [`initial_load`]).
    #[error("foreign keys added back after the initial load do not validate: {0}")]
    NotRestored(String),
    /// Any other database error.
    #[error(transparent)]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let name = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned());
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return StoreError::Unique(name),
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::ForeignKey(name);
                }
                _ => {}
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound;
        }
        StoreError::Db(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Db(sqlx::Error::Migrate(Box::new(e)))
    }
}

/// Result of a storage call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database: a pool for reads and a pool for write transactions.
///
/// Write transactions are serial on both databases, so that every read-check-write a use case
/// does inside one sees the latest committed state and no other writer between its read and
/// its write: on SQLite the write pool has one connection and begins with `BEGIN IMMEDIATE`
/// (which also serialises writers of other processes); on PostgreSQL each write transaction
/// first locks the audit chain's head row, which every write needs anyway, so several
/// `serve` processes on one database queue on the same lock. See docs/architecture.md
/// "Concurrency".
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    cache: std::sync::Arc<DirectoryCache>,
}

/// How much of a SQLite database file each read connection maps into memory (`mmap_size`): a
/// read then takes its pages from the kernel's page cache instead of copying each in through a
/// system call. The writer maps nothing; docs/operations.md says how the mapped pages show in RSS.
const READ_MMAP_BYTES: i64 = 1 << 32;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://path` creates the file; `postgres://…`).
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') && !url.contains(":memory:") => {
                format!("{url}?mode=rwc")
            }
            _ => url.to_owned(),
        };
        let opts = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("bad database URL: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        // SQLite's page cache, per connection (`cache_size`, KiB when negative). The one writer
        // gets 64 MiB instead of the default 2: a transaction that inserts many rows (an
        // import's page of a thousand tickets, each in some twenty indexes) otherwise evicts
        // the index pages it needs again, reads them back through the kernel and spills dirty
        // pages to the WAL before it commits — a third of the SQLite writer's time at 100,000
        // tickets (bench/results/2026-12-02-s10-import-write.md). Pages are only taken as used.
        let pool = |max: u32, cache_kib: i64, mmap_bytes: i64| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(sqlx::AssertSqlSafe(format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000; \
                                 PRAGMA cache_size = -{cache_kib}; PRAGMA mmap_size = {mmap_bytes};"
                            )))
                            .await?;
                        }
                        Ok(())
                    })
                })
        };
        let (read, write) = match backend {
            Backend::Sqlite => {
                let write = pool(1, 65_536, 0).connect_with(opts.clone()).await?;
                let read = pool(8, 2_000, READ_MMAP_BYTES).connect_with(opts).await?;
                (read, write)
            }
            Backend::Postgres => {
                // Writers queue on one lock: a few connections are enough for them, and
                // readers keep their own pool instead of waiting behind queued writers.
                let write = pool(6, 0, 0).connect_with(opts.clone()).await?;
                let read = pool(16, 0, 0).connect_with(opts).await?;
                (read, write)
            }
        };
        Ok(Store {
            read,
            write,
            backend,
            cache: Default::default(),
        })
    }

    /// Applies the migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.write).await?,
        }
        // Data the SQL migrations cannot compute.
        let mut tx = self.begin().await?;
        directory::backfill_email_skeletons(&mut tx).await?;
        tx.commit().await?;
        // What an interrupted initial load dropped. A foreign key that does not validate
        // is said loudly but does not keep the desk from starting: it is added back (it holds
        // for new rows), only the old rows were not checked (docs/operations.md "Imports").
        match initial_load::restore_interrupted(self).await {
            Err(StoreError::NotRestored(keys)) => {
                tracing::error!(
                    "after an interrupted initial load, foreign keys added back do not validate: {keys}"
                );
                Ok(())
            }
            other => other,
        }
    }

    /// A session of its own for a long task that holds session state (an initial load's
    /// advisory lock): taken out of the write pool, closed when dropped.
    pub async fn session(&self) -> Result<Conn> {
        Ok(self.write.acquire().await?.detach())
    }

    /// What requests keep per directory generation (see [`cache`]).
    pub fn cache(&self) -> &DirectoryCache {
        &self.cache
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction, once every earlier write transaction has ended (see
    /// [`Store`]). Inside a request with an idempotency key, the key is claimed in it.
    pub async fn begin(&self) -> Result<Tx> {
        let scope = idempotency::current();
        if let Some(parked) = scope.as_ref().and_then(|s| s.take_parked()) {
            tracing::warn!("a use case began a second write transaction; committing the first");
            parked.commit().await?;
        }
        let mut tx = self.begin_unscoped().await?;
        if let Some(scope) = scope {
            scope.claim_in(&mut tx).await?;
        }
        Ok(tx)
    }

    /// Starts a write transaction that is no part of the request's change (marking a session
    /// or token as used while authenticating it): it never claims the request's idempotency
    /// key; commit it with `Tx::commit`.
    pub async fn begin_unscoped(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                audit::lock_head(&mut tx).await?;
                tx
            }
        })
    }

    /// A connection for one statement that is no part of any audited change (when someone
    /// last looked at a ticket, `seen::record`): no transaction, and on PostgreSQL not the
    /// audit head's lock, so it neither waits for the desk's writers nor makes them wait.
    /// Only for a statement that is right on its own whatever runs beside it (an upsert
    /// that never moves a value back); nothing is read through it to decide a write.
    pub async fn side_write(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(match self.backend {
            // SQLite has one writer: its connection, the statement alone in its own
            // implicit transaction (no `BEGIN IMMEDIATE` held around it).
            Backend::Sqlite => self.write.acquire().await?,
            // Not the write pool, whose few connections may all be queued on the audit
            // lock: a short autocommit statement on the larger pool.
            Backend::Postgres => self.read.acquire().await?,
        })
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.read.acquire().await?)
    }

    /// Closes both pools.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The directory facts a store keeps between requests, per directory generation (see
/// [`cache`]; shared by the store's clones).
#[derive(Debug, Default)]
pub struct DirectoryCache {
    /// Each user's groups and organizations (with their sharing).
    pub links: cache::PerUser<Vec<directory::Link>>,
    /// The statuses with their mapped groups.
    pub statuses: cache::Slot<Vec<directory::Status>>,
    /// The custom field definitions.
    pub custom_fields: cache::Slot<Vec<tickets::CustomField>>,
    /// The active rules, in evaluation order.
    pub active_rules: cache::Slot<Vec<rules::StoredRule>>,
    /// How searches use the PostgreSQL index (its common words, kept by time, not by
    /// generation): it only chooses how a search finds its matches (see [`search::Planner`]).
    pub search_planner: search::Planner,
}

/// Microseconds since the Unix epoch, as stored.
pub type Micros = i64;

/// Reads a JSON text column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Writes a JSON text column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data always serializes")
}

/// Parses a stored vocabulary word.
pub(crate) fn word<T: FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("unexpected stored value {s:?}")))
}

#[cfg(test)]
mod tests {
    fn names(dir: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_migration_exists_for_both_databases() {
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let sqlite = names(&format!("{base}/sqlite"));
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names(&format!("{base}/postgres")));
    }
}

/// Settings: small key/value configuration kept in the database.
pub mod settings {
    use super::{Conn, Result};

    /// Reads a setting.
    pub async fn get(c: &mut Conn, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(c)
                .await?,
        )
    }

    /// Every setting, as (key, value).
    pub async fn all(c: &mut Conn) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(c)
            .await?)
    }

    /// Removes a setting (its default applies again).
    pub async fn remove(c: &mut Conn, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Writes a setting.
    pub async fn set(c: &mut Conn, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(c)
        .await?;
        Ok(())
    }
}
