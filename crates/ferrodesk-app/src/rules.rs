//! Automation rules (SPEC §5): validation, the save-time guard for shared ownership, the
//! engine that runs inside the transaction of the change that fired it, and simulation.

use ferrodesk_core::audit::{ActorKind, FieldChange};
use ferrodesk_core::rules::{
    Action, Conditions, EventSpec, Happening, PerformedBy, Performer, Snapshot, operators_for,
};
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{Channel, CommentId, GroupId, Priority, Role, TicketId, UserId};
use ferrodesk_store::Conn;
use ferrodesk_store::directory::{self as dir, Status};
use ferrodesk_store::rules::{self as store, StoredRule};
use ferrodesk_store::tickets::{self as tickets, Comment, CustomField, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::directory::commit;
use crate::dto::{RuleIn, RuleOut, RuleRunOut, RuleWarning, SimulateIn, SimulateOut, rfc3339};
use crate::ownership::{Explicit, enforce};
use crate::{Actor, App, AppError, Principal, Result};

/// Passes after which a chain of rules is stopped and reported.
const MAX_PASSES: usize = 10;

/// Fields a `field_changed` event may name.
const EVENT_FIELDS: &[&str] = &[
    "status",
    "priority",
    "group",
    "assignee",
    "internal_group",
    "internal_agent",
    "organization",
    "requester",
    "subject",
    "tags",
];

/// The stored definition of a rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Definition {
    events: Vec<EventSpec>,
    #[serde(default)]
    performed_by: PerformedBy,
    #[serde(default)]
    conditions: Conditions,
    actions: Vec<Action>,
}

/// A rule ready to run.
#[derive(Debug, Clone)]
struct Rule {
    id: i64,
    name: String,
    def: Definition,
}

fn parse(r: &StoredRule) -> Result<Definition> {
    serde_json::from_str(&r.definition)
        .map_err(|e| AppError::Internal(format!("rule {} is corrupt: {e}", r.id)))
}

/// The performer of a change by `p`.
pub fn performer(p: &Principal) -> Performer {
    match p.user.role {
        _ if p.user.id.0 == 0 => Performer::System,
        Role::EndUser => Performer::EndUser,
        Role::Admin | Role::Agent => Performer::Agent,
    }
}

/// What changed between two versions of a ticket, as rules see it.
pub(crate) fn happenings(before: &Ticket, after: &Ticket, statuses: &[Status]) -> Vec<Happening> {
    let name = |id| {
        statuses
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut push = |field: &str, from: Value, to: Value| {
        if from != to {
            out.push(Happening::FieldChanged {
                field: field.into(),
                from,
                to,
            });
        }
    };
    push(
        "status",
        json!(name(before.status_id)),
        json!(name(after.status_id)),
    );
    push("priority", json!(before.priority), json!(after.priority));
    push("group", json!(before.group_id), json!(after.group_id));
    push(
        "assignee",
        json!(before.assignee_id),
        json!(after.assignee_id),
    );
    push(
        "internal_group",
        json!(before.internal_group_id),
        json!(after.internal_group_id),
    );
    push(
        "internal_agent",
        json!(before.internal_agent_id),
        json!(after.internal_agent_id),
    );
    push(
        "organization",
        json!(before.organization_id),
        json!(after.organization_id),
    );
    push(
        "requester",
        json!(before.requester_id),
        json!(after.requester_id),
    );
    push("subject", json!(before.subject), json!(after.subject));
    push("tags", json!(before.tags), json!(after.tags));
    out
}

fn find_status<'a>(statuses: &'a [Status], v: &Value) -> Option<&'a Status> {
    statuses.iter().find(|s| match v {
        Value::String(n) => s.name.eq_ignore_ascii_case(n.trim()),
        Value::Number(n) => n.as_i64() == Some(s.id.0),
        _ => false,
    })
}

/// Checks references to the database (statuses, groups, users, fields) in a rule.
struct Refs {
    statuses: Vec<Status>,
    groups: Vec<i64>,
    staff: Vec<i64>,
    users: Vec<i64>,
    organizations: Vec<i64>,
    fields: Vec<CustomField>,
}

