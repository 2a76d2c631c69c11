//! Organization pages for agents: the list, and one organization's details, notes
//! (agents may edit them), members and the sharing panel. Sharing changes only through
//! the sharing workflow (SPEC §2.1): the panel walks an admin through the runbook's steps
//! (request ticket, the customer's confirming comments, pre-checks, preview) and submits
//! one `change_sharing`; agents see the same panel without the forms.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

use ferrodesk_app::dto::{OrganizationIn, OrganizationOut, SharingChangeIn, SharingPreviewOut};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::validate::FieldError;
use ferrodesk_core::{OrganizationId, Sharing, TicketId, UserId};
use ferrodesk_store::directory::UserFilter;
use ferrodesk_store::scope::TicketFilter;
use serde::Deserialize;

use super::agent_ticket::all_comments;
use super::view::{Layout, Opt, access_label, when};
use super::{Errors, PagePath, Post, Session, UiError, field_errors, html, html_status};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/agent/organizations", get(list))
        .route("/agent/organizations/{id}", get(show))
        .route("/agent/organizations/{id}/notes", post(save_notes))
        .route("/agent/organizations/{id}/sharing", post(change_sharing))
}

/// A sentence for a sharing mode.
pub(super) fn sharing_text(s: Sharing) -> &'static str {
    match s {
        Sharing::OwnOnly => "Not shared: each member sees only their own requests",
        Sharing::ReadOnly => {
            "Shared read only: members see all the organization's requests and reply only on their own"
        }
        Sharing::ReadWrite => {
            "Shared read+write: members see and reply to all the organization's requests"
        }
    }
}

struct OrgRow {
    id: i64,
    name: String,
    sharing: &'static str,
}

/// One organization that shares, for the register (what a security review asks for).
struct RegisterRow {
    id: i64,
    name: String,
    sharing: &'static str,
    since: String,
    ticket_id: Option<i64>,
    imported: Option<String>,
    admin: String,
}

#[derive(Template)]
#[template(path = "org_list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<OrgRow>,
    next_href: Option<String>,
    register: Vec<RegisterRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    cursor: String,
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    if !s.is_staff() {
        return Ok(Redirect::to("/portal/organization").into_response());
    }
    let cursor = (!q.cursor.is_empty()).then_some(q.cursor.as_str());
    let page = app.list_organizations(&s.p, cursor, Some(50)).await?;
    let mut names = Names {
        app: &app,
        s: &s,
        known: HashMap::new(),
    };
    let mut register = Vec::new();
    for e in app.sharing_register(&s.p).await? {
        register.push(RegisterRow {
            id: e.organization_id,
            name: e.organization_name,
            sharing: short(e.sharing),
            since: e.since.as_deref().map(when).unwrap_or_else(|| "—".into()),
            ticket_id: e.ticket_id,
            imported: e.imported,
            admin: match e.admin_id {
                Some(a) => names.get(a).await,
                None => "—".into(),
            },
        });
    }
    Ok(html(&ListPage {
        register,
        layout: s.layout("Organizations", "organizations"),
        rows: page
            .items
            .into_iter()
            .map(|o| OrgRow {
                id: o.id,
                name: o.name,
                sharing: sharing_text(o.sharing),
            })
            .collect(),
        next_href: page
            .next_cursor
            .map(|c| format!("/agent/organizations?cursor={c}")),
    }))
}

/// A short name for a sharing mode (history, buttons).
pub(super) fn short(s: Sharing) -> &'static str {
    match s {
        Sharing::OwnOnly => "Not shared",
        Sharing::ReadOnly => "Read only",
        Sharing::ReadWrite => "Read+write",
    }
}

struct Member {
    name: String,
    email: String,
    /// What they may see on their own, in words.
    access: &'static str,
    default: bool,
}

/// One pre-check of the runbook, as a checklist line.
pub(crate) struct Check {
    /// The use case's code (`type_confirmed`, …), also the line's id.
    pub code: &'static str,
    /// What the runbook asks.
    pub label: &'static str,
    /// `done`, `missing` (failed), `todo` (nothing chosen yet), `pending` (checked when
    /// submitted) or `na` (not needed).
    pub state: &'static str,
    /// What is missing, or what was found.
    pub message: String,
}

impl Check {
    pub fn state_text(&self) -> &'static str {
        match self.state {
            "done" => "Done",
            "missing" => "Missing",
            "na" => "Not needed",
            "todo" => "To do",
            _ => "Checked when you submit",
        }
    }
}

