//! Saved agent views; the definition (conditions, sort, columns) is JSON text.

use crate::sql::Sql;
use crate::{Conn, Micros, Result};

/// A stored view.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `personal`, `group` or `everyone`.
    pub visibility: String,
    /// Owner of a personal view.
    pub owner_id: Option<i64>,
    /// Group of a group view.
    pub group_id: Option<i64>,
    /// One of the default views.
    pub built_in: bool,
    /// Order.
    pub position: i64,
    /// Conditions, sort and columns as JSON.
    pub definition: String,
    /// Created.
    pub created_at: Micros,
    /// Last changed.
    pub updated_at: Micros,
}

type Row = (
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    String,
    i64,
    i64,
);
const COLUMNS: &str = "id, name, visibility, owner_id, group_id, built_in, position, definition, created_at, updated_at";

fn from_row(r: Row) -> StoredView {
    StoredView {
        id: r.0,
        name: r.1,
        visibility: r.2,
        owner_id: r.3,
        group_id: r.4,
        built_in: r.5 != 0,
        position: r.6,
        definition: r.7,
        created_at: r.8,
        updated_at: r.9,
    }
}

/// Who may use a shared row (a view or a macro): everyone's, the user's personal ones, their
/// groups'.
pub(crate) fn push_visible_to(q: &mut Sql, user: i64, groups: &[i64]) {
    q.push("(visibility = 'everyone' OR (visibility = 'personal' AND owner_id = ")
        .push_bind(user)
        .push(")");
    if !groups.is_empty() {
        q.push(" OR (visibility = 'group' AND group_id IN (")
            .push_ids(groups)
            .push("))");
    }
    q.push(")");
}

/// The views a user may use: everyone's, their personal ones, their groups'.
pub async fn visible_to(c: &mut Conn, user: i64, groups: &[i64]) -> Result<Vec<StoredView>> {
    let mut q = Sql::new(format!("SELECT {COLUMNS} FROM views WHERE "));
    push_visible_to(&mut q, user, groups);
    q.push(" ORDER BY position, id");
    let rows: Vec<Row> = q.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// One view.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<StoredView>> {
    let mut q = Sql::new(format!("SELECT {COLUMNS} FROM views WHERE id = "));
    q.push_bind(id);
    let row: Option<Row> = q.query_as().fetch_optional(c).await?;
    Ok(row.map(from_row))
}

/// Inserts a view.
pub async fn insert(c: &mut Conn, v: &StoredView) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO views (name, visibility, owner_id, group_id, built_in, position, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&v.name)
    .bind(&v.visibility)
    .bind(v.owner_id)
    .bind(v.group_id)
    .bind(v.position)
    .bind(&v.definition)
    .bind(v.created_at)
    .fetch_one(c)
    .await?)
}

/// Replaces a view.
pub async fn update(c: &mut Conn, v: &StoredView) -> Result<()> {
    sqlx::query(
        "UPDATE views SET name = $1, visibility = $2, owner_id = $3, group_id = $4, position = $5, definition = $6, \
         updated_at = $7 WHERE id = $8",
    )
    .bind(&v.name)
    .bind(&v.visibility)
    .bind(v.owner_id)
    .bind(v.group_id)
    .bind(v.position)
    .bind(&v.definition)
    .bind(v.updated_at)
    .bind(v.id)
    .execute(c)
    .await?;
    Ok(())
}

/// Deletes a view.
pub async fn delete(c: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM views WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}
