//! The customer portal: my requests, organization requests, requests I'm CC'd on, new
//! request and the request page. What a customer sees comes from the use cases, which
//! already leave out private notes and internal fields for end users; the reply box is
//! shown only when the policy would accept a comment (`ticket_access(..).comment`).

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{CommentIn, TicketIn, TicketOut};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{OrganizationId, Sharing, TicketId, UserAccess, UserId};
use ferrodesk_store::scope::TicketFilter;
use serde::Deserialize;

use super::view::{FileView, Layout, Opt, file_limits, file_views, when};
use super::{
    Errors, MultipartPost, PagePath, Session, UiError, field_errors, html, html_status, opt_id,
};

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
        .route(
            "/portal/requests/{id}/comments",
            post(comment).layer(DefaultBodyLimit::disable()),
        )
}

struct Row {
    id: i64,
    subject: String,
    status: String,
    updated: String,
    yours: bool,
}

fn rows(s: &Session, items: &[TicketOut]) -> Vec<Row> {
    items
        .iter()
        .map(|t| Row {
            id: t.id,
            subject: t.subject.clone(),
            status: t.status.clone(),
            updated: when(&t.updated_at),
            yours: t.requester_id == s.p.user.id.0,
        })
        .collect()
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
    let mut layout = s.layout("My requests", "mine");
    if q.done == "created" {
        layout.notice = Some("Your request was sent.".into());
    }
    Ok(html(&ListPage {
        layout,
        heading: "My requests".into(),
        sections: vec![Section {
            heading: String::new(),
            intro: None,
            rows: rows(&s, &page.items),
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
            rows: rows(&s, &page.items),
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
    Ok(html(&ListPage {
        layout: s.layout("Requests I'm CC'd on", "cc"),
        heading: "Requests I'm CC'd on".into(),
        sections: vec![Section {
            heading: String::new(),
            intro: None,
            rows: rows(&s, &found),
            empty: "Nobody has copied you on a request.".into(),
            next_href: None,
        }],
    }))
}

// ------------------------------------------------------------------ request page

struct CommentView {
    author: String,
    body: String,
    at: String,
    files: Vec<FileView>,
}

#[derive(Template)]
#[template(path = "portal_ticket.html")]
struct TicketPage {
    layout: Layout,
    t: TicketOut,
    comments: Vec<CommentView>,
    can_reply: bool,
    yours: bool,
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
    let comments = super::agent::all_comments(app, s, TicketId(id))
        .await?
        .into_iter()
        .filter(|c| c.public)
        .map(|c| CommentView {
            files: file_views(&c.attachments),
            author: c.author_name,
            body: c.body,
            at: when(&c.created_at),
        })
        .collect();
    let mut layout = s.layout(t.subject.clone(), "");
    layout.notice = notice;
    Ok(TicketPage {
        layout,
        yours: t.requester_id == s.p.user.id.0,
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
    let notice = (q.done == "reply").then(|| "Your reply was sent.".to_owned());
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
        Err(e) => field_errors(as_request(e))?,
    };
    if errors.contains_key("body") && form.body.trim().is_empty() {
        errors.insert("body".into(), "Write your reply before sending it.".into());
    }
    let mut files_error = errors.remove("upload_tokens");
    if !files.is_empty() {
        // A file input cannot be filled in again by the page: say so.
        files_error
            .get_or_insert_with(|| "Your files were not attached: choose them again.".into());
    }
    let error = (!errors.is_empty()).then(|| errors.into_values().collect::<Vec<_>>().join("; "));
    let draft = ReplyDraft {
        body: form.body,
        error,
        files_error,
    };
    let page = ticket_page(&app, &s, id, draft, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
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
    /// The size limits of files, in words.
    file_limits: String,
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
    let mut out = Vec::new();
    for o in &s.p.user.organization_ids {
        let org = app.get_organization(&s.p, *o).await?;
        out.push(Opt::new(org.id, org.name, Some(org.id) == default));
    }
    Ok(out)
}

async fn new_form(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    Ok(html(&NewPage {
        layout: s.layout("New request", "new"),
        subject: String::new(),
        description: String::new(),
        organizations: organization_options(&app, &s, None).await?,
        errors: Errors::new(),
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
                let to = if post.s.is_staff() {
                    format!("/agent/tickets/{}?done=created", t.id)
                } else {
                    "/portal?done=created".to_owned()
                };
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => errors = field_errors(e)?,
        }
    }
    let MultipartPost { s, form, files } = post;
    if let Some(e) = errors.remove("upload_tokens") {
        errors.insert("files".into(), e);
    }
    if !files.is_empty() {
        // A file input cannot be filled in again by the page: say so.
        errors
            .entry("files".into())
            .or_insert_with(|| "Your files were not attached: choose them again.".into());
    }
    let page = NewPage {
        layout: s.layout("New request", "new"),
        organizations: organization_options(&app, &s, organization_id).await?,
        subject: form.subject,
        description: form.description,
        errors,
        file_limits: file_limits(&app),
    };
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
