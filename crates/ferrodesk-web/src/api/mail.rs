//! Inbound mail: the MTA hands over raw messages (`POST /mail/inbound`, with the inbound
//! token); admins list what came in and what was not taken in; staff open an original.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::App;
use ferrodesk_app::dto::{
    InboundFilter, InboundMessageOut, InboundOut, MailTemplateIn, MailTemplateOut, Page,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Params};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(receive, list_inbound))
        .routes(routes!(original))
        .routes(routes!(list_templates))
        .routes(routes!(update_template, reset_template))
}

/// Takes in one raw message (RFC 5322, any bytes) from the MTA, authenticated with
/// `Authorization: Bearer <FERRODESK_MAIL_INBOUND_TOKEN>`. The body is the message as is,
/// whatever the `Content-Type` (`ferrodesk mail ingest` sends `message/rfc822`). 200 tells
/// what became of it — including suppressed and refused messages, which are kept; 422 a
/// message that is not usable (kept too); 413 one over the size limit; 5xx a failure worth
/// retrying.
#[utoipa::path(post, path = "/mail/inbound", tag = "mail",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = InboundOut), (status = 403, body = Problem),
              (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn receive(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<InboundOut>, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let max = app.config().mail_max_bytes;
    let raw = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| crate::guard::too_large(max))?;
    app.receive_mail(token, &raw)
        .await
        .map(Json)
        .map_err(|e| ApiError(e).into_response())
}

/// Inbound listing parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct InboundParams {
    /// `not_taken_in` (suppressed, refused, rejected; default), `taken_in` or `all`.
    show: Option<InboundFilter>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Inbound messages (admins), newest first, with what became of each in words.
#[utoipa::path(get, path = "/mail/inbound", tag = "mail", params(InboundParams),
    responses((status = 200, body = Page<InboundMessageOut>), (status = 403, body = Problem)))]
async fn list_inbound(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<InboundParams>,
) -> Result<Json<Page<InboundMessageOut>>, ApiError> {
    Ok(Json(
        app.list_inbound(&p, q.show.unwrap_or_default(), q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// The original of an inbound message, as received (admins; agents for tickets they may
/// see), as a download.
#[utoipa::path(get, path = "/mail/inbound/{id}/original", tag = "mail",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822", body = Vec<u8>),
              (status = 404, body = Problem)))]
async fn original(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(original_download(id, app.inbound_original(&p, id).await?))
}

/// An inbound message's original as a download (`message-ID.eml`), for the API and the web
/// app alike.
pub(crate) fn original_download(id: i64, raw: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "message/rfc822".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"message-{id}.eml\""),
            ),
        ],
        raw,
    )
        .into_response()
}

/// The templates of the messages Ferrodesk sends (admins): subject and text (minijinja),
/// their variables, and whether an admin changed them.
#[utoipa::path(get, path = "/mail/templates", tag = "mail",
    responses((status = 200, body = Vec<MailTemplateOut>), (status = 403, body = Problem)))]
async fn list_templates(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Vec<MailTemplateOut>>, ApiError> {
    Ok(Json(app.mail_templates(&p).await?))
}

/// Changes a template (admins): refused with 422 naming `subject` or `body` when it does not
/// render with sample values (a syntax error, an unknown variable); audited.
#[utoipa::path(put, path = "/mail/templates/{name}", tag = "mail",
    params(("name" = String, Path)), request_body = MailTemplateIn,
    responses((status = 200, body = MailTemplateOut), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn update_template(
    State(app): State<App>,
    Auth(p): Auth,
    Path(name): Path<String>,
    crate::extract::Body(input): crate::extract::Body<MailTemplateIn>,
) -> Result<Json<MailTemplateOut>, ApiError> {
    Ok(Json(app.update_mail_template(&p, &name, input).await?))
}

/// Puts a template back to the built-in one (admins); audited.
#[utoipa::path(delete, path = "/mail/templates/{name}", tag = "mail",
    params(("name" = String, Path)),
    responses((status = 200, body = MailTemplateOut), (status = 404, body = Problem)))]
async fn reset_template(
    State(app): State<App>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> Result<Json<MailTemplateOut>, ApiError> {
    Ok(Json(app.reset_mail_template(&p, &name).await?))
}
