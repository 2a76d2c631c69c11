//! Freshdesk's API v2 under `/freshdesk/api/v2`, in Freshdesk's shapes: bare JSON arrays
//! with `page`/`per_page` and a `Link: <…>; rel="next"` header, numeric status, priority
//! and source codes, `{"description": "Validation failed", "errors": […]}` on 400 and an
//! empty body on 404. Every handler is a translation onto the use cases of [`App`] that
//! `/api/v1` calls, so the one access policy decides here too: a ticket the caller may not
//! see answers 404 through every path (show, update, conversations, reply, note), and lists
//! and search never contain it.
//!
//! The mappings (Freshdesk ← Ferrodesk):
//!
//! * ticket `status` = our status id + 1: the built-ins Open, Pending, Resolved, Closed
//!   (ids 1–4) are Freshdesk's 2–5, and custom statuses are 6 and up (Customer Responded,
//!   id 5, is 6). `GET /ticket_fields` lists every code with `[agent label, customer label]`.
//! * `priority` low/normal/high/urgent = 1/2/3/4 (Freshdesk's "Medium" is our normal).
//! * `source` from the ticket's channel: email 1, portal 2, api 2 (Freshdesk's default for
//!   tickets made through its API), web 3 (an agent typed it in, as Freshdesk's "Phone").
//! * `responder_id` = assignee, `company_id` = organization, `internal_group_id` and
//!   `internal_agent_id` as they are, `cc_emails` = the CC'd users' addresses (the ones the
//!   caller may see), `description` = the first comment the caller may see (on single
//!   tickets only, never one query per list item); conversations are the comments after it.
//! * contacts are end users (`company_id` = default organization, `view_all_tickets` =
//!   access `organization`, `other_companies` = the other memberships); agents are agents
//!   and admins (`ticket_scope` 1 global (admins too), 2 group, 3 assigned; `role_ids` [1]
//!   for admins, [2] for agents, as `GET /roles` names them); companies are
//!   organizations (plus our `sharing`, which Freshdesk has no field for).

mod directory;
mod routes;
mod search;
mod tickets;

pub use routes::openapi;

use std::collections::BTreeMap;
use std::future::Future;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::dto::{Page, UserOut};
use ferrodesk_app::{App, AppError, Principal};
use ferrodesk_core::validate::FieldError;
use ferrodesk_core::{Channel, Priority};
use serde_json::{Map, Value, json};

use super::{Query, base_url};

/// Where the Freshdesk-compatible API is mounted.
pub const PREFIX: &str = "/freshdesk/api/v2";

/// The routes, relative to [`PREFIX`], from the one table the OpenAPI document
/// (`openapi.json`) is built from too.
pub fn routes() -> Router<App> {
    super::openapi::router(routes::table())
        .fallback(|| async { error_response(AppError::NotFound("route")) })
}

/// An error on its way to a Freshdesk client.
#[derive(Debug)]
pub struct Fail(pub AppError);

impl From<AppError> for Fail {
    fn from(e: AppError) -> Self {
        Fail(e)
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error_response(self.0)
    }
}

/// What a handler answers.
type Answer = Result<Response, Fail>;

fn json_body(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An error in this vendor's shape: 400 `{"description": "Validation failed", "errors":
/// [{field, message, code}]}` with Freshdesk's field names and codes, 401
/// `invalid_credentials`, 403 `access_denied`, 404 with an empty body, 409
/// `inconsistent_state`; causes of 5xx are logged, never sent.
pub fn error_response(e: AppError) -> Response {
    match e {
        AppError::Invalid(errors) | AppError::PrechecksFailed(errors) => json_body(
            StatusCode::BAD_REQUEST,
            json!({
                "description": "Validation failed",
                "errors": errors.iter().map(field_error).collect::<Vec<_>>(),
            }),
        ),
        AppError::Unauthenticated | AppError::TwoFactorRequired => json_body(
            StatusCode::UNAUTHORIZED,
            json!({
                "code": "invalid_credentials",
                "message": "You have to be logged in to perform this action.",
            }),
        ),
        AppError::Forbidden { message, .. } => json_body(
            StatusCode::FORBIDDEN,
            json!({"code": "access_denied", "message": message}),
        ),
        AppError::NotFound(_) => StatusCode::NOT_FOUND.into_response(),
        AppError::Conflict { message, .. } => conflict(message),
        AppError::Stale { current } => conflict(format!(
            "the ticket was changed by someone else; it is now at version {current}"
        )),
        AppError::Locked { retry_after_secs } => {
            let mut r = json_body(
                StatusCode::TOO_MANY_REQUESTS,
                json!({
                    "code": "password_lockout",
                    "message": "too many failed sign-ins: this account is locked for a while",
                }),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        }
        AppError::TooLarge { message } => json_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"code": "invalid_size", "message": message}),
        ),
        AppError::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            json_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({
                    "code": "internal_error",
                    "message": "We're sorry, but something went wrong.",
                }),
            )
        }
    }
}

