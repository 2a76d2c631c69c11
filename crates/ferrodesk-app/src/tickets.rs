//! Ticket use cases: every read and write asks the access policy first.

use std::collections::BTreeMap;

use ferrodesk_core::policy::{self, Decision};
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{
    Channel, CommentId, GroupId, OrganizationId, Priority, Role, StatusCategory, StatusId,
    TicketId, UserId,
};
use ferrodesk_store::Conn;
use ferrodesk_store::directory::{self as dir, Status};
use ferrodesk_store::scope::{self, TicketFilter};
use ferrodesk_store::tickets::{self as store, Comment, CustomField, Ticket};

use crate::auth::{Credential, secret_hash};
use crate::directory::{commit, cursor, page, page_size};
use crate::dto::{
    ActorOut, ChangeOut, CommentIn, CommentOut, CountOut, EventOut, Page, TicketIn, TicketOut,
    TicketPatch, rfc3339,
};
use crate::ticket_write::{Explicit, happenings, performer};
use crate::{Actor, App, AppError, Principal, Result};
use ferrodesk_core::rules::Happening;

/// Longest comment body, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// Ticket `t` (none: there is no such ticket) and what `p` may do with it, if they may see
/// it (else 404, as for a ticket that does not exist).
fn visible(p: &Principal, t: Option<Ticket>) -> Result<(Ticket, Decision)> {
    let t = t.ok_or(AppError::NotFound("ticket"))?;
    let d = policy::decide(&p.viewer, &t.facts());
    if !d.can_view() {
        return Err(AppError::NotFound("ticket"));
    }
    Ok((t, d))
}

/// The API view of a ticket, as `p` may see it.
pub fn ticket_out(p: &Principal, t: &Ticket, statuses: &[Status]) -> TicketOut {
    let staff = p.is_staff();
    let status = statuses.iter().find(|s| s.id == t.status_id);
    let internal = |v: Option<i64>| staff.then_some(v);
    TicketOut {
        id: t.id.0,
        subject: t.subject.clone(),
        requester_id: t.requester_id.0,
        organization_id: t.organization_id.map(|o| o.0),
        status: status
            .map(|s| {
                if staff {
                    s.name.clone()
                } else {
                    s.customer_label.clone()
                }
            })
            .unwrap_or_default(),
        status_id: t.status_id.0,
        status_category: status.map_or(StatusCategory::Open, |s| s.category),
        priority: t.priority,
        group_id: internal(t.group_id.map(|g| g.0)),
        assignee_id: t.assignee_id.map(|u| u.0),
        internal_group_id: internal(t.internal_group_id.map(|g| g.0)),
        internal_agent_id: internal(t.internal_agent_id.map(|u| u.0)),
        cc_ids: t.cc_ids.iter().map(|u| u.0).collect(),
        tags: staff.then(|| t.tags.clone()),
        custom_fields: t.custom_fields.clone(),
        channel: t.channel,
        sharing_check: if staff { t.sharing_check.clone() } else { None },
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        version: t.version,
    }
}

/// Resolves a status given by name or id.
fn pick_status(
    statuses: &[Status],
    name: Option<&str>,
    id: Option<i64>,
    problems: &mut Problems,
) -> Option<StatusId> {
    let by_name = name.map(|n| {
        statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(n.trim()))
            .map(|s| s.id)
            .ok_or_else(|| {
                let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
                FieldError::new(
                    "status",
                    "not_found",
                    format!("status must be one of: {}", names.join(", ")),
                )
            })
    });
    let by_id = id.map(|i| {
        statuses
            .iter()
            .find(|s| s.id.0 == i)
            .map(|s| s.id)
            .ok_or_else(|| {
                FieldError::new(
                    "status_id",
                    "not_found",
                    format!("status {i} does not exist"),
                )
            })
    });
    match (by_name, by_id) {
        (None, None) => None,
        (Some(r), None) | (None, Some(r)) => problems.check(r),
        (Some(a), Some(b)) => {
            let (a, b) = (problems.check(a), problems.check(b));
            if a.is_some() && b.is_some() && a != b {
                problems.push(FieldError::new(
                    "status",
                    "conflict",
                    "status and status_id name different statuses",
                ));
            }
            a
        }
    }
}

