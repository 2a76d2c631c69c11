//! Automation rules (SPEC §5): validation, the save-time guard for shared ownership, and
//! simulation. The engine runs in the ticket write pipeline (`ticket_write`), inside the
//! transaction of the change that fired it.

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::rules::{
    Definition, EventSpec, Happening, PerformedBy, Performer, operators_for,
};
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{GroupId, Priority, TicketId};
use ferrodesk_store::Conn;
use ferrodesk_store::directory::{self as dir, Status};
use ferrodesk_store::rules::{self as store, StoredRule};
use ferrodesk_store::tickets::{self as tickets, CustomField};
use serde_json::{Value, json};

use crate::directory::commit;
use crate::dto::{RuleIn, RuleOut, RuleWarning, SimulateIn, SimulateOut, rfc3339};
use crate::ticket_write::{find_status, parse};
use crate::{Actor, App, AppError, Principal, Result};

/// Fields a `field_changed` event may name.
pub const EVENT_FIELDS: &[&str] = &[
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

/// Checks references to the database (statuses, groups, users, fields) in a rule.
struct Refs {
    statuses: Vec<Status>,
    /// Every group: id and name (warnings name them).
    groups: Vec<(i64, String)>,
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
            .map(|g| (g.id.0, g.name))
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
                    _ => missing(format!("there is no {what} with the id {n}")),
                },
                _ => bad(format!(
                    "choose a {what}{} (by id)",
                    if nullable { " or none" } else { "" }
                )),
            }
        };
        let group_ids: Vec<i64> = self.groups.iter().map(|(id, _)| *id).collect();
        match field {
            "status" => match find_status(&self.statuses, v) {
                Some(_) => None,
                None => match v {
                    Value::String(s) => missing(format!("there is no status named {s}")),
                    Value::Number(n) => missing(format!("there is no status with the id {n}")),
                    _ => bad("choose a status (by name)".into()),
                },
            },
            "category" => match v.as_str().map(ferrodesk_core::StatusCategory::parse) {
                Some(Ok(_)) => None,
                _ => bad("choose a category: open, pending, resolved or closed".into()),
            },
            "priority" => match v.as_str().map(Priority::parse) {
                Some(Ok(_)) => None,
                _ => bad("choose a priority: low, normal, high or urgent".into()),
            },
            "group" | "internal_group" => id_in(&group_ids, "group"),
            "assignee" | "internal_agent" => id_in(&self.staff, "agent"),
            "organization" => id_in(&self.organizations, "organization"),
            "requester" => id_in(&self.users, "user"),
            "tags" => match v.as_str().map(|t| validate::tag(path, t)) {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(e),
                None => bad("give one tag".into()),
            },
            "subject" | "description" => match v {
                Value::String(s) if !s.is_empty() => None,
                _ => bad("give some text".into()),
            },
            f => match f.strip_prefix("custom_field:") {
                Some(key) => match self.fields.iter().find(|d| d.key == key) {
                    None => missing(format!("there is no custom field with the key {key}")),
                    Some(_) => None,
                },
                None => Some(FieldError::new(
                    path,
                    "unknown_field",
                    format!("there is no field {f}"),
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
                    format!(
                        "a change of {field} cannot start a rule; choose one of: {}",
                        EVENT_FIELDS.join(", ")
                    ),
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
                    format!("conditions cannot test {}", c.field),
                ));
                continue;
            };
            if !ops.contains(&c.operator.as_str()) {
                problems.push(FieldError::new(
                    format!("{path}.operator"),
                    "invalid_operator",
                    format!(
                        "{} is compared with: {}",
                        c.field,
                        ops.iter()
                            .map(|o| o.replace('_', " "))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
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
                        "choose whom to notify: the requester, the assignee, the internal agent, the group or an address",
                    )),
                }
            }
            f if f.starts_with("custom_field:") => refs.value(&path, f, v, true),
            f => Some(FieldError::new(
                format!("actions[{i}].field"),
                "unknown_field",
                format!("rules cannot act on {f}"),
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
        let unmapped: Vec<&(i64, String)> = refs
            .groups
            .iter()
            .filter(|(g, _)| !status.maps(GroupId(*g)))
            .collect();
        if !unmapped.is_empty() {
            let names: Vec<&str> = unmapped.iter().map(|(_, n)| n.as_str()).collect();
            out.push(RuleWarning {
                code: "removes_shared_ownership".into(),
                message: format!(
                    "Setting the status to {status} removes the internal owner of tickets whose internal group \
                     is not mapped to {status}: {groups}. Add the condition \"Internal group is none\", or map \
                     {those} to {status}.",
                    status = status.name,
                    groups = names.join(", "),
                    those = if names.len() == 1 { "that group" } else { "those groups" },
                ),
                group_ids: unmapped.iter().map(|(id, _)| *id).collect(),
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

impl App {
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
        let ticket = tickets::get_ticket(&mut tx, TicketId(input.ticket_id))
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
        let mut w = self.ticket_write(&mut tx).await?;
        let (_, runs, stopped) = w.run_rules(&mut tx, ticket, vec![happening], who).await?;
        tx.rollback()
            .await
            .map_err(ferrodesk_store::StoreError::from)?;
        Ok(SimulateOut { runs, stopped })
    }
}
