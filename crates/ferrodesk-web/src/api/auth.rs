//! Sign-in, sign-out, the current user and API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::App;
use ferrodesk_app::dto::{
    LoginIn, RecoveryCodesOut, TokenIn, TokenInfoOut, TokenOut, TwoFactorCodeIn, TwoFactorSetupOut,
    TwoFactorStatusOut, UserOut,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body, SESSION_COOKIE};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(two_factor_status, two_factor_setup))
        .routes(routes!(two_factor_enable))
        .routes(routes!(two_factor_disable))
}

/// Signs in with email and password; sets the session cookie used by the web app.
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()),
    request_body = LoginIn,
    responses((status = 200, body = UserOut), (status = 401, body = Problem)))]
async fn login(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    Body(input): Body<LoginIn>,
) -> Result<Response, ApiError> {
    // A sign-in that sets a cookie must come from our own pages (or from no browser at all):
    // another site must not sign a visitor into an account of its choosing (login CSRF).
    if !crate::extract::same_origin_headers(&headers) {
        return Err(ferrodesk_app::AppError::forbidden(
            "csrf",
            "sign-in from another site refused",
        )
        .into());
    }
    let grant = app.login(input).await?;
    let principal = {
        let mut c = app
            .store()
            .read()
            .await
            .map_err(ferrodesk_app::AppError::from)?;
        app.principal(&mut c, grant.user_id, ferrodesk_core::Channel::Web)
            .await?
            .ok_or(ferrodesk_app::AppError::Unauthenticated)?
    };
    let cookie = crate::extract::session_cookie(&app, &grant.secret, grant.max_age_secs).await;
    let mut res = Json(app.me(&principal).await).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// Ends the current browser session (if any; signing out twice is not an error).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(()),
    responses((status = 204, description = "signed out")))]
async fn logout(
    State(app): State<App>,
    req: axum::http::request::Parts,
) -> Result<Response, ApiError> {
    if let Some(secret) = crate::extract::cookie(&req, SESSION_COOKIE) {
        app.logout(&secret).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&crate::extract::expired_cookie(SESSION_COOKIE, "/")) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = UserOut), (status = 401, body = Problem)))]
async fn me(State(app): State<App>, Auth(p): Auth) -> Json<UserOut> {
    Json(app.me(&p).await)
}

/// Whether the caller's two-factor sign-in is on, how many recovery codes are left, and
/// whether an admin requires it of them.
#[utoipa::path(get, path = "/me/two-factor", tag = "auth",
    responses((status = 200, body = TwoFactorStatusOut), (status = 401, body = Problem)))]
async fn two_factor_status(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<TwoFactorStatusOut>, ApiError> {
    Ok(Json(app.two_factor_status(&p).await?))
}

/// Starts two-factor sign-in for the caller: a new secret for an authenticator app. Nothing
/// changes for sign-in until a code is confirmed (`/me/two-factor/enable`).
#[utoipa::path(post, path = "/me/two-factor", tag = "auth",
    responses((status = 201, body = TwoFactorSetupOut), (status = 409, body = Problem)))]
async fn two_factor_setup(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<(StatusCode, Json<TwoFactorSetupOut>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.two_factor_setup(&p).await?)))
}

/// Turns two-factor sign-in on with a current code of the app; answers the recovery codes,
/// shown this once. From then on sign-in and new API tokens ask for a code.
#[utoipa::path(post, path = "/me/two-factor/enable", tag = "auth", request_body = TwoFactorCodeIn,
    responses((status = 200, body = RecoveryCodesOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn two_factor_enable(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<TwoFactorCodeIn>,
) -> Result<Json<RecoveryCodesOut>, ApiError> {
    Ok(Json(app.two_factor_enable(&p, &input.code).await?))
}

/// Turns the caller's two-factor sign-in off, with a current code or a recovery code (not
/// while an admin requires it of agents and admins: 409).
#[utoipa::path(post, path = "/me/two-factor/disable", tag = "auth", request_body = TwoFactorCodeIn,
    responses((status = 204), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn two_factor_disable(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<TwoFactorCodeIn>,
) -> Result<StatusCode, ApiError> {
    let me = p.user.id;
    app.two_factor_disable(&p, me, Some(&input.code)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's API tokens: name, created, last used, expiry — never the secret.
#[utoipa::path(get, path = "/tokens", tag = "auth",
    responses((status = 200, body = Vec<TokenInfoOut>), (status = 401, body = Problem)))]
async fn list_tokens(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Vec<TokenInfoOut>>, ApiError> {
    Ok(Json(app.list_tokens(&p).await?))
}

/// Revokes an API token: one's own, or (admins) anyone's. Audited.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(app): State<App>,
    Auth(p): Auth,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.revoke_token(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an API token for the caller; the secret is shown only in this answer.
#[utoipa::path(post, path = "/tokens", tag = "auth",
    request_body(content = Option<TokenIn>, description = "optional: an empty body makes an unnamed token that does not expire"),
    responses((status = 201, body = TokenOut), (status = 401, body = Problem)))]
async fn create_token(
    State(app): State<App>,
    Auth(p): Auth,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    use axum::extract::FromRequest;
    let empty = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_none_or(|v| v.as_bytes() == b"0");
    let input = if empty {
        TokenIn::default()
    } else {
        match Body::<TokenIn>::from_request(req, &app).await {
            Ok(b) => b.0,
            Err(rejection) => return Ok(rejection.into_response()),
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(app.create_token(&p, input).await?),
    )
        .into_response())
}
