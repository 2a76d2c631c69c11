//! Users, organizations and their members, groups and their members, statuses.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrodesk_app::App;
use ferrodesk_app::dto::{
    GroupIn, GroupOut, MembershipIn, OrganizationIn, OrganizationOut, Page, StatusIn, StatusOut,
    UserIn, UserOut, UserPatch,
};
use ferrodesk_core::{GroupId, OrganizationId, Role, StatusId, UserId};
use ferrodesk_store::directory::UserFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Body, Params};

pub(super) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(unlock_user))
        .routes(routes!(revoke_user_tokens))
        .routes(routes!(reset_two_factor))
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(get_organization, update_organization))
        .routes(routes!(add_member, remove_member))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(add_group_member, remove_group_member))
        .routes(routes!(list_statuses, create_status))
        .routes(routes!(get_status, update_status, delete_status))
}

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageParams {
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// User list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UserParams {
    /// Only this role (`admin`, `agent`, `end_user`).
    #[param(value_type = Option<String>)]
    role: Option<Role>,
    /// Only members of this organization.
    organization_id: Option<i64>,
    /// Only members of this group.
    group_id: Option<i64>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists users (agents and admins).
#[utoipa::path(get, path = "/users", tag = "users", params(UserParams),
    responses((status = 200, body = Page<UserOut>), (status = 403, body = Problem)))]
async fn list_users(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<UserParams>,
) -> Result<Json<Page<UserOut>>, ApiError> {
    let filter = UserFilter {
        role: q.role,
        organization_id: q.organization_id.map(OrganizationId),
        group_id: q.group_id.map(GroupId),
        ..UserFilter::default()
    };
    Ok(Json(
        app.list_users(&p, filter, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// Creates a user (admins: any role; agents: end users).
#[utoipa::path(post, path = "/users", tag = "users", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 422, body = Problem)))]
async fn create_user(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<UserIn>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.create_user(&p, input).await?)))
}

/// Reads a user (end users: only themselves).
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = Problem)))]
async fn get_user(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>, ApiError> {
    Ok(Json(app.get_user(&p, UserId(id)).await?))
}

/// Changes a user; suspending one ends their sessions and tokens at once.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_user(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<UserPatch>,
) -> Result<Json<UserOut>, ApiError> {
    Ok(Json(app.update_user(&p, UserId(id), input).await?))
}

/// Lifts an account's sign-in lockout and clears its failed sign-ins (admins; audited).
#[utoipa::path(delete, path = "/users/{id}/lockout", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unlock_user(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.unlock_user(&p, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns a user's two-factor sign-in off (admins; audited): for a lost phone. The user signs
/// in with the password alone and may set it up again.
#[utoipa::path(delete, path = "/users/{id}/two-factor", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reset_two_factor(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.two_factor_disable(&p, UserId(id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every API token of a user (admins; audited).
#[utoipa::path(delete, path = "/users/{id}/tokens", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_user_tokens(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.revoke_tokens_of(&p, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an agent (admins): suspended, out of every group, off every ticket they owned
/// (each change audited with reason `agent_deleted`); their history stays.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn delete_user(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_agent(&p, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists organizations (end users: their own).
#[utoipa::path(get, path = "/organizations", tag = "organizations", params(PageParams),
    responses((status = 200, body = Page<OrganizationOut>)))]
async fn list_organizations(
    State(app): State<App>,
    Auth(p): Auth,
    Params(q): Params<PageParams>,
) -> Result<Json<Page<OrganizationOut>>, ApiError> {
    Ok(Json(
        app.list_organizations(&p, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// Creates an organization (admins). Sharing starts as `own_only`.
#[utoipa::path(post, path = "/organizations", tag = "organizations", request_body = OrganizationIn,
    responses((status = 201, body = OrganizationOut), (status = 422, body = Problem)))]
async fn create_organization(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<OrganizationIn>,
) -> Result<(StatusCode, Json<OrganizationOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_organization(&p, input).await?),
    ))
}

/// Reads an organization.
#[utoipa::path(get, path = "/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = OrganizationOut), (status = 404, body = Problem)))]
async fn get_organization(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<OrganizationOut>, ApiError> {
    Ok(Json(app.get_organization(&p, OrganizationId(id)).await?))
}

/// Changes an organization (admins; agents only `notes`). `sharing` is refused here:
/// it changes only through the sharing workflow.
#[utoipa::path(patch, path = "/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    request_body = OrganizationIn,
    responses((status = 200, body = OrganizationOut), (status = 422, body = Problem)))]
async fn update_organization(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<OrganizationIn>,
) -> Result<Json<OrganizationOut>, ApiError> {
    Ok(Json(
        app.update_organization(&p, OrganizationId(id), input)
            .await?,
    ))
}

/// Adds an end user to an organization (admins).
#[utoipa::path(put, path = "/organizations/{id}/members/{user_id}", tag = "organizations",
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = Option<MembershipIn>,
    responses((status = 200, body = UserOut), (status = 404, body = Problem)))]
