//! The rules pages (admins only): the list of rules in words, a rule builder ("When [event]
//! performed by [who], if [all/any of: field operator value], then [actions]") for new and
//! existing rules, the same rule as JSON ("Advanced (JSON)"), a delete that asks first, and
//! the simulate form.
//!
//! The builder works without JavaScript: each "Add …", "Remove" and "Show choices" button
//! submits the form, which comes back with its rows kept. Both views save through the same
//! use cases: "Check" shows problems and warnings without saving, and "Save" stops at
//! warnings and asks to confirm. People read names and labels, never ids or enum names:
//! values are chosen from the real statuses, groups, agents, organizations and custom fields,
//! and the parser's and the app's messages are said as "where: what is wrong".

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{FieldOut, RuleIn, RuleOut, SimulateIn};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::rules::{Action, Condition, Conditions, EventSpec, PerformedBy, operators_for};
use ferrodesk_core::{Priority, StatusCategory};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::admin_only;
use super::view::{Directory, Layout, Opt};
use super::{PagePath, Post, Session, UiError, html, html_status};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/rules", get(rules).post(create_rule))
        .route("/admin/rules/new", get(new_rule))
        .route("/admin/rules/simulate", post(simulate))
        .route("/admin/rules/{id}", get(edit_rule).post(save_rule))
        .route(
            "/admin/rules/{id}/delete",
            get(confirm_delete).post(delete_rule),
        )
}

// ------------------------------------------------------------------ names

/// Everything a rule names, to show names instead of ids and to offer real choices.
struct Names {
    dir: Directory,
    organizations: Vec<(i64, String)>,
    fields: Vec<FieldOut>,
}

/// Fields a condition can test in the builder (the requester is left to the JSON view).
const CONDITION_FIELDS: &[&str] = &[
    "status",
    "category",
    "priority",
    "group",
    "assignee",
    "internal_group",
    "internal_agent",
    "organization",
    "tags",
    "subject",
    "description",
];

/// Fields a "changes" event can name in the builder: the app's, but the requester (the
/// builder has no way to pick one; such a rule opens as JSON).
fn event_fields() -> Vec<&'static str> {
    ferrodesk_app::rules::EVENT_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != "requester")
        .collect()
}

/// What an action can do, in the builder.
const ACTION_FIELDS: &[&str] = &[
    "status",
    "priority",
    "group",
    "assignee",
    "internal_group",
    "internal_agent",
    "add_tags",
    "remove_tags",
    "add_note",
    "notify",
];

/// Whom a notification goes to.
const NOTIFY_TO: &[(&str, &str)] = &[
    ("requester", "the requester"),
    ("assignee", "the assignee"),
    ("internal_agent", "the internal agent"),
    ("group", "the group"),
    ("address", "an email address"),
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn operator_words(op: &str) -> &str {
    match op {
        "is" => "is",
        "is_not" => "is not",
        "includes" => "includes",
        "not_includes" => "does not include",
        "contains" => "contains",
        "not_contains" => "does not contain",
        o => o,
    }
}

fn performer_words(p: PerformedBy) -> &'static str {
    match p {
        PerformedBy::Anyone => "anyone",
        PerformedBy::Agent => "an agent",
        PerformedBy::EndUser => "the customer",
        PerformedBy::System => "Ferrodesk itself (rules, the command line)",
    }
}

fn performer_key(p: PerformedBy) -> &'static str {
    match p {
        PerformedBy::Anyone => "anyone",
        PerformedBy::Agent => "agent",
        PerformedBy::EndUser => "end_user",
        PerformedBy::System => "system",
    }
}

fn performer_of(key: &str) -> Option<PerformedBy> {
    [
        PerformedBy::Anyone,
        PerformedBy::Agent,
        PerformedBy::EndUser,
        PerformedBy::System,
    ]
    .into_iter()
    .find(|p| performer_key(*p) == key)
}

fn performer_options(selected: &str) -> Vec<Opt> {
    [
        PerformedBy::Anyone,
        PerformedBy::Agent,
        PerformedBy::EndUser,
        PerformedBy::System,
    ]
    .into_iter()
    .map(|p| {
        Opt::new(
            performer_key(p),
            performer_words(p),
            performer_key(p) == selected,
        )
    })
    .collect()
}

impl Names {
    async fn load(app: &App, s: &Session) -> Result<Names, UiError> {
        let dir = Directory::load(app, &s.p).await?;
        let mut organizations = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let page = app
                .list_organizations(&s.p, cursor.as_deref(), Some(100))
                .await?;
            organizations.extend(page.items.into_iter().map(|o| (o.id, o.name)));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        organizations.sort_by_key(|o| o.1.to_lowercase());
        let fields = app.list_fields(&s.p).await?;
        Ok(Names {
            dir,
            organizations,
            fields,
        })
    }

    fn custom(&self, field: &str) -> Option<&FieldOut> {
        let key = field.strip_prefix("custom_field:")?;
        self.fields.iter().find(|f| f.key == key)
    }

    /// A field's name for people.
    fn field_label(&self, field: &str) -> String {
        match field {
            "status" | "status_id" => "Status".into(),
            "category" => "Status category".into(),
            "priority" => "Priority".into(),
            "group" | "group_id" => "Group".into(),
            "assignee" | "assignee_id" => "Assignee".into(),
            "internal_group" | "internal_group_id" => "Internal group".into(),
            "internal_agent" | "internal_agent_id" => "Internal agent".into(),
            "organization" | "organization_id" => "Organization".into(),
            "requester" | "requester_id" => "Requester".into(),
            "tags" => "Tags".into(),
            "subject" => "Subject".into(),
            "description" => "Description".into(),
            "add_tags" => "Add tags".into(),
            "remove_tags" => "Remove tags".into(),
            "add_note" => "Add a private note".into(),
            "notify" => "Send a notification".into(),
            "cc_ids" => "CCs".into(),
            f => match self.custom(f) {
                Some(d) => d.title.clone(),
                None => f
                    .strip_prefix("custom_field:")
                    .unwrap_or(f)
                    .replace('_', " "),
            },
        }
    }

