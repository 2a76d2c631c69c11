//! The agent workspace: ticket list with views and filters, ticket page (conversation,
//! reply and note boxes, properties with shared ownership, timeline) and the new ticket form.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{GroupId, StatusId, UserId};
use ferrodesk_store::scope::TicketFilter;
use serde::Deserialize;

use super::agent_bulk::{BulkChoices, BulkReport};
use super::view::{Clock, Directory, Layout, Moment, Opt};
use super::{
    Errors, Post, Session, UiError, field_errors, html, html_status, opt_id, query_string,
};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/agent", get(|| async { Redirect::to("/agent/tickets") }))
        .route("/agent/tickets", get(list))
        .route("/agent/tickets/sort", post(sort_view))
        .merge(super::agent_new::routes())
        .merge(super::agent_ticket::routes())
}

/// Agents and admins only; end users are sent to their portal.
pub(super) fn staff_only(s: &Session) -> Option<Response> {
    (!s.is_staff()).then(|| Redirect::to("/portal").into_response())
}

// ------------------------------------------------------------------ list

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListParams {
    status_id: String,
    group_id: String,
    assignee_id: String,
    internal_group_id: String,
    internal_agent_id: String,
    any_group_id: String,
    any_agent_id: String,
    cursor: String,
    view: String,
    /// `all`: every ticket of the page ticked for a bulk action.
    select: String,
}

struct ViewLink {
    name: String,
    href: String,
    count: i64,
    current: bool,
}

struct Row {
    id: i64,
    subject: String,
    requester: String,
    status: String,
    priority: String,
    group: String,
    internal: String,
    updated: Moment,
    created: Moment,
}

/// How the shown list is ordered, and the form that changes it (through views: the
/// plain list is always newest first, a view follows its saved sort).
struct SortPanel {
    /// The view shown; `None` for the plain list (by ticket number, newest first).
    view_id: Option<i64>,
    /// `updated_at` or `created_at`.
    by: String,
    /// `asc` or `desc`.
    order: String,
    /// The agent may change the view's sort; otherwise the form saves a personal copy.
    editable: bool,
    /// The form as typed.
    draft: SortDraft,
    errors: Errors,
}

impl SortPanel {
    /// `aria-sort` of a column (`updated_at`, `created_at` or `id`).
    fn aria(&self, column: &str) -> &'static str {
        let by = if self.view_id.is_none() {
            "id"
        } else {
            self.by.as_str()
        };
        match (by == column, self.order.as_str()) {
            (false, _) => "none",
            (true, "asc") => "ascending",
            (true, _) => "descending",
        }
    }

    fn by_options(&self) -> Vec<Opt> {
        [("updated_at", "Last update"), ("created_at", "Creation")]
            .into_iter()
            .map(|(v, l)| Opt::new(v, l, self.draft.by == v))
            .collect()
    }

    fn order_options(&self) -> Vec<Opt> {
        [("desc", "Newest first"), ("asc", "Oldest first")]
            .into_iter()
            .map(|(v, l)| Opt::new(v, l, self.draft.order == v))
            .collect()
    }
}

/// The sort form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct SortDraft {
    view: String,
    by: String,
    order: String,
    /// The personal copy's name (views the agent may not change).
    name: String,
}

#[derive(Template)]
#[template(path = "agent_tickets.html")]
struct ListPage {
    layout: Layout,
    heading: String,
    views: Vec<ViewLink>,
    statuses: Vec<Opt>,
    groups: Vec<Opt>,
    assignees: Vec<Opt>,
    internal_groups: Vec<Opt>,
    internal_agents: Vec<Opt>,
    rows: Vec<Row>,
    next_href: Option<String>,
    first_href: Option<String>,
    errors: Errors,
    sort: SortPanel,
    /// The bulk form's choices, what the last bulk action did, and its errors.
    bulk: BulkChoices,
    bulk_report: Option<BulkReport>,
    bulk_errors: Errors,
    /// The list's own query, kept through a bulk action.
    back: String,
    /// Every ticket of the page ticked ("Select all on this page").
    all_selected: bool,
    select_all_href: String,
    select_none_href: String,
}

/// Requesters' names: staff may read any user.
async fn user_names(app: &App, s: &Session, ids: &[i64]) -> Vec<(i64, String)> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        if let Ok(u) = app.get_user(&s.p, UserId(id)).await {
            out.push((id, u.name));
        }
    }
    out
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    Ok(html(&list_page(&app, &s, q, None, None).await?))
}

/// Whether the agent may change a view (the use case decides again when saving).
fn may_edit_view(s: &Session, v: &ferrodesk_app::dto::ViewOut) -> bool {
    !v.built_in
        && (s.is_admin()
            || (v.visibility == "personal" && v.owner_id == Some(s.p.user.id.0))
            || (v.visibility == "group"
                && v.group_id
                    .is_some_and(|g| s.p.user.group_ids.iter().any(|x| x.0 == g))))
}

