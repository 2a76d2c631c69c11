//! The one ticket write pipeline: every change to a ticket — API, web app, portal, rules, the
//! sharing workflow, cascades of directory changes, status changes, and the channels still to
//! come (email, importers) — goes through the steps of this file, in this order:
//!
//! 1. **open** ([`App::ticket_write`]): inside the caller's write transaction (writers are
//!    serial: see `Store::begin`), read once what every step needs — the statuses, the custom
//!    field definitions and, when a rule pass comes, the active rules;
//! 2. **load** the ticket — the caller, which also asks the access policy (`core::policy`)
//!    whether the user may see and change it: the pipeline checks no permission;
//! 3. **invariants** ([`TicketWrite::check`]): the automatic removal of shared ownership a status
//!    change calls for (SPEC §4), then every invariant of the result — problems name the field;
//! 4. **apply** ([`TicketWrite::create`], [`TicketWrite::save`], [`TicketWrite::comment`]): the
//!    rows, the search index (store), the view counters (database triggers) and the audit event,
//!    with the version checked so that a stale write changes nothing;
//! 5. **outbox**: the internal agent who lost a ticket is told, with the reason;
//! 6. **rules** ([`TicketWrite::run_rules`]): the happenings of the change run the active rules,
//!    pass after pass; each rule's change goes through steps 3–5 again, a refused change is
//!    written on the timeline, a loop is stopped and written there too — never silently.
//!
//! So "what happens when a status changes" is read here, top to bottom.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use ferrodesk_core::audit::{ActorKind, FieldChange};
use ferrodesk_core::rules::{Definition, Happening, Performer, Snapshot};
use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_core::{Channel, CommentId, GroupId, Priority, Role, StatusId, TicketId, UserId};
use ferrodesk_store::audit::NewEvent;
use ferrodesk_store::directory::{self as dir, Status};
use ferrodesk_store::rules::StoredRule;
use ferrodesk_store::tickets::{self as store, Comment, CustomField, Ticket};
use ferrodesk_store::{Conn, StoreError};
use serde_json::{Value, json};

use crate::dto::RuleRunOut;
use crate::{Actor, App, AppError, Principal, Result};

/// Passes after which a chain of rules is stopped and reported.
const MAX_PASSES: usize = 10;

/// A rule ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    id: i64,
    name: String,
    def: Definition,
}

/// A stored rule's definition.
pub(crate) fn parse(r: &StoredRule) -> Result<Definition> {
    serde_json::from_str(&r.definition)
        .map_err(|e| AppError::Internal(format!("rule {} is corrupt: {e}", r.id)))
}

/// What the write asked for explicitly, which automatic removal must not undo.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Explicit {
    /// The internal group was set in this write.
    pub internal_group: bool,
    /// The internal agent was set in this write.
    pub internal_agent: bool,
}

/// The performer of a change by `p`, as rules see it.
pub fn performer(p: &Principal) -> Performer {
    match p.user.role {
        _ if p.user.id.0 == 0 => Performer::System,
        Role::EndUser => Performer::EndUser,
        Role::Admin | Role::Agent => Performer::Agent,
    }
}

/// Every audited field of a ticket, as JSON, for diffs.
fn ticket_fields(t: &Ticket) -> crate::Fields {
    vec![
        ("subject", json!(t.subject)),
        ("requester_id", json!(t.requester_id)),
        ("organization_id", json!(t.organization_id)),
        ("status_id", json!(t.status_id)),
        ("priority", json!(t.priority)),
        ("group_id", json!(t.group_id)),
        ("assignee_id", json!(t.assignee_id)),
        ("internal_group_id", json!(t.internal_group_id)),
        ("internal_agent_id", json!(t.internal_agent_id)),
        ("cc_ids", json!(t.cc_ids)),
        ("tags", json!(t.tags)),
        ("custom_fields", json!(t.custom_fields)),
    ]
}

/// The audited field changes from `before` (None: a new ticket) to `after`.
fn ticket_changes(before: Option<&Ticket>, after: &Ticket) -> Vec<FieldChange> {
    crate::field_changes(before.map(ticket_fields), ticket_fields(after))
}

