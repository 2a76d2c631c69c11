//! The agent's ticket page: conversation, reply and note boxes (with "Send and set status"), properties with shared ownership, and the timeline.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{CommentIn, CommentOut, EventOut, TicketOut, TicketPatch};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{Channel, OrganizationId, Priority, TicketId, UserId};
use ferrodesk_store::scope::TicketFilter;
use serde::Deserialize;

use super::agent::staff_only;
use super::agent_macros::Applied;
use super::people::{self, Found, find_person};
use super::view::{
    Clock, Directory, FileView, Layout, Moment, Opt, OptGroup, file_limits, file_views, when,
};
use super::{
    Errors, MultipartPost, PagePath, Post, Session, UiError, field_errors, html, html_status,
    opt_id,
};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/agent/tickets/{id}", get(show).post(update))
        // A reply or note with its files: `guard::limit_body` caps the body (`takes_files`).
        .route(
            "/agent/tickets/{id}/comments",
            post(comment).layer(DefaultBodyLimit::disable()),
        )
        .route("/agent/internal-owner", get(internal_owner_fragment))
        .route("/agent/assignees", get(assignee_fragment))
}

/// "Agent" under "Assign to": the members of the chosen group (every agent without one).
#[derive(Template)]
#[template(path = "assignee_field.html")]
pub(super) struct AssigneeField {
    options: Vec<Opt>,
    group_name: Option<String>,
    error: Option<String>,
}

pub(super) fn assignee_field(
    dir: &Directory,
    group: Option<i64>,
    selected: Option<i64>,
    errors: &Errors,
) -> Result<String, UiError> {
    let members = group.and_then(|g| dir.groups.iter().find(|x| x.id == g));
    let options = match members {
        None => dir.staff_options("— none —", selected),
        Some(g) => {
            let mut out = vec![Opt::none("— none —", selected.is_none())];
            let mut ids: Vec<i64> = g.agent_ids.clone();
            // The ticket's agent stays listed when not a member, so the page shows them.
            ids.extend(selected.filter(|a| !g.agent_ids.contains(a)));
            let mut named: Vec<(String, i64)> =
                ids.iter().map(|a| (dir.staff_name(Some(*a)), *a)).collect();
            named.sort();
            out.extend(
                named
                    .into_iter()
                    .map(|(n, a)| Opt::new(a, n, Some(a) == selected)),
            );
            out
        }
    };
    AssigneeField {
        options,
        group_name: members.map(|g| g.name.clone()),
        error: errors.get("assignee_id").cloned(),
    }
    .render()
    .map_err(|e| AppError::Internal(e.to_string()).into())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AssigneeParams {
    group_id: String,
    assignee_id: String,
}

/// The "Agent" field for a group (htmx swaps it in when the group changes). The chosen
/// agent stays chosen when a member of the new group.
async fn assignee_fragment(
    State(app): State<App>,
    s: Session,
    Query(q): Query<AssigneeParams>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let dir = Directory::load(&app, &s.p).await?;
    let mut unread = Errors::new();
    let group = opt_id(&mut unread, "group_id", &q.group_id);
    let chosen = opt_id(&mut unread, "assignee_id", &q.assignee_id).filter(|a| {
        group.is_none_or(|g| {
            dir.groups
                .iter()
                .any(|x| x.id == g && x.agent_ids.contains(a))
        })
    });
    let field = assignee_field(&dir, group, chosen, &Errors::new())?;
    Ok(axum::response::Html(field).into_response())
}

// ------------------------------------------------------------------ properties

/// The owner fields of a ticket form, as chosen (or as stored).
#[derive(Debug, Clone, Default)]
pub(super) struct Owners {
    pub(super) status_id: i64,
    pub(super) priority: String,
    pub(super) group_id: Option<i64>,
    pub(super) assignee_id: Option<i64>,
    pub(super) internal_group_id: Option<i64>,
    pub(super) internal_agent_id: Option<i64>,
    /// Tags, normalised (`tag_list`).
    pub(super) tags: Vec<String>,
    /// CC'd people, sorted.
    pub(super) cc_ids: Vec<i64>,
}

impl Owners {
    fn of(t: &TicketOut) -> Owners {
        Owners {
            status_id: t.status_id,
            priority: t.priority.to_string(),
            group_id: t.group_id.flatten(),
            assignee_id: t.assignee_id,
            internal_group_id: t.internal_group_id.flatten(),
            internal_agent_id: t.internal_agent_id.flatten(),
            tags: tag_list(&t.tags.clone().unwrap_or_default().join(" ")),
            cc_ids: id_list(&t.cc_ids),
        }
    }

    /// Whether both have the same value of `p`.
    fn same(&self, other: &Owners, p: Prop) -> bool {
        match p {
            Prop::Status => self.status_id == other.status_id,
            Prop::Priority => self
                .priority
                .trim()
                .eq_ignore_ascii_case(other.priority.trim()),
            Prop::Group => self.group_id == other.group_id,
            Prop::Assignee => self.assignee_id == other.assignee_id,
            Prop::InternalGroup => self.internal_group_id == other.internal_group_id,
            Prop::InternalAgent => self.internal_agent_id == other.internal_agent_id,
            Prop::Tags => self.tags == other.tags,
            Prop::Ccs => self.cc_ids == other.cc_ids,
        }
    }

    /// Takes the value of `p` from `other`.
    fn take(&mut self, other: &Owners, p: Prop) {
        match p {
            Prop::Status => self.status_id = other.status_id,
            Prop::Priority => self.priority.clone_from(&other.priority),
            Prop::Group => self.group_id = other.group_id,
            Prop::Assignee => self.assignee_id = other.assignee_id,
            Prop::InternalGroup => self.internal_group_id = other.internal_group_id,
            Prop::InternalAgent => self.internal_agent_id = other.internal_agent_id,
            Prop::Tags => self.tags.clone_from(&other.tags),
            Prop::Ccs => self.cc_ids.clone_from(&other.cc_ids),
        }
    }

    /// The value of `p`, in words.
    fn words(&self, dir: &Directory, people: &[(i64, String)], p: Prop) -> String {
        let named = match p {
            Prop::Status => dir.status_name(self.status_id),
            Prop::Priority => capitalize(self.priority.trim()),
            Prop::Group => dir.group_name(self.group_id),
            Prop::Assignee => dir.staff_name(self.assignee_id),
            Prop::InternalGroup => dir.group_name(self.internal_group_id),
            Prop::InternalAgent => dir.staff_name(self.internal_agent_id),
            Prop::Tags => self.tags.join(", "),
            Prop::Ccs => person_names(people, &self.cc_ids).join(", "),
        };
        if named.is_empty() {
            "none".into()
        } else {
            named
        }
    }
}

/// Tags as typed (separated by commas or spaces): lower case, sorted, without repeats,
/// as Ferrodesk keeps them.
pub(super) fn tag_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Ids, sorted, without repeats.
fn id_list(ids: &[i64]) -> Vec<i64> {
    let mut out = ids.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// Ids as a form's hidden field carries them (`3,7`); what is not a number is skipped.
fn ids_of(text: &str) -> Vec<i64> {
    id_list(
        &text
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect::<Vec<_>>(),
    )
}

fn joined_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// People's names by id (a deleted person keeps their number).
fn person_names(people: &[(i64, String)], ids: &[i64]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            people
                .iter()
                .find(|(p, _)| p == id)
                .map_or_else(|| format!("#{id}"), |(_, n)| n.clone())
        })
        .collect()
}

