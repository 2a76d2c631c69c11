//! Users, organizations, groups, statuses, sessions and API tokens.

use crate::sql::Sql;
use ferrodesk_core::policy::{Membership, Viewer};
use ferrodesk_core::{
    GroupId, OrganizationId, Role, Sharing, StatusCategory, StatusId, TicketScope, UserAccess,
    UserId,
};

use crate::{Conn, DirectoryCache, Micros, Result, from_json, to_json, word};
use ferrodesk_core::validate::email_skeleton;

/// A group (kind 0) or an organization with its sharing (kind 1) of a user.
pub type Link = (i64, i64, String);

/// A user as stored, with their memberships.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Email, lowercased, unique.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Agents' ticket scope (admins and end users: `global`, unused).
    pub ticket_scope: TicketScope,
    /// End users' access setting.
    pub access: UserAccess,
    /// Suspended users can do nothing.
    pub suspended: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// Agents: an admin let them manage organization memberships and access.
    pub manages_memberships: bool,
    /// End users: the organizations they belong to, ascending.
    pub organization_ids: Vec<OrganizationId>,
    /// End users: the default organization.
    pub default_organization_id: Option<OrganizationId>,
    /// Agents: their groups, ascending.
    pub group_ids: Vec<GroupId>,
    /// Their own time zone (an IANA name); none: the desk's.
    pub time_zone: Option<String>,
    /// Created.
    pub created_at: Micros,
    /// Last changed.
    pub updated_at: Micros,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    #[sqlx(rename = "user_id")]
    id: i64,
    name: String,
    email: String,
    role: String,
    ticket_scope: String,
    access: String,
    suspended: i64,
    has_password: i64,
    manages_memberships: i64,
    default_organization_id: Option<i64>,
    time_zone: Option<String>,
    #[sqlx(rename = "user_created_at")]
    created_at: i64,
    #[sqlx(rename = "user_updated_at")]
    updated_at: i64,
}

/// A user's columns. Those a ticket has too are named `user_…`, so that a user and a ticket
/// can be read in one row (`crate::signed`).
const USER_COLUMNS: &str = "id AS user_id, name, email, role, ticket_scope, access, suspended, \
     CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS has_password, manages_memberships, \
     default_organization_id, time_zone, created_at AS user_created_at, \
     updated_at AS user_updated_at";

impl UserRow {
    fn into_user(self) -> Result<User> {
        Ok(User {
            id: UserId(self.id),
            name: self.name,
            email: self.email,
            role: word(&self.role)?,
            ticket_scope: word(&self.ticket_scope)?,
            access: word(&self.access)?,
            suspended: self.suspended != 0,
            has_password: self.has_password != 0,
            manages_memberships: self.manages_memberships != 0,
            organization_ids: Vec::new(),
            default_organization_id: self.default_organization_id.map(OrganizationId),
            group_ids: Vec::new(),
            time_zone: self.time_zone,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Fills in organization and group ids of `users` with two queries.
async fn attach_memberships(c: &mut Conn, users: &mut [User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = users.iter().map(|u| u.id.0).collect();
    let mut q =
        Sql::new("SELECT user_id, organization_id FROM organization_members WHERE user_id IN (");
    q.push_ids(&ids);
    q.push(") ORDER BY user_id, organization_id");
    let orgs: Vec<(i64, i64)> = q.query_as().fetch_all(&mut *c).await?;
    let mut q = Sql::new("SELECT user_id, group_id FROM group_members WHERE user_id IN (");
    q.push_ids(&ids);
    q.push(") ORDER BY user_id, group_id");
    let groups: Vec<(i64, i64)> = q.query_as().fetch_all(&mut *c).await?;
    for u in users.iter_mut() {
        u.organization_ids = orgs
            .iter()
            .filter(|(uid, _)| *uid == u.id.0)
            .map(|(_, o)| OrganizationId(*o))
            .collect();
        u.group_ids = groups
            .iter()
            .filter(|(uid, _)| *uid == u.id.0)
            .map(|(_, g)| GroupId(*g))
            .collect();
    }
    Ok(())
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Email, already lowercased.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Agents' scope.
    pub ticket_scope: TicketScope,
    /// End users' access.
    pub access: UserAccess,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
}

/// Inserts a user.
pub async fn insert_user(c: &mut Conn, u: &NewUser, now: Micros) -> Result<UserId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, email, email_lower, role, ticket_scope, access, suspended, \
         password_hash, created_at, updated_at, email_skeleton) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8, $9) RETURNING id",
    )
    .bind(&u.name)
    .bind(&u.email)
    .bind(u.email.to_lowercase())
    .bind(u.role.as_str())
    .bind(u.ticket_scope.as_str())
    .bind(u.access.as_str())
    .bind(&u.password_hash)
    .bind(now)
    .bind(email_skeleton(&u.email.to_lowercase()))
    .fetch_one(c)
    .await?;
    Ok(UserId(id))
}

/// Another user whose address looks like `email` without being it (same look-alike skeleton).
pub async fn look_alike_user(
    c: &mut Conn,
    email: &str,
    except: Option<UserId>,
) -> Result<Option<UserId>> {
    let lower = email.to_lowercase();
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM users WHERE email_skeleton = $1 AND email_lower <> $2 AND id <> $3 LIMIT 1",
    )
    .bind(email_skeleton(&lower))
    .bind(&lower)
    .bind(except.map_or(0, |u| u.0))
    .fetch_optional(c)
    .await?;
    Ok(id.map(UserId))
}

