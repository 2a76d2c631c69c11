//! Admin pages (admins only): statuses with their mapped internal groups, groups and
//! their members, agents with their scopes and end users. Read only for now: changes go
//! through the API until the editors are built.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use ferrodesk_app::App;
use ferrodesk_core::Role;
use ferrodesk_store::directory::UserFilter;

use super::view::{Directory, Layout};
use super::{Session, UiError, html};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/statuses") }))
        .route("/admin/statuses", get(statuses))
        .route("/admin/groups", get(groups))
        .route("/admin/users", get(users))
}

fn admin_only(s: &Session) -> Result<(), UiError> {
    if s.is_admin() {
        Ok(())
    } else {
        Err(UiError::App(ferrodesk_app::AppError::forbidden(
            "admin_only",
            "Only admins may open the admin pages.",
        )))
    }
}

struct StatusRow {
    name: String,
    customer_label: String,
    category: String,
    built_in: bool,
    mapped: String,
}

#[derive(Template)]
#[template(path = "admin_statuses.html")]
struct StatusesPage {
    layout: Layout,
    tab: &'static str,
    rows: Vec<StatusRow>,
}

async fn statuses(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    let dir = Directory::load(&app, &s.p).await?;
    let rows = dir
        .statuses
        .iter()
        .map(|st| StatusRow {
            name: st.name.clone(),
            customer_label: st.customer_label.clone(),
            category: st.category.to_string(),
            built_in: st.built_in,
            mapped: if st.all_groups {
                "All groups (including groups created later)".into()
            } else if st.internal_group_ids.is_empty() {
                "—".into()
            } else {
                st.internal_group_ids
                    .iter()
                    .map(|g| dir.group_name(Some(*g)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
        .collect();
    Ok(html(&StatusesPage {
        layout: s.layout("Statuses", "admin"),
        tab: "statuses",
        rows,
    }))
}

struct GroupRow {
    name: String,
    members: String,
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage {
    layout: Layout,
    tab: &'static str,
    rows: Vec<GroupRow>,
}

async fn groups(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    let dir = Directory::load(&app, &s.p).await?;
    let rows = dir
        .groups
        .iter()
        .map(|g| GroupRow {
            name: g.name.clone(),
            members: if g.agent_ids.is_empty() {
                "no members".into()
            } else {
                g.agent_ids
                    .iter()
                    .map(|a| dir.staff_name(Some(*a)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
        .collect();
    Ok(html(&GroupsPage {
        layout: s.layout("Groups", "admin"),
        tab: "groups",
        rows,
    }))
}

struct UserRow {
    name: String,
    email: String,
    role: String,
    detail: String,
    suspended: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    tab: &'static str,
    agents: Vec<UserRow>,
    end_users: Vec<UserRow>,
}

async fn users(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    let dir = Directory::load(&app, &s.p).await?;
    let agents = dir
        .staff
        .iter()
        .map(|u| UserRow {
            name: u.name.clone(),
            email: u.email.clone().unwrap_or_default(),
            role: u.role.to_string(),
            detail: format!(
                "scope: {}; groups: {}",
                u.ticket_scope.map_or("global".into(), |t| t.to_string()),
                if u.group_ids.is_empty() {
                    "none".into()
                } else {
                    u.group_ids
                        .iter()
                        .map(|g| dir.group_name(Some(*g)))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            suspended: u.suspended,
        })
        .collect();
    let orgs: HashMap<i64, String> = app
        .list_organizations(&s.p, None, Some(100))
        .await?
        .items
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let end_users = app
        .list_users(
            &s.p,
            UserFilter {
                role: Some(Role::EndUser),
                ..Default::default()
            },
            None,
            Some(100),
        )
        .await?
        .items
        .into_iter()
        .map(|u| UserRow {
            detail: format!(
                "access: {}; organizations: {}",
                u.access.map_or("requested".into(), |a| a.to_string()),
                if u.organization_ids.is_empty() {
                    "none".into()
                } else {
                    u.organization_ids
                        .iter()
                        .map(|o| orgs.get(o).cloned().unwrap_or_else(|| format!("#{o}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            name: u.name,
            email: u.email.unwrap_or_default(),
            role: u.role.to_string(),
            suspended: u.suspended,
        })
        .collect();
    Ok(html(&UsersPage {
        layout: s.layout("Users", "admin"),
        tab: "users",
        agents,
        end_users,
    })
    .into_response())
}
