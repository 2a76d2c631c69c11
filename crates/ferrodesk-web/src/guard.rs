//! Guards every request passes before any handler: text the databases cannot store is refused
//! at the boundary, and a handler, once started, runs to its end even when the client leaves.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferrodesk_app::AppError;

use crate::error::{ApiError, problem};

/// Runs the rest of a request that may write in its own task, so that a client that
/// disconnects cannot cancel a use case half-way (between `BEGIN` and `COMMIT`, say): dropping
/// a database future mid-transaction can hand a connection back to the pool inside an open
/// transaction. Reads (GET, HEAD, OPTIONS) open no transaction and stay on their task: a task
/// per request cost a third of the read throughput on two cores (cross-thread wake-ups); the
/// one write a read may do, marking a session or token as used, spawns its own task.
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "a request handler panicked");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error".into(),
                vec![],
            )
        }
    }
}

/// Headers every `/api/v1` answer carries: never sniffed into HTML, never framed, never kept
/// by a shared cache (answers are per user). No CORS header is ever sent: other sites' pages
/// cannot read the API (closed by default).
pub async fn api_headers(req: Request, next: Next) -> Response {
    let mut res = as_problem(next.run(req).await).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    res
}

/// An error answer that is not problem+json — a rejection of axum's own extractors, such as a
/// path id that is not a 64-bit number (plain text) — rewritten as one, so that every API error
/// has the documented shape.
async fn as_problem(res: Response) -> Response {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "malformed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let detail = if status.is_server_error() || text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let mut out = problem(status, code, detail, vec![]);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Refuses a request whose path, query or body holds a NUL character (PostgreSQL cannot store
/// it in text, SQLite would cut strings at it): 422 naming the field, before any handler runs.
/// One rule for every text field, query parameter and form field of the API and the web app.
pub async fn refuse_unstorable_text(req: Request, next: Next) -> Response {
    if has_nul_escape(req.uri().path().as_bytes()) {
        return refused("path");
    }
    if let Some(q) = req.uri().query()
        && has_nul_escape(q.as_bytes())
    {
        return refused(&nul_field_in_form(q.as_bytes()).unwrap_or_else(|| "query".into()));
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            if v.starts_with("application/x-www-form-urlencoded") {
                BodyKind::Form
            } else if v.starts_with("application/json") || v.contains("+json") {
                BodyKind::Json
            } else {
                BodyKind::Other
            }
        })
        .unwrap_or(BodyKind::Other);
    if kind == BodyKind::Other {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the body is larger than 1 MiB".into(),
                vec![],
            );
        }
    };
    let field = match kind {
        BodyKind::Json => nul_field_in_json(&bytes),
        BodyKind::Form if has_nul_escape(&bytes) => {
            Some(nul_field_in_form(&bytes).unwrap_or_else(|| "body".into()))
        }
        _ => None,
    };
    if let Some(field) = field {
        return refused(&field);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
    Other,
}

fn refused(field: &str) -> Response {
    let name = if field.is_empty() { "body" } else { field };
    ApiError(AppError::invalid(
        name,
        "invalid_character",
        format!("{name} contains a NUL character (U+0000), which cannot be stored"),
    ))
    .into_response()
}

/// Whether percent-encoded text holds `%00` (or a raw NUL byte).
fn has_nul_escape(s: &[u8]) -> bool {
    s.contains(&0) || s.windows(3).any(|w| w == b"%00")
}

/// The first form field (`a=b&c=d`) whose name or value decodes to text with a NUL.
fn nul_field_in_form(s: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(s).ok()?;
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\u{FFFD}"))
}

/// The path (`a.b[2].c`) of the first JSON string, or object key, that holds a NUL; `None` for
/// JSON without one (or no JSON at all: the handler's parser then says what is wrong).
fn nul_field_in_json(bytes: &[u8]) -> Option<String> {
    // Cheap test first: a NUL in JSON text is either a raw byte (invalid JSON anyway) or the
    // escape \u0000.
    if !bytes.contains(&0) && !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn walk(v: &serde_json::Value, path: &mut String) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.replace('\0', "\u{FFFD}"));
                let found = k.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(&value, &mut path).then_some(path)
}

/// The path where the MTA hands over inbound mail: the one route whose body may be larger
/// than [`crate::MAX_BODY_BYTES`] (up to the configured message size).
pub const MAIL_INBOUND_PATH: &str = "/api/v1/mail/inbound";

/// The path files are uploaded to, up to the configured file size.
pub const UPLOADS_PATH: &str = "/api/v1/uploads";

/// Refuses a request body larger than its route takes — inbound mail up to the configured
/// message size, an upload up to the file size, a web form with files (a reply, a note, a
/// new request) up to a comment's files together plus 1 MiB, everything else 1 MiB — with
/// 413, before (or while) the handler reads it.
pub async fn limit_body(
    axum::extract::State(app): axum::extract::State<ferrodesk_app::App>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let form_with_files = crate::ui::takes_files(path);
    let limit = match path {
        MAIL_INBOUND_PATH => app.config().mail_max_bytes,
        UPLOADS_PATH => usize::try_from(app.config().attachment_max_bytes).unwrap_or(usize::MAX),
        _ if form_with_files => usize::try_from(app.config().comment_attachments_max_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(crate::MAX_BODY_BYTES),
        _ => crate::MAX_BODY_BYTES,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        // A page's form is answered with a page.
        return if form_with_files {
            crate::ui::form_too_large(limit)
        } else {
            too_large(limit)
        };
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// 413 for a body over `limit` bytes.
pub fn too_large(limit: usize) -> Response {
    let size = if limit >= 1024 * 1024 {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{limit} bytes")
    };
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is larger than {size}"),
        vec![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_json_field_that_holds_a_nul() {
        assert_eq!(
            nul_field_in_json(br#"{"email":"a\u0000b","password":"x"}"#),
            Some("email".into())
        );
        assert_eq!(
            nul_field_in_json(
                br#"{"conditions":{"all":[{"field":"subject","value":"ok"},{"value":"a\u0000"}]}}"#
            ),
            Some("conditions.all[1].value".into())
        );
        assert_eq!(nul_field_in_json(br#"{"body":"no nul here"}"#), None);
        // An escaped backslash followed by u0000 is the text \u0000, not a NUL.
        assert_eq!(nul_field_in_json(br#"{"body":"\\u0000"}"#), None);
    }

    #[test]
    fn finds_the_form_field_that_holds_a_nul() {
        assert_eq!(
            nul_field_in_form(b"q=requester:a%00b&page=2"),
            Some("q".into())
        );
        assert_eq!(nul_field_in_form(b"q=fine"), None);
        assert!(has_nul_escape(b"a%00"));
        assert!(!has_nul_escape(b"a%20b"));
    }
}
