//! The customer portal: my requests, organization requests, requests I'm CC'd on, new
//! request and the request page. What a customer sees comes from the use cases, which
//! already leave out private notes and internal fields for end users; the reply box is
//! shown only when the policy would accept a comment (`ticket_access(..).comment`).
//! The requester marks their own open request solved through the API's use case for an
//! end user's status change (`update_ticket`, which allows them only a resolved status).
//! Refusals are said in the customer's words under the field they concern.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{CommentIn, TicketIn, TicketOut, TicketPatch};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::validate::FieldError;
use ferrodesk_core::{OrganizationId, Sharing, StatusCategory, TicketId, UserAccess, UserId};
use ferrodesk_store::scope::TicketFilter;
use serde::Deserialize;

use super::view::{Clock, FileView, Layout, Moment, Opt, file_limits, file_views};
use super::{Errors, MultipartPost, PagePath, Post, Session, UiError, html, html_status, opt_id};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/portal", get(mine))
        .route("/portal/organization", get(organization))
        .route("/portal/cc", get(cc))
        // Forms with files: `guard::limit_body` caps their bodies (`takes_files`).
        .route(
            "/portal/requests",
            post(create).layer(DefaultBodyLimit::disable()),
        )
        .route("/portal/requests/new", get(new_form))
        .route("/portal/requests/{id}", get(show))
        .route("/portal/requests/{id}/solve", post(solve))
        .route(
            "/portal/requests/{id}/comments",
            post(comment).layer(DefaultBodyLimit::disable()),
        )
}

struct Row {
    id: i64,
    subject: String,
    status: String,
    updated: Moment,
    /// Whose request it is when it is not the customer's own, in words.
    whose: Option<Whose>,
    /// The organization it belongs to, for a customer in several organizations.
    organization: Option<String>,
}

/// How a request that is not the customer's own reaches them.
enum Whose {
    /// They are copied on it (whoever asked, in whichever organization).
    Copied { asked_by: Option<String> },
    /// A colleague's request, seen because their organization shares requests.
    Colleague { asked_by: Option<String> },
}

impl Whose {
    fn of(s: &Session, t: &TicketOut, names: &[(i64, String)]) -> Option<Whose> {
        let me = s.p.user.id.0;
        if t.requester_id == me {
            return None;
        }
        let asked_by = names
            .iter()
            .find(|(id, _)| *id == t.id)
            .map(|(_, n)| n.clone());
        Some(if t.cc_ids.contains(&me) {
            Whose::Copied { asked_by }
        } else {
            Whose::Colleague { asked_by }
        })
    }

    fn copied(&self) -> bool {
        matches!(self, Whose::Copied { .. })
    }

    /// "Asked by Gina Globex", when the name is known.
    fn asked_by(&self) -> Option<String> {
        match self {
            Whose::Copied { asked_by } | Whose::Colleague { asked_by } => {
                asked_by.as_ref().map(|n| format!("Asked by {n}"))
            }
        }
    }
}

/// The names of the customer's organizations (the only ones they may read).
async fn my_organizations(app: &App, s: &Session) -> Result<Vec<(i64, String)>, UiError> {
    let mut out = Vec::new();
    for o in &s.p.user.organization_ids {
        let org = app.get_organization(&s.p, *o).await?;
        out.push((org.id, org.name));
    }
    Ok(out)
}

/// The organization of a request in words, for a customer in several organizations.
fn organization_of(orgs: &[(i64, String)], t: &TicketOut) -> Option<String> {
    if orgs.len() < 2 {
        return None;
    }
    let o = t.organization_id?;
    orgs.iter().find(|(id, _)| *id == o).map(|(_, n)| n.clone())
}

