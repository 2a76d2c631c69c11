//! Admin pages (admins only): statuses with their mapped internal groups (create, edit,
//! delete), groups and their members, agents with their scopes, end users and the
//! settings (time zone, public URL, the sharing confirmation template). The rules are in
//! `admin_rules.rs`.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{SettingsPatch, StatusIn};
use ferrodesk_app::{App, AppError};
use ferrodesk_core::{GroupId, Role, StatusCategory, StatusId, TicketScope, UserAccess, UserId};
use ferrodesk_store::directory::UserFilter;
use serde::Deserialize;

use crate::server::Limits;

use super::view::{Directory, Layout, Opt, Pager, access_label, role_label, scope_label};
use super::{Errors, PagePath, Post, Session, UiError, html, html_status, opt_id};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/statuses") }))
        .route("/admin/statuses", get(statuses).post(create_status))
        .route("/admin/statuses/{id}", get(edit_status).post(save_status))
        .route(
            "/admin/statuses/{id}/delete",
            get(confirm_delete_status).post(delete_status),
        )
        .route("/admin/settings", get(settings).post(save_settings))
        .route("/admin/groups", get(groups).post(create_group))
        .route("/admin/groups/{id}", get(edit_group).post(rename_group))
        .route("/admin/groups/{id}/members", post(add_group_member))
        .route(
            "/admin/groups/{id}/members/{user}/remove",
            post(remove_group_member),
        )
        .route(
            "/admin/groups/{id}/delete",
            get(confirm_delete_group).post(delete_group),
        )
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}", get(edit_user).post(save_user))
        .route(
            "/admin/users/{id}/delete",
            get(confirm_delete_agent).post(delete_agent),
        )
}

pub(super) fn admin_only(s: &Session) -> Result<(), UiError> {
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
    id: i64,
    name: String,
    customer_label: String,
    category: String,
    built_in: bool,
    mapped: String,
}

/// A status form as typed (kept when the form comes back with errors).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct StatusDraft {
    name: String,
    customer_label: String,
    category: String,
    position: String,
    all_groups: bool,
    groups: Vec<i64>,
}

impl StatusDraft {
    /// From the form's fields (`group_<id>` checkboxes, `all_groups`).
    fn from_form(f: &HashMap<String, String>) -> StatusDraft {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        let mut groups: Vec<i64> = f
            .keys()
            .filter_map(|k| k.strip_prefix("group_")?.parse().ok())
            .collect();
        groups.sort_unstable();
        StatusDraft {
            name: get("name"),
            customer_label: get("customer_label"),
            category: get("category"),
            position: get("position"),
            all_groups: f.contains_key("all_groups"),
            groups,
        }
    }

    fn input(&self, errors: &mut Errors, built_in: bool) -> StatusIn {
        let position = match self.position.trim() {
            "" => None,
            v => match v.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.insert("position".into(), "position is a whole number".into());
                    None
                }
            },
        };
        let category = match StatusCategory::parse(self.category.trim()) {
            Ok(c) => Some(c),
            Err(_) if built_in => None,
            Err(_) => {
                errors.insert("category".into(), "choose open, pending or resolved".into());
                None
            }
        };
        let label = self.customer_label.trim();
        let customer_label = (!label.is_empty() || built_in).then(|| label.to_owned());
        if built_in {
            return StatusIn {
                name: None,
                customer_label,
                category: None,
                position,
                internal_group_ids: None,
                all_groups: None,
            };
        }
        StatusIn {
            name: Some(self.name.trim().to_owned()),
            customer_label,
            category,
            position,
            internal_group_ids: Some(if self.all_groups {
                Vec::new()
            } else {
                self.groups.clone()
            }),
            all_groups: Some(self.all_groups),
        }
    }
}

/// The form to create or edit a status.
struct StatusForm {
    /// `None` when creating.
    id: Option<i64>,
    built_in: bool,
    draft: StatusDraft,
    categories: Vec<Opt>,
    groups: Vec<Check>,
    errors: Errors,
}