async fn add_member(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, user_id)): Path<(i64, i64)>,
    body: axum::body::Bytes,
) -> Result<Json<UserOut>, ApiError> {
    let input = if body.is_empty() {
        MembershipIn::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError(ferrodesk_app::AppError::invalid(
                "default",
                "invalid_type",
                e.to_string(),
            ))
        })?
    };
    Ok(Json(
        app.add_member(&p, OrganizationId(id), UserId(user_id), input)
            .await?,
    ))
}

/// Removes an end user from an organization (admins); their open tickets in it leave it.
#[utoipa::path(delete, path = "/organizations/{id}/members/{user_id}", tag = "organizations",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_member(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    app.remove_member(&p, OrganizationId(id), UserId(user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists groups (agents and admins).
#[utoipa::path(get, path = "/groups", tag = "groups", responses((status = 200, body = Page<GroupOut>)))]
async fn list_groups(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Page<GroupOut>>, ApiError> {
    Ok(Json(app.list_groups(&p).await?))
}

/// Creates a group (admins).
#[utoipa::path(post, path = "/groups", tag = "groups", request_body = GroupIn,
    responses((status = 201, body = GroupOut), (status = 422, body = Problem)))]
async fn create_group(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<GroupIn>,
) -> Result<(StatusCode, Json<GroupOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_group(&p, input).await?),
    ))
}

/// Reads a group.
#[utoipa::path(get, path = "/groups/{id}", tag = "groups", params(("id" = i64, Path)),
    responses((status = 200, body = GroupOut), (status = 404, body = Problem)))]
async fn get_group(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<GroupOut>, ApiError> {
    Ok(Json(app.get_group(&p, GroupId(id)).await?))
}

/// Renames a group (admins).
#[utoipa::path(patch, path = "/groups/{id}", tag = "groups", params(("id" = i64, Path)), request_body = GroupIn,
    responses((status = 200, body = GroupOut), (status = 422, body = Problem)))]
async fn update_group(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<GroupIn>,
) -> Result<Json<GroupOut>, ApiError> {
    Ok(Json(app.update_group(&p, GroupId(id), input).await?))
}

/// Deletes a group (admins); its tickets lose it, each change audited.
#[utoipa::path(delete, path = "/groups/{id}", tag = "groups", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_group(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_group(&p, GroupId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an agent to a group (admins).
#[utoipa::path(put, path = "/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 200, body = GroupOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_group_member(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<Json<GroupOut>, ApiError> {
    Ok(Json(
        app.add_group_member(&p, GroupId(id), UserId(user_id))
            .await?,
    ))
}

/// Removes an agent from a group (admins).
#[utoipa::path(delete, path = "/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_group_member(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    app.remove_group_member(&p, GroupId(id), UserId(user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every status with its mapped internal groups (end users: customer labels only).
#[utoipa::path(get, path = "/statuses", tag = "statuses", responses((status = 200, body = Page<StatusOut>)))]
async fn list_statuses(
    State(app): State<App>,
    Auth(p): Auth,
) -> Result<Json<Page<StatusOut>>, ApiError> {
    Ok(Json(app.list_statuses(&p).await?))
}

/// Creates a custom status with its mapped internal groups (admins).
#[utoipa::path(post, path = "/statuses", tag = "statuses", request_body = StatusIn,
    responses((status = 201, body = StatusOut), (status = 422, body = Problem)))]
async fn create_status(
    State(app): State<App>,
    Auth(p): Auth,
    Body(input): Body<StatusIn>,
) -> Result<(StatusCode, Json<StatusOut>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_status(&p, input).await?),
    ))
}

/// Reads a status.
#[utoipa::path(get, path = "/statuses/{id}", tag = "statuses", params(("id" = i64, Path)),
    responses((status = 200, body = StatusOut), (status = 404, body = Problem)))]
async fn get_status(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<Json<StatusOut>, ApiError> {
    Ok(Json(app.get_status(&p, StatusId(id)).await?))
}

/// Changes a status: label, position, category, mapping (admins). Built-in statuses cannot be
/// renamed or mapped. Tickets whose internal group is unmapped lose their internal owner
/// (reason `group_unmapped`).
#[utoipa::path(patch, path = "/statuses/{id}", tag = "statuses", params(("id" = i64, Path)), request_body = StatusIn,
    responses((status = 200, body = StatusOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_status(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Body(input): Body<StatusIn>,
) -> Result<Json<StatusOut>, ApiError> {
    Ok(Json(app.update_status(&p, StatusId(id), input).await?))
}

/// Deletes a custom status (admins): its tickets move to Open and lose their internal owner
/// (reason `status_deleted`).
#[utoipa::path(delete, path = "/statuses/{id}", tag = "statuses", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn delete_status(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_status(&p, StatusId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
