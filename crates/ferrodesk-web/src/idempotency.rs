//! `Idempotency-Key` on POST (SPEC §8): a retried create answers what the first one did,
//! without doing it twice. Keys are per user and route; a key reused with another body is
//! refused (422). The key is claimed and answered in the request's own write transaction
//! (`ferrodesk_store::idempotency`): a request cut off before its answer was committed left
//! nothing, so its retry runs it once; a retry sent while the first is still running waits for
//! it and replays its answer.

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
    let (scope, claim) = match app.idempotency_lookup(user, &key, &route, &bytes).await {
        Ok(found) => found,
        Err(e) => return ApiError(e).into_response(),
    };
    if claim != Claim::New {
        return earlier_answer(claim);
    }
    let res = scope
        .run(next.run(Request::from_parts(parts, Body::from(bytes.clone()))))
        .await;
    let parked = scope.take_parked();
    if scope.used_by_other() {
        // A request with the same key committed while this one waited for the write lock.
        drop(parked);
        return match app.idempotency_lookup(user, &key, &route, &bytes).await {
            Ok((_, claim)) => earlier_answer(claim),
            Err(e) => ApiError(e).into_response(),
        };
    }
    let Some(tx) = parked else {
        // Nothing was written (an error before any change, or a request that changes nothing).
        return res;
    };
    let (res_parts, res_body) = res.into_parts();
    let Ok(out) = axum::body::to_bytes(res_body, usize::MAX).await else {
        // `tx` rolls back when dropped: nothing was changed.
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be completed; nothing was changed".into(),
            vec![],
        );
    };
    if !res_parts.status.is_success() {
        // An error answer after the use case's commit: roll its change back with `tx`.
        drop(tx);
        return Response::from_parts(res_parts, Body::from(out));
    }
    let body = String::from_utf8_lossy(&out);
    if let Err(e) = scope.finish(tx, res_parts.status.as_u16(), &body).await {
        tracing::error!(error = %e, "committing a request with its idempotency key failed");
        return ApiError(AppError::from(e)).into_response();
    }
    Response::from_parts(res_parts, Body::from(out))
}

/// The answer to a request whose key an earlier request already used.
fn earlier_answer(claim: Claim) -> Response {
    match claim {
        Claim::Done { status, body } => {
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
        Claim::Mismatch => ApiError(AppError::invalid(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ))
        .into_response(),
        Claim::Unanswered | Claim::New => problem(
            StatusCode::CONFLICT,
            "idempotency_unanswered",
            "a request with this Idempotency-Key changed data but its answer was lost; \
             look the result up instead of retrying"
                .into(),
            vec![],
        ),
    }
}
