//! Zendesk's API v2 under `/zendesk/api/v2` (`.json` optional), for zenpy, node-zendesk and
//! the integrations written against them. Every handler reads Zendesk's shape, calls the
//! same use case as `/api/v1` and answers in Zendesk's shape; docs/api.md lists what is
//! supported and what differs.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::dto::{
    CommentIn, CommentOut, FieldOut, GroupOut, OrganizationIn, OrganizationOut, Page, StatusOut,
    TicketIn, TicketOut, TicketPatch, UserIn, UserOut,
};
use ferrodesk_app::{App, AppError, Principal};
use ferrodesk_core::{
    GroupId, OrganizationId, Priority, Role, Sharing, StatusCategory, TicketId, TicketScope,
    UserAccess, UserId,
};
use ferrodesk_store::directory::UserFilter;
use ferrodesk_store::scope::TicketFilter;
use serde_json::{Map, Value, json};

use super::{Json, Query, Vendor, base_url, object, path_id, principal, read, seconds};

/// Where the Zendesk-compatible API is mounted.
pub const PREFIX: &str = "/zendesk/api/v2";

/// Records an offset page may reach (Zendesk refuses offset pages past 10,000 records).
const OFFSET_LIMIT: i64 = 10_000;

mod routes;

pub use routes::openapi;

/// The routes, relative to [`PREFIX`], from the one table the OpenAPI document
/// (`openapi.json`) is built from too; most also answer with `.json`.
pub fn routes() -> Router<App> {
    super::openapi::router(routes::table()).fallback(|| async { E(AppError::NotFound("route")) })
}

// ------------------------------------------------------------------ errors

/// An error on its way out, in Zendesk's shape.
#[derive(Debug)]
struct E(AppError);

impl From<AppError> for E {
    fn from(e: AppError) -> Self {
        E(e)
    }
}

impl IntoResponse for E {
    fn into_response(self) -> Response {
        error_response(self.0)
    }
}

type Answer = Result<Response, E>;

/// Our field names where Zendesk's differ.
fn zendesk_field(field: &str) -> String {
    let (head, rest) = field
        .find(['[', '.'])
        .map_or((field, ""), |i| field.split_at(i));
    let mapped = match head {
        "status_id" => "custom_status_id",
        "cc_ids" => "collaborator_ids",
        "description" | "body" => "comment",
        "default_organization_id" => "organization_id",
        "access" | "ticket_scope" => "ticket_restriction",
        "sharing" => "shared_tickets",
        other => other,
    };
    format!("{mapped}{rest}")
}

/// An error in Zendesk's shapes: `{"error": "RecordNotFound", …}`, 422 `RecordInvalid` with
/// `details` per field, 403 with an object-valued `error` (what node-zendesk formats).
pub fn error_response(e: AppError) -> Response {
    let (status, body) = match e {
        AppError::Unauthenticated | AppError::TwoFactorRequired => (
            StatusCode::UNAUTHORIZED,
            json!({"error": "Couldn't authenticate you"}),
        ),
        AppError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            json!({"error": "RecordNotFound", "description": "Not found"}),
        ),
        AppError::Forbidden { message, .. } => (
            StatusCode::FORBIDDEN,
            json!({"error": {"title": "Forbidden", "message": message}}),
        ),
        AppError::Invalid(errors) if errors.iter().any(|f| f.code == "invalid_json") => (
            StatusCode::BAD_REQUEST,
            json!({"error": "InvalidJSON", "description": errors.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ")}),
        ),
        AppError::Invalid(errors) | AppError::PrechecksFailed(errors) => {
            let mut details: Map<String, Value> = Map::new();
            for f in errors {
                let entry = details
                    .entry(zendesk_field(&f.field))
                    .or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(
                        json!({"description": f.message, "error": "InvalidValue", "code": f.code}),
                    );
                }
            }
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "RecordInvalid", "description": "Record validation errors", "details": details}),
            )
        }
        AppError::Conflict { message, .. } => (
            StatusCode::CONFLICT,
            json!({"error": "Conflict", "description": message}),
        ),
        AppError::Stale { .. } => (
            StatusCode::CONFLICT,
            json!({"error": "UpdateConflict", "description": "The ticket was updated by someone else since updated_stamp: reload it and retry"}),
        ),
        AppError::TooLarge { message } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "RequestTooLarge", "description": message}),
        ),
        AppError::Locked { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "APIRateLimitExceeded", "description": "Too many failed sign-ins"}),
        ),
        AppError::Internal(cause) => {
            tracing::error!(%cause, "zendesk api: internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "InternalError", "description": "Something went wrong on our side; it is logged"}),
            )
        }
    };
    let mut res = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Web Password\""),
        );
    }
    res
}

// ------------------------------------------------------------------ plumbing

fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn who(app: &App, headers: &HeaderMap) -> Result<Principal, AppError> {
    principal(app, headers, Vendor::Zendesk).await
}

/// The part of a request's base URL the objects' `url`s and the pages' links start with.
struct Base(String);

impl Base {
    fn of(headers: &HeaderMap) -> Base {
        Base(base_url(headers, PREFIX))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// How a list is paged: Zendesk's cursors (`page[size]`, `page[after]`) or offsets (`page`,
/// `per_page`). Offset pages carry our own cursor in their `next_page` links (clients follow
/// them verbatim), so that a deep page costs one query; a page asked for by number alone is
/// reached by walking.
enum Paging {
    Cursor {
        size: i64,
        after: Option<String>,
    },
    Offset {
        page: i64,
        per_page: i64,
        after: Option<String>,
    },
}

impl Paging {
    fn of(q: &Query) -> Result<Paging, AppError> {
        if q.0.keys().any(|k| k.starts_with("page[")) {
            return Ok(Paging::Cursor {
                size: q.size("page[size]", 100, 100)?,
                after: q.get("page[after]").map(str::to_owned),
            });
        }
        let page = q.int("page")?.unwrap_or(1);
        let per_page = q.size("per_page", 100, 100)?;
        if page < 1 {
            return Err(AppError::invalid(
                "page",
                "out_of_range",
                "page must be 1 or more",
            ));
        }
        if page * per_page > OFFSET_LIMIT {
            return Err(AppError::invalid(
                "page",
                "out_of_range",
                "offset pagination stops at 10,000 records: use cursor pagination (page[size], page[after])",
            ));
        }
        Ok(Paging::Offset {
            page,
            per_page,
            after: q.get("ferrodesk_after").map(str::to_owned),
        })
    }
}

/// Reads one page through `fetch(cursor, limit)` (our cursor-paged use cases).
async fn fetch_page<T, F>(
    paging: &Paging,
    fetch: impl Fn(Option<String>, i64) -> F,
) -> Result<Page<T>, AppError>
where
    F: std::future::Future<Output = Result<Page<T>, AppError>>,
{
    match paging {
        Paging::Cursor { size, after } => fetch(after.clone(), *size).await,
        Paging::Offset {
            page,
            per_page,
            after,
        } => {
            if after.is_some() || *page == 1 {
                return fetch(after.clone(), *per_page).await;
            }
            // Walk to the page: skip (page - 1) × per_page records, 100 at a time.
            let mut skip = (page - 1) * per_page;
            let mut cursor: Option<String> = None;
            while skip > 0 {
                let step = skip.min(100);
                let p = fetch(cursor.clone(), step).await?;
                match p.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => {
                        return Ok(Page {
                            items: Vec::new(),
                            next_cursor: None,
                        });
                    }
                }
                skip -= step;
            }
            fetch(cursor, *per_page).await
        }
    }
}

/// A list answer: `{key: items}` with cursor `meta`/`links` (`links.next` null on the last
/// page: node-zendesk stops only then) or offset `next_page`/`previous_page`/`count`.
fn list_body(
    key: &str,
    items: Vec<Value>,
    next: Option<String>,
    paging: &Paging,
    here: &str,
    count: Option<i64>,
) -> Value {
    match paging {
        Paging::Cursor { size, .. } => {
            let next_link = next
                .as_ref()
                .map(|c| format!("{here}?page%5Bsize%5D={size}&page%5Bafter%5D={c}"));
            json!({
                key: items,
                "meta": {"has_more": next.is_some(), "after_cursor": next, "before_cursor": null},
                "links": {"next": next_link, "prev": null},
            })
        }
        Paging::Offset { page, per_page, .. } => {
            let next_link = next
                .as_ref()
                .filter(|_| (page + 1) * per_page <= OFFSET_LIMIT)
                .map(|c| {
                    format!(
                        "{here}?page={}&per_page={per_page}&ferrodesk_after={c}",
                        page + 1
                    )
                });
            let prev_link =
                (*page > 1).then(|| format!("{here}?page={}&per_page={per_page}", page - 1));
            let mut body = json!({key: items, "next_page": next_link, "previous_page": prev_link});
            if let Some(n) = count {
                body["count"] = json!(n);
            }
            body
        }
    }
}

/// `https://host/zendesk/api/v2/PATH` without `.json` and query: the link base of a list.
fn here(base: &Base, path: &str) -> String {
    base.url(&format!("{path}.json"))
}

// ------------------------------------------------------------------ shapes

fn role_word(r: Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::Agent => "agent",
        Role::EndUser => "end-user",
    }
}