fn conflict(message: String) -> Response {
    json_body(
        StatusCode::CONFLICT,
        json!({
            "description": "Conflict",
            "errors": [{"field": "", "message": message, "code": "inconsistent_state"}],
        }),
    )
}

fn field_error(e: &FieldError) -> Value {
    json!({"field": vendor_field(&e.field), "message": e.message, "code": vendor_code(&e.code)})
}

/// Our field name as Freshdesk calls it.
fn vendor_field(field: &str) -> String {
    if let Some(key) = field.strip_prefix("custom_fields.") {
        return format!("cf_{key}");
    }
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "status_id" => "status",
        "assignee_id" => "responder_id",
        "organization_id" => "company_id",
        "cc_ids" => "cc_emails",
        "q" => "query",
        "limit" => "per_page",
        "cursor" => "page",
        "public" => "private",
        other => other,
    }
    .to_owned()
}

/// Our machine code as the nearest of Freshdesk's.
fn vendor_code(code: &str) -> &'static str {
    match code {
        "required" | "missing_field" => "missing_field",
        "not_a_number" | "datatype_mismatch" => "datatype_mismatch",
        "invalid_json" => "invalid_json",
        "not_allowed" | "inaccessible_field" => "inaccessible_field",
        "taken" => "duplicate_value",
        "unknown_field" | "invalid_field" => "invalid_field",
        "readonly_field" => "readonly_field",
        _ => "invalid_value",
    }
}

// ---------------------------------------------------------------- pages

/// Freshdesk's offset paging: `page` from 1, `per_page` 1 to 100 (default 30).
#[derive(Debug, Clone, Copy)]
struct Paging {
    page: i64,
    per_page: i64,
}

impl Paging {
    fn read(q: &Query) -> Result<Paging, AppError> {
        let per_page = q.size("per_page", 30, 100)?;
        let page = q.int("page")?.unwrap_or(1);
        if page < 1 {
            return Err(AppError::invalid(
                "page",
                "out_of_range",
                "page must be 1 or more",
            ));
        }
        Ok(Paging { page, per_page })
    }