impl Refs {
    /// Loads what rules refer to. Users and organizations are many, so only the ones the
    /// given rules name are looked up.
    async fn load(c: &mut Conn, defs: &[&Definition]) -> Result<Refs> {
        let statuses = dir::list_statuses(c).await?;
        let groups = dir::list_groups(c, None)
            .await?
            .into_iter()
            .map(|g| g.id.0)
            .collect();
        let staff = dir::staff_ids(c).await?;
        let users = dir::user_roles(c, &referenced(defs, "requester"))
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let organizations =
            dir::organization_ids_existing(c, &referenced(defs, "organization")).await?;
        let fields = tickets::custom_fields(c).await?;
        Ok(Refs {
            statuses,
            groups,
            staff,
            users,
            organizations,
            fields,
        })
    }

    /// Checks a value of `field` (as conditions and actions name fields).
    fn value(&self, path: &str, field: &str, v: &Value, nullable: bool) -> Option<FieldError> {
        let bad = |msg: String| Some(FieldError::new(path, "invalid_value", msg));
        let missing = |msg: String| Some(FieldError::new(path, "not_found", msg));
        let id_in = |ids: &[i64], what: &str| -> Option<FieldError> {
            match v {
                Value::Null if nullable => None,
                Value::Number(n) => match n.as_i64() {
                    Some(i) if ids.contains(&i) => None,
                    _ => missing(format!("{what} {n} does not exist")),
                },
                _ => bad(format!(
                    "{field} takes the id of a {what}{}",
                    if nullable { " or null (none)" } else { "" }
                )),
            }
        };
        match field {
            "status" => match find_status(&self.statuses, v) {
                Some(_) => None,
                None if v.is_string() || v.is_number() => {
                    missing(format!("status {v} does not exist"))
                }
                None => bad("status takes a status name or id".into()),
            },
            "category" => match v.as_str().map(ferrodesk_core::StatusCategory::parse) {
                Some(Ok(_)) => None,
                _ => bad("category is one of open, pending, resolved, closed".into()),
            },
            "priority" => match v.as_str().map(Priority::parse) {
                Some(Ok(_)) => None,
                _ => bad("priority is one of low, normal, high, urgent".into()),
            },
            "group" | "internal_group" => id_in(&self.groups, "group"),
            "assignee" | "internal_agent" => id_in(&self.staff, "agent"),
            "organization" => id_in(&self.organizations, "organization"),
            "requester" => id_in(&self.users, "user"),
            "tags" => match v.as_str().map(|t| validate::tag(path, t)) {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(e),
                None => bad("tags takes one tag".into()),
            },
            "subject" | "description" => match v {
                Value::String(s) if !s.is_empty() => None,
                _ => bad(format!("{field} takes text")),
            },
            f => match f.strip_prefix("custom_field:") {
                Some(key) => match self.fields.iter().find(|d| d.key == key) {
                    None => missing(format!("there is no custom field {key:?}")),
                    Some(_) => None,
                },
                None => Some(FieldError::new(
                    path,
                    "unknown_field",
                    format!("unknown field {f:?}"),
                )),
            },
        }
    }
}

