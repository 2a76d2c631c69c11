//! Mail templates (admins): the subject and text of each message Ferrodesk sends, with the
//! variables each may use and whether an admin changed it; saving one (refused next to the
//! field when it does not render) and putting the built-in one back.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrodesk_app::App;
use ferrodesk_app::dto::{MailTemplateIn, MailTemplateOut};
use serde::Deserialize;

use super::admin::{admin_only, form_errors};
use super::view::Layout;
use super::{Errors, Post, Session, UiError, html, html_status};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/mail-templates", get(list))
        .route("/admin/mail-templates/{name}", post(save))
        .route("/admin/mail-templates/{name}/reset", post(reset))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Params {
    done: String,
}

/// A template's form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TemplateForm {
    subject: String,
    body: String,
}

/// One template as the page shows it.
struct Section {
    name: String,
    label: String,
    customized: bool,
    /// Each variable as it is written in a template (`{{ name }}`).
    variables: Vec<String>,
    subject: String,
    body: String,
    /// Its field errors, when its form came back.
    errors: Errors,
}

#[derive(Template)]
#[template(path = "admin_mail_templates.html")]
struct MailTemplatesPage {
    layout: Layout,
    tab: &'static str,
    templates: Vec<Section>,
    /// The template whose form came back with errors: its name and label.
    failed: Option<(String, String)>,
}

fn section(t: MailTemplateOut) -> Section {
    Section {
        variables: t
            .variables
            .iter()
            .map(|v| format!("{{{{ {v} }}}}"))
            .collect(),
        name: t.name,
        label: t.label,
        customized: t.customized,
        subject: t.subject,
        body: t.body,
        errors: Errors::new(),
    }
}

/// The page; with `failed`, that template's form shows what was typed and its errors.
async fn page(
    app: &App,
    s: &Session,
    notice: Option<String>,
    failed: Option<(&str, TemplateForm, Errors)>,
) -> Result<MailTemplatesPage, UiError> {
    let mut templates: Vec<Section> = app
        .mail_templates(&s.p)
        .await?
        .into_iter()
        .map(section)
        .collect();
    let mut failed_label = None;
    if let Some((name, form, errors)) = failed
        && let Some(t) = templates.iter_mut().find(|t| t.name == name)
    {
        t.subject = form.subject;
        t.body = form.body;
        t.errors = errors;
        failed_label = Some((t.name.clone(), t.label.clone()));
    }
    let mut layout = s.layout("Mail templates", "admin");
    layout.notice = notice;
    Ok(MailTemplatesPage {
        layout,
        tab: "mail_templates",
        templates,
        failed: failed_label,
    })
}

async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<Params>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let notice = match q.done.as_str() {
        "saved" => Some("The template was saved.".to_owned()),
        "reset" => Some("The built-in template is back.".to_owned()),
        _ => None,
    };
    Ok(html(&page(&app, &s, notice, None).await?))
}

/// Browsers send a text area's line breaks as CRLF; the templates keep `\n`, like the
/// built-in ones.
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

async fn save(
    State(app): State<App>,
    Path(name): Path<String>,
    Post { s, form }: Post<TemplateForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let form = TemplateForm {
        subject: form.subject,
        body: lines(&form.body),
    };
    let input = MailTemplateIn {
        subject: form.subject.clone(),
        body: form.body.clone(),
    };
    let errors = match app.update_mail_template(&s.p, &name, input).await {
        Ok(t) => {
            return Ok(Redirect::to(&format!(
                "/admin/mail-templates?done=saved#template-{}",
                t.name
            ))
            .into_response());
        }
        Err(e) => form_errors(e)?,
    };
    let page = page(&app, &s, None, Some((&name, form, errors))).await?;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn reset(
    State(app): State<App>,
    Path(name): Path<String>,
    Post { s, form: _ }: Post<HashMap<String, String>>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let t = app.reset_mail_template(&s.p, &name).await?;
    Ok(Redirect::to(&format!(
        "/admin/mail-templates?done=reset#template-{}",
        t.name
    ))
    .into_response())
}
