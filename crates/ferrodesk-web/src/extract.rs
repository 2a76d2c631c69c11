//! Request extractors: who is asking ([`Auth`]), and bodies and queries parsed with errors
//! that name the field ([`Body`], [`Params`]).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::auth::Credential;
use ferrodesk_app::{App, AppError, Principal};
use ferrodesk_core::validate::FieldError;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, problem};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ferrodesk_session";

/// The authenticated caller. Bearer tokens are tried first, then the session cookie;
/// cookie-authenticated writes must come from the same origin (CSRF).
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

/// Reads a cookie from the request headers (parsed by the `cookie` crate, RFC 6265).
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn same_origin(parts: &Parts) -> bool {
    same_origin_headers(&parts.headers)
}

/// Whether a request comes from our own origin (`Origin` equal to `Host`), or from no
/// browser page at all (no `Origin`, and `Sec-Fetch-Site` absent, `same-origin` or `none`).
pub fn same_origin_headers(headers: &axum::http::HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
            host.is_some_and(|h| h == origin_host)
        }
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v == "same-origin" || v == "none"),
    }
}

/// The `Set-Cookie` value of a new session: HttpOnly, SameSite=Lax, and `Secure` when the
/// configured public URL is https.
pub async fn session_cookie(app: &App, secret: &str, max_age_secs: i64) -> String {
    let secure = app
        .public_base_url()
        .await
        .is_ok_and(|u| u.starts_with("https://"));
    set_cookie(SESSION_COOKIE, secret, "/", max_age_secs, secure)
}

/// What the browser should do with a named cookie: forget it (`Max-Age=0`) on `path`.
pub fn expired_cookie(name: &'static str, path: &'static str) -> String {
    set_cookie(name, "", path, 0, false)
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax, as every cookie of ours.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> String {
    cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .path(path.to_owned())
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(secure)
        .build()
        .to_string()
}

/// What staff who must still set up two-factor sign-in may call: who they are, the set-up
/// itself, and sign-out.
const TWO_FACTOR_SETUP_PATHS: &[&str] = &[
    "/me",
    "/me/two-factor",
    "/me/two-factor/enable",
    "/auth/logout",
];

/// Lets through a principal who has no two-factor set-up due, or a call (to `path`) that sets
/// it up.
pub fn two_factor_gate(path: &str, p: Principal) -> Result<Principal, ApiError> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    if p.two_factor_due && !TWO_FACTOR_SETUP_PATHS.contains(&path) {
        return Err(AppError::forbidden(
            "two_factor_setup_required",
            "an admin requires two-factor sign-in for agents and admins: set it up first \
             (POST /api/v1/me/two-factor, then /api/v1/me/two-factor/enable; in the web app: \
             Account)",
        )
        .into());
    }
    Ok(p)
}

/// The credential a request came with, not yet checked: its bearer token, else its session
/// cookie (cookie-authenticated writes must come from the same origin: CSRF). For a handler
/// that reads who asks together with what they ask for (`App::get_ticket_with`); the others
/// take [`Auth`].
#[derive(Debug, Clone)]
pub enum Presented {
    /// `Authorization: Bearer …`.
    Token(String),
    /// The session cookie.
    Session(String),
}

impl Presented {
    /// The credential, to check.
    pub fn credential(&self) -> Credential<'_> {
        match self {
            Presented::Token(s) => Credential::Token(s),
            Presented::Session(s) => Credential::Session(s),
        }
    }
}

impl FromRequestParts<App> for Presented {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(AppError::Unauthenticated)?;
            return Ok(Presented::Token(token.to_owned()));
        }
        if let Some(secret) = cookie(parts, SESSION_COOKIE) {
            let unsafe_method =
                !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if unsafe_method && !same_origin(parts) {
                return Err(AppError::forbidden("csrf", "cross-site request refused").into());
            }
            return Ok(Presented::Session(secret));
        }
        Err(AppError::Unauthenticated.into())
    }
}