/// Fills the look-alike skeleton of users created before it existed.
pub async fn backfill_email_skeletons(c: &mut Conn) -> Result<()> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, email_lower FROM users WHERE email_skeleton IS NULL")
            .fetch_all(&mut *c)
            .await?;
    // A thousand users a statement: one statement per user took 20 s for 100,000 users on
    // PostgreSQL.
    for batch in rows.chunks(1000) {
        let mut q = Sql::new("UPDATE users SET email_skeleton = CASE id");
        for (id, email) in batch {
            q.push(" WHEN ")
                .push_bind(*id)
                .push(" THEN ")
                .push_bind(email_skeleton(email));
        }
        q.push(" END WHERE id IN (");
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        q.push_ids(&ids).push(")");
        q.query().execute(&mut *c).await?;
    }
    Ok(())
}

/// Reads a user's row, without their memberships.
async fn user_row(c: &mut Conn, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id.0)
    .fetch_optional(&mut *c)
    .await?;
    row.map(UserRow::into_user).transpose()
}

/// Reads a user.
pub async fn get_user(c: &mut Conn, id: UserId) -> Result<Option<User>> {
    let Some(u) = user_row(c, id).await? else {
        return Ok(None);
    };
    let mut users = [u];
    attach_memberships(c, &mut users).await?;
    let [u] = users;
    Ok(Some(u))
}

/// Finds a user by email (case-insensitive), with their password hash.
pub async fn find_user_by_email(
    c: &mut Conn,
    email: &str,
) -> Result<Option<(User, Option<String>)>> {
    let row: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email_lower = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(&mut *c)
            .await?;
    let Some((id, hash)) = row else {
        return Ok(None);
    };
    Ok(get_user(c, UserId(id)).await?.map(|u| (u, hash)))
}

/// Filters of the user list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Only members of this organization.
    pub organization_id: Option<OrganizationId>,
    /// Only members of this group.
    pub group_id: Option<GroupId>,
    /// Only agents and admins.
    pub staff: bool,
    /// Only users whose name or email contains this (case-insensitive).
    pub q: Option<String>,
    /// Only ids greater than this (cursor).
    pub after: Option<UserId>,
    /// Rows skipped first (the admin pages' Previous and Next; the API pages by cursor).
    pub offset: i64,
    /// Page size.
    pub limit: i64,
}

/// The email of Ferrodesk's own user, which authors rule notes and never signs in.
pub const SYSTEM_EMAIL: &str = "system@ferrodesk.invalid";

/// The id of Ferrodesk's own user.
pub async fn system_user(c: &mut Conn) -> Result<UserId> {
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email_lower = $1")
        .bind(SYSTEM_EMAIL)
        .fetch_one(c)
        .await?;
    Ok(UserId(id))
}

/// Lists users by ascending id (never Ferrodesk's own user).
pub async fn list_users(c: &mut Conn, f: &UserFilter) -> Result<Vec<User>> {
    let mut q = Sql::new(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email_lower <> "
    ));
    q.push_bind(SYSTEM_EMAIL);
    if let Some(r) = f.role {
        q.push(" AND role = ").push_bind(r.as_str());
    }
    if let Some(o) = f.organization_id {
        q.push(" AND id IN (SELECT user_id FROM organization_members WHERE organization_id = ")
            .push_bind(o.0)
            .push(")");
    }
    if let Some(g) = f.group_id {
        q.push(" AND id IN (SELECT user_id FROM group_members WHERE group_id = ")
            .push_bind(g.0)
            .push(")");
    }
    if f.staff {
        q.push(" AND role <> ").push_bind(Role::EndUser.as_str());
    }
    if let Some(text) = f.q.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = crate::sql::contains_pattern(text.trim());
        q.push(" AND (LOWER(name) LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR email_lower LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(a) = f.after {
        q.push(" AND id > ").push_bind(a.0);
    }
    q.push(" ORDER BY id LIMIT ").push_bind(f.limit);
    if f.offset > 0 {
        q.push(" OFFSET ").push_bind(f.offset);
    }
    let rows: Vec<UserRow> = q.query_as().fetch_all(&mut *c).await?;
    let mut users = rows
        .into_iter()
        .map(UserRow::into_user)
        .collect::<Result<Vec<_>>>()?;
    attach_memberships(c, &mut users).await?;
    Ok(users)
}

/// The changes of a user update (only the fields that are `Some` change).
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New name.
    pub name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New scope.
    pub ticket_scope: Option<TicketScope>,
    /// New access.
    pub access: Option<UserAccess>,
    /// Suspend or unsuspend.
    pub suspended: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New default organization (`Some(None)` clears it).
    pub default_organization_id: Option<Option<OrganizationId>>,
    /// Grant or withdraw the membership permission (agents).
    pub manages_memberships: Option<bool>,
    /// New own time zone (`Some(None)`: the desk's).
    pub time_zone: Option<Option<String>>,
}

/// Applies an update to a user.
pub async fn update_user(c: &mut Conn, id: UserId, u: &UserUpdate, now: Micros) -> Result<()> {
    let mut q = Sql::new("UPDATE users SET updated_at = ");
    q.push_bind(now);
    if let Some(v) = &u.name {
        q.push(", name = ").push_bind(v.clone());
    }
    if let Some(v) = u.manages_memberships {
        q.push(", manages_memberships = ").push_bind(i64::from(v));
    }
    if let Some(v) = &u.email {
        q.push(", email = ").push_bind(v.clone());
        q.push(", email_lower = ").push_bind(v.to_lowercase());
        q.push(", email_skeleton = ")
            .push_bind(email_skeleton(&v.to_lowercase()));
    }
    if let Some(v) = u.role {
        q.push(", role = ").push_bind(v.as_str());
    }
    if let Some(v) = u.ticket_scope {
        q.push(", ticket_scope = ").push_bind(v.as_str());
    }
    if let Some(v) = u.access {
        q.push(", access = ").push_bind(v.as_str());
    }
    if let Some(v) = u.suspended {
        q.push(", suspended = ").push_bind(i64::from(v));
    }
    if let Some(v) = &u.password_hash {
        q.push(", password_hash = ").push_bind(v.clone());
    }
    if let Some(v) = u.default_organization_id {
        q.push(", default_organization_id = ")
            .push_bind(v.map(|o| o.0));
    }
    if let Some(v) = &u.time_zone {
        q.push(", time_zone = ").push_bind(v.clone());
    }
    q.push(" WHERE id = ").push_bind(id.0);
    q.query().execute(&mut *c).await?;
    if u.suspended == Some(true) {
        end_sessions_of(c, id).await?;
    }
    Ok(())
}

