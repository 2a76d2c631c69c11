//! Organization pages for agents: the list, and one organization's details, notes
//! (agents may edit them), members and its sharing mode. Sharing changes only through
//! the sharing workflow (SPEC §2.1), whose panel is not here yet.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::App;
use ferrodesk_app::dto::{OrganizationIn, OrganizationOut};
use ferrodesk_core::{OrganizationId, Sharing};
use ferrodesk_store::directory::UserFilter;
use serde::Deserialize;

use super::view::Layout;
use super::{Errors, Post, Session, UiError, field_errors, html, html_status};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/agent/organizations", get(list))
        .route("/agent/organizations/{id}", get(show))
        .route("/agent/organizations/{id}/notes", post(save_notes))
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

#[derive(Template)]
#[template(path = "org_list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<OrgRow>,
    next_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    cursor: String,
    done: String,
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
    Ok(html(&ListPage {
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

struct Member {
    name: String,
    email: String,
    access: String,
    default: bool,
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
}

async fn org_page(
    app: &App,
    s: &Session,
    id: i64,
    notes: Option<String>,
    errors: Errors,
    notice: Option<String>,
) -> Result<OrgPage, UiError> {
    let org = app.get_organization(&s.p, OrganizationId(id)).await?;
    let members = app
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
        .items
        .into_iter()
        .map(|u| Member {
            default: u.default_organization_id == Some(id),
            name: u.name,
            email: u.email.unwrap_or_default(),
            access: u.access.map(|a| a.to_string()).unwrap_or_default(),
        })
        .collect();
    let mut layout = s.layout(org.name.clone(), "organizations");
    layout.notice = notice;
    Ok(OrgPage {
        layout,
        sharing: sharing_text(org.sharing),
        notes: notes.unwrap_or_else(|| org.notes.clone().unwrap_or_default()),
        org,
        members,
        errors,
    })
}

async fn show(
    State(app): State<App>,
    s: Session,
    Path(id): Path<i64>,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    if !s.is_staff() {
        return Ok(Redirect::to("/portal/organization").into_response());
    }
    let notice = (q.done == "notes").then(|| "Notes saved.".to_owned());
    Ok(html(
        &org_page(&app, &s, id, None, Errors::new(), notice).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NotesForm {
    notes: String,
}

async fn save_notes(
    State(app): State<App>,
    Path(id): Path<i64>,
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
    let page = org_page(&app, &s, id, Some(form.notes), errors, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
