//! Finding people by what an agent types (a name or an email address): the ticket page's
//! "Add CC", the new ticket form's requester, and the staff-only search the requester
//! box asks as the agent types (`GET /agent/people?q=`, HTML options for `people.js`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use ferrodesk_app::dto::UserOut;
use ferrodesk_app::{App, AppError};
use ferrodesk_store::directory::UserFilter;
use serde::Deserialize;

use super::agent::staff_only;
use super::{Session, UiError, html};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/agent/people", get(search))
        .route("/static/people.js", get(people_js))
}

/// The longest text searched for (an email address is at most 254 characters).
const MAX_TEXT: usize = 254;

/// How many people a search shows at most.
const SHOWN: i64 = 10;

/// Who a typed name or address designates.
pub(super) enum Found {
    One(UserOut),
    /// Several people match: the agent chooses.
    Several(Vec<UserOut>),
    /// Nobody: the sentence says so, naming what was typed.
    Nobody(String),
}

/// The people whose name or email address contains `text` (SQL `LIKE` with a limit,
/// through the app's user list: staff only).
pub(super) async fn search_people(
    app: &App,
    s: &Session,
    text: &str,
    limit: i64,
) -> Result<Vec<UserOut>, UiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Ok(Vec::new());
    }
    let page = app
        .list_users(
            &s.p,
            UserFilter {
                q: Some(text.to_owned()),
                ..Default::default()
            },
            None,
            Some(limit),
        )
        .await?;
    Ok(page.items)
}

/// Finds the person `text` designates: the user with that exact email address; else the
/// one person with exactly that name (case aside); else the one person whose name or
/// address contains it. Several people with that name (or, without one, several partial
/// matches) are `Several`.
pub(super) async fn find_person(app: &App, s: &Session, text: &str) -> Result<Found, UiError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return Ok(Found::Nobody(format!(
            "Type at most {MAX_TEXT} characters: a name or an email address."
        )));
    }
    if text.contains('@') {
        match app.find_user_by_email(&s.p, text).await {
            Ok(u) => return Ok(Found::One(u)),
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let found = search_people(app, s, text, SHOWN).await?;
    let (mut same_name, mut found): (Vec<UserOut>, Vec<UserOut>) = found
        .into_iter()
        .partition(|u| u.name.trim().to_lowercase() == text.to_lowercase());
    match same_name.len() {
        1 => return Ok(Found::One(same_name.remove(0))),
        0 => {}
        _ => return Ok(Found::Several(same_name)),
    }
    Ok(match found.len() {
        0 if text.contains('@') => Found::Nobody(format!(
            "No one has the address {text}: only people Ferrodesk knows can be chosen."
        )),
        0 => Found::Nobody(format!(
            "No one matches “{text}”: type their name or email address."
        )),
        1 => Found::One(found.remove(0)),
        _ => Found::Several(found),
    })
}

/// A person as listed: "Name <address>".
pub(super) fn label(u: &UserOut) -> String {
    match &u.email {
        Some(e) if !e.is_empty() => format!("{} <{e}>", u.name),
        _ => u.name.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SearchParams {
    q: String,
}

/// The matching people as `<li role="option">` elements, for the requester box's list.
#[derive(Template)]
#[template(
    source = r#"{% for (id, l) in people %}<li role="option" id="person-{{ id }}" data-id="{{ id }}" data-label="{{ l }}" aria-selected="false">{{ l }}</li>
{% endfor %}{% if people.is_empty() %}<li role="option" id="people-none" aria-disabled="true" aria-selected="false">No one matches.</li>{% endif %}"#,
    ext = "html"
)]
struct PeopleOptions {
    people: Vec<(i64, String)>,
}

async fn search(
    State(app): State<App>,
    s: Session,
    Query(q): Query<SearchParams>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let people = search_people(&app, &s, &q.q, SHOWN)
        .await?
        .iter()
        .map(|u| (u.id, label(u)))
        .collect();
    Ok(html(&PeopleOptions { people }))
}

async fn people_js() -> Response {
    super::script(include_str!("../../static/people.js"))
}