fn user_json(base: &Base, u: &UserOut) -> Value {
    let restriction = match (u.role, u.ticket_scope, u.access) {
        (Role::EndUser, _, Some(UserAccess::Organization)) => json!("organization"),
        (Role::EndUser, _, _) => json!("requested"),
        (Role::Agent, Some(TicketScope::Group), _) => json!("groups"),
        (Role::Agent, Some(TicketScope::Assigned), _) => json!("assigned"),
        _ => Value::Null,
    };
    json!({
        "id": u.id,
        "url": base.url(&format!("/users/{}.json", u.id)),
        "name": u.name,
        "email": u.email,
        "role": role_word(u.role),
        "ticket_restriction": restriction,
        "restricted_agent": u.role == Role::Agent && !restriction.is_null(),
        "only_private_comments": false,
        "organization_id": u.default_organization_id.or(u.organization_ids.first().copied()),
        "organization_ids": u.organization_ids,
        "default_group_id": u.group_ids.first(),
        "group_ids": u.group_ids,
        "suspended": u.suspended,
        "active": true,
        "verified": true,
        "shared": false,
        "tags": [],
        "user_fields": {},
        "time_zone": "UTC",
        "locale": "en-US",
        "created_at": seconds(&u.created_at),
        "updated_at": seconds(&u.updated_at),
    })
}

fn org_json(base: &Base, o: &OrganizationOut) -> Value {
    let (tickets, comments) = match o.sharing {
        Sharing::OwnOnly => (false, false),
        Sharing::ReadOnly => (true, false),
        Sharing::ReadWrite => (true, true),
    };
    json!({
        "id": o.id,
        "url": base.url(&format!("/organizations/{}.json", o.id)),
        "name": o.name,
        "shared_tickets": tickets,
        "shared_comments": comments,
        "sharing": o.sharing.as_str(),
        "domain_names": o.domain_names,
        "details": o.details.clone().unwrap_or_default(),
        "notes": o.notes.clone().unwrap_or_default(),
        "tags": o.tags,
        "group_id": null,
        "external_id": null,
        "organization_fields": {},
        "created_at": seconds(&o.created_at),
        "updated_at": seconds(&o.updated_at),
    })
}

fn group_json(base: &Base, g: &GroupOut) -> Value {
    json!({
        "id": g.id,
        "url": base.url(&format!("/groups/{}.json", g.id)),
        "name": g.name,
        "description": "",
        "default": false,
        "deleted": false,
        "is_public": true,
        "created_at": seconds(&g.created_at),
        "updated_at": seconds(&g.updated_at),
    })
}

/// A stable id for a membership (our memberships are keyed by the pair): Cantor's pairing
/// of the two ids, the same on every read and invertible.
fn membership_id(a: i64, b: i64) -> i64 {
    (a + b) * (a + b + 1) / 2 + b
}

fn status_word(c: StatusCategory) -> &'static str {
    match c {
        StatusCategory::Open => "open",
        StatusCategory::Pending => "pending",
        StatusCategory::Resolved => "solved",
        StatusCategory::Closed => "closed",
    }
}

fn channel_word(c: ferrodesk_core::Channel) -> &'static str {
    match c {
        ferrodesk_core::Channel::Email => "email",
        ferrodesk_core::Channel::Web | ferrodesk_core::Channel::Portal => "web",
        _ => "api",
    }
}

/// `[{id, value}]` of a ticket's custom fields (by the fields' ids).
fn custom_fields_json(t: &TicketOut, fields: &[FieldOut]) -> Value {
    Value::Array(
        fields
            .iter()
            .map(|f| json!({"id": f.id, "value": t.custom_fields.get(&f.key).cloned().unwrap_or(Value::Null)}))
            .collect(),
    )
}

fn ticket_json(
    base: &Base,
    t: &TicketOut,
    fields: &[FieldOut],
    description: Option<&str>,
) -> Value {
    let custom = custom_fields_json(t, fields);
    let mut v = json!({
        "id": t.id,
        "url": base.url(&format!("/tickets/{}.json", t.id)),
        "subject": t.subject,
        "raw_subject": t.subject,
        "status": status_word(t.status_category),
        "custom_status_id": t.status_id,
        "priority": t.priority.as_str(),
        "type": null,
        "requester_id": t.requester_id,
        "submitter_id": t.requester_id,
        "assignee_id": t.assignee_id,
        "organization_id": t.organization_id,
        "group_id": t.group_id.flatten(),
        "collaborator_ids": t.cc_ids,
        "email_cc_ids": t.cc_ids,
        "follower_ids": [],
        "tags": t.tags.clone().unwrap_or_default(),
        "custom_fields": custom.clone(),
        "fields": custom,
        "via": {"channel": channel_word(t.channel), "source": {"from": {}, "to": {}, "rel": null}},
        "is_public": true,
        "external_id": null,
        "due_at": null,
        "created_at": seconds(&t.created_at),
        "updated_at": seconds(&t.updated_at),
    });
    if let Some(d) = description {
        v["description"] = json!(d);
    }
    // Agents' extras: the internal owner (shared ownership).
    if let Some(g) = t.internal_group_id {
        v["internal_group_id"] = json!(g);
    }
    if let Some(a) = t.internal_agent_id {
        v["internal_agent_id"] = json!(a);
    }
    v
}

