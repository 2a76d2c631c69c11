//! What the importers from other helpdesks remember: which local record each source record
//! became (`import_links`), and the sharing modes organizations arrived with
//! (`sharing_imports`), which the sharing register shows until a workflow change follows.

use ferrodesk_core::{OrganizationId, Sharing};

use crate::sql::{Sql, rows_per_statement};
use crate::{Conn, Micros, Result};

/// The local id a source record became, if it was imported (or matched) before.
pub async fn link(c: &mut Conn, source: &str, kind: &str, external: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT local_id FROM import_links WHERE source = $1 AND kind = $2 AND external_id = $3",
    )
    .bind(source)
    .bind(kind)
    .bind(external)
    .fetch_optional(c)
    .await?)
}

/// Every link of one kind from `source`: (external id, local id).
pub async fn links(c: &mut Conn, source: &str, kind: &str) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT external_id, local_id FROM import_links WHERE source = $1 AND kind = $2",
    )
    .bind(source)
    .bind(kind)
    .fetch_all(c)
    .await?)
}

/// Remembers that the source record became `local` (in the transaction that wrote it).
pub async fn set_link(
    c: &mut Conn,
    source: &str,
    kind: &str,
    external: i64,
    local: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_links (source, kind, external_id, local_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(source)
    .bind(kind)
    .bind(external)
    .bind(local)
    .execute(c)
    .await?;
    Ok(())
}

/// Remembers several links of one kind at once: (external id, local id).
pub async fn set_links(c: &mut Conn, source: &str, kind: &str, links: &[(i64, i64)]) -> Result<()> {
    for chunk in links.chunks(rows_per_statement(4)) {
        let mut q = Sql::on(
            c,
            "INSERT INTO import_links (source, kind, external_id, local_id) VALUES ",
        );
        for (i, (external, local)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(source.to_owned())
                .push(", ")
                .push_bind(kind.to_owned())
                .push(", ")
                .push_bind(*external)
                .push(", ")
                .push_bind(*local)
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    Ok(())
}

/// Records the sharing mode an organization arrived with from `vendor` at `source`.
pub async fn record_sharing(
    c: &mut Conn,
    org: OrganizationId,
    sharing: Sharing,
    vendor: &str,
    source: &str,
    at: Micros,
) -> Result<()> {
    sqlx::query("DELETE FROM sharing_imports WHERE organization_id = $1")
        .bind(org.0)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO sharing_imports (organization_id, sharing, vendor, source, imported_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org.0)
    .bind(sharing.as_str())
    .bind(vendor)
    .bind(source)
    .bind(at)
    .execute(c)
    .await?;
    Ok(())
}

/// An imported sharing mode.
#[derive(Debug, Clone)]
pub struct SharingImport {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The mode it arrived with.
    pub sharing: Sharing,
    /// `Zendesk` or `Freshdesk`.
    pub vendor: String,
    /// The account it came from (host).
    pub source: String,
    /// When.
    pub imported_at: Micros,
}

/// Every imported sharing mode.
pub async fn sharing_imports(c: &mut Conn) -> Result<Vec<SharingImport>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT organization_id, sharing, vendor, source, imported_at FROM sharing_imports",
    )
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(|(o, s, vendor, source, at)| {
            Ok(SharingImport {
                organization_id: OrganizationId(o),
                sharing: Sharing::parse(&s)
                    .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                vendor,
                source,
                imported_at: at,
            })
        })
        .collect()
}
