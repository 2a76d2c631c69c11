//! Attachment metadata: an upload waiting for its comment (found by its token's hash, only by
//! its uploader, until it expires), the attachments of comments (one query for a page of
//! comments), and what a download needs to ask the access policy.

use crate::sql::Sql;
use crate::{Conn, Micros, Result};

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Attachment {
    /// Id.
    pub id: i64,
    /// The comment it belongs to (none while it waits as an upload).
    pub comment_id: Option<i64>,
    /// That comment's ticket.
    pub ticket_id: Option<i64>,
    /// The file's name, made safe when uploaded.
    pub file_name: String,
    /// The content type given when uploaded.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes (hex): where the bytes are.
    pub sha256: String,
    /// Who uploaded it.
    pub uploader_id: i64,
    /// Uploaded.
    pub created_at: Micros,
    /// Who redacted it.
    pub redacted_by: Option<i64>,
    /// When.
    pub redacted_at: Option<Micros>,
}

const COLUMNS: &str = "id, comment_id, ticket_id, file_name, content_type, size, sha256, \
                       uploader_id, created_at, redacted_by, redacted_at";

/// A new upload.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    /// SHA-256 of the upload token.
    pub token_hash: &'a str,
    /// Safe file name.
    pub file_name: &'a str,
    /// Content type.
    pub content_type: &'a str,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes.
    pub sha256: &'a str,
    /// Uploader.
    pub uploader_id: i64,
    /// Now.
    pub created_at: Micros,
}

/// Records an upload; its id.
pub async fn insert_upload(c: &mut Conn, u: &NewUpload<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO attachments (token_hash, file_name, content_type, size, sha256, \
         uploader_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(u.token_hash)
    .bind(u.file_name)
    .bind(u.content_type)
    .bind(u.size)
    .bind(u.sha256)
    .bind(u.uploader_id)
    .bind(u.created_at)
    .fetch_one(c)
    .await?)
}

/// The waiting uploads of `uploader` with these token hashes, created at or after `since`.
pub async fn waiting_uploads(
    c: &mut Conn,
    uploader: i64,
    token_hashes: &[String],
    since: Micros,
) -> Result<Vec<(String, Attachment)>> {
    if token_hashes.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(format!(
        "SELECT token_hash, {COLUMNS} FROM attachments WHERE comment_id IS NULL AND uploader_id = "
    ));
    q.push_bind(uploader)
        .push(" AND created_at >= ")
        .push_bind(since)
        .push(" AND token_hash IN (")
        .push_words(token_hashes)
        .push(")");
    let rows: Vec<TokenRow> = q.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(|r| (r.token_hash, r.a)).collect())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    token_hash: String,
    #[sqlx(flatten)]
    a: Attachment,
}

/// Gives waiting uploads to a comment (their tokens are used up); how many were still
/// waiting — fewer than asked when another comment took one meanwhile.
pub async fn attach(c: &mut Conn, ids: &[i64], comment: i64, ticket: i64) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut q = Sql::new("UPDATE attachments SET token_hash = NULL, comment_id = ");
    q.push_bind(comment)
        .push(", ticket_id = ")
        .push_bind(ticket)
        .push(" WHERE comment_id IS NULL AND id IN (")
        .push_ids(ids)
        .push(")");
    Ok(q.query().execute(c).await?.rows_affected())
}

/// The attachments of these comments, by comment and id.
pub async fn of_comments(c: &mut Conn, comments: &[i64]) -> Result<Vec<Attachment>> {
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(format!(
        "SELECT {COLUMNS} FROM attachments WHERE comment_id IN ("
    ));
    q.push_ids(comments).push(") ORDER BY comment_id, id");
    Ok(q.query_as().fetch_all(c).await?)
}

/// An attachment and whether its comment is public.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<(Attachment, bool)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        a: Attachment,
        public: i64,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT a.{}, m.public FROM attachments a JOIN comments m ON m.id = a.comment_id \
         WHERE a.id = $1",
        COLUMNS.replace(", ", ", a.")
    )))
    .bind(id)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| (r.a, r.public != 0)))
}

/// Whether any attachment other than `except` still needs the bytes with this hash.
pub async fn hash_in_use(c: &mut Conn, sha256: &str, except: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM attachments WHERE sha256 = $1 AND id <> $2 AND redacted_at IS NULL",
    )
    .bind(sha256)
    .bind(except)
    .fetch_one(c)
    .await?;
    Ok(n > 0)
}

/// Deletes up to `limit` uploads no comment took, made before `before`: how many, and the
/// hashes whose bytes no attachment needs any more (to delete from storage).
pub async fn expire_uploads(
    c: &mut Conn,
    before: Micros,
    limit: i64,
) -> Result<(usize, Vec<String>)> {
    let gone: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, sha256 FROM attachments WHERE comment_id IS NULL AND created_at < $1 \
         ORDER BY created_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    if gone.is_empty() {
        return Ok((0, Vec::new()));
    }
    let ids: Vec<i64> = gone.iter().map(|(id, _)| *id).collect();
    let mut q = Sql::new("DELETE FROM attachments WHERE comment_id IS NULL AND id IN (");
    q.push_ids(&ids).push(")");
    q.query().execute(&mut *c).await?;
    let mut unused = Vec::new();
    for (_, sha) in &gone {
        if !unused.contains(sha) && !hash_in_use(c, sha, 0).await? {
            unused.push(sha.clone());
        }
    }
    Ok((gone.len(), unused))
}

/// Marks an attachment redacted by `by` at `at` (its metadata stays); false when it already
/// was.
pub async fn redact(c: &mut Conn, id: i64, by: i64, at: Micros) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE attachments SET redacted_by = $1, redacted_at = $2 \
         WHERE id = $3 AND redacted_at IS NULL",
    )
    .bind(by)
    .bind(at)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The hashes of every stored file an attachment still needs (exports copy them).
pub async fn stored_hashes(c: &mut Conn) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT sha256 FROM attachments WHERE redacted_at IS NULL ORDER BY sha256",
    )
    .fetch_all(c)
    .await?)
}
