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

use super::view::{Clock, Layout, Moment};
use super::{Session, UiError, html, html_status, query_string};

pub(super) fn routes() -> Router<App> {
    Router::new().route("/search", get(search))
}

struct Hit {
    href: String,
    id: i64,
    subject: String,
    status: String,
    updated: Moment,
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

/// The link to the page after `cursor`.
fn next_page(q: &str, cursor: &str) -> String {
    format!(
        "/search?{}",
        query_string(&[("q", q.to_owned()), ("cursor", cursor.to_owned())])
    )
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
            let clock = Clock::for_person(&app, &s.p).await?;
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
                    updated: clock.moment(&t.updated_at),
                })
                .collect();
            page.next_href = found.next_cursor.map(|c| next_page(&p.q, &c));
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
    use super::next_page;

    #[test]
    fn a_query_survives_the_next_page_link() {
        assert_eq!(
            next_page("org:\"Acme Ltd\" printer&x", "25"),
            "/search?q=org%3A%22Acme+Ltd%22+printer%26x&cursor=25"
        );
    }
}