/// The facts the access policy needs about a user, read fresh from the database.
pub async fn load_viewer(c: &mut Conn, id: UserId) -> Result<Option<Viewer>> {
    match get_user(c, id).await? {
        Some(u) => Ok(Some(viewer_of(c, &u).await?)),
        None => Ok(None),
    }
}

/// Who is signed in: the user, their policy facts, and whether an admin requires two-factor
/// sign-in that they have not set up.
pub struct SignedIn {
    /// The user (with groups and organizations).
    pub user: User,
    /// The policy's view of them.
    pub viewer: Viewer,
    /// Staff-wide two-factor is required and this user has it off (meaningful for staff).
    pub two_factor_off_but_required: bool,
    /// When the session or token they came with was last marked used (sessions: seen).
    pub credential_used: Option<Micros>,
    /// The directory generation read with them (see [`crate::cache`]).
    pub generation: i64,
}

/// How a request names its user.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// By id (the command line, a sign-in that just happened).
    User(UserId),
    /// By email address, any case (the sender of inbound mail), suspended or not.
    Email(&'a str),
    /// A live session (not past `expires_at`, seen within `idle` before `now`) of a user who
    /// is not suspended.
    Session {
        /// SHA-256 of the cookie's secret.
        hash: &'a str,
        /// Now.
        now: Micros,
        /// The idle period.
        idle: Micros,
    },
    /// A valid (unexpired) API token of a user who is not suspended.
    Token {
        /// SHA-256 of the token's secret.
        hash: &'a str,
        /// Now.
        now: Micros,
    },
}

/// The row of [`push_signed_in`].
#[derive(sqlx::FromRow)]
pub(crate) struct SignedInRow {
    #[sqlx(flatten)]
    user: UserRow,
    totp_enabled: i64,
    require_two_factor: Option<String>,
    credential_used: Option<i64>,
    generation: i64,
}

/// A user's groups (kind 0) and organizations with their sharing (kind 1), from `cache` at
/// `generation` or in one round trip.
async fn links_at(
    c: &mut Conn,
    id: UserId,
    cache: &DirectoryCache,
    generation: i64,
) -> Result<std::sync::Arc<Vec<Link>>> {
    let read = sqlx::query_as(
        "SELECT CAST(0 AS BIGINT), group_id, CAST('' AS TEXT) FROM group_members \
         WHERE user_id = $1 \
         UNION ALL SELECT CAST(1 AS BIGINT), o.id, o.sharing FROM organization_members m \
         JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 \
         ORDER BY 1, 2",
    )
    .bind(id.0)
    .fetch_all(&mut *c);
    cache
        .links
        .get_or(id.0, generation, async { Ok(read.await?) })
        .await
}

/// Reads a user, with their groups and organizations from `cache` when it holds them at
/// `generation` (the directory generation read in this transaction or before `c`'s reads).
pub async fn get_user_at(
    c: &mut Conn,
    id: UserId,
    cache: &DirectoryCache,
    generation: i64,
) -> Result<Option<User>> {
    let Some(mut user) = user_row(c, id).await? else {
        return Ok(None);
    };
    for (kind, link, _) in links_at(c, id, cache, generation).await?.iter() {
        if *kind == 0 {
            user.group_ids.push(GroupId(*link));
        } else {
            user.organization_ids.push(OrganizationId(*link));
        }
    }
    Ok(Some(user))
}

/// The directory generation now (see [`crate::cache`]).
pub async fn generation(c: &mut Conn) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT value FROM directory_generation WHERE id = 1")
            .fetch_one(c)
            .await?,
    )
}

/// A user and their policy facts — what every authenticated request needs — in one query
/// (the user with their credential, the one setting that concerns their sign-in, and the
/// directory generation) when their groups and organizations are in `cache` at that
/// generation, else in two.
pub async fn signed_in(
    c: &mut Conn,
    who: Who<'_>,
    cache: &DirectoryCache,
) -> Result<Option<SignedIn>> {
    let mut q = Sql::new("");
    push_signed_in(&mut q, who);
    let row: Option<SignedInRow> = q.query_as().fetch_optional(&mut *c).await?;
    match row {
        Some(row) => Ok(Some(signed_in_of(c, row, cache).await?)),
        None => Ok(None),
    }
}

/// Appends the statement of [`SignedInRow`]s of whom `who` names: one row, or none for an
/// unknown user or a credential that is not live. Also the first part of the reads that bring
/// their caller along (`crate::signed`), so that both hold a credential to the same test.
pub(crate) fn push_signed_in(q: &mut Sql, who: Who<'_>) {
    q.push(format!(
        "SELECT {USER_COLUMNS}, totp_enabled, \
         (SELECT value FROM settings WHERE key = 'require_two_factor_for_staff') \
         AS require_two_factor, \
         (SELECT value FROM directory_generation WHERE id = 1) AS generation, "
    ));
    match who {
        Who::User(id) => {
            q.push("CAST(NULL AS BIGINT) AS credential_used FROM users WHERE id = ")
                .push_bind(id.0);
        }
        Who::Email(address) => {
            q.push("CAST(NULL AS BIGINT) AS credential_used FROM users WHERE email_lower = ")
                .push_bind(address.trim().to_lowercase());
        }
        Who::Session { hash, now, idle } => {
            q.push(
                "k.seen AS credential_used FROM users JOIN \
                 (SELECT user_id AS holder, COALESCE(last_seen_at, created_at) AS seen \
                  FROM sessions WHERE token_hash = ",
            )
            .push_bind(hash.to_owned())
            .push(" AND expires_at > ")
            .push_bind(now)
            .push(" AND COALESCE(last_seen_at, created_at) > ")
            .push_bind(now - idle)
            .push(") k ON k.holder = users.id WHERE suspended = 0");
        }
        Who::Token { hash, now } => {
            q.push(
                "k.used AS credential_used FROM users JOIN \
                 (SELECT user_id AS holder, last_used_at AS used FROM api_tokens \
                  WHERE token_hash = ",
            )
            .push_bind(hash.to_owned())
            .push(" AND (expires_at IS NULL OR expires_at > ")
            .push_bind(now)
            .push(")) k ON k.holder = users.id WHERE suspended = 0");
        }
    }
}

