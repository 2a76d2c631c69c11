//! The Zendesk layer's route table, from which both its router and its OpenAPI document
//! (`/zendesk/api/v2/openapi.json`) are built, and the shapes that document describes.

use axum::http::Method;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

use super::super::openapi::{ErrorAnswer, Layer, Param, Route, T, document, object};
use super::*;

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;

/// Cursor and offset paging, as every Zendesk list takes them.
const PAGING: &[Param] = &[
    Param {
        name: "page[size]",
        t: T::Int,
        about: "Cursor paging: records a page (1–100, default 100). Any `page[…]` key selects \
                cursor paging; answers carry `meta.has_more`, `meta.after_cursor` and \
                `links.next` (null on the last page).",
    },
    Param {
        name: "page[after]",
        t: T::Str,
        about: "Cursor paging: the `meta.after_cursor` of the previous page.",
    },
    Param {
        name: "page",
        t: T::Int,
        about: "Offset paging: the page number from 1; offset pages stop at 10,000 records \
                (a 422 naming `page`: use cursor paging). Answers carry `next_page` and \
                `previous_page` as absolute URLs.",
    },
    Param {
        name: "per_page",
        t: T::Int,
        about: "Offset paging: records a page (1–100, default 100).",
    },
    Param {
        name: "ferrodesk_after",
        t: T::Str,
        about: "Ferrodesk's own cursor, carried by the `next_page` links so that a deep page \
                costs one query; a page asked for by number alone is reached by walking.",
    },
];

const IDS: &[Param] = &[Param {
    name: "ids",
    t: T::Str,
    about: "Ids separated by commas (at most 100); the ones the caller may not read are left out.",
}];

const ROLE: &[Param] = &[
    Param {
        name: "role",
        t: T::OneOf(&["end-user", "agent", "admin"]),
        about: "Only users of this role.",
    },
    Param {
        name: "role[]",
        t: T::OneOf(&["end-user", "agent", "admin"]),
        about: "As `role` (one value: the first counts).",
    },
];

const SEARCH: &[Param] = &[
    Param {
        name: "query",
        t: T::Str,
        about: "Zendesk's search syntax on tickets: `type:ticket` (the only type), `status:`, \
                `priority:`, `group:`, `assignee:`, `requester:`, `organization:`, `tags:` and \
                words, run in Ferrodesk's search language.",
    },
    Param {
        name: "page",
        t: T::Int,
        about: "The page number from 1; pages reach 1,000 results.",
    },
    Param {
        name: "per_page",
        t: T::Int,
        about: "Results a page (1–100, default 100).",
    },
];

const INCREMENTAL: &[Param] = &[
    Param {
        name: "start_time",
        t: T::Int,
        about: "Unix seconds: records changed at or after it (required to start a ticket export).",
    },
    Param {
        name: "cursor",
        t: T::Str,
        about: "The `after_cursor` of the previous page.",
    },
    Param {
        name: "per_page",
        t: T::Int,
        about: "Records a page (1–1,000, default 1,000).",
    },
];

const INCLUDE_COMMENTS: &[Param] = &[Param {
    name: "include",
    t: T::Str,
    about: "Ferrodesk's sideload `comments`: every ticket of the page with its `comments`, in \
            one query (what `ferrodesk import zendesk` uses). Other values are ignored.",
}];

/// `{key: schema}`.
fn one(key: &'static str, schema: &'static str) -> RefOr<Schema> {
    object("", &[(key, T::Ref(schema), "")])
}

/// `{key: [schema]}` with both kinds of paging.
fn page(key: &'static str, schema: &'static str) -> RefOr<Schema> {
    object(
        "Cursor pages carry `meta` and `links`; offset pages `next_page`, `previous_page` (and \
         `count` on ticket lists).",
        &[
            (key, T::Refs(schema), ""),
            (
                "meta",
                T::Map,
                "`has_more`, `after_cursor`, `before_cursor` (cursor paging)",
            ),
            (
                "links",
                T::Map,
                "`next` (null on the last page), `prev` (cursor paging)",
            ),
            ("next_page", T::StrOrNull, "offset paging"),
            ("previous_page", T::StrOrNull, "offset paging"),
            ("count", T::Int, "offset paging of ticket lists"),
        ],
    )
}