impl StatusForm {
    fn new(
        dir: &Directory,
        id: Option<i64>,
        built_in: bool,
        draft: StatusDraft,
        errors: Errors,
    ) -> Self {
        StatusForm {
            id,
            built_in,
            categories: ["open", "pending", "resolved"]
                .into_iter()
                .map(|c| Opt::new(c, c, draft.category == c))
                .collect(),
            groups: Check::list(
                dir.groups.iter().map(|g| (g.id, g.name.as_str())),
                &draft.groups,
            ),
            draft,
            errors,
        }
    }

    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/admin/statuses/{id}"),
            None => "/admin/statuses".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_statuses.html")]
struct StatusesPage {
    layout: Layout,
    tab: &'static str,
    rows: Vec<StatusRow>,
    form: StatusForm,
}

#[derive(Template)]
#[template(path = "admin_status.html")]
struct StatusPage {
    layout: Layout,
    tab: &'static str,
    form: StatusForm,
}

/// Field errors by field, with list indexes folded (`internal_group_ids[1]` → `internal_group_ids`).
pub(super) fn form_errors(e: AppError) -> Result<Errors, UiError> {
    match e {
        AppError::Invalid(list) => {
            let mut out = Errors::new();
            for fe in list {
                let field = fe.field.split('[').next().unwrap_or_default().to_owned();
                out.entry(field)
                    .and_modify(|m: &mut String| {
                        m.push_str("; ");
                        m.push_str(&fe.message);
                    })
                    .or_insert(fe.message);
            }
            Ok(out)
        }
        AppError::Conflict { message, .. } => Ok(Errors::from([("name".to_owned(), message)])),
        e => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    done: String,
}

fn done_text(done: &str) -> Option<String> {
    match done {
        "created" => Some("Status created.".into()),
        "saved" => Some("Status saved.".into()),
        "deleted" => Some("Status deleted; its tickets moved to Open.".into()),
        "settings" => Some("Settings saved.".into()),
        "group_created" => Some("Group created.".into()),
        "group_saved" => Some("Group renamed.".into()),
        "group_deleted" => Some("Group deleted.".into()),
        "member_added" => Some("Member added.".into()),
        "member_removed" => Some("Member removed.".into()),
        "user_created" => Some("User created.".into()),
        "user_saved" => Some("User saved.".into()),
        "user_deleted" => Some("Agent deleted.".into()),
        _ => None,
    }
}

async fn statuses_page(
    app: &App,
    s: &Session,
    form: Option<(StatusDraft, Errors)>,
    notice: Option<String>,
) -> Result<StatusesPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let rows = dir
        .statuses
        .iter()
        .map(|st| StatusRow {
            id: st.id,
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
    let (draft, errors) = form.unwrap_or_else(|| {
        (
            StatusDraft {
                category: "open".into(),
                ..Default::default()
            },
            Errors::new(),
        )
    });
    let mut layout = s.layout("Statuses", "admin");
    layout.notice = notice;
    Ok(StatusesPage {
        layout,
        tab: "statuses",
        rows,
        form: StatusForm::new(&dir, None, false, draft, errors),
    })
}

async fn statuses(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &statuses_page(&app, &s, None, done_text(&q.done)).await?,
    ))
}

async fn create_status(
    State(app): State<App>,
    Post { s, form }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let draft = StatusDraft::from_form(&form);
    let mut errors = Errors::new();
    let input = draft.input(&mut errors, false);
    if errors.is_empty() {
        match app.create_status(&s.p, input).await {
            Ok(_) => return Ok(Redirect::to("/admin/statuses?done=created").into_response()),
            Err(e) => errors = form_errors(e)?,
        }
    }
    let page = statuses_page(&app, &s, Some((draft, errors)), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn status_page(
    app: &App,
    s: &Session,
    id: i64,
    form: Option<(StatusDraft, Errors)>,
) -> Result<StatusPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let st = dir
        .statuses
        .iter()
        .find(|x| x.id == id)
        .ok_or(AppError::NotFound("status"))?;
    let (draft, errors) = form.unwrap_or_else(|| {
        (
            StatusDraft {
                name: st.name.clone(),
                customer_label: st.customer_label.clone(),
                category: st.category.to_string(),
                position: st.position.to_string(),
                all_groups: st.all_groups,
                groups: st.internal_group_ids.clone(),
            },
            Errors::new(),
        )
    });
    Ok(StatusPage {
        layout: s.layout(format!("Status {}", st.name), "admin"),
        tab: "statuses",
        form: StatusForm::new(&dir, Some(id), st.built_in, draft, errors),
    })
}

async fn edit_status(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(&status_page(&app, &s, id, None).await?))
}

async fn save_status(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let built_in = Directory::load(&app, &s.p)
        .await?
        .statuses
        .iter()
        .find(|x| x.id == id)
        .ok_or(AppError::NotFound("status"))?
        .built_in;
    let draft = StatusDraft::from_form(&form);
    let mut errors = Errors::new();
    let input = draft.input(&mut errors, built_in);
    if errors.is_empty() {
        match app.update_status(&s.p, StatusId(id), input).await {
            Ok(_) => return Ok(Redirect::to("/admin/statuses?done=saved").into_response()),
            Err(e) => errors = form_errors(e)?,
        }
    }
    let page = status_page(&app, &s, id, Some((draft, errors))).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn delete_status(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.delete_status(&s.p, StatusId(id)).await?;
    Ok(Redirect::to("/admin/statuses?done=deleted").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    time_zone: String,
    public_base_url: String,
    sharing_confirmation_template: String,
    /// The checkbox (`on` when ticked; absent from the form when not).
    #[serde(default)]
    require_two_factor_for_staff: String,
    /// `create` or `refuse`.
    #[serde(default)]
    mail_unknown_senders: String,
    /// `public` or `private`.
    #[serde(default)]
    mail_agent_replies: String,
    /// The checkbox.
    #[serde(default)]
    mail_copy_ccs: String,
    #[serde(default)]
    mail_sender_limit_per_minute: String,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    layout: Layout,
    tab: &'static str,
    form: SettingsForm,
    errors: Errors,
    /// How mail goes out and comes in, in words (set on the command line or environment).
    mail_server: Vec<String>,
    /// The public URL links cannot be right (see `org::public_url_warning`).
    url_warning: Option<String>,
    /// The rate limits and session lifetimes, in words (set on the command line or
    /// environment).
    limits: Vec<String>,
}

/// The mail server settings in words (never a password: the app holds none to show).
fn mail_server_lines(s: &ferrodesk_app::dto::SettingsOut) -> Vec<String> {
    vec![
        match &s.mail_smtp_server {
            Some(server) => format!("Outgoing mail goes through {server}, from {}.", s.mail_from),
            None => {
                "Outgoing mail waits in the outbox: no SMTP server is set (FERRODESK_SMTP_URL)."
                    .into()
            }
        },
        if s.mail_inbound_enabled {
            "Incoming mail is taken from the mail server (ferrodesk mail ingest).".into()
        } else {
            "Incoming mail is off: FERRODESK_MAIL_INBOUND_TOKEN is not set.".into()
        },
    ]
}

/// "1 minute", "8 hours", "14 days": a length of time in the largest whole unit.
fn duration_words(secs: i64) -> String {
    let (n, unit) = if secs % 86_400 == 0 {
        (secs / 86_400, "day")
    } else if secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The server's rate limits, connection limits and session lifetimes in words (read only:
/// set on the command line or environment). `server` is absent only when the router runs
/// outside `serve_with_limits`.
fn limit_lines(app: &App, server: Option<Limits>) -> Vec<String> {
    let config = app.config();
    let mut lines = Vec::new();
    match server {
        Some(l) => {
            let r = l.rates;
            let per_second = |n: u32, who: &str, var: &str| {
                if n == 0 {
                    format!("API requests {who}: no limit ({var}=0).")
                } else {
                    format!(
                        "API requests {who}: {n} a second, in bursts of up to {} ({var}).",
                        n.saturating_mul(2)
                    )
                }
            };
            lines.push(per_second(
                r.per_credential,
                "per API token or signed-in session",
                "FERRODESK_RATE_PER_CREDENTIAL",
            ));
            lines.push(per_second(
                r.per_address,
                "per client address",
                "FERRODESK_RATE_PER_ADDRESS",
            ));
            lines.push(if r.logins_per_address_minute == 0 {
                "Sign-in attempts per client address: no limit (FERRODESK_LOGIN_RATE_PER_ADDRESS=0)."
                    .into()
            } else {
                format!(
                    "Sign-in attempts per client address: {} a minute (FERRODESK_LOGIN_RATE_PER_ADDRESS).",
                    r.logins_per_address_minute
                )
            });
            lines.push(format!(
                "Open connections per client address: {} (FERRODESK_MAX_CONNECTIONS_PER_ADDRESS); \
                 a client has {} to send a request's headers and may pause {} while sending a body.",
                l.connections_per_address,
                duration_words(l.header_read.as_secs() as i64),
                duration_words(l.body_read.as_secs() as i64),
            ));
        }
        None => lines.push("The rate limits of this server are not known to this page.".into()),
    }
    lines.push(format!(
        "A browser session ends after {} without use (FERRODESK_SESSION_IDLE_MINUTES), and after {} in any case.",
        duration_words(config.session_idle_secs.max(60)),
        duration_words(config.session_ttl_secs),
    ));
    lines
}

async fn settings(
    State(app): State<App>,
    s: Session,
    headers: axum::http::HeaderMap,
    Query(q): Query<Done>,
    server: Option<Extension<Limits>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let cur = app.get_settings(&s.p).await?;
    let url_warning = super::org::public_url_warning(&cur.public_base_url, &headers);
    let mut layout = s.layout("Settings", "admin");
    layout.notice = done_text(&q.done);
    let mail_server = mail_server_lines(&cur);
    Ok(html(&SettingsPage {
        layout,
        tab: "settings",
        mail_server,
        url_warning,
        limits: limit_lines(&app, server.map(|Extension(l)| l)),
        form: SettingsForm {
            time_zone: cur.time_zone,
            public_base_url: cur.public_base_url,
            sharing_confirmation_template: cur.sharing_confirmation_template,
            require_two_factor_for_staff: if cur.require_two_factor_for_staff {
                "on".into()
            } else {
                String::new()
            },
            mail_unknown_senders: cur.mail_unknown_senders,
            mail_agent_replies: cur.mail_agent_replies,
            mail_copy_ccs: if cur.mail_copy_ccs {
                "on".into()
            } else {
                String::new()
            },
            mail_sender_limit_per_minute: cur.mail_sender_limit_per_minute.to_string(),
        },
        errors: Errors::new(),
    }))
}

/// A form field that was filled in.
fn given(v: &str) -> Option<&str> {
    Some(v.trim()).filter(|v| !v.is_empty())
}

async fn save_settings(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    server: Option<Extension<Limits>>,
    Post { s, form }: Post<SettingsForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let patch = SettingsPatch {
        time_zone: Some(form.time_zone.trim().to_owned()),
        public_base_url: Some(form.public_base_url.trim().to_owned()),
        sharing_confirmation_template: Some(form.sharing_confirmation_template.clone()),
        require_two_factor_for_staff: Some(form.require_two_factor_for_staff == "on"),
        // A form without the mail fields (an older page) leaves them as they are.
        mail_unknown_senders: given(&form.mail_unknown_senders).map(str::to_owned),
        mail_agent_replies: given(&form.mail_agent_replies).map(str::to_owned),
        mail_copy_ccs: given(&form.mail_unknown_senders).map(|_| form.mail_copy_ccs == "on"),
        // A number that does not parse is sent as 0, which the check refuses in words.
        mail_sender_limit_per_minute: given(&form.mail_sender_limit_per_minute)
            .map(|n| n.parse().unwrap_or(0)),
    };
    let errors = match app.update_settings(&s.p, patch).await {
        Ok(_) => return Ok(Redirect::to("/admin/settings?done=settings").into_response()),
        Err(e) => form_errors(e)?,
    };
    let cur = app.get_settings(&s.p).await?;
    Ok(html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SettingsPage {
            layout: s.layout("Settings", "admin"),
            tab: "settings",
            form,
            errors,
            mail_server: mail_server_lines(&cur),
            url_warning: super::org::public_url_warning(&cur.public_base_url, &headers),
            limits: limit_lines(&app, server.map(|Extension(l)| l)),
        },
    ))
}

struct GroupRow {
    id: i64,
    name: String,
    members: String,
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage {
    layout: Layout,
    tab: &'static str,
    /// The search as typed.
    q: String,
    rows: Vec<GroupRow>,
    pager: Pager,
    /// The new group's name as typed, and its errors.
    name: String,
    errors: Errors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NameForm {
    name: String,
}

/// The query of an admin list: a search, a role filter (users), the page and a notice.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct ListQuery {
    done: String,
    q: String,
    role: String,
    page: String,
}

impl ListQuery {
    /// The page number, from 1 (anything else is the first page).
    fn page(&self) -> i64 {
        self.page
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .unwrap_or(1)
    }

    fn offset(&self) -> i64 {
        (self.page() - 1) * LIST_PAGE
    }
}

/// Rows on a page of an admin list.
const LIST_PAGE: i64 = 100;

/// The pager of an admin list (uncounted: whether more follow is known, not how many).
fn list_pager(path: &str, keep: &[(&str, &str)], page: i64, shown: usize, more: bool) -> Pager {
    let first = (page - 1) * LIST_PAGE + 1;
    let last = first + shown as i64 - 1;
    Pager {
        summary: if (page > 1 || more) && shown > 0 {
            format!("Showing {first}–{last}")
        } else {
            String::new()
        },
        prev: (page > 1).then(|| Pager::href(path, keep, page - 1)),
        next: more.then(|| Pager::href(path, keep, page + 1)),
    }
}

async fn groups_page(
    app: &App,
    s: &Session,
    list: &ListQuery,
    name: String,
    errors: Errors,
    notice: Option<String>,
) -> Result<GroupsPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let (found, more) = app
        .search_groups(&s.p, &list.q, list.offset(), LIST_PAGE)
        .await?;
    let rows: Vec<GroupRow> = found
        .iter()
        .map(|g| GroupRow {
            id: g.id,
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
    let mut layout = s.layout("Groups", "admin");
    layout.notice = notice;
    Ok(GroupsPage {
        layout,
        tab: "groups",
        pager: list_pager(
            "/admin/groups",
            &[("q", &list.q)],
            list.page(),
            rows.len(),
            more,
        ),
        q: list.q.trim().to_owned(),
        rows,
        name,
        errors,
    })
}

async fn groups(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &groups_page(
            &app,
            &s,
            &q,
            String::new(),
            Errors::new(),
            done_text(&q.done),
        )
        .await?,
    ))
}

async fn create_group(
    State(app): State<App>,
    Post { s, form }: Post<NameForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let input = ferrodesk_app::dto::GroupIn {
        name: Some(form.name.trim().to_owned()),
        agent_ids: Vec::new(),
    };
    let errors = match app.create_group(&s.p, input).await {
        Ok(g) => {
            return Ok(
                Redirect::to(&format!("/admin/groups/{}?done=group_created", g.id)).into_response(),
            );
        }
        Err(e) => form_errors(e)?,
    };
    let page = groups_page(&app, &s, &ListQuery::default(), form.name, errors, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

struct Member {
    id: i64,
    name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "admin_group.html")]
struct GroupPage {
    layout: Layout,
    tab: &'static str,
    id: i64,
    /// The group's name as stored.
    current: String,
    /// The name field as typed.
    name: String,
    members: Vec<Member>,
    /// Staff who are not members yet.
    candidates: Vec<Opt>,
    errors: Errors,
}

async fn group_page(
    app: &App,
    s: &Session,
    id: i64,
    name: Option<String>,
    errors: Errors,
    notice: Option<String>,
) -> Result<GroupPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let g = dir
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or(AppError::NotFound("group"))?;
    let members = dir
        .staff
        .iter()
        .filter(|u| g.agent_ids.contains(&u.id))
        .map(|u| Member {
            id: u.id,
            name: u.name.clone(),
            email: u.email.clone().unwrap_or_default(),
        })
        .collect();
    let candidates = dir
        .staff
        .iter()
        .filter(|u| !g.agent_ids.contains(&u.id) && !u.suspended)
        .map(|u| Opt::new(u.id, u.name.clone(), false))
        .collect();
    let mut layout = s.layout(format!("Group {}", g.name), "admin");
    layout.notice = notice;
    Ok(GroupPage {
        layout,
        tab: "groups",
        id,
        current: g.name.clone(),
        name: name.unwrap_or_else(|| g.name.clone()),
        members,
        candidates,
        errors,
    })
}

async fn edit_group(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &group_page(&app, &s, id, None, Errors::new(), done_text(&q.done)).await?,
    ))
}

async fn rename_group(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<NameForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let input = ferrodesk_app::dto::GroupIn {
        name: Some(form.name.trim().to_owned()),
        agent_ids: Vec::new(),
    };
    let errors = match app.update_group(&s.p, GroupId(id), input).await {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/admin/groups/{id}?done=group_saved")).into_response(),
            );
        }
        Err(e) => form_errors(e)?,
    };
    let page = group_page(&app, &s, id, Some(form.name), errors, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MemberForm {
    user_id: String,
}

async fn add_group_member(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<MemberForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let mut errors = Errors::new();
    match opt_id(&mut errors, "user_id", &form.user_id) {
        None if errors.is_empty() => {
            errors.insert("user_id".into(), "choose an agent".into());
        }
        None => {}
        Some(user) => match app.add_group_member(&s.p, GroupId(id), UserId(user)).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/admin/groups/{id}?done=member_added")).into_response(),
                );
            }
            Err(e) => {
                errors = form_errors(e)?;
                // The use case names the user as `user_id` or `user`; show it by the picker.
                let all: Vec<String> = errors.drain().map(|(_, m)| m).collect();
                errors.insert("user_id".into(), all.join("; "));
            }
        },
    }
    let page = group_page(&app, &s, id, None, errors, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn remove_group_member(
    State(app): State<App>,
    PagePath((id, user)): PagePath<(i64, i64)>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.remove_group_member(&s.p, GroupId(id), UserId(user))
        .await?;
    Ok(Redirect::to(&format!("/admin/groups/{id}?done=member_removed")).into_response())
}

async fn delete_group(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.delete_group(&s.p, GroupId(id)).await?;
    Ok(Redirect::to("/admin/groups?done=group_deleted").into_response())
}

struct UserRow {
    id: i64,
    name: String,
    email: String,
    role: String,
    detail: String,
    suspended: bool,
}

/// A checkbox in a list (organizations, groups).
struct Check {
    id: i64,
    name: String,
    checked: bool,
}

impl Check {
    /// One checkbox per `(id, name)`, checked when its id is in `chosen`.
    fn list<'a>(items: impl IntoIterator<Item = (i64, &'a str)>, chosen: &[i64]) -> Vec<Check> {
        items
            .into_iter()
            .map(|(id, name)| Check {
                id,
                name: name.to_owned(),
                checked: chosen.contains(&id),
            })
            .collect()
    }
}