/// Checks custom field values against their definitions.
pub(crate) fn check_custom_fields(
    defs: &[CustomField],
    values: &BTreeMap<String, serde_json::Value>,
    problems: &mut Problems,
) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for (key, value) in values {
        let field = format!("custom_fields.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key && d.active) else {
            problems.push(FieldError::new(
                field,
                "unknown_field",
                format!("there is no active custom field {key:?}"),
            ));
            continue;
        };
        let ok = match (def.field_type.as_str(), value) {
            (_, serde_json::Value::Null) => true,
            ("text", serde_json::Value::String(s)) => s.chars().count() <= 10_000,
            ("number", serde_json::Value::Number(_)) => true,
            ("checkbox", serde_json::Value::Bool(_)) => true,
            ("dropdown", serde_json::Value::String(s)) => def.options.contains(s),
            ("date", serde_json::Value::String(s)) => s.parse::<jiff::civil::Date>().is_ok(),
            _ => false,
        };
        if ok {
            out.insert(key.clone(), value.clone());
        } else {
            let expected = match def.field_type.as_str() {
                "text" => "a string of at most 10000 characters".to_owned(),
                "number" => "a number".to_owned(),
                "checkbox" => "true or false".to_owned(),
                "dropdown" => format!("one of: {}", def.options.join(", ")),
                _ => "a date as YYYY-MM-DD".to_owned(),
            };
            problems.push(FieldError::new(
                field,
                "invalid_value",
                format!("{key} must be {expected}"),
            ));
        }
    }
    out
}

