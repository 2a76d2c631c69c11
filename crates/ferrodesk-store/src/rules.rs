//! Stored automation rules; the definition (events, conditions, actions) is JSON text.

use crate::{Conn, Micros, Result};

/// A stored rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Inactive rules never fire.
    pub active: bool,
    /// Order of evaluation.
    pub position: i64,
    /// Events, performer, conditions and actions as JSON.
    pub definition: String,
    /// Created.
    pub created_at: Micros,
    /// Last changed.
    pub updated_at: Micros,
}

type Row = (i64, String, i64, i64, String, i64, i64);

fn from_row(r: Row) -> StoredRule {
    StoredRule {
        id: r.0,
        name: r.1,
        active: r.2 != 0,
        position: r.3,
        definition: r.4,
        created_at: r.5,
        updated_at: r.6,
    }
}

/// Every rule, in evaluation order; only active ones when asked.
pub async fn list(c: &mut Conn, active_only: bool) -> Result<Vec<StoredRule>> {
    let sql = if active_only {
        "SELECT id, name, active, position, definition, created_at, updated_at FROM rules WHERE active = 1 ORDER BY position, id"
    } else {
        "SELECT id, name, active, position, definition, created_at, updated_at FROM rules ORDER BY position, id"
    };
    let rows: Vec<Row> = sqlx::query_as(sql).fetch_all(c).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// One rule.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<StoredRule>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, active, position, definition, created_at, updated_at FROM rules WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?;
    Ok(row.map(from_row))
}

/// Inserts a rule.
pub async fn insert(c: &mut Conn, r: &StoredRule) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rules (name, active, position, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(&r.name)
    .bind(i64::from(r.active))
    .bind(r.position)
    .bind(&r.definition)
    .bind(r.created_at)
    .fetch_one(c)
    .await?)
}

/// Replaces a rule.
pub async fn update(c: &mut Conn, r: &StoredRule) -> Result<()> {
    sqlx::query("UPDATE rules SET name = $1, active = $2, position = $3, definition = $4, updated_at = $5 WHERE id = $6")
        .bind(&r.name)
        .bind(i64::from(r.active))
        .bind(r.position)
        .bind(&r.definition)
        .bind(r.updated_at)
        .bind(r.id)
        .execute(c)
        .await?;
    Ok(())
}

/// Deletes a rule.
pub async fn delete(c: &mut Conn, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM rules WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}
