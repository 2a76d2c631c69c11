//! The signed-in person's own account: two-factor sign-in (set up with an authenticator app,
//! recovery codes shown once, turned off with a code). Staff whom an admin requires to use it
//! are sent here before any other page ([`super::Session`]).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::TwoFactorStatusOut;
use ferrodesk_app::{App, AppError};
use serde::Deserialize;

use super::view::Layout;
use super::{Post, Session, UiError, html, html_status};

/// The two-factor page; every address under it stays open to staff who must still set it up.
pub(super) const TWO_FACTOR_PAGE: &str = "/account/two-factor";

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route(TWO_FACTOR_PAGE, get(page))
        .route("/account/two-factor/setup", post(setup))
        .route("/account/two-factor/enable", post(enable))
        .route("/account/two-factor/disable", post(disable))
}

/// A set-up in progress: what to add to the authenticator app.
struct Setup {
    secret: String,
    otpauth_uri: String,
}

#[derive(Template)]
#[template(path = "account_two_factor.html")]
struct TwoFactorPage {
    layout: Layout,
    status: TwoFactorStatusOut,
    /// Set-up in progress.
    setup: Option<Setup>,
    /// Recovery codes just made (shown this once).
    codes: Vec<String>,
    /// Why the last form was not accepted.
    error: Option<String>,
}

fn layout(s: &Session) -> Layout {
    let mut layout = s.layout("Two-factor sign-in", "account");
    if s.p.two_factor_due {
        layout.notice = Some(
            "An admin requires two-factor sign-in for agents and admins: set it up to go on."
                .into(),
        );
    }
    layout
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    done: String,
}

async fn page(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let status = app.two_factor_status(&s.p).await?;
    let mut layout = layout(&s);
    if q.done == "off" {
        layout.notice = Some("Two-factor sign-in is off.".into());
    }
    Ok(html(&TwoFactorPage {
        layout,
        status,
        setup: None,
        codes: Vec::new(),
        error: None,
    }))
}

#[derive(Deserialize)]
struct Empty {}

async fn setup(State(app): State<App>, post: Post<Empty>) -> Result<Response, UiError> {
    let s = post.s;
    let out = app.two_factor_setup(&s.p).await?;
    Ok(html(&TwoFactorPage {
        layout: layout(&s),
        status: app.two_factor_status(&s.p).await?,
        setup: Some(Setup {
            secret: out.secret,
            otpauth_uri: out.otpauth_uri,
        }),
        codes: Vec::new(),
        error: None,
    }))
}

#[derive(Deserialize)]
struct EnableForm {
    code: String,
    /// The set-up being confirmed, shown again if the code is wrong.
    #[serde(default)]
    secret: String,
    #[serde(default)]
    otpauth_uri: String,
}

async fn enable(
    State(app): State<App>,
    Post { s, form }: Post<EnableForm>,
) -> Result<Response, UiError> {
    match app.two_factor_enable(&s.p, form.code.trim()).await {
        Ok(out) => {
            let mut layout = s.layout("Two-factor sign-in", "account");
            layout.notice = Some("Two-factor sign-in is on.".into());
            Ok(html(&TwoFactorPage {
                layout,
                status: app.two_factor_status(&s.p).await?,
                setup: None,
                codes: out.recovery_codes,
                error: None,
            }))
        }
        Err(AppError::Invalid(errors)) => Ok(html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &TwoFactorPage {
                layout: layout(&s),
                status: app.two_factor_status(&s.p).await?,
                setup: Some(Setup {
                    secret: form.secret,
                    otpauth_uri: form.otpauth_uri,
                }),
                codes: Vec::new(),
                error: errors.into_iter().next().map(|e| e.message),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn disable(
    State(app): State<App>,
    Post { s, form }: Post<CodeForm>,
) -> Result<Response, UiError> {
    let me = s.p.user.id;
    let error = match app
        .two_factor_disable(&s.p, me, Some(form.code.trim()))
        .await
    {
        Ok(()) => return Ok(Redirect::to("/account/two-factor?done=off").into_response()),
        Err(AppError::Invalid(errors)) => errors.into_iter().next().map(|e| e.message),
        Err(AppError::Conflict { message, .. }) => Some(message),
        Err(e) => return Err(e.into()),
    };
    Ok(html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &TwoFactorPage {
            layout: layout(&s),
            status: app.two_factor_status(&s.p).await?,
            setup: None,
            codes: Vec::new(),
            error,
        },
    ))
}