impl Auth {
    /// The principal of `presented`, let through to `path` (401 when the credential is not
    /// live, 403 when two-factor set-up is due).
    pub async fn check(app: &App, presented: &Presented, path: &str) -> Result<Auth, ApiError> {
        match app.principal_from(presented.credential()).await? {
            Some(p) => Ok(Auth(two_factor_gate(path, p)?)),
            None => Err(AppError::Unauthenticated.into()),
        }
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let presented = Presented::from_request_parts(parts, app).await?;
        Auth::check(app, &presented, parts.uri.path()).await
    }
}

/// A JSON body; problems name the field (`errors[].field`) and refuse unknown fields.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A malformed body or query.
#[derive(Debug)]
pub enum InputRejection {
    /// Not JSON at all, or too large.
    Malformed(StatusCode, String),
    /// JSON of the wrong shape.
    Invalid(FieldError),
}

impl IntoResponse for InputRejection {
    fn into_response(self) -> Response {
        match self {
            InputRejection::Malformed(status, detail) => {
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "malformed"
                };
                problem(status, code, detail, vec![])
            }
            InputRejection::Invalid(e) => ApiError(AppError::Invalid(vec![e])).into_response(),
        }
    }
}

/// Turns a serde error at `path` into a field error.
fn field_error(path: String, message: String) -> FieldError {
    let between_ticks = |m: &str| m.split('`').nth(1).map(str::to_owned);
    let join = |p: &str, f: String| {
        if p.is_empty() || p == "." {
            f
        } else {
            format!("{p}.{f}")
        }
    };
    if message.starts_with("unknown field") {
        let f = between_ticks(&message).unwrap_or_default();
        let field = if path.ends_with(&f) {
            path
        } else {
            join(&path, f)
        };
        let msg = message
            .split(", expected")
            .next()
            .unwrap_or(&message)
            .to_owned();
        FieldError::new(field, "unknown_field", msg)
    } else if message.starts_with("missing field") {
        let f = between_ticks(&message).unwrap_or_default();
        FieldError::new(
            join(&path, f.clone()),
            "required",
            format!("{f} is required"),
        )
    } else {
        let field = if path == "." { String::new() } else { path };
        FieldError::new(field, "invalid_type", message)
    }
}

impl<T: DeserializeOwned> FromRequest<App> for Body<T> {
    type Rejection = InputRejection;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !json {
            return Err(InputRejection::Malformed(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, app)
            .await
            .map_err(|e| {
                InputRejection::Malformed(
                    e.status(),
                    format!("could not read the body: {}", e.body_text()),
                )
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(de) {
            // Every request body is a JSON object: serde also reads a struct from an array of
            // its fields in order (`[null, null]`), which no client means.
            Ok(_) if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') => {
                Err(InputRejection::Invalid(FieldError::new(
                    "body",
                    "not_an_object",
                    "the body must be a JSON object ({…})",
                )))
            }
            Ok(v) => Ok(Body(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    Err(InputRejection::Malformed(
                        StatusCode::BAD_REQUEST,
                        format!("the body is not valid JSON: {inner}"),
                    ))
                } else {
                    let msg = inner.to_string();
                    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                    Err(InputRejection::Invalid(field_error(path, msg)))
                }
            }
        }
    }
}

/// Query parameters; problems name the parameter.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = InputRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(Params(q.0)),
            Err(e) => {
                let text = e.body_text();
                let msg = text.trim_start_matches("Failed to deserialize query string: ");
                // axum names the parameter first (`limit: invalid digit …`).
                let (path, msg) = match msg.split_once(": ") {
                    Some((p, m))
                        if !p.is_empty()
                            && p.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c)) =>
                    {
                        (p.to_owned(), m.to_owned())
                    }
                    _ => (String::new(), msg.to_owned()),
                };
                Err(InputRejection::Invalid(field_error(path, msg)))
            }
        }
    }
}

/// Reads `If-Match` as a ticket version (`"3"`, `W/"3"` or `3`; `*` means any).
pub fn if_match(parts: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = parts.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    if s == "*" {
        return Ok(None);
    }
    s.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| {
            ApiError(AppError::invalid(
                "If-Match",
                "invalid",
                "If-Match must be the ticket's version, as given in its ETag",
            ))
        })
}
