//! Use cases for users, organizations, groups and statuses.

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::directory_policy::{self, DirectoryAct, Target};
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{GroupId, OrganizationId, Role, TicketScope, UserAccess, UserId};
use ferrodesk_store::directory::{
    self as store, Group, NewUser, Organization, OrganizationFields, Status, User, UserFilter,
    UserUpdate,
};
use ferrodesk_store::{Conn, Tx};

use crate::dto::{
    GroupIn, GroupOut, MembershipIn, OrganizationIn, OrganizationOut, Page, StatusOut, UserIn,
    UserOut, UserPatch, rfc3339,
};
use crate::{Actor, App, AppError, Principal, Result, check_staff, diff};

/// Commits a use case's transaction (inside a request with an idempotency key, the web layer
/// commits it together with the key's answer: see `ferrodesk_store::idempotency`).
pub(crate) async fn commit(tx: Tx) -> Result<()> {
    ferrodesk_store::idempotency::commit(tx).await?;
    Ok(())
}

/// Page size: 25 by default, 1 to 100.
pub fn page_size(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(25),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(AppError::invalid(
            "limit",
            "out_of_range",
            "limit must be between 1 and 100",
        )),
    }
}

/// Parses a cursor (an id, as text).
pub fn cursor(c: Option<&str>) -> Result<Option<i64>> {
    match c {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid("cursor", "invalid", "cursor is not one this API gave out")
            }),
    }
}

/// Builds a page from `limit + 1` fetched rows.
pub(crate) fn page<T, O>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> i64,
    out: impl FnMut(T) -> O,
) -> Page<O> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| key(r).to_string())
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(out).collect(),
        next_cursor,
    }
}

/// A person's time zone as given (an IANA name; none or empty: the desk's), kept by its
/// IANA name as the time zone database spells it; an unknown name is refused, naming
/// `time_zone`.
fn time_zone_name(name: Option<&str>) -> std::result::Result<Option<String>, FieldError> {
    let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match jiff::tz::db().get(n).ok().filter(|_| n.len() <= 64) {
        Some(tz) => Ok(Some(tz.iana_name().unwrap_or(n).to_owned())),
        None => Err(FieldError::new(
            "time_zone",
            "invalid_value",
            format!(
                "the time zone “{}” is not one Ferrodesk knows: choose one from the list",
                n.chars().take(64).collect::<String>()
            ),
        )),
    }
}

/// The API view of a user, as `p` may see it.
pub fn user_out(p: Option<&Principal>, u: User) -> UserOut {
    let show_email = p.is_none_or(|p| p.is_staff() || p.user.id == u.id);
    UserOut {
        id: u.id.0,
        name: u.name,
        email: show_email.then_some(u.email),
        role: u.role,
        ticket_scope: (u.role == Role::Agent).then_some(u.ticket_scope),
        access: (u.role == Role::EndUser).then_some(u.access),
        suspended: u.suspended,
        manages_memberships: (u.role == Role::Agent).then_some(u.manages_memberships),
        organization_ids: u.organization_ids.iter().map(|o| o.0).collect(),
        default_organization_id: u.default_organization_id.map(|o| o.0),
        group_ids: u.group_ids.iter().map(|g| g.0).collect(),
        time_zone: show_email.then_some(u.time_zone),
        created_at: rfc3339(u.created_at),
        updated_at: rfc3339(u.updated_at),
    }
}

fn organization_out(p: &Principal, o: Organization) -> OrganizationOut {
    let staff = p.is_staff();
    OrganizationOut {
        id: o.id.0,
        name: o.name,
        domain_names: if staff { o.domain_names } else { Vec::new() },
        details: staff.then_some(o.details),
        notes: staff.then_some(o.notes),
        tags: if staff { o.tags } else { Vec::new() },
        sharing: o.sharing,
        sharing_blocked: staff.then_some(o.sharing_blocked),
        sharing_blocked_reason: staff.then_some(o.sharing_blocked_reason),
        auto_join_by_domain: staff.then_some(o.auto_join_by_domain),
        created_at: rfc3339(o.created_at),
        updated_at: rfc3339(o.updated_at),
    }
}

pub(crate) fn group_out(g: Group) -> GroupOut {
    GroupOut {
        id: g.id.0,
        name: g.name,
        agent_ids: g.agent_ids.iter().map(|u| u.0).collect(),
        created_at: rfc3339(g.created_at),
        updated_at: rfc3339(g.updated_at),
    }
}

/// The API view of a status; end users see the customer label as the name.
pub fn status_out(p: &Principal, s: Status) -> StatusOut {
    let staff = p.is_staff();
    StatusOut {
        id: s.id.0,
        name: if staff {
            s.name
        } else {
            s.customer_label.clone()
        },
        customer_label: s.customer_label,
        category: s.category,
        built_in: s.built_in,
        position: s.position,
        internal_group_ids: if staff {
            s.internal_group_ids.iter().map(|g| g.0).collect()
        } else {
            Vec::new()
        },
        all_groups: staff && s.all_groups,
    }
}