/// `{key: [schema]}` read whole (one page).
fn all(key: &'static str, schema: &'static str) -> RefOr<Schema> {
    object(
        "",
        &[
            (key, T::Refs(schema), ""),
            ("next_page", T::StrOrNull, "always null"),
            ("previous_page", T::StrOrNull, "always null"),
            ("count", T::Int, ""),
        ],
    )
}

/// An incremental export's page of `key`.
fn export(key: &'static str, schema: &'static str) -> RefOr<Schema> {
    object(
        "",
        &[
            (key, T::Refs(schema), ""),
            ("after_cursor", T::StrOrNull, ""),
            ("after_url", T::StrOrNull, ""),
            ("next_page", T::StrOrNull, "time-based exports"),
            ("end_of_stream", T::Bool, ""),
            ("end_time", T::Int, "time-based exports"),
            ("count", T::Int, ""),
        ],
    )
}

/// Every operation of the layer, relative to [`PREFIX`].
pub(super) fn table() -> Vec<Route> {
    vec![
        Route::new(GET, "/openapi.json", serve_document)
            .doc("This document", "")
            .public(),
        Route::new(GET, "/users/me", me)
            .json_too()
            .doc("The caller", "")
            .answer(one("user", "User")),
        Route::new(GET, "/users/show_many", show_many_users)
            .json_too()
            .doc("Users by id", "")
            .query(IDS)
            .answer(object("", &[("users", T::Refs("User"), "")])),
        Route::new(GET, "/users", list_users)
            .json_too()
            .doc("Users", "Staff only.")
            .query(PAGING)
            .query(ROLE)
            .answer(page("users", "User")),
        Route::new(POST, "/users", create_user)
            .json_too()
            .doc("Create a user", "Staff; admins create staff.")
            .body(object("", &[("user", T::Ref("UserIn"), "")]))
            .created(one("user", "User")),
        Route::new(GET, "/users/{id}", show_user)
            .doc("A user", "Staff read anyone, end users themselves.")
            .answer(one("user", "User")),
        Route::new(
            GET,
            "/users/{id}/organization_memberships",
            user_org_memberships,
        )
        .json_too()
        .doc("A user's organization memberships", "")
        .answer(all("organization_memberships", "OrganizationMembership")),
        Route::new(GET, "/users/{id}/tickets/requested", user_requested)
            .json_too()
            .doc("Tickets a user requested", "Agents and admins.")
            .query(PAGING)
            .answer(page("tickets", "Ticket")),
        Route::new(GET, "/organizations", list_orgs)
            .json_too()
            .doc("Organizations", "")
            .query(PAGING)
            .answer(page("organizations", "Organization")),
        Route::new(POST, "/organizations", create_org)
            .json_too()
            .doc(
                "Create an organization",
                "Admins. `shared_tickets`/`shared_comments` other than false/false are \
                 refused: sharing changes only through `POST /api/v1/organizations/{id}/sharing-changes`.",
            )
            .body(object("", &[("organization", T::Ref("OrganizationIn"), "")]))
            .created(one("organization", "Organization")),
        Route::new(GET, "/organizations/{id}", show_org)
            .doc("An organization", "")
            .answer(one("organization", "Organization")),
        Route::new(PUT, "/organizations/{id}", update_org)
            .doc(
                "Change an organization",
                "A change of `shared_tickets`/`shared_comments` is a 422 on that field naming \
                 `POST /api/v1/organizations/{id}/sharing-changes`; repeating the current \
                 values passes.",
            )
            .body(object("", &[("organization", T::Ref("OrganizationIn"), "")]))
            .answer(one("organization", "Organization")),
        Route::new(GET, "/organizations/{id}/tickets", org_tickets)
            .json_too()
            .doc("An organization's tickets", "Agents and admins.")
            .query(PAGING)
            .answer(page("tickets", "Ticket")),
        Route::new(GET, "/organizations/{id}/requests", org_requests)
            .json_too()
            .doc(
                "An organization's requests",
                "The end-user API: as far as the organization's sharing mode lets the caller see.",
            )
            .query(PAGING)
            .answer(page("requests", "Request")),
        Route::new(GET, "/organization_memberships", org_memberships)
            .json_too()
            .doc(
                "Organization memberships",
                "Paged by user: a page holds the memberships of up to `page[size]` end users.",
            )
            .query(PAGING)
            .answer(page("organization_memberships", "OrganizationMembership")),
        Route::new(GET, "/groups", list_groups)
            .json_too()
            .doc("Groups", "Staff; one page.")
            .answer(all("groups", "Group")),
        Route::new(GET, "/groups/{id}", show_group)
            .doc("A group", "")
            .answer(one("group", "Group")),
        Route::new(GET, "/group_memberships", group_memberships)
            .json_too()
            .doc("Group memberships", "Staff; one page.")
            .answer(all("group_memberships", "GroupMembership")),
        Route::new(GET, "/tickets", list_tickets)
            .json_too()
            .doc(
                "Tickets",
                "Agents and admins (end users: 403, they have the Requests API). The tickets \
                 the caller may see, under the one access policy.",
            )
            .query(PAGING)
            .answer(page("tickets", "Ticket")),
        Route::new(POST, "/tickets", create_ticket)
            .json_too()
            .doc(
                "Create a ticket",
                "The first comment is `comment: {body, public}` (node-zendesk) or \
                 `description` (zenpy).",
            )
            .body(object("", &[("ticket", T::Ref("TicketIn"), "")]))
            .created(object(
                "",
                &[
                    ("ticket", T::Ref("Ticket"), ""),
                    ("audit", T::Ref("Audit"), ""),
                ],
            )),
        Route::new(GET, "/tickets/show_many", show_many_tickets)
            .json_too()
            .doc("Tickets by id", "")
            .query(IDS)
            .answer(object("", &[("tickets", T::Refs("Ticket"), "")])),
        Route::new(GET, "/tickets/{id}", show_ticket)
            .doc("A ticket", "A ticket the caller may not see answers 404.")
            .answer(one("ticket", "Ticket")),
        Route::new(PUT, "/tickets/{id}", update_ticket)
            .doc(
                "Change a ticket and comment on it",
                "The changes and the `comment` in one transaction: both happen or neither. \
                 `safe_update: true` with `updated_stamp` answers 409 `UpdateConflict` when \
                 the ticket changed since.",
            )
            .body(object("", &[("ticket", T::Ref("TicketIn"), "")]))
            .answer(object(
                "",
                &[
                    ("ticket", T::Ref("Ticket"), ""),
                    ("audit", T::Ref("Audit"), ""),
                ],
            )),
        Route::new(GET, "/tickets/{id}/comments", ticket_comments)
            .json_too()
            .doc("A ticket's comments", "")
            .query(PAGING)
            .answer(page("comments", "Comment")),
        Route::new(GET, "/requests", list_requests)
            .json_too()
            .doc("The caller's requests", "")
            .query(PAGING)
            .answer(page("requests", "Request")),
        Route::new(POST, "/requests", create_request)
            .json_too()
            .doc(
                "Create a request",
                "End users request for themselves (what they may not set is ignored, as \
                 Zendesk does); staff may name `requester_id`.",
            )
            .body(object("", &[("request", T::Ref("RequestIn"), "")]))
            .created(one("request", "Request")),
        Route::new(GET, "/requests/ccd", ccd_requests)
            .json_too()
            .doc("Requests the caller is copied on", "")
            .query(PAGING)
            .answer(page("requests", "Request")),
        Route::new(GET, "/requests/{id}", show_request)
            .doc("A request", "")
            .answer(one("request", "Request")),
        Route::new(PUT, "/requests/{id}", update_request)
            .doc(
                "Comment on a request, or solve it",
                "`{\"request\": {\"comment\": {\"body\"}, \"solved\": true}}` comments and \
                 solves in one step; an end user's comment is public.",
            )
            .body(object("", &[("request", T::Ref("RequestIn"), "")]))
            .answer(one("request", "Request")),
        Route::new(GET, "/requests/{id}/comments", request_comments)
            .json_too()
            .doc("A request's comments", "Public comments only.")
            .query(PAGING)
            .answer(page("comments", "Comment")),
        Route::new(GET, "/attachments/{id}/content", attachment_content)
            .doc(
                "A comment file's bytes",
                "The `content_url` of an attachment: the file in its own content type, under the same policy as \
                 `/api/v1/attachments/{id}`. Not a Zendesk path: Zendesk serves files from its \
                 own hosts.",
            )
            .answer_as("*/*"),
        Route::new(GET, "/custom_statuses", custom_statuses)
            .json_too()
            .doc("Every ticket status", "")
            .answer(object("", &[("custom_statuses", T::Refs("CustomStatus"), "")])),
        Route::new(GET, "/ticket_fields", ticket_fields)
            .json_too()
            .doc(
                "Custom ticket fields",
                "text → `text`, number → `decimal`, checkbox, dropdown → `tagger`, date. \
                 Zendesk's built-in fields (subject, status…) are not listed.",
            )
            .answer(all("ticket_fields", "TicketField")),
        Route::new(GET, "/search", search)
            .json_too()
            .doc(
                "Search tickets",
                "Tickets only. `count` is exact on the last page; while more pages follow it \
                 is a lower bound.",
            )
            .query(SEARCH)
            .answer(object(
                "",
                &[
                    ("results", T::Refs("Ticket"), "with `result_type: ticket`"),
                    ("count", T::Int, ""),
                    ("next_page", T::StrOrNull, ""),
                    ("previous_page", T::StrOrNull, ""),
                ],
            )),
        Route::new(
            GET,
            "/incremental/tickets/cursor",
            incremental_tickets_cursor,
        )
        .json_too()
        .doc(
            "Ticket export by cursor",
            "Admins. Oldest change first by `(updated_at, id)`; changes of the last minute wait \
             for the next call. No `end_time`.",
        )
        .query(INCREMENTAL)
        .query(INCLUDE_COMMENTS)
        .answer(export("tickets", "Ticket")),
        Route::new(GET, "/incremental/tickets", incremental_tickets_by_time)
            .json_too()
            .doc(
                "Ticket export by time",
                "Admins. The same walk as the cursor export, answered with `next_page` and \
                 `end_time`.",
            )
            .query(INCREMENTAL)
            .query(INCLUDE_COMMENTS)
            .answer(export("tickets", "Ticket")),
        Route::new(GET, "/incremental/users", incremental_users)
            .json_too()
            .doc(
                "Users changed since `start_time`",
                "Admins. Walked by id, not by change time (unlike Zendesk).",
            )
            .query(INCREMENTAL)
            .answer(export("users", "User")),
        Route::new(GET, "/incremental/organizations", incremental_orgs)
            .json_too()
            .doc(
                "Organizations changed since `start_time`",
                "Admins. Walked by id, not by change time (unlike Zendesk).",
            )
            .query(INCREMENTAL)
            .answer(export("organizations", "Organization")),
    ]
}

