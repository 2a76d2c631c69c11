//! An initial load into an empty desk on PostgreSQL, as `pg_restore` does it: before the first
//! page of tickets, the secondary indexes (non-unique, backing no constraint) and the foreign
//! keys of the tables the pages fill ([`LOAD_TABLES`]) are recorded, exactly as the catalogue
//! gives them (`pg_get_indexdef`, `pg_get_constraintdef`), in `load_held_definitions` and
//! dropped, in one transaction; at the end they are built again in one step, the foreign keys
//! validated. Each row then costs its table and unique indexes only: no per-row foreign key
//! check (a `SELECT … FOR KEY SHARE` per key per row, two thirds of a ticket's insert) and no
//! secondary index entries (a fifth of the machine), which are built once, sorted.
//!
//! The primary keys and unique indexes stay: the import relies on them (`import_links`,
//! `search_fill`, the ids). Only an importer that checks every reference itself before writing
//! may use this (the ticket importers do), and only into an empty `tickets` table.
//!
//! The load holds a PostgreSQL advisory lock ([`LOAD_LOCK`]) on its own session for its whole
//! run. A load that never reaches its end (the process killed, the machine down) leaves its
//! rows in `load_held_definitions`; [`restore_interrupted`] — run by [`crate::Store::migrate`],
//! i.e. at the start of every `ferrodesk` command — adds them back when no load holds the lock.
//! A load that fails adds them back before it returns its error.

use sqlx::{Connection, Row};

use crate::sql::Sql;
use crate::{Backend, Conn, Result, Store, StoreError};

/// The tables an importer's ticket pages fill (`bulk::insert_tickets`), whose secondary
/// indexes and foreign keys a load drops. Not `audit_events` (the chain's own checks read it)
/// nor `import_links` (its key is what makes a rerun import nothing twice).
pub const LOAD_TABLES: &[&str] = &[
    "tickets",
    "ticket_ccs",
    "ticket_tags",
    "ticket_field_values",
    "comments",
    "ticket_search",
    "search_fill",
];

/// The advisory lock a running load holds on its session ("fdload" in ASCII).
const LOAD_LOCK: i64 = 0x6664_6c6f_6164;

/// An index or a foreign key a load drops, as the catalogue defines it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Definition {
    /// `foreign_key` or `index`.
    pub kind: String,
    /// The table it is on.
    pub table: String,
    /// Its name.
    pub name: String,
    /// `pg_get_indexdef` (a `CREATE INDEX` statement) or `pg_get_constraintdef` (what follows
    /// `ADD CONSTRAINT name`).
    pub definition: String,
}

/// A load in progress: its own session, holding [`LOAD_LOCK`]. End it with [`Load::finish`];
/// dropped unfinished (a panic), its session closes and the next start adds back what it held.
#[derive(Debug)]
pub struct Load {
    session: Conn,
    /// For a second session at the end (see [`Load::finish`]).
    store: Store,
    held: usize,
}

/// The secondary indexes and foreign keys of [`LOAD_TABLES`] (in the current schema), by
/// kind, table and name.
pub async fn definitions(c: &mut Conn) -> Result<Vec<Definition>> {
    let tables: Vec<String> = LOAD_TABLES.iter().map(|t| (*t).to_owned()).collect();
    let mut q = Sql::new(
        "SELECT 'index' AS kind, t.relname::text AS table_name, i.relname::text AS name, \
         pg_get_indexdef(x.indexrelid) AS definition \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         WHERE t.relnamespace = current_schema()::regnamespace AND NOT x.indisunique \
         AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
         WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid) AND t.relname IN (",
    );
    q.push_words(&tables).push(
        ") UNION ALL \
         SELECT 'foreign_key', t.relname::text, k.conname::text, pg_get_constraintdef(k.oid) \
         FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid \
         WHERE t.relnamespace = current_schema()::regnamespace AND k.contype = 'f' \
         AND t.relname IN (",
    );
    q.push_words(&tables).push(") ORDER BY 1, 2, 3");
    let rows = q.query().fetch_all(&mut *c).await?;
    rows.iter().map(definition_of).collect()
}

fn definition_of(r: &sqlx::any::AnyRow) -> Result<Definition> {
    Ok(Definition {
        kind: r.try_get("kind")?,
        table: r.try_get("table_name")?,
        name: r.try_get("name")?,
        definition: r.try_get("definition")?,
    })
}

