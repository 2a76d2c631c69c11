//! The agent's new ticket form.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{TicketIn, UserOut};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::Role;
use ferrodesk_store::directory::UserFilter;
use serde::Deserialize;

use super::agent::staff_only;
use super::agent_ticket::{Owners, PropsForm, internal_owner, parse_priority, priority_options};
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
    requesters: Vec<Opt>,
    subject: String,
    description: String,
    public: bool,
    statuses: Vec<Opt>,
    priorities: Vec<Opt>,
    groups: Vec<Opt>,
    assignees: Vec<Opt>,
    internal_owner: String,
    errors: Errors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewTicketForm {
    requester_id: String,
    subject: String,
    description: String,
    visibility: String,
    #[serde(flatten)]
    props: PropsForm,
}

async fn end_users(app: &App, s: &Session) -> Result<Vec<UserOut>, UiError> {
    let page = app
        .list_users(
            &s.p,
            UserFilter {
                role: Some(Role::EndUser),
                ..Default::default()
            },
            None,
            Some(100),
        )
        .await?;
    Ok(page.items)
}

async fn new_ticket_page(
    app: &App,
    s: &Session,
    form: &NewTicketForm,
    o: &Owners,
    errors: Errors,
) -> Result<NewTicketPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let requester: Option<i64> = form.requester_id.parse().ok();
    let mut requesters = vec![Opt::new(
        s.p.user.id.0,
        format!("Me ({})", s.p.user.name),
        requester.is_none_or(|r| r == s.p.user.id.0),
    )];
    requesters.extend(end_users(app, s).await?.into_iter().map(|u| {
        Opt::new(
            u.id,
            format!("{} <{}>", u.name, u.email.unwrap_or_default()),
            Some(u.id) == requester,
        )
    }));
    let owner = internal_owner(&dir, o, &errors)
        .render()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(NewTicketPage {
        layout: s.layout("New ticket", "new"),
        requesters,
        subject: form.subject.clone(),
        description: form.description.clone(),
        public: form.visibility != "private",
        statuses: dir.status_options(Some(o.status_id)),
        priorities: priority_options(&o.priority),
        groups: dir.group_options("— none —", o.group_id),
        assignees: dir.staff_options("— none —", o.assignee_id),
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
    let page = new_ticket_page(&app, &s, &NewTicketForm::default(), &o, Errors::new()).await?;
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
    let requester_id = opt_id(&mut errors, "requester_id", &form.requester_id);
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
            Err(e) => errors = field_errors(e)?,
        }
    }
    let page = new_ticket_page(&app, &s, &form, &o, errors).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