fn request_json(base: &Base, t: &TicketOut, description: Option<&str>) -> Value {
    let mut v = json!({
        "id": t.id,
        "url": base.url(&format!("/requests/{}.json", t.id)),
        "subject": t.subject,
        "status": status_word(t.status_category),
        "custom_status_id": t.status_id,
        "priority": t.priority.as_str(),
        "type": null,
        "requester_id": t.requester_id,
        "organization_id": t.organization_id,
        "assignee_id": t.assignee_id,
        "group_id": t.group_id.flatten(),
        "collaborator_ids": t.cc_ids,
        "email_cc_ids": t.cc_ids,
        "can_be_solved_by_me": !matches!(t.status_category, StatusCategory::Resolved | StatusCategory::Closed),
        "is_public": true,
        "via": {"channel": channel_word(t.channel), "source": {"from": {}, "to": {}, "rel": null}},
        "created_at": seconds(&t.created_at),
        "updated_at": seconds(&t.updated_at),
    });
    if let Some(d) = description {
        v["description"] = json!(d);
    }
    v
}

fn comment_json(base: &Base, c: &CommentOut) -> Value {
    let attachments: Vec<Value> = c
        .attachments
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "file_name": a.file_name,
                "content_type": a.content_type,
                "size": a.size,
                "content_url": a.url.as_ref().map(|_| base.url(&format!("/attachments/{}/content", a.id))),
                "inline": false,
                "deleted": a.redacted.is_some(),
            })
        })
        .collect();
    json!({
        "id": c.id,
        "type": "Comment",
        "author_id": c.author_id,
        "body": c.body,
        "html_body": ferrodesk_core::mail_text::to_html(&c.body),
        "plain_body": c.body,
        "public": c.public,
        "attachments": attachments,
        "audit_id": c.id,
        "via": {"channel": channel_word(c.channel), "source": {"from": {}, "to": {}, "rel": null}},
        "metadata": {"system": {}, "custom": {}},
        "created_at": seconds(&c.created_at),
    })
}

fn custom_status_json(s: &StatusOut) -> Value {
    json!({
        "id": s.id,
        // Zendesk's categories are new, open, pending, hold and solved: Closed is solved.
        "status_category": match s.category {
            StatusCategory::Closed => "solved",
            c => status_word(c),
        },
        "agent_label": s.name,
        "end_user_label": s.customer_label,
        "raw_agent_label": s.name,
        "raw_end_user_label": s.customer_label,
        "description": "",
        "end_user_description": "",
        "active": true,
        "default": s.built_in,
        "position": s.position,
        "internal_group_ids": s.internal_group_ids,
        "all_groups": s.all_groups,
    })
}

fn field_type(t: &str) -> &'static str {
    match t {
        "number" => "decimal",
        "checkbox" => "checkbox",
        "dropdown" => "tagger",
        "date" => "date",
        _ => "text",
    }
}

fn ticket_field_json(base: &Base, f: &FieldOut) -> Value {
    let options: Vec<Value> = f
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| json!({"id": i + 1, "name": o, "raw_name": o, "value": o, "default": false}))
        .collect();
    json!({
        "id": f.id,
        "url": base.url(&format!("/ticket_fields/{}.json", f.id)),
        "type": field_type(&f.field_type),
        "key": f.key,
        "title": f.title,
        "raw_title": f.title,
        "title_in_portal": f.title,
        "description": "",
        "position": f.position,
        "active": f.active,
        "required": false,
        "visible_in_portal": false,
        "editable_in_portal": false,
        "custom_field_options": options,
        "removable": true,
    })
}

// ------------------------------------------------------------------ reading Zendesk input

/// The object under `key` of a body (`{"ticket": {…}}`); a missing one is an invalid `key`.
fn body_object<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, AppError> {
    object(body, key).ok_or_else(|| {
        AppError::invalid(
            key,
            "required",
            format!("the body must be {{\"{key}\": {{…}}}}"),
        )
    })
}

/// A Zendesk status word or `custom_status_id` as one of our statuses.
fn pick_status(o: &Map<String, Value>, statuses: &[StatusOut]) -> Result<Option<i64>, AppError> {
    if let Some(Some(id)) = read::id(o, "custom_status_id")? {
        return Ok(Some(id));
    }
    let Some(word) = read::text(o, "status")? else {
        return Ok(None);
    };
    let category = match word.as_str() {
        "new" | "open" => StatusCategory::Open,
        "pending" => StatusCategory::Pending,
        "solved" => StatusCategory::Resolved,
        "closed" => StatusCategory::Closed,
        "hold" => {
            return Err(AppError::invalid(
                "status",
                "not_supported",
                "Ferrodesk has no On-hold status: use a custom status (custom_status_id) of category pending",
            ));
        }
        _ => {
            return Err(AppError::invalid(
                "status",
                "invalid",
                "status must be new, open, pending, solved or closed",
            ));
        }
    };
    Ok(statuses
        .iter()
        .find(|s| s.built_in && s.category == category)
        .map(|s| s.id))
}

fn pick_priority(o: &Map<String, Value>) -> Result<Option<Priority>, AppError> {
    read::text(o, "priority")?
        .map(|p| {
            Priority::parse(&p)
                .map_err(|e| AppError::invalid("priority", "invalid", format!("priority {e}")))
        })
        .transpose()
}

/// `[{id, value}]` (or `{key: value}`) as our `custom_fields` map.
fn pick_custom_fields(
    o: &Map<String, Value>,
    fields: &[FieldOut],
) -> Result<Option<std::collections::BTreeMap<String, Value>>, AppError> {
    let Some(list) = o.get("custom_fields").or_else(|| o.get("fields")) else {
        return Ok(None);
    };
    let mut out = std::collections::BTreeMap::new();
    match list {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let id = item["id"].as_i64();
                let Some(f) = fields.iter().find(|f| Some(f.id) == id) else {
                    return Err(AppError::invalid(
                        &format!("custom_fields[{i}].id"),
                        "not_found",
                        "no such ticket field",
                    ));
                };
                out.insert(f.key.clone(), item["value"].clone());
            }
        }
        Value::Object(map) => {
            out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Null => return Ok(None),
        _ => {
            return Err(AppError::invalid(
                "custom_fields",
                "datatype_mismatch",
                "custom_fields must be a list of {id, value}",
            ));
        }
    }
    Ok(Some(out))
}

/// The comment inside a ticket or request body: `comment.body` (or `html_body`), and on
/// ticket creation zenpy's `description`.
fn pick_comment(o: &Map<String, Value>) -> Result<Option<CommentIn>, AppError> {
    match o.get("comment") {
        Some(Value::Object(c)) => {
            let body = read::text(c, "body")?
                .or(read::text(c, "html_body")?)
                .unwrap_or_default();
            Ok(Some(CommentIn {
                body,
                public: read::flag(c, "public")?,
                upload_tokens: read::texts(c, "uploads")?,
            }))
        }
        Some(Value::String(s)) => Ok(Some(CommentIn {
            body: s.clone(),
            public: None,
            upload_tokens: None,
        })),
        _ => Ok(None),
    }
}