/// What loads dropped and have not added back (validated) yet.
pub async fn held(c: &mut Conn) -> Result<Vec<Definition>> {
    let rows = sqlx::query(
        "SELECT kind, table_name, name, definition FROM load_held_definitions \
         ORDER BY kind, table_name, name",
    )
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(definition_of).collect()
}

/// `name` quoted as a PostgreSQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Starts a load when this is PostgreSQL, `tickets` is empty, no other load runs and none
/// left anything to add back: records and drops the definitions (see the module), at `now`.
/// `None` otherwise: the pages are written with everything in place.
pub async fn begin(store: &Store, now: i64) -> Result<Option<Load>> {
    if store.backend() != Backend::Postgres {
        return Ok(None);
    }
    let mut session = store.session().await?;
    if !try_lock(&mut session).await? {
        return Ok(None);
    }
    let mut tx = session.begin().await?;
    // No ticket can be written between the check and the drops.
    sqlx::query("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let empty: bool = sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM tickets) \
         AND NOT EXISTS (SELECT 1 FROM load_held_definitions)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !empty {
        tx.rollback().await?;
        session.close().await?;
        return Ok(None);
    }
    let definitions = definitions(&mut tx).await?;
    for d in &definitions {
        sqlx::query(
            "INSERT INTO load_held_definitions (kind, table_name, name, definition, held_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&d.kind)
        .bind(&d.table)
        .bind(&d.name)
        .bind(&d.definition)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    // Foreign keys before indexes (`definitions` orders them so).
    for d in &definitions {
        let drop = match d.kind.as_str() {
            "foreign_key" => format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                ident(&d.table),
                ident(&d.name)
            ),
            _ => format!("DROP INDEX {}", ident(&d.name)),
        };
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(Load {
        session,
        store: store.clone(),
        held: definitions.len(),
    }))
}

impl Load {
    /// How many indexes and foreign keys the load dropped.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Adds back what the load dropped (see [`add_back`]) and ends it, on two sessions at
    /// once: the tables with a held GIN index (`ticket_search`: its two GIN builds are half of
    /// the work, and one build uses one core) on a second session, every other table on the
    /// load's own. The two parts share no table; the only lock they both take is on
    /// `tickets`, the table every foreign key refers to, so one may wait for the other's
    /// commit but never the other way round as well.
    pub async fn finish(mut self) -> Result<()> {
        let added = add_back_split(&self.store, &mut self.session).await;
        let closed = self.session.close().await;
        added?;
        Ok(closed?)
    }
}

/// At the start of a command: adds back what an interrupted load left in
/// `load_held_definitions`, unless a load is running (it adds them back itself at its end).
pub async fn restore_interrupted(store: &Store) -> Result<()> {
    if store.backend() != Backend::Postgres {
        return Ok(());
    }
    let mut session = store.session().await?;
    let pending: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM load_held_definitions)")
        .fetch_one(&mut session)
        .await?;
    if !pending || !try_lock(&mut session).await? {
        session.close().await?;
        return Ok(());
    }
    tracing::warn!("an initial load was interrupted: adding back its indexes and foreign keys");
    let added = add_back(&mut session, Part::All).await;
    let closed = session.close().await;
    added?;
    Ok(closed?)
}

/// Whether this session got [`LOAD_LOCK`] (held until the session closes).
async fn try_lock(session: &mut Conn) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOAD_LOCK)
        .fetch_one(&mut *session)
        .await?)
}

/// Which of the held definitions one [`add_back`] takes: all, or those of the tables named or
/// of every other table.
#[derive(Debug, Clone, Copy)]
enum Part<'a> {
    All,
    Only(&'a [String]),
    Except(&'a [String]),
}

impl Part<'_> {
    /// `AND table_name …` for this part, bound to `q`.
    fn filter(self, q: &mut Sql) {
        match self {
            Part::All => {}
            Part::Only(tables) => {
                q.push(" AND table_name IN (").push_words(tables).push(")");
            }
            Part::Except(tables) => {
                q.push(" AND table_name NOT IN (")
                    .push_words(tables)
                    .push(")");
            }
        }
    }

    fn takes(self, table: &str) -> bool {
        match self {
            Part::All => true,
            Part::Only(tables) => tables.iter().any(|t| t == table),
            Part::Except(tables) => !tables.iter().any(|t| t == table),
        }
    }
}