/// The ticket list after a bulk action: what it did, or why it did nothing (422).
pub(super) async fn list_after_bulk(
    app: &App,
    s: &Session,
    q: ListParams,
    bulk: Result<BulkReport, Errors>,
) -> Result<Response, UiError> {
    let refused = bulk.is_err();
    let page = list_page(app, s, q, None, Some(bulk)).await?;
    Ok(if refused {
        html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        html(&page)
    })
}

/// The ticket list; `bulk` is what a bulk action just did (or why it did nothing).
async fn list_page(
    app: &App,
    s: &Session,
    q: ListParams,
    sort_form: Option<(SortDraft, Errors)>,
    bulk: Option<Result<BulkReport, Errors>>,
) -> Result<ListPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let mut errors = Errors::new();
    let status_id = opt_id(&mut errors, "status_id", &q.status_id);
    let group_id = opt_id(&mut errors, "group_id", &q.group_id);
    let assignee_id = opt_id(&mut errors, "assignee_id", &q.assignee_id);
    let internal_group_id = opt_id(&mut errors, "internal_group_id", &q.internal_group_id);
    let internal_agent_id = opt_id(&mut errors, "internal_agent_id", &q.internal_agent_id);
    let any_group_id = opt_id(&mut errors, "any_group_id", &q.any_group_id);
    let any_agent_id = opt_id(&mut errors, "any_agent_id", &q.any_agent_id);
    let filter = TicketFilter {
        status_id: status_id.map(StatusId),
        group_id: group_id.map(GroupId),
        assignee_id: assignee_id.map(UserId),
        internal_group_id: internal_group_id.map(GroupId),
        internal_agent_id: internal_agent_id.map(UserId),
        any_group_id: any_group_id.map(GroupId),
        any_agent_id: any_agent_id.map(UserId),
        ..Default::default()
    };
    let view_id = opt_id(&mut errors, "view", &q.view);
    let cursor = (!q.cursor.is_empty()).then_some(q.cursor.as_str());
    // A saved view (SPEC §6, always intersected with the agent's scope), or the filters.
    let listed = match view_id {
        Some(v) => app.view_tickets(&s.p, v, cursor, Some(25)).await,
        None => app.list_tickets(&s.p, filter, cursor, Some(25)).await,
    };
    let page = match listed {
        Ok(p) => p,
        Err(e) => {
            errors.extend(field_errors(e)?);
            ferrodesk_app::dto::Page {
                items: Vec::new(),
                next_cursor: None,
            }
        }
    };
    let current_query = query_string(&[
        ("view", q.view.clone()),
        ("status_id", q.status_id.clone()),
        ("group_id", q.group_id.clone()),
        ("assignee_id", q.assignee_id.clone()),
        ("internal_group_id", q.internal_group_id.clone()),
        ("internal_agent_id", q.internal_agent_id.clone()),
        ("any_group_id", q.any_group_id.clone()),
        ("any_agent_id", q.any_agent_id.clone()),
    ]);
    let all = app
        .count_tickets(&s.p, TicketFilter::default())
        .await?
        .count;
    let mut heading = if current_query.is_empty() {
        "All tickets".to_owned()
    } else {
        "Tickets".to_owned()
    };
    let mut views = vec![ViewLink {
        name: "All tickets".into(),
        href: "/agent/tickets".into(),
        count: all,
        current: current_query.is_empty(),
    }];
    for v in app.view_counts(&s.p).await? {
        let current = view_id == Some(v.view_id);
        if current {
            heading = v.name.clone();
        }
        views.push(ViewLink {
            href: format!("/agent/tickets?view={}", v.view_id),
            name: v.name,
            count: v.count,
            current,
        });
    }
    let clock = Clock::of(app).await?;
    let requesters: Vec<i64> = page.items.iter().map(|t| t.requester_id).collect();
    let names = user_names(app, s, &requesters).await;
    let rows = page
        .items
        .iter()
        .map(|t| Row {
            id: t.id,
            subject: t.subject.clone(),
            requester: names
                .iter()
                .find(|(id, _)| *id == t.requester_id)
                .map_or_else(String::new, |(_, n)| n.clone()),
            status: t.status.clone(),
            priority: t.priority.to_string(),
            group: [
                dir.group_name(t.group_id.flatten()),
                dir.staff_name(t.assignee_id),
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" / "),
            internal: [
                dir.group_name(t.internal_group_id.flatten()),
                dir.staff_name(t.internal_agent_id.flatten()),
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" / "),
            updated: clock.moment(&t.updated_at),
            created: clock.moment(&t.created_at),
        })
        .collect();
    let shown_view = match view_id {
        Some(v) => app.get_view(&s.p, v).await.ok(),
        None => None,
    };
    let sort = match &shown_view {
        Some(v) => {
            let (draft, sort_errors) = sort_form.unwrap_or_else(|| {
                (
                    SortDraft {
                        view: v.id.to_string(),
                        by: v.sort.by.clone(),
                        order: v.sort.order.clone(),
                        name: format!("{} (my order)", v.name),
                    },
                    Errors::new(),
                )
            });
            SortPanel {
                view_id: Some(v.id),
                by: v.sort.by.clone(),
                order: v.sort.order.clone(),
                editable: may_edit_view(s, v),
                draft,
                errors: sort_errors,
            }
        }
        None => SortPanel {
            view_id: None,
            by: "id".into(),
            order: "desc".into(),
            editable: false,
            draft: SortDraft::default(),
            errors: Errors::new(),
        },
    };
    let cursor_query = |c: &str| query_string(&[("cursor", c.to_owned())]);
    let next_href = page
        .next_cursor
        .as_deref()
        .map(|c| list_href(&joined(&current_query, &cursor_query(c))));
    let first_href = (!q.cursor.is_empty()).then(|| list_href(&current_query));
    // This page of the list (its filters and cursor), which a bulk action comes back to.
    let page_query = joined(&current_query, &cursor_query(&q.cursor));
    let mut statuses = vec![Opt::none("Any status", status_id.is_none())];
    statuses.extend(dir.status_options(status_id));
    Ok(ListPage {
        layout: s.layout(heading.clone(), "tickets"),
        heading,
        views,
        statuses,
        groups: dir.group_options("Any group", group_id),
        assignees: dir.staff_options("Any assignee", assignee_id),
        internal_groups: dir.group_options("Any internal group", internal_group_id),
        internal_agents: dir.staff_options("Any internal agent", internal_agent_id),
        rows,
        next_href,
        first_href,
        errors,
        sort,
        bulk: BulkChoices::new(&dir),
        bulk_errors: match &bulk {
            Some(Err(e)) => e.clone(),
            _ => Errors::new(),
        },
        bulk_report: bulk.and_then(Result::ok),
        all_selected: q.select == "all",
        select_all_href: list_href(&joined(&page_query, "select=all")),
        select_none_href: list_href(&page_query),
        back: page_query,
    })
}

