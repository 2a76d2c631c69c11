//! Automation rules: CRUD (with save-time warnings) and simulation; custom field definitions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrodesk_app::App;
use ferrodesk_app::dto::{RuleIn, RuleOut, SimulateIn, SimulateOut};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, update_rule, delete_rule))
        .routes(routes!(simulate))
        .routes(routes!(check_rule))
        .routes(routes!(list_fields, create_field))
}

/// Every rule in evaluation order, with its warnings (agents and admins).
#[utoipa::path(get, path = "/rules", tag = "rules", responses((status = 200, body = Vec<RuleOut>)))]
async fn list_rules(State(app): State<App>, Auth(p): Auth) -> Result<Json<Vec<RuleOut>>, ApiError> {
    Ok(Json(app.list_rules(&p).await?))
}

/// Creates a rule (admins). `warnings` says when the rule would remove shared ownership.
#[utoipa::path(post, path = "/rules", tag = "rules", request_body = RuleIn,
    responses((status = 201, body = RuleOut), (status = 422, body = Problem)))]
async fn create_rule(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<RuleIn>,
) -> Result<(StatusCode, Json<RuleOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.save_rule(&p, None, input).await?),
    ))
}

/// Reads a rule.
#[utoipa::path(get, path = "/rules/{id}", tag = "rules", params(("id" = i64, Path)),
    responses((status = 200, body = RuleOut), (status = 404, body = Problem)))]
async fn get_rule(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<RuleOut>, ApiError> {
    Ok(Json(app.get_rule(&p, id).await?))
}

/// Changes a rule: any field, including `active` and `position` (admins).
#[utoipa::path(patch, path = "/rules/{id}", tag = "rules", params(("id" = i64, Path)), request_body = RuleIn,
    responses((status = 200, body = RuleOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_rule(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<RuleIn>,
) -> Result<Json<RuleOut>, ApiError> {
    Ok(Json(app.save_rule(&p, Some(id), input).await?))
}

/// Deletes a rule (admins).
#[utoipa::path(delete, path = "/rules/{id}", tag = "rules", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_rule(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_rule(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Validates a rule without saving it and answers the warnings it would be saved with
/// (admins), so an editor can show them before saving.
#[utoipa::path(post, path = "/rules/check", tag = "rules", request_body = RuleIn,
    responses((status = 200, body = Vec<ferrodesk_app::dto::RuleWarning>), (status = 422, body = Problem)))]
async fn check_rule(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<RuleIn>,
) -> Result<Json<Vec<ferrodesk_app::dto::RuleWarning>>, ApiError> {
    Ok(Json(app.check_rule(&p, input).await?))
}

/// Runs the active rules against a ticket and an event and shows what they would change;
/// nothing is saved (admins).
#[utoipa::path(post, path = "/rules/simulate", tag = "rules", request_body = SimulateIn,
    responses((status = 200, body = SimulateOut), (status = 404, body = Problem)))]
async fn simulate(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<SimulateIn>,
) -> Result<Json<SimulateOut>, ApiError> {
    Ok(Json(app.simulate_rules(&p, input).await?))
}

/// Every custom ticket field (agents and admins).
#[utoipa::path(get, path = "/ticket-fields", tag = "tickets", responses((status = 200, body = Vec<ferrodesk_app::dto::FieldOut>)))]
async fn list_fields(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Vec<ferrodesk_app::dto::FieldOut>>, ApiError> {
    Ok(Json(app.list_fields(&p).await?))
}

/// Defines a custom ticket field (admins).
#[utoipa::path(post, path = "/ticket-fields", tag = "tickets", request_body = ferrodesk_app::dto::FieldIn,
    responses((status = 201, body = ferrodesk_app::dto::FieldOut), (status = 422, body = Problem)))]
async fn create_field(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<ferrodesk_app::dto::FieldIn>,
) -> Result<(StatusCode, Json<ferrodesk_app::dto::FieldOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_field(&p, input).await?),
    ))
}
