//! Contacts (end users), agents, companies (organizations), groups and ticket fields.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use ferrodesk_app::dto::{GroupOut, OrganizationOut, UserOut};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{GroupId, OrganizationId, Role, TicketScope, UserAccess, UserId};
use ferrodesk_store::directory::UserFilter;
use serde_json::{Map, Value, json};

use super::{
    Answer, NO_TIME, Paging, json_body, list_answer, slice, status_code, user_by_email, window,
};
use crate::compat::{Query, Vendor, path_id, principal, seconds};

// ---------------------------------------------------------------- contacts

/// An end user as a Freshdesk contact.
fn contact_json(u: &UserOut) -> Value {
    let view_all = u.access == Some(UserAccess::Organization);
    let others: Vec<Value> = u
        .organization_ids
        .iter()
        .filter(|o| Some(**o) != u.default_organization_id)
        .map(|o| json!({"company_id": o, "view_all_tickets": view_all}))
        .collect();
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "active": !u.suspended,
        "deleted": false,
        "company_id": u.default_organization_id,
        "view_all_tickets": view_all,
        "other_companies": others,
        "address": null,
        "description": null,
        "job_title": null,
        "language": "en",
        "mobile": null,
        "phone": null,
        "time_zone": "UTC",
        "twitter_id": null,
        "unique_external_id": null,
        "tags": [],
        "custom_fields": {},
        "created_at": seconds(&u.created_at),
        "updated_at": seconds(&u.updated_at),
    })
}

/// `GET /contacts` (agents and admins): end users by id; `email` and `company_id` filter.
pub(super) async fn contacts(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let paging = Paging::read(&q)?;
    let company = q.int("company_id")?;
    if let Some(email) = q.get("email") {
        p.require_staff()?;
        let found: Vec<Value> = user_by_email(&app, &p, email)
            .await?
            .filter(|u| u.role == Role::EndUser)
            .filter(|u| company.is_none_or(|c| u.organization_ids.contains(&c)))
            .iter()
            .map(contact_json)
            .collect();
        let (items, more) = slice(found, paging);
        return Ok(list_answer(items, more, &headers, "/contacts", &q, paging));
    }
    let filter = UserFilter {
        role: Some(Role::EndUser),
        organization_id: company.map(OrganizationId),
        ..UserFilter::default()
    };
    let (app, p) = (&app, &p);
    let (users, more) = window(paging.skip(), paging.per_page, |cursor, limit| {
        let filter = filter.clone();
        async move {
            app.list_users(p, filter, cursor.as_deref(), Some(limit))
                .await
        }
    })
    .await?;
    let items = users.iter().map(contact_json).collect();
    Ok(list_answer(items, more, &headers, "/contacts", &q, paging))
}

/// `GET /contacts/{id}`: an end user (agents and admins are not contacts here).
pub(super) async fn contact(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let u = app.get_user(&p, UserId(path_id(&id)?)).await?;
    if u.role != Role::EndUser {
        return Err(AppError::NotFound("contact").into());
    }
    Ok(json_body(StatusCode::OK, contact_json(&u)))
}

// ---------------------------------------------------------------- agents

/// Freshdesk's `ticket_scope`: 1 global (admins see every ticket), 2 group, 3 restricted.
fn ticket_scope(u: &UserOut) -> i64 {
    match (u.role, u.ticket_scope) {
        (Role::Agent, Some(TicketScope::Group)) => 2,
        (Role::Agent, Some(TicketScope::Assigned)) => 3,
        _ => 1,
    }
}

/// The roles `GET /roles` lists: Freshdesk's default Administrator and Agent.
const ROLES: [(i64, &str, &str); 2] = [
    (
        1,
        "Administrator",
        "Can configure all features and manage agents",
    ),
    (
        2,
        "Agent",
        "Can log, view, reply, update and resolve tickets",
    ),
];

/// An agent's role id (see [`ROLES`]).
fn role_id(role: Role) -> i64 {
    if role == Role::Admin { 1 } else { 2 }
}

/// `GET /roles` (agents and admins): Administrator (our admins) and Agent.
pub(super) async fn roles(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    p.require_staff()?;
    let items: Vec<Value> = ROLES
        .iter()
        .map(|(id, name, description)| {
            json!({
                "id": id,
                "name": name,
                "description": description,
                "default": true,
                "created_at": NO_TIME,
                "updated_at": NO_TIME,
            })
        })
        .collect();
    Ok(json_body(StatusCode::OK, Value::Array(items)))
}