async fn check_ccs(c: &mut Conn, ids: &[i64], problems: &mut Problems) -> Result<Vec<UserId>> {
    if ids.len() > 50 {
        problems.push(FieldError::new("cc_ids", "too_many", "at most 50 CCs"));
        return Ok(Vec::new());
    }
    let roles = dir::user_roles(c, ids).await?;
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if roles.iter().any(|(u, _)| u == id) {
            out.push(UserId(*id));
        } else {
            problems.push(FieldError::new(
                format!("cc_ids[{i}]"),
                "not_found",
                format!("user {id} does not exist"),
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl App {
    /// Loads a ticket and the caller's decision on it; 404 when they may not see it.
    pub(crate) async fn visible_ticket(
        &self,
        c: &mut Conn,
        p: &Principal,
        id: TicketId,
    ) -> Result<(Ticket, Decision)> {
        visible(p, store::get_ticket(c, id).await?)
    }

    /// Creates a ticket with its description as first comment.
    pub async fn create_ticket(&self, p: &Principal, input: TicketIn) -> Result<TicketOut> {
        let mut tx = self.store().begin().await?;
        let (out, _) = self.create_ticket_in(&mut tx, p, input, &[]).await?;
        commit(tx).await?;
        Ok(out)
    }

    /// Creates a ticket whose requester is a new end user described by `requester`: both or
    /// neither (the vendor APIs name requesters by address and create unknown ones, as the
    /// vendors do; a refused ticket must not leave a contact behind).
    pub async fn create_ticket_for_new_requester(
        &self,
        p: &Principal,
        requester: crate::dto::UserIn,
        mut input: TicketIn,
    ) -> Result<TicketOut> {
        let mut tx = self.store().begin().await?;
        let user = self
            .create_user_in(&mut tx, p, &requester, Ok(None))
            .await?;
        input.requester_id = Some(user.id.0);
        let (out, _) = self.create_ticket_in(&mut tx, p, input, &[]).await?;
        commit(tx).await?;
        Ok(out)
    }

    /// Creates a ticket in the caller's transaction; `copied` are CCs the message that opens
    /// it named (email), added whoever the requester is. Returns the ticket and its first
    /// comment's id.
    pub(crate) async fn create_ticket_in(
        &self,
        tx: &mut Conn,
        p: &Principal,
        input: TicketIn,
        copied: &[UserId],
    ) -> Result<(TicketOut, CommentId)> {
        let mut problems = Problems::default();
        let staff = p.is_staff();
        if !staff {
            let agent_only = [
                ("public", input.public.is_some()),
                (
                    "requester_id",
                    input.requester_id.is_some_and(|r| r != p.user.id.0),
                ),
                ("status", input.status.is_some()),
                ("status_id", input.status_id.is_some()),
                ("group_id", input.group_id.is_some()),
                ("assignee_id", input.assignee_id.is_some()),
                ("internal_group_id", input.internal_group_id.is_some()),
                ("internal_agent_id", input.internal_agent_id.is_some()),
                ("cc_ids", input.cc_ids.is_some()),
                ("tags", input.tags.is_some()),
            ];
            for (field, set) in agent_only {
                if set {
                    problems.push(FieldError::new(
                        field,
                        "not_allowed",
                        format!("end users may not set {field}"),
                    ));
                }
            }
        }
        let subject = problems.check(validate::name("subject", &input.subject, 250));
        let description = problems.check(validate::text(
            "description",
            &input.description,
            1,
            MAX_COMMENT_CHARS,
        ));
        let tags = input
            .tags
            .as_deref()
            .map(|t| problems.check(validate::tags("tags", t, 50)))
            .unwrap_or(Some(Vec::new()));
        let mut w = self.ticket_write(tx).await?;
        let requester_id = UserId(input.requester_id.unwrap_or(p.user.id.0));
        let requester =
            dir::get_user_at(tx, requester_id, self.store().cache(), w.generation).await?;
        if requester.is_none() {
            problems.push(FieldError::new(
                "requester_id",
                "not_found",
                format!("user {requester_id} does not exist"),
            ));
        }
        let organization_id = match (input.organization_id, &requester) {
            (Some(o), Some(r)) => {
                if r.organization_ids.contains(&OrganizationId(o)) {
                    Some(OrganizationId(o))
                } else {
                    problems.push(FieldError::new(
                        "organization_id",
                        "not_a_member",
                        format!("the requester is not a member of organization {o}"),
                    ));
                    None
                }
            }
            (None, Some(r)) => r.default_organization_id,
            _ => None,
        };
        let open = w.built_in("Open")?.id;
        let status_id = pick_status(
            &w.statuses,
            input.status.as_deref(),
            input.status_id,
            &mut problems,
        )
        .unwrap_or(open);
        let cc_ids = check_ccs(
            tx,
            input.cc_ids.as_deref().unwrap_or_default(),
            &mut problems,
        )
        .await?;
        let mut cc_ids = cc_ids;
        cc_ids.extend(copied.iter().filter(|u| **u != requester_id));
        cc_ids.sort();
        cc_ids.dedup();
        let custom_fields = check_custom_fields(
            &w.defs,
            &input.custom_fields.unwrap_or_default(),
            &mut problems,
        );
        let now = self.now();
        let channel = match p.via {
            Channel::Web if !staff => Channel::Portal,
            Channel::Cli | Channel::System => Channel::Api,
            v => v,
        };
        let mut ticket = Ticket {
            id: TicketId(0),
            subject: subject.clone().unwrap_or_default(),
            requester_id,
            organization_id,
            status_id,
            priority: input.priority.unwrap_or(Priority::Normal),
            group_id: input.group_id.map(GroupId),
            assignee_id: input.assignee_id.map(UserId),
            internal_group_id: input.internal_group_id.map(GroupId),
            internal_agent_id: input.internal_agent_id.map(UserId),
            cc_ids,
            tags: tags.unwrap_or_default(),
            custom_fields,
            channel,
            sharing_check: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        w.check(tx, None, &mut ticket, Explicit::default(), &mut problems)
            .await?;
        problems.finish().map_err(AppError::Invalid)?;
        let mut description = Comment {
            id: CommentId(0),
            ticket_id: TicketId(0),
            author_id: if staff && p.user.id.0 != 0 {
                p.user.id
            } else {
                requester_id
            },
            body: description.unwrap_or_default(),
            public: input.public.unwrap_or(true),
            channel,
            created_at: now,
        };
        w.create(tx, Actor::from(p), &mut ticket, &mut description)
            .await?;
        let tokens = input.upload_tokens.clone().unwrap_or_default();
        self.attach_uploads(tx, p, &tokens, description.id, ticket.id)
            .await?;
        let fired = vec![
            Happening::Created,
            Happening::CommentAdded {
                public: description.public,
            },
        ];
        let (ticket, _, _) = w.run_rules(tx, ticket, fired, performer(p)).await?;
        Ok((ticket_out(p, &ticket, &w.statuses), description.id))
    }

    /// What the caller may do with a ticket (404 when they may not see it): for pages that
    /// show a reply box only when a comment would be accepted.
    pub async fn ticket_access(&self, p: &Principal, id: TicketId) -> Result<Decision> {
        let mut c = self.store().read().await?;
        Ok(self.visible_ticket(&mut c, p, id).await?.1)
    }

    /// Reads a ticket (404 when the caller may not see it).
    pub async fn get_ticket(&self, p: &Principal, id: TicketId) -> Result<TicketOut> {
        let mut c = self.store().read().await?;
        let (t, _) = self.visible_ticket(&mut c, p, id).await?;
        let statuses = self.statuses(&mut c, p).await?;
        Ok(ticket_out(p, &t, &statuses))
    }

    /// Reads a ticket for whoever holds `credential`, in one statement with who they are
    /// (`ferrodesk_store::signed`): none when the credential is not live or its user
    /// suspended; else their principal, and the ticket or why they may not have it (404 when
    /// they may not see it), which is only to be answered once the principal is let through.
    pub async fn get_ticket_with(
        &self,
        credential: Credential<'_>,
        id: TicketId,
    ) -> Result<Option<(Principal, Result<TicketOut>)>> {
        let now = self.now();
        let hash = secret_hash(credential.secret());
        let who = self.who(credential, &hash, now);
        let mut c = self.store().read().await?;
        let cache = self.store().cache();
        let Some((signed, ticket)) =
            ferrodesk_store::signed::ticket(&mut c, who, id, cache).await?
        else {
            return Ok(None);
        };
        let Some(p) = self.admit(credential, signed, hash, now).await? else {
            return Ok(None);
        };
        let out = match visible(&p, ticket) {
            Ok((t, _)) => Ok(ticket_out(&p, &t, &self.statuses(&mut c, &p).await?)),
            Err(e) => Err(e),
        };
        Ok(Some((p, out)))
    }

    /// Lists the tickets the caller may see, newest first, filtered in SQL.
    pub async fn list_tickets(
        &self,
        p: &Principal,
        filter: TicketFilter,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<TicketOut>> {
        let limit = page_size(limit)?;
        let before = cursor(cursor_text)?.map(TicketId);
        let filter = self.filter_for(p, filter)?;
        let scope = policy::list_scope(&p.viewer);
        let mut c = self.store().read().await?;
        let tickets = scope::list_tickets(&mut c, &scope, &filter, before, limit + 1).await?;
        let statuses = self.statuses(&mut c, p).await?;
        Ok(page(
            tickets,
            limit,
            |t| t.id.0,
            |t| ticket_out(p, &t, &statuses),
        ))
    }

    /// The tickets the caller may see that changed after `after` (an `(updated_at, id)`
    /// position, microseconds) and at least `settle_micros` ago, oldest change first: an
    /// incremental export's page (admins only, as the vendors' exports). The position of the
    /// last one is where the next page starts.
    pub async fn tickets_changed(
        &self,
        p: &Principal,
        after: (i64, i64),
        settle_micros: i64,
        limit: i64,
    ) -> Result<(Vec<TicketOut>, Option<(i64, i64)>)> {
        p.require_admin()?;
        let until = self.now() - settle_micros;
        let scope = policy::list_scope(&p.viewer);
        let mut c = self.store().read().await?;
        let tickets = scope::list_tickets_changed(&mut c, &scope, after, until, limit).await?;
        let statuses = self.statuses(&mut c, p).await?;
        let last = tickets.last().map(|t| (t.updated_at, t.id.0));
        Ok((
            tickets
                .iter()
                .map(|t| ticket_out(p, t, &statuses))
                .collect(),
            last,
        ))
    }

    /// Every comment (private notes included) of the tickets `ids`, by ticket, with their
    /// files: an export's sideload, for admins, who see every ticket (SPEC §3).
    pub async fn export_comments(
        &self,
        p: &Principal,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<CommentOut>>> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let comments = store::comments_of_tickets(&mut c, ids).await?;
        let comment_ids: Vec<i64> = comments.iter().map(|m| m.id.0).collect();
        let files = ferrodesk_store::attachments::of_comments(&mut c, &comment_ids).await?;
        let mut authors: Vec<i64> = comments.iter().map(|m| m.author_id.0).collect();
        authors.extend(files.iter().filter_map(|f| f.redacted_by));
        authors.sort();
        authors.dedup();
        let names = dir::user_names(&mut c, &authors).await?;
        let mut out: BTreeMap<i64, Vec<CommentOut>> = BTreeMap::new();
        for m in comments {
            let attachments = files
                .iter()
                .filter(|f| f.comment_id == Some(m.id.0))
                .map(|f| crate::attachments::attachment_out(f, &names))
                .collect();
            out.entry(m.ticket_id.0).or_default().push(CommentOut {
                attachments,
                ..comment_out(m, &names)
            });
        }
        Ok(out)
    }

    /// Counts the tickets the caller may see.
    pub async fn count_tickets(&self, p: &Principal, filter: TicketFilter) -> Result<CountOut> {
        let filter = self.filter_for(p, filter)?;
        let scope = policy::list_scope(&p.viewer);
        let mut c = self.store().read().await?;
        Ok(CountOut {
            count: scope::count_tickets(&mut c, &scope, &filter).await?,
        })
    }

    /// End users may not filter on internal fields (it would reveal them).
    fn filter_for(&self, p: &Principal, f: TicketFilter) -> Result<TicketFilter> {
        if !p.is_staff() {
            let internal = [
                ("group_id", f.group_id.is_some()),
                ("internal_group_id", f.internal_group_id.is_some()),
                ("internal_agent_id", f.internal_agent_id.is_some()),
                ("any_group_id", f.any_group_id.is_some()),
                ("any_agent_id", f.any_agent_id.is_some()),
            ];
            let problems: Vec<FieldError> = internal
                .iter()
                .filter(|(_, set)| *set)
                .map(|(field, _)| {
                    FieldError::new(
                        *field,
                        "not_allowed",
                        format!("end users may not filter by {field}"),
                    )
                })
                .collect();
            if !problems.is_empty() {
                return Err(AppError::Invalid(problems));
            }
        }
        Ok(f)
    }

    /// Changes a ticket. `if_match` is the version the caller last saw: a stale one
    /// answers 412 and changes nothing.
    pub async fn update_ticket(
        &self,
        p: &Principal,
        id: TicketId,
        if_match: Option<i64>,
        patch: TicketPatch,
    ) -> Result<TicketOut> {
        let mut tx = self.store().begin().await?;
        let out = self
            .update_ticket_in(&mut tx, p, id, if_match, patch)
            .await?;
        commit(tx).await?;
        Ok(out)
    }

    /// Adds a comment to a ticket and changes it, both or neither (the vendor APIs' update
    /// with a `comment` inside: "Works again, thanks" with `solved: true` leaves the ticket
    /// solved, as one act). `if_match` is checked first; the answer is the ticket after both
    /// (and after the rules they set off) and the comment.
    pub async fn update_ticket_with_comment(
        &self,
        p: &Principal,
        id: TicketId,
        if_match: Option<i64>,
        patch: Option<TicketPatch>,
        comment: Option<CommentIn>,
    ) -> Result<(TicketOut, Option<CommentOut>)> {
        let mut tx = self.store().begin().await?;
        if let Some(v) = if_match {
            let (t, _) = self.visible_ticket(&mut tx, p, id).await?;
            if t.version != v {
                return Err(AppError::Stale { current: t.version });
            }
        }
        let added = match comment {
            Some(input) => {
                let c = self.add_comment_in(&mut tx, p, id, input).await?;
                Some(added_comment_out(&mut tx, p, c).await?)
            }
            None => None,
        };
        if let Some(patch) = patch {
            self.update_ticket_in(&mut tx, p, id, None, patch).await?;
        }
        let (t, _) = self.visible_ticket(&mut tx, p, id).await?;
        let statuses = self.statuses(&mut tx, p).await?;
        let out = ticket_out(p, &t, &statuses);
        commit(tx).await?;
        Ok((out, added))
    }

    /// [`App::update_ticket`] in the caller's transaction.
    pub(crate) async fn update_ticket_in(
        &self,
        tx: &mut Conn,
        p: &Principal,
        id: TicketId,
        if_match: Option<i64>,
        patch: TicketPatch,
    ) -> Result<TicketOut> {
        let tx = &mut *tx;
        let (before, decision) = self.visible_ticket(tx, p, id).await?;
        let mut w = self.ticket_write(tx).await?;
        let mut problems = Problems::default();
        if !p.is_staff() {
            // End users may only mark a ticket they requested as resolved.
            let others = [
                ("subject", patch.subject.is_some()),
                ("requester_id", patch.requester_id.is_some()),
                ("organization_id", patch.organization_id.is_some()),
                ("priority", patch.priority.is_some()),
                ("group_id", patch.group_id.is_some()),
                ("assignee_id", patch.assignee_id.is_some()),
                ("internal_group_id", patch.internal_group_id.is_some()),
                ("internal_agent_id", patch.internal_agent_id.is_some()),
                ("cc_ids", patch.cc_ids.is_some()),
                ("tags", patch.tags.is_some()),
                ("custom_fields", patch.custom_fields.is_some()),
            ];
            for (field, set) in others {
                if set {
                    problems.push(FieldError::new(
                        field,
                        "not_allowed",
                        format!("end users may not change {field}"),
                    ));
                }
            }
            if before.requester_id != p.user.id || !decision.comment {
                return Err(AppError::forbidden(
                    "not_requester",
                    "only the requester may change this ticket",
                ));
            }
        }
        if let Some(v) = if_match
            && v != before.version
        {
            return Err(AppError::Stale {
                current: before.version,
            });
        }
        let mut after = before.clone();
        if let Some(s) = &patch.subject {
            after.subject = problems
                .check(validate::name("subject", s, 250))
                .unwrap_or_default();
        }
        if let Some(s) = pick_status(
            &w.statuses,
            patch.status.as_deref(),
            patch.status_id,
            &mut problems,
        ) {
            after.status_id = s;
            if !p.is_staff() && w.status(s)?.category != StatusCategory::Resolved {
                problems.push(FieldError::new(
                    "status",
                    "not_allowed",
                    "end users may only mark their ticket resolved",
                ));
            }
        }
        if let Some(r) = patch.requester_id {
            after.requester_id = UserId(r);
        }
        if let Some(o) = patch.organization_id {
            after.organization_id = o.map(OrganizationId);
        }
        if patch.requester_id.is_some() || patch.organization_id.is_some() {
            match dir::get_user(tx, after.requester_id).await? {
                None => problems.push(FieldError::new(
                    "requester_id",
                    "not_found",
                    "the requester does not exist",
                )),
                Some(r) => {
                    if let Some(o) = after.organization_id
                        && !r.organization_ids.contains(&o)
                    {
                        problems.push(FieldError::new(
                            "organization_id",
                            "not_a_member",
                            format!("the requester is not a member of organization {o}"),
                        ));
                    }
                }
            }
        }
        if let Some(pr) = patch.priority {
            after.priority = pr;
        }
        if let Some(g) = patch.group_id {
            after.group_id = g.map(GroupId);
        }
        if let Some(a) = patch.assignee_id {
            after.assignee_id = a.map(UserId);
        }
        if let Some(g) = patch.internal_group_id {
            after.internal_group_id = g.map(GroupId);
        }
        if let Some(a) = patch.internal_agent_id {
            after.internal_agent_id = a.map(UserId);
        }
        if let Some(ccs) = &patch.cc_ids {
            after.cc_ids = check_ccs(tx, ccs, &mut problems).await?;
        }
        if let Some(tags) = &patch.tags {
            after.tags = problems
                .check(validate::tags("tags", tags, 50))
                .unwrap_or_default();
        }
        if let Some(values) = &patch.custom_fields {
            for (k, v) in check_custom_fields(&w.defs, values, &mut problems) {
                if v.is_null() {
                    after.custom_fields.remove(&k);
                } else {
                    after.custom_fields.insert(k, v);
                }
            }
        }
        let explicit = Explicit {
            internal_group: patch.internal_group_id.is_some_and(|g| g.is_some()),
            internal_agent: patch.internal_agent_id.is_some_and(|a| a.is_some()),
        };
        let removed = w
            .check(tx, Some(&before), &mut after, explicit, &mut problems)
            .await?;
        problems.finish().map_err(AppError::Invalid)?;
        w.save(
            tx,
            Actor::from(p),
            &before,
            &mut after,
            removed.map(str::to_owned),
        )
        .await?;
        let fired = happenings(&before, &after, &w.statuses);
        let (after, _, _) = w.run_rules(tx, after, fired, performer(p)).await?;
        Ok(ticket_out(p, &after, &w.statuses))
    }

    /// Lists a ticket's comments; end users never get private notes.
    pub async fn list_comments(
        &self,
        p: &Principal,
        id: TicketId,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<CommentOut>> {
        let limit = page_size(limit)?;
        let after = cursor(cursor_text)?.map(CommentId);
        let mut c = self.store().read().await?;
        self.visible_ticket(&mut c, p, id).await?;
        let private = policy::sees_internals(&p.viewer);
        let comments = store::list_comments(&mut c, id, private, after, limit + 1).await?;
        let ids: Vec<i64> = comments.iter().map(|m| m.id.0).collect();
        let files = ferrodesk_store::attachments::of_comments(&mut c, &ids).await?;
        let mut authors: Vec<i64> = comments.iter().map(|m| m.author_id.0).collect();
        authors.extend(files.iter().filter_map(|f| f.redacted_by));
        authors.sort();
        authors.dedup();
        let names = dir::user_names(&mut c, &authors).await?;
        // Staff open the original of a comment that came in by email.
        let originals = if private {
            let emailed: Vec<i64> = comments
                .iter()
                .filter(|m| m.channel == Channel::Email)
                .map(|m| m.id.0)
                .collect();
            ferrodesk_store::inbound::of_comments(&mut c, &emailed).await?
        } else {
            Vec::new()
        };
        Ok(page(
            comments,
            limit,
            |m| m.id.0,
            |m| {
                let original = originals
                    .iter()
                    .find(|(comment, _)| *comment == m.id.0)
                    .map(|(_, message)| *message);
                let attachments = files
                    .iter()
                    .filter(|f| f.comment_id == Some(m.id.0))
                    .map(|f| crate::attachments::attachment_out(f, &names))
                    .collect();
                CommentOut {
                    original_message_id: original,
                    attachments,
                    ..comment_out(m, &names)
                }
            },
        ))
    }

    /// Adds a public reply or (agents) a private note.
    pub async fn add_comment(
        &self,
        p: &Principal,
        id: TicketId,
        input: CommentIn,
    ) -> Result<CommentOut> {
        let mut tx = self.store().begin().await?;
        let comment = self.add_comment_in(&mut tx, p, id, input).await?;
        let out = added_comment_out(&mut tx, p, comment).await?;
        commit(tx).await?;
        Ok(out)
    }

    /// Adds a comment in the caller's transaction, under the access policy.
    pub(crate) async fn add_comment_in(
        &self,
        tx: &mut Conn,
        p: &Principal,
        id: TicketId,
        input: CommentIn,
    ) -> Result<Comment> {
        let (mut ticket, decision) = self.visible_ticket(tx, p, id).await?;
        let public = input.public.unwrap_or(true);
        if !public && !p.is_staff() {
            return Err(AppError::invalid(
                "public",
                "not_allowed",
                "end users cannot add private notes",
            ));
        }
        if !decision.comment {
            return Err(AppError::forbidden(
                "comment_not_allowed",
                "you may view this ticket but not comment on it: your organization shares tickets read only",
            ));
        }
        let body = validate::text("body", &input.body, 1, MAX_COMMENT_CHARS)
            .map_err(|e| AppError::Invalid(vec![e]))?;
        let now = self.now();
        let channel = match p.via {
            Channel::Web if !p.is_staff() => Channel::Portal,
            v => v,
        };
        let mut comment = Comment {
            id: CommentId(0),
            ticket_id: ticket.id,
            author_id: p.user.id,
            body,
            public,
            channel,
            created_at: now,
        };
        let mut w = self.ticket_write(tx).await?;
        w.comment(tx, Actor::from(p), &mut ticket, &mut comment, None)
            .await?;
        let tokens = input.upload_tokens.unwrap_or_default();
        self.attach_uploads(tx, p, &tokens, comment.id, ticket.id)
            .await?;
        w.run_rules(
            tx,
            ticket,
            vec![Happening::CommentAdded { public }],
            performer(p),
        )
        .await?;
        Ok(comment)
    }

    /// The names of the requesters of the tickets `ids` that `p` may see, as
    /// `(ticket id, name)`; tickets `p` may not see are left out. For lists that say whose
    /// request each one is (the portal's organization and CC lists): names only, never an
    /// address (SPEC §3.1).
    pub async fn requester_names(
        &self,
        p: &Principal,
        ids: &[TicketId],
    ) -> Result<Vec<(i64, String)>> {
        let mut c = self.store().read().await?;
        // One read for all of them, each asked of the one policy (as `visible_ticket` does).
        let requesters: Vec<(i64, i64)> = store::get_tickets(&mut c, ids)
            .await?
            .iter()
            .filter(|t| policy::decide(&p.viewer, &t.facts()).can_view())
            .map(|t| (t.id.0, t.requester_id.0))
            .collect();
        let mut users: Vec<i64> = requesters.iter().map(|(_, u)| *u).collect();
        users.sort();
        users.dedup();
        let names = dir::user_names(&mut c, &users).await?;
        Ok(requesters
            .into_iter()
            .filter_map(|(t, u)| {
                names
                    .iter()
                    .find(|(id, _)| *id == u)
                    .map(|(_, n)| (t, n.clone()))
            })
            .collect())
    }

    /// A ticket's timeline (agents and admins).
    pub async fn list_events(
        &self,
        p: &Principal,
        id: TicketId,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<EventOut>> {
        let limit = page_size(limit)?;
        let after = cursor(cursor_text)?;
        let mut c = self.store().read().await?;
        self.visible_ticket(&mut c, p, id).await?;
        p.require_staff()?;
        let events =
            ferrodesk_store::audit::list_for(&mut c, "ticket", id.0, after, limit + 1).await?;
        let names = EventNames::read(&mut c, &events).await?;
        Ok(page(
            events,
            limit,
            |e| e.seq,
            |e| EventOut {
                id: e.id,
                actor: ActorOut {
                    name: names.actor(&e.actor_kind, e.actor_id),
                    kind: e.actor_kind,
                    id: e.actor_id,
                },
                via: e.via,
                at: rfc3339(e.at),
                action: e.action,
                changes: e
                    .changes
                    .into_iter()
                    .map(|c| ChangeOut {
                        from_label: names.label(&c.field, &c.from),
                        to_label: names.label(&c.field, &c.to),
                        field: c.field,
                        from: c.from,
                        to: c.to,
                    })
                    .collect(),
                reason: e.reason,
            },
        ))
    }
}

/// The names a page of a ticket's timeline refers to, read in one statement per table
/// (indexed by `dir::Named as usize`).
struct EventNames([Vec<(i64, String)>; 5]);

/// The table a ticket field's ids name rows of.
fn named_by(field: &str) -> Option<dir::Named> {
    match field {
        "requester_id" | "assignee_id" | "internal_agent_id" | "cc_ids" => Some(dir::Named::Users),
        "organization_id" => Some(dir::Named::Organizations),
        "group_id" | "internal_group_id" => Some(dir::Named::Groups),
        "status_id" => Some(dir::Named::Statuses),
        _ => None,
    }
}

/// The ids in a change's value: one id, or a list of them.
fn ids_in(v: &serde_json::Value) -> Vec<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().into_iter().collect(),
        serde_json::Value::Array(a) => a.iter().filter_map(serde_json::Value::as_i64).collect(),
        _ => Vec::new(),
    }
}

impl EventNames {
    async fn read(c: &mut Conn, events: &[ferrodesk_store::audit::Event]) -> Result<EventNames> {
        use dir::Named;
        let mut wanted: [Vec<i64>; 5] = Default::default();
        for e in events {
            match (e.actor_kind.as_str(), e.actor_id) {
                ("user", Some(id)) => wanted[Named::Users as usize].push(id),
                ("rule", Some(id)) => wanted[Named::Rules as usize].push(id),
                _ => {}
            }
            for ch in &e.changes {
                if let Some(n) = named_by(&ch.field) {
                    wanted[n as usize].extend(ids_in(&ch.from));
                    wanted[n as usize].extend(ids_in(&ch.to));
                }
            }
        }
        let mut names: [Vec<(i64, String)>; 5] = Default::default();
        for table in Named::ALL {
            let ids = &mut wanted[table as usize];
            ids.sort_unstable();
            ids.dedup();
            names[table as usize] = dir::names(c, table, ids).await?;
        }
        Ok(EventNames(names))
    }

    fn name(&self, table: dir::Named, id: i64) -> Option<String> {
        self.0[table as usize]
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
    }

    /// The name of who made a change: a user's or a rule's.
    fn actor(&self, kind: &str, id: Option<i64>) -> Option<String> {
        match kind {
            "user" => self.name(dir::Named::Users, id?),
            "rule" => self.name(dir::Named::Rules, id?),
            _ => None,
        }
    }

    /// A change's value in words, for fields holding ids (a deleted row keeps its number).
    fn label(&self, field: &str, v: &serde_json::Value) -> Option<String> {
        let table = named_by(field)?;
        let ids = ids_in(v);
        if ids.is_empty() {
            return v.is_array().then(|| "none".to_owned());
        }
        Some(
            ids.iter()
                .map(|id| self.name(table, *id).unwrap_or_else(|| format!("#{id}")))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

fn comment_out(m: Comment, names: &[(i64, String)]) -> CommentOut {
    CommentOut {
        id: m.id.0,
        ticket_id: m.ticket_id.0,
        author_id: m.author_id.0,
        author_name: names
            .iter()
            .find(|(u, _)| *u == m.author_id.0)
            .map(|(_, n)| n.clone())
            .unwrap_or_default(),
        body: m.body,
        public: m.public,
        channel: m.channel,
        created_at: rfc3339(m.created_at),
        original_message_id: None,
        attachments: Vec::new(),
    }
}

/// Whether `role` is staff.
pub fn is_staff_role(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Agent)
}

/// A comment `p` has just added, with its files, as answered.
async fn added_comment_out(tx: &mut Conn, p: &Principal, c: Comment) -> Result<CommentOut> {
    let files = ferrodesk_store::attachments::of_comments(tx, &[c.id.0]).await?;
    let names = [(p.user.id.0, p.user.name.clone())];
    Ok(CommentOut {
        attachments: files
            .iter()
            .map(|f| crate::attachments::attachment_out(f, &names))
            .collect(),
        ..comment_out(c, &names)
    })
}
