//! The agent's new ticket form.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::TicketIn;
use ferrodesk_app::{App, AppError};
use ferrodesk_core::UserId;
use serde::Deserialize;

use super::agent::staff_only;
use super::agent_ticket::{
    Owners, PropsForm, assignee_field, internal_owner, parse_priority, priority_options,
};
use super::people::{self, Found, find_person};
use super::view::{Directory, Layout, Opt};
use super::{Errors, Post, Session, UiError, field_errors, html, html_status, opt_id};

// ------------------------------------------------------------------ new ticket

pub(super) fn routes() -> Router<App> {
    // POST /agent/tickets creates a ticket (the list is GET on the same address).
    Router::new()
        .route("/agent/tickets", post(create))
        .route("/agent/tickets/new", get(new_form))
}

#[derive(Template)]
#[template(path = "agent_new_ticket.html")]
struct NewTicketPage {
    layout: Layout,
    /// The requester box as typed (or the chosen person's name and address).
    requester: String,
    /// The chosen requester (`requester_pick`), when one is.
    picked: Option<i64>,
    /// Several people matched what was typed: the agent chooses one.
    choices: Vec<Opt>,
    subject: String,
    description: String,
    public: bool,
    statuses: Vec<Opt>,
    priorities: Vec<Opt>,
    groups: Vec<Opt>,
    assignee: String,
    internal_owner: String,
    errors: Errors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewTicketForm {
    /// The requester box: a name or an email address.
    requester: String,
    /// The person chosen (by the script as the agent types, or among several matches).
    requester_pick: String,
    subject: String,
    description: String,
    visibility: String,
    #[serde(flatten)]
    props: PropsForm,
}

async fn new_ticket_page(
    app: &App,
    s: &Session,
    form: &NewTicketForm,
    o: &Owners,
    requester: &Requester,
    errors: Errors,
) -> Result<NewTicketPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let owner = internal_owner(&dir, o, &errors)
        .render()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(NewTicketPage {
        layout: s.layout("New ticket", "new"),
        requester: requester.text.clone(),
        picked: requester.picked,
        choices: requester.choices.clone(),
        subject: form.subject.clone(),
        description: form.description.clone(),
        public: form.visibility != "private",
        statuses: dir.status_options(Some(o.status_id)),
        priorities: priority_options(&o.priority),
        groups: dir.group_options("— none —", o.group_id),
        assignee: assignee_field(&dir, o.group_id, o.assignee_id, &errors)?,
        internal_owner: owner,
        errors,
    })
}

async fn new_form(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let statuses = app.list_statuses(&s.p).await?.items;
    let open = statuses
        .iter()
        .find(|st| st.name == "Open")
        .map_or(0, |st| st.id);
    let o = Owners {
        status_id: open,
        priority: "normal".into(),
        ..Default::default()
    };
    let page = new_ticket_page(
        &app,
        &s,
        &NewTicketForm::default(),
        &o,
        &Requester::default(),
        Errors::new(),
    )
    .await?;
    Ok(html(&page))
}

async fn create(
    State(app): State<App>,
    Post { s, form }: Post<NewTicketForm>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let mut errors = Errors::new();
    let o = form.props.owners(&mut errors);
    let priority = parse_priority(&mut errors, &form.props.priority);
    let requester = requester(&app, &s, &form, &mut errors).await?;
    let requester_id = requester.picked;
    if errors.is_empty() {
        let input = TicketIn {
            subject: form.subject.clone(),
            description: form.description.clone(),
            public: Some(form.visibility != "private"),
            requester_id,
            status_id: Some(o.status_id),
            priority,
            group_id: o.group_id,
            assignee_id: o.assignee_id,
            internal_group_id: o.internal_group_id,
            internal_agent_id: o.internal_agent_id,
            ..Default::default()
        };
        match app.create_ticket(&s.p, input).await {
            Ok(t) => {
                return Ok(
                    Redirect::to(&format!("/agent/tickets/{}?done=created", t.id)).into_response(),
                );
            }
            Err(e) => {
                errors = field_errors(e)?
                    .into_iter()
                    .map(|(k, v)| match k.as_str() {
                        "requester_id" => ("requester".to_owned(), v),
                        _ => (k, v),
                    })
                    .collect();
            }
        }
    }
    let page = new_ticket_page(&app, &s, &form, &o, &requester, errors).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The requester as the form chose them.
#[derive(Debug, Default)]
struct Requester {
    /// What the box shows.
    text: String,
    picked: Option<i64>,
    /// Several people matched: radio choices.
    choices: Vec<Opt>,
}

/// Who the form names as requester: the person picked (by the script, or among several
/// matches), else the one person the typed text designates (`people::find_person`).
/// Nobody typed, nobody found or several found: an error under the box.
async fn requester(
    app: &App,
    s: &Session,
    form: &NewTicketForm,
    errors: &mut Errors,
) -> Result<Requester, UiError> {
    let mut unread = Errors::new();
    if let Some(id) = opt_id(&mut unread, "requester", &form.requester_pick) {
        return Ok(match app.get_user(&s.p, UserId(id)).await {
            Ok(u) => Requester {
                text: people::label(&u),
                picked: Some(u.id),
                choices: Vec::new(),
            },
            Err(_) => {
                errors.insert(
                    "requester".into(),
                    "That person no longer exists: type a name or email address.".into(),
                );
                Requester::default()
            }
        });
    }
    let text = form.requester.trim();
    let mut out = Requester {
        text: text.to_owned(),
        ..Default::default()
    };
    if text.is_empty() {
        errors.insert(
            "requester".into(),
            "Type the requester's name or email address.".into(),
        );
        return Ok(out);
    }
    match find_person(app, s, text).await? {
        Found::One(u) => {
            out.text = people::label(&u);
            out.picked = Some(u.id);
        }
        Found::Several(list) => {
            errors.insert(
                "requester".into(),
                format!("Several people match “{text}”: choose one below."),
            );
            out.choices = list
                .iter()
                .map(|u| Opt::new(u.id, people::label(u), false))
                .collect();
        }
        Found::Nobody(why) => {
            errors.insert("requester".into(), why);
        }
    }
    Ok(out)
}