/// An agent or admin as a Freshdesk agent.
fn agent_json(u: &UserOut) -> Value {
    let (created, updated) = (seconds(&u.created_at), seconds(&u.updated_at));
    json!({
        "id": u.id,
        "available": true,
        "occasional": false,
        "signature": null,
        "ticket_scope": ticket_scope(u),
        "group_ids": u.group_ids,
        "role_ids": [role_id(u.role)],
        "skill_ids": [],
        "type": "support_agent",
        "available_since": null,
        "contact": {
            "active": !u.suspended,
            "email": u.email,
            "job_title": null,
            "language": "en",
            "last_login_at": null,
            "mobile": null,
            "name": u.name,
            "phone": null,
            "time_zone": "UTC",
            "created_at": created,
            "updated_at": updated,
        },
        "created_at": created,
        "updated_at": updated,
    })
}

/// `GET /agents` (agents and admins): agents and admins by id; `email` filters. Staff are
/// few, so both roles are read whole and then paged.
pub(super) async fn agents(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let paging = Paging::read(&q)?;
    let mut staff = Vec::new();
    for role in [Role::Admin, Role::Agent] {
        let filter = UserFilter {
            role: Some(role),
            ..UserFilter::default()
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = app
                .list_users(&p, filter.clone(), cursor.as_deref(), Some(100))
                .await?;
            staff.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    if let Some(email) = q.get("email") {
        staff.retain(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
        });
    }
    staff.sort_by_key(|u| u.id);
    let (page, more) = slice(staff, paging);
    let items = page.iter().map(agent_json).collect();
    Ok(list_answer(items, more, &headers, "/agents", &q, paging))
}

/// `GET /agents/me` (agents and admins).
pub(super) async fn me(State(app): State<App>, headers: HeaderMap) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    p.require_staff()?;
    Ok(json_body(StatusCode::OK, agent_json(&app.me(&p).await)))
}

/// `GET /agents/{id}`: an agent or admin.
pub(super) async fn agent(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let u = app.get_user(&p, UserId(path_id(&id)?)).await?;
    if u.role == Role::EndUser {
        return Err(AppError::NotFound("agent").into());
    }
    Ok(json_body(StatusCode::OK, agent_json(&u)))
}

// ---------------------------------------------------------------- companies

/// An organization as a Freshdesk company: `description` is its details (with the sharing
/// log), `note` its notes; `sharing` is ours (Freshdesk has no company-level sharing).
fn company_json(o: &OrganizationOut) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "description": o.details,
        "note": o.notes,
        "domains": o.domain_names,
        "custom_fields": {},
        "health_score": null,
        "account_tier": null,
        "renewal_date": null,
        "industry": null,
        "sharing": o.sharing,
        "created_at": seconds(&o.created_at),
        "updated_at": seconds(&o.updated_at),
    })
}

/// `GET /companies`: staff see all, end users their own.
pub(super) async fn companies(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let paging = Paging::read(&q)?;
    let (app, p) = (&app, &p);
    let (orgs, more) = window(paging.skip(), paging.per_page, |cursor, limit| async move {
        app.list_organizations(p, cursor.as_deref(), Some(limit))
            .await
    })
    .await?;
    let items = orgs.iter().map(company_json).collect();
    Ok(list_answer(items, more, &headers, "/companies", &q, paging))
}

/// `GET /companies/{id}`.
pub(super) async fn company(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let o = app
        .get_organization(&p, OrganizationId(path_id(&id)?))
        .await?;
    Ok(json_body(StatusCode::OK, company_json(&o)))
}

// ---------------------------------------------------------------- groups

fn group_json(g: &GroupOut) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": null,
        "agent_ids": g.agent_ids,
        "business_hour_id": null,
        "escalate_to": null,
        "unassigned_for": null,
        "auto_ticket_assign": false,
        "group_type": "support_agent_group",
        "created_at": seconds(&g.created_at),
        "updated_at": seconds(&g.updated_at),
    })
}

/// `GET /groups` (agents and admins).
pub(super) async fn groups(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let paging = Paging::read(&q)?;
    let all = app.list_groups(&p).await?.items;
    let (page, more) = slice(all, paging);
    let items = page.iter().map(group_json).collect();
    Ok(list_answer(items, more, &headers, "/groups", &q, paging))
}

