//! Macros (canned responses): the list with the new-macro form, the edit page, and what the
//! ticket page needs to apply one (its choices and the changes it fills in for review).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::dto::{MacroIn, MacroOut};
use ferrodesk_app::{App, AppError};
use serde::Deserialize;

use super::agent::staff_only;
use super::agent_ticket::priority_options;
use super::view::{Directory, Layout, Opt};
use super::{Errors, PagePath, Post, Session, UiError, field_errors, html, html_status, opt_id};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/agent/macros", get(list).post(create))
        .route("/agent/macros/{id}", get(edit).post(save))
        .route("/agent/macros/{id}/delete", post(delete))
}

/// The macro form as typed (or as stored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct MacroForm {
    name: String,
    visibility: String,
    group_id: String,
    public: String,
    body: String,
    set_status_id: String,
    set_priority: String,
    set_group_id: String,
    set_internal_group_id: String,
    add_tags: String,
}

impl MacroForm {
    fn of(m: &MacroOut) -> MacroForm {
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        MacroForm {
            name: m.name.clone(),
            visibility: m.visibility.clone(),
            group_id: id(m.group_id),
            public: if m.public { "true" } else { "false" }.into(),
            body: m.body.clone(),
            set_status_id: id(m.set_status_id),
            set_priority: m.set_priority.clone().unwrap_or_default(),
            set_group_id: id(m.set_group_id),
            set_internal_group_id: id(m.set_internal_group_id),
            add_tags: m.add_tags.join(" "),
        }
    }

    fn input(&self, errors: &mut Errors) -> MacroIn {
        let priority = self.set_priority.trim();
        MacroIn {
            name: Some(self.name.clone()),
            visibility: Some(self.visibility.trim().to_owned()).filter(|v| !v.is_empty()),
            group_id: opt_id(errors, "group_id", &self.group_id),
            body: Some(self.body.clone()),
            public: Some(self.public != "false"),
            set_status_id: Some(opt_id(errors, "set_status_id", &self.set_status_id)),
            set_priority: Some((!priority.is_empty()).then(|| priority.to_owned())),
            set_group_id: Some(opt_id(errors, "set_group_id", &self.set_group_id)),
            set_internal_group_id: Some(opt_id(
                errors,
                "set_internal_group_id",
                &self.set_internal_group_id,
            )),
            add_tags: Some(
                self.add_tags
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }
}

/// The form with its choices and errors (`templates/agent_macro_form.html`).
pub(super) struct FormView {
    id: Option<i64>,
    draft: MacroForm,
    visibilities: Vec<Opt>,
    share_groups: Vec<Opt>,
    statuses: Vec<Opt>,
    priorities: Vec<Opt>,
    groups: Vec<Opt>,
    internal_groups: Vec<Opt>,
    errors: Errors,
}

impl FormView {
    fn new(
        s: &Session,
        dir: &Directory,
        id: Option<i64>,
        draft: MacroForm,
        errors: Errors,
    ) -> Self {
        let chosen = |v: &str| v.trim().parse::<i64>().ok();
        let mut visibilities = vec![
            Opt::new("personal", "Only me", draft.visibility == "personal"),
            Opt::new(
                "group",
                "A group (choose it below)",
                draft.visibility == "group",
            ),
        ];
        if s.is_admin() || draft.visibility == "everyone" {
            visibilities.push(Opt::new(
                "everyone",
                "Every agent",
                draft.visibility == "everyone",
            ));
        }
        let share = chosen(&draft.group_id);
        let mut share_groups = vec![Opt::none("— choose a group —", share.is_none())];
        share_groups.extend(
            dir.groups
                .iter()
                .filter(|g| s.is_admin() || s.p.user.group_ids.iter().any(|x| x.0 == g.id))
                .map(|g| Opt::new(g.id, g.name.clone(), Some(g.id) == share)),
        );
        let status = chosen(&draft.set_status_id);
        let mut statuses = vec![Opt::none("— leave as it is —", status.is_none())];
        statuses.extend(dir.status_options(status));
        let mut priorities = vec![Opt::none(
            "— leave as it is —",
            draft.set_priority.is_empty(),
        )];
        priorities.extend(priority_options(&draft.set_priority));
        FormView {
            id,
            visibilities,
            share_groups,
            statuses,
            priorities,
            groups: dir.group_options("— leave as it is —", chosen(&draft.set_group_id)),
            internal_groups: dir
                .group_options("— leave as it is —", chosen(&draft.set_internal_group_id)),
            draft,
            errors,
        }
    }

    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/agent/macros/{id}"),
            None => "/agent/macros".into(),
        }
    }