    /// What one value of `field` is called ("status", "group", "agent", …).
    fn what(field: &str) -> &'static str {
        match field {
            "status" => "status",
            "category" => "status category",
            "priority" => "priority",
            "group" | "internal_group" => "group",
            "assignee" | "internal_agent" => "agent",
            "organization" => "organization",
            "notify" => "recipient",
            _ => "value",
        }
    }

    /// Whether "none" is a value of `field`.
    fn nullable(&self, field: &str) -> bool {
        matches!(
            field,
            "group" | "assignee" | "internal_group" | "internal_agent" | "organization"
        ) || self.custom(field).is_some()
    }

    /// The choices of `field`'s value as (form value, label); None when it takes text.
    fn choices(&self, field: &str) -> Option<Vec<(String, String)>> {
        let mut out: Vec<(String, String)> = match field {
            "status" => self
                .dir
                .statuses
                .iter()
                .map(|s| (s.name.clone(), s.name.clone()))
                .collect(),
            "category" => StatusCategory::ALL
                .iter()
                .map(|c| (c.as_str().to_owned(), capitalize(c.as_str())))
                .collect(),
            "priority" => Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), capitalize(p.as_str())))
                .collect(),
            "group" | "internal_group" => self
                .dir
                .groups
                .iter()
                .map(|g| (g.id.to_string(), g.name.clone()))
                .collect(),
            // Suspended staff (and Ferrodesk itself) are no one to assign to.
            "assignee" | "internal_agent" => self
                .dir
                .staff
                .iter()
                .filter(|u| !u.suspended)
                .map(|u| (u.id.to_string(), u.name.clone()))
                .collect(),
            "organization" => self
                .organizations
                .iter()
                .map(|(id, n)| (id.to_string(), n.clone()))
                .collect(),
            "notify" => NOTIFY_TO
                .iter()
                .map(|(k, l)| ((*k).to_owned(), capitalize(l)))
                .collect(),
            f => match self.custom(f) {
                Some(d) if d.field_type == "dropdown" => {
                    d.options.iter().map(|o| (o.clone(), o.clone())).collect()
                }
                Some(d) if d.field_type == "checkbox" => {
                    vec![("true".into(), "Yes".into()), ("false".into(), "No".into())]
                }
                _ => return None,
            },
        };
        if self.nullable(field) {
            out.insert(0, ("none".into(), "None".into()));
        }
        Some(out)
    }

    /// A value of a rule as the form holds it; None when the builder cannot show it.
    fn value_key(&self, field: &str, v: &Value) -> Option<String> {
        if v.is_null() {
            return self.nullable(field).then(|| "none".into());
        }
        match field {
            "status" => {
                let s = self.dir.statuses.iter().find(|s| match v {
                    Value::String(n) => s.name.eq_ignore_ascii_case(n.trim()),
                    Value::Number(n) => n.as_i64() == Some(s.id),
                    _ => false,
                })?;
                Some(s.name.clone())
            }
            "add_tags" | "remove_tags" => match v {
                Value::String(s) => Some(s.clone()),
                Value::Array(a) => a
                    .iter()
                    .map(|t| t.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .map(|t| t.join(" ")),
                _ => None,
            },
            f => {
                let key = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                match self.choices(f) {
                    Some(c) => c.iter().find(|(k, _)| *k == key).map(|(k, _)| k.clone()),
                    None => v.is_string().then_some(key).or_else(|| {
                        (self.custom(f).is_some_and(|d| d.field_type == "number"))
                            .then(|| v.to_string())
                    }),
                }
            }
        }
    }

    /// The JSON value of what the form holds for `field`, or what is wrong, in words.
    fn value_json(&self, field: &str, raw: &str) -> Result<Value, String> {
        let raw = raw.trim();
        if let Some(choices) = self.choices(field) {
            if raw.is_empty() {
                return Err(format!("choose a {}", Names::what(field)));
            }
            if !choices.iter().any(|(k, _)| k == raw) {
                return Err(format!("choose one of the listed {}s", Names::what(field)));
            }
            if raw == "none" {
                return Ok(Value::Null);
            }
            return Ok(match field {
                "group" | "internal_group" | "assignee" | "internal_agent" | "organization" => {
                    raw.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                }
                f if self.custom(f).is_some_and(|d| d.field_type == "checkbox") => {
                    Value::Bool(raw == "true")
                }
                _ => Value::String(raw.to_owned()),
            });
        }
        match field {
            "add_tags" | "remove_tags" => Ok(Value::Array(
                raw.split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_owned()))
                    .collect(),
            )),
            f if self.custom(f).is_some() => {
                let d = self.custom(f).expect("checked");
                if raw.is_empty() {
                    Ok(Value::Null)
                } else if d.field_type == "number" {
                    raw.parse::<i64>()
                        .map(Value::from)
                        .or_else(|_| raw.parse::<f64>().map(|n| json!(n)))
                        .map_err(|_| "give a number".to_owned())
                } else {
                    Ok(Value::String(raw.to_owned()))
                }
            }
            _ => Ok(Value::String(raw.to_owned())),
        }
    }

    /// A value of `field` for people: names for ids, "none" for null.
    fn value_label(&self, field: &str, v: &Value) -> String {
        let field = field.strip_suffix("_id").unwrap_or(field);
        match (field, v) {
            (_, Value::Null) => "none".into(),
            ("status", Value::Number(n)) => self.dir.status_name(n.as_i64().unwrap_or_default()),
            ("group" | "internal_group", Value::Number(n)) => self.dir.group_name(n.as_i64()),
            ("assignee" | "internal_agent", Value::Number(n)) => self.dir.staff_name(n.as_i64()),
            ("organization", Value::Number(n)) => self
                .organizations
                .iter()
                .find(|(id, _)| Some(*id) == n.as_i64())
                .map_or_else(|| format!("organization {n}"), |(_, name)| name.clone()),
            ("status", Value::String(s)) => self
                .dir
                .statuses
                .iter()
                .find(|st| st.name.eq_ignore_ascii_case(s))
                .map_or_else(|| s.clone(), |st| st.name.clone()),
            ("priority" | "category", Value::String(s)) => capitalize(s),
            ("notify", v) => {
                let to = v.get("to").and_then(Value::as_str).unwrap_or("");
                let mut out = if to == "address" {
                    v.get("address")
                        .and_then(Value::as_str)
                        .unwrap_or("an address")
                        .to_owned()
                } else {
                    NOTIFY_TO
                        .iter()
                        .find(|(k, _)| *k == to)
                        .map_or(to, |(_, l)| l)
                        .to_owned()
                };
                if let Some(m) = v.get("message").and_then(Value::as_str) {
                    out.push_str(&format!(" (“{m}”)"));
                }
                out
            }
            (_, Value::Array(a)) if a.is_empty() => "none".into(),
            (_, Value::Array(a)) => a
                .iter()
                .map(|x| self.value_label(field, x))
                .collect::<Vec<_>>()
                .join(", "),
            (_, Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        }
    }

    // -------------------------------------------------------------- a rule in words

    fn event_words(&self, e: &EventSpec) -> String {
        match e {
            EventSpec::TicketCreated => "a ticket is created".into(),
            EventSpec::CommentAdded { public: Some(true) } => "a public comment is added".into(),
            EventSpec::CommentAdded {
                public: Some(false),
            } => "a private note is added".into(),
            EventSpec::CommentAdded { public: None } => "a comment or note is added".into(),
            EventSpec::AssignmentChanged => "the group or assignee changes".into(),
            EventSpec::InternalAssignmentChanged => {
                "the internal group or internal agent changes".into()
            }
            EventSpec::FieldChanged { field, from, to } => {
                let mut s = format!("{} changes", self.field_label(field));
                if let Some(f) = from {
                    s.push_str(&format!(" from {}", self.value_label(field, f)));
                }
                if let Some(t) = to {
                    s.push_str(&format!(" to {}", self.value_label(field, t)));
                }
                s
            }
        }
    }

    fn condition_words(&self, c: &Condition) -> String {
        if c.value.is_null() && matches!(c.operator.as_str(), "is" | "is_not") {
            return format!(
                "{} {}",
                self.field_label(&c.field),
                if c.operator == "is" {
                    "is none"
                } else {
                    "is set"
                }
            );
        }
        format!(
            "{} {} {}",
            self.field_label(&c.field),
            operator_words(&c.operator),
            self.value_label(&c.field, &c.value)
        )
    }

    fn action_words(&self, a: &Action) -> String {
        let v = self.value_label(&a.field, &a.value);
        match a.field.as_str() {
            "add_tags" => format!("add the tags {v}"),
            "remove_tags" => format!("remove the tags {v}"),
            "add_note" => "add a private note".into(),
            "notify" => format!("notify {v}"),
            f => format!("set {} to {v}", self.field_label(f)),
        }
    }

    /// A rule in one line: "When a public comment is added by the customer, if Status is
    /// Pending → set Status to Open".
    fn summary(
        &self,
        events: &[EventSpec],
        by: PerformedBy,
        conditions: &Conditions,
        actions: &[Action],
    ) -> String {
        let mut s = format!(
            "When {}",
            events
                .iter()
                .map(|e| self.event_words(e))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        if by != PerformedBy::Anyone {
            s.push_str(&format!(
                " by {}",
                match by {
                    PerformedBy::System => "Ferrodesk itself",
                    p => performer_words(p),
                }
            ));
        }
        let mut ifs: Vec<String> = conditions
            .all
            .iter()
            .map(|c| self.condition_words(c))
            .collect();
        if !conditions.any.is_empty() {
            let any: Vec<String> = conditions
                .any
                .iter()
                .map(|c| self.condition_words(c))
                .collect();
            ifs.push(if any.len() == 1 {
                any.join("")
            } else {
                format!("({})", any.join(" or "))
            });
        }
        if !ifs.is_empty() {
            s.push_str(&format!(", if {}", ifs.join(" and ")));
        }
        s.push_str(" → ");
        s.push_str(
            &actions
                .iter()
                .map(|a| self.action_words(a))
                .collect::<Vec<_>>()
                .join(", "),
        );
        s
    }
}

// ------------------------------------------------------------------ problems in words

/// Where in a rule a path (`conditions.all[0].value`) points, in words.
fn path_words(path: &str) -> String {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let indexed = |s: &str| -> Option<(String, usize)> {
        let (name, i) = s.split_once('[')?;
        let i: usize = i.trim_end_matches(']').parse().ok()?;
        Some((name.to_owned(), i + 1))
    };
    let part = |r: Option<&str>| -> String {
        match r {
            None => String::new(),
            Some(p) => format!(
                ", {}",
                match p {
                    "value" => "value",
                    "operator" => "operator",
                    "field" => "field",
                    "from" => "from",
                    "to" => "to",
                    "type" => "kind of event",
                    "value.address" => "address",
                    "value.to" => "recipient",
                    other => other,
                }
            ),
        }
    };
    match head {
        "name" => "Name".into(),
        "active" => "Active".into(),
        "position" => "Position".into(),
        "performed_by" => "Performed by".into(),
        "events" => "Events".into(),
        "actions" => "Actions".into(),
        "conditions" => match rest.and_then(|r| {
            let (h, r) = r.split_once('.').map_or((r, None), |(h, r)| (h, Some(r)));
            indexed(h).map(|x| (x, r))
        }) {
            Some(((list, n), r)) => format!(
                "Condition {n} of “{}”{}",
                if list == "any" { "any of" } else { "all of" },
                part(r)
            ),
            None => "Conditions".into(),
        },
        h => match indexed(h) {
            Some((list, n)) if list == "events" => format!("Event {n}{}", part(rest)),
            Some((list, n)) if list == "actions" => format!("Action {n}{}", part(rest)),
            _ => path.replace('_', " "),
        },
    }
}

/// A list of serde's backquoted names (`a`, `b`) in words, joined with "or".
fn choices_words(list: &str) -> String {
    let items: Vec<String> = list
        .split(", ")
        .map(|i| {
            let i = i.trim().trim_start_matches("one of ").trim_matches('`');
            match i {
                "ticket_created" => "ticket_created (a ticket is created)".into(),
                "field_changed" => "field_changed (a field changes)".into(),
                "comment_added" => "comment_added (a comment is added)".into(),
                "assignment_changed" => "assignment_changed (the group or assignee changes)".into(),
                "internal_assignment_changed" => {
                    "internal_assignment_changed (the internal group or agent changes)".into()
                }
                "end_user" => "end_user (the customer)".into(),
                "agent" => "agent (an agent)".into(),
                "anyone" => "anyone".into(),
                "system" => "system (Ferrodesk itself)".into(),
                other => other.to_owned(),
            }
        })
        .collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.join(""),
    }
}

