//! Shared organizations: the sharing workflow, its history, the register and the preview;
//! access explanation; account settings.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::App;
use ferrodesk_app::dto::{
    AccessEntryOut, ExplainOut, RegisterEntryOut, SettingsOut, SettingsPatch, SharingChangeIn,
    SharingChangeOut, SharingPreviewOut,
};
use ferrodesk_core::{OrganizationId, Sharing, TicketId, UserId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body, Params};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_sharing_change, list_sharing_changes))
        .routes(routes!(sharing_preview))
        .routes(routes!(sharing_register))
        .routes(routes!(ticket_access))
        .routes(routes!(explain_access))
        .routes(routes!(get_settings, update_settings))
}

/// Changes an organization's sharing (admins), tied to the customer's request ticket.
/// Every pre-check is evaluated; when any fails the answer (422 `prechecks_failed`) lists
/// each failed check by code — `type_confirmed`, `risk_approved`, `not_blocked`,
/// `requester_member`, `value_changes` — and nothing changes. On success, in one
/// transaction: the new mode, the details line, the check metadata on the ticket, the
/// public confirmation comment, the ticket resolved, the record and the audit events.
#[utoipa::path(post, path = "/organizations/{id}/sharing-changes", tag = "sharing",
    params(("id" = i64, Path)), request_body = SharingChangeIn,
    responses((status = 201, body = SharingChangeOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_sharing_change(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<SharingChangeIn>,
) -> Result<(StatusCode, Json<SharingChangeOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.change_sharing(&p, OrganizationId(id), input).await?),
    ))
}

/// The organization's sharing history, oldest first.
#[utoipa::path(get, path = "/organizations/{id}/sharing-changes", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<SharingChangeOut>), (status = 404, body = Problem)))]
async fn list_sharing_changes(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<Vec<SharingChangeOut>>, ApiError> {
    Ok(Json(app.sharing_history(&p, OrganizationId(id)).await?))
}

/// Preview parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PreviewParams {
    /// The mode to preview: `own_only`, `read_only` or `read_write`.
    #[param(value_type = String)]
    sharing: Sharing,
}

/// How many end users would gain (or lose) access to how many tickets, with a sample.
#[utoipa::path(get, path = "/organizations/{id}/sharing-preview", tag = "sharing",
    params(("id" = i64, Path), PreviewParams),
    responses((status = 200, body = SharingPreviewOut), (status = 404, body = Problem)))]
async fn sharing_preview(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Params(q): Params<PreviewParams>,
) -> Result<Json<SharingPreviewOut>, ApiError> {
    Ok(Json(
        app.sharing_preview(&p, OrganizationId(id), q.sharing)
            .await?,
    ))
}

/// Register parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RegisterParams {
    /// `csv` for text/csv (also chosen by `Accept: text/csv`).
    format: Option<String>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Every organization that shares, since when and as per which ticket (JSON or CSV).
#[utoipa::path(get, path = "/sharing-register", tag = "sharing", params(RegisterParams),
    responses((status = 200, body = Vec<RegisterEntryOut>, description = "JSON, or text/csv when asked")))]
async fn sharing_register(
    State(app): State<App>,
    Auth(p): Auth,
    headers: HeaderMap,
    Params(q): Params<RegisterParams>,
) -> Result<Response, ApiError> {
    let entries = app.sharing_register(&p).await?;
    let wants_csv = q.format.as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    if !wants_csv {
        return Ok(Json(entries).into_response());
    }
    let mut out = String::from(
        "organization_id,organization_name,sharing,since,ticket_id,ticket_url,admin_id,imported\r\n",
    );
    for e in entries {
        let cells = [
            e.organization_id.to_string(),
            csv_field(&e.organization_name),
            e.sharing.as_str().to_owned(),
            e.since.unwrap_or_default(),
            e.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
            csv_field(&e.ticket_url.unwrap_or_default()),
            e.admin_id.map(|a| a.to_string()).unwrap_or_default(),
            csv_field(&e.imported.unwrap_or_default()),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let mut res = out.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"sharing-register.csv\""),
    );
    Ok(res)
}

/// Everyone who may see the ticket, and why (admins).
#[utoipa::path(get, path = "/tickets/{id}/access", tag = "access", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AccessEntryOut>), (status = 404, body = Problem)))]
async fn ticket_access(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AccessEntryOut>>, ApiError> {
    Ok(Json(app.ticket_access_list(&p, TicketId(id)).await?))
}

/// Explain parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ExplainParams {
    /// The user.
    user_id: i64,
    /// The ticket.
    ticket_id: i64,
}

/// Whether one user may see and comment on one ticket, and why (admins).
#[utoipa::path(get, path = "/access/explain", tag = "access", params(ExplainParams),
    responses((status = 200, body = ExplainOut), (status = 404, body = Problem)))]
async fn explain_access(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<ExplainParams>,
) -> Result<Json<ExplainOut>, ApiError> {
    Ok(Json(
        app.explain_access(&p, UserId(q.user_id), TicketId(q.ticket_id))
            .await?,
    ))
}

/// The account settings (admins).
#[utoipa::path(get, path = "/settings", tag = "settings", responses((status = 200, body = SettingsOut)))]
async fn get_settings(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<SettingsOut>, ApiError> {
    Ok(Json(app.get_settings(&p).await?))
}

/// Changes the account settings (admins): time zone, public base URL, confirmation template.
#[utoipa::path(patch, path = "/settings", tag = "settings", request_body = SettingsPatch,
    responses((status = 200, body = SettingsOut), (status = 422, body = Problem)))]
async fn update_settings(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<SettingsPatch>,
) -> Result<Json<SettingsOut>, ApiError> {
    Ok(Json(app.update_settings(&p, input).await?))
}
