//! The server-rendered web app: sign-in, the agent workspace, organization and admin pages
//! and the customer portal. Every page gets its data from the use cases on [`App`], so the
//! one access policy decides what a person sees; a ticket they may not see answers 404.
//!
//! Pages work without JavaScript (plain forms and redirects). htmx (vendored, `/static`)
//! only refreshes the internal group and agent choices when the status changes.
//!
//! Every form POST carries a CSRF token derived from the session secret
//! ([`csrf_token`]); a POST without the right token is refused with 403.

mod account;
mod admin;
mod admin_inbox;
mod admin_mail_templates;
mod admin_orgs;
mod admin_outbox;
mod admin_rules;
mod agent;
mod agent_bulk;
mod agent_macros;
mod agent_new;
mod agent_presence;
mod agent_ticket;
mod auth;
mod org;
mod people;
mod portal;
mod search;
mod view;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use ferrodesk_app::{App, AppError, Principal};
use ferrodesk_core::Role;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::extract::{SESSION_COOKIE, cookie};

/// The web app's routes (merged into the API router by [`crate::router`]).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/static/htmx.min.js", get(htmx_js))
        .route("/static/app.css", get(app_css))
        .route("/static/agent.js", get(agent_js))
        .merge(auth::routes())
        .merge(account::routes())
        .merge(agent::routes())
        .merge(agent_bulk::routes())
        .merge(agent_macros::routes())
        .merge(org::routes())
        .merge(admin::routes())
        .merge(admin_rules::routes())
        .merge(admin_orgs::routes())
        .merge(admin_outbox::routes())
        .merge(admin_inbox::routes())
        .merge(admin_mail_templates::routes())
        .merge(portal::routes())
        .merge(search::routes())
        .merge(people::routes())
}

/// The CSRF token of a session: SHA-256 of the session secret and a fixed label, so it
/// is stable for the session, differs between sessions and reveals nothing about the secret.
pub fn csrf_token(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"ferrodesk-ui-csrf\0");
    h.update(session_secret.as_bytes());
    hex::encode(h.finalize())
}

pub(crate) use ferrodesk_core::validate::same_secret;

/// The signed-in person of a page request, with their form token.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub p: Principal,
    pub csrf: String,
    /// The cookie's secret, to end the session on sign-out.
    secret: String,
}

impl Session {
    pub fn is_staff(&self) -> bool {
        self.p.is_staff()
    }

    pub fn is_admin(&self) -> bool {
        self.p.user.role == Role::Admin
    }

    /// The frame of a page: title, navigation, the form token.
    pub fn layout(&self, title: impl Into<String>, section: &'static str) -> view::Layout {
        view::Layout {
            title: title.into(),
            section,
            signed_in: true,
            user_name: self.p.user.name.clone(),
            staff: self.is_staff(),
            admin: self.is_admin(),
            csrf: self.csrf.clone(),
            notice: None,
        }
    }
}

impl FromRequestParts<App> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, UiError> {
        let next = parts.uri.to_string();
        let secret = cookie(parts, SESSION_COOKIE).ok_or(UiError::SignIn(next.clone()))?;
        match app.principal_from_session(&secret).await? {
            // Staff whom an admin requires to use two-factor sign-in set it up first.
            Some(p)
                if p.two_factor_due
                    && !parts.uri.path().starts_with(account::TWO_FACTOR_PAGE)
                    && parts.uri.path() != "/logout" =>
            {
                Err(UiError::TwoFactorSetup)
            }
            Some(p) => Ok(Session {
                p,
                csrf: csrf_token(&secret),
                secret,
            }),
            None => Err(UiError::SignIn(next)),
        }
    }
}

/// The ids in a page's address (`/agent/tickets/{id}`). An address whose id is not a
/// number answers the page "No such ticket" (404), as an id that does not exist does;
/// axum's own `Path` would answer a plain-text 400 naming a Rust type.
pub(crate) struct PagePath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<App> for PagePath<T> {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, UiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, app).await {
            Ok(axum::extract::Path(ids)) => Ok(PagePath(ids)),
            Err(_) => Err(UiError::App(AppError::NotFound(thing_at(parts.uri.path())))),
        }
    }
}