/// [`add_back`] split in two parts run at once, the second on a session of its own (see
/// [`Load::finish`]); one part when no held index is a GIN index. Fails as [`add_back`] does,
/// with the keys of both parts that do not validate.
async fn add_back_split(store: &Store, session: &mut Conn) -> Result<()> {
    let gin_tables: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT table_name FROM load_held_definitions \
         WHERE kind = 'index' AND definition LIKE '% USING gin %' ORDER BY table_name",
    )
    .fetch_all(&mut *session)
    .await?;
    if gin_tables.is_empty() {
        return add_back(session, Part::All).await;
    }
    let mut second = store.session().await?;
    let (first, other) = tokio::join!(
        add_back(session, Part::Except(&gin_tables)),
        add_back(&mut second, Part::Only(&gin_tables))
    );
    let closed = second.close().await;
    match (first, other) {
        (Ok(()), Ok(())) => Ok(closed?),
        (Err(StoreError::NotRestored(a)), Err(StoreError::NotRestored(b))) => {
            Err(StoreError::NotRestored(format!("{a}; {b}")))
        }
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        // A failure other than a key that does not validate says more.
        (Err(StoreError::NotRestored(_)), Err(e)) | (Err(e), Err(_)) => Err(e),
    }
}

/// Builds the held indexes and adds the held foreign keys of `part` in one transaction (what
/// is already there is left alone: a rerun after a failure in the middle), the keys `NOT
/// VALID` so that they hold for every new row at once; then validates each key on its own and
/// forgets it once valid, and analyzes the part's tables. Fails naming every key that does not
/// validate: it stays, enforced for new rows but not validated, and held, so every start tries
/// again.
async fn add_back(session: &mut Conn, part: Part<'_>) -> Result<()> {
    let mut tx = session.begin().await?;
    // Sorting the index entries in memory instead of on disk.
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    let mut q =
        Sql::new("SELECT kind, table_name, name, definition FROM load_held_definitions WHERE TRUE");
    part.filter(&mut q);
    q.push(" ORDER BY kind DESC, table_name, name FOR UPDATE");
    let held: Vec<Definition> = q
        .query()
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(definition_of)
        .collect::<Result<_>>()?;
    let there: Vec<Definition> = definitions(&mut tx).await?;
    let exists = |d: &Definition| {
        there
            .iter()
            .any(|t| t.kind == d.kind && t.table == d.table && t.name == d.name)
    };
    for d in held.iter().filter(|d| !exists(d)) {
        let add = match d.kind.as_str() {
            "index" => d.definition.clone(),
            _ => format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
                ident(&d.table),
                ident(&d.name),
                d.definition
            ),
        };
        sqlx::query(sqlx::AssertSqlSafe(add))
            .execute(&mut *tx)
            .await?;
    }
    let mut q = Sql::new("DELETE FROM load_held_definitions WHERE kind = 'index'");
    part.filter(&mut q);
    q.query().execute(&mut *tx).await?;
    tx.commit().await?;
    let mut failed = Vec::new();
    for d in held.iter().filter(|d| d.kind == "foreign_key") {
        let validate = format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
            ident(&d.table),
            ident(&d.name)
        );
        match sqlx::query(sqlx::AssertSqlSafe(validate))
            .execute(&mut *session)
            .await
        {
            Ok(_) => forget(session, d).await?,
            Err(e) => failed.push(format!("{} on {}: {e}", d.name, d.table)),
        }
    }
    for table in LOAD_TABLES.iter().filter(|t| part.takes(t)) {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {}", ident(table))))
            .execute(&mut *session)
            .await?;
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(StoreError::NotRestored(failed.join("; ")))
    }
}

/// Removes a validated key from `load_held_definitions`.
async fn forget(session: &mut Conn, d: &Definition) -> Result<()> {
    sqlx::query(
        "DELETE FROM load_held_definitions WHERE kind = $1 AND table_name = $2 AND name = $3",
    )
    .bind(&d.kind)
    .bind(&d.table)
    .bind(&d.name)
    .execute(&mut *session)
    .await?;
    Ok(())
}