fn ticket_in(
    o: &Map<String, Value>,
    statuses: &[StatusOut],
    fields: &[FieldOut],
    requester: Option<i64>,
) -> Result<TicketIn, AppError> {
    let comment = pick_comment(o)?;
    let description = read::text(o, "description")?;
    let (body, public, uploads) = match comment {
        Some(c) => (c.body, c.public, c.upload_tokens),
        None => (description.unwrap_or_default(), None, None),
    };
    let ccs = match read::ids(o, "collaborator_ids")? {
        Some(ids) => Some(ids),
        None => read::ids(o, "email_cc_ids")?,
    };
    Ok(TicketIn {
        subject: read::text(o, "subject")?.unwrap_or_default(),
        description: body,
        public,
        requester_id: requester.or(read::id(o, "requester_id")?.flatten()),
        organization_id: read::id(o, "organization_id")?.flatten(),
        status: None,
        status_id: pick_status(o, statuses)?,
        priority: pick_priority(o)?,
        group_id: read::id(o, "group_id")?.flatten(),
        assignee_id: read::id(o, "assignee_id")?.flatten(),
        internal_group_id: read::id(o, "internal_group_id")?.flatten(),
        internal_agent_id: read::id(o, "internal_agent_id")?.flatten(),
        cc_ids: ccs,
        tags: read::texts(o, "tags")?,
        custom_fields: pick_custom_fields(o, fields)?,
        upload_tokens: uploads,
    })
}

/// The changes of a ticket update (`None` when the body changes nothing but may comment).
fn ticket_patch(
    o: &Map<String, Value>,
    statuses: &[StatusOut],
    fields: &[FieldOut],
) -> Result<Option<TicketPatch>, AppError> {
    let patch = TicketPatch {
        subject: read::text(o, "subject")?,
        requester_id: read::id(o, "requester_id")?.flatten(),
        organization_id: read::id(o, "organization_id")?,
        status: None,
        status_id: pick_status(o, statuses)?,
        priority: pick_priority(o)?,
        group_id: read::id(o, "group_id")?,
        assignee_id: read::id(o, "assignee_id")?,
        internal_group_id: read::id(o, "internal_group_id")?,
        internal_agent_id: read::id(o, "internal_agent_id")?,
        cc_ids: match read::ids(o, "collaborator_ids")? {
            Some(ids) => Some(ids),
            None => read::ids(o, "email_cc_ids")?,
        },
        tags: read::texts(o, "tags")?,
        custom_fields: pick_custom_fields(o, fields)?,
    };
    let changes = patch.subject.is_some()
        || patch.requester_id.is_some()
        || patch.organization_id.is_some()
        || patch.status_id.is_some()
        || patch.priority.is_some()
        || patch.group_id.is_some()
        || patch.assignee_id.is_some()
        || patch.internal_group_id.is_some()
        || patch.internal_agent_id.is_some()
        || patch.cc_ids.is_some()
        || patch.tags.is_some()
        || patch.custom_fields.is_some();
    Ok(changes.then_some(patch))
}

/// The custom fields a principal may read (none for end users: they see no field list).
async fn fields_for(app: &App, p: &Principal) -> Result<Vec<FieldOut>, AppError> {
    if p.is_staff() {
        app.list_fields(p).await
    } else {
        Ok(Vec::new())
    }
}

/// The first comment's text of a ticket the caller may see (Zendesk's `description`).
async fn description_of(app: &App, p: &Principal, id: i64) -> Result<String, AppError> {
    let first = app.list_comments(p, TicketId(id), None, Some(1)).await?;
    Ok(first
        .items
        .into_iter()
        .next()
        .map(|c| c.body)
        .unwrap_or_default())
}

/// A ticket's audit after a create or update: the comment added and the fields that changed.
fn audit_json(
    p: &Principal,
    before: Option<&TicketOut>,
    after: &TicketOut,
    comment: Option<&CommentOut>,
    base: &Base,
) -> Value {
    let mut events = Vec::new();
    if let Some(c) = comment {
        let mut e = comment_json(base, c);
        e["type"] = json!("Comment");
        events.push(e);
    }
    let mut change = |field: &str, from: Value, to: Value| {
        if from != to {
            let kind = if before.is_some() { "Change" } else { "Create" };
            events.push(json!({"id": events.len() + 1, "type": kind, "field_name": field, "value": to, "previous_value": from}));
        }
    };
    let b = before;
    change(
        "subject",
        b.map_or(Value::Null, |t| json!(t.subject)),
        json!(after.subject),
    );
    change(
        "status",
        b.map_or(Value::Null, |t| json!(status_word(t.status_category))),
        json!(status_word(after.status_category)),
    );
    change(
        "custom_status_id",
        b.map_or(Value::Null, |t| json!(t.status_id)),
        json!(after.status_id),
    );
    change(
        "priority",
        b.map_or(Value::Null, |t| json!(t.priority.as_str())),
        json!(after.priority.as_str()),
    );
    change(
        "group_id",
        b.map_or(Value::Null, |t| json!(t.group_id.flatten())),
        json!(after.group_id.flatten()),
    );
    change(
        "assignee_id",
        b.map_or(Value::Null, |t| json!(t.assignee_id)),
        json!(after.assignee_id),
    );
    json!({
        "id": comment.map_or(after.version, |c| c.id),
        "ticket_id": after.id,
        "created_at": seconds(&after.updated_at),
        "author_id": p.user.id.0,
        "metadata": {"system": {}, "custom": {}},
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": null}},
        "events": events,
    })
}

// ------------------------------------------------------------------ users

async fn me(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = who(&app, &headers).await?;
    let u = app.me(&p).await;
    Ok(ok(json!({"user": user_json(&Base::of(&headers), &u)})))
}

async fn show_user(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let p = who(&app, &headers).await?;
    let u = app.get_user(&p, UserId(path_id(&id)?)).await?;
    Ok(ok(json!({"user": user_json(&Base::of(&headers), &u)})))
}