fn type_words(t: &str) -> String {
    let t = t.trim();
    match t {
        "a boolean" | "bool" => "true or false".into(),
        "a string" => "text in quotes".into(),
        "i64" | "u64" | "an integer" => "a whole number".into(),
        "a sequence" => "a list [ … ]".into(),
        "null" => "null".into(),
        t if t.starts_with("struct")
            || t.starts_with("a map")
            || t.starts_with("internally tagged enum") =>
        {
            "an object { … }".into()
        }
        t if t.starts_with("string ") => format!("the text {}", &t["string ".len()..]),
        t if t.starts_with("integer ") => {
            format!("the number {}", t["integer ".len()..].trim_matches('`'))
        }
        t if t.starts_with("boolean ") => t["boolean ".len()..].trim_matches('`').to_owned(),
        t => t.replace('`', ""),
    }
}

/// A message of the JSON parser in words: "Event 1: “nope” is not a choice here; …".
fn parser_words(path: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let full = e.to_string();
    let msg = full
        .rfind(" at line ")
        .map_or(full.as_str(), |at| &full[..at]);
    if matches!(e.classify(), Category::Syntax | Category::Eof) {
        let what = match msg {
            m if m.starts_with("EOF while parsing") => {
                "it ends too early: a closing } or ] or a quote is missing".to_owned()
            }
            "expected `,` or `}`" => "a comma or a closing } is missing".into(),
            "expected `,` or `]`" => "a comma or a closing ] is missing".into(),
            "expected `:`" => "a colon (:) is missing after a name".into(),
            "key must be a string" => "names must be in double quotes".into(),
            "trailing comma" => "there is a comma before a closing } or ]".into(),
            "expected value" => "a value is missing or not valid JSON".into(),
            "expected ident" => "a word is misspelled (true, false or null)".into(),
            m => m.to_owned(),
        };
        return format!(
            "The JSON could not be read at line {}, column {}: {what}.",
            e.line(),
            e.column()
        );
    }
    // An unknown field's path ends with the field itself: the place is its parent.
    let mut path = path;
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some(got) = rest.split('`').next()
    {
        path = path
            .strip_suffix(got)
            .map_or(path, |p| p.trim_end_matches('.'));
    }
    let place = if path.is_empty() || path == "." {
        "The rule".to_owned()
    } else {
        path_words(path)
    };
    let what = if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (got, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        format!(
            "“{got}” is not one of the choices; use {}",
            choices_words(expected)
        )
    } else if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (got, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        if expected.is_empty() || rest.contains("there are no fields") {
            format!("“{got}” is not part of a rule here")
        } else {
            format!(
                "“{got}” is not part of a rule here; use {}",
                choices_words(expected)
            )
        }
    } else if let Some(rest) = msg.strip_prefix("missing field `") {
        format!("“{}” is missing", rest.trim_end_matches('`'))
    } else if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!(
            "this takes {}, not {}",
            type_words(expected),
            type_words(got)
        )
    } else if let Some(rest) = msg.strip_prefix("invalid value: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!(
            "this takes {}, not {}",
            type_words(expected),
            type_words(got)
        )
    } else {
        msg.replace('`', "")
    };
    format!("{place}: {what}.")
}

/// Reads a rule from JSON; what is wrong is said in words.
fn parse_rule(text: &str) -> Result<RuleIn, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let rule: RuleIn = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| parser_words(&e.path().to_string(), e.inner()))?;
    de.end().map_err(|e| parser_words("", &e))?;
    Ok(rule)
}

/// One problem of a rule: where (the API's path) and what, in words.
#[derive(Debug, Clone)]
struct Problem {
    path: String,
    message: String,
}

impl Problem {
    fn line(&self) -> String {
        if self.path.is_empty() {
            return self.message.clone();
        }
        format!("{}: {}", path_words(&self.path), self.message)
    }
}

/// The problems of a use case's answer, or the page error it is.
fn app_problems(e: AppError) -> Result<Vec<Problem>, UiError> {
    match e {
        AppError::Invalid(list) => Ok(list
            .into_iter()
            .map(|f| Problem {
                path: f.field,
                message: f.message,
            })
            .collect()),
        AppError::Conflict { message, .. } => Ok(vec![Problem {
            path: String::new(),
            message,
        }]),
        e => Err(e.into()),
    }
}

// ------------------------------------------------------------------ a rule being edited

/// A rule as being edited: the fields of `RuleIn`, which can be made again for each use case.
#[derive(Debug, Clone, Default)]
struct Draft {
    name: Option<String>,
    active: Option<bool>,
    position: Option<i64>,
    events: Option<Vec<EventSpec>>,
    performed_by: Option<PerformedBy>,
    conditions: Option<Conditions>,
    actions: Option<Vec<Action>>,
}

impl From<RuleIn> for Draft {
    fn from(r: RuleIn) -> Draft {
        Draft {
            name: r.name,
            active: r.active,
            position: r.position,
            events: r.events,
            performed_by: r.performed_by,
            conditions: r.conditions,
            actions: r.actions,
        }
    }
}

impl From<&RuleOut> for Draft {
    fn from(r: &RuleOut) -> Draft {
        Draft {
            name: Some(r.name.clone()),
            active: Some(r.active),
            position: Some(r.position),
            events: Some(r.events.clone()),
            performed_by: Some(r.performed_by),
            conditions: Some(r.conditions.clone()),
            actions: Some(r.actions.clone()),
        }
    }
}

impl Draft {
    fn input(&self) -> RuleIn {
        RuleIn {
            name: self.name.clone(),
            active: self.active,
            position: self.position,
            events: self.events.clone(),
            performed_by: self.performed_by,
            conditions: self.conditions.clone(),
            actions: self.actions.clone(),
        }
    }

    fn json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(self.name.clone().unwrap_or_default()));
        m.insert("active".into(), json!(self.active.unwrap_or(true)));
        if let Some(p) = self.position {
            m.insert("position".into(), json!(p));
        }
        m.insert(
            "events".into(),
            json!(self.events.clone().unwrap_or_default()),
        );
        m.insert(
            "performed_by".into(),
            json!(self.performed_by.unwrap_or_default()),
        );
        m.insert(
            "conditions".into(),
            json!(self.conditions.clone().unwrap_or_default()),
        );
        m.insert(
            "actions".into(),
            json!(self.actions.clone().unwrap_or_default()),
        );
        serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default()
    }
}

// ------------------------------------------------------------------ the builder's state

