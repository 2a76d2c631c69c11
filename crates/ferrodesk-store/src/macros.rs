//! Macros (canned responses): a reply or note text with the properties applying it sets.

use crate::sql::Sql;
use crate::{Conn, Micros, Result};

/// A stored macro.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMacro {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `personal`, `group` or `everyone`.
    pub visibility: String,
    /// Owner of a personal macro.
    pub owner_id: Option<i64>,
    /// Group of a group macro.
    pub group_id: Option<i64>,
    /// The reply or note text.
    pub body: String,
    /// A public reply (true) or a private note.
    pub public: bool,
    /// Status to set.
    pub status_id: Option<i64>,
    /// Priority to set (`low`, `normal`, `high`, `urgent`).
    pub priority: Option<String>,
    /// Group to assign to.
    pub set_group_id: Option<i64>,
    /// Internal group to share with.
    pub internal_group_id: Option<i64>,
    /// Tags to add, as a JSON array.
    pub add_tags: String,
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
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    i64,
);
const COLUMNS: &str = "id, name, visibility, owner_id, group_id, body, public, status_id, priority, \
                       set_group_id, internal_group_id, add_tags, created_at, updated_at";

fn from_row(r: Row) -> StoredMacro {
    StoredMacro {
        id: r.0,
        name: r.1,
        visibility: r.2,
        owner_id: r.3,
        group_id: r.4,
        body: r.5,
        public: r.6 != 0,
        status_id: r.7,
        priority: r.8,
        set_group_id: r.9,
        internal_group_id: r.10,
        add_tags: r.11,
        created_at: r.12,
        updated_at: r.13,
    }
}

/// The macros a user may use, by name: everyone's, their personal ones, their groups'.
pub async fn visible_to(c: &mut Conn, user: i64, groups: &[i64]) -> Result<Vec<StoredMacro>> {
    let mut q = Sql::new(format!("SELECT {COLUMNS} FROM macros WHERE "));
    crate::views::push_visible_to(&mut q, user, groups);
    q.push(" ORDER BY name, id");
    let rows: Vec<Row> = q.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// One macro.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<StoredMacro>> {
    let mut q = Sql::new(format!("SELECT {COLUMNS} FROM macros WHERE id = "));
    q.push_bind(id);
    let row: Option<Row> = q.query_as().fetch_optional(c).await?;
    Ok(row.map(from_row))
}

/// Inserts a macro.
pub async fn insert(c: &mut Conn, m: &StoredMacro) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO macros (name, visibility, owner_id, group_id, body, public, status_id, priority, \
         set_group_id, internal_group_id, add_tags, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(&m.name)
    .bind(&m.visibility)
    .bind(m.owner_id)
    .bind(m.group_id)
    .bind(&m.body)
    .bind(i64::from(m.public))
    .bind(m.status_id)
    .bind(&m.priority)
    .bind(m.set_group_id)
    .bind(m.internal_group_id)
    .bind(&m.add_tags)
    .bind(m.created_at)
    .fetch_one(c)
    .await?)
}

/// Replaces a macro.
pub async fn update(c: &mut Conn, m: &StoredMacro) -> Result<()> {
    sqlx::query(
        "UPDATE macros SET name = $1, visibility = $2, owner_id = $3, group_id = $4, body = $5, public = $6, \
         status_id = $7, priority = $8, set_group_id = $9, internal_group_id = $10, add_tags = $11, \
         updated_at = $12 WHERE id = $13",
    )
    .bind(&m.name)
    .bind(&m.visibility)
    .bind(m.owner_id)
    .bind(m.group_id)
    .bind(&m.body)
    .bind(i64::from(m.public))
    .bind(m.status_id)
    .bind(&m.priority)
    .bind(m.set_group_id)
    .bind(m.internal_group_id)
    .bind(&m.add_tags)
    .bind(m.updated_at)
    .bind(m.id)
    .execute(c)
    .await?;
    Ok(())
}

/// Deletes a macro.
pub async fn delete(c: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM macros WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}
