//! `Idempotency-Key` on POST (SPEC §8): a retried create answers what the first one did,
//! without doing it twice. Keys are per user and route; a key reused with another body is
//! refused (422), and one whose first request is still running answers 409.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferrodesk_app::{App, AppError};
use ferrodesk_store::idempotency::Claim;

use crate::error::{ApiError, problem};
use crate::extract::Auth;

/// The header.
pub const HEADER: &str = "idempotency-key";

/// The middleware.
pub async fn idempotency(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().unwrap_or("").to_owned())
    else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return ApiError(AppError::invalid(
            "Idempotency-Key",
            "invalid",
            "Idempotency-Key is 1 to 255 visible ASCII characters",
        ))
        .into_response();
    }
    let (mut parts, body) = req.into_parts();
    let principal = match Auth::from_request_parts(&mut parts, &app).await {
        Ok(Auth(p)) => p,
        Err(e) => return e.into_response(),
    };
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the body is larger than 1 MiB".into(),
            vec![],
        );
    };
    let route = format!("POST {}", parts.uri.path());
    let user = principal.user.id;
    match app.idempotency_claim(user, &key, &route, &bytes).await {
        Err(e) => ApiError(e).into_response(),
        Ok(Claim::InProgress) => problem(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still running; retry later".into(),
            vec![],
        ),
        Ok(Claim::Mismatch) => ApiError(AppError::invalid(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ))
        .into_response(),
        Ok(Claim::Done { status, body }) => {
            let mut res =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
        Ok(Claim::New) => {
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (res_parts, res_body) = res.into_parts();
            let Ok(out) = axum::body::to_bytes(res_body, usize::MAX).await else {
                let _ = app.idempotency_finish(user, &key, &route, None).await;
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the answer could not be read".into(),
                    vec![],
                );
            };
            let answer = res_parts.status.is_success().then(|| {
                (
                    res_parts.status.as_u16(),
                    String::from_utf8_lossy(&out).into_owned(),
                )
            });
            if let Err(e) = app
                .idempotency_finish(
                    user,
                    &key,
                    &route,
                    answer.as_ref().map(|(s, b)| (*s, b.as_str())),
                )
                .await
            {
                tracing::error!(error = %e, "recording an idempotency key failed");
            }
            Response::from_parts(res_parts, Body::from(out))
        }
    }
}