/// Who a [`SignedInRow`] names, with their groups and organizations from `cache` at the row's
/// generation, or read on `c`.
pub(crate) async fn signed_in_of(
    c: &mut Conn,
    row: SignedInRow,
    cache: &DirectoryCache,
) -> Result<SignedIn> {
    let two_factor_off_but_required =
        row.totp_enabled == 0 && row.require_two_factor.as_deref() == Some("true");
    let credential_used = row.credential_used;
    let generation = row.generation;
    let mut user = row.user.into_user()?;
    let id = user.id;
    let links = links_at(c, id, cache, generation).await?;
    let mut memberships = Vec::new();
    for (kind, link, sharing) in links.iter() {
        if *kind == 0 {
            user.group_ids.push(GroupId(*link));
        } else {
            user.organization_ids.push(OrganizationId(*link));
            memberships.push(membership(*link, sharing)?);
        }
    }
    let viewer = viewer(&user, memberships);
    Ok(SignedIn {
        user,
        viewer,
        two_factor_off_but_required,
        credential_used,
        generation,
    })
}

/// The policy facts of a user already read: one query for their organizations' sharing.
pub async fn viewer_of(c: &mut Conn, u: &User) -> Result<Viewer> {
    let memberships: Vec<(i64, String)> = sqlx::query_as(
        "SELECT o.id, o.sharing FROM organization_members m \
         JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 ORDER BY o.id",
    )
    .bind(u.id.0)
    .fetch_all(&mut *c)
    .await?;
    let memberships = memberships
        .iter()
        .map(|(o, s)| membership(*o, s))
        .collect::<Result<_>>()?;
    Ok(viewer(u, memberships))
}

/// The policy's view of a user whose groups are read, with their organizations' sharing.
fn viewer(u: &User, memberships: Vec<Membership>) -> Viewer {
    Viewer {
        user_id: u.id,
        role: u.role,
        ticket_scope: u.ticket_scope,
        group_ids: u.group_ids.clone(),
        access: u.access,
        memberships,
        suspended: u.suspended,
    }
}

/// A membership of organization `o`, whose sharing is stored as `sharing`.
fn membership(o: i64, sharing: &str) -> Result<Membership> {
    Ok(Membership {
        organization_id: OrganizationId(o),
        sharing: word(sharing)?,
    })
}

/// The policy facts of several users at once (three queries), in the order of `ids`;
/// missing users are left out.
pub async fn load_viewers(c: &mut Conn, ids: &[i64]) -> Result<Vec<Viewer>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(format!("SELECT {USER_COLUMNS} FROM users WHERE id IN ("));
    q.push_ids(ids).push(")");
    let rows: Vec<UserRow> = q.query_as().fetch_all(&mut *c).await?;
    let mut users = rows
        .into_iter()
        .map(UserRow::into_user)
        .collect::<Result<Vec<_>>>()?;
    attach_memberships(c, &mut users).await?;
    let mut q = Sql::new(
        "SELECT m.user_id, o.id, o.sharing FROM organization_members m \
         JOIN organizations o ON o.id = m.organization_id WHERE m.user_id IN (",
    );
    q.push_ids(ids).push(") ORDER BY m.user_id, o.id");
    let memberships: Vec<(i64, i64, String)> = q.query_as().fetch_all(&mut *c).await?;
    let mut out = Vec::with_capacity(users.len());
    for id in ids {
        let Some(u) = users.iter().find(|u| u.id.0 == *id) else {
            continue;
        };
        let memberships = memberships
            .iter()
            .filter(|(uid, _, _)| uid == id)
            .map(|(_, o, sharing)| membership(*o, sharing))
            .collect::<Result<_>>()?;
        out.push(viewer(u, memberships));
    }
    Ok(out)
}

/// Ids of every admin and agent, and of the end users given.
pub async fn staff_ids(c: &mut Conn) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE role <> 'end_user' ORDER BY id")
            .fetch_all(c)
            .await?,
    )
}

/// The organization memberships of the users given: (user, organization).
pub async fn organization_pairs(c: &mut Conn, users: &[i64]) -> Result<Vec<(i64, i64)>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut q =
        Sql::new("SELECT user_id, organization_id FROM organization_members WHERE user_id IN (");
    q.push_ids(users).push(")");
    Ok(q.query_as().fetch_all(c).await?)
}

/// Ids of an organization's members.
pub async fn member_ids(c: &mut Conn, org: OrganizationId) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM organization_members WHERE organization_id = $1 ORDER BY user_id",
    )
    .bind(org.0)
    .fetch_all(c)
    .await?)
}

// ---------------------------------------------------------------- organizations

/// An organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Id.
    pub id: OrganizationId,
    /// Unique name.
    pub name: String,
    /// Email domains.
    pub domain_names: Vec<String>,
    /// Agent-visible details (holds the sharing log lines).
    pub details: String,
    /// Agent-editable notes.
    pub notes: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Sharing mode.
    pub sharing: Sharing,
    /// "We will not enable a shared organization for them."
    pub sharing_blocked: bool,
    /// Why sharing is blocked.
    pub sharing_blocked_reason: String,
    /// Whether new end users with a matching email domain join automatically.
    pub auto_join_by_domain: bool,
    /// Created.
    pub created_at: Micros,
    /// Last changed.
    pub updated_at: Micros,
}