/// What the page at `path` shows, in words, for its "No such …" page.
fn thing_at(path: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("/agent/tickets/", "ticket"),
        ("/portal/requests/", "request"),
        ("/agent/organizations/", "organization"),
        ("/admin/organizations/", "organization"),
        ("/admin/statuses/", "status"),
        ("/admin/rules/", "rule"),
        ("/agent/macros/", "macro"),
        ("/admin/groups/", "group"),
        ("/admin/users/", "user"),
        ("/admin/outbox/", "message"),
        ("/mail/", "message"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or("page", |(_, what)| what)
}

/// A form POST from a signed-in person whose CSRF token (`_csrf`) matched.
pub(crate) struct Post<T> {
    pub s: Session,
    pub form: T,
}

/// Reads an `application/x-www-form-urlencoded` body.
async fn form_pairs(req: Request, app: &App) -> Result<(Vec<(String, String)>, Vec<u8>), UiError> {
    let bytes = axum::body::Bytes::from_request(req, app)
        .await
        .map_err(|_| UiError::BadForm)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| UiError::BadForm)?;
    Ok((pairs, bytes.to_vec()))
}

impl<T: DeserializeOwned> FromRequest<App> for Post<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, app: &App) -> Result<Self, UiError> {
        let (mut parts, body) = req.into_parts();
        let s = Session::from_request_parts(&mut parts, app).await?;
        let (pairs, bytes) = form_pairs(Request::from_parts(parts, body), app).await?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !same_secret(sent, &s.csrf) {
            return Err(UiError::Csrf);
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| UiError::BadForm)?;
        Ok(Post { s, form })
    }
}

/// A file sent with a form (`<input type="file" name="files">`), held in memory.
#[derive(Debug)]
pub(crate) struct FormFile {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A form POST that may carry files: `multipart/form-data` (the form's `files` parts are
/// the files, every other part a text field), or a plain urlencoded form without files.
/// The same CSRF check as [`Post`]; the text fields make `T` as they do there. A file over
/// the configured size, or files together over the per-comment size, are refused with 413
/// while they arrive. Its routes are layered with `DefaultBodyLimit::disable()`; instead
/// `guard::limit_body` caps their bodies at the per-comment size plus 1 MiB ([`takes_files`]).
pub(crate) struct MultipartPost<T> {
    pub s: Session,
    pub form: T,
    pub files: Vec<FormFile>,
}

/// The name of the file input of a form with files.
const FILES_FIELD: &str = "files";

/// Whether `path` is a form that takes files: the agent's reply and note, the portal's
/// reply and new request. Its body may be as large as a comment's files together plus 1 MiB.
pub(crate) fn takes_files(path: &str) -> bool {
    let comments_of = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("/comments"))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    };
    path == "/portal/requests" || comments_of("/agent/tickets/") || comments_of("/portal/requests/")
}

/// The 413 page of a form with files whose body is larger than `limit` bytes.
pub(crate) fn form_too_large(limit: usize) -> Response {
    UiError::App(AppError::TooLarge {
        message: format!(
            "The form with its files is larger than {}. Send fewer or smaller files.",
            view::size_words(limit as u64)
        ),
    })
    .into_response()
}

/// A multipart body that could not be read: too large (the body limit), or not a form.
fn multipart_failed(e: axum::extract::multipart::MultipartError, app: &App) -> UiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = app
            .config()
            .comment_attachments_max_bytes
            .saturating_add(crate::MAX_BODY_BYTES as u64);
        UiError::App(AppError::TooLarge {
            message: format!(
                "The form with its files is larger than {}. Send fewer or smaller files.",
                view::size_words(limit)
            ),
        })
    } else {
        UiError::BadForm
    }
}