    fn is_note(&self) -> bool {
        self.draft.public == "false"
    }
}

/// One macro in the list.
struct Row {
    id: i64,
    name: String,
    kind: &'static str,
    shared: String,
    sets: String,
    editable: bool,
}

/// What a macro sets, in words ("Status Pending, Priority High, …").
fn sets_words(dir: &Directory, m: &MacroOut) -> String {
    let mut out = Vec::new();
    if let Some(st) = m.set_status_id {
        out.push(format!("Status {}", dir.status_name(st)));
    }
    if let Some(p) = &m.set_priority {
        out.push(format!("Priority {}", capitalized(p)));
    }
    if m.set_group_id.is_some() {
        out.push(format!("Group {}", dir.group_name(m.set_group_id)));
    }
    if m.set_internal_group_id.is_some() {
        out.push(format!(
            "Internal group {}",
            dir.group_name(m.set_internal_group_id)
        ));
    }
    if !m.add_tags.is_empty() {
        out.push(format!("Tags + {}", m.add_tags.join(", ")));
    }
    if out.is_empty() {
        "—".into()
    } else {
        out.join(", ")
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn shared_words(s: &Session, dir: &Directory, m: &MacroOut) -> String {
    match m.visibility.as_str() {
        "everyone" => "Every agent".into(),
        "group" => format!("Group {}", dir.group_name(m.group_id)),
        _ if m.owner_id == Some(s.p.user.id.0) => "Only me".into(),
        _ => "Personal".into(),
    }
}

#[derive(Template)]
#[template(path = "agent_macros.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    form: FormView,
}

#[derive(Template)]
#[template(path = "agent_macro_edit.html")]
struct EditPage {
    layout: Layout,
    form: FormView,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    done: String,
}

async fn list_page(
    app: &App,
    s: &Session,
    draft: MacroForm,
    errors: Errors,
    notice: Option<String>,
) -> Result<ListPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    let rows = app
        .list_macros(&s.p)
        .await?
        .into_iter()
        .map(|m| Row {
            id: m.id,
            kind: if m.public {
                "Public reply"
            } else {
                "Private note"
            },
            shared: shared_words(s, &dir, &m),
            sets: sets_words(&dir, &m),
            editable: m.editable,
            name: m.name,
        })
        .collect();
    let mut layout = s.layout("Macros", "macros");
    layout.notice = notice;
    Ok(ListPage {
        layout,
        rows,
        form: FormView::new(s, &dir, None, draft, errors),
    })
}

fn new_draft() -> MacroForm {
    MacroForm {
        visibility: "personal".into(),
        public: "true".into(),
        ..Default::default()
    }
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let notice = match q.done.as_str() {
        "created" => Some("Macro created.".to_owned()),
        "saved" => Some("Macro saved.".to_owned()),
        "deleted" => Some("Macro deleted.".to_owned()),
        _ => None,
    };
    let page = list_page(&app, &s, new_draft(), Errors::new(), notice).await?;
    Ok(html(&page))
}

/// Field errors of the app under the form's own fields (`add_tags[2]` → `add_tags`).
fn form_errors(e: AppError) -> Result<Errors, UiError> {
    let mut out = Errors::new();
    for (k, v) in field_errors(e)? {
        let key = k.split('[').next().unwrap_or_default().to_owned();
        out.entry(key)
            .and_modify(|m: &mut String| {
                m.push_str("; ");
                m.push_str(&v);
            })
            .or_insert(v);
    }
    Ok(out)
}