#[derive(sqlx::FromRow)]
struct OrganizationRow {
    id: i64,
    name: String,
    domain_names: String,
    details: String,
    notes: String,
    tags: String,
    sharing: String,
    sharing_blocked: i64,
    sharing_blocked_reason: String,
    auto_join_by_domain: i64,
    created_at: i64,
    updated_at: i64,
}

impl OrganizationRow {
    fn into_org(self) -> Result<Organization> {
        Ok(Organization {
            id: OrganizationId(self.id),
            name: self.name,
            domain_names: from_json(&self.domain_names)?,
            details: self.details,
            notes: self.notes,
            tags: from_json(&self.tags)?,
            sharing: word(&self.sharing)?,
            sharing_blocked: self.sharing_blocked != 0,
            sharing_blocked_reason: self.sharing_blocked_reason,
            auto_join_by_domain: self.auto_join_by_domain != 0,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const ORG_COLUMNS: &str = "id, name, domain_names, details, notes, tags, sharing, sharing_blocked, \
     sharing_blocked_reason, auto_join_by_domain, created_at, updated_at";

/// The writable fields of an organization.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFields {
    /// Name.
    pub name: Option<String>,
    /// Domains.
    pub domain_names: Option<Vec<String>>,
    /// Details.
    pub details: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Blocked flag.
    pub sharing_blocked: Option<bool>,
    /// Blocked reason.
    pub sharing_blocked_reason: Option<String>,
    /// Auto-join.
    pub auto_join_by_domain: Option<bool>,
    /// Sharing (only the sharing workflow sets this).
    pub sharing: Option<Sharing>,
}

/// Inserts an organization (name is required).
pub async fn insert_organization(
    c: &mut Conn,
    f: &OrganizationFields,
    now: Micros,
) -> Result<OrganizationId> {
    let name = f.name.clone().unwrap_or_default();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, name_lower, domain_names, details, notes, tags, \
         sharing_blocked, sharing_blocked_reason, auto_join_by_domain, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(&name)
    .bind(name.to_lowercase())
    .bind(to_json(&f.domain_names.clone().unwrap_or_default()))
    .bind(f.details.clone().unwrap_or_default())
    .bind(f.notes.clone().unwrap_or_default())
    .bind(to_json(&f.tags.clone().unwrap_or_default()))
    .bind(i64::from(f.sharing_blocked.unwrap_or(false)))
    .bind(f.sharing_blocked_reason.clone().unwrap_or_default())
    .bind(i64::from(f.auto_join_by_domain.unwrap_or(false)))
    .bind(now)
    .fetch_one(c)
    .await?;
    Ok(OrganizationId(id))
}

/// Applies an update to an organization.
pub async fn update_organization(
    c: &mut Conn,
    id: OrganizationId,
    f: &OrganizationFields,
    now: Micros,
) -> Result<()> {
    let mut q = Sql::new("UPDATE organizations SET updated_at = ");
    q.push_bind(now);
    if let Some(v) = &f.name {
        q.push(", name = ").push_bind(v.clone());
        q.push(", name_lower = ").push_bind(v.to_lowercase());
    }
    if let Some(v) = &f.domain_names {
        q.push(", domain_names = ").push_bind(to_json(v));
    }
    if let Some(v) = &f.details {
        q.push(", details = ").push_bind(v.clone());
    }
    if let Some(v) = &f.notes {
        q.push(", notes = ").push_bind(v.clone());
    }
    if let Some(v) = &f.tags {
        q.push(", tags = ").push_bind(to_json(v));
    }
    if let Some(v) = f.sharing_blocked {
        q.push(", sharing_blocked = ").push_bind(i64::from(v));
    }
    if let Some(v) = &f.sharing_blocked_reason {
        q.push(", sharing_blocked_reason = ").push_bind(v.clone());
    }
    if let Some(v) = f.auto_join_by_domain {
        q.push(", auto_join_by_domain = ").push_bind(i64::from(v));
    }
    if let Some(v) = f.sharing {
        q.push(", sharing = ").push_bind(v.as_str());
    }
    q.push(" WHERE id = ").push_bind(id.0);
    q.query().execute(c).await?;
    Ok(())
}

/// Reads an organization.
pub async fn get_organization(c: &mut Conn, id: OrganizationId) -> Result<Option<Organization>> {
    let row: Option<OrganizationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1"
    )))
    .bind(id.0)
    .fetch_optional(c)
    .await?;
    row.map(OrganizationRow::into_org).transpose()
}

/// Lists organizations by ascending id; `only` restricts to these ids.
pub async fn list_organizations(
    c: &mut Conn,
    only: Option<&[OrganizationId]>,
    after: Option<OrganizationId>,
    limit: i64,
) -> Result<Vec<Organization>> {
    let mut q = Sql::new(format!(
        "SELECT {ORG_COLUMNS} FROM organizations WHERE 1 = 1"
    ));
    if let Some(ids) = only {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        q.push(" AND id IN (");
        q.push_ids(&ids.iter().map(|o| o.0).collect::<Vec<_>>());
        q.push(")");
    }
    if let Some(a) = after {
        q.push(" AND id > ").push_bind(a.0);
    }
    q.push(" ORDER BY id LIMIT ").push_bind(limit);
    let rows: Vec<OrganizationRow> = q.query_as().fetch_all(c).await?;
    rows.into_iter().map(OrganizationRow::into_org).collect()
}