    /// Items before this page.
    fn skip(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// `take` items after the first `skip` of a list our use cases give out in cursor pages
/// (`fetch(cursor, limit)`), and whether more follow. The use cases page by cursor only, so
/// an offset is walked in pages of 100.
async fn window<T, F, Fut>(skip: i64, take: i64, fetch: F) -> Result<(Vec<T>, bool), AppError>
where
    F: Fn(Option<String>, i64) -> Fut,
    Fut: Future<Output = Result<Page<T>, AppError>>,
{
    let mut skip = skip;
    let mut cursor = None;
    while skip > 0 {
        let step = skip.min(100);
        let page = fetch(cursor.take(), step).await?;
        skip -= step;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok((Vec::new(), false)),
        }
    }
    let page = fetch(cursor, take).await?;
    let more = page.next_cursor.is_some();
    Ok((page.items, more))
}

/// A page of a list: a bare JSON array, with `Link: <…>; rel="next"` when more follow (the
/// same query, the next page).
fn list_answer(
    items: Vec<Value>,
    more: bool,
    headers: &HeaderMap,
    path: &str,
    q: &Query,
    paging: Paging,
) -> Response {
    let mut res = json_body(StatusCode::OK, Value::Array(items));
    if more {
        let mut pairs: Vec<(String, String)> =
            q.0.iter()
                .filter(|(k, _)| k.as_str() != "page")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        pairs.push(("page".into(), (paging.page + 1).to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let link = format!(
            "<{}{path}?{query}>; rel=\"next\"",
            base_url(headers, PREFIX)
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    res
}

/// A slice of a list that is read whole (groups, agents).
fn slice<T>(mut all: Vec<T>, paging: Paging) -> (Vec<T>, bool) {
    let start = usize::try_from(paging.skip())
        .unwrap_or(usize::MAX)
        .min(all.len());
    let end = start
        .saturating_add(paging.per_page as usize)
        .min(all.len());
    let more = end < all.len();
    all.truncate(end);
    (all.split_off(start), more)
}

// ---------------------------------------------------------------- bodies and values

/// A request body as an object (an empty body is an empty object).
fn object(body: &Value) -> Result<Map<String, Value>, AppError> {
    match body {
        Value::Null => Ok(Map::new()),
        Value::Object(o) => Ok(o.clone()),
        _ => Err(AppError::invalid(
            "json",
            "invalid_json",
            "the body must be a JSON object",
        )),
    }
}

/// Freshdesk's priority code.
fn priority_code(p: Priority) -> i64 {
    match p {
        Priority::Low => 1,
        Priority::Normal => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

/// Our priority for Freshdesk's code.
fn priority_of(code: i64) -> Option<Priority> {
    match code {
        1 => Some(Priority::Low),
        2 => Some(Priority::Normal),
        3 => Some(Priority::High),
        4 => Some(Priority::Urgent),
        _ => None,
    }
}

/// Freshdesk's `source` for a channel (python-freshdesk knows 1–7 only).
fn source_code(c: Channel) -> i64 {
    match c {
        Channel::Email => 1,
        Channel::Web => 3,
        Channel::Portal | Channel::Api | Channel::Cli | Channel::System => 2,
    }
}

/// Freshdesk's status code for our status id.
fn status_code(status_id: i64) -> i64 {
    status_id + 1
}

/// Plain text as the HTML Freshdesk sends in `description` and `body`: escaped, with line
/// breaks.
fn to_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    format!(
        "<div>{}</div>",
        escaped.replace("\r\n", "\n").replace('\n', "<br>")
    )
}

/// The text of the HTML Freshdesk clients send (`<p>Hi</p>`): Ferrodesk keeps comments as
/// plain text. Block ends and `<br>` become line breaks, other tags go, and the common
/// entities are decoded. Text without tags is kept as it is.
fn from_html(html: &str) -> String {
    let looks_like_html = html.char_indices().any(|(i, c)| {
        c == '<'
            && html[i + 1..].starts_with(|n: char| n.is_ascii_alphabetic() || n == '/' || n == '!')
    });
    if !looks_like_html {
        return html.to_owned();
    }
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('>') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let tag = after[1..close].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        rest = &after[close + 1..];
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let end = format!("</{name}");
            match rest.to_ascii_lowercase().find(&end) {
                Some(at) => {
                    rest = &rest[at..];
                    rest = rest.find('>').map_or("", |gt| &rest[gt + 1..]);
                }
                None => rest = "",
            }
            continue;
        }
        let block = [
            "p",
            "div",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
        ];
        if name == "br" || (tag.starts_with('/') && block.contains(&name.as_str())) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    let mut text = String::new();
    let mut newlines = 0;
    for c in decoded.trim().chars() {
        if c == '\n' {
            newlines += 1;
            if newlines > 2 {
                continue;
            }
        } else {
            newlines = 0;
        }
        text.push(c);
    }
    text
}

fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let entity = after
            .find(';')
            .filter(|semi| *semi <= 10)
            .map(|semi| &after[1..semi]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let code = if let Some(hex) = e.strip_prefix("#x").or(e.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    e.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32)
            }
        });
        match (decoded, entity) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &after[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The user with an email address, when the caller may know it.
async fn user_by_email(app: &App, p: &Principal, email: &str) -> Result<Option<UserOut>, AppError> {
    match app.find_user_by_email(p, email).await {
        Ok(u) => Ok(Some(u)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The addresses of users, by id, that the caller may read (end users: their own only).
async fn emails_of(
    app: &App,
    p: &Principal,
    ids: impl IntoIterator<Item = i64>,
) -> Result<BTreeMap<i64, String>, AppError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = BTreeMap::new();
    for id in ids {
        match app.get_user(p, ferrodesk_core::UserId(id)).await {
            Ok(u) => {
                if let Some(e) = u.email {
                    out.insert(id, e);
                }
            }
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A timestamp for records that keep none (ticket fields): Freshdesk clients parse
/// `created_at` and `updated_at` on every object.
const NO_TIME: &str = "1970-01-01T00:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_from_clients_becomes_text_and_text_becomes_escaped_html() {
        assert_eq!(
            from_html("<p>Hello <b>there</b></p><p>a &amp; b&nbsp;&lt;c&gt; &#233;</p>"),
            "Hello there\na & b <c> é"
        );
        assert_eq!(
            from_html("Line 1<br/>Line 2<script>x()</script>"),
            "Line 1\nLine 2"
        );
        assert_eq!(from_html("a < b & c"), "a < b & c", "plain text stays");
        assert_eq!(to_html("a <b>\nc"), "<div>a &lt;b&gt;<br>c</div>");
    }

    #[test]
    fn our_fields_and_codes_get_freshdesk_names() {
        assert_eq!(vendor_field("status_id"), "status");
        assert_eq!(vendor_field("cc_ids[2]"), "cc_emails");
        assert_eq!(vendor_field("custom_fields.plan"), "cf_plan");
        assert_eq!(vendor_field("internal_group_id"), "internal_group_id");
        assert_eq!(vendor_code("required"), "missing_field");
        assert_eq!(vendor_code("wrong_internal_group"), "invalid_value");
    }

    #[test]
    fn slices_know_whether_more_follow() {
        let p = |page, per_page| Paging { page, per_page };
        assert_eq!(slice(vec![1, 2, 3, 4, 5], p(1, 2)), (vec![1, 2], true));
        assert_eq!(slice(vec![1, 2, 3, 4, 5], p(3, 2)), (vec![5], false));
        assert_eq!(slice(vec![1, 2, 3, 4], p(2, 2)), (vec![3, 4], false));
        assert_eq!(slice(vec![1, 2], p(9, 2)), (Vec::<i32>::new(), false));
    }
}