/// A customer's public comment that may serve as evidence.
struct Evidence {
    id: i64,
    author: String,
    at: String,
    excerpt: String,
    type_selected: bool,
    risk_selected: bool,
}

/// A button of the panel: the mode it sets.
struct Action {
    value: &'static str,
    label: &'static str,
    primary: bool,
}

struct PreviewView {
    label: &'static str,
    text: String,
    sample: String,
}

/// One line of an organization's sharing log: a change the workflow made, read from its
/// record (never from the editable Details).
pub(super) struct LogRow {
    pub at: String,
    pub admin: String,
    /// `Not shared → Read only`.
    pub change: String,
    pub ticket_id: i64,
    /// The request ticket's subject (empty when the ticket is gone).
    pub ticket_subject: String,
    /// Who confirmed the type and approved the risk.
    pub evidence: String,
    /// The line the workflow wrote into Details.
    pub line: String,
}

/// The request ticket chosen in the panel.
struct RequestTicket {
    id: i64,
    subject: String,
    /// The requester's name.
    requester: String,
}

impl RequestTicket {
    /// As people refer to it: `#51 “Please share our tickets”`.
    fn words(&self) -> String {
        format!("#{} “{}”", self.id, self.subject)
    }
}

/// The sharing panel.
struct Panel {
    /// Admins get the forms; agents read.
    can_change: bool,
    tickets: Vec<Opt>,
    ticket: Option<RequestTicket>,
    comments: Vec<Evidence>,
    checks: Vec<Check>,
    /// Whether `checks` is the server's verdict on a submitted change.
    ran: bool,
    actions: Vec<Action>,
    previews: Vec<PreviewView>,
    /// Admins: the public URL the Details line will link to cannot be right.
    url_warning: Option<String>,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    layout: Layout,
    org: OrganizationOut,
    sharing: &'static str,
    members: Vec<Member>,
    notes: String,
    errors: Errors,
    panel: Panel,
    log: Vec<LogRow>,
}

/// What the admin has chosen so far in the panel.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Choice {
    ticket_id: String,
    type_confirmed_comment_id: String,
    risk_approved_comment_id: String,
    sharing: String,
}

fn parse_id(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

/// Resolves user names once per page.
struct Names<'a> {
    app: &'a App,
    s: &'a Session,
    known: HashMap<i64, String>,
}

impl Names<'_> {
    async fn get(&mut self, id: i64) -> String {
        if let Some(n) = self.known.get(&id) {
            return n.clone();
        }
        let n = self
            .app
            .get_user(&self.s.p, UserId(id))
            .await
            .map_or_else(|_| format!("user {id}"), |u| u.name);
        self.known.insert(id, n.clone());
        n
    }
}

