//! Automation rules (SPEC §5): the shape of a rule and its pure evaluation — does an
//! event match, do the conditions hold. Applying actions is the app's job, through the
//! same validated path as an agent's change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{StatusCategory, TicketId};

/// What a rule reacts to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventSpec {
    /// A ticket was created.
    TicketCreated,
    /// A field changed, optionally from or to a value.
    FieldChanged {
        /// The field (`status`, `priority`, `group`, `assignee`, `internal_group`, …).
        field: String,
        /// Only when it changed from this value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Value>,
        /// Only when it changed to this value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Value>,
    },
    /// A comment was added, optionally only public or only private.
    CommentAdded {
        /// Only public (true) or private (false) comments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public: Option<bool>,
    },
    /// The group or assignee changed.
    AssignmentChanged,
    /// The internal group or internal agent changed.
    InternalAssignmentChanged,
}

/// Who must have made the change for a rule to fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PerformedBy {
    /// Anyone.
    #[default]
    Anyone,
    /// An agent or admin.
    Agent,
    /// An end user.
    EndUser,
    /// Ferrodesk itself: rules, cascades, the command line.
    System,
}

/// One condition: `field operator value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The field.
    pub field: String,
    /// The operator.
    pub operator: String,
    /// The value (`null` means "none").
    #[serde(default)]
    pub value: Value,
}

/// Conditions: all of `all`, and at least one of `any` when `any` is not empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Every one must hold.
    #[serde(default)]
    pub all: Vec<Condition>,
    /// At least one must hold (ignored when empty).
    #[serde(default)]
    pub any: Vec<Condition>,
}

/// One action: set `field` to `value`, or do `field` with `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// `status`, `priority`, `group`, `assignee`, `internal_group`, `internal_agent`,
    /// `add_tags`, `remove_tags`, `add_note`, `notify`, `custom_field:<key>`.
    pub field: String,
    /// The value.
    #[serde(default)]
    pub value: Value,
}

/// A rule's stored definition: when it reacts, to whom, under which conditions, and what it
/// does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// The happenings it reacts to.
    pub events: Vec<EventSpec>,
    /// Whose changes it reacts to.
    #[serde(default)]
    pub performed_by: PerformedBy,
    /// What must hold of the ticket.
    #[serde(default)]
    pub conditions: Conditions,
    /// What it does.
    pub actions: Vec<Action>,
}

/// Something that happened to a ticket in one change.
#[derive(Debug, Clone, PartialEq)]
pub enum Happening {
    /// The ticket was created.
    Created,
    /// A field changed (values as rules name them: status by name, others by id).
    FieldChanged {
        /// Field.
        field: String,
        /// Before.
        from: Value,
        /// After.
        to: Value,
    },
    /// A comment was added.
    CommentAdded {
        /// Public reply or private note.
        public: bool,
    },
}

/// Who made a change, as rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Performer {
    /// Agent or admin.
    Agent,
    /// End user.
    EndUser,
    /// Ferrodesk (rules, cascades, CLI).
    System,
}

impl PerformedBy {
    /// Whether a change by `p` qualifies.
    pub fn admits(self, p: Performer) -> bool {
        matches!(
            (self, p),
            (PerformedBy::Anyone, _)
                | (PerformedBy::Agent, Performer::Agent)
                | (PerformedBy::EndUser, Performer::EndUser)
                | (PerformedBy::System, Performer::System)
        )
    }
}

/// Whether a value in a rule names `status` (by name, case-insensitively, or by id).
fn names_status(v: &Value, id: i64, name: &str) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(name),
        Value::Number(n) => n.as_i64() == Some(id),
        _ => false,
    }
}

fn value_matches(field: &str, rule: &Value, actual: &Value) -> bool {
    match (field, rule, actual) {
        (_, Value::String(r), Value::String(a)) => r.eq_ignore_ascii_case(a),
        _ => rule == actual,
    }
}

impl EventSpec {
    /// Whether `h` is an event of this kind.
    pub fn matches(&self, h: &Happening) -> bool {
        match (self, h) {
            (EventSpec::TicketCreated, Happening::Created) => true,
            (EventSpec::CommentAdded { public }, Happening::CommentAdded { public: p }) => {
                public.is_none_or(|want| want == *p)
            }
            (
                EventSpec::FieldChanged { field, from, to },
                Happening::FieldChanged {
                    field: f,
                    from: a,
                    to: b,
                },
            ) => {
                field == f
                    && from.as_ref().is_none_or(|v| value_matches(f, v, a))
                    && to.as_ref().is_none_or(|v| value_matches(f, v, b))
            }
            (EventSpec::AssignmentChanged, Happening::FieldChanged { field, .. }) => {
                field == "group" || field == "assignee"
            }
            (EventSpec::InternalAssignmentChanged, Happening::FieldChanged { field, .. }) => {
                field == "internal_group" || field == "internal_agent"
            }
            _ => false,
        }
    }
}

/// A ticket as rule conditions see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Ticket.
    pub id: TicketId,
    /// Status id.
    pub status_id: i64,
    /// Status name.
    pub status_name: String,
    /// Status category.
    pub category: Option<StatusCategory>,
    /// Priority word.
    pub priority: String,
    /// Group.
    pub group_id: Option<i64>,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Internal group.
    pub internal_group_id: Option<i64>,
    /// Internal agent.
    pub internal_agent_id: Option<i64>,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Requester.
    pub requester_id: i64,
    /// Tags.
    pub tags: Vec<String>,
    /// Subject.
    pub subject: String,
    /// The first comment.
    pub description: String,
    /// Custom field values by key.
    pub custom_fields: BTreeMap<String, Value>,
}