/// The ids that conditions and events of `defs` give for `field`.
fn referenced(defs: &[&Definition], field: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut take = |v: &Value| match v {
        Value::Number(n) => out.extend(n.as_i64()),
        Value::Array(a) => out.extend(a.iter().filter_map(Value::as_i64)),
        _ => {}
    };
    for d in defs {
        for c in d.conditions.all.iter().chain(d.conditions.any.iter()) {
            if c.field == field {
                take(&c.value);
            }
        }
        for e in &d.events {
            if let EventSpec::FieldChanged { field: f, from, to } = e
                && f == field
            {
                from.iter().chain(to.iter()).for_each(&mut take);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn validate_definition(refs: &Refs, def: &Definition, problems: &mut Problems) {
    if def.events.is_empty() {
        problems.push(FieldError::new(
            "events",
            "required",
            "a rule reacts to at least one event",
        ));
    }
    for (i, e) in def.events.iter().enumerate() {
        if let EventSpec::FieldChanged { field, from, to } = e {
            let path = format!("events[{i}].field");
            if !EVENT_FIELDS.contains(&field.as_str()) {
                problems.push(FieldError::new(
                    path,
                    "unknown_field",
                    format!("field_changed takes one of: {}", EVENT_FIELDS.join(", ")),
                ));
                continue;
            }
            for (name, v) in [("from", from), ("to", to)] {
                if let Some(v) = v
                    && let Some(e) = refs.value(&format!("events[{i}].{name}"), field, v, true)
                {
                    problems.push(e);
                }
            }
        }
    }
    for (list, conds) in [("all", &def.conditions.all), ("any", &def.conditions.any)] {
        for (i, c) in conds.iter().enumerate() {
            let path = format!("conditions.{list}[{i}]");
            let Some(ops) = operators_for(&c.field) else {
                problems.push(FieldError::new(
                    format!("{path}.field"),
                    "unknown_field",
                    format!("conditions cannot test {:?}", c.field),
                ));
                continue;
            };
            if !ops.contains(&c.operator.as_str()) {
                problems.push(FieldError::new(
                    format!("{path}.operator"),
                    "invalid_operator",
                    format!("{} takes the operators {}", c.field, ops.join(", ")),
                ));
                continue;
            }
            let nullable = !matches!(
                c.field.as_str(),
                "status"
                    | "category"
                    | "priority"
                    | "requester"
                    | "tags"
                    | "subject"
                    | "description"
            );
            if let Some(e) = refs.value(&format!("{path}.value"), &c.field, &c.value, nullable) {
                problems.push(e);
            }
        }
    }
    if def.actions.is_empty() {
        problems.push(FieldError::new(
            "actions",
            "required",
            "a rule does at least one thing",
        ));
    }
    for (i, a) in def.actions.iter().enumerate() {
        let path = format!("actions[{i}].value");
        let v = &a.value;
        let err = match a.field.as_str() {
            "status" | "priority" => refs.value(&path, &a.field, v, false),
            "group" | "assignee" | "internal_group" | "internal_agent" => {
                refs.value(&path, &a.field, v, true)
            }
            "add_tags" | "remove_tags" => {
                let tags: Vec<String> = match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                if tags.is_empty() {
                    Some(FieldError::new(
                        &path,
                        "invalid_value",
                        "give a tag or a list of tags",
                    ))
                } else {
                    validate::tags(&path, &tags, 50).err()
                }
            }
            "add_note" => validate::text(
                &path,
                v.as_str().unwrap_or(""),
                1,
                crate::tickets::MAX_COMMENT_CHARS,
            )
            .err(),
            "notify" => {
                let to = v.get("to").and_then(Value::as_str).unwrap_or("");
                match to {
                    "requester" | "assignee" | "internal_agent" | "group" => None,
                    "address" => validate::email(
                        &format!("{path}.address"),
                        v.get("address").and_then(Value::as_str).unwrap_or(""),
                    )
                    .err(),
                    _ => Some(FieldError::new(
                        format!("{path}.to"),
                        "invalid_value",
                        "notify.to is one of requester, assignee, internal_agent, group, address",
                    )),
                }
            }
            f if f.starts_with("custom_field:") => refs.value(&path, f, v, true),
            f => Some(FieldError::new(
                format!("actions[{i}].field"),
                "unknown_field",
                format!("rules cannot act on {f:?}"),
            )),
        };
        if let Some(e) = err {
            problems.push(e);
        }
    }
}

/// The guard of SPEC §5: a rule that sets a status not mapped to every group, and does not
/// exclude tickets with an internal group, would remove shared ownership.
fn warnings(refs: &Refs, def: &Definition) -> Vec<RuleWarning> {
    if def.conditions.exclude_internal_group()
        || def
            .actions
            .iter()
            .any(|a| a.field == "internal_group" && !a.value.is_null())
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for a in def.actions.iter().filter(|a| a.field == "status") {
        let Some(status) = find_status(&refs.statuses, &a.value) else {
            continue;
        };
        if status.all_groups {
            continue;
        }
        let unmapped: Vec<i64> = refs
            .groups
            .iter()
            .copied()
            .filter(|g| !status.maps(GroupId(*g)))
            .collect();
        if !unmapped.is_empty() {
            out.push(RuleWarning {
                code: "removes_shared_ownership".into(),
                message: format!(
                    "setting status {} removes the internal owner of tickets whose internal group is not mapped to it \
                     (groups {:?}); add the condition \"internal group is none\", or map those groups to {}",
                    status.name, unmapped, status.name
                ),
                group_ids: unmapped,
            });
        }
    }
    out
}

fn rule_out(r: StoredRule, def: Definition, warnings: Vec<RuleWarning>) -> RuleOut {
    RuleOut {
        id: r.id,
        name: r.name,
        active: r.active,
        position: r.position,
        events: def.events,
        performed_by: def.performed_by,
        conditions: def.conditions,
        actions: def.actions,
        warnings,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

/// A ticket as rule conditions see it.
async fn snapshot(c: &mut Conn, t: &Ticket, statuses: &[Status]) -> Result<Snapshot> {
    let status = statuses.iter().find(|s| s.id == t.status_id);
    let first = tickets::list_comments(c, t.id, true, None, 1).await?;
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
        description: first.first().map(|m| m.body.clone()).unwrap_or_default(),
        custom_fields: t.custom_fields.clone(),
    })
}

impl App {
    /// Runs the active rules for a change, in the caller's transaction. Returns what each
    /// rule did and the rules stopped because they would fire again (a loop).
    pub(crate) async fn run_rules(
        &self,
        c: &mut Conn,
        ticket: TicketId,
        first: Vec<Happening>,
        who: Performer,
    ) -> Result<(Vec<RuleRunOut>, Vec<i64>)> {
        let stored = store::list(c, true).await?;
        if stored.is_empty() || first.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let rules: Vec<Rule> = stored
            .iter()
            .map(|r| {
                Ok(Rule {
                    id: r.id,
                    name: r.name.clone(),
                    def: parse(r)?,
                })
            })
            .collect::<Result<_>>()?;
        let statuses = dir::list_statuses(c).await?;
        let mut fired: Vec<i64> = Vec::new();
        let mut stopped: Vec<i64> = Vec::new();
        let mut runs = Vec::new();
        let (mut pending, mut performer) = (first, who);
        for pass in 1..=MAX_PASSES {
            let mut next = Vec::new();
            for rule in &rules {
                let reacts = rule
                    .def
                    .events
                    .iter()
                    .any(|e| pending.iter().any(|h| e.matches(h)));
                if !reacts || !rule.def.performed_by.admits(performer) {
                    continue;
                }
                let Some(t) = tickets::get_ticket(c, ticket).await? else {
                    return Ok((runs, stopped));
                };
                if !rule.def.conditions.hold(&snapshot(c, &t, &statuses).await?) {
                    continue;
                }
                if fired.contains(&rule.id) {
                    if !stopped.contains(&rule.id) {
                        stopped.push(rule.id);
                    }
                    continue;
                }
                fired.push(rule.id);
                let (run, produced) = self.apply_rule(c, rule, t, &statuses, pass as i64).await?;
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
            self.audit(
                c,
                Actor::system(Channel::System),
                ("ticket", ticket.0),
                "rules_stopped",
                vec![FieldChange::new("rules", (), &stopped)],
                Some(format!(
                    "loop: rules {stopped:?} would fire again in the same change; stopped"
                )),
            )
            .await?;
        }
        Ok((runs, stopped))
    }

    /// Applies one rule's actions through the validated path. A refused change applies
    /// nothing of the rule and is written on the timeline.
    async fn apply_rule(
        &self,
        c: &mut Conn,
        rule: &Rule,
        before: Ticket,
        statuses: &[Status],
        pass: i64,
    ) -> Result<(RuleRunOut, Vec<Happening>)> {
        let actor = Actor {
            kind: ActorKind::Rule,
            id: Some(rule.id),
            via: Channel::System,
        };
        let reason = format!("rule:{}", rule.id);
        let mut after = before.clone();
        let mut explicit = Explicit::default();
        let mut notes = Vec::new();
        let mut notifications = Vec::new();
        let id_of = |v: &Value| v.as_i64();
        for a in &rule.def.actions {
            let v = &a.value;
            match a.field.as_str() {
                "status" => {
                    if let Some(s) = find_status(statuses, v) {
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
        enforce(
            c,
            statuses,
            Some(&before),
            &mut after,
            explicit,
            &mut problems,
        )
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
            self.audit(
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
        let mut produced = happenings(&before, &after, statuses);
        run.changes = crate::tickets::changes_between(&before, &after);
        self.save_ticket(c, actor, &before, &mut after, Some(reason.clone()))
            .await?;
        if !notes.is_empty() {
            let system = dir::system_user(c).await?;
            for body in notes {
                let id = tickets::insert_comment(
                    c,
                    &Comment {
                        id: CommentId(0),
                        ticket_id: before.id,
                        author_id: system,
                        body,
                        public: false,
                        channel: Channel::System,
                        created_at: self.now(),
                    },
                )
                .await?;
                self.audit(
                    c,
                    actor,
                    ("ticket", before.id.0),
                    "comment_added",
                    vec![FieldChange::new(
                        "comment",
                        (),
                        json!({"id": id, "public": false}),
                    )],
                    Some(reason.clone()),
                )
                .await?;
                produced.push(Happening::CommentAdded { public: false });
            }
        }
        for n in notifications {
            ferrodesk_store::jobs::enqueue_job(c, "notify", &json!({"template": "rule_notification", "rule_id": rule.id, "ticket_id": before.id.0, "notify": n}), self.now()).await?;
        }
        Ok((run, produced))
    }

    /// Lists rules (agents and admins).
    pub async fn list_rules(&self, p: &Principal) -> Result<Vec<RuleOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let rules = store::list(&mut c, false).await?;
        let defs = rules.iter().map(parse).collect::<Result<Vec<_>>>()?;
        let refs = Refs::load(&mut c, &defs.iter().collect::<Vec<_>>()).await?;
        Ok(rules
            .into_iter()
            .zip(defs)
            .map(|(r, def)| {
                let w = warnings(&refs, &def);
                rule_out(r, def, w)
            })
            .collect())
    }

    /// Reads a rule.
    pub async fn get_rule(&self, p: &Principal, id: i64) -> Result<RuleOut> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let r = store::get(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("rule"))?;
        let def = parse(&r)?;
        let refs = Refs::load(&mut c, &[&def]).await?;
        let w = warnings(&refs, &def);
        Ok(rule_out(r, def, w))
    }

    /// Creates (`id` None) or changes a rule (admins); the answer carries warnings.
    pub async fn save_rule(
        &self,
        p: &Principal,
        id: Option<i64>,
        input: RuleIn,
    ) -> Result<RuleOut> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let current = match id {
            Some(id) => Some(
                store::get(&mut tx, id)
                    .await?
                    .ok_or(AppError::NotFound("rule"))?,
            ),
            None => None,
        };
        let current_def = current.as_ref().map(parse).transpose()?;
        let mut problems = Problems::default();
        let name = match (&input.name, &current) {
            (Some(n), _) => problems.check(validate::name("name", n, 100)),
            (None, Some(r)) => Some(r.name.clone()),
            (None, None) => {
                problems.push(FieldError::new(
                    "name",
                    "required",
                    "name must not be empty",
                ));
                None
            }
        };
        let def = Definition {
            events: input
                .events
                .or(current_def.as_ref().map(|d| d.events.clone()))
                .unwrap_or_default(),
            performed_by: input
                .performed_by
                .or(current_def.as_ref().map(|d| d.performed_by))
                .unwrap_or_default(),
            conditions: input
                .conditions
                .or(current_def.as_ref().map(|d| d.conditions.clone()))
                .unwrap_or_default(),
            actions: input
                .actions
                .or(current_def.as_ref().map(|d| d.actions.clone()))
                .unwrap_or_default(),
        };
        let refs = Refs::load(&mut tx, &[&def]).await?;
        validate_definition(&refs, &def, &mut problems);
        problems.finish().map_err(AppError::Invalid)?;
        let now = self.now();
        let all = store::list(&mut tx, false).await?;
        let mut r = StoredRule {
            id: id.unwrap_or(0),
            name: name.unwrap_or_default(),
            active: input
                .active
                .or(current.as_ref().map(|r| r.active))
                .unwrap_or(true),
            position: input
                .position
                .or(current.as_ref().map(|r| r.position))
                .unwrap_or_else(|| all.iter().map(|r| r.position).max().unwrap_or(0) + 1),
            definition: serde_json::to_string(&def)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: current.as_ref().map_or(now, |r| r.created_at),
            updated_at: now,
        };
        let before = current.as_ref().map(|c| json!({"name": c.name, "active": c.active, "position": c.position, "definition": c.definition}));
        let after_json = json!({"name": r.name, "active": r.active, "position": r.position, "definition": r.definition});
        match id {
            Some(_) => store::update(&mut tx, &r).await?,
            None => r.id = store::insert(&mut tx, &r).await?,
        }
        self.audit(
            &mut tx,
            Actor::from(p),
            ("rule", r.id),
            if id.is_some() { "updated" } else { "created" },
            vec![FieldChange::new("rule", before, after_json)],
            None,
        )
        .await?;
        commit(tx).await?;
        let w = warnings(&refs, &def);
        Ok(rule_out(r, def, w))
    }

    /// Checks a rule without saving it (admins): the validation errors, or the warnings it
    /// would be saved with — so an editor can show them before saving.
    pub async fn check_rule(&self, p: &Principal, input: RuleIn) -> Result<Vec<RuleWarning>> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let mut problems = Problems::default();
        if let Some(n) = &input.name {
            problems.check(validate::name("name", n, 100));
        }
        let def = Definition {
            events: input.events.unwrap_or_default(),
            performed_by: input.performed_by.unwrap_or_default(),
            conditions: input.conditions.unwrap_or_default(),
            actions: input.actions.unwrap_or_default(),
        };
        let refs = Refs::load(&mut c, &[&def]).await?;
        validate_definition(&refs, &def, &mut problems);
        problems.finish().map_err(AppError::Invalid)?;
        Ok(warnings(&refs, &def))
    }

    /// Deletes a rule (admins).
    pub async fn delete_rule(&self, p: &Principal, id: i64) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let r = store::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("rule"))?;
        store::delete(&mut tx, id).await?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("rule", id),
            "deleted",
            vec![FieldChange::new(
                "rule",
                json!({"name": r.name, "definition": r.definition}),
                (),
            )],
            None,
        )
        .await?;
        commit(tx).await
    }

    /// Runs the rules against a ticket and an event, and rolls everything back (admins).
    pub async fn simulate_rules(&self, p: &Principal, input: SimulateIn) -> Result<SimulateOut> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let ticket = TicketId(input.ticket_id);
        tickets::get_ticket(&mut tx, ticket)
            .await?
            .ok_or(AppError::NotFound("ticket"))?;
        let happening = match input.event {
            EventSpec::TicketCreated => Happening::Created,
            EventSpec::CommentAdded { public } => Happening::CommentAdded {
                public: public.unwrap_or(true),
            },
            EventSpec::FieldChanged { field, from, to } => Happening::FieldChanged {
                field,
                from: from.unwrap_or(Value::Null),
                to: to.unwrap_or(Value::Null),
            },
            EventSpec::AssignmentChanged => Happening::FieldChanged {
                field: "assignee".into(),
                from: Value::Null,
                to: Value::Null,
            },
            EventSpec::InternalAssignmentChanged => Happening::FieldChanged {
                field: "internal_agent".into(),
                from: Value::Null,
                to: Value::Null,
            },
        };
        let who = match input.performed_by.unwrap_or(PerformedBy::Agent) {
            PerformedBy::EndUser => Performer::EndUser,
            PerformedBy::System => Performer::System,
            PerformedBy::Agent | PerformedBy::Anyone => Performer::Agent,
        };
        let (runs, stopped) = self
            .run_rules(&mut tx, ticket, vec![happening], who)
            .await?;
        tx.rollback()
            .await
            .map_err(ferrodesk_store::StoreError::from)?;
        Ok(SimulateOut { runs, stopped })
    }
}
