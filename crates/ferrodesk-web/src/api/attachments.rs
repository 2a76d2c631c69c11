//! Attachments: `POST /uploads` streams a file to the store and answers a token a comment
//! takes; `GET /attachments/{id}` streams it back to whoever the access policy lets have it,
//! always as a download (inline only for a few image types whose bytes are what they say),
//! never as something the browser runs.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::dto::UploadOut;
use ferrodesk_app::{App, AppError};
use http_body_util::BodyExt;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Params};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
        .routes(routes!(redact))
}

/// Redacts an attachment (staff who may change the ticket): the file is deleted, its name
/// stays with who redacted it and when; audited on the ticket.
#[utoipa::path(post, path = "/attachments/{id}/redact", tag = "attachments",
    params(("id" = i64, Path)),
    responses((status = 200, body = ferrodesk_app::dto::AttachmentOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn redact(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<ferrodesk_app::dto::AttachmentOut>, ApiError> {
    Ok(Json(app.redact_attachment(&p, id).await?))
}

/// Upload parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UploadParams {
    /// The file's name (made safe: no folders, control or direction characters).
    file_name: String,
}

/// Uploads a file: the body is its bytes, `Content-Type` its type. 201 with a token to give
/// in `upload_tokens` of a comment or new ticket (by the same user, within a day); 413 over
/// the size limit (nothing is kept).
#[utoipa::path(post, path = "/uploads", tag = "attachments", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = UploadOut), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
async fn upload(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadOut>), ApiError> {
    let max = app.config().attachment_max_bytes;
    let too_large = || AppError::TooLarge {
        message: format!("a file may have at most {} MiB", max / (1024 * 1024)),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut writer = app.upload_writer().await?;
    let mut body = body;
    // Streamed to the store as it comes: memory stays flat whatever the file's size. A
    // writer dropped on an error (or a client gone) leaves nothing behind.
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| too_large())?;
        if let Ok(data) = frame.into_data() {
            if writer.size() + data.len() as u64 > max {
                return Err(too_large().into());
            }
            writer.write(&data).await?;
        }
    }
    if writer.size() == 0 {
        return Err(AppError::invalid(
            "file",
            "empty",
            "the file is empty: send its bytes as the body",
        )
        .into());
    }
    let written = writer.finish().await?;
    let out = app
        .record_upload(&p, &q.file_name, &content_type, written)
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Image types shown inline, with the bytes each starts with.
const INLINE_IMAGES: &[(&str, &[u8])] = &[
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF8"),
];

/// A content type a browser could run or render as a page: sent as bytes instead.
fn risky(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    t.starts_with("text/html")
        || t.contains("xml")
        || t.contains("javascript")
        || t.contains("svg")
        || t.contains("ecmascript")
}

/// `Content-Disposition` with the name in ASCII and, when it has more, in UTF-8 (RFC 6266).
fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let encoded = ferrodesk_core::validate::percent_encode(name);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Downloads an attachment: 404 when the caller may not see its ticket, or it is a private
/// note's and they are a customer, or it was redacted.
#[utoipa::path(get, path = "/attachments/{id}", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, body = Problem)))]
async fn download(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(attachment_response(&app, &p, id).await?)
}

/// An attachment's bytes as a download, under the policy of [`App::attachment`]: the one
/// answer of `/api/v1/attachments/{id}` and of the vendor APIs' attachment links.
pub(crate) async fn attachment_response(
    app: &App,
    p: &ferrodesk_app::Principal,
    id: i64,
) -> Result<Response, AppError> {
    let (a, mut file) = app.attachment(p, id).await?;
    let mut head = vec![0u8; 16];
    let mut got = 0;
    while got < head.len() {
        let n = file
            .read(&mut head[got..])
            .await
            .map_err(|e| AppError::Internal(format!("reading attachment {id}: {e}")))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    head.truncate(got);
    let inline = INLINE_IMAGES
        .iter()
        .any(|(t, magic)| *t == a.content_type && head.starts_with(magic));
    let content_type = if risky(&a.content_type) {
        "application/octet-stream".to_owned()
    } else {
        a.content_type.clone()
    };
    let first = Some(head);
    let stream = futures_util::stream::unfold((file, first), |(mut file, first)| async move {
        if let Some(first) = first
            && !first.is_empty()
        {
            return Some((Ok(axum::body::Bytes::from(first)), (file, None)));
        }
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(axum::body::Bytes::from(buf)), (file, None)))
            }
            Err(e) => Some((Err(e), (file, None))),
        }
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    let value = |v: String| {
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("application/octet-stream"))
    };
    h.insert(header::CONTENT_TYPE, value(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.size));
    h.insert(
        header::CONTENT_DISPOSITION,
        value(disposition(
            if inline { "inline" } else { "attachment" },
            &a.file_name,
        )),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}