/// Checks that every id names an organization; problems name `field[i]`.
async fn check_organizations(
    c: &mut Conn,
    field: &str,
    ids: &[i64],
    problems: &mut Problems,
) -> Result<()> {
    let existing = store::organization_ids_existing(c, ids).await?;
    for (i, id) in ids.iter().enumerate() {
        if !existing.contains(id) {
            problems.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_found",
                format!("organization {id} does not exist"),
            ));
        }
    }
    Ok(())
}

/// The refusal of an address that looks like another user's.
fn look_alike(field: &str) -> FieldError {
    FieldError::new(
        field,
        "looks_like_existing",
        "this address looks like another user's address (letters from another alphabet that look the same); use the real address",
    )
}

async fn check_groups(
    c: &mut Conn,
    field: &str,
    ids: &[i64],
    problems: &mut Problems,
) -> Result<()> {
    let groups = store::list_groups(c, None).await?;
    for (i, id) in ids.iter().enumerate() {
        if !groups.iter().any(|g| g.id.0 == *id) {
            problems.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_found",
                format!("group {id} does not exist"),
            ));
        }
    }
    Ok(())
}

impl App {
    /// Memberships are changed by admins and by agents an admin let manage them (SPEC §3.4).
    fn require_membership_grant(&self, p: &Principal) -> Result<()> {
        directory_policy::may(
            &p.viewer,
            p.user.manages_memberships,
            &DirectoryAct::ChangeMembership,
            None,
        )
        .map_err(|r| AppError::forbidden("admin_only", r.message))
    }

    /// Whether `p` may already see every ticket of each organization in `orgs` (SPEC §3.4: an
    /// agent may add a new customer only to such organizations).
    async fn sees_in_full(&self, c: &mut Conn, p: &Principal, orgs: &[i64]) -> Result<bool> {
        if orgs.is_empty() || directory_policy::sees_every_ticket(&p.viewer) {
            return Ok(true);
        }
        if !p.is_staff() {
            return Ok(false);
        }
        let scope = ferrodesk_core::policy::list_scope(&p.viewer);
        for o in orgs {
            let filter = ferrodesk_store::scope::TicketFilter {
                organization_id: Some(OrganizationId(*o)),
                ..Default::default()
            };
            let all = ferrodesk_store::scope::count_tickets(
                c,
                &ferrodesk_core::policy::ListScope::All,
                &filter,
            )
            .await?;
            let seen = ferrodesk_store::scope::count_tickets(c, &scope, &filter).await?;
            if seen != all {
                return Ok(false);
            }
        }
        Ok(true)
    }

    // ------------------------------------------------------------ users

    /// The caller.
    pub async fn me(&self, p: &Principal) -> UserOut {
        user_out(Some(p), p.user.clone())
    }

