//! Outgoing mail (admins): messages waiting, given up or delivered — what each is, for whom,
//! how often it was tried and the SMTP server's last answer — and sending a failed one again.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::App;
use ferrodesk_app::dto::{OutboxJobOut, OutboxState};
use serde::Deserialize;

use super::admin::admin_only;
use super::view::{Layout, when};
use super::{PagePath, Post, Session, UiError, html};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/outbox", get(list))
        .route("/admin/outbox/{id}/retry", post(retry))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Params {
    state: Option<OutboxState>,
    cursor: Option<String>,
    done: String,
}

/// One message as the page shows it.
struct Row {
    id: i64,
    message: String,
    ticket_id: Option<i64>,
    recipient: String,
    attempts: i64,
    when: String,
    answer: String,
    failed: bool,
}

#[derive(Template)]
#[template(path = "admin_outbox.html")]
struct OutboxPage {
    layout: Layout,
    tab: &'static str,
    state: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
}

fn row(j: OutboxJobOut) -> Row {
    let failed = j.state == "failed";
    Row {
        id: j.id,
        message: j.message,
        ticket_id: j.ticket_id,
        recipient: j.recipient.unwrap_or_else(|| "—".into()),
        attempts: j.attempts,
        when: when(j.next_attempt_at.as_deref().unwrap_or(&j.created_at)),
        answer: j.last_error.unwrap_or_default(),
        failed,
    }
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Params>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let state = q.state.unwrap_or_default();
    let page = app
        .list_outbox(&s.p, state, q.cursor.as_deref(), Some(50))
        .await?;
    let mut layout = s.layout("Outgoing mail", "admin");
    layout.notice = (q.done == "retried").then(|| "The message will be sent again.".into());
    Ok(html(&OutboxPage {
        layout,
        tab: "outbox",
        state: match state {
            OutboxState::Pending => "pending",
            OutboxState::Failed => "failed",
            OutboxState::Done => "done",
        },
        rows: page.items.into_iter().map(row).collect(),
        next: page.next_cursor,
    }))
}

async fn retry(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.retry_outbox(&s.p, id).await?;
    Ok(Redirect::to("/admin/outbox?state=pending&done=retried").into_response())
}