impl<T: DeserializeOwned> FromRequest<App> for MultipartPost<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, app: &App) -> Result<Self, UiError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Post { s, form } = Post::from_request(req, app).await?;
            return Ok(MultipartPost {
                s,
                form,
                files: Vec::new(),
            });
        }
        let (mut parts, body) = req.into_parts();
        let s = Session::from_request_parts(&mut parts, app).await?;
        let mut body =
            axum::extract::Multipart::from_request(Request::from_parts(parts, body), app)
                .await
                .map_err(|_| UiError::BadForm)?;
        let per_file = app.config().attachment_max_bytes;
        let together = app.config().comment_attachments_max_bytes;
        let too_large = |message: String| UiError::App(AppError::TooLarge { message });
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut text_bytes = 0usize;
        let mut files: Vec<FormFile> = Vec::new();
        let mut files_bytes = 0u64;
        // Once something is too large, the rest of the body is still read (and dropped, up to
        // the route's body limit) before the 413 page is sent: a browser that is still sending
        // when the server answers shows a connection reset, not the page.
        let mut refused: Option<UiError> = None;
        loop {
            let mut field = match body.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => return Err(refused.unwrap_or_else(|| multipart_failed(e, app))),
            };
            if refused.is_some() {
                while let Ok(Some(_)) = field.chunk().await {}
                continue;
            }
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| multipart_failed(e, app))? {
                if name == FILES_FIELD {
                    files_bytes += chunk.len() as u64;
                    if (bytes.len() + chunk.len()) as u64 > per_file {
                        let which = if file_name.is_empty() {
                            "A file".to_owned()
                        } else {
                            file_name.clone()
                        };
                        let max = view::size_words(per_file);
                        refused = Some(too_large(format!(
                            "{which} is larger than {max}: a file may have at most {max}."
                        )));
                    } else if files_bytes > together {
                        refused = Some(too_large(format!(
                            "The files of one comment may have at most {} together.",
                            view::size_words(together)
                        )));
                    }
                } else {
                    text_bytes += chunk.len();
                    if text_bytes > crate::MAX_BODY_BYTES {
                        refused = Some(too_large("The form's text is larger than 1 MiB.".into()));
                    }
                }
                if refused.is_some() {
                    while let Ok(Some(_)) = field.chunk().await {}
                    break;
                }
                bytes.extend_from_slice(&chunk);
            }
            if refused.is_some() {
                continue;
            }
            if name == FILES_FIELD {
                // A file input where nothing was chosen sends an empty part without a name.
                if file_name.is_empty() && bytes.is_empty() {
                    continue;
                }
                files.push(FormFile {
                    file_name,
                    content_type,
                    bytes,
                });
            } else {
                let value = String::from_utf8(bytes).map_err(|_| UiError::BadForm)?;
                pairs.push((name, value));
            }
        }
        if let Some(e) = refused {
            return Err(e);
        }
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !same_secret(sent, &s.csrf) {
            return Err(UiError::Csrf);
        }
        // The rule `guard::refuse_unstorable_text` applies to urlencoded forms.
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            let name = k.replace('\0', "\u{FFFD}");
            return Err(UiError::App(AppError::invalid(
                &name,
                "invalid_character",
                format!("{name} contains a NUL character (U+0000), which cannot be stored"),
            )));
        }
        // The text fields as `Post` reads them: the same names, the same rules.
        let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| UiError::BadForm)?;
        let form = serde_urlencoded::from_str(&encoded).map_err(|_| UiError::BadForm)?;
        Ok(MultipartPost { s, form, files })
    }
}