    /// Lists users (agents and admins).
    pub async fn list_users(
        &self,
        p: &Principal,
        mut filter: UserFilter,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<UserOut>> {
        p.require_staff()?;
        let limit = page_size(limit)?;
        filter.after = cursor(cursor_text)?.map(UserId);
        filter.limit = limit + 1;
        let mut c = self.store().read().await?;
        let users = store::list_users(&mut c, &filter).await?;
        Ok(page(users, limit, |u| u.id.0, |u| user_out(Some(p), u)))
    }

    /// The names of the users `ids` (staff only), in one statement: for pages that list
    /// people by id (a ticket's CCs). Ids of users that do not exist are left out.
    pub async fn names_of_users(&self, p: &Principal, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        p.require_staff()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut c = self.store().read().await?;
        Ok(store::user_names(&mut c, &ids).await?)
    }

    /// Sets the caller's own time zone (an IANA name such as `Europe/Berlin`; none or
    /// empty: the desk's time zone). An unknown name is refused and changes nothing.
    pub async fn set_my_time_zone(&self, p: &Principal, name: Option<&str>) -> Result<()> {
        let name = time_zone_name(name).map_err(|e| AppError::Invalid(vec![e]))?;
        let mut tx = self.store().begin().await?;
        store::update_user(
            &mut tx,
            p.user.id,
            &UserUpdate {
                time_zone: Some(name),
                ..Default::default()
            },
            self.now(),
        )
        .await?;
        commit(tx).await
    }

    /// Reads a user: staff read anyone, end users only themselves.
    pub async fn get_user(&self, p: &Principal, id: UserId) -> Result<UserOut> {
        if !p.is_staff() && p.user.id != id {
            return Err(AppError::NotFound("user"));
        }
        let mut c = self.store().read().await?;
        let u = store::get_user(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(user_out(Some(p), u))
    }

    /// Finds a user by email address (case-insensitive): staff find anyone, end users only
    /// themselves (an address must not confirm whose it is). For the vendor APIs, whose
    /// clients name requesters and CCs by address.
    pub async fn find_user_by_email(&self, p: &Principal, email: &str) -> Result<UserOut> {
        let found = {
            let mut c = self.store().read().await?;
            store::find_user_by_email(&mut c, email.trim()).await?
        };
        match found {
            // Who may read whom is get_user's one rule.
            Some((u, _)) if u.email != store::SYSTEM_EMAIL => self.get_user(p, u.id).await,
            _ => Err(AppError::NotFound("user")),
        }
    }

    /// Creates a user. Admins create anyone; agents create end users.
    pub async fn create_user(&self, p: &Principal, input: UserIn) -> Result<UserOut> {
        p.require_staff()?;
        let password = input
            .password
            .as_deref()
            .map(|pw| validate::password("password", pw))
            .transpose();
        // Hashing is slow on purpose: do it before the write lock is taken.
        let password = match password {
            Ok(Some(pw)) => Ok(Some(self.hash_password(pw).await?)),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let mut tx = self.store().begin().await?;
        let user = self.create_user_in(&mut tx, p, &input, password).await?;
        commit(tx).await?;
        Ok(user_out(Some(p), user))
    }

    /// Creates a user in the caller's transaction, with their password hashed (or why it was
    /// refused): every way a user appears goes through here — the API, the admin pages,
    /// email, imports. A new end user given no organization joins those whose admins turned
    /// `auto_join_by_domain` on for the domain of their address (SPEC §2).
    pub(crate) async fn create_user_in(
        &self,
        tx: &mut Conn,
        p: &Principal,
        input: &UserIn,
        password: std::result::Result<Option<String>, FieldError>,
    ) -> Result<User> {
        p.require_staff()?;
        let role = input.role.unwrap_or(Role::EndUser);
        if role != Role::EndUser {
            p.require_admin()?;
        }
        let mut problems = Problems::default();
        let name = problems.check(validate::name("name", &input.name, 200));
        let email = problems.check(validate::email("email", &input.email));
        let password_hash = problems.check(password).flatten();
        if role != Role::EndUser
            && (!input.organization_ids.is_empty() || input.default_organization_id.is_some())
        {
            problems.push(FieldError::new(
                "organization_ids",
                "not_allowed",
                "only end users belong to organizations",
            ));
        }
        if role == Role::EndUser && !input.group_ids.is_empty() {
            problems.push(FieldError::new(
                "group_ids",
                "not_allowed",
                "only agents and admins belong to groups",
            ));
        }
        if role != Role::Agent && input.ticket_scope.is_some() {
            problems.push(FieldError::new(
                "ticket_scope",
                "not_allowed",
                "only agents have a ticket scope",
            ));
        }
        if role != Role::EndUser && input.access.is_some() {
            problems.push(FieldError::new(
                "access",
                "not_allowed",
                "only end users have an access setting",
            ));
        }
        if let Some(d) = input.default_organization_id
            && !input.organization_ids.contains(&d)
        {
            problems.push(FieldError::new(
                "default_organization_id",
                "not_a_member",
                "the default organization must be one of organization_ids",
            ));
        }
        let mut orgs = input.organization_ids.clone();
        orgs.sort();
        orgs.dedup();
        let mut groups = input.group_ids.clone();
        groups.sort();
        groups.dedup();
        check_organizations(tx, "organization_ids", &orgs, &mut problems).await?;
        check_groups(tx, "group_ids", &groups, &mut problems).await?;
        if let Some(e) = &email
            && store::look_alike_user(tx, e, None).await?.is_some()
        {
            problems.push(look_alike("email"));
        }
        let seen_in_full = self.sees_in_full(tx, p, &orgs).await?;
        // Each key the new user would hold is asked about on its own, so that every refusal
        // is reported at once.
        let acts = [
            DirectoryAct::Create {
                role,
                access: input.access.unwrap_or(UserAccess::Requested),
                with_memberships: false,
                memberships_seen_in_full: true,
            },
            DirectoryAct::Create {
                role,
                access: UserAccess::Requested,
                with_memberships: !orgs.is_empty(),
                memberships_seen_in_full: seen_in_full,
            },
        ];
        for act in &acts {
            if let Err(r) = directory_policy::may(&p.viewer, p.user.manages_memberships, act, None)
                && !problems.0.iter().any(|e| e.field == r.field)
            {
                problems.push(FieldError::new(r.field, "not_allowed", r.message));
            }
        }
        problems.finish().map_err(AppError::Invalid)?;
        let (Some(name), Some(email)) = (name, email) else {
            unreachable!("problems were reported above")
        };
        let now = self.now();
        let id = store::insert_user(
            tx,
            &NewUser {
                name: name.clone(),
                email: email.clone(),
                role,
                ticket_scope: input.ticket_scope.unwrap_or(TicketScope::Global),
                access: input.access.unwrap_or(UserAccess::Requested),
                password_hash,
            },
            now,
        )
        .await?;
        if role == Role::EndUser && orgs.is_empty() {
            let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
            orgs = store::auto_join_organizations(tx, domain).await?;
        }
        for o in &orgs {
            store::add_member(tx, OrganizationId(*o), id, now).await?;
        }
        for g in &groups {
            store::add_group_member(tx, GroupId(*g), id, now).await?;
        }
        let default_org = input.default_organization_id.or(orgs.first().copied());
        if default_org.is_some() {
            store::update_user(
                tx,
                id,
                &UserUpdate {
                    default_organization_id: Some(default_org.map(OrganizationId)),
                    ..UserUpdate::default()
                },
                now,
            )
            .await?;
        }
        let changes = vec![
            FieldChange::new("name", (), &name),
            FieldChange::new("email", (), &email),
            FieldChange::new("role", (), role),
            FieldChange::new("organization_ids", (), &orgs),
            FieldChange::new("group_ids", (), &groups),
        ];
        self.audit(tx, Actor::from(p), ("user", id.0), "created", changes, None)
            .await?;
        store::get_user(tx, id)
            .await?
            .ok_or(AppError::NotFound("user"))
    }

    /// Creates the first admin, or any user, from the command line.
    pub async fn create_user_as_system(&self, input: UserIn) -> Result<UserOut> {
        let system = self.system_principal();
        self.create_user(&system, input).await
    }

    /// A principal for changes made by Ferrodesk itself (CLI, demo data).
    pub fn system_principal(&self) -> Principal {
        let now = self.now();
        Principal {
            user: User {
                id: UserId(0),
                name: "Ferrodesk".into(),
                email: String::new(),
                role: Role::Admin,
                ticket_scope: TicketScope::Global,
                access: UserAccess::Requested,
                suspended: false,
                has_password: false,
                manages_memberships: false,
                organization_ids: Vec::new(),
                default_organization_id: None,
                group_ids: Vec::new(),
                time_zone: None,
                created_at: now,
                updated_at: now,
            },
            viewer: ferrodesk_core::policy::Viewer {
                user_id: UserId(0),
                role: Role::Admin,
                ticket_scope: TicketScope::Global,
                group_ids: Vec::new(),
                access: UserAccess::Requested,
                memberships: Vec::new(),
                suspended: false,
            },
            via: ferrodesk_core::Channel::Cli,
            credential: None,
            two_factor_due: false,
            generation: -1,
        }
    }

    /// Changes a user. Admins change anything but their own role and suspension; agents
    /// change end users' name, email and access; anyone changes their own name and password.
    pub async fn update_user(
        &self,
        p: &Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<UserOut> {
        // Hashing is slow on purpose: do it before the write lock is taken.
        let new_hash = match patch
            .password
            .as_deref()
            .map(|pw| validate::password("password", pw))
        {
            Some(Ok(pw)) => Some(self.hash_password(pw).await?),
            _ => None,
        };
        let mut tx = self.store().begin().await?;
        let before = match store::get_user(&mut tx, id).await? {
            Some(u) if p.is_staff() || p.user.id == id => u,
            _ => return Err(AppError::NotFound("user")),
        };
        let mut problems = Problems::default();
        let target = Some(Target {
            id,
            role: before.role,
        });
        let acts = [
            (patch.name.is_some(), DirectoryAct::Rename),
            (patch.email.is_some(), DirectoryAct::ChangeEmail),
            (patch.role.is_some(), DirectoryAct::ChangeRole),
            (patch.ticket_scope.is_some(), DirectoryAct::ChangeScope),
            (
                patch.access.is_some(),
                DirectoryAct::ChangeAccess(patch.access.unwrap_or(UserAccess::Requested)),
            ),
            (patch.suspended.is_some(), DirectoryAct::Suspend),
            (patch.password.is_some(), DirectoryAct::ChangePassword),
            (
                patch.default_organization_id.is_some(),
                DirectoryAct::ChangeDefaultOrganization,
            ),
            (
                patch.manages_memberships.is_some(),
                DirectoryAct::ChangePermissions,
            ),
            (patch.time_zone.is_some(), DirectoryAct::ChangeTimeZone),
        ];
        for (_, act) in acts.iter().filter(|(asked, _)| *asked) {
            if let Err(r) =
                directory_policy::may(&p.viewer, p.user.manages_memberships, act, target)
            {
                problems.push(FieldError::new(r.field, "not_allowed", r.message));
            }
        }
        let name = patch
            .name
            .as_deref()
            .and_then(|n| problems.check(validate::name("name", n, 200)));
        let email = patch
            .email
            .as_deref()
            .and_then(|e| problems.check(validate::email("email", e)));
        if let Some(e) = &email
            && store::look_alike_user(&mut tx, e, Some(id))
                .await?
                .is_some()
        {
            problems.push(look_alike("email"));
        }
        let password = patch
            .password
            .as_deref()
            .and_then(|pw| problems.check(validate::password("password", pw)));
        let time_zone = patch
            .time_zone
            .as_ref()
            .and_then(|name| problems.check(time_zone_name(name.as_deref())));
        let role = patch.role.unwrap_or(before.role);
        if patch.ticket_scope.is_some() && role != Role::Agent {
            problems.push(FieldError::new(
                "ticket_scope",
                "not_allowed",
                "only agents have a ticket scope",
            ));
        }
        if patch.manages_memberships.is_some() && role != Role::Agent {
            problems.push(FieldError::new(
                "manages_memberships",
                "not_allowed",
                "only agents hold this permission (admins have it by their role)",
            ));
        }
        if patch.access.is_some() && role != Role::EndUser {
            problems.push(FieldError::new(
                "access",
                "not_allowed",
                "only end users have an access setting",
            ));
        }
        if role != before.role && (role == Role::EndUser) != (before.role == Role::EndUser) {
            problems.push(FieldError::new(
                "role",
                "not_allowed",
                "a user cannot move between staff and end user roles; create a new user",
            ));
        }
        if let Some(Some(o)) = patch.default_organization_id
            && !before.organization_ids.contains(&OrganizationId(o))
        {
            problems.push(FieldError::new(
                "default_organization_id",
                "not_a_member",
                "the user is not a member of that organization",
            ));
        }
        problems.finish().map_err(AppError::Invalid)?;
        let password_hash = password.and(new_hash);
        let update = UserUpdate {
            name,
            email,
            role: patch.role,
            ticket_scope: patch.ticket_scope,
            access: patch.access,
            suspended: patch.suspended,
            password_hash,
            default_organization_id: patch.default_organization_id.map(|o| o.map(OrganizationId)),
            manages_memberships: patch.manages_memberships,
            time_zone,
        };
        store::update_user(&mut tx, id, &update, self.now()).await?;
        // A new password or sign-in email, or a suspension, ends every other way in: the
        // sessions and tokens of the old credentials do not come back.
        let keys_changed = update.password_hash.is_some()
            || update.email.as_ref().is_some_and(|e| *e != before.email);
        if keys_changed || update.suspended == Some(true) {
            let spare = (p.user.id == id && update.suspended != Some(true))
                .then_some(p.credential.as_deref())
                .flatten();
            store::end_credentials_of(&mut tx, id, spare).await?;
        }
        let after = store::get_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let mut changes = Vec::new();
        diff(&mut changes, "name", &before.name, &after.name);
        diff(&mut changes, "email", &before.email, &after.email);
        diff(
            &mut changes,
            "role",
            &before.role.as_str(),
            &after.role.as_str(),
        );
        diff(
            &mut changes,
            "ticket_scope",
            &before.ticket_scope.as_str(),
            &after.ticket_scope.as_str(),
        );
        diff(
            &mut changes,
            "access",
            &before.access.as_str(),
            &after.access.as_str(),
        );
        diff(
            &mut changes,
            "suspended",
            &before.suspended,
            &after.suspended,
        );
        diff(
            &mut changes,
            "manages_memberships",
            &before.manages_memberships,
            &after.manages_memberships,
        );
        diff(
            &mut changes,
            "default_organization_id",
            &before.default_organization_id,
            &after.default_organization_id,
        );
        diff(
            &mut changes,
            "time_zone",
            &before.time_zone,
            &after.time_zone,
        );
        if update.password_hash.is_some() {
            changes.push(FieldChange::new("password", "(hidden)", "(changed)"));
        }
        if !changes.is_empty() {
            self.audit(
                &mut tx,
                Actor::from(p),
                ("user", id.0),
                "updated",
                changes,
                None,
            )
            .await?;
        }
        commit(tx).await?;
        Ok(user_out(Some(p), after))
    }

    /// Deletes an agent (admins). Their history stays (comments, audit events keep their
    /// name); they are suspended, lose their sessions, tokens and groups, and every ticket
    /// they owned loses them as assignee or internal agent (reason `agent_deleted`).
    pub async fn delete_agent(&self, p: &Principal, id: UserId) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let u = agent_to_delete(&mut tx, p, id).await?;
        let actor = Actor::from(p);
        self.cascade_agent_deleted(&mut tx, actor, id).await?;
        let groups = store::leave_all_groups(&mut tx, id).await?;
        store::update_user(
            &mut tx,
            id,
            &UserUpdate {
                suspended: Some(true),
                ..UserUpdate::default()
            },
            self.now(),
        )
        .await?;
        store::delete_tokens_of(&mut tx, id).await?;
        self.audit(
            &mut tx,
            actor,
            ("user", id.0),
            "deleted",
            vec![
                FieldChange::new("suspended", u.suspended, true),
                FieldChange::new("group_ids", &groups, ()),
            ],
            None,
        )
        .await?;
        commit(tx).await
    }

    // ------------------------------------------------------------ organizations

    /// Lists organizations: staff see all, end users their own.
    pub async fn list_organizations(
        &self,
        p: &Principal,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<OrganizationOut>> {
        let limit = page_size(limit)?;
        let after = cursor(cursor_text)?.map(OrganizationId);
        let only = (!p.is_staff()).then(|| p.user.organization_ids.clone());
        let mut c = self.store().read().await?;
        let orgs = store::list_organizations(&mut c, only.as_deref(), after, limit + 1).await?;
        Ok(page(orgs, limit, |o| o.id.0, |o| organization_out(p, o)))
    }

    /// Organizations whose name contains `text` (any case; all when empty), by name, for
    /// staff's lists: the page of `limit` from `offset` on, and how many match in all.
    pub async fn search_organizations(
        &self,
        p: &Principal,
        text: &str,
        offset: i64,
        limit: Option<i64>,
    ) -> Result<(Vec<OrganizationOut>, i64)> {
        p.require_staff()?;
        let limit = page_size(limit)?;
        let mut c = self.store().read().await?;
        let (orgs, total) = store::search_organizations(&mut c, text, offset.max(0), limit).await?;
        Ok((
            orgs.into_iter().map(|o| organization_out(p, o)).collect(),
            total,
        ))
    }

    /// Reads an organization (end users: only their own).
    pub async fn get_organization(
        &self,
        p: &Principal,
        id: OrganizationId,
    ) -> Result<OrganizationOut> {
        if !p.is_staff() && !p.user.organization_ids.contains(&id) {
            return Err(AppError::NotFound("organization"));
        }
        let mut c = self.store().read().await?;
        let o = store::get_organization(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        Ok(organization_out(p, o))
    }

    fn organization_fields(input: &OrganizationIn, problems: &mut Problems) -> OrganizationFields {
        if input.sharing.is_some() {
            problems.push(FieldError::new(
                "sharing",
                "use_sharing_workflow",
                "sharing changes only through POST /api/v1/organizations/{id}/sharing-changes, \
                 tied to the customer's request ticket",
            ));
        }
        let domains = input.domain_names.as_ref().map(|ds| {
            let mut out: Vec<String> = ds
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    problems.check(validate::domain(&format!("domain_names[{i}]"), d))
                })
                .collect();
            out.sort();
            out.dedup();
            out
        });
        if input.domain_names.as_ref().is_some_and(|d| d.len() > 50) {
            problems.push(FieldError::new(
                "domain_names",
                "too_many",
                "at most 50 domain names",
            ));
        }
        OrganizationFields {
            name: input
                .name
                .as_deref()
                .and_then(|n| problems.check(validate::name("name", n, 200))),
            domain_names: domains,
            details: input
                .details
                .as_deref()
                .and_then(|d| problems.check(validate::text("details", d, 0, 65_536))),
            notes: input
                .notes
                .as_deref()
                .and_then(|d| problems.check(validate::text("notes", d, 0, 65_536))),
            tags: input
                .tags
                .as_deref()
                .and_then(|t| problems.check(validate::tags("tags", t, 50))),
            sharing_blocked: input.sharing_blocked,
            sharing_blocked_reason: input
                .sharing_blocked_reason
                .as_deref()
                .and_then(|d| problems.check(validate::text("sharing_blocked_reason", d, 0, 2000))),
            auto_join_by_domain: input.auto_join_by_domain,
            sharing: None,
        }
    }

    /// Creates an organization (admins).
    pub async fn create_organization(
        &self,
        p: &Principal,
        input: OrganizationIn,
    ) -> Result<OrganizationOut> {
        p.require_admin()?;
        let mut problems = Problems::default();
        if input.name.is_none() {
            problems.push(FieldError::new(
                "name",
                "required",
                "name must not be empty",
            ));
        }
        let fields = Self::organization_fields(&input, &mut problems);
        problems.finish().map_err(AppError::Invalid)?;
        let mut tx = self.store().begin().await?;
        let id = store::insert_organization(&mut tx, &fields, self.now()).await?;
        let o = store::get_organization(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let changes = org_changes(None, &o);
        self.audit(
            &mut tx,
            Actor::from(p),
            ("organization", id.0),
            "created",
            changes,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(organization_out(p, o))
    }

    /// Changes an organization. Admins change everything but sharing; agents only notes.
    pub async fn update_organization(
        &self,
        p: &Principal,
        id: OrganizationId,
        input: OrganizationIn,
    ) -> Result<OrganizationOut> {
        p.require_staff()?;
        let mut problems = Problems::default();
        let fields = Self::organization_fields(&input, &mut problems);
        if p.user.role != Role::Admin {
            let admin_only = [
                ("name", input.name.is_some()),
                ("domain_names", input.domain_names.is_some()),
                ("details", input.details.is_some()),
                ("tags", input.tags.is_some()),
                ("sharing_blocked", input.sharing_blocked.is_some()),
                (
                    "sharing_blocked_reason",
                    input.sharing_blocked_reason.is_some(),
                ),
                ("auto_join_by_domain", input.auto_join_by_domain.is_some()),
            ];
            for (field, set) in admin_only {
                if set {
                    problems.push(FieldError::new(
                        field,
                        "not_allowed",
                        "agents may change only notes",
                    ));
                }
            }
        }
        problems.finish().map_err(AppError::Invalid)?;
        let mut tx = self.store().begin().await?;
        let before = store::get_organization(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        store::update_organization(&mut tx, id, &fields, self.now()).await?;
        let after = store::get_organization(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let changes = org_changes(Some(&before), &after);
        if !changes.is_empty() {
            self.audit(
                &mut tx,
                Actor::from(p),
                ("organization", id.0),
                "updated",
                changes,
                None,
            )
            .await?;
        }
        commit(tx).await?;
        Ok(organization_out(p, after))
    }

    /// Adds an end user to an organization (admins).
    pub async fn add_member(
        &self,
        p: &Principal,
        org: OrganizationId,
        user: UserId,
        input: MembershipIn,
    ) -> Result<UserOut> {
        self.require_membership_grant(p)?;
        let mut tx = self.store().begin().await?;
        store::get_organization(&mut tx, org)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let u = store::get_user(&mut tx, user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if u.role != Role::EndUser {
            return Err(AppError::invalid(
                "user_id",
                "not_an_end_user",
                "only end users belong to organizations",
            ));
        }
        let now = self.now();
        let added = store::add_member(&mut tx, org, user, now).await?;
        let make_default = input.default || u.default_organization_id.is_none();
        if make_default && u.default_organization_id != Some(org) {
            store::update_user(
                &mut tx,
                user,
                &UserUpdate {
                    default_organization_id: Some(Some(org)),
                    ..UserUpdate::default()
                },
                now,
            )
            .await?;
        }
        if added || make_default {
            let mut changes = Vec::new();
            if added {
                changes.push(FieldChange::new("organization_ids", (), org.0));
            }
            if make_default && u.default_organization_id != Some(org) {
                changes.push(FieldChange::new(
                    "default_organization_id",
                    u.default_organization_id,
                    org.0,
                ));
            }
            self.audit(
                &mut tx,
                Actor::from(p),
                ("user", user.0),
                "membership_added",
                changes.clone(),
                None,
            )
            .await?;
            self.audit(
                &mut tx,
                Actor::from(p),
                ("organization", org.0),
                "member_added",
                vec![FieldChange::new("member", (), user.0)],
                None,
            )
            .await?;
        }
        let u = store::get_user(&mut tx, user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        commit(tx).await?;
        Ok(user_out(Some(p), u))
    }

    /// Removes an end user from an organization (admins). Their non-closed tickets in it
    /// lose the organization (SPEC §2.2); closed tickets keep it.
    pub async fn remove_member(
        &self,
        p: &Principal,
        org: OrganizationId,
        user: UserId,
    ) -> Result<()> {
        self.require_membership_grant(p)?;
        let mut tx = self.store().begin().await?;
        store::get_organization(&mut tx, org)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let u = store::get_user(&mut tx, user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if !store::remove_member(&mut tx, org, user).await? {
            return Err(AppError::NotFound("membership"));
        }
        let now = self.now();
        if u.default_organization_id == Some(org) {
            let next = u.organization_ids.iter().copied().find(|o| *o != org);
            store::update_user(
                &mut tx,
                user,
                &UserUpdate {
                    default_organization_id: Some(next),
                    ..UserUpdate::default()
                },
                now,
            )
            .await?;
        }
        self.audit(
            &mut tx,
            Actor::from(p),
            ("organization", org.0),
            "member_removed",
            vec![FieldChange::new("member", user.0, ())],
            None,
        )
        .await?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("user", user.0),
            "membership_removed",
            vec![FieldChange::new("organization_ids", org.0, ())],
            None,
        )
        .await?;
        self.detach_tickets_from_organization(&mut tx, Actor::from(p), org, user)
            .await?;
        commit(tx).await
    }

    // ------------------------------------------------------------ groups

    /// Lists groups (staff).
    pub async fn list_groups(&self, p: &Principal) -> Result<Page<GroupOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let groups = store::list_groups(&mut c, None).await?;
        Ok(Page {
            items: groups.into_iter().map(group_out).collect(),
            next_cursor: None,
        })
    }

    /// Reads a group (staff).
    pub async fn get_group(&self, p: &Principal, id: GroupId) -> Result<GroupOut> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        store::get_group(&mut c, id)
            .await?
            .map(group_out)
            .ok_or(AppError::NotFound("group"))
    }

    /// Creates a group (admins).
    pub async fn create_group(&self, p: &Principal, input: GroupIn) -> Result<GroupOut> {
        p.require_admin()?;
        let mut problems = Problems::default();
        let name = match &input.name {
            Some(n) => problems.check(validate::name("name", n, 100)),
            None => {
                problems.push(FieldError::new(
                    "name",
                    "required",
                    "name must not be empty",
                ));
                None
            }
        };
        let mut agents = input.agent_ids.clone();
        agents.sort();
        agents.dedup();
        let mut tx = self.store().begin().await?;
        check_staff(&mut tx, "agent_ids", &agents, &mut problems).await?;
        problems.finish().map_err(AppError::Invalid)?;
        let name = name.unwrap_or_default();
        let now = self.now();
        let id = store::insert_group(&mut tx, &name, now).await?;
        for a in &agents {
            store::add_group_member(&mut tx, id, UserId(*a), now).await?;
        }
        self.audit(
            &mut tx,
            Actor::from(p),
            ("group", id.0),
            "created",
            vec![
                FieldChange::new("name", (), &name),
                FieldChange::new("agent_ids", (), &agents),
            ],
            None,
        )
        .await?;
        let g = store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        commit(tx).await?;
        Ok(group_out(g))
    }

    /// Renames a group (admins).
    pub async fn update_group(
        &self,
        p: &Principal,
        id: GroupId,
        input: GroupIn,
    ) -> Result<GroupOut> {
        p.require_admin()?;
        if !input.agent_ids.is_empty() {
            return Err(AppError::invalid(
                "agent_ids",
                "not_allowed",
                "change members with PUT/DELETE /api/v1/groups/{id}/members/{user_id}",
            ));
        }
        let mut tx = self.store().begin().await?;
        let before = store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        if let Some(n) = &input.name {
            let name = validate::name("name", n, 100).map_err(|e| AppError::Invalid(vec![e]))?;
            if name != before.name {
                store::rename_group(&mut tx, id, &name, self.now()).await?;
                self.audit(
                    &mut tx,
                    Actor::from(p),
                    ("group", id.0),
                    "updated",
                    vec![FieldChange::new("name", &before.name, &name)],
                    None,
                )
                .await?;
            }
        }
        let g = store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        commit(tx).await?;
        Ok(group_out(g))
    }

    /// Adds an agent to a group (admins).
    pub async fn add_group_member(
        &self,
        p: &Principal,
        id: GroupId,
        user: UserId,
    ) -> Result<GroupOut> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        let mut problems = Problems::default();
        check_staff(&mut tx, "user_id", &[user.0], &mut problems).await?;
        if let Err(mut errs) = problems.finish() {
            errs[0].field = "user_id".into();
            return Err(AppError::Invalid(errs));
        }
        if store::add_group_member(&mut tx, id, user, self.now()).await? {
            self.audit(
                &mut tx,
                Actor::from(p),
                ("group", id.0),
                "member_added",
                vec![FieldChange::new("agent_ids", (), user.0)],
                None,
            )
            .await?;
        }
        let g = store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        commit(tx).await?;
        Ok(group_out(g))
    }

    /// Removes an agent from a group (admins); tickets whose internal agent they were in
    /// that group lose the internal agent (reason `agent_left_group`).
    pub async fn remove_group_member(
        &self,
        p: &Principal,
        id: GroupId,
        user: UserId,
    ) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        if !store::remove_group_member(&mut tx, id, user).await? {
            return Err(AppError::NotFound("membership"));
        }
        self.audit(
            &mut tx,
            Actor::from(p),
            ("group", id.0),
            "member_removed",
            vec![FieldChange::new("agent_ids", user.0, ())],
            None,
        )
        .await?;
        self.cascade_agent_left_group(&mut tx, Actor::from(p), id, user)
            .await?;
        commit(tx).await
    }

    /// Deletes a group (admins). Its tickets lose it as group (and assignee) or as internal
    /// owner, each with an audit event (reason `group_deleted`).
    pub async fn delete_group(&self, p: &Principal, id: GroupId) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let g = store::get_group(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        self.cascade_group_deleted(&mut tx, Actor::from(p), id)
            .await?;
        store::delete_group(&mut tx, id).await?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("group", id.0),
            "deleted",
            vec![FieldChange::new("name", &g.name, ())],
            None,
        )
        .await?;
        commit(tx).await
    }

    // ------------------------------------------------------------ statuses

    /// Every status with its mapped groups.
    pub async fn list_statuses(&self, p: &Principal) -> Result<Page<StatusOut>> {
        let mut c = self.store().read().await?;
        let statuses = self.statuses(&mut c, p).await?;
        Ok(Page {
            items: statuses.iter().map(|s| status_out(p, s.clone())).collect(),
            next_cursor: None,
        })
    }
}

fn org_fields(o: &Organization) -> crate::Fields {
    use serde_json::json;
    vec![
        ("name", json!(o.name)),
        ("domain_names", json!(o.domain_names)),
        ("details", json!(o.details)),
        ("notes", json!(o.notes)),
        ("tags", json!(o.tags)),
        ("sharing", json!(o.sharing)),
        ("sharing_blocked", json!(o.sharing_blocked)),
        ("sharing_blocked_reason", json!(o.sharing_blocked_reason)),
        ("auto_join_by_domain", json!(o.auto_join_by_domain)),
    ]
}

fn org_changes(before: Option<&Organization>, after: &Organization) -> Vec<FieldChange> {
    crate::field_changes(before.map(org_fields), org_fields(after))
}

/// The agent `p` (an admin) would delete: not themselves, not Ferrodesk's own user, not an
/// end user (they are suspended instead). The deletion and its confirmation page ask this
/// same question.
pub(crate) async fn agent_to_delete(c: &mut Conn, p: &Principal, id: UserId) -> Result<User> {
    p.require_admin()?;
    if p.user.id == id {
        return Err(AppError::forbidden(
            "cannot_delete_self",
            "admins cannot delete themselves",
        ));
    }
    let u = match store::get_user(c, id).await? {
        Some(u) if u.email != store::SYSTEM_EMAIL => u,
        _ => return Err(AppError::NotFound("user")),
    };
    if u.role == Role::EndUser {
        return Err(AppError::invalid(
            "id",
            "not_an_agent",
            "end users are suspended, not deleted: their tickets stay theirs",
        ));
    }
    Ok(u)
}
