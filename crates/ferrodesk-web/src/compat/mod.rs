//! The vendor-compatible APIs (SPEC §8 "Compatibility"): Zendesk's API v2 under
//! `/zendesk/api/v2` and Freshdesk's under `/freshdesk/api/v2`, so that existing clients and
//! integrations keep working.
//!
//! Both are thin translations: each handler reads the vendor's shape, calls the same use case
//! of [`App`] as `/api/v1` (the one access policy, the same validation, the same write
//! pipeline) and writes the answer in the vendor's shape. What the two share lives here: who
//! is asking (the vendors' Basic schemes and our Bearer tokens), lenient query strings and
//! bodies (the real clients repeat query keys and send fields we do not know), and the
//! absolute URLs their paginators follow.

pub mod freshdesk;
pub mod openapi;
pub mod zendesk;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ferrodesk_app::{App, AppError, Principal};
use ferrodesk_core::validate::same_secret;
use serde_json::Value;

/// The two vendor APIs, each under its own prefix.
pub fn routes() -> Router<App> {
    Router::new()
        .nest(
            zendesk::PREFIX,
            zendesk::routes().layer(axum::Extension(Vendor::Zendesk)),
        )
        .nest(
            freshdesk::PREFIX,
            freshdesk::routes().layer(axum::Extension(Vendor::Freshdesk)),
        )
}

/// Which vendor's conventions a request follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Basic `EMAIL/token:TOKEN`.
    Zendesk,
    /// Basic `TOKEN:anything`.
    Freshdesk,
}

impl Vendor {
    /// The vendor whose API a request path belongs to.
    pub fn of_path(path: &str) -> Option<Vendor> {
        if path.starts_with(zendesk::PREFIX) {
            Some(Vendor::Zendesk)
        } else if path.starts_with(freshdesk::PREFIX) {
            Some(Vendor::Freshdesk)
        } else {
            None
        }
    }
}

/// A 429 in the vendor's shape (the caller adds `Retry-After` in whole seconds, which zenpy
/// waits for and python-freshdesk reports).
pub fn rate_limited(vendor: Vendor, message: String) -> Response {
    let body = match vendor {
        Vendor::Zendesk => {
            serde_json::json!({"error": "APIRateLimitExceeded", "description": message})
        }
        Vendor::Freshdesk => serde_json::json!({"code": "rate_limited", "message": message}),
    };
    (axum::http::StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

/// The vendor's own rate-limit headers on an answer that was let through (never
/// `Retry-After`: node-zendesk takes any answer carrying one for a 429).
pub fn rate_headers(vendor: Vendor, h: &mut HeaderMap, limit: u32, remaining: u32) {
    match vendor {
        Vendor::Zendesk => {
            h.insert("x-rate-limit", limit.into());
            h.insert("x-rate-limit-remaining", remaining.into());
        }
        Vendor::Freshdesk => {
            h.insert("x-ratelimit-total", limit.into());
            h.insert("x-ratelimit-remaining", remaining.into());
            h.insert("x-ratelimit-used-currentrequest", 1u32.into());
        }
    }
}

/// The `user:password` of a Basic `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Who is asking, by `vendor`'s scheme: Zendesk's Basic `EMAIL/token:TOKEN` (the token must
/// be one of that user's API tokens; a password is refused, as Zendesk has retired it),
/// Freshdesk's Basic `TOKEN:anything`, or our `Bearer TOKEN` for both. Staff who still owe
/// their two-factor set-up may do nothing here (they set it up in the web app or `/api/v1`).
pub async fn principal(
    app: &App,
    headers: &HeaderMap,
    vendor: Vendor,
) -> Result<Principal, AppError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthenticated)?;
    let found = if let Some(token) = value.strip_prefix("Bearer ") {
        app.principal_from_token(token.trim()).await?
    } else {
        let (user, password) = basic_credentials(headers).ok_or(AppError::Unauthenticated)?;
        match vendor {
            Vendor::Zendesk => {
                let email = user
                    .strip_suffix("/token")
                    .ok_or(AppError::Unauthenticated)?;
                app.principal_from_token(&password)
                    .await?
                    .filter(|p| same_secret(&p.user.email, &email.to_lowercase()))
            }
            Vendor::Freshdesk => app.principal_from_token(&user).await?,
        }
    };
    let p = found.ok_or(AppError::Unauthenticated)?;
    if p.two_factor_due {
        return Err(AppError::forbidden(
            "two_factor_setup_required",
            "an admin requires two-factor sign-in for agents and admins: set it up in the web \
             app (Account) first",
        ));
    }
    Ok(p)
}