/// What changed between two versions of a ticket, as rules see it: the audited fields but
/// CCs and custom fields, named without `_id`, the status by name.
pub(crate) fn happenings(before: &Ticket, after: &Ticket, statuses: &[Status]) -> Vec<Happening> {
    let name = |v: &Value| {
        let s = statuses.iter().find(|s| v.as_i64() == Some(s.id.0));
        json!(s.map(|s| s.name.as_str()).unwrap_or_default())
    };
    ticket_fields(before)
        .into_iter()
        .zip(ticket_fields(after))
        .filter(|((_, from), (_, to))| from != to)
        .filter_map(|((field, from), (_, to))| {
            let (field, from, to) = match field {
                "cc_ids" | "custom_fields" => return None,
                "status_id" => ("status", name(&from), name(&to)),
                f => (f.strip_suffix("_id").unwrap_or(f), from, to),
            };
            Some(Happening::FieldChanged {
                field: field.into(),
                from,
                to,
            })
        })
        .collect()
}

/// A status named by a rule (by name or id).
pub(crate) fn find_status<'a>(statuses: &'a [Status], v: &Value) -> Option<&'a Status> {
    statuses.iter().find(|s| match v {
        Value::String(n) => s.name.eq_ignore_ascii_case(n.trim()),
        Value::Number(n) => n.as_i64() == Some(s.id.0),
        _ => false,
    })
}

/// One ticket write in progress: what its steps read once, inside the caller's transaction.
pub(crate) struct TicketWrite<'a> {
    app: &'a App,
    /// Every status, as of this transaction.
    pub statuses: Arc<Vec<Status>>,
    /// Every custom field definition.
    pub defs: Arc<Vec<CustomField>>,
    /// The directory generation of this transaction (see `ferrodesk_store::cache`).
    pub generation: i64,
    field_ids: BTreeMap<String, i64>,
    /// The active rules, read at the first rule pass.
    rules: Option<Arc<Vec<Rule>>>,
    /// Tickets' descriptions (first comments) already read or written, for rule conditions.
    descriptions: Vec<(TicketId, String)>,
    /// The directory facts the invariants ask about, read once for a page of many tickets
    /// ([`TicketWrite::read_directory`]); otherwise each check asks the database.
    directory: Option<Directory>,
}

/// Group memberships, groups and staff, as of this transaction.
struct Directory {
    members: HashSet<(i64, i64)>,
    groups: HashSet<i64>,
    staff: HashSet<i64>,
}

impl App {
    /// Step 1: opens the ticket write pipeline in the caller's write transaction: reads the
    /// directory generation, and the statuses and custom fields unless the cache holds them at
    /// that generation.
    pub(crate) async fn ticket_write(&self, c: &mut Conn) -> Result<TicketWrite<'_>> {
        let generation = dir::generation(c).await?;
        let cache = self.store().cache();
        let statuses = cache
            .statuses
            .get_or(generation, dir::list_statuses(c))
            .await?;
        let defs = cache
            .custom_fields
            .get_or(generation, store::custom_fields(c))
            .await?;
        let field_ids = defs.iter().map(|d| (d.key.clone(), d.id)).collect();
        Ok(TicketWrite {
            app: self,
            statuses,
            defs,
            generation,
            field_ids,
            rules: None,
            descriptions: Vec::new(),
            directory: None,
        })
    }
}

