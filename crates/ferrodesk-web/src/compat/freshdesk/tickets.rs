//! Tickets and their conversations.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use ferrodesk_app::dto::{CommentIn, CommentOut, TicketIn, TicketOut, TicketPatch, UserIn};
use ferrodesk_app::{App, AppError, Principal};
use ferrodesk_core::{Channel, OrganizationId, Priority, Role, TicketId, UserId};
use ferrodesk_store::scope::TicketFilter;
use serde_json::{Map, Value, json};

use super::PREFIX;
use super::{
    Answer, Paging, emails_of, from_html, json_body, list_answer, object, priority_code,
    priority_of, source_code, status_code, to_html, user_by_email, window,
};
use crate::compat::{Json, Query, Vendor, base_url, path_id, principal, read, seconds};

// ---------------------------------------------------------------- shapes

/// A ticket in Freshdesk's shape; `emails` are the CC'd users' addresses the caller may see.
/// Fields end users may not see (group, internal owner, tags) are left out for them.
fn ticket_json(t: &TicketOut, emails: &BTreeMap<i64, String>) -> Value {
    let cc: Vec<&String> = t.cc_ids.iter().filter_map(|id| emails.get(id)).collect();
    let custom: Map<String, Value> = t
        .custom_fields
        .iter()
        .map(|(k, v)| (format!("cf_{k}"), v.clone()))
        .collect();
    let mut o = json!({
        "id": t.id,
        "subject": t.subject,
        "status": status_code(t.status_id),
        "priority": priority_code(t.priority),
        "source": source_code(t.channel),
        "requester_id": t.requester_id,
        "responder_id": t.assignee_id,
        "company_id": t.organization_id,
        "cc_emails": cc,
        "reply_cc_emails": cc,
        "fwd_emails": [],
        "to_emails": null,
        "custom_fields": custom,
        "type": null,
        "due_by": null,
        "fr_due_by": null,
        "is_escalated": false,
        "fr_escalated": false,
        "spam": false,
        "email_config_id": null,
        "product_id": null,
        "created_at": seconds(&t.created_at),
        "updated_at": seconds(&t.updated_at),
    });
    if let Some(g) = t.group_id {
        o["group_id"] = json!(g);
    }
    if let Some(g) = t.internal_group_id {
        o["internal_group_id"] = json!(g);
    }
    if let Some(a) = t.internal_agent_id {
        o["internal_agent_id"] = json!(a);
    }
    if let Some(tags) = &t.tags {
        o["tags"] = json!(tags);
    }
    o
}

/// A single ticket, with its description.
fn with_description(mut o: Value, description: &str) -> Value {
    o["description"] = json!(to_html(description));
    o["description_text"] = json!(description);
    o
}

/// The files of a comment as Freshdesk lists them; `api` (this layer's absolute root) makes
/// each `attachment_url` — `/attachments/{id}/content` here, with this API's credentials.
fn attachments_json(c: &CommentOut, api: &str) -> Vec<Value> {
    let at = seconds(&c.created_at);
    c.attachments
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "name": a.file_name,
                "content_type": a.content_type,
                "size": a.size,
                "attachment_url": a.url.as_ref().map(|_| format!("{api}/attachments/{}/content", a.id)),
                "created_at": at,
                "updated_at": at,
            })
        })
        .collect()
}

/// A comment as a Freshdesk conversation: a public comment is a reply (source 0), a
/// private one a note (source 2). `api` is this layer's absolute root.
fn conversation_json(c: &CommentOut, api: &str) -> Value {
    let at = seconds(&c.created_at);
    let attachments = attachments_json(c, api);
    json!({
        "id": c.id,
        "body": to_html(&c.body),
        "body_text": c.body,
        "private": !c.public,
        "incoming": c.channel == Channel::Email,
        "source": if c.public { 0 } else { 2 },
        "user_id": c.author_id,
        "ticket_id": c.ticket_id,
        "to_emails": [],
        "from_email": null,
        "cc_emails": [],
        "bcc_emails": [],
        "support_email": null,
        "attachments": attachments,
        "created_at": at,
        "updated_at": at,
    })
}

