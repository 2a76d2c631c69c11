//! Tickets, their comments and their timelines.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::dto::{
    BulkTicketsIn, CommentIn, CommentOut, CountOut, EventOut, Page, TicketIn, TicketOut,
    TicketPatch,
};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{GroupId, OrganizationId, StatusId, TicketId, UserId};
use ferrodesk_store::scope::TicketFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body, Params, Presented, if_match, two_factor_gate};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(count_tickets))
        .routes(routes!(bulk_update_tickets))
        .routes(routes!(get_ticket, update_ticket))
        .routes(routes!(list_comments, add_comment))
        .routes(routes!(list_events))
}

/// Declares a query-parameter struct with the ticket filters (combined with AND) and the
/// extra fields given, and its [`TicketFilter`].
macro_rules! ticket_filter_params {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(deny_unknown_fields)]
        struct $name {
            /// Status id.
            status_id: Option<i64>,
            /// Requester.
            requester_id: Option<i64>,
            /// Organization.
            organization_id: Option<i64>,
            /// Group (agents).
            group_id: Option<i64>,
            /// Assignee.
            assignee_id: Option<i64>,
            /// Internal group (agents).
            internal_group_id: Option<i64>,
            /// Internal agent (agents).
            internal_agent_id: Option<i64>,
            /// Group or internal group (agents).
            any_group_id: Option<i64>,
            /// Assignee or internal agent (agents).
            any_agent_id: Option<i64>,
            /// Tickets this user is copied (CC) on.
            cc_id: Option<i64>,
            $($extra)*
        }

        impl $name {
            fn filter(&self) -> TicketFilter {
                TicketFilter {
                    status_id: self.status_id.map(StatusId),
                    requester_id: self.requester_id.map(UserId),
                    organization_id: self.organization_id.map(OrganizationId),
                    group_id: self.group_id.map(GroupId),
                    assignee_id: self.assignee_id.map(UserId),
                    internal_group_id: self.internal_group_id.map(GroupId),
                    internal_agent_id: self.internal_agent_id.map(UserId),
                    any_group_id: self.any_group_id.map(GroupId),
                    any_agent_id: self.any_agent_id.map(UserId),
                    cc_id: self.cc_id.map(UserId),
                }
            }
        }
    };
}

ticket_filter_params!(
    /// Ticket list filters (combined with AND) and paging.
    TicketParams {
        /// Page size, 1 to 100 (default 25).
        #[param(minimum = 1, maximum = 100)]
        limit: Option<i64>,
        /// The `next_cursor` of the previous page.
        cursor: Option<String>,
    }
);

ticket_filter_params!(
    /// Ticket count filters (combined with AND); a count has no pages.
    TicketCountParams {}
);

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageParams {
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn with_etag(t: TicketOut, status: StatusCode) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", t.version)).ok();
    let mut res = (status, Json(t)).into_response();
    if let Some(v) = etag {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// Lists the tickets the caller may see, newest first.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketParams),
    responses((status = 200, body = Page<TicketOut>), (status = 422, body = Problem)))]
async fn list_tickets(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<TicketParams>,
) -> Result<Json<Page<TicketOut>>, ApiError> {
    Ok(Json(
        app.list_tickets(&p, q.filter(), q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// Counts the tickets the caller may see (same filters as the list).
#[utoipa::path(get, path = "/tickets/count", tag = "tickets", params(TicketCountParams),
    responses((status = 200, body = CountOut)))]
async fn count_tickets(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<TicketCountParams>,
) -> Result<Json<CountOut>, ApiError> {
    Ok(Json(app.count_tickets(&p, q.filter()).await?))
}

/// Creates a ticket; `description` becomes its first comment.
#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = TicketIn,
    responses((status = 201, body = TicketOut), (status = 422, body = Problem)))]
async fn create_ticket(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<TicketIn>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        app.create_ticket(&p, input).await?,
        StatusCode::CREATED,
    ))
}

/// One ticket's outcome in a bulk change.
#[derive(Debug, Serialize, ToSchema)]
struct BulkResult {
    /// The ticket.
    id: i64,
    /// Whether it was changed.
    updated: bool,
    /// The ticket after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<TicketOut>,
    /// Why it was not changed (as the single-ticket `PATCH` would have answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
}

