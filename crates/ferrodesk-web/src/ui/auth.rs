//! Sign in and sign out. The session cookie is the API's (`ferrodesk_session`, HttpOnly,
//! SameSite=Lax). The sign-in form has no session yet, so its CSRF token is a random
//! value in a short-lived cookie that the form must repeat (double submit).

use askama::Template;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::LoginIn;
use ferrodesk_app::{App, AppError};
use serde::Deserialize;

use super::view::Layout;
use super::{Post, UiError, form_pairs, html_status, same_secret};
use crate::extract::{SESSION_COOKIE, cookie, expired_cookie, set_cookie};

/// The cookie holding the sign-in form's token.
const LOGIN_CSRF_COOKIE: &str = "ferrodesk_login_csrf";

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextParam {
    #[serde(default)]
    next: String,
}

/// Only addresses inside this site are followed after sign-in.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn login_form(next: &str, email: &str, error: Option<String>, status: StatusCode) -> Response {
    let token = ferrodesk_app::auth::new_secret();
    let mut layout = Layout::anonymous("Sign in");
    layout.csrf = token.clone();
    let mut res = html_status(
        status,
        &LoginPage {
            layout,
            next: safe_next(next),
            email: email.to_owned(),
            error,
        },
    );
    let c = set_cookie(LOGIN_CSRF_COOKIE, &token, "/login", 3600, false);
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_page(Query(q): Query<NextParam>) -> Response {
    login_form(&q.next, "", None, StatusCode::OK)
}

async fn login(State(app): State<App>, req: Request) -> Result<Response, UiError> {
    let (parts, body) = req.into_parts();
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let (pairs, _) = form_pairs(Request::from_parts(parts, body), &app).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let sent = field("_csrf");
    if expected.is_empty() || !same_secret(&sent, &expected) {
        return Err(UiError::Csrf);
    }
    let (email, password, next) = (field("email"), field("password"), field("next"));
    let code = Some(field("code")).filter(|c| !c.trim().is_empty());
    if email.trim().is_empty() || password.is_empty() {
        return Ok(login_form(
            &next,
            &email,
            Some("Enter your email address and your password.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let grant = match app
        .login(LoginIn {
            email: email.trim().to_owned(),
            password,
            code,
        })
        .await
    {
        Ok(g) => g,
        Err(AppError::Unauthenticated) => {
            return Ok(login_form(
                &next,
                &email,
                Some("That email address and password do not match an account.".into()),
                StatusCode::UNAUTHORIZED,
            ));
        }
        Err(AppError::TwoFactorRequired) => {
            return Ok(login_form(
                &next,
                &email,
                Some(
                    "Two-factor sign-in is on for this account: enter your password again with the code of your authenticator app."
                        .into(),
                ),
                StatusCode::UNAUTHORIZED,
            ));
        }
        Err(e @ AppError::Locked { .. }) => {
            return Ok(login_form(
                &next,
                &email,
                Some(e.to_string()),
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut res = Redirect::to(&safe_next(&next)).into_response();
    let session = crate::extract::session_cookie(&app, &grant.secret, grant.max_age_secs).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&session) {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&expired_cookie(LOGIN_CSRF_COOKIE, "/login")) {
        h.append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Deserialize)]
struct Empty {}

/// Ends this browser's session (in the database, so the cookie stops working everywhere).
async fn logout(State(app): State<App>, post: Post<Empty>) -> Result<Response, UiError> {
    app.logout(&post.s.secret).await?;
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&expired_cookie(SESSION_COOKIE, "/")) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}