async fn create(
    State(app): State<App>,
    Post { s, form }: Post<MacroForm>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let mut errors = Errors::new();
    let input = form.input(&mut errors);
    if errors.is_empty() {
        match app.save_macro(&s.p, None, input).await {
            Ok(_) => return Ok(Redirect::to("/agent/macros?done=created").into_response()),
            Err(e) => errors = form_errors(e)?,
        }
    }
    let page = list_page(&app, &s, form, errors, None).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The macro, if the caller may change it; one they may only use answers "Not allowed".
async fn editable(app: &App, s: &Session, id: i64) -> Result<MacroOut, UiError> {
    let m = app.get_macro(&s.p, id).await?;
    if !m.editable {
        return Err(UiError::App(AppError::forbidden(
            "macro_not_editable",
            "Only the owner, the group or an admin may change this macro.",
        )));
    }
    Ok(m)
}

async fn edit_page(
    app: &App,
    s: &Session,
    id: i64,
    draft: MacroForm,
    errors: Errors,
) -> Result<EditPage, UiError> {
    let dir = Directory::load(app, &s.p).await?;
    Ok(EditPage {
        layout: s.layout(format!("Macro {}", draft.name), "macros"),
        form: FormView::new(s, &dir, Some(id), draft, errors),
    })
}

async fn edit(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let m = editable(&app, &s, id).await?;
    let page = edit_page(&app, &s, id, MacroForm::of(&m), Errors::new()).await?;
    Ok(html(&page))
}

async fn save(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<MacroForm>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    let mut errors = Errors::new();
    let input = form.input(&mut errors);
    if errors.is_empty() {
        match app.save_macro(&s.p, Some(id), input).await {
            Ok(_) => return Ok(Redirect::to("/agent/macros?done=saved").into_response()),
            Err(e) => errors = form_errors(e)?,
        }
    }
    let page = edit_page(&app, &s, id, form, errors).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn delete(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form: _ }: Post<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    if let Some(r) = staff_only(&s) {
        return Ok(r);
    }
    app.delete_macro(&s.p, id).await?;
    Ok(Redirect::to("/agent/macros?done=deleted").into_response())
}

// ------------------------------------------------------------------ on the ticket page

/// The "Apply macro" choices of the ticket page.
pub(super) async fn choices(
    app: &App,
    s: &Session,
    chosen: Option<i64>,
) -> Result<Vec<Opt>, UiError> {
    Ok(app
        .list_macros(&s.p)
        .await?
        .into_iter()
        .map(|m| Opt::new(m.id, m.name, Some(m.id) == chosen))
        .collect())
}

/// One property a macro sets with the reply, offered as a ticked box the agent may untick.
pub(super) struct AlsoSet {
    /// The reply form's field (`priority`, `group_id`, `internal_group_id`, `add_tags`).
    pub name: &'static str,
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// A macro applied to the ticket page: filled in, nothing saved.
pub(super) struct Applied {
    pub id: i64,
    pub name: String,
    pub public: bool,
    pub body: String,
    pub status_id: Option<i64>,
    pub also: Vec<AlsoSet>,
}

impl Applied {
    /// What `m` fills in; `sent` the boxes the agent left ticked (None: all of them).
    pub(super) fn of(dir: &Directory, m: MacroOut, sent: Option<&[(&str, &str)]>) -> Applied {
        let mut also = Vec::new();
        let mut push = |name: &'static str, value: String, label: String| {
            let checked = sent.is_none_or(|s| s.iter().any(|(k, v)| *k == name && *v == value));
            also.push(AlsoSet {
                name,
                value,
                label,
                checked,
            });
        };
        if let Some(p) = &m.set_priority {
            push(
                "priority",
                p.clone(),
                format!("Priority: {}", capitalized(p)),
            );
        }
        if let Some(g) = m.set_group_id {
            push(
                "group_id",
                g.to_string(),
                format!("Group: {}", dir.group_name(Some(g))),
            );
        }
        if let Some(g) = m.set_internal_group_id {
            push(
                "internal_group_id",
                g.to_string(),
                format!("Internal group: {}", dir.group_name(Some(g))),
            );
        }
        if !m.add_tags.is_empty() {
            push(
                "add_tags",
                m.add_tags.join(" "),
                format!("Add tags: {}", m.add_tags.join(", ")),
            );
        }
        Applied {
            id: m.id,
            name: m.name,
            public: m.public,
            body: m.body,
            status_id: m.set_status_id,
            also,
        }
    }
}