#[derive(Debug, Clone, Default)]
struct EventRow {
    /// `ticket_created`, `comment_public`, `comment_private`, `comment_any`,
    /// `field_changed`, `assignment_changed`, `internal_assignment_changed`.
    kind: String,
    field: String,
    /// "" any, `none`, or a value key.
    from: String,
    to: String,
}

#[derive(Debug, Clone, Default)]
struct CondRow {
    field: String,
    op: String,
    value: String,
}

#[derive(Debug, Clone, Default)]
struct ActRow {
    field: String,
    value: String,
    /// Of `notify` to an address.
    address: String,
    /// Of `notify`: an optional message.
    message: String,
}

/// The builder's form, as posted and as shown.
#[derive(Debug, Clone, Default)]
struct Builder {
    name: String,
    active: bool,
    position: String,
    performed_by: String,
    events: Vec<EventRow>,
    all: Vec<CondRow>,
    any: Vec<CondRow>,
    actions: Vec<ActRow>,
}

const EVENT_KINDS: &[(&str, &str)] = &[
    ("comment_public", "A public comment is added"),
    ("comment_private", "A private note is added"),
    ("comment_any", "A comment or note is added"),
    ("ticket_created", "A ticket is created"),
    ("field_changed", "A field changes…"),
    ("assignment_changed", "The group or assignee changes"),
    (
        "internal_assignment_changed",
        "The internal group or internal agent changes",
    ),
];

impl Builder {
    /// A new rule's starting point.
    fn fresh() -> Builder {
        Builder {
            active: true,
            performed_by: "anyone".into(),
            events: vec![EventRow {
                kind: "comment_public".into(),
                ..EventRow::default()
            }],
            actions: vec![ActRow {
                field: "status".into(),
                ..ActRow::default()
            }],
            ..Builder::default()
        }
    }

    /// The builder of a rule, or what in it the builder cannot show.
    fn of(names: &Names, d: &Draft) -> Result<Builder, Vec<String>> {
        let mut cannot = Vec::new();
        let mut events = Vec::new();
        for (i, e) in d.events.iter().flatten().enumerate() {
            let n = i + 1;
            events.push(match e {
                EventSpec::TicketCreated => EventRow {
                    kind: "ticket_created".into(),
                    ..EventRow::default()
                },
                EventSpec::CommentAdded { public } => EventRow {
                    kind: match public {
                        Some(true) => "comment_public",
                        Some(false) => "comment_private",
                        None => "comment_any",
                    }
                    .into(),
                    ..EventRow::default()
                },
                EventSpec::AssignmentChanged => EventRow {
                    kind: "assignment_changed".into(),
                    ..EventRow::default()
                },
                EventSpec::InternalAssignmentChanged => EventRow {
                    kind: "internal_assignment_changed".into(),
                    ..EventRow::default()
                },
                EventSpec::FieldChanged { field, from, to } => {
                    if !event_fields().contains(&field.as_str()) {
                        cannot.push(format!(
                            "Event {n} reacts to a change of {}",
                            names.field_label(field)
                        ));
                    }
                    let mut key = |v: &Option<Value>, which: &str| -> String {
                        match v {
                            None => String::new(),
                            Some(v) => {
                                match names.choices(field).and_then(|_| names.value_key(field, v)) {
                                    Some(k) => k,
                                    None => {
                                        cannot.push(format!(
                                            "Event {n} names the value {} ({which})",
                                            names.value_label(field, v)
                                        ));
                                        String::new()
                                    }
                                }
                            }
                        }
                    };
                    let from = key(from, "from");
                    let to = key(to, "to");
                    EventRow {
                        kind: "field_changed".into(),
                        field: field.clone(),
                        from,
                        to,
                    }
                }
            });
        }
        let conditions = d.conditions.clone().unwrap_or_default();
        let mut rows = |list: &[Condition], which: &str| -> Vec<CondRow> {
            list.iter()
                .enumerate()
                .map(|(i, c)| {
                    let n = i + 1;
                    let known = CONDITION_FIELDS.contains(&c.field.as_str())
                        || names.custom(&c.field).is_some();
                    let ops_ok = operators_for(&c.field)
                        .is_some_and(|ops| ops.contains(&c.operator.as_str()));
                    let value = names.value_key(&c.field, &c.value);
                    if !known || !ops_ok || value.is_none() {
                        cannot.push(format!(
                            "Condition {n} of “{which}” ({} {} {})",
                            names.field_label(&c.field),
                            operator_words(&c.operator),
                            names.value_label(&c.field, &c.value)
                        ));
                    }
                    CondRow {
                        field: c.field.clone(),
                        op: c.operator.clone(),
                        value: value.unwrap_or_default(),
                    }
                })
                .collect()
        };
        let all = rows(&conditions.all, "all of");
        let any = rows(&conditions.any, "any of");
        let mut actions = Vec::new();
        for (i, a) in d.actions.iter().flatten().enumerate() {
            let n = i + 1;
            let known =
                ACTION_FIELDS.contains(&a.field.as_str()) || names.custom(&a.field).is_some();
            let row = if a.field == "notify" {
                let o = a.value.as_object();
                let plain = o.is_some_and(|o| {
                    o.iter().all(|(k, v)| {
                        matches!(k.as_str(), "to" | "address" | "message") && v.is_string()
                    })
                });
                let to = a.value.get("to").and_then(Value::as_str).unwrap_or("");
                if !plain || !NOTIFY_TO.iter().any(|(k, _)| *k == to) {
                    cannot.push(format!(
                        "Action {n} sends a notification the builder cannot show"
                    ));
                }
                let s = |k: &str| {
                    a.value
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                ActRow {
                    field: a.field.clone(),
                    value: to.to_owned(),
                    address: s("address"),
                    message: s("message"),
                }
            } else {
                let value = match a.field.as_str() {
                    "add_note" => a.value.as_str().map(str::to_owned),
                    f => names.value_key(f, &a.value),
                };
                if !known || value.is_none() {
                    cannot.push(format!("Action {n} ({})", names.action_words(a)));
                }
                ActRow {
                    field: a.field.clone(),
                    value: value.unwrap_or_default(),
                    ..ActRow::default()
                }
            };
            actions.push(row);
        }
        if !cannot.is_empty() {
            return Err(cannot);
        }
        Ok(Builder {
            name: d.name.clone().unwrap_or_default(),
            active: d.active.unwrap_or(true),
            position: d.position.map(|p| p.to_string()).unwrap_or_default(),
            performed_by: performer_key(d.performed_by.unwrap_or_default()).into(),
            events,
            all,
            any,
            actions,
        })
    }

    /// Reads the posted form.
    fn from_form(pairs: &[(String, String)]) -> Builder {
        let get = |k: &str| -> String {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        // The rows present, in index order: `{prefix}{i}_{first}`.
        let indexes = |prefix: &str, first: &str| -> Vec<String> {
            let mut out: Vec<(usize, String)> = pairs
                .iter()
                .filter_map(|(k, _)| {
                    let rest = k.strip_prefix(prefix)?;
                    let (i, part) = rest.split_once('_')?;
                    (part == first)
                        .then(|| i.parse::<usize>().ok().map(|n| (n, format!("{prefix}{i}"))))
                        .flatten()
                })
                .collect();
            out.sort();
            out.dedup();
            out.into_iter().map(|(_, k)| k).collect()
        };
        let conds = |prefix: &str| -> Vec<CondRow> {
            indexes(prefix, "field")
                .into_iter()
                .map(|k| CondRow {
                    field: get(&format!("{k}_field")),
                    op: get(&format!("{k}_op")),
                    value: get(&format!("{k}_value")),
                })
                .collect()
        };
        Builder {
            name: get("name"),
            active: !get("active").is_empty(),
            position: get("position"),
            performed_by: get("performed_by"),
            events: indexes("ev", "kind")
                .into_iter()
                .map(|k| EventRow {
                    kind: get(&format!("{k}_kind")),
                    field: get(&format!("{k}_field")),
                    from: get(&format!("{k}_from")),
                    to: get(&format!("{k}_to")),
                })
                .collect(),
            all: conds("all"),
            any: conds("any"),
            actions: indexes("act", "field")
                .into_iter()
                .map(|k| ActRow {
                    field: get(&format!("{k}_field")),
                    value: get(&format!("{k}_value")),
                    address: get(&format!("{k}_address")),
                    message: get(&format!("{k}_message")),
                })
                .collect(),
        }
    }

    /// Carries out an "Add …" or "Remove" button; false for any other.
    fn apply(&mut self, op: &str) -> bool {
        let remove = |list: &str| -> Option<usize> {
            op.strip_prefix("remove_")?
                .strip_prefix(list)?
                .strip_prefix('_')?
                .parse()
                .ok()
        };
        match op {
            "add_event" => self.events.push(EventRow {
                kind: "comment_public".into(),
                ..EventRow::default()
            }),
            "add_all" => self.all.push(CondRow {
                field: "status".into(),
                op: "is".into(),
                ..CondRow::default()
            }),
            "add_any" => self.any.push(CondRow {
                field: "status".into(),
                op: "is".into(),
                ..CondRow::default()
            }),
            "add_action" => self.actions.push(ActRow {
                field: "status".into(),
                ..ActRow::default()
            }),
            "refresh" => {}
            _ => {
                if let Some(i) = remove("ev").filter(|i| *i < self.events.len()) {
                    self.events.remove(i);
                } else if let Some(i) = remove("all").filter(|i| *i < self.all.len()) {
                    self.all.remove(i);
                } else if let Some(i) = remove("any").filter(|i| *i < self.any.len()) {
                    self.any.remove(i);
                } else if let Some(i) = remove("act").filter(|i| *i < self.actions.len()) {
                    self.actions.remove(i);
                } else {
                    return false;
                }
            }
        }
        true
    }

    /// The rule the form describes, with what the form itself finds wrong (by path). With
    /// problems, the values that could not be read are kept as text for the JSON view.
    fn draft(&self, names: &Names) -> (Draft, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut value = |path: String, field: &str, raw: &str| -> Value {
            match names.value_json(field, raw) {
                Ok(v) => v,
                Err(m) => {
                    problems.push(Problem { path, message: m });
                    Value::String(raw.to_owned())
                }
            }
        };
        let mut events = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            events.push(match e.kind.as_str() {
                "ticket_created" => EventSpec::TicketCreated,
                "comment_private" => EventSpec::CommentAdded {
                    public: Some(false),
                },
                "comment_any" => EventSpec::CommentAdded { public: None },
                "assignment_changed" => EventSpec::AssignmentChanged,
                "internal_assignment_changed" => EventSpec::InternalAssignmentChanged,
                "field_changed" => {
                    let field = if e.field.is_empty() {
                        "status".to_owned()
                    } else {
                        e.field.clone()
                    };
                    let has_choices = names.choices(&field).is_some();
                    let mut side = |raw: &str, which: &str| -> Option<Value> {
                        (has_choices && !raw.is_empty())
                            .then(|| value(format!("events[{i}].{which}"), &field, raw))
                    };
                    let from = side(&e.from, "from");
                    let to = side(&e.to, "to");
                    EventSpec::FieldChanged { field, from, to }
                }
                _ => EventSpec::CommentAdded { public: Some(true) },
            });
        }
        let mut conds = |rows: &[CondRow], list: &str| -> Vec<Condition> {
            rows.iter()
                .enumerate()
                .map(|(i, c)| {
                    let op = match operators_for(&c.field) {
                        Some(ops) if !ops.contains(&c.op.as_str()) => ops[0].to_owned(),
                        _ => c.op.clone(),
                    };
                    Condition {
                        field: c.field.clone(),
                        operator: op,
                        value: value(format!("conditions.{list}[{i}].value"), &c.field, &c.value),
                    }
                })
                .collect()
        };
        let all = conds(&self.all, "all");
        let any = conds(&self.any, "any");
        let actions = self
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| Action {
                field: a.field.clone(),
                value: match a.field.as_str() {
                    "notify" => {
                        let to = value(format!("actions[{i}].value.to"), "notify", &a.value);
                        let mut m = serde_json::Map::new();
                        m.insert("to".into(), to);
                        if a.value == "address" {
                            m.insert("address".into(), json!(a.address.trim()));
                        }
                        if !a.message.trim().is_empty() {
                            m.insert("message".into(), json!(a.message.trim()));
                        }
                        Value::Object(m)
                    }
                    f => value(format!("actions[{i}].value"), f, &a.value),
                },
            })
            .collect();
        let position = match self.position.trim() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(Problem {
                        path: "position".into(),
                        message: "give a whole number".into(),
                    });
                    None
                }
            },
        };
        let draft = Draft {
            name: Some(self.name.trim().to_owned()),
            active: Some(self.active),
            position,
            events: Some(events),
            performed_by: Some(performer_of(&self.performed_by).unwrap_or_default()),
            conditions: Some(Conditions { all, any }),
            actions: Some(actions),
        };
        (draft, problems)
    }
}

