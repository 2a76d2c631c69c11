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

use super::view::{Layout, Opt};
use super::{Post, Session, UiError, field_errors, html, html_status};

/// The two-factor page; every address under it stays open to staff who must still set it up.
pub(super) const TWO_FACTOR_PAGE: &str = "/account/two-factor";

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route(TWO_FACTOR_PAGE, get(page))
        .route("/account/two-factor/setup", post(setup))
        .route("/account/two-factor/enable", post(enable))
        .route("/account/two-factor/disable", post(disable))
        .route(
            "/account/time-zone",
            get(time_zone_page).post(set_time_zone),
        )
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

// ------------------------------------------------------------------ time zone

/// The signed-in person's own time zone: the desk's (Settings) by default.
#[derive(Template)]
#[template(path = "account_time_zone.html")]
struct TimeZonePage {
    layout: Layout,
    zones: Vec<Opt>,
    error: Option<String>,
}

async fn time_zone_page_for(
    app: &App,
    s: &Session,
    chosen: Option<&str>,
    error: Option<String>,
) -> Result<TimeZonePage, UiError> {
    let desk = app.time_zone().await?;
    let mut zones = vec![Opt::none(
        &format!(
            "The desk's time zone ({})",
            desk.iana_name().unwrap_or("UTC")
        ),
        chosen.is_none(),
    )];
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .collect();
    names.sort();
    zones.extend(names.into_iter().map(|n| {
        let selected = chosen == Some(n.as_str());
        Opt::new(&n, n.replace('_', " "), selected)
    }));
    let mut layout = s.layout("Time zone", "account");
    layout.notice = None;
    Ok(TimeZonePage {
        layout,
        zones,
        error,
    })
}

async fn time_zone_page(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let mut page = time_zone_page_for(&app, &s, s.p.user.time_zone.as_deref(), None).await?;
    if q.done == "saved" {
        page.layout.notice = Some("Your time zone is saved.".into());
    }
    Ok(html(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TimeZoneForm {
    time_zone: String,
}

async fn set_time_zone(
    State(app): State<App>,
    Post { s, form }: Post<TimeZoneForm>,
) -> Result<Response, UiError> {
    match app.set_my_time_zone(&s.p, Some(&form.time_zone)).await {
        Ok(()) => Ok(Redirect::to("/account/time-zone?done=saved").into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page = time_zone_page_for(
                &app,
                &s,
                s.p.user.time_zone.as_deref(),
                errors.get("time_zone").cloned(),
            )
            .await?;
            Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