/// Two query strings as one (either may be empty).
fn joined(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}&{b}"),
    }
}

/// The ticket list's address with this query.
fn list_href(query: &str) -> String {
    if query.is_empty() {
        "/agent/tickets".to_owned()
    } else {
        format!("/agent/tickets?{query}")
    }
}

/// Sorts a view: changes its sort when the agent may, or else saves a personal copy of
/// it (same conditions and columns) with the chosen sort, and shows it.
async fn sort_view(
    State(app): State<App>,
    Post { s, form }: Post<SortDraft>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let mut errors = Errors::new();
    let view_id = opt_id(&mut errors, "view", &form.view).ok_or(UiError::BadForm)?;
    let v = app.get_view(&s.p, view_id).await?;
    let sort = Some(ferrodesk_app::dto::ViewSort {
        by: form.by.clone(),
        order: form.order.clone(),
    });
    let saved = if may_edit_view(&s, &v) {
        let input = ferrodesk_app::dto::ViewIn {
            sort,
            ..Default::default()
        };
        app.save_view(&s.p, Some(view_id), input).await
    } else {
        let input = ferrodesk_app::dto::ViewIn {
            name: Some(form.name.trim().to_owned()),
            visibility: Some("personal".into()),
            conditions: Some(v.conditions.clone()),
            columns: Some(v.columns.clone()),
            sort,
            ..Default::default()
        };
        app.save_view(&s.p, None, input).await
    };
    match saved {
        Ok(out) => Ok(Redirect::to(&format!("/agent/tickets?view={}", out.id)).into_response()),
        Err(AppError::Conflict { message, .. }) => {
            errors.insert("name".into(), message);
            sort_failed(&app, &s, view_id, form, errors).await
        }
        Err(e) => {
            errors.extend(field_errors(e)?);
            if let Some(m) = errors.remove("sort") {
                errors.insert("order".into(), m);
            }
            sort_failed(&app, &s, view_id, form, errors).await
        }
    }
}

async fn sort_failed(
    app: &App,
    s: &Session,
    view_id: i64,
    form: SortDraft,
    errors: Errors,
) -> Result<Response, UiError> {
    let q = ListParams {
        view: view_id.to_string(),
        ..Default::default()
    };
    let page = list_page(app, s, q, Some((form, errors)), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