fn preview_view(to: Sharing, p: &SharingPreviewOut) -> PreviewView {
    let (label, text) = match to {
        Sharing::OwnOnly => (
            "Disable",
            format!(
                "{} end user(s) would no longer see {} ticket(s) of colleagues.",
                p.users_losing_access, p.tickets_no_longer_visible
            ),
        ),
        Sharing::ReadOnly | Sharing::ReadWrite => (
            if to == Sharing::ReadOnly {
                "Enable read only"
            } else {
                "Enable read+write"
            },
            {
                let mut t = format!(
                    "{} end user(s) would newly see {} ticket(s) they cannot see today",
                    p.users_gaining_access, p.tickets_newly_visible
                );
                if p.users_gaining_comment > 0 {
                    t.push_str(&format!(
                        "; {} could reply on colleagues' tickets",
                        p.users_gaining_comment
                    ));
                }
                if p.users_losing_access > 0 {
                    t.push_str(&format!(
                        "; {} would lose sight of {} ticket(s)",
                        p.users_losing_access, p.tickets_no_longer_visible
                    ));
                }
                t.push('.');
                t
            },
        ),
    };
    PreviewView {
        label,
        text,
        sample: p
            .sample
            .iter()
            .map(|u| format!("{} ({:+})", u.name, u.tickets))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The checklist before anything was submitted: what the page can already tell.
fn checks_before(
    org: &OrganizationOut,
    ticket: Option<&RequestTicket>,
    requester_member: Option<bool>,
    choice: &Choice,
    comments: &[Evidence],
) -> Vec<Check> {
    const TICKET: &str = "The request ticket is chosen and its requester is a member";
    let ticket_check = match (ticket, requester_member) {
        (None, _) => Check {
            code: "requester_member",
            label: TICKET,
            state: "todo",
            message: "Choose the ticket in which the customer asked for the change.".into(),
        },
        (Some(t), Some(false)) => Check {
            code: "requester_member",
            label: TICKET,
            state: "missing",
            message: format!(
                "{}, who asked in {}, is not a member of {}. Choose a ticket in which a member asked, or add them to the organization first.",
                t.requester,
                t.words(),
                org.name
            ),
        },
        (Some(t), _) => Check {
            code: "requester_member",
            label: TICKET,
            state: "done",
            message: format!(
                "{}, asked by {}, a member of {}.",
                t.words(),
                t.requester,
                org.name
            ),
        },
    };
    let picked = |v: &str, todo: String| -> (&'static str, String) {
        match parse_id(v) {
            Some(id) => match comments.iter().find(|c| c.id == id) {
                Some(c) => (
                    "pending",
                    format!("Chosen: {}'s comment of {}.", c.author, c.at),
                ),
                None => (
                    "pending",
                    "A comment is chosen; the workflow checks it when you submit.".to_owned(),
                ),
            },
            None => ("todo", todo),
        }
    };
    let (ts, tm) = picked(
        &choice.type_confirmed_comment_id,
        "Pick the customer's comment that confirms which type of shared organization they want."
            .into(),
    );
    let (rs, rm) = picked(
        &choice.risk_approved_comment_id,
        format!(
            "Pick the comment in which the requester, on behalf of {}, approved the security risk (not needed to disable).",
            org.name
        ),
    );
    let blocked = org.sharing_blocked == Some(true);
    vec![
        ticket_check,
        Check {
            code: "type_confirmed",
            label: "The requester confirmed which type of shared organization is desired",
            state: ts,
            message: tm,
        },
        Check {
            code: "risk_approved",
            label: "The requester, on behalf of the organization, approved the security risk",
            state: rs,
            message: rm,
        },
        Check {
            code: "not_blocked",
            label: "No note says we will not enable a shared organization for them",
            state: if blocked { "missing" } else { "done" },
            message: if blocked {
                format!(
                    "{}'s details say we will not enable a shared organization for them ({}).",
                    org.name,
                    org.sharing_blocked_reason
                        .clone()
                        .filter(|r| !r.trim().is_empty())
                        .unwrap_or_else(|| "no reason given".into())
                )
            } else {
                format!(
                    "Nothing says we will not enable a shared organization for {}.",
                    org.name
                )
            },
        },
    ]
}

/// The checklist after the workflow refused a change: every check it failed, with its
/// message; the others passed (or were not needed for this change).
fn checks_after(
    to: Sharing,
    failed: &[FieldError],
    org: &OrganizationOut,
    ticket: Option<&RequestTicket>,
) -> Vec<Check> {
    let enabling = to != Sharing::OwnOnly;
    let member = match ticket {
        Some(t) => format!(
            "{}, asked by {}, a member of {}.",
            t.words(),
            t.requester,
            org.name
        ),
        None => "The ticket exists and its requester is a member.".into(),
    };
    let not_blocked = format!(
        "Nothing says we will not enable a shared organization for {}.",
        org.name
    );
    let changes = format!(
        "{} today; this change makes it {}.",
        short(org.sharing),
        short(to).to_lowercase()
    );
    let lines: [(&'static str, &'static str, &str, bool); 5] = [
        (
            "requester_member",
            "The request ticket is chosen and its requester is a member",
            &member,
            true,
        ),
        (
            "type_confirmed",
            "The requester confirmed which type of shared organization is desired",
            "The chosen comment is the customer's public comment on the ticket.",
            true,
        ),
        (
            "risk_approved",
            "The requester, on behalf of the organization, approved the security risk",
            "The chosen comment is the customer's public comment on the ticket.",
            enabling,
        ),
        (
            "not_blocked",
            "No note says we will not enable a shared organization for them",
            &not_blocked,
            enabling,
        ),
        (
            "value_changes",
            "The new mode differs from the current one",
            &changes,
            true,
        ),
    ];
    lines
        .into_iter()
        .map(|(code, label, ok, needed)| {
            let mine: Vec<&str> = failed
                .iter()
                .filter(|f| {
                    f.code == code || (code == "requester_member" && f.code == "ticket_exists")
                })
                .map(|f| f.message.as_str())
                .collect();
            let (state, message) = if !mine.is_empty() {
                ("missing", mine.join(" "))
            } else if !needed {
                ("na", "Not needed to disable sharing.".to_owned())
            } else {
                ("done", ok.to_owned())
            };
            Check {
                code,
                label,
                state,
                message,
            }
        })
        .collect()
}

/// Whether links built from the public URL (Details lines, emails) cannot be right: it
/// is still the built-in default, or its host is not the one this page was served from
/// (`Host`, or `X-Forwarded-Host` behind a proxy). The warning, in words; used by the
/// sharing panel and the settings page alike.
pub(super) fn public_url_warning(configured: &str, headers: &HeaderMap) -> Option<String> {
    let configured = configured.trim().trim_end_matches('/');
    if configured.is_empty() || configured == ferrodesk_app::settings::DEFAULT_PUBLIC_BASE_URL {
        return Some(format!(
            "Links in Details lines and emails point to {}, which customers cannot open.",
            ferrodesk_app::settings::DEFAULT_PUBLIC_BASE_URL
        ));
    }
    /// `host[:port]` in lower case, without the scheme's default port.
    fn authority(a: &str, scheme: &str) -> String {
        let a = a.trim().to_ascii_lowercase();
        let default = if scheme == "https" { ":443" } else { ":80" };
        a.strip_suffix(default).map(str::to_owned).unwrap_or(a)
    }
    let (scheme, rest) = configured.split_once("://").unwrap_or(("http", configured));
    let scheme = scheme.to_ascii_lowercase();
    let want = authority(rest.split('/').next().unwrap_or_default(), &scheme);
    let served = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| authority(v, &scheme))?;
    (served != want).then(|| {
        format!(
            "Links in Details lines and emails point to {configured}, but this page was served from {served}: customers may not be able to open them."
        )
    })
}

/// The sharing log of an organization: every change the workflow made, oldest first, from
/// its record (written in the same transaction as the audit event). Editing Details never
/// changes it.
pub(super) async fn sharing_log(
    app: &App,
    s: &Session,
    org: OrganizationId,
) -> Result<Vec<LogRow>, UiError> {
    let mut names = Names {
        app,
        s,
        known: HashMap::new(),
    };
    let mut rows = Vec::new();
    for h in app.sharing_history(&s.p, org).await? {
        let mut evidence = format!("Type confirmed by {}", names.get(h.type_confirmed_by).await);
        if let Some(by) = h.risk_approved_by {
            evidence.push_str(&format!(
                "; security risk approved by {}",
                names.get(by).await
            ));
        }
        evidence.push('.');
        rows.push(LogRow {
            at: when(&h.created_at),
            admin: names.get(h.admin_id).await,
            change: format!("{} → {}", short(h.sharing_before), short(h.sharing_after)),
            ticket_id: h.ticket_id,
            ticket_subject: app
                .get_ticket(&s.p, TicketId(h.ticket_id))
                .await
                .map(|t| t.subject)
                .unwrap_or_default(),
            evidence,
            line: h.details_line,
        });
    }
    Ok(rows)
}

/// Admins, on a ticket page: the organizations of the ticket's requester whose sharing
/// they may change from this ticket (`(id, name)`), each opening the sharing panel with
/// the ticket chosen. Nothing for agents.
pub(super) async fn sharing_actions(
    app: &App,
    s: &Session,
    requester_organizations: &[i64],
) -> Vec<(i64, String)> {
    if !s.is_admin() {
        return Vec::new();
    }
    // One statement for all of them (an admin may read every organization's name).
    let names = app
        .organization_names(&s.p, requester_organizations)
        .await
        .unwrap_or_default();
    requester_organizations
        .iter()
        .filter_map(|id| names.get(id).map(|n| (*id, n.clone())))
        .collect()
}

async fn panel(
    app: &App,
    s: &Session,
    org: &OrganizationOut,
    member_ids: &[i64],
    choice: &Choice,
    failed: Option<(Sharing, Vec<FieldError>)>,
    headers: &HeaderMap,
) -> Result<Panel, UiError> {
    let org_id = OrganizationId(org.id);
    let can_change = s.is_admin();
    let mut names = Names {
        app,
        s,
        known: HashMap::new(),
    };
    let chosen = parse_id(&choice.ticket_id);
    let mut tickets = vec![Opt::none("— choose the request ticket —", chosen.is_none())];
    let mut ticket = None;
    let mut requester_member = None;
    let mut comments = Vec::new();
    let mut url_warning = None;
    if can_change {
        let settings = app.get_settings(&s.p).await?;
        url_warning = public_url_warning(&settings.public_base_url, headers);
        let page = app
            .list_tickets(
                &s.p,
                TicketFilter {
                    organization_id: Some(org_id),
                    ..Default::default()
                },
                None,
                Some(50),
            )
            .await?;
        for t in &page.items {
            tickets.push(Opt::new(
                t.id,
                format!("#{} {} ({})", t.id, t.subject, t.status),
                Some(t.id) == chosen,
            ));
        }
        if let Some(id) = chosen {
            match app.get_ticket(&s.p, TicketId(id)).await {
                Ok(t) => {
                    if !page.items.iter().any(|x| x.id == id) {
                        tickets.push(Opt::new(
                            t.id,
                            format!("#{} {} ({})", t.id, t.subject, t.status),
                            true,
                        ));
                    }
                    requester_member = Some(member_ids.contains(&t.requester_id));
                    let requester = names.get(t.requester_id).await;
                    for c in all_comments(app, s, TicketId(id)).await? {
                        if !c.public || !member_ids.contains(&c.author_id) {
                            continue;
                        }
                        let mut excerpt: String = c.body.chars().take(280).collect();
                        if c.body.chars().count() > 280 {
                            excerpt.push('…');
                        }
                        comments.push(Evidence {
                            type_selected: choice.type_confirmed_comment_id.trim()
                                == c.id.to_string(),
                            risk_selected: choice.risk_approved_comment_id.trim()
                                == c.id.to_string(),
                            id: c.id,
                            author: c.author_name,
                            at: when(&c.created_at),
                            excerpt,
                        });
                    }
                    ticket = Some(RequestTicket {
                        id: t.id,
                        subject: t.subject,
                        requester,
                    });
                }
                Err(AppError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let (checks, ran) = match failed {
        Some((to, errors)) => (checks_after(to, &errors, org, ticket.as_ref()), true),
        None => (
            checks_before(org, ticket.as_ref(), requester_member, choice, &comments),
            false,
        ),
    };
    let targets: Vec<Sharing> = [Sharing::ReadOnly, Sharing::ReadWrite, Sharing::OwnOnly]
        .into_iter()
        .filter(|t| *t != org.sharing)
        .collect();
    let actions = targets
        .iter()
        .map(|t| Action {
            value: t.as_str(),
            label: match t {
                Sharing::ReadOnly => "Enable read only",
                Sharing::ReadWrite => "Enable read+write",
                Sharing::OwnOnly => "Disable sharing",
            },
            primary: *t != Sharing::OwnOnly,
        })
        .collect();
    let mut previews = Vec::new();
    for t in &targets {
        let p = app.sharing_preview(&s.p, org_id, *t).await?;
        previews.push(preview_view(*t, &p));
    }
    Ok(Panel {
        can_change,
        tickets,
        ticket,
        comments,
        checks,
        ran,
        actions,
        previews,
        url_warning,
    })
}

struct PageState {
    notes: Option<String>,
    errors: Errors,
    notice: Option<String>,
    choice: Choice,
    failed: Option<(Sharing, Vec<FieldError>)>,
}

async fn org_page(
    app: &App,
    s: &Session,
    id: i64,
    st: PageState,
    headers: &HeaderMap,
) -> Result<OrgPage, UiError> {
    let org = app.get_organization(&s.p, OrganizationId(id)).await?;
    let users = app
        .list_users(
            &s.p,
            UserFilter {
                organization_id: Some(OrganizationId(id)),
                ..Default::default()
            },
            None,
            Some(100),
        )
        .await?
        .items;
    let member_ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let members = users
        .into_iter()
        .map(|u| Member {
            default: u.default_organization_id == Some(id),
            name: u.name,
            email: u.email.unwrap_or_default(),
            access: u.access.map_or("", access_label),
        })
        .collect();
    let panel = panel(app, s, &org, &member_ids, &st.choice, st.failed, headers).await?;
    let log = sharing_log(app, s, OrganizationId(id)).await?;
    let mut layout = s.layout(org.name.clone(), "organizations");
    layout.notice = st.notice;
    Ok(OrgPage {
        layout,
        sharing: sharing_text(org.sharing),
        notes: st
            .notes
            .unwrap_or_else(|| org.notes.clone().unwrap_or_default()),
        org,
        members,
        errors: st.errors,
        panel,
        log,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShowParams {
    done: String,
    #[serde(flatten)]
    choice: Choice,
}

async fn show(
    State(app): State<App>,
    s: Session,
    headers: HeaderMap,
    PagePath(id): PagePath<i64>,
    Query(q): Query<ShowParams>,
) -> Result<Response, UiError> {
    if !s.is_staff() {
        return Ok(Redirect::to("/portal/organization").into_response());
    }
    let notice = match q.done.as_str() {
        "notes" => Some("Notes saved.".to_owned()),
        "sharing" => Some(
            "Sharing changed. The Details line was added, the confirmation comment was posted \
             on the request ticket and the ticket is Resolved."
                .to_owned(),
        ),
        _ => None,
    };
    let st = PageState {
        notes: None,
        errors: Errors::new(),
        notice,
        choice: q.choice,
        failed: None,
    };
    Ok(html(&org_page(&app, &s, id, st, &headers).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NotesForm {
    notes: String,
}

async fn save_notes(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Post { s, form }: Post<NotesForm>,
) -> Result<Response, UiError> {
    let input = OrganizationIn {
        notes: Some(form.notes.clone()),
        ..Default::default()
    };
    let errors = match app
        .update_organization(&s.p, OrganizationId(id), input)
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/agent/organizations/{id}?done=notes")).into_response(),
            );
        }
        Err(e) => field_errors(e)?,
    };
    let st = PageState {
        notes: Some(form.notes),
        errors,
        notice: None,
        choice: Choice::default(),
        failed: None,
    };
    let page = org_page(&app, &s, id, st, &headers).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// Runs the sharing workflow with what the admin chose. Refused pre-checks come back as
/// the checklist, with the choices kept.
async fn change_sharing(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Post { s, form }: Post<Choice>,
) -> Result<Response, UiError> {
    let Ok(to) = Sharing::parse(form.sharing.trim()) else {
        return Err(UiError::BadForm);
    };
    let failed = match parse_id(&form.ticket_id) {
        None => vec![FieldError::new(
            "ticket_id",
            "ticket_exists",
            "Choose the ticket in which the customer asked for the change.",
        )],
        Some(ticket_id) => {
            let input = SharingChangeIn {
                ticket_id,
                sharing: to,
                type_confirmed_comment_id: parse_id(&form.type_confirmed_comment_id),
                risk_approved_comment_id: if to == Sharing::OwnOnly {
                    None
                } else {
                    parse_id(&form.risk_approved_comment_id)
                },
            };
            match app.change_sharing(&s.p, OrganizationId(id), input).await {
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("/agent/organizations/{id}?done=sharing"))
                            .into_response(),
                    );
                }
                Err(AppError::PrechecksFailed(list)) => list,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let st = PageState {
        notes: None,
        errors: Errors::new(),
        notice: None,
        choice: form,
        failed: Some((to, failed)),
    };
    let page = org_page(&app, &s, id, st, &headers).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(host: &str, forwarded: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(f) = forwarded {
            h.insert("x-forwarded-host", f.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_public_url_warning_fires_for_the_default_and_for_another_host() {
        let local = served("127.0.0.1:8080", None);
        let w = public_url_warning("http://127.0.0.1:8080", &local).unwrap();
        assert!(w.contains("which customers cannot open"), "{w}");
        assert!(public_url_warning("", &local).is_some());
        let desk = served("desk.example.com", None);
        assert_eq!(public_url_warning("https://desk.example.com/", &desk), None);
        assert_eq!(
            public_url_warning("https://Desk.Example.com:443", &desk),
            None
        );
        let w = public_url_warning("https://old.example.com", &desk).unwrap();
        assert!(
            w.contains(
                "point to https://old.example.com, but this page was served from desk.example.com"
            ),
            "{w}"
        );
        // Behind a proxy, the address people typed is the forwarded one.
        let proxied = served("127.0.0.1:3000", Some("desk.example.com"));
        assert_eq!(
            public_url_warning("https://desk.example.com", &proxied),
            None
        );
        assert!(public_url_warning("https://desk.example.com:8443", &desk).is_some());
    }
}