/// The layer's OpenAPI document.
pub fn openapi() -> OpenApi {
    document(
        Layer {
            title: "Ferrodesk — Zendesk-compatible API",
            about: ABOUT,
            prefix: PREFIX,
            basic: "`EMAIL/token:TOKEN`: TOKEN is a Ferrodesk API token of the user whose \
                    address is EMAIL. Password Basic (`email:password`) is refused, as Zendesk \
                    has retired it.",
            schemas: schemas(),
            errors: ERRORS,
        },
        &table(),
    )
}

async fn serve_document() -> axum::response::Response {
    axum::Json(openapi()).into_response()
}

const ABOUT: &str = "Zendesk's API v2 for clients and integrations written against it (zenpy, \
node-zendesk): a translation onto the same use cases and access policy as `/api/v1` (a ticket \
the caller may not see answers 404 here too). Every path but `/attachments/{id}/content` also \
answers with `.json` appended, and an `{id}` may end in `.json`. Repeated query keys count once \
(the first), unknown keys and unknown body fields are ignored. Staff who owe their two-factor \
set-up get 403. Successful answers carry `X-Rate-Limit`/`X-Rate-Limit-Remaining` and the \
`RateLimit-*` headers; 429 carries `Retry-After` in whole seconds.\n\n\
**What differs from Zendesk**: only the paths listed here; no ticket types, due dates, \
followers, satisfaction ratings, macros, triggers, views or attachment uploads (use \
`/api/v1/uploads` and name the upload tokens in `comment.uploads`); search counts are exact on \
the last page only; incremental users and organizations are walked by id, not by change time; \
no `X-On-Behalf-Of`; no sideloads (`include=` is ignored, but for `include=comments` on the \
ticket exports). Ferrodesk extras: `internal_group_id`, `internal_agent_id` (shared ownership) \
on tickets, `sharing` on organizations, `internal_group_ids`/`all_groups` on statuses. The \
bodies below list the main properties, not every constant one Zendesk clients expect (`active`, \
`locale`, `via`…).";