/// A user form as typed (kept when it comes back with errors).
#[derive(Debug, Default, Clone)]
struct UserDraft {
    name: String,
    email: String,
    role: String,
    ticket_scope: String,
    access: String,
    password: String,
    suspended: bool,
    /// Agents: may manage organization memberships and access.
    manages_memberships: bool,
    organizations: Vec<i64>,
    groups: Vec<i64>,
}

/// The fields the user forms show errors next to; others are listed above the form.
const USER_FIELDS: &[&str] = &[
    "name",
    "email",
    "role",
    "ticket_scope",
    "access",
    "password",
    "organization_ids",
    "group_ids",
    "suspended",
    "manages_memberships",
];

impl UserDraft {
    /// From the form's fields (`org_<id>` and `group_<id>` checkboxes, `suspended`).
    fn from_form(f: &HashMap<String, String>) -> UserDraft {
        let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let ids = |prefix: &str| {
            let mut v: Vec<i64> = f
                .keys()
                .filter_map(|k| k.strip_prefix(prefix)?.parse().ok())
                .collect();
            v.sort_unstable();
            v
        };
        UserDraft {
            name: get("name"),
            email: get("email"),
            role: get("role"),
            ticket_scope: get("ticket_scope"),
            access: get("access"),
            password: f.get("password").cloned().unwrap_or_default(),
            suspended: f.contains_key("suspended"),
            manages_memberships: f.contains_key("manages_memberships"),
            organizations: ids("org_"),
            groups: ids("group_"),
        }
    }