impl<T> MultipartPost<T> {
    /// Stores the files as uploads of the sender: their tokens, for `upload_tokens`.
    pub async fn upload(&self, app: &App) -> Result<Option<Vec<String>>, UiError> {
        if self.files.is_empty() {
            return Ok(None);
        }
        let mut tokens = Vec::with_capacity(self.files.len());
        for f in &self.files {
            let up = app
                .upload_bytes(&self.s.p, &f.file_name, &f.content_type, &f.bytes)
                .await?;
            tokens.push(up.token);
        }
        Ok(Some(tokens))
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub(crate) enum UiError {
    /// Not signed in: go to the sign-in page, then back to this address.
    SignIn(String),
    /// The form token was missing or wrong.
    Csrf,
    /// The body was not a form.
    BadForm,
    /// An admin requires two-factor sign-in and this person has not set it up: go there.
    TwoFactorSetup,
    /// A use case said no.
    App(AppError),
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => UiError::SignIn("/".into()),
            e => UiError::App(e),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: view::Layout,
    heading: String,
    message: String,
    /// The way back for the person signed in: their list (href, words).
    back: Option<(&'static str, &'static str)>,
}

/// What an error page says, kept on its response so [`with_navigation`] can show it again
/// inside the signed-in person's own frame.
#[derive(Debug, Clone)]
struct ErrorShown {
    heading: String,
    message: String,
}

fn error_page(status: StatusCode, heading: &str, message: String) -> Response {
    let page = ErrorPage {
        layout: view::Layout::anonymous(heading),
        heading: heading.to_owned(),
        message: message.clone(),
        back: None,
    };
    let mut res = html(&page);
    *res.status_mut() = status;
    res.extensions_mut().insert(ErrorShown {
        heading: heading.to_owned(),
        message,
    });
    res
}

/// The page for an address the web app does not have (the router's fallback outside
/// `/api/`): "No such page", 404.
pub(crate) fn page_not_found() -> Response {
    UiError::App(AppError::NotFound("page")).into_response()
}

/// Shows an error page (a missing ticket or page, a refusal) to a signed-in person inside
/// their own frame: the header and navigation of their role and a link back to their list,
/// with the same status. Nobody signed in (or a session that ends or must set up two-factor
/// sign-in first) keeps the plain page. Only responses made by [`error_page`] are touched.
pub(crate) async fn with_navigation(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let secret = cookie(&parts, SESSION_COOKIE);
    let res = next.run(Request::from_parts(parts, body)).await;
    let (Some(shown), Some(secret)) = (res.extensions().get::<ErrorShown>().cloned(), secret)
    else {
        return res;
    };
    let Ok(Some(p)) = app.principal_from_session(&secret).await else {
        return res;
    };
    if p.two_factor_due {
        return res;
    }
    let s = Session {
        p,
        csrf: csrf_token(&secret),
        secret,
    };
    let back = if s.is_staff() {
        ("/agent/tickets", "Back to your tickets")
    } else {
        ("/portal", "Back to your requests")
    };
    let page = ErrorPage {
        layout: s.layout(shown.heading.clone(), ""),
        heading: shown.heading,
        message: shown.message,
        back: Some(back),
    };
    let mut framed = html(&page);
    *framed.status_mut() = res.status();
    framed
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn(next) => {
                let next = if next.starts_with('/') && !next.starts_with("//") {
                    next
                } else {
                    "/".into()
                };
                let to = format!(
                    "/login?next={}",
                    serde_urlencoded::to_string([("n", next.as_str())])
                        .unwrap_or_default()
                        .trim_start_matches("n=")
                );
                Redirect::to(&to).into_response()
            }
            UiError::TwoFactorSetup => Redirect::to(account::TWO_FACTOR_PAGE).into_response(),
            UiError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form did not carry a valid security token (it may be from an old page \
                 or another site). Go back, reload the page and try again."
                    .into(),
            ),
            UiError::BadForm => error_page(
                StatusCode::BAD_REQUEST,
                "Form not understood",
                "The form could not be read. Reload the page and try again.".into(),
            ),
            UiError::App(e) => match e {
                AppError::NotFound(what) => error_page(
                    StatusCode::NOT_FOUND,
                    &format!("No such {what}"),
                    format!("This {what} does not exist, or you do not have access to it."),
                ),
                AppError::Forbidden { message, .. } => {
                    error_page(StatusCode::FORBIDDEN, "Not allowed", message)
                }
                AppError::Conflict { message, .. } => {
                    error_page(StatusCode::CONFLICT, "Conflict", message)
                }
                AppError::Stale { .. } => error_page(
                    StatusCode::PRECONDITION_FAILED,
                    "Changed meanwhile",
                    "Someone changed this ticket after you opened it. Reload it to see the \
                     change, then make yours again."
                        .into(),
                ),
                AppError::Invalid(errors) | AppError::PrechecksFailed(errors) => error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Please check the form",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                AppError::Unauthenticated | AppError::TwoFactorRequired => {
                    UiError::SignIn("/".into()).into_response()
                }
                e @ AppError::Locked { .. } => {
                    error_page(StatusCode::TOO_MANY_REQUESTS, "Locked", e.to_string())
                }
                AppError::TooLarge { message } => {
                    error_page(StatusCode::PAYLOAD_TOO_LARGE, "Too large", message)
                }
                AppError::Internal(cause) => {
                    tracing::error!(%cause, "web app error");
                    error_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "Ferrodesk could not show this page. Try again in a moment.".into(),
                    )
                }
            },
        }
    }
}

/// Renders a page as HTML with the headers every page carries.
/// `a=1&b=x+y` for a link, leaving out empty values.
pub(crate) fn query_string(pairs: &[(&str, String)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

pub(crate) fn html<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut res = body.into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
                ),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// Renders a page with a status (422 for a form with errors).
pub(crate) fn html_status<T: Template>(status: StatusCode, t: &T) -> Response {
    let mut res = html(t);
    *res.status_mut() = status;
    res
}

/// Field errors of a use case by field name.
pub(crate) type Errors = HashMap<String, String>;

/// Splits a use-case error into field errors (for the form) or a page error.
pub(crate) fn field_errors(e: AppError) -> Result<Errors, UiError> {
    match e {
        AppError::Invalid(list) => {
            let mut out = Errors::new();
            for fe in list {
                out.entry(fe.field)
                    .and_modify(|m: &mut String| {
                        m.push_str("; ");
                        m.push_str(&fe.message);
                    })
                    .or_insert(fe.message);
            }
            Ok(out)
        }
        e => Err(e.into()),
    }
}

/// Parses an optional id from a form field ("" is none).
pub(crate) fn opt_id(errors: &mut Errors, field: &str, value: &str) -> Option<i64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.insert(field.to_owned(), "choose one of the listed values".into());
            None
        }
    }
}

async fn home(s: Result<Session, UiError>) -> Response {
    match s {
        Ok(s) if s.is_staff() => Redirect::to("/agent/tickets").into_response(),
        Ok(_) => Redirect::to("/portal").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

async fn htmx_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/htmx.min.js"),
    )
}

/// A script of ours under `/static/` (`<script src>`, never inline: the CSP allows only
/// `'self'`).
pub(crate) fn script(body: &'static str) -> Response {
    asset("text/javascript; charset=utf-8", body)
}

async fn agent_js() -> Response {
    script(include_str!("../../static/agent.js"))
}

async fn app_css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
}