const ERRORS: &[ErrorAnswer] = &[
    (
        "400",
        "`InvalidJSON`: the body is not JSON",
        Some("Error"),
        true,
    ),
    (
        "401",
        "`Couldn't authenticate you` (with `WWW-Authenticate: Basic`)",
        Some("Error"),
        false,
    ),
    (
        "403",
        "`{\"error\": {\"title\": \"Forbidden\", \"message\"}}`: not allowed (or two-factor \
         set-up owed)",
        Some("Error"),
        false,
    ),
    (
        "404",
        "`RecordNotFound`: no such record, or the caller may not see it",
        Some("Error"),
        false,
    ),
    (
        "409",
        "`UpdateConflict` (a stale `safe_update`) or `Conflict`",
        Some("Error"),
        true,
    ),
    (
        "413",
        "`RequestTooLarge`: the body is over 1 MiB (a `Content-Length` over it is refused \
         before the layer reads the body, as `application/problem+json`)",
        Some("Error"),
        true,
    ),
    (
        "422",
        "`RecordInvalid`: `details` names each field or parameter (in Zendesk's names: \
         `custom_status_id`, `collaborator_ids`, `comment`…) with `[{description, error, code}]`",
        Some("Error"),
        false,
    ),
    (
        "429",
        "`APIRateLimitExceeded`, with `Retry-After` in whole seconds",
        Some("Error"),
        false,
    ),
];