/// `?ids=1,2,3`: the users of those ids the caller may read (at most 100).
fn id_list(q: &Query) -> Result<Vec<i64>, AppError> {
    let ids: Vec<i64> = q
        .get("ids")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse::<i64>().map_err(|_| {
                AppError::invalid(
                    "ids",
                    "not_a_number",
                    "ids must be numbers separated by commas",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if ids.len() > 100 {
        return Err(AppError::invalid(
            "ids",
            "too_many",
            "at most 100 ids at once",
        ));
    }
    Ok(ids)
}

async fn show_many_users(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let mut users = Vec::new();
    for id in id_list(&q)? {
        match app.get_user(&p, UserId(id)).await {
            Ok(u) => users.push(user_json(&base, &u)),
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ok(json!({"users": users})))
}

fn role_filter(q: &Query) -> Result<Option<Role>, AppError> {
    match q.get("role").or(q.get("role[]")) {
        None => Ok(None),
        Some("end-user") => Ok(Some(Role::EndUser)),
        Some("agent") => Ok(Some(Role::Agent)),
        Some("admin") => Ok(Some(Role::Admin)),
        Some(_) => Err(AppError::invalid(
            "role",
            "invalid",
            "role must be end-user, agent or admin",
        )),
    }
}

async fn list_users(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let paging = Paging::of(&q)?;
    let role = role_filter(&q)?;
    let (app, p) = (&app, &p);
    let page = fetch_page(&paging, |cursor: Option<String>, limit: i64| async move {
        let filter = UserFilter {
            role,
            ..Default::default()
        };
        app.list_users(p, filter, cursor.as_deref(), Some(limit))
            .await
    })
    .await?;
    let items = page.items.iter().map(|u| user_json(&base, u)).collect();
    Ok(ok(list_body(
        "users",
        items,
        page.next_cursor,
        &paging,
        &here(&base, "/users"),
        None,
    )))
}

async fn create_user(State(app): State<App>, headers: HeaderMap, Json(body): Json) -> Answer {
    let p = who(&app, &headers).await?;
    let o = body_object(&body, "user")?;
    let role = match read::text(o, "role")?.as_deref() {
        None | Some("end-user") => Role::EndUser,
        Some("agent") => Role::Agent,
        Some("admin") => Role::Admin,
        Some(_) => {
            return Err(AppError::invalid(
                "role",
                "invalid",
                "role must be end-user, agent or admin",
            )
            .into());
        }
    };
    let restriction = read::text(o, "ticket_restriction")?;
    let org = read::id(o, "organization_id")?.flatten();
    let input = UserIn {
        name: read::text(o, "name")?.unwrap_or_default(),
        email: read::text(o, "email")?.unwrap_or_default(),
        role: Some(role),
        ticket_scope: match (role, restriction.as_deref()) {
            (Role::Agent, Some("groups")) => Some(TicketScope::Group),
            (Role::Agent, Some("assigned")) => Some(TicketScope::Assigned),
            (Role::Agent, _) => Some(TicketScope::Global),
            _ => None,
        },
        access: match (role, restriction.as_deref()) {
            (Role::EndUser, Some("organization")) => Some(UserAccess::Organization),
            (Role::EndUser, _) => Some(UserAccess::Requested),
            _ => None,
        },
        password: None,
        organization_ids: org.into_iter().collect(),
        default_organization_id: org,
        group_ids: Vec::new(),
    };
    let u = app.create_user(&p, input).await?;
    let base = Base::of(&headers);
    let mut res = (
        StatusCode::CREATED,
        axum::Json(json!({"user": user_json(&base, &u)})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&base.url(&format!("/users/{}.json", u.id))) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn user_org_memberships(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = who(&app, &headers).await?;
    let u = app.get_user(&p, UserId(path_id(&id)?)).await?;
    let items: Vec<Value> = org_membership_json(&Base::of(&headers), &u);
    Ok(ok(
        json!({"organization_memberships": items, "next_page": null, "previous_page": null, "count": items.len()}),
    ))
}

fn org_membership_json(base: &Base, u: &UserOut) -> Vec<Value> {
    let default = u
        .default_organization_id
        .or(u.organization_ids.first().copied());
    u.organization_ids
        .iter()
        .map(|o| {
            let id = membership_id(u.id, *o);
            json!({
                "id": id,
                "url": base.url(&format!("/organization_memberships/{id}.json")),
                "user_id": u.id,
                "organization_id": o,
                "default": Some(*o) == default,
                "organization_name": null,
                "created_at": seconds(&u.created_at),
                "updated_at": seconds(&u.updated_at),
            })
        })
        .collect()
}

/// Every organization membership, paged by user (a page holds the memberships of up to
/// `page[size]` end users).
async fn org_memberships(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let paging = Paging::of(&q)?;
    let (app, p) = (&app, &p);
    let page = fetch_page(&paging, |cursor: Option<String>, limit: i64| async move {
        let filter = UserFilter {
            role: Some(Role::EndUser),
            ..Default::default()
        };
        app.list_users(p, filter, cursor.as_deref(), Some(limit))
            .await
    })
    .await?;
    let items = page
        .items
        .iter()
        .flat_map(|u| org_membership_json(&base, u))
        .collect();
    Ok(ok(list_body(
        "organization_memberships",
        items,
        page.next_cursor,
        &paging,
        &here(&base, "/organization_memberships"),
        None,
    )))
}

// ------------------------------------------------------------------ organizations

async fn list_orgs(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let paging = Paging::of(&q)?;
    let (app, p) = (&app, &p);
    let page = fetch_page(&paging, |cursor: Option<String>, limit: i64| async move {
        app.list_organizations(p, cursor.as_deref(), Some(limit))
            .await
    })
    .await?;
    let items = page.items.iter().map(|o| org_json(&base, o)).collect();
    Ok(ok(list_body(
        "organizations",
        items,
        page.next_cursor,
        &paging,
        &here(&base, "/organizations"),
        None,
    )))
}

async fn show_org(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let p = who(&app, &headers).await?;
    let o = app
        .get_organization(&p, OrganizationId(path_id(&id)?))
        .await?;
    Ok(ok(
        json!({"organization": org_json(&Base::of(&headers), &o)}),
    ))
}

/// Organization fields of a Zendesk body; `shared_tickets`/`shared_comments` are read apart.
fn organization_in(o: &Map<String, Value>) -> Result<OrganizationIn, AppError> {
    Ok(OrganizationIn {
        name: read::text(o, "name")?,
        domain_names: read::texts(o, "domain_names")?,
        details: read::text(o, "details")?,
        notes: read::text(o, "notes")?,
        tags: read::texts(o, "tags")?,
        sharing_blocked: None,
        sharing_blocked_reason: None,
        auto_join_by_domain: None,
        sharing: None,
    })
}

/// The sharing mode a body's `shared_tickets`/`shared_comments` ask for, on top of `current`
/// (Zendesk: "more permissive wins").
fn asked_sharing(o: &Map<String, Value>, current: Sharing) -> Result<Sharing, AppError> {
    let (now_tickets, now_comments) = match current {
        Sharing::OwnOnly => (false, false),
        Sharing::ReadOnly => (true, false),
        Sharing::ReadWrite => (true, true),
    };
    let tickets = read::flag(o, "shared_tickets")?.unwrap_or(now_tickets);
    let comments = read::flag(o, "shared_comments")?.unwrap_or(now_comments);
    Ok(match (tickets, comments) {
        (_, true) => Sharing::ReadWrite,
        (true, false) => Sharing::ReadOnly,
        (false, false) => Sharing::OwnOnly,
    })
}

async fn update_org(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json,
) -> Answer {
    let p = who(&app, &headers).await?;
    let id = OrganizationId(path_id(&id)?);
    let o = body_object(&body, "organization")?;
    let current = app.get_organization(&p, id).await?;
    // Sharing changes only through the checked, recorded workflow (SPEC §2): a PUT that
    // repeats the current values passes, one that changes them names the workflow.
    if asked_sharing(o, current.sharing)? != current.sharing {
        let field = if o.contains_key("shared_comments") {
            "shared_comments"
        } else {
            "shared_tickets"
        };
        return Err(AppError::invalid(
            field,
            "sharing_workflow",
            format!(
                "Sharing changes only through POST /api/v1/organizations/{}/sharing-changes \
                 (tied to the customer's request and recorded), or Admin → Organizations in the web app",
                id.0
            ),
        )
        .into());
    }
    let out = app.update_organization(&p, id, organization_in(o)?).await?;
    Ok(ok(
        json!({"organization": org_json(&Base::of(&headers), &out)}),
    ))
}

async fn create_org(State(app): State<App>, headers: HeaderMap, Json(body): Json) -> Answer {
    let p = who(&app, &headers).await?;
    let o = body_object(&body, "organization")?;
    if asked_sharing(o, Sharing::OwnOnly)? != Sharing::OwnOnly {
        return Err(AppError::invalid(
            "shared_tickets",
            "sharing_workflow",
            "a new organization starts with its own tickets only; sharing is turned on through \
             POST /api/v1/organizations/{id}/sharing-changes (tied to the customer's request)",
        )
        .into());
    }
    let out = app.create_organization(&p, organization_in(o)?).await?;
    let base = Base::of(&headers);
    let mut res = (
        StatusCode::CREATED,
        axum::Json(json!({"organization": org_json(&base, &out)})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&base.url(&format!("/organizations/{}.json", out.id))) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

// ------------------------------------------------------------------ groups

async fn list_groups(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let groups = app.list_groups(&p).await?;
    let items: Vec<Value> = groups.items.iter().map(|g| group_json(&base, g)).collect();
    Ok(ok(json!({
        "groups": items,
        "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
        "links": {"next": null, "prev": null},
        "next_page": null, "previous_page": null, "count": items.len(),
    })))
}

async fn show_group(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let p = who(&app, &headers).await?;
    let g = app.get_group(&p, GroupId(path_id(&id)?)).await?;
    Ok(ok(json!({"group": group_json(&Base::of(&headers), &g)})))
}

async fn group_memberships(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let groups = app.list_groups(&p).await?;
    let items: Vec<Value> = groups
        .items
        .iter()
        .flat_map(|g| {
            g.agent_ids.iter().map(|a| {
                let id = membership_id(*a, g.id);
                json!({
                    "id": id,
                    "url": base.url(&format!("/group_memberships/{id}.json")),
                    "user_id": a,
                    "group_id": g.id,
                    "default": false,
                    "created_at": seconds(&g.created_at),
                    "updated_at": seconds(&g.updated_at),
                })
            })
        })
        .collect();
    Ok(ok(json!({
        "group_memberships": items,
        "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
        "links": {"next": null, "prev": null},
        "next_page": null, "previous_page": null, "count": items.len(),
    })))
}

// ------------------------------------------------------------------ tickets

async fn ticket_list(
    app: &App,
    headers: &HeaderMap,
    q: &Query,
    filter: TicketFilter,
    path: &str,
    requests: bool,
) -> Answer {
    let p = who(app, headers).await?;
    if !requests {
        // Zendesk's `/tickets` is for agents; end users have the Requests API.
        p.require_staff()?;
    }
    let base = Base::of(headers);
    let paging = Paging::of(q)?;
    let (app, p, filter_ref) = (&app, &p, &filter);
    let page = fetch_page(&paging, |cursor: Option<String>, limit: i64| async move {
        app.list_tickets(p, filter_ref.clone(), cursor.as_deref(), Some(limit))
            .await
    })
    .await?;
    let count = match paging {
        Paging::Offset { .. } => Some(app.count_tickets(p, filter.clone()).await?.count),
        Paging::Cursor { .. } => None,
    };
    let fields = fields_for(app, p).await?;
    let (key, items): (&str, Vec<Value>) = if requests {
        (
            "requests",
            page.items
                .iter()
                .map(|t| request_json(&base, t, None))
                .collect(),
        )
    } else {
        (
            "tickets",
            page.items
                .iter()
                .map(|t| ticket_json(&base, t, &fields, None))
                .collect(),
        )
    };
    Ok(ok(list_body(
        key,
        items,
        page.next_cursor,
        &paging,
        &here(&base, path),
        count,
    )))
}

async fn list_tickets(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    ticket_list(
        &app,
        &headers,
        &q,
        TicketFilter::default(),
        "/tickets",
        false,
    )
    .await
}

async fn org_tickets(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    let id = path_id(&id)?;
    let filter = TicketFilter {
        organization_id: Some(OrganizationId(id)),
        ..Default::default()
    };
    ticket_list(
        &app,
        &headers,
        &q,
        filter,
        &format!("/organizations/{id}/tickets"),
        false,
    )
    .await
}

async fn user_requested(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    let id = path_id(&id)?;
    let filter = TicketFilter {
        requester_id: Some(UserId(id)),
        ..Default::default()
    };
    ticket_list(
        &app,
        &headers,
        &q,
        filter,
        &format!("/users/{id}/tickets/requested"),
        false,
    )
    .await
}

async fn show_ticket(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let p = who(&app, &headers).await?;
    p.require_staff()?;
    let id = path_id(&id)?;
    let t = app.get_ticket(&p, TicketId(id)).await?;
    let description = description_of(&app, &p, id).await?;
    let fields = fields_for(&app, &p).await?;
    Ok(ok(
        json!({"ticket": ticket_json(&Base::of(&headers), &t, &fields, Some(&description))}),
    ))
}

async fn show_many_tickets(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    p.require_staff()?;
    let base = Base::of(&headers);
    let fields = fields_for(&app, &p).await?;
    let mut tickets = Vec::new();
    for id in id_list(&q)? {
        match app.get_ticket(&p, TicketId(id)).await {
            Ok(t) => tickets.push(ticket_json(&base, &t, &fields, None)),
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ok(json!({"tickets": tickets})))
}

async fn create_ticket(State(app): State<App>, headers: HeaderMap, Json(body): Json) -> Answer {
    let p = who(&app, &headers).await?;
    p.require_staff()?;
    let o = body_object(&body, "ticket")?;
    let statuses = app.list_statuses(&p).await?.items;
    let fields = fields_for(&app, &p).await?;
    let input = ticket_in(o, &statuses, &fields, None)?;
    let description = input.description.clone();
    let t = app.create_ticket(&p, input).await?;
    let first = app.list_comments(&p, TicketId(t.id), None, Some(1)).await?;
    let base = Base::of(&headers);
    let audit = audit_json(&p, None, &t, first.items.first(), &base);
    let mut res = (
        StatusCode::CREATED,
        axum::Json(
            json!({"ticket": ticket_json(&base, &t, &fields, Some(&description)), "audit": audit}),
        ),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&base.url(&format!("/tickets/{}.json", t.id))) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// The version a `safe_update` expects: the ticket must not have changed since
/// `updated_stamp` (else 409, as Zendesk).
fn safe_update_version(
    o: &Map<String, Value>,
    current: &TicketOut,
) -> Result<Option<i64>, AppError> {
    if read::flag(o, "safe_update")? != Some(true) {
        return Ok(None);
    }
    let stamp = read::text(o, "updated_stamp")?.ok_or_else(|| {
        AppError::invalid(
            "updated_stamp",
            "required",
            "safe_update needs updated_stamp: the updated_at you last read",
        )
    })?;
    if seconds(&current.updated_at) != stamp {
        return Err(AppError::Stale {
            current: current.version,
        });
    }
    Ok(Some(current.version))
}

async fn update_ticket(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json,
) -> Answer {
    let p = who(&app, &headers).await?;
    p.require_staff()?;
    let id = path_id(&id)?;
    let o = body_object(&body, "ticket")?;
    let before = app.get_ticket(&p, TicketId(id)).await?;
    let version = safe_update_version(o, &before)?;
    let statuses = app.list_statuses(&p).await?.items;
    let fields = fields_for(&app, &p).await?;
    let patch = ticket_patch(o, &statuses, &fields)?;
    let comment = pick_comment(o)?;
    let (after, added) = app
        .update_ticket_with_comment(&p, TicketId(id), version, patch, comment)
        .await?;
    let base = Base::of(&headers);
    let audit = audit_json(&p, Some(&before), &after, added.as_ref(), &base);
    Ok(ok(
        json!({"ticket": ticket_json(&base, &after, &fields, None), "audit": audit}),
    ))
}

async fn comments_of(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    q: &Query,
    staff_only: bool,
) -> Answer {
    let p = who(app, headers).await?;
    if staff_only {
        p.require_staff()?;
    }
    let id = path_id(id)?;
    let base = Base::of(headers);
    let paging = Paging::of(q)?;
    let (app, p) = (&app, &p);
    let page = fetch_page(&paging, |cursor: Option<String>, limit: i64| async move {
        app.list_comments(p, TicketId(id), cursor.as_deref(), Some(limit))
            .await
    })
    .await?;
    let items = page.items.iter().map(|c| comment_json(&base, c)).collect();
    let path = if staff_only {
        format!("/tickets/{id}/comments")
    } else {
        format!("/requests/{id}/comments")
    };
    Ok(ok(list_body(
        "comments",
        items,
        page.next_cursor,
        &paging,
        &here(&base, &path),
        None,
    )))
}

async fn ticket_comments(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    comments_of(&app, &headers, &id, &q, true).await
}

// ------------------------------------------------------------------ requests (end users)

async fn list_requests(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let filter = TicketFilter {
        requester_id: Some(p.user.id),
        ..Default::default()
    };
    ticket_list(&app, &headers, &q, filter, "/requests", true).await
}

async fn ccd_requests(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let filter = TicketFilter {
        cc_id: Some(p.user.id),
        ..Default::default()
    };
    ticket_list(&app, &headers, &q, filter, "/requests/ccd", true).await
}

async fn org_requests(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    let id = path_id(&id)?;
    let filter = TicketFilter {
        organization_id: Some(OrganizationId(id)),
        ..Default::default()
    };
    ticket_list(
        &app,
        &headers,
        &q,
        filter,
        &format!("/organizations/{id}/requests"),
        true,
    )
    .await
}

async fn show_request(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = who(&app, &headers).await?;
    let id = path_id(&id)?;
    let t = app.get_ticket(&p, TicketId(id)).await?;
    let description = description_of(&app, &p, id).await?;
    Ok(ok(
        json!({"request": request_json(&Base::of(&headers), &t, Some(&description))}),
    ))
}

async fn create_request(State(app): State<App>, headers: HeaderMap, Json(body): Json) -> Answer {
    let p = who(&app, &headers).await?;
    let o = body_object(&body, "request")?;
    let statuses = app.list_statuses(&p).await?.items;
    // An end user requests for themselves; staff may name the requester.
    let requester = (!p.is_staff()).then_some(p.user.id.0);
    let mut input = ticket_in(o, &statuses, &[], requester)?;
    if !p.is_staff() {
        // What an end user may not set on their request is ignored, as Zendesk does.
        input.status_id = None;
        input.group_id = None;
        input.assignee_id = None;
        input.internal_group_id = None;
        input.internal_agent_id = None;
        input.tags = None;
        input.public = None;
    }
    let description = input.description.clone();
    let t = app.create_ticket(&p, input).await?;
    let base = Base::of(&headers);
    let mut res = (
        StatusCode::CREATED,
        axum::Json(json!({"request": request_json(&base, &t, Some(&description))})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&base.url(&format!("/requests/{}.json", t.id))) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn update_request(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json,
) -> Answer {
    let p = who(&app, &headers).await?;
    let id = path_id(&id)?;
    let o = body_object(&body, "request")?;
    let mut comment = pick_comment(o)?;
    if let Some(c) = comment.as_mut()
        && !p.is_staff()
    {
        c.public = Some(true);
    }
    let patch = if read::flag(o, "solved")? == Some(true) {
        let statuses = app.list_statuses(&p).await?.items;
        let solved = statuses
            .iter()
            .find(|s| s.built_in && s.category == StatusCategory::Resolved)
            .map(|s| s.id);
        Some(TicketPatch {
            subject: None,
            requester_id: None,
            organization_id: None,
            status: None,
            status_id: solved,
            priority: None,
            group_id: None,
            assignee_id: None,
            internal_group_id: None,
            internal_agent_id: None,
            cc_ids: None,
            tags: None,
            custom_fields: None,
        })
    } else {
        None
    };
    let (t, _) = app
        .update_ticket_with_comment(&p, TicketId(id), None, patch, comment)
        .await?;
    Ok(ok(
        json!({"request": request_json(&Base::of(&headers), &t, None)}),
    ))
}

async fn request_comments(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    comments_of(&app, &headers, &id, &q, false).await
}

/// A comment attachment's bytes (its `content_url`), with Zendesk's credentials, under the
/// same policy as `/api/v1/attachments/{id}`.
async fn attachment_content(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = who(&app, &headers).await?;
    Ok(crate::api::attachments::attachment_response(&app, &p, path_id(&id)?).await?)
}

// ------------------------------------------------------------------ statuses and fields

async fn custom_statuses(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = who(&app, &headers).await?;
    let statuses = app.list_statuses(&p).await?;
    let items: Vec<Value> = statuses.items.iter().map(custom_status_json).collect();
    Ok(ok(json!({"custom_statuses": items})))
}

async fn ticket_fields(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let fields = app.list_fields(&p).await?;
    let items: Vec<Value> = fields.iter().map(|f| ticket_field_json(&base, f)).collect();
    Ok(ok(
        json!({"ticket_fields": items, "next_page": null, "previous_page": null, "count": items.len()}),
    ))
}

// ------------------------------------------------------------------ search

/// A Zendesk search query in our search language: `type:ticket` is dropped (tickets are what
/// we search), `organization:` is `org:`, `tags:` is `tag:`; the other keys we share
/// (`status`, `priority`, `group`, `assignee`, `requester`) pass as they are, and so do words.
fn search_query(q: &str) -> Result<String, AppError> {
    let mut out = Vec::new();
    for term in q.split_whitespace() {
        let lower = term.to_lowercase();
        if let Some(kind) = lower.strip_prefix("type:") {
            if kind != "ticket" {
                return Err(AppError::invalid(
                    "query",
                    "not_supported",
                    "only tickets are searchable here (type:ticket)",
                ));
            }
            continue;
        }
        let term = if let Some(v) = lower.strip_prefix("organization:") {
            format!("org:{v}")
        } else if let Some(v) = lower.strip_prefix("tags:") {
            format!("tag:{v}")
        } else if let Some(v) = lower.strip_prefix("status:") {
            format!("status:{}", if v == "solved" { "resolved" } else { v })
        } else {
            term.to_owned()
        };
        out.push(term);
    }
    Ok(out.join(" "))
}

async fn search(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    let base = Base::of(&headers);
    let query = search_query(q.get("query").unwrap_or(""))?;
    let page = q.int("page")?.unwrap_or(1);
    let per_page = q.size("per_page", 100, 100)?;
    if page < 1 || page * per_page > 1000 {
        return Err(AppError::invalid(
            "page",
            "out_of_range",
            "a search returns at most 1,000 results (pages of up to 100)",
        )
        .into());
    }
    let offset = (page - 1) * per_page;
    let cursor = (offset > 0).then(|| offset.to_string());
    let found = app
        .search(&p, &query, cursor.as_deref(), Some(per_page))
        .await?;
    let fields = fields_for(&app, &p).await?;
    let shown = found.items.len() as i64;
    let results: Vec<Value> = found
        .items
        .iter()
        .map(|t| {
            let mut v = ticket_json(&base, t, &fields, None);
            v["result_type"] = json!("ticket");
            v
        })
        .collect();
    let link = |page: i64| {
        let mut url = format!("{}?page={page}&per_page={per_page}", here(&base, "/search"));
        url.push_str("&query=");
        url.push_str(&ferrodesk_core::validate::percent_encode(
            q.get("query").unwrap_or(""),
        ));
        url
    };
    let more = found.next_cursor.is_some() && (page + 1) * per_page <= 1000;
    Ok(ok(json!({
        "results": results,
        "facets": null,
        "next_page": more.then(|| link(page + 1)),
        "previous_page": (page > 1).then(|| link(page - 1)),
        // Exact on the last page; while more pages follow, what is known so far plus one.
        "count": offset + shown + i64::from(more),
    })))
}

// ------------------------------------------------------------------ incremental exports

/// Changes younger than this are left for the next request (Zendesk: "items created or
/// changed within the minute prior to your request are excluded").
const SETTLE_MICROS: i64 = 60_000_000;

/// `start_time` (Unix seconds) or a cursor (`MICROS.ID`) as an `(updated_at, id)` position.
fn export_position(q: &Query) -> Result<(i64, i64), AppError> {
    if let Some(c) = q.get("cursor") {
        let bad = || AppError::invalid("cursor", "invalid", "cursor is not one this API gave out");
        let (at, id) = c.split_once('.').ok_or_else(bad)?;
        return Ok((
            at.parse().map_err(|_| bad())?,
            id.parse().map_err(|_| bad())?,
        ));
    }
    let start = q.int("start_time")?.ok_or_else(|| {
        AppError::invalid(
            "start_time",
            "required",
            "start_time (Unix seconds) or cursor is required",
        )
    })?;
    if start < 0 {
        return Err(AppError::invalid(
            "start_time",
            "out_of_range",
            "start_time must be 0 or more",
        ));
    }
    // Everything changed at or after start_time: start just before it.
    Ok((start.saturating_mul(1_000_000) - 1, i64::MAX))
}

fn micros_of(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond())
        .unwrap_or(0)
}

/// The cursor-based export: `after_cursor`/`after_url` and `end_of_stream`, no `end_time`
/// (zenpy stops a cursor walk at a recent `end_time`).
async fn incremental_tickets_cursor(
    State(app): State<App>,
    headers: HeaderMap,
    q: Query,
) -> Answer {
    incremental_tickets(&app, &headers, &q, true).await
}

/// The time-based export: the same walk, answered with `next_page` and `end_time`.
async fn incremental_tickets_by_time(
    State(app): State<App>,
    headers: HeaderMap,
    q: Query,
) -> Answer {
    incremental_tickets(&app, &headers, &q, false).await
}

async fn incremental_tickets(
    app: &App,
    headers: &HeaderMap,
    q: &Query,
    cursor_based: bool,
) -> Answer {
    let p = who(app, headers).await?;
    let base = Base::of(headers);
    let per_page = q.size("per_page", 1000, 1000)?;
    let from = export_position(q)?;
    let (tickets, last) = app
        .tickets_changed(&p, from, SETTLE_MICROS, per_page)
        .await?;
    let fields = fields_for(app, &p).await?;
    let end = (tickets.len() as i64) < per_page;
    let at = last.unwrap_or(from);
    let cursor = format!("{}.{}", at.0, at.1);
    // Ferrodesk's sideload `include=comments`: every ticket's comments in the page, in one
    // query instead of one request per ticket (what `ferrodesk import zendesk` asks for).
    let mut comments = if q
        .get("include")
        .is_some_and(|i| i.split(',').any(|k| k == "comments"))
    {
        let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
        Some(app.export_comments(&p, &ids).await?)
    } else {
        None
    };
    let items: Vec<Value> = tickets
        .iter()
        .map(|t| {
            let mut v = ticket_json(&base, t, &fields, None);
            if let Some(all) = comments.as_mut() {
                let list: Vec<Value> = all
                    .remove(&t.id)
                    .unwrap_or_default()
                    .iter()
                    .map(|c| comment_json(&base, c))
                    .collect();
                v["comments"] = json!(list);
            }
            v
        })
        .collect();
    let count = items.len();
    if cursor_based {
        let include = q
            .get("include")
            .map(|i| format!("&include={}", ferrodesk_core::validate::percent_encode(i)))
            .unwrap_or_default();
        let after_url = format!(
            "{}?cursor={cursor}&per_page={per_page}{include}",
            here(&base, "/incremental/tickets/cursor")
        );
        return Ok(ok(json!({
            "tickets": items,
            "after_url": after_url,
            "after_cursor": cursor,
            "before_url": null,
            "before_cursor": null,
            "end_of_stream": end,
        })));
    }
    let end_time = last.map_or_else(
        || {
            q.int("start_time")
                .ok()
                .flatten()
                .unwrap_or(at.0 / 1_000_000)
        },
        |(micros, _)| micros / 1_000_000,
    );
    let next_page = format!(
        "{}?cursor={cursor}&per_page={per_page}",
        here(&base, "/incremental/tickets")
    );
    Ok(ok(json!({
        "tickets": items,
        "next_page": if end { Value::Null } else { json!(next_page) },
        "end_of_stream": end,
        "end_time": end_time,
        "count": count,
    })))
}

/// Users changed at or after `start_time`, by id (a directory is small next to tickets: the
/// page walks ids and keeps the changed ones).
async fn incremental_users(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    p.require_admin()?;
    let base = Base::of(&headers);
    let since = q.int("start_time")?.unwrap_or(0).saturating_mul(1_000_000);
    let per_page = q.size("per_page", 1000, 1000)?;
    let mut cursor = q.get("cursor").map(str::to_owned);
    let mut items = Vec::new();
    let mut end = false;
    while (items.len() as i64) < per_page {
        let page = app
            .list_users(&p, UserFilter::default(), cursor.as_deref(), Some(100))
            .await?;
        items.extend(
            page.items
                .iter()
                .filter(|u| micros_of(&u.updated_at) >= since)
                .map(|u| user_json(&base, u)),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => {
                end = true;
                break;
            }
        }
    }
    incremental_body(
        "users",
        items,
        cursor,
        end,
        since,
        &base,
        "/incremental/users",
    )
}

async fn incremental_orgs(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = who(&app, &headers).await?;
    p.require_admin()?;
    let base = Base::of(&headers);
    let since = q.int("start_time")?.unwrap_or(0).saturating_mul(1_000_000);
    let per_page = q.size("per_page", 1000, 1000)?;
    let mut cursor = q.get("cursor").map(str::to_owned);
    let mut items = Vec::new();
    let mut end = false;
    while (items.len() as i64) < per_page {
        let page = app
            .list_organizations(&p, cursor.as_deref(), Some(100))
            .await?;
        items.extend(
            page.items
                .iter()
                .filter(|o| micros_of(&o.updated_at) >= since)
                .map(|o| org_json(&base, o)),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => {
                end = true;
                break;
            }
        }
    }
    incremental_body(
        "organizations",
        items,
        cursor,
        end,
        since,
        &base,
        "/incremental/organizations",
    )
}

fn incremental_body(
    key: &str,
    items: Vec<Value>,
    cursor: Option<String>,
    end: bool,
    since: i64,
    base: &Base,
    path: &str,
) -> Answer {
    let start = since / 1_000_000;
    let next = (!end).then(|| {
        format!(
            "{}?start_time={start}&cursor={}",
            here(base, path),
            cursor.clone().unwrap_or_default()
        )
    });
    Ok(ok(json!({
        key: items,
        "after_cursor": cursor,
        "after_url": next,
        "next_page": next,
        "end_of_stream": end,
        "end_time": start,
        "count": items.len(),
    })))
}