/// The comment shown as a ticket's description: the first one the caller may see.
async fn first_comment(
    app: &App,
    p: &Principal,
    id: TicketId,
) -> Result<Option<CommentOut>, AppError> {
    Ok(app
        .list_comments(p, id, None, Some(1))
        .await?
        .items
        .into_iter()
        .next())
}

/// One ticket as `GET /tickets/{id}` answers it, with its description and the description's
/// files (`api`: this layer's absolute root).
async fn single(app: &App, p: &Principal, t: &TicketOut, api: &str) -> Result<Value, AppError> {
    let emails = emails_of(app, p, t.cc_ids.iter().copied()).await?;
    let description = first_comment(app, p, TicketId(t.id)).await?;
    let mut o = with_description(
        ticket_json(t, &emails),
        description.as_ref().map_or("", |c| c.body.as_str()),
    );
    o["attachments"] = json!(
        description
            .as_ref()
            .map(|c| attachments_json(c, api))
            .unwrap_or_default()
    );
    Ok(o)
}

/// Tickets as a list answers them.
pub(super) async fn many(
    app: &App,
    p: &Principal,
    tickets: &[TicketOut],
) -> Result<Vec<Value>, AppError> {
    let emails = emails_of(app, p, tickets.iter().flat_map(|t| t.cc_ids.clone())).await?;
    Ok(tickets.iter().map(|t| ticket_json(t, &emails)).collect())
}

// ---------------------------------------------------------------- reading requests

/// The ticket fields of a create or update, read leniently: unknown fields are ignored, a
/// known field with the wrong type is refused by name.
#[derive(Debug, Default)]
struct Fields {
    subject: Option<String>,
    description: Option<String>,
    requester_id: Option<Option<i64>>,
    email: Option<String>,
    name: Option<String>,
    status: Option<i64>,
    priority: Option<Priority>,
    group_id: Option<Option<i64>>,
    responder_id: Option<Option<i64>>,
    internal_group_id: Option<Option<i64>>,
    internal_agent_id: Option<Option<i64>>,
    company_id: Option<Option<i64>>,
    tags: Option<Vec<String>>,
    cc_emails: Option<Vec<String>>,
    custom_fields: Option<BTreeMap<String, Value>>,
}

fn read_fields(o: &Map<String, Value>) -> Result<Fields, AppError> {
    let code = |key: &str| -> Result<Option<i64>, AppError> {
        match read::id(o, key)? {
            None => Ok(None),
            Some(Some(n)) => Ok(Some(n)),
            Some(None) => Err(AppError::invalid(
                key,
                "invalid_value",
                format!("{key} may not be empty"),
            )),
        }
    };
    let priority = match code("priority")? {
        None => None,
        Some(n) => Some(priority_of(n).ok_or_else(|| {
            AppError::invalid(
                "priority",
                "invalid_value",
                "It should be one of these values: '1,2,3,4'",
            )
        })?),
    };
    let custom_fields = match o.get("custom_fields") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| (k.strip_prefix("cf_").unwrap_or(k).to_owned(), v.clone()))
                .collect(),
        ),
        Some(_) => {
            return Err(AppError::invalid(
                "custom_fields",
                "datatype_mismatch",
                "custom_fields must be an object",
            ));
        }
    };
    Ok(Fields {
        subject: read::text(o, "subject")?,
        description: read::text(o, "description")?,
        requester_id: read::id(o, "requester_id")?,
        email: read::text(o, "email")?,
        name: read::text(o, "name")?,
        status: code("status")?,
        priority,
        group_id: read::id(o, "group_id")?,
        responder_id: read::id(o, "responder_id")?,
        internal_group_id: read::id(o, "internal_group_id")?,
        internal_agent_id: read::id(o, "internal_agent_id")?,
        company_id: read::id(o, "company_id")?,
        tags: read::texts(o, "tags")?,
        cc_emails: read::texts(o, "cc_emails")?,
        custom_fields,
    })
}