/// A list property after a refused update: the list as it is now, with what the agent
/// added and removed applied to it, so neither a colleague's change nor theirs is lost.
fn merge_list<T: Ord + Clone>(base: &[T], mine: &[T], now: &[T]) -> Vec<T> {
    let mut out: Vec<T> = now
        .iter()
        .filter(|x| !base.contains(x) || mine.contains(x))
        .cloned()
        .collect();
    out.extend(mine.iter().filter(|x| !base.contains(x)).cloned());
    out.sort();
    out.dedup();
    out
}

/// What the agent added to and removed from a list, in words ("added x; removed y").
fn list_change_words(added: &[String], removed: &[String]) -> String {
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    parts.join("; ")
}

/// One property of the ticket form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prop {
    Status,
    Priority,
    Group,
    Assignee,
    InternalGroup,
    InternalAgent,
    Tags,
    Ccs,
}

impl Prop {
    /// Every property of the properties form, in its order.
    const EVERY: [Prop; 8] = [
        Prop::Status,
        Prop::Priority,
        Prop::Group,
        Prop::Assignee,
        Prop::InternalGroup,
        Prop::InternalAgent,
        Prop::Tags,
        Prop::Ccs,
    ];

    /// The single-valued properties (all but tags and CCs, which are lists).
    const ALL: &[Prop] = Prop::EVERY.split_at(6).0;

    /// Its name in the timeline's changes.
    fn field(self) -> &'static str {
        match self {
            Prop::Status => "status_id",
            Prop::Priority => "priority",
            Prop::Group => "group_id",
            Prop::Assignee => "assignee_id",
            Prop::InternalGroup => "internal_group_id",
            Prop::InternalAgent => "internal_agent_id",
            Prop::Tags => "tags",
            Prop::Ccs => "cc_ids",
        }
    }

    fn label(self) -> &'static str {
        field_label(self.field())
    }
}

/// "Assign to (internal)": the internal group and agent, whose choices follow the status.
#[derive(Template)]
#[template(path = "internal_owner.html")]
pub(super) struct InternalOwner {
    status_name: String,
    groups: Vec<Opt>,
    agents: Vec<OptGroup>,
    group_error: Option<String>,
    agent_error: Option<String>,
    note: Option<String>,
}