/// Organizations whose name contains `text` (any case; all when empty), by name: the
/// `limit` from `offset` on, and how many match in all. Ordering by `name_lower` walks its
/// unique index; the contains-match reads the names, which is fine for an admin list of
/// thousands (a prefix index would not serve "contains").
pub async fn search_organizations(
    c: &mut Conn,
    text: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Organization>, i64)> {
    let pattern = crate::sql::contains_pattern(text.trim());
    let mut count = Sql::new("SELECT COUNT(*) FROM organizations WHERE name_lower LIKE ");
    count.push_bind(pattern.clone()).push(" ESCAPE '\\'");
    let total: i64 = count.query_scalar().fetch_one(&mut *c).await?;
    let mut q = Sql::new(format!(
        "SELECT {ORG_COLUMNS} FROM organizations WHERE name_lower LIKE "
    ));
    q.push_bind(pattern)
        .push(" ESCAPE '\\' ORDER BY name_lower LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows: Vec<OrganizationRow> = q.query_as().fetch_all(&mut *c).await?;
    let orgs = rows
        .into_iter()
        .map(OrganizationRow::into_org)
        .collect::<Result<Vec<_>>>()?;
    Ok((orgs, total))
}

/// Adds an end user to an organization; false when already a member.
pub async fn add_member(
    c: &mut Conn,
    org: OrganizationId,
    user: UserId,
    now: Micros,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO organization_members (organization_id, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_id, user_id) DO NOTHING",
    )
    .bind(org.0)
    .bind(user.0)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Removes an end user from an organization; false when they were not a member.
pub async fn remove_member(c: &mut Conn, org: OrganizationId, user: UserId) -> Result<bool> {
    let n =
        sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2")
            .bind(org.0)
            .bind(user.0)
            .execute(c)
            .await?
            .rows_affected();
    Ok(n == 1)
}

// ---------------------------------------------------------------- groups

/// A group of agents.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
    /// Members, ascending.
    pub agent_ids: Vec<UserId>,
    /// Created.
    pub created_at: Micros,
    /// Last changed.
    pub updated_at: Micros,
}

/// Inserts a group.
pub async fn insert_group(c: &mut Conn, name: &str, now: Micros) -> Result<GroupId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO agent_groups (name, name_lower, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         RETURNING id",
    )
    .bind(name)
    .bind(name.to_lowercase())
    .bind(now)
    .fetch_one(c)
    .await?;
    Ok(GroupId(id))
}

/// Renames a group.
pub async fn rename_group(c: &mut Conn, id: GroupId, name: &str, now: Micros) -> Result<()> {
    sqlx::query(
        "UPDATE agent_groups SET name = $1, name_lower = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(name)
    .bind(name.to_lowercase())
    .bind(now)
    .bind(id.0)
    .execute(c)
    .await?;
    Ok(())
}

/// Lists groups by ascending id; `only` restricts to these ids.
pub async fn list_groups(c: &mut Conn, only: Option<GroupId>) -> Result<Vec<Group>> {
    read_groups(c, only.map(|g| vec![g.0]).as_deref()).await
}

/// The groups with these ids, in the order given.
pub async fn list_groups_in(c: &mut Conn, ids: &[i64]) -> Result<Vec<Group>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut groups = read_groups(c, Some(ids)).await?;
    groups.sort_by_key(|g| ids.iter().position(|id| *id == g.id.0));
    Ok(groups)
}

/// Groups with their members, by ascending id: all, or those of `ids`.
async fn read_groups(c: &mut Conn, ids: Option<&[i64]>) -> Result<Vec<Group>> {
    let mut q = Sql::new("SELECT id, name, created_at, updated_at FROM agent_groups");
    let mut m = Sql::new("SELECT group_id, user_id FROM group_members");
    if let Some(ids) = ids {
        q.push(" WHERE id IN (");
        q.push_ids(ids);
        q.push(")");
        m.push(" WHERE group_id IN (");
        m.push_ids(ids);
        m.push(")");
    }
    q.push(" ORDER BY id");
    m.push(" ORDER BY group_id, user_id");
    let rows: Vec<(i64, String, i64, i64)> = q.query_as().fetch_all(&mut *c).await?;
    let members: Vec<(i64, i64)> = m.query_as().fetch_all(&mut *c).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at, updated_at)| Group {
            id: GroupId(id),
            name,
            agent_ids: members
                .iter()
                .filter(|(g, _)| *g == id)
                .map(|(_, u)| UserId(*u))
                .collect(),
            created_at,
            updated_at,
        })
        .collect())
}

/// Reads a group.
pub async fn get_group(c: &mut Conn, id: GroupId) -> Result<Option<Group>> {
    Ok(list_groups(c, Some(id)).await?.into_iter().next())
}

/// Adds an agent to a group; false when already a member.
pub async fn add_group_member(c: &mut Conn, g: GroupId, u: UserId, now: Micros) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO group_members (group_id, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (group_id, user_id) DO NOTHING",
    )
    .bind(g.0)
    .bind(u.0)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Removes an agent from a group; false when they were not a member.
pub async fn remove_group_member(c: &mut Conn, g: GroupId, u: UserId) -> Result<bool> {
    let n = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(g.0)
        .bind(u.0)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Whether `u` is in group `g`.
pub async fn is_group_member(c: &mut Conn, g: GroupId, u: UserId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2",
    )
    .bind(g.0)
    .bind(u.0)
    .fetch_one(c)
    .await?;
    Ok(n > 0)
}

// ---------------------------------------------------------------- statuses

/// A ticket status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Id.
    pub id: StatusId,
    /// Name agents see.
    pub name: String,
    /// Label customers see.
    pub customer_label: String,
    /// Category.
    pub category: StatusCategory,
    /// Open, Pending, Resolved and Closed are built in.
    pub built_in: bool,
    /// Order in lists.
    pub position: i64,
    /// Mapped to every group, including future ones.
    pub all_groups: bool,
    /// Groups mapped explicitly.
    pub internal_group_ids: Vec<GroupId>,
}

impl Status {
    /// Whether `g` may be a ticket's internal group while the ticket has this status.
    pub fn maps(&self, g: GroupId) -> bool {
        self.all_groups || self.internal_group_ids.contains(&g)
    }
}

