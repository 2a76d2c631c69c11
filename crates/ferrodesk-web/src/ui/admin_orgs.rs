//! The organization editor (admins): create organizations, edit their name, email
//! domains, details, tags and the sharing block (with its reason), and add or remove
//! members. Sharing itself changes only through the sharing panel on the organization's
//! page (SPEC §2.1), never here.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{MembershipIn, OrganizationIn, OrganizationOut};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{OrganizationId, Role, UserId};
use ferrodesk_store::directory::UserFilter;
use serde::Deserialize;

use super::admin::{admin_only, form_errors};
use super::org::{LogRow, sharing_log};
use super::view::{Layout, Opt, Pager};
use super::{Errors, PagePath, Post, Session, UiError, html, html_status, opt_id};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/organizations", get(list).post(create))
        .route("/admin/organizations/{id}", get(edit).post(save))
        .route("/admin/organizations/{id}/members", post(add_member))
        .route(
            "/admin/organizations/{id}/members/{user}/remove",
            post(remove_member),
        )
}

/// An organization form as typed: lists as one comma- or line-separated text.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct OrgDraft {
    name: String,
    domain_names: String,
    details: String,
    tags: String,
    sharing_blocked: Option<String>,
    sharing_blocked_reason: String,
}

/// Splits a list typed as text (commas, spaces or new lines).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

impl OrgDraft {
    fn from_org(o: &OrganizationOut) -> OrgDraft {
        OrgDraft {
            name: o.name.clone(),
            domain_names: o.domain_names.join(", "),
            details: o.details.clone().unwrap_or_default(),
            tags: o.tags.join(", "),
            sharing_blocked: o.sharing_blocked.unwrap_or(false).then(|| "on".into()),
            sharing_blocked_reason: o.sharing_blocked_reason.clone().unwrap_or_default(),
        }
    }

    fn blocked(&self) -> bool {
        self.sharing_blocked.is_some()
    }

    fn input(&self) -> OrganizationIn {
        OrganizationIn {
            name: Some(self.name.trim().to_owned()),
            domain_names: Some(words(&self.domain_names)),
            details: Some(self.details.clone()),
            tags: Some(words(&self.tags)),
            sharing_blocked: Some(self.blocked()),
            sharing_blocked_reason: Some(self.sharing_blocked_reason.trim().to_owned()),
            ..Default::default()
        }
    }
}

/// The fields the form shows errors next to; others are listed above it.
const ORG_FIELDS: &[&str] = &[
    "name",
    "domain_names",
    "details",
    "tags",
    "sharing_blocked",
    "sharing_blocked_reason",
];

struct OrgForm {
    /// `None` when creating.
    id: Option<i64>,
    draft: OrgDraft,
    errors: Errors,
    others: Vec<String>,
    /// The sharing log, shown read-only above the free-text details (editing).
    log: Vec<LogRow>,
}

impl OrgForm {
    fn new(id: Option<i64>, draft: OrgDraft, errors: Errors) -> OrgForm {
        let others = errors
            .iter()
            .filter(|(k, _)| !ORG_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        OrgForm {
            id,
            draft,
            errors,
            others,
            log: Vec::new(),
        }
    }

    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/admin/organizations/{id}"),
            None => "/admin/organizations".into(),
        }
    }
}

struct Row {
    id: i64,
    name: String,
    domains: String,
    blocked: bool,
}

/// Organizations per page of the admin list.
const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin_orgs.html")]
struct ListPage {
    layout: Layout,
    tab: &'static str,
    rows: Vec<Row>,
    /// The search as typed.
    q: String,
    pager: Pager,
    form: OrgForm,
}

/// The list's query: a name to search for, and the page (from 1).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    q: String,
    page: String,
    done: String,
}

/// The address of a page of the list, with the search kept.
fn list_href(q: &str, page: i64) -> String {
    Pager::href("/admin/organizations", &[("q", q)], page)
}

fn pager(q: &str, page: i64, shown: usize, total: i64) -> Pager {
    let first = (page - 1) * PER_PAGE;
    let noun = if total == 1 {
        "organization"
    } else {
        "organizations"
    };
    let matching = if q.trim().is_empty() {
        String::new()
    } else {
        format!(" whose name contains “{}”", q.trim())
    };
    let summary = if shown == 0 || (first == 0 && total <= PER_PAGE) {
        format!("{total} {noun}{matching}")
    } else {
        format!(
            "{}–{} of {total} {noun}{matching}",
            first + 1,
            first + shown as i64
        )
    };
    Pager {
        summary,
        prev: (page > 1).then(|| list_href(q, page - 1)),
        next: (first + (shown as i64) < total && shown > 0).then(|| list_href(q, page + 1)),
    }
}

struct Member {
    id: i64,
    name: String,
    email: String,
    default: bool,
}

#[derive(Template)]
#[template(path = "admin_org.html")]
struct EditPage {
    layout: Layout,
    tab: &'static str,
    id: i64,
    current: String,
    form: OrgForm,
    members: Vec<Member>,
    /// End users who are not members yet.
    candidates: Vec<Opt>,
    member_errors: Errors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    done: String,
}