pub(super) fn internal_owner(dir: &Directory, o: &Owners, errors: &Errors) -> InternalOwner {
    let mapped = dir.mapped_groups(o.status_id);
    let status_name = dir.status_name(o.status_id);
    let chosen_is_mapped = o
        .internal_group_id
        .is_none_or(|g| mapped.iter().any(|m| m.id == g));
    let mut groups = vec![Opt::none("— none —", o.internal_group_id.is_none())];
    groups.extend(
        mapped
            .iter()
            .map(|g| Opt::new(g.id, g.name.clone(), Some(g.id) == o.internal_group_id)),
    );
    let mut note = None;
    if !chosen_is_mapped {
        // Keep the stored choice visible so the server's answer can name it.
        let g = o.internal_group_id.unwrap_or_default();
        groups.push(Opt::new(
            g,
            format!("{} (not mapped to {status_name})", dir.group_name(Some(g))),
            true,
        ));
        note = Some(format!(
            "{} is not mapped to {status_name}: choose one of the groups listed, or none.",
            dir.group_name(Some(g))
        ));
    }
    if mapped.is_empty() {
        note.get_or_insert_with(|| {
            format!("No internal group is mapped to {status_name}: choose a status such as Customer Responded to share ownership.")
        });
    }
    let in_group: Vec<&ferrodesk_app::dto::GroupOut> = match o.internal_group_id {
        Some(g) => dir.groups.iter().filter(|x| x.id == g).collect(),
        None => mapped.clone(),
    };
    let mut agents = vec![OptGroup {
        label: String::new(),
        options: vec![Opt::none("— none —", o.internal_agent_id.is_none())],
    }];
    agents.extend(
        dir.members_by_group(
            &in_group,
            o.internal_group_id
                .or_else(|| in_group.first().map(|g| g.id)),
            o.internal_agent_id,
        ),
    );
    InternalOwner {
        status_name,
        groups,
        agents,
        group_error: errors.get("internal_group_id").cloned(),
        agent_error: errors.get("internal_agent_id").cloned(),
        note,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OwnerParams {
    status_id: String,
    internal_group_id: String,
    internal_agent_id: String,
    /// The ticket's stored internal owner (the properties form's hidden originals).
    orig_internal_group_id: String,
    orig_internal_agent_id: String,
}

/// The "Assign to (internal)" fieldset for a status (htmx swaps it in when the status or
/// the internal group changes).
async fn internal_owner_fragment(
    State(app): State<App>,
    s: Session,
    Query(q): Query<OwnerParams>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let dir = Directory::load(&app, &s.p).await?;
    let mut errors = Errors::new();
    let status_id = opt_id(&mut errors, "status_id", &q.status_id).unwrap_or_default();
    let mut o = Owners {
        status_id,
        internal_group_id: opt_id(&mut errors, "internal_group_id", &q.internal_group_id),
        internal_agent_id: opt_id(&mut errors, "internal_agent_id", &q.internal_agent_id),
        ..Default::default()
    };
    // As the server does on save: a group the new status does not map is dropped.
    let not_mapped = |g: i64| !dir.mapped_groups(status_id).iter().any(|m| m.id == g);
    if o.internal_group_id.is_some_and(not_mapped) {
        o.internal_group_id = None;
        o.internal_agent_id = None;
    }
    // The ticket's own internal owner, which the chosen status does not map: the form
    // leaves it to Ferrodesk, which removes it on update and records why (see `update`).
    let stored_group = opt_id(&mut errors, "orig", &q.orig_internal_group_id);
    let removal = match stored_group {
        Some(g) if o.internal_group_id.is_none() && not_mapped(g) => {
            let agent = opt_id(&mut errors, "orig", &q.orig_internal_agent_id);
            let owner = [dir.group_name(Some(g)), dir.staff_name(agent)]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" / ");
            Some(format!(
                "{} is not mapped to {}: when you update, Ferrodesk removes the internal owner ({owner}) and records why on the timeline.",
                dir.group_name(Some(g)),
                dir.status_name(status_id)
            ))
        }
        _ => None,
    };
    if let (Some(g), Some(a)) = (o.internal_group_id, o.internal_agent_id)
        && !dir
            .groups
            .iter()
            .any(|x| x.id == g && x.agent_ids.contains(&a))
    {
        o.internal_agent_id = None;
    }
    let mut fieldset = internal_owner(&dir, &o, &Errors::new());
    if removal.is_some() {
        fieldset.note = removal;
    }
    Ok(html(&fieldset))
}

// ------------------------------------------------------------------ ticket page

struct CommentView {
    id: i64,
    author: String,
    /// The text as safe HTML (`view::comment_html`).
    body_html: String,
    public: bool,
    at: Moment,
    /// How it came in, in words ("by email", "in the portal", …).
    via: &'static str,
    /// The inbound message it came in as (its original can be opened).
    original: Option<i64>,
    files: Vec<FileView>,
}

struct EventView {
    who: String,
    at: Moment,
    what: String,
    changes: Vec<String>,
    reason: Option<String>,
}

#[derive(Template)]
#[template(path = "agent_ticket.html")]
struct TicketPage {
    layout: Layout,
    t: TicketOut,
    requester: String,
    organization: Option<(i64, String)>,
    comments: Vec<CommentView>,
    events: Vec<EventView>,
    statuses: Vec<Opt>,
    priorities: Vec<Opt>,
    groups: Vec<Opt>,
    /// The "Agent" field (`assignee_field`).
    assignee: String,
    internal_owner: String,
    /// The tags in the form, separated by commas.
    tags_text: String,
    /// The ticket's tags and CCs as they are (the form's hidden originals).
    orig_tags: String,
    orig_cc_ids: String,
    /// The CCs listed in the form, each with a "Remove" box.
    ccs: Vec<CcView>,
    cc_shown: String,
    /// "Add CC" as typed, when it was refused.
    add_cc: String,
    errors: Errors,
    /// The properties form was sent and refused (its errors are shown in it).
    props_refused: bool,
    /// Someone else changed the ticket after the properties form was opened.
    conflict: Option<Conflict>,
    reply_body: String,
    note_body: String,
    /// "Send and set status" under the reply box: keep the status, or one to set with it.
    reply_statuses: Vec<Opt>,
    /// The same under the note box.
    note_statuses: Vec<Opt>,
    /// Which of those statuses would remove the internal owner, as a sentence.
    status_removal: Option<String>,
    /// The reply (or note) with a status was not saved: someone changed the ticket meanwhile.
    reply_conflict: Option<Conflict>,
    note_conflict: Option<Conflict>,
    /// The newest comment shown, so a refused reply can say what was added meanwhile.
    last_comment_id: i64,
    /// The size limits of files, in words.
    file_limits: String,
    sharing_check: Vec<String>,
    /// Admins: the requester's organizations, to change their sharing from this ticket.
    sharing_orgs: Vec<(i64, String)>,
    /// Admins: who may see this ticket, and why.
    access: Option<Vec<AccessRow>>,
    /// "Apply macro": the macros the agent may use.
    macros: Vec<Opt>,
    /// The macro applied to the reply or note box (filled in, nothing saved).
    applied: Option<Applied>,
    /// The requester's other recent tickets (those the agent may see).
    other_tickets: Vec<OtherTicket>,
}

/// How many of the requester's other tickets the page lists.
const OTHER_TICKETS: i64 = 5;

/// One of the requester's other tickets.
struct OtherTicket {
    id: i64,
    subject: String,
    status: String,
    /// Last changed.
    at: Moment,
}

/// A CC'd person in the properties form.
struct CcView {
    id: i64,
    name: String,
    /// The agent ticked "Remove" (the form was refused and is shown again).
    removed: bool,
}

/// One line of "who can see this ticket, and why".
struct AccessRow {
    name: String,
    role: String,
    can_comment: bool,
    explanation: String,
}

/// The recorded sharing pre-checks of a ticket, as sentences for agents.
async fn sharing_check_lines(app: &App, s: &Session, v: &serde_json::Value) -> Vec<String> {
    let name = |id: Option<i64>| async move {
        match id {
            Some(id) => app
                .get_user(&s.p, UserId(id))
                .await
                .map_or_else(|_| format!("user {id}"), |u| u.name),
            None => "someone".into(),
        }
    };
    let mut out = Vec::new();
    if let (Ok(from), Ok(to)) = (
        ferrodesk_core::Sharing::parse(v["sharing_before"].as_str().unwrap_or_default()),
        ferrodesk_core::Sharing::parse(v["sharing_after"].as_str().unwrap_or_default()),
    ) {
        let (from, to) = (super::org::short(from), super::org::short(to));
        out.push(format!("Sharing changed from {from} to {to}."));
    }
    if v["type_confirmed"].is_object() {
        out.push(format!(
            "Type confirmed by {} in a public comment on this ticket.",
            name(v["type_confirmed"]["by_user_id"].as_i64()).await,
        ));
    }
    if v["risk_approved"].is_object() {
        out.push(format!(
            "Security risk approved by {} in a public comment on this ticket.",
            name(v["risk_approved"]["by_user_id"].as_i64()).await,
        ));
    }
    if v["not_blocked"].as_bool() == Some(true) {
        out.push("Sharing was not blocked for the organization.".into());
    }
    if v["requester_member"].as_bool() == Some(true) {
        out.push("The requester is a member of the organization.".into());
    }
    if let Some(by) = v["checked_by"].as_i64() {
        out.push(format!(
            "Checked by {} at {}.",
            name(Some(by)).await,
            when(v["checked_at"].as_str().unwrap_or_default())
        ));
    }
    if out.is_empty() {
        out.push(v.to_string());
    }
    out
}

pub(super) fn priority_options(selected: &str) -> Vec<Opt> {
    Priority::ALL
        .iter()
        .map(|p| Opt::new(p.as_str(), capitalize(p.as_str()), p.as_str() == selected))
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A sentence for why Ferrodesk changed a ticket by itself.
pub(crate) fn reason_text(reason: &str) -> String {
    match reason {
        "status_changed" => "internal owner removed because the status changed".into(),
        "group_deleted" => "internal owner removed because the group was deleted".into(),
        "group_unmapped" => {
            "internal owner removed because the group was unmapped from the status".into()
        }
        "status_deleted" => {
            "internal owner removed because the status was deleted (the ticket moved to Open)"
                .into()
        }
        "agent_left_group" => "internal agent removed because they left the internal group".into(),
        "agent_deleted" => "internal agent removed because the agent was deleted".into(),
        r => match r.strip_prefix("rule:") {
            Some(id) => format!("changed by rule {id}"),
            None => r.replace('_', " "),
        },
    }
}

pub(super) fn field_label(field: &str) -> &str {
    match field {
        "status_id" => "Status",
        "priority" => "Priority",
        "group_id" => "Group",
        "assignee_id" => "Assignee",
        "internal_group_id" => "Internal group",
        "internal_agent_id" => "Internal agent",
        "requester_id" => "Requester",
        "organization_id" => "Organization",
        "subject" => "Subject",
        "cc_ids" => "CCs",
        "tags" => "Tags",
        "comment" => "Comment",
        "file" => "File",
        f => f,
    }
}

fn value_text(dir: &Directory, field: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    match (field, v) {
        (_, Value::Null) => "none".into(),
        ("status_id", Value::Number(n)) => dir.status_name(n.as_i64().unwrap_or_default()),
        ("group_id" | "internal_group_id", Value::Number(n)) => dir.group_name(n.as_i64()),
        ("assignee_id" | "internal_agent_id", Value::Number(n)) => dir.staff_name(n.as_i64()),
        ("priority", Value::String(p)) => capitalize(p),
        ("comment", Value::Object(o)) => {
            let kind = if o.get("public").and_then(Value::as_bool).unwrap_or(true) {
                "public reply"
            } else {
                "private note"
            };
            format!(
                "{kind} #{}",
                o.get("id").map(|i| i.to_string()).unwrap_or_default()
            )
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(items)) if items.is_empty() => "none".into(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}

/// Who made a change, in words.
fn actor_words(e: &EventOut) -> String {
    match e.actor.kind.as_str() {
        "user" => e.actor.name.clone().unwrap_or_else(|| "someone".into()),
        "rule" => match &e.actor.name {
            Some(name) => format!("The rule “{name}”"),
            None => format!("Rule {}", e.actor.id.unwrap_or_default()),
        },
        _ => "Ferrodesk".into(),
    }
}

fn event_view(dir: &Directory, clock: &Clock, e: EventOut) -> EventView {
    let who = actor_words(&e);
    let what = match e.action.as_str() {
        "created" => "created the ticket".to_owned(),
        "imported" => "imported the ticket".to_owned(),
        "updated" => "changed".to_owned(),
        "comment_added" => "commented".to_owned(),
        "attachment_redacted" => "redacted a file".to_owned(),
        a => a.replace('_', " "),
    };
    let changes = e
        .changes
        .iter()
        .filter(|c| {
            !(matches!(e.action.as_str(), "created" | "imported")
                && c.from.is_null()
                && matches!(c.field.as_str(), "comment" | "comments"))
        })
        .map(|c| {
            // The app names what ids point at (`from_label`, `to_label`).
            let from = c
                .from_label
                .clone()
                .unwrap_or_else(|| value_text(dir, &c.field, &c.from));
            let to = c
                .to_label
                .clone()
                .unwrap_or_else(|| value_text(dir, &c.field, &c.to));
            if c.field == "comment" {
                format!("added a {to}")
            } else if e.action == "created" || e.action == "imported" {
                format!("{}: {to}", field_label(&c.field))
            } else {
                format!("{}: {from} → {to}", field_label(&c.field))
            }
        })
        .collect();
    EventView {
        who,
        at: clock.moment(&e.at),
        what,
        changes,
        reason: e
            .reason
            .as_deref()
            .map(|r| match (r.strip_prefix("rule:"), &e.actor) {
                // The rule that made the change is the actor: say its name.
                (Some(_), a) if a.kind == "rule" && a.name.is_some() => {
                    format!(
                        "changed by the rule “{}”",
                        a.name.clone().unwrap_or_default()
                    )
                }
                _ => reason_text(r),
            }),
    }
}

fn comment_view(clock: &Clock, c: CommentOut) -> CommentView {
    CommentView {
        files: file_views(&c.attachments),
        id: c.id,
        author: c.author_name,
        body_html: super::view::comment_html(&c.body),
        public: c.public,
        at: clock.moment(&c.created_at),
        original: c.original_message_id,
        via: match c.channel {
            Channel::Web => "in the agent app",
            Channel::Portal => "in the portal",
            Channel::Email => "by email",
            Channel::Api => "through the API",
            Channel::Cli => "from the command line",
            Channel::System => "by Ferrodesk",
        },
    }
}

/// Every comment of a ticket, oldest first (following the cursor).
pub(super) async fn all_comments(
    app: &App,
    s: &Session,
    id: TicketId,
) -> Result<Vec<CommentOut>, UiError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let page = app
            .list_comments(&s.p, id, cursor.as_deref(), Some(100))
            .await?;
        out.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The properties form as the agent sent it, when it was not saved.
struct SentProps {
    /// The values the form was opened with (its hidden originals).
    base: Owners,
    /// The values sent: the agent changed those that differ from `base`.
    mine: Owners,
    /// Someone changed the ticket after the form was opened (nothing was saved).
    stale: bool,
}

/// What the properties form says when someone else changed the ticket meanwhile.
struct Conflict {
    /// Their changes since the form was opened, in words, with who made them.
    theirs: Vec<String>,
    /// The agent's changes still chosen in the form (not saved yet).
    kept: Vec<String>,
    /// The agent's changes to a property someone else changed too: the form shows
    /// the current value, and the agent may choose theirs again.
    replaced: Vec<String>,
    /// Every property the form carries, side by side: the value on the ticket now (who
    /// changed it meanwhile, if someone did) and the agent's own pending edit.
    sides: Vec<Side>,
}

/// One line of the conflict's side-by-side table.
struct Side {
    label: &'static str,
    /// The value on the ticket now, in words.
    now: String,
    /// Who changed it after the form was opened ("Admin Ada"), if someone did.
    changed_by: Option<String>,
    /// The agent's own edit, not saved yet, in words (None: left as it was).
    yours: Option<String>,
}

/// Who made the latest change to `p` among `events`, in words.
fn changed_by(events: &[EventOut], p: Prop) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| e.changes.iter().any(|ch| ch.field == p.field()))
        .map(actor_words)
}

/// The form's values after a failed update: the ticket as it is now, with the agent's
/// own changes on top, except where someone else changed the same property meanwhile
/// (then the current value, and the agent's choice listed). The form's hidden originals
/// are the current values, so a second Update writes only what the agent changed.
///
/// `carried`: the properties the sending form carries (the properties form: all of them;
/// a reply or note: its status and a macro's other changes), one line each in the
/// conflict's side-by-side table.
fn merge_sent(
    dir: &Directory,
    people: &[(i64, String)],
    t: &TicketOut,
    events: &[EventOut],
    sent: &SentProps,
    carried: &[Prop],
) -> (Owners, Option<Conflict>) {
    let now = Owners::of(t);
    let mut shown = now.clone();
    let mut c = Conflict {
        theirs: Vec::new(),
        kept: Vec::new(),
        replaced: Vec::new(),
        sides: Vec::new(),
    };
    // What the agent added to and removed from a list (tags; CCs by name), in words.
    let list_edit = |base: &[String], mine: &[String]| {
        let minus = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        list_change_words(&minus(mine, base), &minus(base, mine))
    };
    let (base_tags, mine_tags) = (&sent.base.tags, &sent.mine.tags);
    let base_ccs = person_names(people, &sent.base.cc_ids);
    let mine_ccs = person_names(people, &sent.mine.cc_ids);
    for p in carried.iter().copied() {
        let yours = (!sent.mine.same(&sent.base, p)).then(|| match p {
            Prop::Tags => list_edit(base_tags, mine_tags),
            Prop::Ccs => list_edit(&base_ccs, &mine_ccs),
            _ => sent.mine.words(dir, people, p),
        });
        c.sides.push(Side {
            label: p.label(),
            now: now.words(dir, people, p),
            changed_by: (!now.same(&sent.base, p))
                .then(|| changed_by(events, p).unwrap_or_else(|| "someone".into())),
            yours,
        });
    }
    for &p in Prop::ALL {
        let mine_changed = !sent.mine.same(&sent.base, p);
        let theirs_changed = !now.same(&sent.base, p);
        if mine_changed && !theirs_changed {
            shown.take(&sent.mine, p);
            c.kept.push(format!(
                "You had chosen: {} {}",
                p.label(),
                sent.mine.words(dir, people, p)
            ));
        } else if mine_changed && !sent.mine.same(&now, p) {
            c.replaced.push(format!(
                "You had chosen: {} {} (now {})",
                p.label(),
                sent.mine.words(dir, people, p),
                now.words(dir, people, p)
            ));
        }
    }
    // Tags and CCs are lists: what the agent added and removed is applied to the list as
    // it is now, so a colleague's additions and removals stay.
    shown.tags = merge_list(&sent.base.tags, &sent.mine.tags, &now.tags);
    shown.cc_ids = merge_list(&sent.base.cc_ids, &sent.mine.cc_ids, &now.cc_ids);
    if base_tags != mine_tags {
        c.kept.push(format!(
            "You had chosen: Tags {}",
            list_edit(base_tags, mine_tags)
        ));
    }
    if base_ccs != mine_ccs {
        c.kept.push(format!(
            "You had chosen: CCs {}",
            list_edit(&base_ccs, &mine_ccs)
        ));
    }
    for p in Prop::EVERY {
        if !now.same(&sent.base, p) {
            let by = changed_by(events, p)
                .map(|w| format!(", by {w}"))
                .unwrap_or_default();
            c.theirs.push(format!(
                "{}: {} → {}{by}",
                p.label(),
                sent.base.words(dir, people, p),
                now.words(dir, people, p)
            ));
        }
    }
    (shown, sent.stale.then_some(c))
}

struct Draft {
    props: Option<SentProps>,
    /// "Add CC" as typed, when it was not saved.
    add_cc: String,
    errors: Errors,
    reply: String,
    note: String,
    notice: Option<String>,
    /// The reply or note box was sent and refused.
    comment: Option<SentComment>,
}

impl Draft {
    fn empty(notice: Option<String>) -> Draft {
        Draft {
            props: None,
            add_cc: String::new(),
            errors: Errors::new(),
            reply: String::new(),
            note: String::new(),
            notice,
            comment: None,
        }
    }
}

/// A reply or note as sent, when it was not saved.
struct SentComment {
    public: bool,
    /// The status chosen to set with it ("Send and set status").
    status_id: Option<i64>,
    /// Someone changed the ticket after the page was opened: the form as it was opened,
    /// the newest comment it showed, and the properties the box carried (its status and
    /// a macro's other changes).
    stale: Option<(SentProps, i64, Vec<Prop>)>,
}

/// "Send and set status": keep the status (the first choice), or another one. A status
/// that does not map the ticket's internal group says it removes the internal owner.
fn status_choices(dir: &Directory, t: &TicketOut, chosen: Option<i64>) -> Vec<Opt> {
    let removes = removing_statuses(dir, t);
    let mut out = vec![Opt::none(
        &format!("Keep the status ({})", dir.status_name(t.status_id)),
        chosen.is_none_or(|c| c == t.status_id),
    )];
    out.extend(
        dir.statuses
            .iter()
            .filter(|st| st.id != t.status_id)
            .map(|st| {
                let label = if removes.contains(&st.id) {
                    format!("{} (removes the internal owner)", st.name)
                } else {
                    st.name.clone()
                };
                Opt::new(st.id, label, chosen == Some(st.id))
            }),
    );
    out
}

/// The statuses that do not map the ticket's internal group: setting one removes the
/// internal owner (SPEC §4, `status_changed`).
fn removing_statuses(dir: &Directory, t: &TicketOut) -> Vec<i64> {
    let Some(g) = t.internal_group_id.flatten() else {
        return Vec::new();
    };
    dir.statuses
        .iter()
        .filter(|st| st.id != t.status_id && !dir.mapped_groups(st.id).iter().any(|m| m.id == g))
        .map(|st| st.id)
        .collect()
}

/// What "Send and set status" says before sending when a status would remove the
/// internal owner: the same note the properties form shows.
fn removal_sentence(dir: &Directory, t: &TicketOut) -> Option<String> {
    let removes = removing_statuses(dir, t);
    let g = t.internal_group_id.flatten()?;
    if removes.is_empty() {
        return None;
    }
    let names: Vec<String> = removes.iter().map(|s| dir.status_name(*s)).collect();
    let listed = match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let owner = [
        dir.group_name(Some(g)),
        dir.staff_name(t.internal_agent_id.flatten()),
    ]
    .into_iter()
    .filter(|x| !x.is_empty())
    .collect::<Vec<_>>()
    .join(" / ");
    Some(format!(
        "{} is not mapped to {listed}: when you send with one of them, Ferrodesk removes the internal owner ({owner}) and records why on the timeline.",
        dir.group_name(Some(g))
    ))
}

async fn ticket_page(app: &App, s: &Session, id: i64, draft: Draft) -> Result<TicketPage, UiError> {
    let t = app.get_ticket(&s.p, TicketId(id)).await?;
    let dir = Directory::load(app, &s.p).await?;
    let comments = all_comments(app, s, TicketId(id)).await?;
    let mut raw_events = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let page = app
            .list_events(&s.p, TicketId(id), cursor.as_deref(), Some(100))
            .await?;
        raw_events.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let requester_user = app.get_user(&s.p, UserId(t.requester_id)).await.ok();
    let sharing_orgs = match &requester_user {
        Some(u) => super::org::sharing_actions(app, s, &u.organization_ids).await,
        None => Vec::new(),
    };
    let requester = requester_user
        .map(|u| format!("{} <{}>", u.name, u.email.unwrap_or_default()))
        .unwrap_or_default();
    let organization = match t.organization_id {
        Some(o) => app
            .get_organization(&s.p, OrganizationId(o))
            .await
            .ok()
            .map(|org| (org.id, org.name)),
        None => None,
    };
    let sharing_check = match &t.sharing_check {
        Some(v) => sharing_check_lines(app, s, v).await,
        None => Vec::new(),
    };
    let access = if s.is_admin() {
        Some(
            app.ticket_access_list(&s.p, TicketId(id))
                .await?
                .into_iter()
                .map(|a| AccessRow {
                    name: a.name,
                    role: a.role.to_string(),
                    can_comment: a.can_comment,
                    explanation: a.explanation,
                })
                .collect(),
        )
    } else {
        None
    };
    let props_refused = draft.props.is_some();
    // The names of everyone CC'd now or in the form as sent, in one read.
    let mut cc_people: Vec<i64> = t.cc_ids.clone();
    if let Some(sent) = &draft.props {
        cc_people.extend(sent.base.cc_ids.iter().chain(&sent.mine.cc_ids));
    }
    let people = app.names_of_users(&s.p, &cc_people).await?;
    let (o, conflict) = match &draft.props {
        Some(sent) => merge_sent(&dir, &people, &t, &raw_events, sent, &Prop::EVERY),
        None => (Owners::of(&t), None),
    };
    let now = Owners::of(&t);
    // Listed: the CCs to keep, then those now CC'd that the agent chose to remove (ticked).
    let mut listed = o.cc_ids.clone();
    listed.extend(now.cc_ids.iter().filter(|c| !o.cc_ids.contains(c)));
    let ccs: Vec<CcView> = listed
        .iter()
        .map(|id| CcView {
            id: *id,
            name: person_names(&people, &[*id]).concat(),
            removed: !o.cc_ids.contains(id),
        })
        .collect();
    let (mut reply_status, mut note_status) = (None, None);
    let (mut reply_conflict, mut note_conflict) = (None, None);
    if let Some(sc) = &draft.comment {
        let mut chosen = sc.status_id;
        let mut box_conflict = None;
        if let Some((sent, last_seen, carried)) = &sc.stale {
            let (merged, c) = merge_sent(&dir, &people, &t, &raw_events, sent, carried);
            // The agent's status stays chosen unless a colleague changed the status too.
            chosen = (merged.status_id != t.status_id).then_some(merged.status_id);
            box_conflict = c.map(|mut c| {
                for m in comments.iter().filter(|m| m.id > *last_seen) {
                    let kind = if m.public {
                        "a public reply"
                    } else {
                        "a private note"
                    };
                    c.theirs.push(format!("{} added {kind}", m.author_name));
                }
                c
            });
        }
        if sc.public {
            reply_status = chosen;
            reply_conflict = box_conflict;
        } else {
            note_status = chosen;
            note_conflict = box_conflict;
        }
    }
    let last_comment_id = comments.iter().map(|c| c.id).max().unwrap_or_default();
    let clock = Clock::for_person(app, &s.p).await?;
    // The requester's other recent tickets that this agent may see (the policy's scope is
    // part of the list's SQL).
    let other_tickets = app
        .list_tickets(
            &s.p,
            TicketFilter {
                requester_id: Some(UserId(t.requester_id)),
                ..Default::default()
            },
            None,
            Some(OTHER_TICKETS + 1),
        )
        .await?
        .items
        .into_iter()
        .filter(|o| o.id != t.id)
        .take(usize::try_from(OTHER_TICKETS).unwrap_or_default())
        .map(|o| OtherTicket {
            at: clock.moment(&o.updated_at),
            id: o.id,
            subject: o.subject,
            status: o.status,
        })
        .collect();
    let events = raw_events
        .into_iter()
        .map(|e| event_view(&dir, &clock, e))
        .collect();
    let owner = internal_owner(&dir, &o, &draft.errors)
        .render()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut layout = s.layout(format!("#{} {}", t.id, t.subject), "tickets");
    layout.notice = draft.notice;
    Ok(TicketPage {
        layout,
        requester,
        organization,
        comments: comments
            .into_iter()
            .map(|c| comment_view(&clock, c))
            .collect(),
        events,
        statuses: dir.status_options(Some(o.status_id)),
        priorities: priority_options(&o.priority),
        groups: dir.group_options("— none —", o.group_id),
        assignee: assignee_field(&dir, o.group_id, o.assignee_id, &draft.errors)?,
        internal_owner: owner,
        tags_text: o.tags.join(", "),
        orig_tags: now.tags.join(","),
        orig_cc_ids: joined_ids(&now.cc_ids),
        cc_shown: joined_ids(&listed),
        ccs,
        add_cc: if draft.errors.contains_key("add_cc") {
            draft.add_cc
        } else {
            String::new()
        },
        errors: draft.errors,
        props_refused,
        conflict,
        reply_body: draft.reply,
        note_body: draft.note,
        reply_statuses: status_choices(&dir, &t, reply_status),
        note_statuses: status_choices(&dir, &t, note_status),
        status_removal: removal_sentence(&dir, &t),
        reply_conflict,
        note_conflict,
        last_comment_id,
        file_limits: file_limits(app),
        sharing_check,
        sharing_orgs,
        access,
        macros: super::agent_macros::choices(app, s, None).await?,
        applied: None,
        other_tickets,
        t,
    })
}

impl TicketPage {
    /// Fills in the macro `a` for review: its text in its box, its status as "Send and set
    /// status", its other changes as ticked boxes under it.
    fn apply(&mut self, dir: &Directory, a: Applied) {
        let statuses = status_choices(dir, &self.t, a.status_id);
        if a.public {
            self.reply_body.clone_from(&a.body);
            self.reply_statuses = statuses;
        } else {
            self.note_body.clone_from(&a.body);
            self.note_statuses = statuses;
        }
        for o in &mut self.macros {
            o.selected = o.value == a.id.to_string();
        }
        self.applied = Some(a);
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Notice {
    done: String,
    /// A macro to apply (`?macro=ID`).
    #[serde(rename = "macro")]
    macro_id: String,
}

fn notice_text(done: &str) -> Option<String> {
    match done {
        "updated" => Some("Ticket updated.".into()),
        "reply" => Some("Public reply sent.".into()),
        "note" => Some("Private note added.".into()),
        "created" => Some("Ticket created.".into()),
        _ => None,
    }
}

async fn show(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let mut page = ticket_page(&app, &s, id, Draft::empty(notice_text(&n.done))).await?;
    // The list stops marking it as updated since the agent last looked (no ticket change).
    app.mark_ticket_seen(&s.p, TicketId(id)).await?;
    // Sent with a status: say the status it has now (rules may have moved it on).
    let sent = match n.done.as_str() {
        "reply_status" => Some("Public reply sent"),
        "note_status" => Some("Private note added"),
        _ => None,
    };
    if let Some(sent) = sent {
        page.layout.notice = Some(format!("{sent}; the status is now {}.", page.t.status));
    }
    if let Some(m) = opt_id(&mut Errors::new(), "macro", &n.macro_id) {
        let m = app.get_macro(&s.p, m).await?;
        let dir = Directory::load(&app, &s.p).await?;
        page.layout.notice = Some(format!(
            "Macro “{}” applied — review and send. Nothing is saved yet.",
            m.name
        ));
        page.apply(&dir, Applied::of(&dir, m, None));
    }
    Ok(html(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PropsForm {
    version: String,
    /// The values the form was rendered with: only fields the agent changed are sent,
    /// so a status change alone lets Ferrodesk remove an unmapped internal owner itself
    /// (and record why) instead of the form repeating the old values.
    orig_status_id: String,
    orig_priority: String,
    orig_group_id: String,
    orig_assignee_id: String,
    orig_internal_group_id: String,
    orig_internal_agent_id: String,
    /// The tags and CCs the form was opened with (`a,b`; `3,7`).
    orig_tags: String,
    orig_cc_ids: String,
    /// The CCs listed in the form (each with a "Remove" box, `remove_cc`).
    cc_shown: String,
    /// "Add CC": an email address or a name.
    add_cc: String,
    tags: String,
    status_id: String,
    pub(super) priority: String,
    group_id: String,
    assignee_id: String,
    internal_group_id: String,
    internal_agent_id: String,
}

impl PropsForm {
    /// The values the form was opened with (none where it did not send them).
    fn original(&self) -> Owners {
        let mut unread = Errors::new();
        let mut id = |v: &str| opt_id(&mut unread, "orig", v);
        Owners {
            status_id: id(&self.orig_status_id).unwrap_or_default(),
            priority: self.orig_priority.trim().to_owned(),
            group_id: id(&self.orig_group_id),
            assignee_id: id(&self.orig_assignee_id),
            internal_group_id: id(&self.orig_internal_group_id),
            internal_agent_id: id(&self.orig_internal_agent_id),
            tags: tag_list(&self.orig_tags),
            cc_ids: ids_of(&self.orig_cc_ids),
        }
    }

    pub(super) fn owners(&self, errors: &mut Errors) -> Owners {
        Owners {
            status_id: opt_id(errors, "status_id", &self.status_id).unwrap_or_default(),
            priority: self.priority.clone(),
            group_id: opt_id(errors, "group_id", &self.group_id),
            assignee_id: opt_id(errors, "assignee_id", &self.assignee_id),
            internal_group_id: opt_id(errors, "internal_group_id", &self.internal_group_id),
            internal_agent_id: opt_id(errors, "internal_agent_id", &self.internal_agent_id),
            tags: tag_list(&self.tags),
            cc_ids: ids_of(&self.cc_shown),
        }
    }
}

pub(super) fn parse_priority(errors: &mut Errors, v: &str) -> Option<Priority> {
    if v.is_empty() {
        return None;
    }
    match Priority::parse(v) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.insert("priority".into(), format!("priority {e}"));
            None
        }
    }
}

/// With JavaScript, choosing a status that does not map the ticket's internal group
/// empties the internal group and agent in the form (the fragment shows what Ferrodesk will
/// do). That is not the agent's own choice: the form leaves them as they were, so Ferrodesk
/// removes the internal owner itself and records why (`status_changed`), exactly as when
/// the page runs without JavaScript.
fn leave_removal_to_ferrodesk(dir: &Directory, base: &Owners, mine: &mut Owners) {
    let removed_by_the_status = base.internal_group_id.is_some_and(|g| {
        mine.status_id != base.status_id
            && !dir.mapped_groups(mine.status_id).iter().any(|m| m.id == g)
    });
    if removed_by_the_status && mine.internal_group_id.is_none() && mine.internal_agent_id.is_none()
    {
        mine.internal_group_id = base.internal_group_id;
        mine.internal_agent_id = base.internal_agent_id;
    }
}

/// The CCs of the properties form: those listed without a ticked "Remove" box, and the
/// person typed under "Add CC" (an error under that field when nobody or several match).
async fn chosen_ccs(
    app: &App,
    s: &Session,
    listed: &[i64],
    removed: &[i64],
    add: &str,
    errors: &mut Errors,
) -> Result<Vec<i64>, UiError> {
    let mut out: Vec<i64> = listed
        .iter()
        .copied()
        .filter(|c| !removed.contains(c))
        .collect();
    if !add.trim().is_empty() {
        match find_person(app, s, add).await? {
            Found::One(u) => out.push(u.id),
            Found::Several(list) => {
                let names: Vec<String> = list.iter().take(5).map(people::label).collect();
                errors.insert(
                    "add_cc".into(),
                    format!(
                        "Several people match “{}” ({}): type the email address of the one you mean.",
                        add.trim(),
                        names.join("; ")
                    ),
                );
            }
            Found::Nobody(why) => {
                errors.insert("add_cc".into(), why);
            }
        }
    }
    Ok(id_list(&out))
}

async fn update(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: pairs }: Post<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    // One "Remove" box per CC, all named `remove_cc`: read from the pairs, the rest is
    // the form.
    let removed: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "remove_cc")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "remove_cc").collect();
    let form: PropsForm = serde_urlencoded::to_string(&rest)
        .ok()
        .and_then(|t| serde_urlencoded::from_str(&t).ok())
        .ok_or(UiError::BadForm)?;
    let mut errors = Errors::new();
    let mut mine = form.owners(&mut errors);
    mine.cc_ids = chosen_ccs(&app, &s, &mine.cc_ids, &removed, &form.add_cc, &mut errors).await?;
    let base = form.original();
    let priority = parse_priority(&mut errors, &form.priority);
    let version = form.version.trim().parse::<i64>().ok();
    let dir = Directory::load(&app, &s.p).await?;
    leave_removal_to_ferrodesk(&dir, &base, &mut mine);
    let mut stale = false;
    if errors.is_empty() {
        // Only what the agent changed is written.
        let changed = |p: Prop| !mine.same(&base, p);
        let patch = TicketPatch {
            status_id: changed(Prop::Status).then_some(mine.status_id),
            priority: priority.filter(|_| changed(Prop::Priority)),
            group_id: changed(Prop::Group).then_some(mine.group_id),
            assignee_id: changed(Prop::Assignee).then_some(mine.assignee_id),
            internal_group_id: changed(Prop::InternalGroup).then_some(mine.internal_group_id),
            internal_agent_id: changed(Prop::InternalAgent).then_some(mine.internal_agent_id),
            tags: changed(Prop::Tags).then(|| mine.tags.clone()),
            cc_ids: changed(Prop::Ccs).then(|| mine.cc_ids.clone()),
            ..Default::default()
        };
        match app.update_ticket(&s.p, TicketId(id), version, patch).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/agent/tickets/{id}?done=updated")).into_response()
                );
            }
            Err(AppError::Stale { .. }) => stale = true,
            Err(e) => {
                // "tags[2]" and "cc_ids[0]": said under the field.
                errors = field_errors(e)?
                    .into_iter()
                    .map(|(k, v)| match k.split('[').next().unwrap_or_default() {
                        "tags" => ("tags".to_owned(), v),
                        "cc_ids" => ("add_cc".to_owned(), v),
                        _ => (k, v),
                    })
                    .collect();
            }
        }
    }
    let page = ticket_page(
        &app,
        &s,
        id,
        Draft {
            props: Some(SentProps { base, mine, stale }),
            add_cc: form.add_cc.clone(),
            errors,
            reply: String::new(),
            note: String::new(),
            notice: None,
            comment: None,
        },
    )
    .await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CommentForm {
    body: String,
    public: String,
    /// The newest comment the page showed.
    last_comment_id: String,
    /// The macro applied, and the tags it adds (ticked under the box).
    macro_id: String,
    add_tags: String,
    /// The version and the properties the page was opened with; `status_id` is "Send
    /// and set status" (empty: keep the status).
    #[serde(flatten)]
    props: PropsForm,
}