/// Lists every status in position order.
pub async fn list_statuses(c: &mut Conn) -> Result<Vec<Status>> {
    type Row = (i64, String, String, String, i64, i64, i64, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.id, s.name, s.customer_label, s.category, s.built_in, s.position, s.all_groups, g.group_id \
         FROM statuses s LEFT JOIN status_groups g ON g.status_id = s.id \
         ORDER BY s.position, s.id, g.group_id",
    )
    .fetch_all(c)
    .await?;
    let mut out: Vec<Status> = Vec::new();
    for (id, name, customer_label, category, built_in, position, all_groups, group) in rows {
        if out.last().is_none_or(|s| s.id.0 != id) {
            out.push(Status {
                id: StatusId(id),
                name,
                customer_label,
                category: word(&category)?,
                built_in: built_in != 0,
                position,
                all_groups: all_groups != 0,
                internal_group_ids: Vec::new(),
            });
        }
        if let (Some(g), Some(last)) = (group, out.last_mut()) {
            last.internal_group_ids.push(GroupId(g));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- credentials

/// Stores a session; the token itself is never stored, only its hash.
pub async fn insert_session(
    c: &mut Conn,
    user: UserId,
    token_hash: &str,
    now: Micros,
    expires_at: Micros,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(user.0)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Marks a session as used now.
pub async fn touch_session(c: &mut Conn, token_hash: &str, now: Micros) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Ends one session.
pub async fn delete_session(c: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Ends every session of a user.
pub async fn end_sessions_of(c: &mut Conn, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(())
}

/// A user's second factor.
#[derive(Debug, Clone, Default)]
pub struct TwoFactor {
    /// The TOTP secret (hex), set up or confirmed.
    pub secret: Option<String>,
    /// Whether sign-in asks for a code.
    pub enabled: bool,
    /// The last step a code was accepted for.
    pub last_step: Option<i64>,
    /// SHA-256 (hex) of each unused recovery code.
    pub recovery: Vec<String>,
}

/// Reads a user's second factor.
pub async fn two_factor(c: &mut Conn, user: UserId) -> Result<TwoFactor> {
    let row: Option<(Option<String>, i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT totp_secret, totp_enabled, totp_last_step, recovery_codes FROM users WHERE id = $1",
    )
    .bind(user.0)
    .fetch_optional(c)
    .await?;
    Ok(match row {
        None => TwoFactor::default(),
        Some((secret, enabled, last_step, recovery)) => TwoFactor {
            secret,
            enabled: enabled != 0,
            last_step,
            recovery: from_json(&recovery)?,
        },
    })
}

/// Writes a user's second factor.
pub async fn set_two_factor(c: &mut Conn, user: UserId, t: &TwoFactor) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_enabled = $2, totp_last_step = $3, \
         recovery_codes = $4 WHERE id = $5",
    )
    .bind(&t.secret)
    .bind(i64::from(t.enabled))
    .bind(t.last_step)
    .bind(to_json(&t.recovery))
    .bind(user.0)
    .execute(c)
    .await?;
    Ok(())
}

/// An account's failed sign-ins in a row and the time its lockout ends, if any.
pub async fn login_state(c: &mut Conn, user: UserId) -> Result<(i64, Option<Micros>)> {
    Ok(
        sqlx::query_as("SELECT failed_logins, locked_until FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(c)
            .await?
            .unwrap_or((0, None)),
    )
}

/// Counts a failed sign-in; the `threshold`-th in a row locks the account until `lock_until`.
/// Gives back the count and the lockout's end, if locked now.
pub async fn record_login_failure(
    c: &mut Conn,
    user: UserId,
    threshold: i64,
    lock_until: Micros,
) -> Result<(i64, Option<Micros>)> {
    Ok(sqlx::query_as(
        "UPDATE users SET failed_logins = failed_logins + 1, \
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END \
         WHERE id = $1 RETURNING failed_logins, locked_until",
    )
    .bind(user.0)
    .bind(threshold)
    .bind(lock_until)
    .fetch_one(c)
    .await?)
}

/// Clears an account's failed sign-ins and lockout; whether there was anything to clear.
pub async fn clear_login_failures(c: &mut Conn, user: UserId) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL \
         WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
    )
    .bind(user.0)
    .execute(c)
    .await?
    .rows_affected()
        > 0)
}

/// Ends every session and API token of a user, except the one whose hash is `spare`.
pub async fn end_credentials_of(c: &mut Conn, user: UserId, spare: Option<&str>) -> Result<()> {
    for table in ["sessions", "api_tokens"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = $1 AND token_hash <> $2"
        )))
        .bind(user.0)
        .bind(spare.unwrap_or(""))
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Stores an API token's hash.
pub async fn insert_token(
    c: &mut Conn,
    user: UserId,
    name: &str,
    token_hash: &str,
    now: Micros,
    expires_at: Option<Micros>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.0)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(c)
    .await?)
}

/// Marks an API token as used now.
pub async fn touch_token(c: &mut Conn, token_hash: &str, now: Micros) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: Micros,
    /// Last used (marked at most every few minutes).
    pub last_used_at: Option<Micros>,
    /// Expiry, if any.
    pub expires_at: Option<Micros>,
}

/// A user's API tokens, newest first.
pub async fn list_tokens(c: &mut Conn, user: UserId) -> Result<Vec<TokenRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, name, created_at, last_used_at, expires_at FROM api_tokens \
         WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user.0)
    .fetch_all(c)
    .await?)
}

/// One API token.
pub async fn get_token(c: &mut Conn, id: i64) -> Result<Option<TokenRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?)
}