fn done_text(done: &str) -> Option<String> {
    match done {
        "created" => Some("Organization created.".into()),
        "saved" => Some("Organization saved.".into()),
        "member_added" => Some("Member added.".into()),
        "member_removed" => Some("Member removed.".into()),
        _ => None,
    }
}

async fn list_page(
    app: &App,
    s: &Session,
    query: &ListParams,
    form: Option<(OrgDraft, Errors)>,
    notice: Option<String>,
) -> Result<ListPage, UiError> {
    let page = query.page.trim().parse::<i64>().unwrap_or(1).max(1);
    let (orgs, total) = app
        .search_organizations(&s.p, &query.q, (page - 1) * PER_PAGE, Some(PER_PAGE))
        .await?;
    let pager = pager(&query.q, page, orgs.len(), total);
    let rows = orgs
        .into_iter()
        .map(|o| Row {
            id: o.id,
            name: o.name,
            domains: o.domain_names.join(", "),
            blocked: o.sharing_blocked.unwrap_or(false),
        })
        .collect();
    let (draft, errors) = form.unwrap_or_default();
    let mut layout = s.layout("Organizations", "admin");
    layout.notice = notice;
    Ok(ListPage {
        layout,
        tab: "organizations",
        rows,
        q: query.q.trim().to_owned(),
        pager,
        form: OrgForm::new(None, draft, errors),
    })
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &list_page(&app, &s, &q, None, done_text(&q.done)).await?,
    ))
}

async fn create(
    State(app): State<App>,
    Post { s, form }: Post<OrgDraft>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let errors = match app.create_organization(&s.p, form.input()).await {
        Ok(o) => {
            return Ok(
                Redirect::to(&format!("/admin/organizations/{}?done=created", o.id))
                    .into_response(),
            );
        }
        Err(e) => form_errors(e)?,
    };
    let page = list_page(&app, &s, &ListParams::default(), Some((form, errors)), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn edit_page(
    app: &App,
    s: &Session,
    id: i64,
    form: Option<(OrgDraft, Errors)>,
    member_errors: Errors,
    notice: Option<String>,
) -> Result<EditPage, UiError> {
    let org = app.get_organization(&s.p, OrganizationId(id)).await?;
    let members: Vec<Member> = app
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
            id: u.id,
            default: u.default_organization_id == Some(id),
            name: u.name,
            email: u.email.unwrap_or_default(),
        })
        .collect();
    let candidates = app
        .list_users(
            &s.p,
            UserFilter {
                role: Some(Role::EndUser),
                ..Default::default()
            },
            None,
            Some(100),
        )
        .await?
        .items
        .into_iter()
        .filter(|u| !members.iter().any(|m| m.id == u.id))
        .map(|u| {
            let label = match &u.email {
                Some(e) => format!("{} ({e})", u.name),
                None => u.name.clone(),
            };
            Opt::new(u.id, label, false)
        })
        .collect();
    let (draft, errors) = form.unwrap_or_else(|| (OrgDraft::from_org(&org), Errors::new()));
    let mut form = OrgForm::new(Some(id), draft, errors);
    form.log = sharing_log(app, s, OrganizationId(id)).await?;
    let mut layout = s.layout(format!("Organization {}", org.name), "admin");
    layout.notice = notice;
    Ok(EditPage {
        layout,
        tab: "organizations",
        id,
        current: org.name,
        form,
        members,
        candidates,
        member_errors,
    })
}

async fn edit(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &edit_page(&app, &s, id, None, Errors::new(), done_text(&q.done)).await?,
    ))
}

async fn save(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<OrgDraft>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let errors = match app
        .update_organization(&s.p, OrganizationId(id), form.input())
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/admin/organizations/{id}?done=saved")).into_response(),
            );
        }
        Err(e) => form_errors(e)?,
    };
    let page = edit_page(&app, &s, id, Some((form, errors)), Errors::new(), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn add_member(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let mut errors = Errors::new();
    let user = opt_id(
        &mut errors,
        "user_id",
        form.get("user_id").map_or("", String::as_str),
    );
    match user {
        None if errors.is_empty() => {
            errors.insert("user_id".into(), "choose an end user".into());
        }
        None => {}
        Some(user) => {
            let input = MembershipIn {
                default: form.contains_key("default"),
            };
            match app
                .add_member(&s.p, OrganizationId(id), UserId(user), input)
                .await
            {
                Ok(_) => {
                    return Ok(Redirect::to(&format!(
                        "/admin/organizations/{id}?done=member_added#members"
                    ))
                    .into_response());
                }
                Err(AppError::Conflict { message, .. }) => {
                    errors.insert("user_id".into(), message);
                }
                Err(e) => {
                    let all: Vec<String> = form_errors(e)?.into_values().collect();
                    errors.insert("user_id".into(), all.join("; "));
                }
            }
        }
    }
    let page = edit_page(&app, &s, id, None, errors, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn remove_member(
    State(app): State<App>,
    PagePath((id, user)): PagePath<(i64, i64)>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.remove_member(&s.p, OrganizationId(id), UserId(user))
        .await?;
    Ok(Redirect::to(&format!(
        "/admin/organizations/{id}?done=member_removed#members"
    ))
    .into_response())
}