// ------------------------------------------------------------------ the builder as shown

/// One input of a builder row.
struct Control {
    /// Its name and id.
    name: String,
    label: String,
    /// A drop-down (with `options`) or a text box (with `text`).
    select: bool,
    options: Vec<Opt>,
    text: String,
    /// The problem of its row is about it.
    invalid: bool,
    /// Wider than the others (notes, messages).
    wide: bool,
}

impl Control {
    fn select(name: String, label: &str, options: Vec<Opt>) -> Control {
        Control {
            name,
            label: label.to_owned(),
            select: true,
            options,
            text: String::new(),
            invalid: false,
            wide: false,
        }
    }

    fn text(name: String, label: &str, text: &str) -> Control {
        Control {
            name,
            label: label.to_owned(),
            select: false,
            options: Vec::new(),
            text: text.to_owned(),
            invalid: false,
            wide: false,
        }
    }
}

/// A row of the builder: an event, a condition or an action.
struct RowView {
    /// `ev0`, `all1`, `act2`: the prefix of its inputs.
    key: String,
    legend: String,
    controls: Vec<Control>,
    /// Its problem, in words.
    error: Option<String>,
    /// Whether its choices depend on its first drop-down ("Show choices").
    depends: bool,
    /// The value of its "Remove" button.
    remove: String,
}

/// A part of the builder: "When", "If all of", "And any of", "Then".
struct Section {
    id: &'static str,
    heading: &'static str,
    hint: &'static str,
    rows: Vec<RowView>,
    add_op: &'static str,
    add_label: &'static str,
    /// Shown when there are no rows.
    empty: &'static str,
    /// A problem of the whole list ("a rule does at least one thing").
    error: Option<String>,
}

struct BuilderView {
    name: String,
    active: bool,
    position: String,
    performers: Vec<Opt>,
    /// Events, all-of conditions, any-of conditions, actions.
    sections: Vec<Section>,
    /// Problems of the fields outside the rows.
    name_error: Option<String>,
    position_error: Option<String>,
    /// Problems that belong to no input.
    other_errors: Vec<String>,
}

/// A drop-down's options for `field`'s value: a "choose" placeholder when nothing (valid) is
/// chosen, and an "any" first when `any` is given.
fn value_options(names: &Names, field: &str, selected: &str, any: Option<&str>) -> Vec<Opt> {
    let choices = names.choices(field).unwrap_or_default();
    let mut out = Vec::new();
    match any {
        Some(label) => out.push(Opt::new("", label, selected.is_empty())),
        None => {
            if !choices.iter().any(|(k, _)| k == selected) {
                out.push(Opt::new("", "— choose —", true));
            }
        }
    }
    out.extend(
        choices
            .into_iter()
            .map(|(k, l)| Opt::new(&k, l, k == selected)),
    );
    out
}

fn field_options(names: &Names, fields: &[&str], custom: bool, selected: &str) -> Vec<Opt> {
    let mut out: Vec<Opt> = fields
        .iter()
        .map(|f| Opt::new(f, names.field_label(f), *f == selected))
        .collect();
    if custom {
        // Inactive fields are offered only to a rule that already uses them.
        out.extend(names.fields.iter().filter_map(|d| {
            let key = format!("custom_field:{}", d.key);
            let sel = key == selected;
            (d.active || sel).then(|| Opt::new(&key, d.title.clone(), sel))
        }));
    }
    out
}

