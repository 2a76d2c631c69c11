//! `/api/v1`. Each module owns its routes; the OpenAPI document is built from the same
//! registrations, so it cannot drift from what is served.

pub(crate) mod attachments;
mod auth;
mod directory;
mod macros;
pub(crate) mod mail;
mod outbox;
mod rules;
mod sharing;
mod tickets;
mod views;

use ferrodesk_app::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ferrodesk API",
        description = "The REST API of Ferrodesk, an open-source helpdesk. Errors are RFC 9457 \
                       problem+json with a machine `code`; lists use cursor pagination \
                       (`limit`, `cursor`, `next_cursor`). A ticket the caller may not see \
                       answers 404.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Sign-in, sessions and API tokens"),
        (name = "users", description = "Admins, agents and end users"),
        (name = "organizations", description = "Customer organizations and their members"),
        (name = "groups", description = "Teams of agents"),
        (name = "statuses", description = "Ticket statuses and their mapped internal groups"),
        (name = "tickets", description = "Tickets, comments and timelines"),
        (name = "sharing", description = "The sharing workflow of shared organizations, its history, register and preview"),
        (name = "access", description = "Who may see a ticket, and why"),
        (name = "settings", description = "Account settings"),
        (name = "rules", description = "Automation rules, their warnings and simulation"),
        (name = "views", description = "Saved agent views with counts"),
        (name = "macros", description = "Canned responses: a reply or note with the properties to set with it"),
        (name = "search", description = "Full-text search"),
        (name = "outbox", description = "Outgoing mail: pending, failed and delivered messages"),
        (name = "attachments", description = "Files of comments: upload, then download under the access policy"),
        (name = "mail", description = "Inbound mail: messages from the MTA, what became of them, their originals"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(crate::extract::SESSION_COOKIE),
            )),
        );
    }
}

/// The error answers any operation can give, besides the ones it declares itself.
const ERROR_ANSWERS: &[(&str, &str)] = &[
    ("400", "the body or a parameter is malformed"),
    ("401", "not signed in, or the credential is no longer valid"),
    ("403", "signed in, but not allowed to do this"),
    ("404", "no such thing, or the caller may not see it"),
    ("409", "conflicts with the current state"),
    ("413", "the body is larger than 1 MiB"),
    ("415", "the body is not JSON"),
    (
        "422",
        "invalid input; `errors` names each field and its problem",
    ),
    ("429", "rate limited or account locked; see `Retry-After`"),
];

/// Bodies whose type serves both create and change: (create path, schema, required fields).
const REQUIRED_TO_CREATE: &[(&str, &str, &[&str])] = &[
    ("/api/v1/organizations", "OrganizationIn", &["name"]),
    ("/api/v1/macros", "MacroIn", &["name", "body"]),
];

/// Completes the generated document: every operation lists the error answers it can give, and
/// every error answer is `application/problem+json` (the media type it is sent with).
pub fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{Content, Ref, RefOr, Response};
    let problem = |description: &str| {
        let mut r = Response::new(description);
        r.content.insert(
            "application/problem+json".into(),
            RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
        );
        RefOr::T(r)
    };
    // A body type shared by create (POST) and change (PATCH): the create operation gets a copy
    // that lists what creating requires, so the document says what the server checks.
    for (path, schema, required) in REQUIRED_TO_CREATE {
        let components = doc.components.get_or_insert_with(Default::default);
        let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(base))) =
            components.schemas.get(*schema)
        else {
            continue;
        };
        let mut new = base.clone();
        new.required = required.iter().map(|r| (*r).to_owned()).collect();
        let name = format!("New{}", schema.trim_end_matches("In"));
        components
            .schemas
            .insert(name.clone(), RefOr::T(new.into()));
        if let Some(RefOr::T(body)) = doc
            .paths
            .paths
            .get_mut(*path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
        {
            for content in body.content.values_mut() {
                if let RefOr::T(content) = content {
                    content.schema = Some(RefOr::Ref(Ref::from_schema_name(&name)));
                }
            }
        }
    }
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (code, answer) in op.responses.responses.iter_mut() {
                if let (true, RefOr::T(r)) =
                    (code.starts_with('4') || code.starts_with('5'), answer)
                    && let Some(c) = r.content.shift_remove("application/json")
                {
                    r.content.insert("application/problem+json".into(), c);
                }
            }
            for (code, description) in ERROR_ANSWERS {
                op.responses
                    .responses
                    .entry((*code).to_owned())
                    .or_insert_with(|| problem(description));
            }
        }
    }
    doc
}

/// Every route of `/api/v1`, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        OpenApiRouter::new()
            .merge(auth::routes())
            .merge(directory::routes())
            .merge(tickets::routes())
            .merge(sharing::routes())
            .merge(rules::routes())
            .merge(views::routes())
            .merge(macros::routes())
            .merge(outbox::routes())
            .merge(mail::routes())
            .merge(attachments::routes()),
    )
}
