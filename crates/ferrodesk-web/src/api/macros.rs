//! Macros (canned responses): saved reply texts with the properties to set with them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrodesk_app::App;
use ferrodesk_app::dto::{MacroIn, MacroOut};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_macros, create_macro))
        .routes(routes!(get_macro, update_macro, delete_macro))
}

/// The macros the caller may use (agents and admins): everyone's, their groups', their own.
#[utoipa::path(get, path = "/macros", tag = "macros", responses((status = 200, body = Vec<MacroOut>)))]
async fn list_macros(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Vec<MacroOut>>, ApiError> {
    Ok(Json(app.list_macros(&p).await?))
}

/// Creates a macro: personal, for one of the caller's groups, or (admins) for everyone.
#[utoipa::path(post, path = "/macros", tag = "macros", request_body = MacroIn,
    responses((status = 201, body = MacroOut), (status = 422, body = Problem)))]
async fn create_macro(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<MacroIn>,
) -> Result<(StatusCode, Json<MacroOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.save_macro(&p, None, input).await?),
    ))
}

/// Reads a macro; applying it is the caller's own form: nothing is written until they send.
#[utoipa::path(get, path = "/macros/{id}", tag = "macros", params(("id" = i64, Path)),
    responses((status = 200, body = MacroOut), (status = 404, body = Problem)))]
async fn get_macro(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<MacroOut>, ApiError> {
    Ok(Json(app.get_macro(&p, id).await?))
}

/// Changes a macro (its owner, its group, or an admin).
#[utoipa::path(patch, path = "/macros/{id}", tag = "macros", params(("id" = i64, Path)), request_body = MacroIn,
    responses((status = 200, body = MacroOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_macro(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<MacroIn>,
) -> Result<Json<MacroOut>, ApiError> {
    Ok(Json(app.save_macro(&p, Some(id), input).await?))
}

/// Deletes a macro (its owner, its group, or an admin).
#[utoipa::path(delete, path = "/macros/{id}", tag = "macros", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_macro(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_macro(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