/// `GET /groups/{id}` (agents and admins).
pub(super) async fn group(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let g = app.get_group(&p, GroupId(path_id(&id)?)).await?;
    Ok(json_body(StatusCode::OK, group_json(&g)))
}

// ---------------------------------------------------------------- ticket fields

/// Ids of the built-in fields (custom fields keep their own, small, ids).
const DEFAULT_FIELD_ID: i64 = 1_000_000_000;

/// A built-in field.
fn default_field(n: i64, name: &str, label: &str, customers: bool, extra: Value) -> Value {
    let mut o = json!({
        "id": DEFAULT_FIELD_ID + n,
        "name": name,
        "label": label,
        "description": label,
        "position": n,
        "type": format!("default_{name}"),
        "default": true,
        "required_for_closure": false,
        "required_for_agents": matches!(name, "requester" | "subject" | "status" | "priority"),
        "required_for_customers": matches!(name, "requester" | "subject"),
        "customers_can_edit": customers,
        "displayed_to_customers": customers,
        "label_for_customers": label,
        "created_at": NO_TIME,
        "updated_at": NO_TIME,
    });
    if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
        o.extend(extra);
    }
    o
}

/// `GET /ticket_fields` (agents and admins): the built-in fields — `status` with every
/// status's code as `{"code": [agent label, customer label]}` (and, ours, the internal
/// groups mapped to each under `internal_groups`), `priority`, `source`, `group`,
/// `internal_group` — and the active custom fields as `cf_<key>`. `type` filters.
pub(super) async fn ticket_fields(State(app): State<App>, headers: HeaderMap, q: Query) -> Answer {
    let p = principal(&app, &headers, Vendor::Freshdesk).await?;
    let custom = app.list_fields(&p).await?;
    let statuses = app.list_statuses(&p).await?.items;
    let groups = app.list_groups(&p).await?.items;
    let mut choices = Map::new();
    let mut mapped = Map::new();
    for s in &statuses {
        let code = status_code(s.id).to_string();
        choices.insert(code.clone(), json!([s.name, s.customer_label]));
        mapped.insert(
            code,
            json!({"all_groups": s.all_groups, "group_ids": s.internal_group_ids}),
        );
    }
    let group_choices: Map<String, Value> = groups
        .iter()
        .map(|g| (g.name.clone(), json!(g.id)))
        .collect();
    let mut fields = vec![
        default_field(1, "requester", "Search a requester", true, json!({})),
        default_field(2, "subject", "Subject", true, json!({})),
        default_field(
            3,
            "source",
            "Source",
            false,
            json!({"choices": {"Email": 1, "Portal": 2, "Phone": 3}}),
        ),
        default_field(
            4,
            "status",
            "Status",
            true,
            json!({"choices": choices, "internal_groups": mapped}),
        ),
        default_field(
            5,
            "priority",
            "Priority",
            false,
            json!({"choices": {"Low": 1, "Medium": 2, "High": 3, "Urgent": 4}}),
        ),
        default_field(
            6,
            "group",
            "Group",
            false,
            json!({"choices": group_choices}),
        ),
        default_field(7, "agent", "Agent", false, json!({})),
        default_field(
            8,
            "internal_group",
            "Internal group",
            false,
            json!({"choices": group_choices}),
        ),
        default_field(9, "internal_agent", "Internal agent", false, json!({})),
        default_field(10, "description", "Description", true, json!({})),
        default_field(11, "company", "Company", true, json!({})),
    ];
    for f in custom.iter().filter(|f| f.active) {
        let kind = match f.field_type.as_str() {
            "number" => "custom_number",
            "checkbox" => "custom_checkbox",
            "dropdown" => "custom_dropdown",
            "date" => "custom_date",
            _ => "custom_text",
        };
        let mut o = json!({
            "id": f.id,
            "name": format!("cf_{}", f.key),
            "label": f.title,
            "description": f.title,
            "position": 100 + f.position,
            "type": kind,
            "default": false,
            "required_for_closure": false,
            "required_for_agents": false,
            "required_for_customers": false,
            "customers_can_edit": false,
            "displayed_to_customers": false,
            "label_for_customers": f.title,
            "created_at": NO_TIME,
            "updated_at": NO_TIME,
        });
        if f.field_type == "dropdown" {
            o["choices"] = json!(f.options);
        }
        fields.push(o);
    }
    if let Some(kind) = q.get("type") {
        fields.retain(|f| f["type"] == kind);
    }
    Ok(json_body(StatusCode::OK, Value::Array(fields)))
}