impl TicketWrite<'_> {
    /// Reads the group memberships, groups and staff once, so that checking many tickets in
    /// this transaction (an import's page) asks the database nothing more about them.
    pub async fn read_directory(&mut self, c: &mut Conn) -> Result<()> {
        let groups = dir::list_groups(c, None).await?;
        self.directory = Some(Directory {
            members: groups
                .iter()
                .flat_map(|g| g.agent_ids.iter().map(|u| (g.id.0, u.0)))
                .collect(),
            groups: groups.iter().map(|g| g.id.0).collect(),
            staff: dir::staff_ids(c).await?.into_iter().collect(),
        });
        Ok(())
    }

    async fn is_member(&self, c: &mut Conn, g: GroupId, u: UserId) -> Result<bool> {
        match &self.directory {
            Some(d) => Ok(d.members.contains(&(g.0, u.0))),
            None => Ok(dir::is_group_member(c, g, u).await?),
        }
    }

    /// A status of this transaction, by id.
    pub fn status(&self, id: StatusId) -> Result<&Status> {
        self.statuses
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| AppError::Internal(format!("ticket refers to unknown status {id}")))
    }

    /// One of the four built-in statuses, by name (`Open`, `Pending`, `Resolved`, `Closed`).
    pub fn built_in(&self, name: &str) -> Result<&Status> {
        self.statuses
            .iter()
            .find(|s| s.built_in && s.name == name)
            .ok_or_else(|| AppError::Internal(format!("the built-in {name} status is missing")))
    }

    /// Step 3: applies the automatic removal a status change calls for, then checks every
    /// invariant of `after` (SPEC §4). Returns the reason when shared ownership was removed.
    pub async fn check(
        &self,
        c: &mut Conn,
        before: Option<&Ticket>,
        after: &mut Ticket,
        explicit: Explicit,
        problems: &mut Problems,
    ) -> Result<Option<&'static str>> {
        let status = self.status(after.status_id)?;
        let mut removed = None;
        if let Some(b) = before
            && b.status_id != after.status_id
            && !explicit.internal_group
            && after.internal_group_id.is_some_and(|g| !status.maps(g))
        {
            after.internal_group_id = None;
            if !explicit.internal_agent {
                after.internal_agent_id = None;
            }
            removed = Some("status_changed");
        }
        if let Some(g) = after.internal_group_id
            && !status.maps(g)
        {
            let groups = dir::list_groups(c, None).await?;
            let mapped: Vec<String> = if status.all_groups {
                vec!["all groups".into()]
            } else {
                groups
                    .iter()
                    .filter(|gr| status.internal_group_ids.contains(&gr.id))
                    .map(|gr| gr.name.clone())
                    .collect()
            };
            let known = groups.iter().any(|gr| gr.id == g);
            problems.push(FieldError::new(
                "internal_group_id",
                if known {
                    "wrong_internal_group"
                } else {
                    "not_found"
                },
                if !known {
                    format!("group {g} does not exist")
                } else if mapped.is_empty() {
                    format!(
                        "no group is mapped to status {}: it cannot have an internal group",
                        status.name
                    )
                } else {
                    format!(
                        "status {} allows these internal groups: {}",
                        status.name,
                        mapped.join(", ")
                    )
                },
            ));
        }
        if let Some(agent) = after.internal_agent_id {
            match after.internal_group_id {
                None => problems.push(FieldError::new(
                    "internal_agent_id",
                    "wrong_internal_agent",
                    "an internal agent requires an internal group",
                )),
                Some(g) => {
                    if !self.is_member(c, g, agent).await? {
                        problems.push(FieldError::new(
                            "internal_agent_id",
                            "wrong_internal_agent",
                            format!(
                                "{} is not a member of the internal group {}",
                                user_name(c, agent).await?,
                                group_name(c, g).await?
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(a) = after.assignee_id {
            match after.group_id {
                Some(g) => {
                    if !self.is_member(c, g, a).await? {
                        problems.push(FieldError::new(
                            "assignee_id",
                            "wrong_assignee",
                            format!(
                                "{} is not a member of the group {}",
                                user_name(c, a).await?,
                                group_name(c, g).await?
                            ),
                        ));
                    }
                }
                None if self
                    .directory
                    .as_ref()
                    .is_some_and(|d| d.staff.contains(&a.0)) => {}
                None => {
                    let mut p = Problems::default();
                    crate::check_staff(c, "assignee_id", &[a.0], &mut p).await?;
                    for mut e in p.0 {
                        e.field = "assignee_id".into();
                        problems.push(e);
                    }
                }
            }
        }
        if let Some(g) = after.group_id
            && before.is_none_or(|b| b.group_id != Some(g))
            && !self
                .directory
                .as_ref()
                .is_some_and(|d| d.groups.contains(&g.0))
            && dir::get_group(c, g).await?.is_none()
        {
            problems.push(FieldError::new(
                "group_id",
                "not_found",
                format!("group {g} does not exist"),
            ));
        }
        Ok(removed)
    }

    /// Step 4 for a new ticket: the ticket, its description as first comment, its search
    /// row and its audit event. Sets both ids.
    pub async fn create(
        &mut self,
        c: &mut Conn,
        actor: Actor,
        ticket: &mut Ticket,
        description: &mut Comment,
    ) -> Result<()> {
        ticket.custom_fields.retain(|_, v| !v.is_null());
        let (id, comment) = store::insert_ticket(c, ticket, &self.field_ids, description).await?;
        ticket.id = id;
        description.id = comment;
        description.ticket_id = id;
        self.descriptions.push((id, description.body.clone()));
        if description.public {
            self.mail(
                c,
                "ticket_created",
                ticket,
                description.id,
                &[ticket.requester_id],
            )
            .await?;
        }
        let mut changes = ticket_changes(None, ticket);
        changes.push(FieldChange::new(
            "comment",
            (),
            json!({"id": comment, "public": description.public}),
        ));
        self.app
            .audit(c, actor, ("ticket", id.0), "created", changes, None)
            .await
    }

    /// Step 4 for tickets an importer brings in (`ferrodesk import zendesk`): each ticket with
    /// its original times, its comments in their order with their authors, visibility and
    /// times (the first is its description), the search index, and an audit event per ticket
    /// naming where it came from (`sources`, in the page's order) — a page written in a few
    /// multi-row statements (`store::bulk`), the audit events appended together. No mail and
    /// no rules: nothing happens to an imported ticket that did not happen where it came
    /// from. The caller checked the invariants ([`TicketWrite::check`]).
    pub async fn import_page(
        &mut self,
        c: &mut Conn,
        actor: Actor,
        page: &mut [(Ticket, Vec<Comment>)],
        sources: Vec<String>,
    ) -> Result<()> {
        if page.iter().any(|(_, comments)| comments.is_empty()) {
            return Err(AppError::invalid(
                "comments",
                "required",
                "a ticket needs at least one comment",
            ));
        }
        for (ticket, _) in page.iter_mut() {
            ticket.custom_fields.retain(|_, v| !v.is_null());
        }
        ferrodesk_store::bulk::insert_tickets(c, page, &self.field_ids).await?;
        let at = self.app.now();
        let events: Vec<NewEvent> = page
            .iter()
            .zip(sources)
            .map(|((ticket, comments), source)| {
                let mut changes = ticket_changes(None, ticket);
                changes.push(FieldChange::new("comments", (), json!(comments.len())));
                NewEvent {
                    at,
                    actor_kind: actor.kind.as_str(),
                    actor_id: actor.id,
                    via: actor.via.as_str(),
                    entity_type: "ticket",
                    entity_id: ticket.id.0,
                    action: "imported",
                    changes,
                    reason: Some(source),
                }
            })
            .collect();
        Ok(ferrodesk_store::audit::append_many(c, &events).await?)
    }

    /// Step 4 for a change: writes `after` over `before` with its audit event, if its stored
    /// version is still `before`'s (else 412, nothing written), then step 5. Checks nothing
    /// else: callers ask the policy, and [`TicketWrite::check`] the invariants.
    pub async fn save(
        &self,
        c: &mut Conn,
        actor: Actor,
        before: &Ticket,
        after: &mut Ticket,
        reason: Option<String>,
    ) -> Result<()> {
        after.custom_fields.retain(|_, v| !v.is_null());
        let changes = ticket_changes(Some(before), after);
        if changes.is_empty() {
            return Ok(());
        }
        after.updated_at = self.app.now();
        store::update_ticket(c, after, before.version, &self.field_ids)
            .await
            .map_err(|e| match e {
                StoreError::Stale => AppError::Stale {
                    current: before.version + 1,
                },
                e => e.into(),
            })?;
        after.version = before.version + 1;
        let lost_internal_agent = before.internal_agent_id.is_some()
            && before.internal_agent_id != after.internal_agent_id
            && !(actor.kind == ActorKind::User
                && before.internal_agent_id.map(|a| a.0) == actor.id);
        self.app
            .audit(
                c,
                actor,
                ("ticket", before.id.0),
                "updated",
                changes,
                reason.clone(),
            )
            .await?;
        if lost_internal_agent {
            self.notify_internal_owner_removed(c, before, reason.as_deref().unwrap_or("changed"))
                .await?;
        }
        let resolved = |t: &Ticket| {
            self.status(t.status_id)
                .is_ok_and(|s| s.category == ferrodesk_core::StatusCategory::Resolved)
        };
        let by_requester = actor.kind == ActorKind::User && actor.id == Some(after.requester_id.0);
        if resolved(after) && !resolved(before) && !by_requester {
            ferrodesk_store::jobs::enqueue_job(
                c,
                "mail",
                &json!({"template": "ticket_solved", "ticket_id": after.id.0, "user_id": after.requester_id.0}),
                self.app.now(),
            )
            .await?;
        }
        Ok(())
    }

    /// Steps 2, 4 and 5 for a change nobody asked for directly (a cascade of a directory or
    /// status change): loads ticket `id`, applies `change` — which only removes what is no
    /// longer valid — and saves it with `reason`. No rules run: the cause is no ticket event.
    pub async fn rewrite(
        &self,
        c: &mut Conn,
        actor: Actor,
        id: TicketId,
        reason: &str,
        change: impl FnOnce(&mut Ticket),
    ) -> Result<()> {
        let Some(before) = store::get_ticket(c, id).await? else {
            return Ok(());
        };
        let mut after = before.clone();
        change(&mut after);
        self.save(c, actor, &before, &mut after, Some(reason.to_owned()))
            .await
    }

    /// Steps 4 and 5 for a comment on `ticket`: the comment, its text in the search index,
    /// the ticket's `updated_at` (stored and in `ticket`), the audit event (with `reason` when
    /// nobody asked for it directly) and, for a public reply, its mail to the requester and
    /// CCs but its author. Sets the comment's id.
    pub async fn comment(
        &self,
        c: &mut Conn,
        actor: Actor,
        ticket: &mut Ticket,
        comment: &mut Comment,
        reason: Option<String>,
    ) -> Result<()> {
        comment.ticket_id = ticket.id;
        comment.id = store::insert_comment(c, comment).await?;
        store::touch_ticket(c, comment.ticket_id, comment.created_at).await?;
        ticket.updated_at = comment.created_at;
        if comment.public {
            let mut to = vec![ticket.requester_id];
            to.extend(ticket.cc_ids.iter().copied());
            to.retain(|u| *u != comment.author_id);
            to.sort();
            to.dedup();
            self.mail(c, "public_reply", ticket, comment.id, &to)
                .await?;
        }
        self.app
            .audit(
                c,
                actor,
                ("ticket", comment.ticket_id.0),
                "comment_added",
                vec![FieldChange::new(
                    "comment",
                    (),
                    json!({"id": comment.id, "public": comment.public}),
                )],
                reason,
            )
            .await
    }

    /// Step 5: queues one `template` mail about comment `comment` of `ticket` per recipient
    /// (the worker in `mail` checks each recipient again when it sends).
    async fn mail(
        &self,
        c: &mut Conn,
        template: &str,
        ticket: &Ticket,
        comment: CommentId,
        to: &[UserId],
    ) -> Result<()> {
        for user in to {
            ferrodesk_store::jobs::enqueue_job(
                c,
                "mail",
                &json!({"template": template, "ticket_id": ticket.id.0, "comment_id": comment.0, "user_id": user.0}),
                self.app.now(),
            )
            .await?;
        }
        Ok(())
    }

    /// Step 5: queues the notice to an internal agent who lost a ticket.
    async fn notify_internal_owner_removed(
        &self,
        c: &mut Conn,
        before: &Ticket,
        reason: &str,
    ) -> Result<()> {
        let Some(agent) = before.internal_agent_id else {
            return Ok(());
        };
        let role = dir::user_roles(c, &[agent.0]).await?;
        if role.first().is_some_and(|(_, r)| *r != Role::EndUser) {
            ferrodesk_store::jobs::enqueue_job(
                c,
                "notify",
                &json!({
                    "template": "internal_owner_removed",
                    "user_id": agent.0,
                    "ticket_id": before.id.0,
                    "internal_group_id": before.internal_group_id.map(|g| g.0),
                    "reason": reason,
                }),
                self.app.now(),
            )
            .await?;
        }
        Ok(())
    }

    /// The active rules, read once per write.
    async fn rules(&mut self, c: &mut Conn) -> Result<Arc<Vec<Rule>>> {
        if let Some(rules) = &self.rules {
            return Ok(rules.clone());
        }
        let stored = self
            .app
            .store()
            .cache()
            .active_rules
            .get_or(self.generation, ferrodesk_store::rules::list(c, true))
            .await?;
        let rules = stored
            .iter()
            .map(|r| {
                Ok(Rule {
                    id: r.id,
                    name: r.name.clone(),
                    def: parse(r)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.rules.insert(Arc::new(rules)).clone())
    }

    /// A ticket as rule conditions see it.
    async fn snapshot(&mut self, c: &mut Conn, t: &Ticket) -> Result<Snapshot> {
        let description = match self.descriptions.iter().find(|(id, _)| *id == t.id) {
            Some((_, d)) => d.clone(),
            None => {
                let first = store::list_comments(c, t.id, true, None, 1).await?;
                let d = first.into_iter().next().map(|m| m.body).unwrap_or_default();
                self.descriptions.push((t.id, d.clone()));
                d
            }
        };
        let status = self.statuses.iter().find(|s| s.id == t.status_id);
        Ok(Snapshot {
            id: t.id,
            status_id: t.status_id.0,
            status_name: status.map(|s| s.name.clone()).unwrap_or_default(),
            category: status.map(|s| s.category),
            priority: t.priority.as_str().to_owned(),
            group_id: t.group_id.map(|g| g.0),
            assignee_id: t.assignee_id.map(|u| u.0),
            internal_group_id: t.internal_group_id.map(|g| g.0),
            internal_agent_id: t.internal_agent_id.map(|u| u.0),
            organization_id: t.organization_id.map(|o| o.0),
            requester_id: t.requester_id.0,
            tags: t.tags.clone(),
            subject: t.subject.clone(),
            description,
            custom_fields: t.custom_fields.clone(),
        })
    }

    /// Step 6: runs the active rules for the happenings `first` of a change by `who` to
    /// `ticket` (as it is now), pass after pass. Returns the ticket as the rules left it,
    /// what each rule did, and the rules stopped because they would fire again (a loop).
    pub async fn run_rules(
        &mut self,
        c: &mut Conn,
        ticket: Ticket,
        first: Vec<Happening>,
        who: Performer,
    ) -> Result<(Ticket, Vec<RuleRunOut>, Vec<i64>)> {
        let rules = self.rules(c).await?;
        if rules.is_empty() || first.is_empty() {
            return Ok((ticket, Vec::new(), Vec::new()));
        }
        let id = ticket.id;
        let mut current = ticket;
        let mut fired: Vec<i64> = Vec::new();
        let mut stopped: Vec<i64> = Vec::new();
        let mut runs = Vec::new();
        let (mut pending, mut performer) = (first, who);
        for pass in 1..=MAX_PASSES {
            let mut next = Vec::new();
            for rule in rules.iter() {
                let reacts = rule
                    .def
                    .events
                    .iter()
                    .any(|e| pending.iter().any(|h| e.matches(h)));
                if !reacts || !rule.def.performed_by.admits(performer) {
                    continue;
                }
                if !rule.def.conditions.hold(&self.snapshot(c, &current).await?) {
                    continue;
                }
                if fired.contains(&rule.id) {
                    if !stopped.contains(&rule.id) {
                        stopped.push(rule.id);
                    }
                    continue;
                }
                fired.push(rule.id);
                let (run, produced) = self.apply_rule(c, rule, &mut current, pass as i64).await?;
                runs.push(run);
                next.extend(produced);
            }
            if !stopped.is_empty() || next.is_empty() {
                break;
            }
            pending = next;
            performer = Performer::System;
        }
        if !stopped.is_empty() {
            self.app
                .audit(
                    c,
                    Actor::system(Channel::System),
                    ("ticket", id.0),
                    "rules_stopped",
                    vec![FieldChange::new("rules", (), &stopped)],
                    Some(format!(
                        "loop: rules {stopped:?} would fire again in the same change; stopped"
                    )),
                )
                .await?;
        }
        Ok((current, runs, stopped))
    }

    /// Applies one rule's actions to `ticket` through steps 3–5. A refused change applies
    /// nothing of the rule and is written on the timeline.
    async fn apply_rule(
        &self,
        c: &mut Conn,
        rule: &Rule,
        ticket: &mut Ticket,
        pass: i64,
    ) -> Result<(RuleRunOut, Vec<Happening>)> {
        let actor = Actor {
            kind: ActorKind::Rule,
            id: Some(rule.id),
            via: Channel::System,
        };
        let reason = format!("rule:{}", rule.id);
        let before = ticket.clone();
        let mut after = before.clone();
        let mut explicit = Explicit::default();
        let mut notes = Vec::new();
        let mut notifications = Vec::new();
        let id_of = |v: &Value| v.as_i64();
        for a in &rule.def.actions {
            let v = &a.value;
            match a.field.as_str() {
                "status" => {
                    if let Some(s) = find_status(&self.statuses, v) {
                        after.status_id = s.id;
                    }
                }
                "priority" => {
                    if let Some(p) = v.as_str().and_then(|p| Priority::parse(p).ok()) {
                        after.priority = p;
                    }
                }
                "group" => after.group_id = id_of(v).map(GroupId),
                "assignee" => after.assignee_id = id_of(v).map(UserId),
                "internal_group" => {
                    after.internal_group_id = id_of(v).map(GroupId);
                    explicit.internal_group = after.internal_group_id.is_some();
                }
                "internal_agent" => {
                    after.internal_agent_id = id_of(v).map(UserId);
                    explicit.internal_agent = after.internal_agent_id.is_some();
                }
                "add_tags" | "remove_tags" => {
                    let tags: Vec<String> = match v {
                        Value::String(s) => vec![s.to_lowercase()],
                        Value::Array(a) => a
                            .iter()
                            .filter_map(|t| t.as_str().map(str::to_lowercase))
                            .collect(),
                        _ => Vec::new(),
                    };
                    if a.field == "add_tags" {
                        after.tags.extend(tags);
                        after.tags.sort();
                        after.tags.dedup();
                    } else {
                        after.tags.retain(|t| !tags.contains(t));
                    }
                }
                "add_note" => notes.push(v.as_str().unwrap_or_default().to_owned()),
                "notify" => notifications.push(v.clone()),
                f => {
                    if let Some(key) = f.strip_prefix("custom_field:") {
                        if v.is_null() {
                            after.custom_fields.remove(key);
                        } else {
                            after.custom_fields.insert(key.to_owned(), v.clone());
                        }
                    }
                }
            }
        }
        let mut problems = Problems::default();
        self.check(c, Some(&before), &mut after, explicit, &mut problems)
            .await?;
        let mut run = RuleRunOut {
            rule_id: rule.id,
            rule_name: rule.name.clone(),
            pass,
            changes: Vec::new(),
            notes: notes.clone(),
            notifications: notifications.clone(),
            error: None,
        };
        if let Err(errors) = problems.finish() {
            let message = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            self.app
                .audit(
                    c,
                    actor,
                    ("ticket", before.id.0),
                    "rule_refused",
                    Vec::new(),
                    Some(format!("{reason}: {message}")),
                )
                .await?;
            run.error = Some(message);
            run.notes.clear();
            run.notifications.clear();
            return Ok((run, Vec::new()));
        }
        let mut produced = happenings(&before, &after, &self.statuses);
        run.changes = ticket_changes(Some(&before), &after);
        self.save(c, actor, &before, &mut after, Some(reason.clone()))
            .await?;
        if !notes.is_empty() {
            let system = dir::system_user(c).await?;
            for body in notes {
                let mut note = Comment {
                    id: CommentId(0),
                    ticket_id: before.id,
                    author_id: system,
                    body,
                    public: false,
                    channel: Channel::System,
                    created_at: self.app.now(),
                };
                self.comment(c, actor, &mut after, &mut note, Some(reason.clone()))
                    .await?;
                produced.push(Happening::CommentAdded { public: false });
            }
        }
        for n in notifications {
            ferrodesk_store::jobs::enqueue_job(
                c,
                "notify",
                &json!({"template": "rule_notification", "rule_id": rule.id, "ticket_id": before.id.0, "notify": n}),
                self.app.now(),
            )
            .await?;
        }
        *ticket = after;
        Ok((run, produced))
    }
}

/// A user's name for a message (their number if they do not exist).
async fn user_name(c: &mut Conn, id: UserId) -> Result<String> {
    Ok(dir::get_user(c, id)
        .await?
        .map_or_else(|| format!("user {id}"), |u| u.name))
}

/// A group's name for a message (its number if it does not exist).
async fn group_name(c: &mut Conn, id: GroupId) -> Result<String> {
    Ok(dir::get_group(c, id)
        .await?
        .map_or_else(|| format!("group {id}"), |g| g.name))
}