/// The operators each condition field accepts.
pub fn operators_for(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "status" | "category" | "priority" | "group" | "assignee" | "internal_group"
        | "internal_agent" | "organization" | "requester" => &["is", "is_not"],
        "tags" => &["includes", "not_includes"],
        "subject" | "description" => &["contains", "not_contains"],
        f if f.starts_with("custom_field:") => &["is", "is_not", "contains", "not_contains"],
        _ => return None,
    })
}

fn id_is(v: &Value, actual: Option<i64>) -> bool {
    match v {
        Value::Null => actual.is_none(),
        Value::Number(n) => n.as_i64().is_some() && n.as_i64() == actual,
        _ => false,
    }
}

fn contains(haystack: &str, v: &Value) -> bool {
    v.as_str()
        .is_some_and(|needle| haystack.to_lowercase().contains(&needle.to_lowercase()))
}

impl Condition {
    /// Whether the condition holds for `t` (unknown fields or operators never hold).
    pub fn holds(&self, t: &Snapshot) -> bool {
        let v = &self.value;
        let positive = match self.field.as_str() {
            "status" => names_status(v, t.status_id, &t.status_name),
            "category" => v
                .as_str()
                .is_some_and(|c| t.category.is_some_and(|tc| tc.as_str() == c)),
            "priority" => v.as_str().is_some_and(|p| p == t.priority),
            "group" => id_is(v, t.group_id),
            "assignee" => id_is(v, t.assignee_id),
            "internal_group" => id_is(v, t.internal_group_id),
            "internal_agent" => id_is(v, t.internal_agent_id),
            "organization" => id_is(v, t.organization_id),
            "requester" => id_is(v, Some(t.requester_id)),
            "tags" => v
                .as_str()
                .is_some_and(|tag| t.tags.iter().any(|x| x.eq_ignore_ascii_case(tag))),
            "subject" => contains(&t.subject, v),
            "description" => contains(&t.description, v),
            f => match f.strip_prefix("custom_field:") {
                Some(key) => {
                    let actual = t.custom_fields.get(key).cloned().unwrap_or(Value::Null);
                    match self.operator.as_str() {
                        "contains" | "not_contains" => {
                            actual.as_str().is_some_and(|a| contains(a, v))
                        }
                        _ => value_matches(f, v, &actual),
                    }
                }
                None => return false,
            },
        };
        match self.operator.as_str() {
            "is" | "includes" | "contains" => positive,
            "is_not" | "not_includes" | "not_contains" => !positive,
            _ => false,
        }
    }
}

impl Conditions {
    /// Whether all of `all` and (when not empty) any of `any` hold.
    pub fn hold(&self, t: &Snapshot) -> bool {
        self.all.iter().all(|c| c.holds(t))
            && (self.any.is_empty() || self.any.iter().any(|c| c.holds(t)))
    }

    /// Whether the conditions exclude tickets that have an internal group.
    pub fn exclude_internal_group(&self) -> bool {
        self.all
            .iter()
            .any(|c| c.field == "internal_group" && c.operator == "is" && c.value.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ticket() -> Snapshot {
        Snapshot {
            status_id: 2,
            status_name: "Pending".into(),
            category: Some(StatusCategory::Pending),
            priority: "high".into(),
            internal_group_id: Some(7),
            tags: vec!["vip".into()],
            subject: "Printer on fire".into(),
            ..Snapshot::default()
        }
    }

    fn cond(field: &str, operator: &str, value: Value) -> Condition {
        Condition {
            field: field.into(),
            operator: operator.into(),
            value,
        }
    }

    #[test]
    fn conditions_compare_as_a_support_admin_expects() {
        let t = ticket();
        assert!(cond("status", "is", json!("pending")).holds(&t));
        assert!(cond("status", "is", json!(2)).holds(&t));
        assert!(cond("status", "is_not", json!("Open")).holds(&t));
        assert!(cond("category", "is", json!("pending")).holds(&t));
        assert!(cond("internal_group", "is_not", Value::Null).holds(&t));
        assert!(cond("assignee", "is", Value::Null).holds(&t));
        assert!(cond("tags", "includes", json!("VIP")).holds(&t));
        assert!(cond("subject", "contains", json!("FIRE")).holds(&t));
        assert!(!cond("subject", "not_contains", json!("fire")).holds(&t));
        assert!(!cond("subject", "resembles", json!("fire")).holds(&t));
    }

    #[test]
    fn events_match_on_field_and_values() {
        let h = Happening::FieldChanged {
            field: "status".into(),
            from: json!("Open"),
            to: json!("Pending"),
        };
        let spec = |from: Option<Value>, to: Option<Value>| EventSpec::FieldChanged {
            field: "status".into(),
            from,
            to,
        };
        assert!(spec(None, None).matches(&h));
        assert!(spec(Some(json!("open")), Some(json!("Pending"))).matches(&h));
        assert!(!spec(None, Some(json!("Open"))).matches(&h));
        assert!(
            EventSpec::CommentAdded { public: None }
                .matches(&Happening::CommentAdded { public: false })
        );
        assert!(
            !EventSpec::CommentAdded { public: Some(true) }
                .matches(&Happening::CommentAdded { public: false })
        );
        let internal = Happening::FieldChanged {
            field: "internal_agent".into(),
            from: json!(1),
            to: Value::Null,
        };
        assert!(EventSpec::InternalAssignmentChanged.matches(&internal));
        assert!(!EventSpec::AssignmentChanged.matches(&internal));
    }
}