/// Our status id for a Freshdesk status code (one `GET /ticket_fields` lists).
async fn status_id(app: &App, p: &Principal, code: i64) -> Result<i64, AppError> {
    let statuses = app.list_statuses(p).await?.items;
    if let Some(s) = statuses.iter().find(|s| status_code(s.id) == code) {
        return Ok(s.id);
    }
    let codes: Vec<String> = statuses
        .iter()
        .map(|s| status_code(s.id).to_string())
        .collect();
    Err(AppError::invalid(
        "status",
        "invalid_value",
        format!("It should be one of these values: '{}'", codes.join(",")),
    ))
}

/// The users CC'd by address; every address must name a user.
async fn cc_ids(app: &App, p: &Principal, emails: &[String]) -> Result<Vec<i64>, AppError> {
    if !p.is_staff() && !emails.is_empty() {
        return Err(AppError::invalid(
            "cc_emails",
            "not_allowed",
            "end users may not set cc_emails",
        ));
    }
    let mut ids = Vec::new();
    for e in emails {
        match user_by_email(app, p, e).await? {
            Some(u) => ids.push(u.id),
            None => {
                return Err(AppError::invalid(
                    "cc_emails",
                    "invalid_value",
                    format!("no user has the address {e}; add them as a contact first"),
                ));
            }
        }
    }
    Ok(ids)
}

// ---------------------------------------------------------------- tickets

/// `GET /tickets`: the tickets the caller may see, newest first. `filter` is Freshdesk's
/// named view: `new_and_my_open` (python-freshdesk's default) and `all_tickets` list every
/// ticket the caller may see; `spam`, `deleted` and `watching` are empty (Ferrodesk has
/// none of those). `requester_id`, `email` and `company_id` filter; `updated_since`,
/// `order_by` and `order_type` are accepted and ignored (the answer is a superset);
/// `include=description` adds each ticket's description.
pub(super) async fn list(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let paging = Paging::read(&q)?;
    let empty = || {
        Ok(list_answer(
            Vec::new(),
            false,
            &headers,
            "/tickets",
            &q,
            paging,
        ))
    };
    match q.get("filter") {
        None | Some("new_and_my_open" | "all_tickets") => {}
        Some("spam" | "deleted" | "watching") => return empty(),
        Some(_) => {
            return Err(AppError::invalid(
                "filter",
                "invalid_value",
                "It should be one of these values: 'new_and_my_open,watching,spam,deleted'",
            )
            .into());
        }
    }
    let mut filter = TicketFilter {
        requester_id: q.int("requester_id")?.map(UserId),
        organization_id: q.int("company_id")?.map(OrganizationId),
        ..TicketFilter::default()
    };
    if let Some(email) = q.get("email") {
        match user_by_email(&app, &p, email).await? {
            Some(u) if filter.requester_id.is_none_or(|r| r.0 == u.id) => {
                filter.requester_id = Some(UserId(u.id));
            }
            _ => return empty(),
        }
    }
    let (app, p) = (&app, &p);
    let (tickets, more) = window(paging.skip(), paging.per_page, |cursor, limit| {
        let filter = filter.clone();
        async move {
            app.list_tickets(p, filter, cursor.as_deref(), Some(limit))
                .await
        }
    })
    .await?;
    let mut items = many(app, p, &tickets).await?;
    // `include=description`, as Freshdesk's list offers it (one comment read per ticket).
    if q.get("include")
        .unwrap_or("")
        .split(',')
        .any(|i| i == "description")
    {
        for (o, t) in items.iter_mut().zip(&tickets) {
            let first = first_comment(app, p, TicketId(t.id)).await?;
            *o = with_description(o.take(), first.as_ref().map_or("", |c| c.body.as_str()));
        }
    }
    Ok(list_answer(items, more, &headers, "/tickets", &q, paging))
}

