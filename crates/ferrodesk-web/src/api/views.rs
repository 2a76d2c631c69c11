//! Agent views with counts, and search.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrodesk_app::App;
use ferrodesk_app::dto::{Page, TicketOut, ViewCountOut, ViewIn, ViewOut};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body, Params};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_views, create_view))
        .routes(routes!(view_counts))
        .routes(routes!(get_view, update_view, delete_view))
        .routes(routes!(view_tickets))
        .routes(routes!(search))
}

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

/// The views the caller may use: the defaults, their group's, their own (agents).
#[utoipa::path(get, path = "/views", tag = "views", responses((status = 200, body = Vec<ViewOut>)))]
async fn list_views(State(app): State<App>, Auth(p): Auth) -> Result<Json<Vec<ViewOut>>, ApiError> {
    Ok(Json(app.list_views(&p).await?))
}

/// Every view of the caller with its count, in one call.
#[utoipa::path(get, path = "/views/counts", tag = "views", responses((status = 200, body = Vec<ViewCountOut>)))]
async fn view_counts(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Vec<ViewCountOut>>, ApiError> {
    Ok(Json(app.view_counts(&p).await?))
}

/// Creates a view: personal, for one of the caller's groups, or (admins) for everyone.
#[utoipa::path(post, path = "/views", tag = "views", request_body = ViewIn,
    responses((status = 201, body = ViewOut), (status = 422, body = Problem)))]
async fn create_view(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<ViewIn>,
) -> Result<(StatusCode, Json<ViewOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.save_view(&p, None, input).await?),
    ))
}

/// Reads a view.
#[utoipa::path(get, path = "/views/{id}", tag = "views", params(("id" = i64, Path)),
    responses((status = 200, body = ViewOut), (status = 404, body = Problem)))]
async fn get_view(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<ViewOut>, ApiError> {
    Ok(Json(app.get_view(&p, id).await?))
}

/// Changes a view (its owner, its group, or an admin; default views do not change).
#[utoipa::path(patch, path = "/views/{id}", tag = "views", params(("id" = i64, Path)), request_body = ViewIn,
    responses((status = 200, body = ViewOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_view(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<ViewIn>,
) -> Result<Json<ViewOut>, ApiError> {
    Ok(Json(app.save_view(&p, Some(id), input).await?))
}

/// Deletes a view.
#[utoipa::path(delete, path = "/views/{id}", tag = "views", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_view(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_view(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tickets of a view, always within the caller's ticket scope.
#[utoipa::path(get, path = "/views/{id}/tickets", tag = "views", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<TicketOut>), (status = 404, body = Problem)))]
async fn view_tickets(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Params(q): Params<PageParams>,
) -> Result<Json<Page<TicketOut>>, ApiError> {
    Ok(Json(
        app.view_tickets(&p, id, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    /// Words, "quoted phrases" and filters: `status:`, `priority:`, `group:`, `assignee:`
    /// (`me`, `none`, an email or id), `org:`, `requester:`, `tag:`.
    q: String,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Full-text search over subjects and comments, ranked, within what the caller may see
/// (end users never match text that only a private note contains).
#[utoipa::path(get, path = "/search", tag = "search", params(SearchParams),
    responses((status = 200, body = Page<TicketOut>), (status = 422, body = Problem)))]
async fn search(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<SearchParams>,
) -> Result<Json<Page<TicketOut>>, ApiError> {
    Ok(Json(
        app.search(&p, &q.q, q.cursor.as_deref(), q.limit).await?,
    ))
}
