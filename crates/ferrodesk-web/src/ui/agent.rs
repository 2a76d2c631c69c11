//! The agent workspace: ticket list with views and filters, ticket page (conversation,
//! reply and note boxes, properties with shared ownership, timeline) and the new ticket form.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::workspace::{ListPage as ListPageOut, ListRequest};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{GroupId, StatusId, UserId};
use ferrodesk_store::scope::TicketFilter;
use ferrodesk_store::view_query::SortKey;
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
        .merge(super::agent_presence::routes())
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
    /// A column to sort by for the moment (see [`SORTABLE`]); empty: the view's own order.
    sort: String,
    /// `asc` or `desc`.
    dir: String,
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
    /// Changed since the agent last opened it (or never opened).
    fresh: bool,
}

/// The columns the list may be sorted by, as named in `sort=`, with their store key and
/// their direction when first clicked.
const SORTABLE: [(&str, SortKey, bool); 6] = [
    ("number", SortKey::Id, false),
    ("subject", SortKey::Subject, true),
    ("status", SortKey::Status, true),
    ("priority", SortKey::Priority, false),
    ("updated", SortKey::Updated, false),
    ("created", SortKey::Created, false),
];

/// A header cell of the list.
struct Column {
    label: &'static str,
    /// `col-…`: the cell's id and class.
    class: &'static str,
    /// The address that sorts by this column (none: not sortable).
    href: Option<String>,
    /// `ascending` or `descending` on the column the list is sorted by.
    aria_sort: Option<&'static str>,
    /// ↑ or ↓ on that column (hidden from screen readers, which read `aria-sort`).
    arrow: &'static str,
    /// What the link does, for screen readers ("sort by subject, A to Z").
    action: String,
}