async fn comment(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    post: MultipartPost<CommentForm>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&post.s) {
        return Ok(r);
    }
    let upload_tokens = post.upload(&app).await?;
    let MultipartPost { s, form, files } = post;
    let public = form.public != "false";
    let box_name = if public { "reply" } else { "note" };
    let mut unread = Errors::new();
    let base = form.props.original();
    // "Send and set status": the comment and the status in one transaction, the version
    // checked first (`update_ticket_with_comment`); keeping the status adds the comment alone.
    let set_status =
        opt_id(&mut unread, "status_id", &form.props.status_id).filter(|st| *st != base.status_id);
    let input = CommentIn {
        body: form.body.clone(),
        public: Some(public),
        upload_tokens,
    };
    let mut stale = false;
    let mut version = form.props.version.trim().parse::<i64>().ok();
    // A macro's other changes, as far as the agent left them ticked.
    let priority = parse_priority(&mut unread, form.props.priority.trim())
        .filter(|p| p.as_str() != base.priority);
    let group =
        opt_id(&mut unread, "group_id", &form.props.group_id).filter(|g| Some(*g) != base.group_id);
    let internal_group = opt_id(
        &mut unread,
        "internal_group_id",
        &form.props.internal_group_id,
    )
    .filter(|g| Some(*g) != base.internal_group_id);
    let tags = if form.add_tags.trim().is_empty() {
        None
    } else {
        // Added to the tags as they are; the version check refuses the whole send if the
        // ticket changed after the page was opened (or after this read).
        let t = app.get_ticket(&s.p, TicketId(id)).await?;
        version = version.or(Some(t.version));
        let now = t.tags.unwrap_or_default();
        let mut all = now.clone();
        for tag in form.add_tags.split_whitespace() {
            if !all.iter().any(|x| x == tag) {
                all.push(tag.to_owned());
            }
        }
        (all != now).then_some(all)
    };
    let patch = TicketPatch {
        status_id: set_status,
        priority,
        group_id: group.map(Some),
        internal_group_id: internal_group.map(Some),
        // A new internal group: its agent is chosen afresh on the ticket.
        internal_agent_id: internal_group
            .filter(|_| base.internal_agent_id.is_some())
            .map(|_| None),
        tags,
        ..Default::default()
    };
    let changes = set_status.is_some()
        || priority.is_some()
        || group.is_some()
        || internal_group.is_some()
        || patch.tags.is_some();
    let sent = if changes {
        app.update_ticket_with_comment(&s.p, TicketId(id), version, Some(patch), Some(input))
            .await
            .map(|_| format!("{box_name}_status"))
    } else {
        app.add_comment(&s.p, TicketId(id), input)
            .await
            .map(|_| box_name.to_owned())
    };
    let errors = match sent {
        Ok(done) => {
            return Ok(
                Redirect::to(&format!("/agent/tickets/{id}?done={done}#conversation"))
                    .into_response(),
            );
        }
        Err(AppError::Stale { .. }) => {
            stale = true;
            Errors::new()
        }
        Err(e) => field_errors(e)?,
    };
    let mut errors: Errors = errors
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            // Said under the box it belongs to, in the box's words.
            "body" if form.body.trim().is_empty() => (
                format!("{box_name}_body"),
                if public {
                    "Write your reply before sending it.".to_owned()
                } else {
                    "Write your note before adding it.".to_owned()
                },
            ),
            "body" => (
                format!("{box_name}_body"),
                match v.strip_prefix("body ") {
                    Some(rest) => format!("The {box_name} {rest}"),
                    None => v,
                },
            ),
            "upload_tokens" => (format!("{box_name}_files"), v),
            // The status chosen to set with it, said under its choice.
            "status" | "status_id" => (format!("{box_name}_status"), v),
            // A macro's other changes, said under its boxes.
            "priority" | "group_id" | "internal_group_id" | "internal_agent_id" | "tags" => (
                format!("{box_name}_also"),
                format!("{}: {v}", field_label(&k)),
            ),
            _ => (k, v),
        })
        .collect();
    if !files.is_empty() {
        // A file input cannot be filled in again by the page: say so.
        errors
            .entry(format!("{box_name}_files"))
            .or_insert_with(|| "Your files were not attached: choose them again.".into());
    }
    let (reply, note) = if public {
        (form.body, String::new())
    } else {
        (String::new(), form.body)
    };
    let stale = stale.then(|| {
        // Everything the box sent, so the conflict shows each of it beside the ticket as
        // it is now: the status, and a macro's priority, group, internal owner and tags.
        let mut mine = base.clone();
        let mut carried = vec![Prop::Status];
        if let Some(st) = set_status {
            mine.status_id = st;
        }
        if let Some(p) = priority {
            mine.priority = p.as_str().to_owned();
            carried.push(Prop::Priority);
        }
        if let Some(g) = group {
            mine.group_id = Some(g);
            carried.push(Prop::Group);
        }
        if let Some(g) = internal_group {
            mine.internal_group_id = Some(g);
            carried.push(Prop::InternalGroup);
            if base.internal_agent_id.is_some() {
                mine.internal_agent_id = None;
                carried.push(Prop::InternalAgent);
            }
        }
        if !form.add_tags.trim().is_empty() {
            mine.tags = tag_list(&format!("{} {}", base.tags.join(" "), form.add_tags));
            carried.push(Prop::Tags);
        }
        let last_seen = form.last_comment_id.trim().parse().unwrap_or(i64::MAX);
        (
            SentProps {
                base: base.clone(),
                mine,
                stale: true,
            },
            last_seen,
            carried,
        )
    });
    let mut page = ticket_page(
        &app,
        &s,
        id,
        Draft {
            props: None,
            add_cc: String::new(),
            errors,
            reply,
            note,
            notice: None,
            comment: Some(SentComment {
                public,
                status_id: set_status,
                stale,
            }),
        },
    )
    .await?;
    // The macro's boxes again, ticked as they were sent.
    if let Some(m) = opt_id(&mut unread, "macro_id", &form.macro_id)
        && let Ok(m) = app.get_macro(&s.p, m).await
    {
        let dir = Directory::load(&app, &s.p).await?;
        let sent = [
            ("priority", form.props.priority.as_str()),
            ("group_id", form.props.group_id.as_str()),
            ("internal_group_id", form.props.internal_group_id.as_str()),
            ("add_tags", form.add_tags.as_str()),
        ];
        let mut a = Applied::of(&dir, m, Some(&sent));
        a.public = public;
        page.applied = Some(a);
    }
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
