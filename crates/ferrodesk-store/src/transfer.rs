//! Export and import of every table as JSON lines, and an online SQLite backup. The export is
//! one consistent snapshot (one read transaction), taken while the server runs; the import
//! writes it into an empty database of either kind in one transaction, ids, hashes and the
//! audit chain unchanged. Derived tables (the search index, the view counters) are not
//! exported: the import rebuilds them.

use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::{Column, Row};

use crate::sql::Sql;
use crate::{Backend, Conn, Result, Store, StoreError};

/// Every table that holds data of its own, parents before children.
pub const TABLES: &[&str] = &[
    "settings",
    "users",
    "organizations",
    "organization_members",
    "agent_groups",
    "group_members",
    "statuses",
    "status_groups",
    "custom_fields",
    "tickets",
    "ticket_ccs",
    "ticket_tags",
    "ticket_field_values",
    "comments",
    "attachments",
    "sharing_changes",
    "sharing_imports",
    "import_links",
    "rules",
    "views",
    "macros",
    "audit_events",
    "audit_head",
    "api_tokens",
    "sessions",
    "jobs",
    "idempotency_keys",
    "inbound_messages",
];

/// Tables whose `id` column is a PostgreSQL identity that must continue after imported ids.
const IDENTITY_TABLES: &[&str] = &[
    "users",
    "organizations",
    "agent_groups",
    "statuses",
    "custom_fields",
    "tickets",
    "comments",
    "attachments",
    "sharing_changes",
    "rules",
    "views",
    "macros",
    "audit_events",
    "api_tokens",
    "sessions",
    "jobs",
    "inbound_messages",
];

fn decode(row: &sqlx::any::AnyRow, i: usize) -> Result<Value> {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    Err(StoreError::Corrupt(format!(
        "column {} holds a value that is neither integer, text nor real",
        row.column(i).name()
    )))
}

/// Sends every row of `table`, in key order, to `each` (column name → value).
pub async fn export_table(
    c: &mut Conn,
    table: &str,
    mut each: impl FnMut(Map<String, Value>) -> std::io::Result<()>,
) -> Result<u64> {
    if !TABLES.contains(&table) {
        return Err(StoreError::Config(format!(
            "{table} is not an exported table"
        )));
    }
    let q = Sql::new(format!("SELECT * FROM {table} ORDER BY 1, 2"));
    let mut rows = q.query().fetch(c);
    let mut n = 0;
    while let Some(row) = rows.try_next().await? {
        let mut obj = Map::new();
        for (i, col) in row.columns().iter().enumerate() {
            obj.insert(col.name().to_owned(), decode(&row, i)?);
        }
        each(obj).map_err(|e| StoreError::Config(format!("writing the export: {e}")))?;
        n += 1;
    }
    Ok(n)
}

/// Starts the read transaction an export runs in: one snapshot of the whole database.
pub async fn begin_snapshot(store: &Store) -> Result<sqlx::pool::PoolConnection<crate::Any>> {
    let mut c = store.read().await?;
    let begin = match store.backend() {
        Backend::Sqlite => "BEGIN",
        Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    sqlx::query(begin).execute(&mut *c).await?;
    // SQLite takes its snapshot at the first read.
    sqlx::query("SELECT COUNT(*) FROM settings")
        .execute(&mut *c)
        .await?;
    Ok(c)
}

/// Ends the export's read transaction.
pub async fn end_snapshot(mut c: sqlx::pool::PoolConnection<crate::Any>) -> Result<()> {
    sqlx::query("COMMIT").execute(&mut *c).await?;
    Ok(())
}

/// Empties every exported table and the derived ones (an import replaces what migrations
/// seeded: built-in statuses, default rules and views, the audit head).
pub async fn clear(c: &mut Conn) -> Result<()> {
    for table in TABLES.iter().rev() {
        Sql::new(format!("DELETE FROM {table}"))
            .query()
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Inserts `rows` (all with the same columns) into `table`.
pub async fn insert_rows(c: &mut Conn, table: &str, rows: &[Map<String, Value>]) -> Result<()> {
    if !TABLES.contains(&table) {
        return Err(StoreError::Config(format!(
            "{table} is not an exported table"
        )));
    }
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let columns: Vec<&String> = first.keys().collect();
    for name in &columns {
        let plain = name.starts_with(|ch: char| ch.is_ascii_lowercase())
            && name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !plain {
            return Err(StoreError::Config(format!(
                "{table}: {name:?} is not a column name"
            )));
        }
    }
    let names: Vec<&str> = columns.iter().map(|s| s.as_str()).collect();
    let mut q = Sql::new(format!(
        "INSERT INTO {table} ({}) VALUES ",
        names.join(", ")
    ));
    for (r, row) in rows.iter().enumerate() {
        if row.len() != columns.len() {
            return Err(StoreError::Config(format!(
                "{table}: rows with different columns"
            )));
        }
        q.push(if r == 0 { "(" } else { ", (" });
        for (i, name) in columns.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            match row.get(name.as_str()) {
                Some(Value::Null) => q.push("NULL"),
                Some(Value::Number(n)) if n.is_i64() => q.push_bind(n.as_i64()),
                Some(Value::Number(n)) => q.push_bind(n.as_f64()),
                Some(Value::String(s)) => q.push_bind(s.clone()),
                _ => {
                    return Err(StoreError::Config(format!(
                        "{table}.{name}: not an integer, text or null"
                    )));
                }
            };
        }
        q.push(")");
    }
    q.query().execute(c).await?;
    Ok(())
}

/// After an import on PostgreSQL: identities continue after the imported ids.
pub async fn continue_ids(c: &mut Conn, backend: Backend) -> Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    for table in IDENTITY_TABLES {
        Sql::new(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .query()
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The newest migration applied to the database.
pub async fn schema_version(c: &mut Conn) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
            .fetch_one(c)
            .await?,
    )
}

/// Writes a consistent copy of a SQLite database to `path` while it is in use (`VACUUM INTO`).
pub async fn sqlite_backup(store: &Store, path: &str) -> Result<()> {
    if store.backend() != Backend::Sqlite {
        return Err(StoreError::Config(
            "ferrodesk backup copies SQLite databases; back up PostgreSQL with pg_dump (docs/operations.md)"
                .into(),
        ));
    }
    let mut c = store.read().await?;
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(&mut *c)
        .await?;
    Ok(())
}