async fn rows(
    app: &App,
    s: &Session,
    items: &[TicketOut],
    orgs: &[(i64, String)],
) -> Result<Vec<Row>, UiError> {
    let others: Vec<TicketId> = items
        .iter()
        .filter(|t| t.requester_id != s.p.user.id.0)
        .map(|t| TicketId(t.id))
        .collect();
    let names = if others.is_empty() {
        Vec::new()
    } else {
        app.requester_names(&s.p, &others).await?
    };
    let clock = Clock::for_person(app, &s.p).await?;
    Ok(items
        .iter()
        .map(|t| Row {
            id: t.id,
            subject: t.subject.clone(),
            status: t.status.clone(),
            updated: clock.moment(&t.updated_at),
            whose: Whose::of(s, t, &names),
            organization: organization_of(orgs, t),
        })
        .collect())
}

/// One list of requests, with a heading and what to say when it is empty.
struct Section {
    heading: String,
    intro: Option<String>,
    rows: Vec<Row>,
    empty: String,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "portal_list.html")]
struct ListPage {
    layout: Layout,
    heading: String,
    sections: Vec<Section>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageParams {
    cursor: String,
    done: String,
}

async fn mine(
    State(app): State<App>,
    s: Session,
    Query(q): Query<PageParams>,
) -> Result<Response, UiError> {
    let filter = TicketFilter {
        requester_id: Some(UserId(s.p.user.id.0)),
        ..Default::default()
    };
    let cursor = (!q.cursor.is_empty()).then_some(q.cursor.as_str());
    let page = app.list_tickets(&s.p, filter, cursor, Some(25)).await?;
    let orgs = my_organizations(&app, &s).await?;
    Ok(html(&ListPage {
        layout: s.layout("My requests", "mine"),
        heading: "My requests".into(),
        sections: vec![Section {
            heading: String::new(),
            intro: None,
            rows: rows(&app, &s, &page.items, &orgs).await?,
            empty: "You have not sent any requests yet.".into(),
            next_href: page.next_cursor.map(|c| format!("/portal?cursor={c}")),
        }],
    }))
}

/// The tickets of each of my organizations that the policy lets me see.
async fn organization(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    let mut sections = Vec::new();
    for org_id in &s.p.user.organization_ids {
        let org = app.get_organization(&s.p, *org_id).await?;
        let filter = TicketFilter {
            organization_id: Some(OrganizationId(org.id)),
            ..Default::default()
        };
        let page = app.list_tickets(&s.p, filter, None, Some(100)).await?;
        let shares = org.sharing != Sharing::OwnOnly || s.p.user.access == UserAccess::Organization;
        let intro = match (org.sharing, s.p.user.access) {
            (Sharing::ReadWrite, _) => {
                "Members of this organization see and reply to each other's requests."
            }
            (Sharing::ReadOnly, _) | (_, UserAccess::Organization) => {
                "You can see your colleagues' requests in this organization, and reply on your own."
            }
            _ => "This organization does not share requests: you see only your own here.",
        };
        sections.push(Section {
            heading: org.name,
            intro: Some(intro.into()),
            rows: rows(&app, &s, &page.items, &[]).await?,
            empty: if shares {
                "No requests in this organization yet.".into()
            } else {
                "No requests of yours in this organization.".into()
            },
            next_href: None,
        });
    }
    if sections.is_empty() {
        sections.push(Section {
            heading: String::new(),
            intro: None,
            rows: Vec::new(),
            empty: "You do not belong to an organization.".into(),
            next_href: None,
        });
    }
    Ok(html(&ListPage {
        layout: s.layout("Organization requests", "organization"),
        heading: "Organization requests".into(),
        sections,
    }))
}

/// Requests others sent with me in copy: the ticket list filtered by CC, within what the
/// policy lets me see.
async fn cc(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    let me = s.p.user.id;
    let filter = TicketFilter {
        cc_id: Some(me),
        ..TicketFilter::default()
    };
    let page = app.list_tickets(&s.p, filter, None, Some(100)).await?;
    let found: Vec<_> = page
        .items
        .into_iter()
        .filter(|t| t.requester_id != me.0)
        .collect();
    let orgs = my_organizations(&app, &s).await?;
    Ok(html(&ListPage {
        layout: s.layout("Requests I'm CC'd on", "cc"),
        heading: "Requests I'm CC'd on".into(),
        sections: vec![Section {
            heading: String::new(),
            intro: None,
            rows: rows(&app, &s, &found, &orgs).await?,
            empty: "Nobody has copied you on a request.".into(),
            next_href: None,
        }],
    }))
}

// ------------------------------------------------------------------ request page

struct CommentView {
    author: String,
    /// The text as safe HTML (`view::comment_html`).
    body_html: String,
    at: Moment,
    files: Vec<FileView>,
}

#[derive(Template)]
#[template(path = "portal_ticket.html")]
struct TicketPage {
    layout: Layout,
    t: TicketOut,
    comments: Vec<CommentView>,
    can_reply: bool,
    /// Not the customer's own request: copied on it, or a colleague's.
    whose: Option<Whose>,
    /// The organization it belongs to, for a customer in several organizations.
    organization: Option<String>,
    /// "Mark as solved": the requester's own request that is not solved or closed yet.
    can_solve: bool,
    /// Why marking it solved did not happen.
    solve_error: Option<String>,
    body: String,
    error: Option<String>,
    /// What went wrong with the files.
    files_error: Option<String>,
    /// The size limits of files, in words.
    file_limits: String,
}

/// The reply form as sent, and what was wrong with it.
#[derive(Default)]
struct ReplyDraft {
    body: String,
    error: Option<String>,
    files_error: Option<String>,
    solve_error: Option<String>,
}

async fn ticket_page(
    app: &App,
    s: &Session,
    id: i64,
    draft: ReplyDraft,
    notice: Option<String>,
) -> Result<TicketPage, UiError> {
    let t = app
        .get_ticket(&s.p, TicketId(id))
        .await
        .map_err(as_request)?;
    let decision = app.ticket_access(&s.p, TicketId(id)).await?;
    let clock = Clock::for_person(app, &s.p).await?;
    let comments = super::agent_ticket::all_comments(app, s, TicketId(id))
        .await?
        .into_iter()
        .filter(|c| c.public)
        .map(|c| CommentView {
            files: file_views(&c.attachments),
            author: c.author_name,
            body_html: super::view::comment_html(&c.body),
            at: clock.moment(&c.created_at),
        })
        .collect();
    let mut layout = s.layout(t.subject.clone(), "");
    layout.notice = notice;
    let names = if t.requester_id == s.p.user.id.0 {
        Vec::new()
    } else {
        app.requester_names(&s.p, &[TicketId(t.id)]).await?
    };
    let orgs = my_organizations(app, s).await?;
    let yours = t.requester_id == s.p.user.id.0;
    Ok(TicketPage {
        layout,
        whose: Whose::of(s, &t, &names),
        organization: organization_of(&orgs, &t),
        // As `update_ticket` decides: the requester, who may comment, on a request not
        // solved or closed yet.
        can_solve: yours
            && decision.comment
            && matches!(
                t.status_category,
                StatusCategory::Open | StatusCategory::Pending
            ),
        solve_error: draft.solve_error,
        t,
        comments,
        can_reply: decision.comment,
        body: draft.body,
        error: draft.error,
        files_error: draft.files_error,
        file_limits: file_limits(app),
    })
}

/// Customers call their tickets requests: "No such request".
fn as_request(e: AppError) -> AppError {
    match e {
        AppError::NotFound("ticket") => AppError::NotFound("request"),
        e => e,
    }
}

async fn show(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(q): Query<PageParams>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_str() {
        "reply" => Some("Your reply was sent."),
        "created" => Some("Your request was sent. We will answer here."),
        "solved" => Some("Your request is marked as solved. If you reply, it opens again."),
        _ => None,
    }
    .map(str::to_owned);
    Ok(html(
        &ticket_page(&app, &s, id, ReplyDraft::default(), notice).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReplyForm {
    body: String,
}

async fn comment(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    post: MultipartPost<ReplyForm>,
) -> Result<Response, UiError> {
    let upload_tokens = post.upload(&app).await?;
    let MultipartPost { s, form, files } = post;
    let result = app
        .add_comment(
            &s.p,
            TicketId(id),
            CommentIn {
                body: form.body.clone(),
                public: Some(true),
                upload_tokens,
            },
        )
        .await;
    let mut errors = match result {
        Ok(_) => {
            return Ok(Redirect::to(&format!("/portal/requests/{id}?done=reply")).into_response());
        }
        Err(e) => in_words(as_request(e))?,
    };
    let mut files_error = errors.remove("files");
    if !files.is_empty() {
        // A file input cannot be filled in again by the page: say so.
        files_error
            .get_or_insert_with(|| "Your files were not attached: choose them again.".into());
    }
    let error = (!errors.is_empty()).then(|| errors.into_values().collect::<Vec<_>>().join(" "));
    let draft = ReplyDraft {
        body: form.body,
        error,
        files_error,
        solve_error: None,
    };
    let page = ticket_page(&app, &s, id, draft, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SolveForm {
    /// The version the page showed: a request changed since (an answer came in) is not
    /// marked solved before the customer has read it.
    version: String,
}

/// "Mark as solved": the requester sets their request to Resolved through the API's use
/// case (`update_ticket`: an end user may set only a resolved status, on their own request).
async fn solve(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<SolveForm>,
) -> Result<Response, UiError> {
    let version = form.version.trim().parse::<i64>().ok();
    let patch = TicketPatch {
        status: Some("Resolved".into()),
        ..Default::default()
    };
    let refused = match app.update_ticket(&s.p, TicketId(id), version, patch).await {
        Ok(_) => {
            return Ok(Redirect::to(&format!("/portal/requests/{id}?done=solved")).into_response());
        }
        Err(AppError::Stale { .. }) => {
            "This request changed while you were reading it. Read the latest below, then mark it as solved again if it is.".to_owned()
        }
        Err(e) => in_words(as_request(e))?
            .into_values()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let draft = ReplyDraft {
        solve_error: Some(refused),
        ..ReplyDraft::default()
    };
    let page = ticket_page(&app, &s, id, draft, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ------------------------------------------------------------------ refusals in words

/// A use case's refusal of a customer's form, by field, in the customer's words (the
/// fields as the form names them: `files` for the files). Other refusals are error pages.
fn in_words(e: AppError) -> Result<Errors, UiError> {
    match e {
        AppError::Invalid(list) => {
            let mut out = Errors::new();
            for fe in &list {
                let (field, text) = said(fe);
                out.entry(field)
                    .and_modify(|m: &mut String| {
                        m.push(' ');
                        m.push_str(&text);
                    })
                    .or_insert(text);
            }
            Ok(out)
        }
        e => Err(e.into()),
    }
}

/// The number in a message such as "subject must be at most 250 characters".
fn number_in(message: &str) -> Option<String> {
    message
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())
        .map(str::to_owned)
}

/// One refusal in the customer's words, and the form field it belongs under.
fn said(fe: &FieldError) -> (String, String) {
    let field = match fe.field.as_str() {
        "upload_tokens" => "files",
        f => f,
    };
    let at_most = || number_in(&fe.message).unwrap_or_else(|| "fewer".into());
    let text = match (field, fe.code.as_str()) {
        ("subject", "required") => "Write a subject: a few words about what you need.".into(),
        ("subject", "too_long") => {
            format!("Shorten the subject to at most {} characters.", at_most())
        }
        ("subject", "invalid_characters") if fe.message.contains("single line") => {
            "Write the subject on one line.".into()
        }
        ("description", "required") => "Tell us how we can help: describe what you need.".into(),
        ("description", "too_long") => format!(
            "Shorten the description to at most {} characters.",
            at_most()
        ),
        ("body", "required") => "Write your reply before sending it.".into(),
        ("body", "too_long") => format!("Shorten your reply to at most {} characters.", at_most()),
        ("subject" | "description" | "body", "invalid_characters") => {
            "Remove the invisible control characters (pasted from another program?).".into()
        }
        ("organization_id", _) => "Choose one of your organizations from the list.".into(),
        ("status" | "status_id", _) => "You can only mark your own request as solved.".into(),
        _ => sentence(&fe.message),
    };
    (field.to_owned(), text)
}

/// A use case's message as a sentence: capital first letter, final full stop.
fn sentence(message: &str) -> String {
    let mut c = message.trim().chars();
    let mut out: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

// ------------------------------------------------------------------ new request

#[derive(Template)]
#[template(path = "portal_new.html")]
struct NewPage {
    layout: Layout,
    subject: String,
    description: String,
    organizations: Vec<Opt>,
    errors: Errors,
    /// The refusals in the form's order, each with the field it belongs to (`#subject`).
    summary: Vec<(String, String)>,
    /// The size limits of files, in words.
    file_limits: String,
}

/// The refusals of the new request form in the order of its fields; each links to its
/// field (the organization's only when the form shows the choice).
fn summary(errors: &Errors, organizations: &[Opt]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in ["subject", "description", "organization_id", "files"] {
        if let Some(e) = errors.get(field) {
            let anchor = if field == "organization_id" && organizations.len() < 2 {
                String::new()
            } else {
                field.to_owned()
            };
            out.push((anchor, e.clone()));
        }
    }
    let mut rest: Vec<(&String, &String)> = errors
        .iter()
        .filter(|(k, _)| {
            !["subject", "description", "files", "organization_id"].contains(&k.as_str())
        })
        .collect();
    rest.sort();
    out.extend(rest.into_iter().map(|(_, e)| (String::new(), e.clone())));
    out
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewForm {
    subject: String,
    description: String,
    organization_id: String,
}

async fn organization_options(
    app: &App,
    s: &Session,
    selected: Option<i64>,
) -> Result<Vec<Opt>, UiError> {
    let default = selected.or(s.p.user.default_organization_id.map(|o| o.0));
    Ok(my_organizations(app, s)
        .await?
        .into_iter()
        .map(|(id, name)| Opt::new(id, name, Some(id) == default))
        .collect())
}

async fn new_form(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    Ok(html(&NewPage {
        layout: s.layout("New request", "new"),
        subject: String::new(),
        description: String::new(),
        organizations: organization_options(&app, &s, None).await?,
        errors: Errors::new(),
        summary: Vec::new(),
        file_limits: file_limits(&app),
    }))
}

async fn create(State(app): State<App>, post: MultipartPost<NewForm>) -> Result<Response, UiError> {
    let mut errors = Errors::new();
    let organization_id = opt_id(&mut errors, "organization_id", &post.form.organization_id);
    if errors.is_empty() {
        let upload_tokens = post.upload(&app).await?;
        let form = &post.form;
        let input = TicketIn {
            subject: form.subject.clone(),
            description: form.description.clone(),
            organization_id,
            upload_tokens,
            ..Default::default()
        };
        match app.create_ticket(&post.s.p, input).await {
            Ok(t) => {
                // The customer lands on the request they sent.
                let to = if post.s.is_staff() {
                    format!("/agent/tickets/{}?done=created", t.id)
                } else {
                    format!("/portal/requests/{}?done=created", t.id)
                };
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => errors = in_words(e)?,
        }
    }
    let MultipartPost { s, form, files } = post;
    if errors.contains_key("organization_id") {
        errors.insert(
            "organization_id".into(),
            "Choose one of your organizations from the list.".into(),
        );
    }
    if !files.is_empty() {
        // A file input cannot be filled in again by the page: say so.
        errors
            .entry("files".into())
            .or_insert_with(|| "Your files were not attached: choose them again.".into());
    }
    let organizations = organization_options(&app, &s, organization_id).await?;
    let page = NewPage {
        layout: s.layout("New request", "new"),
        summary: summary(&errors, &organizations),
        organizations,
        subject: form.subject,
        description: form.description,
        errors,
        file_limits: file_limits(&app),
    };
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