impl BuilderView {
    fn new(names: &Names, b: &Builder, problems: &[Problem]) -> BuilderView {
        let mut used = vec![false; problems.len()];
        // The problem whose path starts with `prefix`, and the part it is about.
        let mut take = |prefix: &str| -> Option<(String, String)> {
            let mut found: Option<(String, String)> = None;
            for (i, p) in problems.iter().enumerate() {
                let rest = if p.path == prefix {
                    Some("")
                } else {
                    p.path
                        .strip_prefix(prefix)
                        .and_then(|r| r.strip_prefix('.'))
                };
                if let Some(rest) = rest {
                    used[i] = true;
                    let part = rest.to_owned();
                    found = Some(match found {
                        None => (part, p.message.clone()),
                        Some((fp, fm)) => (fp, format!("{fm}; {}", p.message)),
                    });
                }
            }
            found
        };
        let events = b
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let key = format!("ev{i}");
                let mut controls = vec![Control::select(
                    format!("{key}_kind"),
                    "Event",
                    EVENT_KINDS
                        .iter()
                        .map(|(k, l)| Opt::new(k, *l, *k == e.kind))
                        .collect(),
                )];
                if e.kind == "field_changed" {
                    let field = if e.field.is_empty() {
                        "status"
                    } else {
                        &e.field
                    };
                    controls.push(Control::select(
                        format!("{key}_field"),
                        "Field",
                        field_options(names, &event_fields(), false, field),
                    ));
                    if names.choices(field).is_some() {
                        controls.push(Control::select(
                            format!("{key}_from"),
                            "From",
                            value_options(names, field, &e.from, Some("any value")),
                        ));
                        controls.push(Control::select(
                            format!("{key}_to"),
                            "To",
                            value_options(names, field, &e.to, Some("any value")),
                        ));
                    }
                }
                let error = take(&format!("events[{i}]"));
                mark(&mut controls, &key, error.as_ref());
                RowView {
                    remove: format!("remove_ev_{i}"),
                    key,
                    legend: format!("Event {}", i + 1),
                    controls,
                    error: error.map(|(_, m)| m),
                    depends: true,
                }
            })
            .collect();
        let mut cond_rows = |rows: &[CondRow], list: &str, which: &str| -> Vec<RowView> {
            rows.iter()
                .enumerate()
                .map(|(i, c)| {
                    let key = format!("{list}{i}");
                    let field = if c.field.is_empty() {
                        "status"
                    } else {
                        &c.field
                    };
                    let ops = operators_for(field).unwrap_or(&["is"]);
                    let op = if ops.contains(&c.op.as_str()) {
                        c.op.as_str()
                    } else {
                        ops[0]
                    };
                    let mut controls = vec![
                        Control::select(
                            format!("{key}_field"),
                            "Field",
                            field_options(names, CONDITION_FIELDS, true, field),
                        ),
                        Control::select(
                            format!("{key}_op"),
                            "Operator",
                            ops.iter()
                                .map(|o| Opt::new(o, operator_words(o), *o == op))
                                .collect(),
                        ),
                    ];
                    controls.push(if names.choices(field).is_some() {
                        Control::select(
                            format!("{key}_value"),
                            "Value",
                            value_options(names, field, &c.value, None),
                        )
                    } else {
                        Control::text(format!("{key}_value"), "Value", &c.value)
                    });
                    let error = take(&format!("conditions.{list}[{i}]"));
                    mark(&mut controls, &key, error.as_ref());
                    RowView {
                        remove: format!("remove_{list}_{i}"),
                        key,
                        legend: format!("Condition {} ({which})", i + 1),
                        controls,
                        error: error.map(|(_, m)| m),
                        depends: true,
                    }
                })
                .collect()
        };
        let all = cond_rows(&b.all, "all", "all of");
        let any = cond_rows(&b.any, "any", "any of");
        let actions = b
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let key = format!("act{i}");
                let field = if a.field.is_empty() {
                    "status"
                } else {
                    &a.field
                };
                let mut controls = vec![Control::select(
                    format!("{key}_field"),
                    "Action",
                    field_options(names, ACTION_FIELDS, true, field)
                        .into_iter()
                        .map(|mut o| {
                            if !matches!(
                                o.value.as_str(),
                                "add_tags" | "remove_tags" | "add_note" | "notify"
                            ) {
                                o.label = format!("Set {}", o.label.to_lowercase());
                            }
                            o
                        })
                        .collect(),
                )];
                match field {
                    "notify" => {
                        controls.push(Control::select(
                            format!("{key}_value"),
                            "To",
                            value_options(names, "notify", &a.value, None),
                        ));
                        if a.value == "address" {
                            controls.push(Control::text(
                                format!("{key}_address"),
                                "Email address",
                                &a.address,
                            ));
                        }
                        let mut m = Control::text(
                            format!("{key}_message"),
                            "Message (optional)",
                            &a.message,
                        );
                        m.wide = true;
                        controls.push(m);
                    }
                    "add_note" => {
                        let mut c = Control::text(format!("{key}_value"), "Note", &a.value);
                        c.wide = true;
                        controls.push(c);
                    }
                    "add_tags" | "remove_tags" => controls.push(Control::text(
                        format!("{key}_value"),
                        "Tags (separated by spaces)",
                        &a.value,
                    )),
                    f if names.choices(f).is_some() => controls.push(Control::select(
                        format!("{key}_value"),
                        "To",
                        value_options(names, f, &a.value, None),
                    )),
                    _ => controls.push(Control::text(format!("{key}_value"), "To", &a.value)),
                }
                let error = take(&format!("actions[{i}]"));
                mark(&mut controls, &key, error.as_ref());
                RowView {
                    remove: format!("remove_act_{i}"),
                    key,
                    legend: format!("Action {}", i + 1),
                    controls,
                    error: error.map(|(_, m)| m),
                    depends: true,
                }
            })
            .collect();
        let name_error = take("name").map(|(_, m)| m);
        let position_error = take("position").map(|(_, m)| m);
        let events_error = take("events").map(|(_, m)| m);
        let actions_error = take("actions").map(|(_, m)| m);
        let other_errors = problems
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(p, _)| p.line())
            .collect();
        let sections = vec![
            Section {
                id: "rb-events",
                heading: "When",
                hint: "The rule runs when one of these happens to a ticket.",
                rows: events,
                add_op: "add_event",
                add_label: "Add an event",
                empty: "No event yet: add one.",
                error: events_error,
            },
            Section {
                id: "rb-all",
                heading: "If all of these hold",
                hint: "Every one of these must be true of the ticket. None: every ticket.",
                rows: all,
                add_op: "add_all",
                add_label: "Add a condition",
                empty: "No condition.",
                error: None,
            },
            Section {
                id: "rb-any",
                heading: "And any of these",
                hint: "At least one of these must be true too. None: no such demand.",
                rows: any,
                add_op: "add_any",
                add_label: "Add a condition",
                empty: "No condition.",
                error: None,
            },
            Section {
                id: "rb-actions",
                heading: "Then",
                hint: "What the rule does, through the same checks as an agent's change.",
                rows: actions,
                add_op: "add_action",
                add_label: "Add an action",
                empty: "No action yet: add one.",
                error: actions_error,
            },
        ];
        BuilderView {
            name: b.name.clone(),
            active: b.active,
            position: b.position.clone(),
            performers: performer_options(&b.performed_by),
            sections,
            name_error,
            position_error,
            other_errors,
        }
    }
}

/// Marks the input a row's problem is about (`value`, `operator`, …; the row's value input
/// when the problem names no part).
fn mark(controls: &mut [Control], key: &str, error: Option<&(String, String)>) {
    let Some((part, _)) = error else { return };
    let suffix = match part.as_str() {
        "operator" => "op",
        "field" | "type" => "field",
        "from" => "from",
        "to" => "to",
        "value.address" => "address",
        "value.to" => "value",
        _ => "value",
    };
    let wanted = format!("{key}_{suffix}");
    let mut hit = false;
    for c in controls.iter_mut() {
        if c.name == wanted {
            c.invalid = true;
            hit = true;
        }
    }
    if !hit && let Some(c) = controls.last_mut() {
        c.invalid = true;
    }
}

// ------------------------------------------------------------------ pages

struct RuleRow {
    id: i64,
    name: String,
    active: bool,
    summary: String,
}

/// The outcome of a simulation, as lines for people.
struct SimRun {
    rule: String,
    lines: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SimulateForm {
    ticket_id: String,
    /// A choice of `sim_events` (`comment_public`, `status_to:Pending`, …).
    event_kind: String,
    /// The event as JSON (the API's form; kept for scripts that post it).
    event: String,
    performed_by: String,
}

#[derive(Template)]
#[template(path = "admin_rules.html")]
struct RulesPage {
    layout: Layout,
    tab: &'static str,
    rows: Vec<RuleRow>,
    sim: SimulateForm,
    sim_events: Vec<Opt>,
    sim_problems: Vec<String>,
    sim_runs: Option<Vec<SimRun>>,
    performers: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "admin_rule.html")]