/// The outcome of a bulk change, ticket by ticket.
#[derive(Debug, Serialize, ToSchema)]
struct BulkOut {
    /// How many tickets were changed.
    updated: usize,
    /// How many were refused.
    refused: usize,
    /// Each ticket, in the order given.
    results: Vec<BulkResult>,
}

/// Makes the same change to several tickets (agents and admins): each ticket goes through
/// the same checks, rules and audit as `PATCH /tickets/{id}`, on its own, so one refused
/// ticket (not found, out of scope, invalid for it) leaves the others changed. `add_tags`
/// and `remove_tags` change each ticket's own tags.
#[utoipa::path(post, path = "/tickets/bulk", tag = "tickets", request_body = BulkTicketsIn,
    responses((status = 200, body = BulkOut), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn bulk_update_tickets(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<BulkTicketsIn>,
) -> Result<Json<BulkOut>, ApiError> {
    let results: Vec<BulkResult> = app
        .bulk_update_tickets(&p, input)
        .await?
        .into_iter()
        .map(|(id, r)| match r {
            Ok(t) => BulkResult {
                id,
                updated: true,
                ticket: Some(t),
                problem: None,
            },
            Err(e) => BulkResult {
                id,
                updated: false,
                ticket: None,
                problem: Some(Problem::of(e)),
            },
        })
        .collect();
    let updated = results.iter().filter(|r| r.updated).count();
    Ok(Json(BulkOut {
        updated,
        refused: results.len() - updated,
        results,
    }))
}

/// Reads a ticket; the `ETag` is its version, for `If-Match`.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 404, body = Problem)))]
async fn get_ticket(
    State(app): State<App>,
    presented: Presented,
    uri: Uri,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    // Who asks and the ticket are read in one statement (`App::get_ticket_with`); the answer
    // is the one `Auth` would give: 401, then 403 while a two-factor set-up is due, then a 400
    // for a bad id, the ticket or 404.
    let id = match id {
        Ok(Path(id)) => id,
        Err(rejection) => {
            Auth::check(&app, &presented, uri.path()).await?;
            return Ok(rejection.into_response());
        }
    };
    let Some((p, ticket)) = app
        .get_ticket_with(presented.credential(), TicketId(id))
        .await?
    else {
        return Err(AppError::Unauthenticated.into());
    };
    two_factor_gate(uri.path(), p)?;
    Ok(with_etag(ticket?, StatusCode::OK))
}

/// Changes a ticket. Send `If-Match` with the version you read: if someone changed the
/// ticket since, the answer is 412 and nothing changes.
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the ticket's ETag")),
    request_body = TicketPatch,
    responses((status = 200, body = TicketOut), (status = 404, body = Problem),
              (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_ticket(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(input): Body<TicketPatch>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    Ok(with_etag(
        app.update_ticket(&p, TicketId(id), version, input).await?,
        StatusCode::OK,
    ))
}

/// Lists a ticket's comments, oldest first (end users: public replies only).
#[utoipa::path(get, path = "/tickets/{id}/comments", tag = "tickets", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<CommentOut>), (status = 404, body = Problem)))]
async fn list_comments(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Params(q): Params<PageParams>,
) -> Result<Json<Page<CommentOut>>, ApiError> {
    Ok(Json(
        app.list_comments(&p, TicketId(id), q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// Adds a public reply, or (agents) a private note with `"public": false`.
#[utoipa::path(post, path = "/tickets/{id}/comments", tag = "tickets", params(("id" = i64, Path)),
    request_body = CommentIn,
    responses((status = 201, body = CommentOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn add_comment(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<CommentIn>,
) -> Result<(StatusCode, Json<CommentOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.add_comment(&p, TicketId(id), input).await?),
    ))
}

/// The ticket's timeline: every change, who made it, through which channel, and why.
#[utoipa::path(get, path = "/tickets/{id}/events", tag = "tickets", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<EventOut>), (status = 404, body = Problem)))]
async fn list_events(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Params(q): Params<PageParams>,
) -> Result<Json<Page<EventOut>>, ApiError> {
    Ok(Json(
        app.list_events(&p, TicketId(id), q.cursor.as_deref(), q.limit)
            .await?,
    ))
}
