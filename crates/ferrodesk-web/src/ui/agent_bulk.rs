//! Bulk actions on the ticket list: the agent ticks tickets (or "Select all on this page")
//! and sets status, priority, group, assignee, internal group or agent, or adds and removes
//! tags, for all of them at once. Each ticket goes through `App::bulk_update_tickets` (the
//! one write path: policy, invariants, rules, audit, on its own), and the list comes back
//! with what was changed and, for each ticket refused, why — in words.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use ferrodesk_app::dto::{BulkTicketsIn, TicketPatch};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{Priority, TicketId};

use super::agent::{ListParams, list_after_bulk, staff_only};
use super::agent_ticket::{field_label, priority_options};
use super::view::{Directory, Opt};
use super::{Errors, Post, UiError};

pub(super) fn routes() -> Router<App> {
    Router::new().route("/agent/tickets/bulk", post(apply))
}

/// The choices of the bulk form: "keep" first (nothing changes), then "none" where the
/// field can be emptied, then the real values.
pub(super) struct BulkChoices {
    pub statuses: Vec<Opt>,
    pub priorities: Vec<Opt>,
    pub groups: Vec<Opt>,
    pub assignees: Vec<Opt>,
    pub internal_groups: Vec<Opt>,
    pub internal_agents: Vec<Opt>,
}

/// Turns a list whose first entry is "none" into keep / none / values.
fn keep_or_clear(mut opts: Vec<Opt>, clear: &str) -> Vec<Opt> {
    if let Some(first) = opts.first_mut() {
        *first = Opt::new("none", clear, false);
    }
    opts.iter_mut().for_each(|o| o.selected = false);
    opts.insert(0, Opt::none("Keep as it is", true));
    opts
}

impl BulkChoices {
    pub(super) fn new(dir: &Directory) -> BulkChoices {
        let mut statuses = vec![Opt::none("Keep as it is", true)];
        statuses.extend(dir.status_options(None));
        let mut priorities = vec![Opt::none("Keep as it is", true)];
        priorities.extend(priority_options(""));
        BulkChoices {
            statuses,
            priorities,
            groups: keep_or_clear(dir.group_options("", None), "No group"),
            assignees: keep_or_clear(dir.staff_options("", None), "Nobody"),
            internal_groups: keep_or_clear(dir.group_options("", None), "No internal group"),
            internal_agents: keep_or_clear(dir.staff_options("", None), "No internal agent"),
        }
    }
}

/// What a bulk action did, for the list page.
pub(super) struct BulkReport {
    /// Tickets changed: number and subject.
    pub changed: Vec<(i64, String)>,
    /// Tickets not changed: number, subject (empty when the agent may not see it) and why.
    pub refused: Vec<(i64, String, String)>,
}

/// Why one ticket was not changed, in words.
fn why(e: AppError) -> String {
    match e {
        AppError::Invalid(list) => list
            .into_iter()
            .map(|fe| format!("{}: {}", field_label(&fe.field), fe.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::NotFound(_) => "no such ticket, or not one you may see".into(),
        AppError::Forbidden { message, .. } | AppError::Conflict { message, .. } => message,
        other => other.to_string(),
    }
}

/// An optional id field of the bulk form: "" keeps, "none" empties, a number sets.
fn choice(errors: &mut Errors, field: &str, v: &str) -> Option<Option<i64>> {
    match v.trim() {
        "" => None,
        "none" => Some(None),
        n => match n.parse() {
            Ok(id) => Some(Some(id)),
            Err(_) => {
                errors.insert(field.into(), "choose one of the list".into());
                None
            }
        },
    }
}

/// Tags typed in a box, separated by spaces or commas.
fn tag_list(v: &str) -> Vec<String> {
    v.split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn apply(
    State(app): State<App>,
    Post { s, form }: Post<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map_or("", |(_, v)| v.as_str())
    };
    let back: ListParams = serde_urlencoded::from_str(get("back")).unwrap_or_default();
    let mut errors = Errors::new();
    let mut ids = Vec::new();
    for (_, v) in form.iter().filter(|(k, _)| k == "ids") {
        match v.parse::<i64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                errors.insert("ids".into(), "a ticket in the list was not a number".into());
            }
        }
    }
    let status_id = choice(&mut errors, "bulk_status", get("status_id")).flatten();
    let priority = match get("priority") {
        "" => None,
        p => match Priority::parse(p) {
            Ok(p) => Some(p),
            Err(_) => {
                errors.insert("bulk_priority".into(), "choose one of the list".into());
                None
            }
        },
    };
    let changes = TicketPatch {
        status_id,
        priority,
        group_id: choice(&mut errors, "bulk_group", get("group_id")),
        assignee_id: choice(&mut errors, "bulk_assignee", get("assignee_id")),
        internal_group_id: choice(&mut errors, "bulk_internal_group", get("internal_group_id")),
        internal_agent_id: choice(&mut errors, "bulk_internal_agent", get("internal_agent_id")),
        ..TicketPatch::default()
    };
    let input = BulkTicketsIn {
        ids,
        changes,
        add_tags: tag_list(get("add_tags")),
        remove_tags: tag_list(get("remove_tags")),
    };
    if !errors.is_empty() {
        return list_after_bulk(&app, &s, back, Err(errors)).await;
    }
    let outcome = match app.bulk_update_tickets(&s.p, input).await {
        Ok(o) => o,
        Err(AppError::Invalid(list)) => {
            for fe in list {
                let field = match fe.field.as_str() {
                    "ids" => "ids",
                    "add_tags" => "bulk_add_tags",
                    "remove_tags" => "bulk_remove_tags",
                    _ => "bulk",
                };
                errors
                    .entry(field.into())
                    .and_modify(|m| {
                        m.push_str("; ");
                        m.push_str(&fe.message);
                    })
                    .or_insert(fe.message);
            }
            return list_after_bulk(&app, &s, back, Err(errors)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let mut report = BulkReport {
        changed: Vec::new(),
        refused: Vec::new(),
    };
    for (id, r) in outcome {
        match r {
            Ok(t) => report.changed.push((id, t.subject)),
            Err(e) => {
                let subject = match &e {
                    AppError::NotFound(_) => String::new(),
                    _ => app
                        .get_ticket(&s.p, TicketId(id))
                        .await
                        .map(|t| t.subject)
                        .unwrap_or_default(),
                };
                report.refused.push((id, subject, why(e)));
            }
        }
    }
    list_after_bulk(&app, &s, back, Ok(report)).await
}