struct RulePage {
    layout: Layout,
    tab: &'static str,
    /// None for a new rule.
    id: Option<i64>,
    /// The saved name (the heading).
    title: String,
    /// Where the forms post.
    action: String,
    /// The rule in words, when it is saved.
    summary: Option<String>,
    /// The builder, or the JSON view when None.
    builder: Option<BuilderView>,
    json: String,
    problems: Vec<String>,
    warnings: Vec<String>,
    /// What was shown was checked (and not saved): `warnings` are its warnings.
    checked: bool,
    /// Why the JSON view is shown instead of the builder.
    cannot_build: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_rule_delete.html")]
struct DeletePage {
    layout: Layout,
    tab: &'static str,
    id: i64,
    name: String,
    summary: String,
}

fn sim_event_options(names: &Names, selected: &str) -> Vec<Opt> {
    let mut out: Vec<Opt> = EVENT_KINDS
        .iter()
        .filter(|(k, _)| *k != "field_changed" && *k != "comment_any")
        .map(|(k, l)| Opt::new(k, *l, *k == selected))
        .collect();
    for s in &names.dir.statuses {
        let k = format!("status_to:{}", s.name);
        let sel = k == selected;
        out.push(Opt::new(&k, format!("Status changes to {}", s.name), sel));
    }
    out
}

async fn rules_page(app: &App, s: &Session, names: &Names) -> Result<RulesPage, UiError> {
    let rows = app
        .list_rules(&s.p)
        .await?
        .into_iter()
        .map(|r| RuleRow {
            id: r.id,
            summary: names.summary(&r.events, r.performed_by, &r.conditions, &r.actions),
            name: r.name,
            active: r.active,
        })
        .collect();
    Ok(RulesPage {
        layout: s.layout("Rules", "admin"),
        tab: "rules",
        rows,
        sim: SimulateForm {
            event_kind: "comment_public".into(),
            performed_by: "end_user".into(),
            ..SimulateForm::default()
        },
        sim_events: sim_event_options(names, "comment_public"),
        sim_problems: Vec::new(),
        sim_runs: None,
        performers: performer_options("end_user"),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    done: String,
}

async fn rules(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let names = Names::load(&app, &s).await?;
    let mut page = rules_page(&app, &s, &names).await?;
    if q.done == "deleted" {
        page.layout.notice = Some("Rule deleted.".into());
    }
    Ok(html(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ViewQuery {
    view: String,
}

/// The page of a rule (`id`) or a new rule, in the builder or as JSON.
fn rule_page(
    s: &Session,
    names: &Names,
    id: Option<i64>,
    saved: Option<&RuleOut>,
    title: &str,
) -> RulePage {
    let mut layout = s.layout(
        match id {
            Some(_) => format!("Rule {title}"),
            None => "New rule".to_owned(),
        },
        "admin",
    );
    layout.notice = None;
    RulePage {
        layout,
        tab: "rules",
        id,
        title: title.to_owned(),
        action: id.map_or_else(|| "/admin/rules".into(), |id| format!("/admin/rules/{id}")),
        summary: saved.map(|r| names.summary(&r.events, r.performed_by, &r.conditions, &r.actions)),
        builder: None,
        json: String::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        checked: false,
        cannot_build: Vec::new(),
    }
}

/// Shows `draft` in the builder when it can, else as JSON with the reasons.
fn show_draft(page: &mut RulePage, names: &Names, draft: &Draft, json_view: bool) {
    page.json = draft.json();
    if json_view {
        return;
    }
    match Builder::of(names, draft) {
        Ok(b) => page.builder = Some(BuilderView::new(names, &b, &[])),
        Err(reasons) => page.cannot_build = reasons,
    }
}

async fn new_rule(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ViewQuery>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let names = Names::load(&app, &s).await?;
    let mut page = rule_page(&s, &names, None, None, "");
    let b = Builder::fresh();
    if q.view == "json" {
        page.json = b.draft(&names).0.json();
    } else {
        page.builder = Some(BuilderView::new(&names, &b, &[]));
        page.json = b.draft(&names).0.json();
    }
    Ok(html(&page))
}

async fn edit_rule(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let names = Names::load(&app, &s).await?;
    let r = app.get_rule(&s.p, id).await?;
    let mut page = rule_page(&s, &names, Some(id), Some(&r), &r.name);
    show_draft(&mut page, &names, &Draft::from(&r), q.view == "json");
    page.warnings = r.warnings.iter().map(|w| w.message.clone()).collect();
    Ok(html(&page))
}

/// What a submit of the builder or the JSON view asks for.
struct Submit {
    /// `check`, `confirm`, or anything else: save unless there are warnings.
    intent: String,
    /// An "Add …", "Remove", "Show choices" or view-switching button.
    op: String,
}

/// What checking or saving a rule led to.
enum Outcome {
    Invalid(Vec<Problem>),
    /// Valid; not saved: a check, or a save that stopped at these warnings.
    Held(Vec<String>),
    Saved(Box<RuleOut>),
}

/// Checks and, unless asked only to check or stopped by warnings, saves a rule: the same use
/// cases and the same behaviour for the builder and the JSON view.
async fn submit(
    app: &App,
    s: &Session,
    id: Option<i64>,
    draft: &Draft,
    intent: &str,
) -> Result<Outcome, UiError> {
    let warnings = match app.check_rule(&s.p, draft.input()).await {
        Ok(w) => w.into_iter().map(|w| w.message).collect::<Vec<_>>(),
        Err(e) => return Ok(Outcome::Invalid(app_problems(e)?)),
    };
    if intent == "check" || (intent != "confirm" && !warnings.is_empty()) {
        return Ok(Outcome::Held(warnings));
    }
    match app.save_rule(&s.p, id, draft.input()).await {
        Ok(r) => Ok(Outcome::Saved(Box::new(r))),
        Err(e) => Ok(Outcome::Invalid(app_problems(e)?)),
    }
}

/// Handles a post of the rule form (builder or JSON) for a new rule (`id` None) or a rule.
async fn post_rule(
    app: &App,
    s: &Session,
    id: Option<i64>,
    pairs: Vec<(String, String)>,
) -> Result<Response, UiError> {
    let names = Names::load(app, s).await?;
    let current = match id {
        Some(id) => Some(app.get_rule(&s.p, id).await?),
        None => None,
    };
    let title = current.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let mut page = rule_page(s, &names, id, current.as_ref(), &title);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let sub = Submit {
        intent: get("intent"),
        op: get("op"),
    };
    let json_view = pairs.iter().any(|(k, _)| k == "rule");
    // The rule as sent, or what is wrong with the form itself.
    let (draft, form_problems, builder) = if json_view {
        let text = get("rule");
        match parse_rule(&text) {
            Ok(r) => (Draft::from(r), Vec::new(), None),
            Err(m) => {
                page.json = text;
                page.problems = vec![m];
                return Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
            }
        }
    } else {
        let mut b = Builder::from_form(&pairs);
        if !sub.op.is_empty() && sub.op != "to_json" {
            b.apply(&sub.op);
            page.json = b.draft(&names).0.json();
            page.builder = Some(BuilderView::new(&names, &b, &[]));
            return Ok(html(&page));
        }
        let (d, p) = b.draft(&names);
        (d, p, Some(b))
    };
    // Switching views keeps the rule as it is in the form.
    match sub.op.as_str() {
        "to_json" => {
            page.json = draft.json();
            return Ok(html(&page));
        }
        "to_builder" => {
            show_draft(&mut page, &names, &draft, false);
            if !page.cannot_build.is_empty() {
                page.json = get("rule");
            }
            return Ok(html(&page));
        }
        _ => {}
    }
    let shown = |page: &mut RulePage, problems: &[Problem]| {
        match &builder {
            Some(b) => {
                page.json = draft.json();
                page.builder = Some(BuilderView::new(&names, b, problems));
            }
            None => {
                page.json = get("rule");
                page.problems = problems.iter().map(Problem::line).collect();
            }
        };
    };
    if !form_problems.is_empty() {
        shown(&mut page, &form_problems);
        return Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    match submit(app, s, id, &draft, &sub.intent).await? {
        Outcome::Invalid(problems) => {
            shown(&mut page, &problems);
            Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Outcome::Held(warnings) => {
            shown(&mut page, &[]);
            page.warnings = warnings;
            page.checked = true;
            Ok(html(&page))
        }
        Outcome::Saved(r) => {
            let mut page = rule_page(s, &names, Some(r.id), Some(&r), &r.name);
            page.layout.notice = Some(if id.is_some() {
                "Rule saved.".into()
            } else {
                "Rule created.".into()
            });
            show_draft(&mut page, &names, &Draft::from(r.as_ref()), false);
            page.warnings = r.warnings.iter().map(|w| w.message.clone()).collect();
            Ok(html(&page))
        }
    }
}

async fn create_rule(
    State(app): State<App>,
    Post { s, form }: Post<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    post_rule(&app, &s, None, form).await
}

async fn save_rule(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    post_rule(&app, &s, Some(id), form).await
}

async fn confirm_delete(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let names = Names::load(&app, &s).await?;
    let r = app.get_rule(&s.p, id).await?;
    Ok(html(&DeletePage {
        layout: s.layout(format!("Delete the rule {}", r.name), "admin"),
        tab: "rules",
        id,
        summary: names.summary(&r.events, r.performed_by, &r.conditions, &r.actions),
        name: r.name,
    }))
}

async fn delete_rule(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: _ }: Post<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.delete_rule(&s.p, id).await?;
    Ok(Redirect::to("/admin/rules?done=deleted").into_response())
}

// ------------------------------------------------------------------ simulation

/// A simulated change in words: "Status: Customer Responded → Open".
fn change_lines(names: &Names, field: &str, from: &Value, to: &Value) -> Vec<String> {
    if field == "custom_fields" {
        let empty = serde_json::Map::new();
        let a = from.as_object().unwrap_or(&empty);
        let b = to.as_object().unwrap_or(&empty);
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        return keys
            .into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| {
                let f = format!("custom_field:{k}");
                format!(
                    "{}: {} → {}",
                    names.field_label(&f),
                    names.value_label(&f, a.get(k).unwrap_or(&Value::Null)),
                    names.value_label(&f, b.get(k).unwrap_or(&Value::Null))
                )
            })
            .collect();
    }
    vec![format!(
        "{}: {} → {}",
        names.field_label(field),
        names.value_label(field, from),
        names.value_label(field, to)
    )]
}

/// The event of the simulate form.
fn sim_event(form: &SimulateForm) -> Result<EventSpec, String> {
    if !form.event.trim().is_empty() {
        let mut de = serde_json::Deserializer::from_str(&form.event);
        return serde_path_to_error::deserialize(&mut de)
            .map_err(|e| parser_words(&e.path().to_string(), e.inner()));
    }
    Ok(match form.event_kind.as_str() {
        "comment_public" => EventSpec::CommentAdded { public: Some(true) },
        "comment_private" => EventSpec::CommentAdded {
            public: Some(false),
        },
        "ticket_created" => EventSpec::TicketCreated,
        "assignment_changed" => EventSpec::AssignmentChanged,
        "internal_assignment_changed" => EventSpec::InternalAssignmentChanged,
        k => match k.strip_prefix("status_to:") {
            Some(status) => EventSpec::FieldChanged {
                field: "status".into(),
                from: None,
                to: Some(Value::String(status.to_owned())),
            },
            None => return Err("choose one of the listed events".into()),
        },
    })
}

async fn simulate(
    State(app): State<App>,
    Post { s, form }: Post<SimulateForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let names = Names::load(&app, &s).await?;
    let mut problems = Vec::new();
    let ticket_id = form
        .ticket_id
        .trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok();
    if ticket_id.is_none() {
        problems.push("Ticket: enter a ticket number".to_owned());
    }
    let event = sim_event(&form)
        .map_err(|e| problems.push(format!("Event: {e}")))
        .ok();
    let performed_by = match performer_of(&form.performed_by) {
        Some(p) => Some(p),
        None => {
            problems.push("Performed by: choose one of the listed people".to_owned());
            None
        }
    };
    let mut runs = None;
    if let (Some(ticket_id), Some(event)) = (ticket_id, event) {
        let input = SimulateIn {
            ticket_id,
            event,
            performed_by,
        };
        match app.simulate_rules(&s.p, input).await {
            Ok(out) => {
                let rule_names: BTreeMap<i64, String> = app
                    .list_rules(&s.p)
                    .await?
                    .into_iter()
                    .map(|r| (r.id, r.name))
                    .collect();
                let mut list: Vec<SimRun> = out
                    .runs
                    .into_iter()
                    .map(|r| {
                        let mut lines: Vec<String> = r
                            .changes
                            .iter()
                            .flat_map(|c| change_lines(&names, &c.field, &c.from, &c.to))
                            .collect();
                        lines.extend(r.notes.iter().map(|n| format!("Adds a private note: {n}")));
                        lines.extend(
                            r.notifications
                                .iter()
                                .map(|n| format!("Notifies {}", names.value_label("notify", n))),
                        );
                        if let Some(e) = r.error {
                            // "field: message; …" with the ticket's field names.
                            let said: Vec<String> = e
                                .split("; ")
                                .map(|part| match part.split_once(": ") {
                                    Some((f, m)) => format!("{}: {m}", names.field_label(f)),
                                    None => part.to_owned(),
                                })
                                .collect();
                            lines.push(format!(
                                "Refused, nothing of it applied: {}",
                                said.join("; ")
                            ));
                        }
                        if lines.is_empty() {
                            lines.push("Changes nothing.".into());
                        }
                        SimRun {
                            rule: if r.pass > 1 {
                                format!("{} (reacting to the rules before it)", r.rule_name)
                            } else {
                                r.rule_name
                            },
                            lines,
                        }
                    })
                    .collect();
                if !out.stopped.is_empty() {
                    let stopped: Vec<String> = out
                        .stopped
                        .iter()
                        .map(|id| {
                            rule_names
                                .get(id)
                                .cloned()
                                .unwrap_or_else(|| format!("rule {id}"))
                        })
                        .collect();
                    list.push(SimRun {
                        rule: "Loop stopped".into(),
                        lines: vec![format!(
                            "These rules would have fired again and were stopped: {}",
                            stopped.join(", ")
                        )],
                    });
                }
                runs = Some(list);
            }
            Err(AppError::NotFound(_)) => problems.push("Ticket: there is no such ticket".into()),
            Err(e) => problems.extend(app_problems(e)?.iter().map(Problem::line)),
        }
    }
    let mut page = rules_page(&app, &s, &names).await?;
    page.performers = performer_options(&form.performed_by);
    page.sim_events = sim_event_options(&names, &form.event_kind);
    page.sim = form;
    let failed = !problems.is_empty();
    page.sim_problems = problems;
    page.sim_runs = runs;
    Ok(if failed {
        html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        html(&page)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_are_said_as_place_and_problem() {
        let e = parse_rule(r#"{"name": "x", "events": [{"type": "nope"}], "actions": []}"#)
            .unwrap_err();
        assert!(e.starts_with("Event 1"), "{e}");
        assert!(e.contains("“nope” is not one of the choices"), "{e}");
        assert!(e.contains("comment_added (a comment is added)"), "{e}");
        let e = parse_rule(r#"{"name": "x", "performed_by": "robot"}"#).unwrap_err();
        assert!(e.starts_with("Performed by: “robot”"), "{e}");
        let e = parse_rule(r#"{"name": "x", "active": "yes"}"#).unwrap_err();
        assert_eq!(e, "Active: this takes true or false, not the text \"yes\".");
        let e = parse_rule(r#"{"name": "x", "colour": 1}"#).unwrap_err();
        assert!(
            e.starts_with("The rule: “colour” is not part of a rule here"),
            "{e}"
        );
        let e = parse_rule("{ nope").unwrap_err();
        assert!(e.starts_with("The JSON could not be read at line 1"), "{e}");
        let e = parse_rule(
            r#"{"conditions": {"all": [{"field": "status", "operator": "is", "value": 1, "x": 2}]}}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("Condition 1 of “all of”"), "{e}");
    }

    #[test]
    fn paths_are_said_in_words() {
        assert_eq!(
            path_words("conditions.any[1].value"),
            "Condition 2 of “any of”, value"
        );
        assert_eq!(path_words("actions[0].value.address"), "Action 1, address");
        assert_eq!(path_words("events[2].from"), "Event 3, from");
        assert_eq!(path_words("name"), "Name");
    }
}