/// The order shown saved into the view ("Save this order to the view"): for a view the agent
/// may change, sorted for the moment by last update or creation (the orders a view keeps).
struct SaveOrder {
    view_id: i64,
    by: &'static str,
    order: &'static str,
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
    /// The view shown, kept by the filter form.
    view: String,
    /// The order for the moment, kept by the filter form.
    sort: String,
    dir: String,
    columns: Vec<Column>,
    /// The order as words ("Sorted by subject, A to Z").
    order_words: String,
    save_order: Option<SaveOrder>,
    /// Why the order could not be saved.
    save_error: Option<String>,
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

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let page = list_page(&app, &s, q, None, None).await?;
    // An order that is not one of the columns: the list in its own order, and a 400 that
    // says so next to the table.
    Ok(
        if page.errors.contains_key("sort") || page.errors.contains_key("dir") {
            html_status(StatusCode::BAD_REQUEST, &page)
        } else {
            html(&page)
        },
    )
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

/// `sort=` and `dir=` as a store order; errors name the parameter.
fn chosen_order(errors: &mut Errors, sort: &str, dir: &str) -> Option<(SortKey, bool)> {
    if sort.is_empty() {
        return None;
    }
    let Some((_, key, first_asc)) = SORTABLE.iter().find(|(name, ..)| *name == sort) else {
        errors.insert(
            "sort".into(),
            "the list cannot be sorted by that column; it is shown in its own order".into(),
        );
        return None;
    };
    let ascending = match dir {
        "" => *first_asc,
        "asc" => true,
        "desc" => false,
        _ => {
            errors.insert(
                "dir".into(),
                "the order must be ascending or descending; the list is shown in its own order"
                    .into(),
            );
            return None;
        }
    };
    Some((*key, ascending))
}

/// "Sorted by …" in words.
fn order_words(key: SortKey, ascending: bool) -> String {
    let (name, asc, desc) = match key {
        SortKey::Id => ("ticket number", "lowest first", "highest first"),
        SortKey::Subject => ("subject", "A to Z", "Z to A"),
        SortKey::Status => ("status", "in the statuses' order", "in reverse order"),
        SortKey::Priority => ("priority", "low to urgent", "urgent to low"),
        SortKey::Updated => ("last update", "oldest first", "newest first"),
        SortKey::Created => ("creation", "oldest first", "newest first"),
    };
    format!("Sorted by {name}, {}.", if ascending { asc } else { desc })
}

/// The ticket list; `bulk` is what a bulk action just did (or why it did nothing);
/// `save_error` why saving the order into the view failed.
async fn list_page(
    app: &App,
    s: &Session,
    q: ListParams,
    save_error: Option<String>,
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
    let chosen = chosen_order(&mut errors, &q.sort, &q.dir);
    // The sort as the page keeps it: only a valid one.
    let (sort, sort_dir) = match chosen {
        Some((_, asc)) => (q.sort.clone(), if asc { "asc" } else { "desc" }.to_owned()),
        None => (String::new(), String::new()),
    };
    // A saved view (SPEC §6, always intersected with the agent's scope) narrowed by the
    // filters, or the filtered list; in the order chosen for the moment, if any.
    let listed = app
        .agent_ticket_list(
            &s.p,
            ListRequest {
                view: view_id,
                filter,
                sort: chosen,
                cursor: (!q.cursor.is_empty()).then(|| q.cursor.clone()),
                limit: Some(25),
            },
        )
        .await;
    let page = match listed {
        Ok(p) => p,
        Err(e) => {
            errors.extend(field_errors(e)?);
            ListPageOut {
                order: chosen.unwrap_or((SortKey::Id, false)),
                ..Default::default()
            }
        }
    };
    // View and filters: what every link of the page keeps.
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
    let sorted_query = joined(
        &current_query,
        &query_string(&[("sort", sort.clone()), ("dir", sort_dir.clone())]),
    );
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
    let clock = Clock::for_person(app, &s.p).await?;
    let name_of = |id: i64| {
        page.requester_names
            .iter()
            .find(|(u, _)| *u == id)
            .map_or_else(String::new, |(_, n)| n.clone())
    };
    let rows = page
        .items
        .iter()
        .map(|t| Row {
            id: t.id,
            subject: t.subject.clone(),
            requester: name_of(t.requester_id),
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
            fresh: page.updated_since_seen.contains(&t.id),
        })
        .collect();
    let (key, ascending) = page.order;
    let columns = [
        ("#", "col-number", Some("number")),
        ("Subject", "col-subject", Some("subject")),
        ("Requester", "col-requester", None),
        ("Status", "col-status", Some("status")),
        ("Priority", "col-priority", Some("priority")),
        ("Assigned to", "col-assigned", None),
        ("Internal owner", "col-internal", None),
        ("Updated", "col-updated", Some("updated")),
        ("Created", "col-created", Some("created")),
    ]
    .into_iter()
    .map(|(label, class, name)| {
        let sortable = name.and_then(|n| SORTABLE.iter().find(|(x, ..)| *x == n));
        let current = sortable.is_some_and(|(_, k, _)| *k == key);
        // A click on the sorted column turns its order round; on another, its first order.
        let next_asc = sortable.map(|(_, _, first)| if current { !ascending } else { *first });
        Column {
            label,
            class,
            href: sortable.zip(next_asc).map(|((n, ..), asc)| {
                list_href(&joined(
                    &current_query,
                    &query_string(&[
                        ("sort", (*n).to_owned()),
                        ("dir", if asc { "asc" } else { "desc" }.to_owned()),
                    ]),
                ))
            }),
            aria_sort: current.then_some(if ascending { "ascending" } else { "descending" }),
            arrow: match (current, ascending) {
                (false, _) => "",
                (true, true) => "↑",
                (true, false) => "↓",
            },
            action: sortable
                .zip(next_asc)
                .map(|((_, k, _), asc)| order_words(*k, asc).replacen("Sorted", "Sort", 1))
                .unwrap_or_default(),
        }
    })
    .collect();
    let shown_view = match view_id {
        Some(v) => app.get_view(&s.p, v).await.ok(),
        None => None,
    };
    let save_order = shown_view.as_ref().and_then(|v| {
        let by = match key {
            SortKey::Updated => "updated_at",
            SortKey::Created => "created_at",
            _ => return None,
        };
        let order = if ascending { "asc" } else { "desc" };
        let differs = v.sort.by != by || v.sort.order != order;
        (chosen.is_some() && differs && may_edit_view(s, v)).then_some(SaveOrder {
            view_id: v.id,
            by,
            order,
        })
    });
    let cursor_query = |c: &str| query_string(&[("cursor", c.to_owned())]);
    let next_href = page
        .next_cursor
        .as_deref()
        .map(|c| list_href(&joined(&sorted_query, &cursor_query(c))));
    let first_href = (!q.cursor.is_empty()).then(|| list_href(&sorted_query));
    // This page of the list (its filters, order and cursor), which a bulk action comes back to.
    let page_query = joined(&sorted_query, &cursor_query(&q.cursor));
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
        view: view_id.map(|v| v.to_string()).unwrap_or_default(),
        sort,
        dir: sort_dir,
        columns,
        order_words: order_words(key, ascending),
        save_order,
        save_error,
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

/// "Save this order to the view".
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct SaveOrderForm {
    view: String,
    by: String,
    order: String,
}

/// Saves the order shown into the view (for those who may change it; the use case checks
/// again), and shows the view in it.
async fn sort_view(
    State(app): State<App>,
    Post { s, form }: Post<SaveOrderForm>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let mut errors = Errors::new();
    let view_id = opt_id(&mut errors, "view", &form.view).ok_or(UiError::BadForm)?;
    let input = ferrodesk_app::dto::ViewIn {
        sort: Some(ferrodesk_app::dto::ViewSort {
            by: form.by.clone(),
            order: form.order.clone(),
        }),
        ..Default::default()
    };
    let why = match app.save_view(&s.p, Some(view_id), input).await {
        Ok(out) => {
            return Ok(Redirect::to(&format!("/agent/tickets?view={}", out.id)).into_response());
        }
        Err(AppError::Forbidden { .. }) => "You may not change this view's order.".to_owned(),
        Err(e) => field_errors(e)?
            .into_values()
            .collect::<Vec<_>>()
            .join("; "),
    };
    let q = ListParams {
        view: view_id.to_string(),
        sort: match form.by.as_str() {
            "created_at" => "created".into(),
            _ => "updated".into(),
        },
        dir: form.order.clone(),
        ..Default::default()
    };
    let page = list_page(&app, &s, q, Some(why), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
