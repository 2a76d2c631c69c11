//! Sharing changes (SPEC §2.1): the record, the register and the preview queries.

use ferrodesk_core::{CommentId, OrganizationId, Sharing, TicketId, UserId};

use crate::sql::Sql;
use crate::{Conn, Micros, Result, word};

/// A recorded sharing change.
#[derive(Debug, Clone, PartialEq)]
pub struct SharingChange {
    /// Id (0 before insertion).
    pub id: i64,
    /// Organization.
    pub organization_id: OrganizationId,
    /// The request ticket.
    pub ticket_id: TicketId,
    /// Mode before.
    pub before: Sharing,
    /// Mode after.
    pub after: Sharing,
    /// The comment in which the type was confirmed.
    pub type_confirmed_comment_id: CommentId,
    /// Who confirmed it.
    pub type_confirmed_by: UserId,
    /// The comment in which the risk was approved (enabling only).
    pub risk_approved_comment_id: Option<CommentId>,
    /// Who approved it.
    pub risk_approved_by: Option<UserId>,
    /// The checking admin.
    pub admin_id: UserId,
    /// The line appended to the organization's details.
    pub details_line: String,
    /// When.
    pub created_at: Micros,
}

type Row = (
    i64,
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    String,
    i64,
);

const COLUMNS: &str = "id, organization_id, ticket_id, sharing_before, sharing_after, \
     type_confirmed_comment_id, type_confirmed_by, risk_approved_comment_id, risk_approved_by, \
     admin_id, details_line, created_at";

fn from_row(r: Row) -> Result<SharingChange> {
    Ok(SharingChange {
        id: r.0,
        organization_id: OrganizationId(r.1),
        ticket_id: TicketId(r.2),
        before: word(&r.3)?,
        after: word(&r.4)?,
        type_confirmed_comment_id: CommentId(r.5),
        type_confirmed_by: UserId(r.6),
        risk_approved_comment_id: r.7.map(CommentId),
        risk_approved_by: r.8.map(UserId),
        admin_id: UserId(r.9),
        details_line: r.10,
        created_at: r.11,
    })
}

/// Records a change.
pub async fn insert(c: &mut Conn, s: &SharingChange) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sharing_changes (organization_id, ticket_id, sharing_before, sharing_after, \
         type_confirmed_comment_id, type_confirmed_by, risk_approved_comment_id, risk_approved_by, \
         admin_id, details_line, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING id",
    )
    .bind(s.organization_id.0)
    .bind(s.ticket_id.0)
    .bind(s.before.as_str())
    .bind(s.after.as_str())
    .bind(s.type_confirmed_comment_id.0)
    .bind(s.type_confirmed_by.0)
    .bind(s.risk_approved_comment_id.map(|c| c.0))
    .bind(s.risk_approved_by.map(|u| u.0))
    .bind(s.admin_id.0)
    .bind(&s.details_line)
    .bind(s.created_at)
    .fetch_one(c)
    .await?)
}

/// The changes of one organization, oldest first.
pub async fn history(c: &mut Conn, org: OrganizationId) -> Result<Vec<SharingChange>> {
    let mut q = Sql::new(format!(
        "SELECT {COLUMNS} FROM sharing_changes WHERE organization_id = "
    ));
    q.push_bind(org.0).push(" ORDER BY id");
    let rows: Vec<Row> = q.query_as().fetch_all(c).await?;
    rows.into_iter().map(from_row).collect()
}

/// One row of the sharing register.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterEntry {
    /// Organization.
    pub organization_id: OrganizationId,
    /// Its name.
    pub name: String,
    /// Its mode.
    pub sharing: Sharing,
    /// The change that set the current mode, if it went through the workflow.
    pub change: Option<SharingChange>,
}

/// Every organization that shares, with the change that set its current mode.
pub async fn register(c: &mut Conn) -> Result<Vec<RegisterEntry>> {
    let orgs: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, sharing FROM organizations WHERE sharing <> 'own_only' ORDER BY name, id",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut q = Sql::new(format!(
        "SELECT {COLUMNS} FROM sharing_changes s WHERE s.id = (SELECT MAX(l.id) FROM sharing_changes l \
         WHERE l.organization_id = s.organization_id) AND s.sharing_after <> "
    ));
    q.push_bind("own_only");
    let latest: Vec<Row> = q.query_as().fetch_all(&mut *c).await?;
    let latest = latest
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    orgs.into_iter()
        .map(|(id, name, sharing)| {
            let sharing: Sharing = word(&sharing)?;
            Ok(RegisterEntry {
                organization_id: OrganizationId(id),
                name,
                sharing,
                change: latest
                    .iter()
                    .find(|l| l.organization_id.0 == id && l.after == sharing)
                    .cloned(),
            })
        })
        .collect()
}

/// A comment's facts for the pre-checks: ticket, author, author's role, public.
pub async fn comment_facts(
    c: &mut Conn,
    id: CommentId,
) -> Result<Option<(TicketId, UserId, String, bool)>> {
    let row: Option<(i64, i64, String, i64)> = sqlx::query_as(
        "SELECT m.ticket_id, m.author_id, u.role, m.public FROM comments m \
         JOIN users u ON u.id = m.author_id WHERE m.id = $1",
    )
    .bind(id.0)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|(t, a, r, p)| (TicketId(t), UserId(a), r, p != 0)))
}

/// For each given member of `org`: how many of the organization's tickets they neither
/// requested nor are copied on (the tickets that organization sharing decides for them).
pub async fn tickets_decided_by_sharing(
    c: &mut Conn,
    org: OrganizationId,
    members: &[i64],
) -> Result<Vec<(i64, i64)>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(
        "SELECT m.user_id, COUNT(t.id) FROM organization_members m JOIN tickets t \
         ON t.organization_id = m.organization_id AND t.requester_id <> m.user_id \
         AND NOT EXISTS (SELECT 1 FROM ticket_ccs cc WHERE cc.ticket_id = t.id AND cc.user_id = m.user_id) \
         WHERE m.organization_id = ",
    );
    q.push_bind(org.0)
        .push(" AND m.user_id IN (")
        .push_ids(members)
        .push(") GROUP BY m.user_id");
    Ok(q.query_as().fetch_all(c).await?)
}

/// How many distinct tickets of `org` at least one of `members` neither requested nor is
/// copied on.
pub async fn distinct_tickets_decided_by_sharing(
    c: &mut Conn,
    org: OrganizationId,
    members: &[i64],
) -> Result<i64> {
    if members.is_empty() {
        return Ok(0);
    }
    let mut q = Sql::new("SELECT COUNT(*) FROM tickets t WHERE t.organization_id = ");
    q.push_bind(org.0)
        .push(" AND EXISTS (SELECT 1 FROM organization_members m WHERE m.organization_id = t.organization_id AND m.user_id IN (")
        .push_ids(members)
        .push(") AND m.user_id <> t.requester_id AND NOT EXISTS (SELECT 1 FROM ticket_ccs cc WHERE cc.ticket_id = t.id AND cc.user_id = m.user_id))");
    Ok(q.query_scalar().fetch_one(c).await?)
}