fn schemas() -> Vec<(&'static str, RefOr<Schema>)> {
    let via = ("via", T::Map, "`{channel: email|web|api, source}`");
    vec![
        (
            "Error",
            object(
                "Zendesk's error shape.",
                &[
                    (
                        "error",
                        T::Any,
                        "a word (`RecordNotFound`, `RecordInvalid`…), or `{title, message}` on 403",
                    ),
                    ("description", T::Str, ""),
                    (
                        "details",
                        T::Map,
                        "422: `{FIELD: [{description, error, code}]}`",
                    ),
                ],
            ),
        ),
        (
            "User",
            object(
                "`active` and `verified` are always true, `shared` and \
                 `only_private_comments` false.",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("name", T::Str, ""),
                    ("email", T::Str, ""),
                    ("role", T::OneOf(&["end-user", "agent", "admin"]), ""),
                    (
                        "ticket_restriction",
                        T::StrOrNull,
                        "end users: `requested` or `organization`; agents: `groups`, \
                         `assigned` or null (every ticket)",
                    ),
                    ("restricted_agent", T::Bool, ""),
                    ("organization_id", T::IntOrNull, "the default organization"),
                    ("organization_ids", T::Ints, ""),
                    ("default_group_id", T::IntOrNull, ""),
                    ("group_ids", T::Ints, ""),
                    ("suspended", T::Bool, ""),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "UserIn",
            object(
                "Other fields are ignored.",
                &[
                    ("name", T::Str, ""),
                    ("email", T::Str, ""),
                    (
                        "role",
                        T::OneOf(&["end-user", "agent", "admin"]),
                        "default end-user",
                    ),
                    (
                        "ticket_restriction",
                        T::StrOrNull,
                        "`organization` for an end user who sees the organization's tickets; \
                         `groups` or `assigned` for a restricted agent",
                    ),
                    ("organization_id", T::IntOrNull, ""),
                ],
            ),
        ),
        (
            "Organization",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("name", T::Str, ""),
                    (
                        "shared_tickets",
                        T::Bool,
                        "the sharing mode: own only = false/false, read only = true/false, \
                         read and write = true/true",
                    ),
                    ("shared_comments", T::Bool, ""),
                    (
                        "sharing",
                        T::OneOf(&["own_only", "read_only", "read_write"]),
                        "Ferrodesk's sharing mode",
                    ),
                    ("domain_names", T::Strs, ""),
                    ("details", T::Str, ""),
                    ("notes", T::Str, ""),
                    ("tags", T::Strs, ""),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "OrganizationIn",
            object(
                "",
                &[
                    ("name", T::Str, "required to create"),
                    ("domain_names", T::Strs, ""),
                    ("details", T::Str, ""),
                    ("notes", T::Str, ""),
                    ("tags", T::Strs, ""),
                    ("shared_tickets", T::Bool, "only the current value"),
                    ("shared_comments", T::Bool, "only the current value"),
                ],
            ),
        ),
        (
            "OrganizationMembership",
            object(
                "The id pairs the user's and the organization's ids: stable across reads.",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("user_id", T::Int, ""),
                    ("organization_id", T::Int, ""),
                    ("default", T::Bool, ""),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "Group",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("name", T::Str, ""),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "GroupMembership",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("user_id", T::Int, ""),
                    ("group_id", T::Int, ""),
                    ("default", T::Bool, "always false"),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "Ticket",
            object(
                "`type` and `due_at` are always null, `follower_ids` empty.",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("subject", T::Str, ""),
                    (
                        "description",
                        T::Str,
                        "the first comment: on single-ticket answers only",
                    ),
                    (
                        "status",
                        T::OneOf(&["open", "pending", "solved", "closed"]),
                        "the category of the ticket's status (`solved` is Resolved)",
                    ),
                    ("custom_status_id", T::Int, "the ticket's status"),
                    (
                        "priority",
                        T::OneOf(&["low", "normal", "high", "urgent"]),
                        "",
                    ),
                    ("requester_id", T::Int, ""),
                    ("submitter_id", T::Int, "the requester"),
                    ("assignee_id", T::IntOrNull, ""),
                    ("organization_id", T::IntOrNull, ""),
                    ("group_id", T::IntOrNull, ""),
                    ("collaborator_ids", T::Ints, "the CCs"),
                    ("email_cc_ids", T::Ints, "the CCs"),
                    ("tags", T::Strs, ""),
                    ("custom_fields", T::Refs("CustomFieldValue"), ""),
                    via,
                    (
                        "internal_group_id",
                        T::IntOrNull,
                        "Ferrodesk: the internal owning group (shared ownership); staff only",
                    ),
                    (
                        "internal_agent_id",
                        T::IntOrNull,
                        "Ferrodesk: the internal owning agent; staff only",
                    ),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "CustomFieldValue",
            object("", &[("id", T::Int, "the field"), ("value", T::Any, "")]),
        ),
        (
            "TicketIn",
            object(
                "Unknown fields (`id`…) are ignored.",
                &[
                    ("subject", T::Str, ""),
                    ("comment", T::Ref("CommentIn"), "or just its text"),
                    ("description", T::Str, "the first comment on create (zenpy)"),
                    ("requester_id", T::Int, ""),
                    ("organization_id", T::IntOrNull, ""),
                    (
                        "status",
                        T::OneOf(&["new", "open", "pending", "solved", "closed"]),
                        "the built-in status of that category (`new` is open; `hold` is \
                         refused: use a custom status of category pending)",
                    ),
                    ("custom_status_id", T::Int, "wins over `status`"),
                    (
                        "priority",
                        T::OneOf(&["low", "normal", "high", "urgent"]),
                        "",
                    ),
                    ("group_id", T::IntOrNull, ""),
                    ("assignee_id", T::IntOrNull, ""),
                    (
                        "internal_group_id",
                        T::IntOrNull,
                        "Ferrodesk: shared ownership",
                    ),
                    (
                        "internal_agent_id",
                        T::IntOrNull,
                        "Ferrodesk: shared ownership",
                    ),
                    ("collaborator_ids", T::Ints, "the CCs"),
                    (
                        "email_cc_ids",
                        T::Ints,
                        "the CCs, when `collaborator_ids` is absent",
                    ),
                    ("tags", T::Strs, ""),
                    (
                        "custom_fields",
                        T::Refs("CustomFieldValue"),
                        "or `{key: value}` by field key",
                    ),
                    (
                        "safe_update",
                        T::Bool,
                        "with `updated_stamp`: 409 when the ticket changed since",
                    ),
                    ("updated_stamp", T::Str, "the `updated_at` last read"),
                ],
            ),
        ),
        (
            "CommentIn",
            object(
                "",
                &[
                    ("body", T::Str, "plain text"),
                    ("html_body", T::Str, "taken when `body` is absent"),
                    ("public", T::Bool, ""),
                    (
                        "uploads",
                        T::Strs,
                        "upload tokens from `POST /api/v1/uploads`",
                    ),
                ],
            ),
        ),
        (
            "Audit",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("ticket_id", T::Int, ""),
                    ("author_id", T::Int, ""),
                    ("created_at", T::Time, ""),
                    (
                        "events",
                        T::Maps,
                        "the comment added (`type: Comment`) and the fields that \
                         changed (`Create`/`Change` with `field_name`, `value`, `previous_value`)",
                    ),
                ],
            ),
        ),
        (
            "Comment",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("type", T::Str, "`Comment`"),
                    ("author_id", T::Int, ""),
                    ("body", T::Str, ""),
                    ("html_body", T::Str, ""),
                    ("plain_body", T::Str, ""),
                    ("public", T::Bool, ""),
                    ("attachments", T::Refs("Attachment"), ""),
                    via,
                    ("created_at", T::Time, ""),
                ],
            ),
        ),
        (
            "Attachment",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("file_name", T::Str, ""),
                    ("content_type", T::Str, ""),
                    ("size", T::Int, ""),
                    (
                        "content_url",
                        T::StrOrNull,
                        "`/attachments/{id}/content` of this API; null when redacted",
                    ),
                    ("deleted", T::Bool, "redacted"),
                ],
            ),
        ),
        (
            "Request",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    ("subject", T::Str, ""),
                    ("description", T::Str, "single-request answers only"),
                    (
                        "status",
                        T::OneOf(&["open", "pending", "solved", "closed"]),
                        "",
                    ),
                    ("custom_status_id", T::Int, ""),
                    (
                        "priority",
                        T::OneOf(&["low", "normal", "high", "urgent"]),
                        "",
                    ),
                    ("requester_id", T::Int, ""),
                    ("organization_id", T::IntOrNull, ""),
                    ("assignee_id", T::IntOrNull, ""),
                    ("group_id", T::IntOrNull, ""),
                    ("collaborator_ids", T::Ints, ""),
                    ("email_cc_ids", T::Ints, ""),
                    ("can_be_solved_by_me", T::Bool, ""),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "RequestIn",
            object(
                "On create, the fields of `TicketIn` (an end user's status, group, assignee, \
                 ownership and tags are ignored); on update, a comment and `solved`.",
                &[
                    ("subject", T::Str, ""),
                    ("comment", T::Ref("CommentIn"), ""),
                    ("requester_id", T::Int, "staff only"),
                    ("collaborator_ids", T::Ints, ""),
                    ("solved", T::Bool, "update: solve the request"),
                ],
            ),
        ),
        (
            "CustomStatus",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    (
                        "status_category",
                        T::OneOf(&["open", "pending", "solved"]),
                        "Closed is `solved`",
                    ),
                    ("agent_label", T::Str, ""),
                    ("end_user_label", T::Str, ""),
                    ("default", T::Bool, "built in"),
                    ("position", T::Int, ""),
                    (
                        "internal_group_ids",
                        T::Ints,
                        "Ferrodesk: the internal groups the status maps",
                    ),
                    (
                        "all_groups",
                        T::Bool,
                        "Ferrodesk: the status maps every group",
                    ),
                ],
            ),
        ),
        (
            "TicketField",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("url", T::Str, ""),
                    (
                        "type",
                        T::OneOf(&["text", "decimal", "checkbox", "tagger", "date"]),
                        "",
                    ),
                    ("key", T::Str, ""),
                    ("title", T::Str, ""),
                    ("position", T::Int, ""),
                    ("active", T::Bool, ""),
                    (
                        "custom_field_options",
                        T::Maps,
                        "`{id, name, value}` of a dropdown's options",
                    ),
                ],
            ),
        ),
    ]
}