    fn from_user(u: &ferrodesk_app::dto::UserOut) -> UserDraft {
        UserDraft {
            name: u.name.clone(),
            email: u.email.clone().unwrap_or_default(),
            role: u.role.to_string(),
            ticket_scope: u.ticket_scope.map(|t| t.to_string()).unwrap_or_default(),
            access: u.access.map(|a| a.to_string()).unwrap_or_default(),
            password: String::new(),
            suspended: u.suspended,
            manages_memberships: u.manages_memberships.unwrap_or(false),
            organizations: u.organization_ids.clone(),
            groups: u.group_ids.clone(),
        }
    }

    fn role(&self, errors: &mut Errors) -> Role {
        Role::parse(&self.role).unwrap_or_else(|e| {
            errors.insert("role".into(), format!("choose one of: {}", e.allowed));
            Role::EndUser
        })
    }

    /// Empty: left to the use case (global for new agents, unchanged on edit).
    fn scope(&self, errors: &mut Errors) -> Option<TicketScope> {
        if self.ticket_scope.is_empty() {
            return None;
        }
        TicketScope::parse(&self.ticket_scope)
            .map_err(|e| {
                errors.insert(
                    "ticket_scope".into(),
                    format!("choose one of: {}", e.allowed),
                )
            })
            .ok()
    }

