//! Ticket search: Freshdesk's filter language (`/search/tickets?query="…"`) translated onto
//! our search use case.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ferrodesk_app::dto::TicketOut;
use ferrodesk_app::{App, AppError, Principal};
use serde_json::json;

use super::tickets::many;
use super::{Answer, json_body, priority_of, status_code};
use crate::compat::{Query, Vendor, principal};

/// Results per page of a search, and the most pages (Freshdesk's limits).
const SEARCH_PAGE: usize = 30;
const SEARCH_PAGES: i64 = 10;

/// `GET /search/tickets?query="status:2 AND priority:3"`: Freshdesk's filter language,
/// translated onto our search. Terms `field:value` joined by `AND`, on `status` (a code),
/// `priority` (1–4), `group_id`, `agent_id` (`null` for unassigned), `requester_id` and
/// `tag` (`'quoted'`). `OR`, parentheses, `:>`/`:<` and other fields are refused with 400.
/// `{"total", "results"}`, 30 per page, `page` 1 to 10; `total` counts at most the 300
/// results the pages reach.
pub(super) async fn search(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let page = q.int("page")?.unwrap_or(1);
    if !(1..=SEARCH_PAGES).contains(&page) {
        return Err(AppError::invalid(
            "page",
            "invalid_value",
            format!("page must be between 1 and {SEARCH_PAGES}"),
        )
        .into());
    }
    let raw = q
        .get("query")
        .ok_or_else(|| AppError::invalid("query", "missing_field", "query is required"))?
        .trim();
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    if inner.chars().count() > 512 {
        return Err(AppError::invalid(
            "query",
            "invalid_value",
            "query must be at most 512 characters",
        )
        .into());
    }
    let ours = translate(&app, &p, inner).await?;
    let cap = SEARCH_PAGE * SEARCH_PAGES as usize;
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let found = app.search(&p, &ours, cursor.as_deref(), Some(100)).await?;
        all.extend(found.items);
        match found.next_cursor {
            Some(c) if all.len() < cap => cursor = Some(c),
            _ => break,
        }
    }
    all.truncate(cap);
    let total = all.len();
    let start = (page as usize - 1) * SEARCH_PAGE;
    let results: Vec<TicketOut> = all.into_iter().skip(start).take(SEARCH_PAGE).collect();
    let results = many(&app, &p, &results).await?;
    Ok(json_body(
        StatusCode::OK,
        json!({"total": total, "results": results}),
    ))
}

fn unsupported(what: &str) -> AppError {
    AppError::invalid(
        "query",
        "invalid_value",
        format!(
            "{what} is not supported: join field:value terms with AND, on status, priority, \
             group_id, agent_id, requester_id or tag"
        ),
    )
}

/// A value that matches no status, group or organization by name.
const NOTHING: &str = "\"#none\"";

/// Translates Freshdesk's filter query into our search query.
async fn translate(app: &App, p: &Principal, query: &str) -> Result<String, AppError> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = query.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        if first == '(' || first == ')' {
            return Err(unsupported("Grouping with parentheses"));
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ':' {
                break;
            }
            word.push(c);
            chars.next();
        }
        if chars.peek() != Some(&':') {
            match word.as_str() {
                "AND" | "and" => continue,
                "OR" | "or" => return Err(unsupported("OR")),
                _ => return Err(unsupported(&format!("{word:?}"))),
            }
        }
        chars.next();
        if matches!(chars.peek(), Some('>' | '<')) {
            return Err(unsupported("Comparing with :> or :<"));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            for c in chars.by_ref() {
                if c == '\'' {
                    break;
                }
                value.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == ')' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let number = || {
            value.parse::<i64>().map_err(|_| {
                AppError::invalid("query", "invalid_value", format!("{word} must be a number"))
            })
        };
        let term = match word.as_str() {
            "status" => {
                let code = number()?;
                let statuses = app.list_statuses(p).await?.items;
                match statuses.iter().find(|s| status_code(s.id) == code) {
                    Some(s) => format!("status:\"{}\"", s.name),
                    None => format!("status:{NOTHING}"),
                }
            }
            "priority" => match priority_of(number()?) {
                Some(pr) => format!("priority:{pr}"),
                None => format!("priority:{NOTHING}"),
            },
            "group_id" if value == "null" => return Err(unsupported("group_id:null")),
            "group_id" if !p.is_staff() => "group:x".to_owned(),
            "group_id" => match app.get_group(p, ferrodesk_core::GroupId(number()?)).await {
                Ok(g) => format!("group:\"{}\"", g.name),
                Err(AppError::NotFound(_)) => format!("group:{NOTHING}"),
                Err(e) => return Err(e),
            },
            "agent_id" if value == "null" => "assignee:none".to_owned(),
            "agent_id" => format!("assignee:{}", number()?),
            "requester_id" => format!("requester:{}", number()?),
            "tag" => format!("tag:\"{value}\""),
            _ => return Err(unsupported(&format!("The field {word:?}"))),
        };
        out.push(term);
    }
    if out.is_empty() {
        return Err(AppError::invalid(
            "query",
            "missing_field",
            "query must name at least one field:value term",
        ));
    }
    Ok(out.join(" "))
}
