//! Search for agents and customers: one page over `App::search`, so the results are exactly
//! what the API's search answers the same person (permission-filtered by the one policy; a
//! customer never matches on a private note). Results link to the agent ticket page or to the
//! portal request page.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use ferrodesk_app::{App, AppError};
use serde::Deserialize;

use super::view::{Layout, when};
use super::{Session, UiError, html, html_status};

pub(super) fn routes() -> Router<App> {
    Router::new().route("/search", get(search))
}

struct Hit {
    href: String,
    id: i64,
    subject: String,
    status: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    searched: bool,
    error: Option<String>,
    hits: Vec<Hit>,
    next_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Params {
    q: String,
    cursor: String,
}

/// `q=` encoded for a link.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn search(
    State(app): State<App>,
    s: Session,
    Query(p): Query<Params>,
) -> Result<Response, UiError> {
    let layout = s.layout("Search", "search");
    let mut page = SearchPage {
        layout,
        q: p.q.clone(),
        searched: !p.q.trim().is_empty(),
        error: None,
        hits: Vec::new(),
        next_href: None,
    };
    if !page.searched {
        return Ok(html(&page));
    }
    let cursor = (!p.cursor.is_empty()).then_some(p.cursor.as_str());
    match app.search(&s.p, &p.q, cursor, Some(25)).await {
        Ok(found) => {
            let staff = s.is_staff();
            page.hits = found
                .items
                .into_iter()
                .map(|t| Hit {
                    href: if staff {
                        format!("/agent/tickets/{}", t.id)
                    } else {
                        format!("/portal/requests/{}", t.id)
                    },
                    id: t.id,
                    subject: t.subject,
                    status: t.status,
                    updated: when(&t.updated_at),
                })
                .collect();
            page.next_href = found
                .next_cursor
                .map(|c| format!("/search?q={}&cursor={c}", encode(&p.q)));
            Ok(html(&page))
        }
        Err(AppError::Invalid(errors)) => {
            page.error = Some(
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            Ok(html_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn a_query_survives_the_next_page_link() {
        assert_eq!(
            encode("org:\"Acme Ltd\" printer&x"),
            "org%3A%22Acme+Ltd%22+printer%26x"
        );
    }
}