/// A query string read leniently, as the vendors' clients need: a repeated key counts once
/// (its first value; python-freshdesk sends `per_page` twice), keys we do not know are
/// ignored (`include_inline_images`, `sort_by`), and bracketed keys (`page[size]`) are plain
/// names.
#[derive(Debug, Default, Clone)]
pub struct Query(pub BTreeMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map = BTreeMap::new();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
        for (k, v) in pairs {
            map.entry(k).or_insert(v);
        }
        Query(map)
    }

    /// A parameter's text (absent and empty alike give none).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A whole-number parameter; text that is not one is an invalid `key`.
    pub fn int(&self, key: &str) -> Result<Option<i64>, AppError> {
        self.get(key)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    AppError::invalid(key, "not_a_number", format!("{key} must be a whole number"))
                })
            })
            .transpose()
    }

    /// A page size in `1..=max` (absent: `default`).
    pub fn size(&self, key: &str, default: i64, max: i64) -> Result<i64, AppError> {
        match self.int(key)? {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(AppError::invalid(
                key,
                "out_of_range",
                format!("{key} must be between 1 and {max}"),
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::parse(parts.uri.query()))
    }
}

/// A JSON body read leniently: any content type (node-zendesk sends JSON on GET too), fields
/// we do not know are ignored (zenpy sends `id` back on every update), an empty body is
/// `null`. Malformed JSON is refused, naming where it broke.
#[derive(Debug, Clone)]
pub struct Json(pub Value);

/// An error answered in the shape of the vendor whose API was called.
#[derive(Debug)]
pub struct Failure(pub Vendor, pub AppError);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self.0 {
            Vendor::Zendesk => zendesk::error_response(self.1),
            Vendor::Freshdesk => freshdesk::error_response(self.1),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Json {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Each vendor's router marks its requests (`Extension(Vendor)`).
        let vendor = req
            .extensions()
            .get::<Vendor>()
            .copied()
            .unwrap_or(Vendor::Zendesk);
        let fail = |e| Failure(vendor, e);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::TooLarge {
                message: format!(
                    "the body is larger than {} MiB",
                    crate::MAX_BODY_BYTES / (1024 * 1024)
                ),
            })
            .map_err(fail)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Json(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| {
                AppError::invalid(
                    "body",
                    "invalid_json",
                    format!("the body is not valid JSON: {e}"),
                )
            })
            .map_err(fail)
    }
}

/// The absolute URL of this server as the client reached it (`http://HOST`), with `prefix`:
/// the vendors' clients follow pagination links verbatim, and zenpy only reads answers whose
/// URL contains the host it was given. `X-Forwarded-Proto` names the scheme behind a proxy.
pub fn base_url(headers: &HeaderMap, prefix: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}{prefix}")
}

/// A stored RFC 3339 timestamp at whole seconds (`2026-12-01T10:00:00Z`), as both vendors
/// write them.
pub fn seconds(rfc3339: &str) -> String {
    match rfc3339.split_once('.') {
        Some((whole, _)) => format!("{whole}Z"),
        None => rfc3339.to_owned(),
    }
}

/// A path id, with or without Zendesk's `.json`: anything else names no record.
pub fn path_id(raw: &str) -> Result<i64, AppError> {
    raw.strip_suffix(".json")
        .unwrap_or(raw)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(AppError::NotFound("record"))
}

/// The members of `value`'s object `key` (an empty object when absent or not an object).
pub fn object<'a>(value: &'a Value, key: &str) -> Option<&'a serde_json::Map<String, Value>> {
    value.get(key).and_then(Value::as_object)
}

/// Lenient scalar readers over a vendor object: ids may come as numbers or numeric text,
/// `null` clears.
pub mod read {
    use ferrodesk_app::AppError;
    use serde_json::{Map, Value};

    /// An id field: absent → `None`; `null` or `""` → `Some(None)`; a number → `Some(Some(n))`.
    pub fn id(o: &Map<String, Value>, key: &str) -> Result<Option<Option<i64>>, AppError> {
        match o.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(Some(n.as_i64())),
            Some(Value::String(s)) if s.parse::<i64>().is_ok() => Ok(Some(s.parse().ok())),
            Some(_) => Err(AppError::invalid(
                key,
                "datatype_mismatch",
                format!("{key} must be a number"),
            )),
        }
    }

    /// A text field: absent or `null` → `None`.
    pub fn text(o: &Map<String, Value>, key: &str) -> Result<Option<String>, AppError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AppError::invalid(
                key,
                "datatype_mismatch",
                format!("{key} must be text"),
            )),
        }
    }

    /// A yes/no field: absent or `null` → `None`.
    pub fn flag(o: &Map<String, Value>, key: &str) -> Result<Option<bool>, AppError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(AppError::invalid(
                key,
                "datatype_mismatch",
                format!("{key} must be true or false"),
            )),
        }
    }

    /// A list of ids: absent or `null` → `None`.
    pub fn ids(o: &Map<String, Value>, key: &str) -> Result<Option<Vec<i64>>, AppError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| {
                    AppError::invalid(key, "datatype_mismatch", format!("{key} must list numbers"))
                }),
            Some(_) => Err(AppError::invalid(
                key,
                "datatype_mismatch",
                format!("{key} must be a list"),
            )),
        }
    }

    /// A list of texts: absent or `null` → `None`.
    pub fn texts(o: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, AppError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| {
                    AppError::invalid(key, "datatype_mismatch", format!("{key} must list texts"))
                }),
            Some(_) => Err(AppError::invalid(
                key,
                "datatype_mismatch",
                format!("{key} must be a list"),
            )),
        }
    }
}
