//! The outbox (admins): outgoing mail pending, failed or delivered, and sending a failed
//! message again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrodesk_app::App;
use ferrodesk_app::dto::{OutboxJobOut, OutboxState, Page};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Params};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_outbox))
        .routes(routes!(retry_outbox))
}

/// Outbox listing parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OutboxParams {
    /// `pending` (default), `failed` or `done`.
    state: Option<OutboxState>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Outgoing messages (admins), newest first: what each is, for whom, how often it was tried
/// and the SMTP server's last answer.
#[utoipa::path(get, path = "/outbox", tag = "outbox", params(OutboxParams),
    responses((status = 200, body = Page<OutboxJobOut>), (status = 403, body = Problem)))]
async fn list_outbox(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<OutboxParams>,
) -> Result<Json<Page<OutboxJobOut>>, ApiError> {
    Ok(Json(
        app.list_outbox(
            &p,
            q.state.unwrap_or_default(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

/// Sends a failed message again (admins): it is due at once; audited.
#[utoipa::path(post, path = "/outbox/{id}/retry", tag = "outbox", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
async fn retry_outbox(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.retry_outbox(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