/// Deletes one API token.
pub async fn delete_token(c: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM api_tokens WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Names of the given users, by id.
pub async fn user_names(c: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    names(c, Named::Users, ids).await
}

/// The tables whose rows have a name people read.
#[derive(Debug, Clone, Copy)]
pub enum Named {
    /// Users.
    Users,
    /// Organizations.
    Organizations,
    /// Groups.
    Groups,
    /// Statuses.
    Statuses,
    /// Automation rules.
    Rules,
}

impl Named {
    /// Every table with names, in declaration order (`Named as usize` indexes it).
    pub const ALL: [Named; 5] = [
        Named::Users,
        Named::Organizations,
        Named::Groups,
        Named::Statuses,
        Named::Rules,
    ];
}

/// Names of the given rows of one table, by id (missing rows are left out); one statement.
pub async fn names(c: &mut Conn, table: Named, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let table = match table {
        Named::Users => "users",
        Named::Organizations => "organizations",
        Named::Groups => "agent_groups",
        Named::Statuses => "statuses",
        Named::Rules => "rules",
    };
    let mut q = Sql::new(format!("SELECT id, name FROM {table} WHERE id IN ("));
    q.push_ids(ids);
    q.push(")");
    Ok(q.query_as().fetch_all(c).await?)
}

/// Roles of the given users, by id (missing users are left out).
pub async fn user_roles(c: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, Role)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT id, role FROM users WHERE id IN (");
    q.push_ids(ids);
    q.push(")");
    let rows: Vec<(i64, String)> = q.query_as().fetch_all(c).await?;
    rows.into_iter()
        .map(|(id, r)| Ok((id, word(&r)?)))
        .collect()
}

/// Whether an organization exists.
pub async fn organization_ids_existing(c: &mut Conn, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT id FROM organizations WHERE id IN (");
    q.push_ids(ids);
    q.push(")");
    Ok(q.query_scalar().fetch_all(c).await?)
}

/// Deletes a group (memberships and status mappings go with it).
pub async fn delete_group(c: &mut Conn, id: GroupId) -> Result<bool> {
    let n = sqlx::query("DELETE FROM agent_groups WHERE id = $1")
        .bind(id.0)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// A new or changed custom status.
#[derive(Debug, Clone)]
pub struct StatusFields {
    /// Name.
    pub name: String,
    /// Customer label.
    pub customer_label: String,
    /// Category.
    pub category: StatusCategory,
    /// Position.
    pub position: i64,
    /// All groups.
    pub all_groups: bool,
    /// Explicitly mapped groups.
    pub internal_group_ids: Vec<GroupId>,
}

/// Inserts a custom status with its mapping.
pub async fn insert_status(c: &mut Conn, s: &StatusFields, now: Micros) -> Result<StatusId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO statuses (name, name_lower, customer_label, category, built_in, position, \
         all_groups, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&s.name)
    .bind(s.name.to_lowercase())
    .bind(&s.customer_label)
    .bind(s.category.as_str())
    .bind(s.position)
    .bind(i64::from(s.all_groups))
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    set_status_groups(c, StatusId(id), &s.internal_group_ids).await?;
    Ok(StatusId(id))
}

/// Updates a status and replaces its mapping.
pub async fn update_status(
    c: &mut Conn,
    id: StatusId,
    s: &StatusFields,
    now: Micros,
) -> Result<()> {
    sqlx::query(
        "UPDATE statuses SET name = $1, name_lower = $2, customer_label = $3, category = $4, \
         position = $5, all_groups = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(&s.name)
    .bind(s.name.to_lowercase())
    .bind(&s.customer_label)
    .bind(s.category.as_str())
    .bind(s.position)
    .bind(i64::from(s.all_groups))
    .bind(now)
    .bind(id.0)
    .execute(&mut *c)
    .await?;
    set_status_groups(c, id, &s.internal_group_ids).await
}

async fn set_status_groups(c: &mut Conn, id: StatusId, groups: &[GroupId]) -> Result<()> {
    sqlx::query("DELETE FROM status_groups WHERE status_id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    if !groups.is_empty() {
        let mut q = Sql::new("INSERT INTO status_groups (status_id, group_id) VALUES ");
        for (i, g) in groups.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .push_bind(id.0)
                .push(", ")
                .push_bind(g.0)
                .push(")");
        }
        q.query().execute(&mut *c).await?;
    }
    Ok(())
}

/// Deletes a status (callers move its tickets first).
pub async fn delete_status(c: &mut Conn, id: StatusId) -> Result<()> {
    sqlx::query("DELETE FROM statuses WHERE id = $1")
        .bind(id.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Deletes every API token of a user.
pub async fn delete_tokens_of(c: &mut Conn, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Removes a user from every group; gives back the groups they were in.
pub async fn leave_all_groups(c: &mut Conn, user: UserId) -> Result<Vec<GroupId>> {
    let groups: Vec<i64> = sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id",
    )
    .bind(user.0)
    .fetch_all(&mut *c)
    .await?;
    sqlx::query("DELETE FROM group_members WHERE user_id = $1")
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(groups.into_iter().map(GroupId).collect())
}

/// The organization with this name (case-insensitive).
pub async fn organization_by_name(c: &mut Conn, name: &str) -> Result<Option<OrganizationId>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE name_lower = $1")
        .bind(name.trim().to_lowercase())
        .fetch_optional(c)
        .await?;
    Ok(id.map(OrganizationId))
}

/// Organizations a new end user with an address at `domain` joins: those listing the domain
/// whose admins turned `auto_join_by_domain` on (lowest id first).
pub async fn auto_join_organizations(c: &mut Conn, domain: &str) -> Result<Vec<i64>> {
    let domain = domain.trim().to_lowercase();
    if domain.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, domain_names FROM organizations WHERE auto_join_by_domain = 1 \
         AND domain_names <> '[]' ORDER BY id",
    )
    .fetch_all(c)
    .await?;
    let mut out = Vec::new();
    for (id, names) in rows {
        let names: Vec<String> = from_json(&names)?;
        if names.iter().any(|n| n.trim().eq_ignore_ascii_case(&domain)) {
            out.push(id);
        }
    }
    Ok(out)
}
