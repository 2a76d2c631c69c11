//! Incoming mail (admins): the messages that were not taken in — automatic mail, refusals,
//! unusable messages — with why, in words, and those that were; each original can be opened.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use ferrodesk_app::App;
use ferrodesk_app::dto::{InboundFilter, InboundMessageOut};
use serde::Deserialize;

use super::admin::admin_only;
use super::view::{Layout, when};
use super::{PagePath, Session, UiError, html};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/inbox", get(list))
        .route("/mail/{id}/original", get(original))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Params {
    show: Option<InboundFilter>,
    cursor: Option<String>,
}

/// One message as the page shows it.
struct Row {
    id: i64,
    from: String,
    subject: String,
    outcome: String,
    reason: String,
    ticket_id: Option<i64>,
    when: String,
}

#[derive(Template)]
#[template(path = "admin_inbox.html")]
struct InboxPage {
    layout: Layout,
    tab: &'static str,
    show: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
}

fn row(m: InboundMessageOut) -> Row {
    Row {
        id: m.id,
        from: m.from.unwrap_or_else(|| "(no sender)".into()),
        subject: if m.subject.is_empty() {
            "(no subject)".into()
        } else {
            m.subject
        },
        outcome: m.outcome_label,
        reason: m.reason.unwrap_or_default(),
        ticket_id: m.ticket_id,
        when: when(&m.received_at),
    }
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Params>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let show = q.show.unwrap_or_default();
    let page = app
        .list_inbound(&s.p, show, q.cursor.as_deref(), Some(50))
        .await?;
    Ok(html(&InboxPage {
        layout: s.layout("Incoming mail", "admin"),
        tab: "inbox",
        show: match show {
            InboundFilter::NotTakenIn => "not_taken_in",
            InboundFilter::TakenIn => "taken_in",
            InboundFilter::All => "all",
        },
        rows: page.items.into_iter().map(row).collect(),
        next: page.next_cursor,
    }))
}

/// The original of an inbound message, as a download (admins; agents for tickets they see).
async fn original(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    let raw = app.inbound_original(&s.p, id).await?;
    Ok(crate::api::mail::original_download(id, raw))
}
