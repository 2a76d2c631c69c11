//! The ticket page's presence poll: who else has the ticket open, and whether it changed
//! after the version the page shows (static/agent.js asks every 15 seconds; without
//! JavaScript nothing asks, and a stale submit is refused as before).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use ferrodesk_app::App;
use ferrodesk_core::TicketId;
use serde::Deserialize;

use super::agent::staff_only;
use super::{PagePath, Session, UiError, html};

pub(super) fn routes() -> Router<App> {
    Router::new().route("/agent/tickets/{id}/presence", get(presence))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PresenceParams {
    /// The version the page shows (empty: do not compare).
    version: String,
}

#[derive(Template)]
#[template(path = "agent_presence.html")]
struct PresenceFragment {
    lookers: Vec<String>,
    /// Who changed it, and how long ago in words.
    changed: Option<(String, String)>,
    reload: String,
}

/// "20 seconds ago", "3 minutes ago", "2 hours ago".
fn ago(micros: i64) -> String {
    let s = (micros / 1_000_000).max(0);
    let (n, unit) = match s {
        0..=59 => (s, "second"),
        60..=3599 => (s / 60, "minute"),
        _ => (s / 3600, "hour"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

async fn presence(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(q): Query<PresenceParams>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    // A version that is not a number compares with nothing (the poll sends the page's own).
    let version = q.version.trim().parse::<i64>().ok();
    let p = app.ticket_presence(&s.p, TicketId(id), version).await?;
    let now = app.now();
    Ok(html(&PresenceFragment {
        lookers: p.lookers,
        changed: p.changed.map(|(who, at)| (who, ago(now - at))),
        reload: format!("/agent/tickets/{id}"),
    }))
}