/// `GET /tickets/{id}` (404 when the caller may not see it); `include=conversations` adds
/// the first ten conversations, `include=requester` the requester.
pub(super) async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let id = TicketId(path_id(&id)?);
    let t = app.get_ticket(&p, id).await?;
    let api = base_url(&headers, PREFIX);
    let mut o = single(&app, &p, &t, &api).await?;
    let include: Vec<&str> = q.get("include").unwrap_or("").split(',').collect();
    if include.contains(&"conversations") {
        let comments = app.list_comments(&p, id, None, Some(11)).await?.items;
        o["conversations"] = comments
            .iter()
            .skip(1)
            .map(|c| conversation_json(c, &api))
            .collect();
    }
    if include.contains(&"requester") {
        match app.get_user(&p, UserId(t.requester_id)).await {
            Ok(u) => {
                o["requester"] = json!({
                    "id": u.id, "name": u.name, "email": u.email, "mobile": null, "phone": null,
                });
            }
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json_body(StatusCode::OK, o))
}

/// `POST /tickets`. The requester is `requester_id`, or the user with `email`: when no user
/// has it, an agent's request adds them as a contact (an end user, through the same use
/// case as `POST /api/v1/users`, named `name` or after the address) — as Freshdesk does.
/// End users create tickets as themselves.
pub(super) async fn create(State(app): State<App>, headers: HeaderMap, Json(body): Json) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let f = read_fields(&object(&body)?)?;
    let status_id = match f.status {
        Some(code) => Some(status_id(&app, &p, code).await?),
        None => None,
    };
    let cc_ids = match &f.cc_emails {
        Some(emails) => Some(cc_ids(&app, &p, emails).await?),
        None => None,
    };
    // A requester named by an address no user has becomes a new contact, in the ticket's own
    // transaction (as Freshdesk does; a refused ticket leaves no contact behind).
    let mut new_requester = None;
    let requester_id = match (f.requester_id.flatten(), &f.email) {
        (Some(id), _) => Some(id),
        (None, Some(email)) => match user_by_email(&app, &p, email).await? {
            Some(u) => Some(u.id),
            None if p.is_staff() => {
                let name = f
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
                new_requester = Some(UserIn {
                    name,
                    email: email.clone(),
                    role: Some(Role::EndUser),
                    ticket_scope: None,
                    access: None,
                    password: None,
                    organization_ids: Vec::new(),
                    default_organization_id: None,
                    group_ids: Vec::new(),
                });
                None
            }
            None => {
                return Err(AppError::invalid(
                    "email",
                    "invalid_value",
                    "end users create tickets as themselves: leave email out or give your own",
                )
                .into());
            }
        },
        (None, None) => None,
    };
    let description = f.description.as_deref().map(from_html).unwrap_or_default();
    let input = TicketIn {
        subject: f.subject.unwrap_or_default(),
        description: description.clone(),
        requester_id,
        organization_id: f.company_id.flatten(),
        status_id,
        priority: f.priority,
        group_id: f.group_id.flatten(),
        assignee_id: f.responder_id.flatten(),
        internal_group_id: f.internal_group_id.flatten(),
        internal_agent_id: f.internal_agent_id.flatten(),
        cc_ids,
        tags: f.tags,
        custom_fields: f.custom_fields,
        ..TicketIn::default()
    };
    let t = match new_requester {
        Some(requester) => {
            app.create_ticket_for_new_requester(&p, requester, input)
                .await?
        }
        None => app.create_ticket(&p, input).await?,
    };
    let emails = emails_of(&app, &p, t.cc_ids.iter().copied()).await?;
    let mut res = json_body(
        StatusCode::CREATED,
        with_description(ticket_json(&t, &emails), &description),
    );
    let location = format!("{}/tickets/{}", base_url(&headers, super::PREFIX), t.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `PUT /tickets/{id}`: changes the fields given (`null` clears group, responder, internal
/// group and agent, company). The description is the first comment, and comments are never
/// edited: a new `description` is refused.
pub(super) async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let id = TicketId(path_id(&id)?);
    let o = object(&body)?;
    if o.get("description").is_some_and(|d| !d.is_null()) {
        return Err(AppError::invalid(
            "description",
            "readonly_field",
            "the description is the first comment, and comments are never edited: add a note \
             or a reply instead",
        )
        .into());
    }
    let f = read_fields(&o)?;
    let status_id = match f.status {
        Some(code) => Some(status_id(&app, &p, code).await?),
        None => None,
    };
    let cc_ids = match &f.cc_emails {
        Some(emails) => Some(cc_ids(&app, &p, emails).await?),
        None => None,
    };
    let requester_id = match (f.requester_id, &f.email) {
        (Some(Some(id)), _) => Some(id),
        (Some(None), _) => {
            return Err(AppError::invalid(
                "requester_id",
                "invalid_value",
                "a ticket always has a requester",
            )
            .into());
        }
        (None, Some(email)) => match user_by_email(&app, &p, email).await? {
            Some(u) => Some(u.id),
            None => {
                return Err(AppError::invalid(
                    "email",
                    "invalid_value",
                    format!("no user has the address {email}"),
                )
                .into());
            }
        },
        (None, None) => None,
    };
    let patch = TicketPatch {
        subject: f.subject,
        requester_id,
        organization_id: f.company_id,
        status: None,
        status_id,
        priority: f.priority,
        group_id: f.group_id,
        assignee_id: f.responder_id,
        internal_group_id: f.internal_group_id,
        internal_agent_id: f.internal_agent_id,
        cc_ids,
        tags: f.tags,
        custom_fields: f.custom_fields,
    };
    let t = app.update_ticket(&p, id, None, patch).await?;
    Ok(json_body(
        StatusCode::OK,
        single(&app, &p, &t, &base_url(&headers, PREFIX)).await?,
    ))
}

// ---------------------------------------------------------------- conversations

/// `GET /tickets/{id}/conversations`: the comments after the description, oldest first
/// (end users never get private notes).
pub(super) async fn conversations(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Query,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let id = TicketId(path_id(&id)?);
    let paging = Paging::read(&q)?;
    let (app, p) = (&app, &p);
    let (comments, more) = window(
        paging.skip() + 1,
        paging.per_page,
        |cursor, limit| async move {
            app.list_comments(p, id, cursor.as_deref(), Some(limit))
                .await
        },
    )
    .await?;
    let api = base_url(&headers, PREFIX);
    let items = comments
        .iter()
        .map(|c| conversation_json(c, &api))
        .collect();
    let path = format!("/tickets/{}/conversations", id.0);
    Ok(list_answer(items, more, &headers, &path, &q, paging))
}

/// `GET /attachments/{id}/content`: a file's bytes (its `attachment_url`), with Freshdesk's
/// credentials, under the same policy as `/api/v1/attachments/{id}`.
pub(super) async fn attachment_content(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    Ok(crate::api::attachments::attachment_response(&app, &p, path_id(&id)?).await?)
}

/// `POST /tickets/{id}/reply`: a public comment. `cc_emails`, `bcc_emails` and
/// `from_email` are ignored (CCs belong to the ticket here).
pub(super) async fn reply(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let id = TicketId(path_id(&id)?);
    let o = object(&body)?;
    add_comment(&app, &p, id, &o, true, &headers).await
}

/// `POST /tickets/{id}/notes`: a private note unless `"private": false`.
pub(super) async fn note(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let id = TicketId(path_id(&id)?);
    let o = object(&body)?;
    let private = read::flag(&o, "private")?.unwrap_or(true);
    add_comment(&app, &p, id, &o, !private, &headers).await
}

async fn add_comment(
    app: &App,
    p: &Principal,
    id: TicketId,
    o: &Map<String, Value>,
    public: bool,
    headers: &HeaderMap,
) -> Answer {
    // Freshdesk lets a request name its author; here the author is whoever the token
    // belongs to.
    if let Some(Some(user)) = read::id(o, "user_id")?
        && user != p.user.id.0
    {
        return Err(AppError::invalid(
            "user_id",
            "not_allowed",
            "comments are written by the user the API key belongs to",
        )
        .into());
    }
    let body = read::text(o, "body")?.unwrap_or_default();
    let input = CommentIn {
        body: from_html(&body),
        public: Some(public),
        upload_tokens: None,
    };
    let c = app.add_comment(p, id, input).await?;
    Ok(json_body(
        StatusCode::CREATED,
        conversation_json(&c, &base_url(headers, PREFIX)),
    ))
}