    /// Empty: left to the use case (requested for new end users, unchanged on edit).
    fn access(&self, errors: &mut Errors) -> Option<UserAccess> {
        if self.access.is_empty() {
            return None;
        }
        UserAccess::parse(&self.access)
            .map_err(|e| errors.insert("access".into(), format!("choose one of: {}", e.allowed)))
            .ok()
    }

    /// The input to create the user; problems of the form's own fields go to `errors`.
    fn input(&self, errors: &mut Errors) -> ferrodesk_app::dto::UserIn {
        let role = self.role(errors);
        let staff = role != Role::EndUser;
        ferrodesk_app::dto::UserIn {
            name: self.name.clone(),
            email: self.email.clone(),
            role: Some(role),
            ticket_scope: if staff { self.scope(errors) } else { None },
            access: if staff { None } else { self.access(errors) },
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            organization_ids: if staff {
                Vec::new()
            } else {
                self.organizations.clone()
            },
            default_organization_id: None,
            group_ids: if staff {
                self.groups.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// The changes to an existing user of role `role`.
    fn patch(&self, role: Role, errors: &mut Errors) -> ferrodesk_app::dto::UserPatch {
        let staff = role != Role::EndUser;
        ferrodesk_app::dto::UserPatch {
            name: Some(self.name.clone()),
            email: Some(self.email.clone()),
            ticket_scope: if staff { self.scope(errors) } else { None },
            access: if staff { None } else { self.access(errors) },
            suspended: Some(self.suspended),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            manages_memberships: (role == Role::Agent).then_some(self.manages_memberships),
            ..Default::default()
        }
    }
}

/// A user form (create or edit) with its choices and errors.
struct UserForm {
    /// `None` when creating.
    id: Option<i64>,
    /// Editing an agent or admin (creating: always false; both sets of fields show).
    staff: bool,
    draft: UserDraft,
    roles: Vec<Opt>,
    scopes: Vec<Opt>,
    accesses: Vec<Opt>,
    organizations: Vec<Check>,
    groups: Vec<Check>,
    errors: Errors,
    /// Errors of fields the form does not show.
    others: Vec<String>,
}

impl UserForm {
    fn new(
        id: Option<i64>,
        staff: bool,
        draft: UserDraft,
        orgs: &[(i64, String)],
        dir: &Directory,
        errors: Errors,
    ) -> UserForm {
        let others = errors
            .iter()
            .filter(|(k, _)| !USER_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        UserForm {
            id,
            staff,
            roles: [Role::EndUser, Role::Agent, Role::Admin]
                .into_iter()
                .map(|r| Opt::new(r, role_label(r), draft.role == r.as_str()))
                .collect(),
            scopes: TicketScope::ALL
                .iter()
                .map(|t| Opt::new(t, scope_label(*t), draft.ticket_scope == t.as_str()))
                .collect(),
            accesses: UserAccess::ALL
                .iter()
                .map(|a| Opt::new(a, access_label(*a), draft.access == a.as_str()))
                .collect(),
            organizations: Check::list(
                orgs.iter().map(|(id, name)| (*id, name.as_str())),
                &draft.organizations,
            ),
            groups: Check::list(
                dir.groups.iter().map(|g| (g.id, g.name.as_str())),
                &draft.groups,
            ),
            draft,
            errors,
            others,
        }
    }

    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/admin/users/{id}"),
            None => "/admin/users".into(),
        }
    }
}

/// Errors of a user save: a duplicate email goes next to the email field.
fn user_errors(e: AppError) -> Result<Errors, UiError> {
    match e {
        AppError::Conflict { message, .. } => Ok(Errors::from([("email".to_owned(), message)])),
        e => form_errors(e),
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    tab: &'static str,
    /// The search as typed.
    q: String,
    /// Who is listed: everyone, agents and admins, or end users.
    roles: Vec<Opt>,
    rows: Vec<UserRow>,
    pager: Pager,
    form: UserForm,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    layout: Layout,
    tab: &'static str,
    /// The user's name as stored.
    current: String,
    role: String,
    /// Agents and admins other than oneself can be deleted.
    deletable: bool,
    form: UserForm,
}

/// Organizations by id and name (the first 100, as the organization list shows).
async fn org_names(app: &App, s: &Session) -> Result<Vec<(i64, String)>, UiError> {
    Ok(app
        .list_organizations(&s.p, None, Some(100))
        .await?
        .items
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

async fn users_page(
    app: &App,
    s: &Session,
    list: &ListQuery,
    form: Option<(UserDraft, Errors)>,
    notice: Option<String>,
) -> Result<UsersPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let org_list = org_names(app, s).await?;
    let role = match list.role.as_str() {
        "staff" | "end_user" => list.role.as_str(),
        _ => "",
    };
    let found = app
        .list_users(
            &s.p,
            UserFilter {
                role: (role == "end_user").then_some(Role::EndUser),
                staff: role == "staff",
                q: Some(list.q.trim().to_owned()).filter(|q| !q.is_empty()),
                offset: list.offset(),
                ..Default::default()
            },
            None,
            Some(LIST_PAGE),
        )
        .await?;
    let more = found.next_cursor.is_some();
    // The names of every organization the listed people are in (not only the first 100).
    let org_ids: Vec<i64> = found
        .items
        .iter()
        .flat_map(|u| u.organization_ids.iter().copied())
        .collect();
    let orgs = app.organization_names(&s.p, &org_ids).await?;
    let rows: Vec<UserRow> = found
        .items
        .into_iter()
        .map(|u| {
            let detail = if u.role == Role::EndUser {
                format!(
                    "sees: {}; organizations: {}",
                    access_label(u.access.unwrap_or(UserAccess::Requested)),
                    if u.organization_ids.is_empty() {
                        "none".into()
                    } else {
                        u.organization_ids
                            .iter()
                            .filter_map(|o| orgs.get(o).cloned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )
            } else {
                format!(
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
                )
            };
            UserRow {
                id: u.id,
                detail,
                name: u.name,
                email: u.email.unwrap_or_default(),
                role: role_label(u.role).to_owned(),
                suspended: u.suspended,
            }
        })
        .collect();
    let (draft, errors) = form.unwrap_or_else(|| {
        (
            UserDraft {
                role: "end_user".into(),
                ticket_scope: "global".into(),
                access: "requested".into(),
                ..Default::default()
            },
            Errors::new(),
        )
    });
    let mut layout = s.layout("Users", "admin");
    layout.notice = notice;
    Ok(UsersPage {
        layout,
        tab: "users",
        pager: list_pager(
            "/admin/users",
            &[("q", &list.q), ("role", role)],
            list.page(),
            rows.len(),
            more,
        ),
        q: list.q.trim().to_owned(),
        roles: [
            ("", "Everyone"),
            ("staff", "Agents and admins"),
            ("end_user", "End users"),
        ]
        .into_iter()
        .map(|(v, l)| Opt::new(v, l, v == role))
        .collect(),
        rows,
        form: UserForm::new(None, false, draft, &org_list, &dir, errors),
    })
}

async fn users(
    State(app): State<App>,
    s: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &users_page(&app, &s, &q, None, done_text(&q.done)).await?,
    ))
}

async fn create_user(
    State(app): State<App>,
    Post { s, form }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let draft = UserDraft::from_form(&form);
    let mut errors = Errors::new();
    let input = draft.input(&mut errors);
    if errors.is_empty() {
        match app.create_user(&s.p, input).await {
            Ok(u) => {
                return Ok(
                    Redirect::to(&format!("/admin/users/{}?done=user_created", u.id))
                        .into_response(),
                );
            }
            Err(e) => errors = user_errors(e)?,
        }
    }
    let page = users_page(&app, &s, &ListQuery::default(), Some((draft, errors)), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn user_page(
    app: &App,
    s: &Session,
    id: i64,
    form: Option<(UserDraft, Errors)>,
    notice: Option<String>,
) -> Result<UserPage, UiError> {
    let u = app.get_user(&s.p, UserId(id)).await?;
    let dir = Directory::load(app, &s.p).await?;
    let orgs = org_names(app, s).await?;
    let staff = u.role != Role::EndUser;
    let (draft, errors) = form.unwrap_or_else(|| (UserDraft::from_user(&u), Errors::new()));
    let mut layout = s.layout(format!("User {}", u.name), "admin");
    layout.notice = notice;
    Ok(UserPage {
        layout,
        tab: "users",
        current: u.name.clone(),
        role: role_label(u.role).to_owned(),
        deletable: staff && u.id != s.p.user.id.0,
        form: UserForm::new(Some(id), staff, draft, &orgs, &dir, errors),
    })
}

async fn edit_user(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(
        &user_page(&app, &s, id, None, done_text(&q.done)).await?,
    ))
}

async fn save_user(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let role = app.get_user(&s.p, UserId(id)).await?.role;
    let mut draft = UserDraft::from_form(&form);
    // The edit form shows no role field: the user's role decides which fields it has.
    draft.role = role.to_string();
    let mut errors = Errors::new();
    let patch = draft.patch(role, &mut errors);
    if errors.is_empty() {
        match app.update_user(&s.p, UserId(id), patch).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/admin/users/{id}?done=user_saved")).into_response()
                );
            }
            Err(e) => errors = user_errors(e)?,
        }
    }
    let page = user_page(&app, &s, id, Some((draft, errors)), None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn delete_agent(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    app.delete_agent(&s.p, UserId(id)).await?;
    Ok(Redirect::to("/admin/users?done=user_deleted").into_response())
}

// ------------------------------------------------------------ delete confirmations

/// The page before a deletion: what it will do, in words and counts, with Cancel and the
/// button that posts the deletion (`POST …/delete` is the confirmation itself).
#[derive(Template)]
#[template(path = "admin_confirm_delete.html")]
struct ConfirmDeletePage {
    layout: Layout,
    tab: &'static str,
    /// The list the thing is in, for the breadcrumbs.
    list_href: &'static str,
    list_label: &'static str,
    name: String,
    heading: String,
    /// What will happen, one sentence each.
    lines: Vec<String>,
    /// Where the confirmation posts; `None` when it cannot be deleted.
    action: Option<String>,
    button: String,
    /// Back to the thing's page, changing nothing.
    cancel: String,
}

/// "1 ticket", "12 tickets".
fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "loses"/"lose" and the like, after a count.
fn verb<'a>(n: i64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

async fn confirm_delete_group(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let i = app.group_delete_impact(&s.p, GroupId(id)).await?;
    let c = i.counts;
    let name = &i.name;
    let mut lines = Vec::new();
    if c.internal_tickets > 0 {
        lines.push(format!(
            "{} {} their internal owner ({name}): the internal group and internal agent are \
             taken off, recorded on each ticket's timeline.",
            count(c.internal_tickets, "ticket", "tickets"),
            verb(c.internal_tickets, "loses", "lose"),
        ));
    }
    if c.tickets > 0 {
        lines.push(format!(
            "{} {} {name} as {} group; assignees stay.",
            count(c.tickets, "ticket", "tickets"),
            verb(c.tickets, "loses", "lose"),
            verb(c.tickets, "its", "their"),
        ));
    }
    if c.internal_tickets == 0 && c.tickets == 0 {
        lines.push(format!(
            "No ticket has {name} as its group or internal group."
        ));
    }
    if c.members > 0 {
        lines.push(format!(
            "{} the group; {}.",
            count(c.members, "member leaves", "members leave"),
            verb(c.members, "their account stays", "their accounts stay"),
        ));
    }
    if c.statuses > 0 {
        lines.push(format!(
            "{} no longer {} {name} for internal ownership.",
            count(c.statuses, "status", "statuses"),
            verb(c.statuses, "maps", "map"),
        ));
    }
    lines.push("This cannot be undone.".into());
    Ok(html(&ConfirmDeletePage {
        layout: s.layout(format!("Delete group {name}?"), "admin"),
        tab: "groups",
        list_href: "/admin/groups",
        list_label: "Groups",
        heading: format!("Delete group {name}?"),
        lines,
        action: Some(format!("/admin/groups/{id}/delete")),
        button: format!("Delete group {name}"),
        cancel: format!("/admin/groups/{id}"),
        name: i.name,
    }))
}

async fn confirm_delete_status(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let i = app.status_delete_impact(&s.p, StatusId(id)).await?;
    let (name, to) = (&i.name, &i.moves_to);
    let mut lines = Vec::new();
    if i.built_in {
        lines.push(format!("{name} is built in: it cannot be deleted."));
    } else if i.tickets == 0 {
        lines.push(format!("No ticket is in {name}."));
    } else {
        lines.push(format!(
            "{} in {name} {} to {to}, recorded on each ticket's timeline.",
            count(i.tickets, "ticket", "tickets"),
            verb(i.tickets, "moves", "move"),
        ));
        lines.push(if i.lose_internal_owner == 0 {
            "Their internal owners stay.".to_owned()
        } else {
            format!(
                "{} {} {} internal owner: {to} does not map {} internal group.",
                count(i.lose_internal_owner, "of them", "of them"),
                verb(i.lose_internal_owner, "loses", "lose"),
                verb(i.lose_internal_owner, "its", "their"),
                verb(i.lose_internal_owner, "its", "their"),
            )
        });
    }
    if !i.built_in {
        lines.push("This cannot be undone.".into());
    }
    Ok(html(&ConfirmDeletePage {
        layout: s.layout(format!("Delete status {name}?"), "admin"),
        tab: "statuses",
        list_href: "/admin/statuses",
        list_label: "Statuses",
        heading: format!("Delete status {name}?"),
        lines,
        action: (!i.built_in).then(|| format!("/admin/statuses/{id}/delete")),
        button: format!("Delete status {name}"),
        cancel: format!("/admin/statuses/{id}"),
        name: i.name,
    }))
}

async fn confirm_delete_agent(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let i = app.agent_delete_impact(&s.p, UserId(id)).await?;
    let c = &i.counts;
    let name = &i.name;
    let mut lines = vec![format!(
        "{name} loses access: the account is suspended and cannot sign in{}.",
        if c.tokens > 0 {
            format!(
                ", and {} deleted",
                count(c.tokens, "API token is", "API tokens are")
            )
        } else {
            String::new()
        }
    )];
    if !c.groups.is_empty() {
        lines.push(format!("{name} leaves {}.", c.groups.join(", ")));
    }
    if c.tickets == 0 {
        lines.push(format!("{name} owns no tickets."));
    } else {
        let mut roles = Vec::new();
        if c.assigned > 0 {
            roles.push(format!(
                "assignee of {}",
                count(c.assigned, "ticket", "tickets")
            ));
        }
        if c.internal > 0 {
            roles.push(format!(
                "internal agent of {}",
                count(c.internal, "ticket", "tickets")
            ));
        }
        lines.push(format!(
            "{name}'s {} {} and {} unassigned from {name} ({}), recorded on each timeline.",
            count(c.tickets, "ticket", "tickets"),
            verb(c.tickets, "stays", "stay"),
            verb(c.tickets, "is", "are"),
            roles.join("; "),
        ));
    }
    lines.push(format!(
        "{name}'s comments and history stay under their name."
    ));
    Ok(html(&ConfirmDeletePage {
        layout: s.layout(format!("Delete {name}?"), "admin"),
        tab: "users",
        list_href: "/admin/users",
        list_label: "Agents and end users",
        heading: format!("Delete {name}?"),
        lines,
        action: Some(format!("/admin/users/{id}/delete")),
        button: format!("Delete {name}"),
        cancel: format!("/admin/users/{id}"),
        name: i.name,
    }))
}
