//! The Freshdesk layer's route table, from which both its router and its OpenAPI document
//! (`/freshdesk/api/v2/openapi.json`) are built, and the shapes that document describes.

use axum::http::Method;
use axum::response::IntoResponse;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

use super::super::openapi::{ErrorAnswer, Layer, Param, Route, T, document, object};
use super::{PREFIX, directory, search, tickets};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;

/// Freshdesk's offset paging: answers are bare arrays with `Link: <…>; rel="next"` while
/// more follow.
const PAGING: &[Param] = &[
    Param {
        name: "page",
        t: T::Int,
        about: "The page number from 1. A page is reached by walking the earlier ones (cost \
                grows with the number).",
    },
    Param {
        name: "per_page",
        t: T::Int,
        about: "Records a page (1–100, default 30). Repeated (python-freshdesk): the first counts.",
    },
];

const TICKET_LIST: &[Param] = &[
    Param {
        name: "filter",
        t: T::OneOf(&[
            "new_and_my_open",
            "all_tickets",
            "spam",
            "deleted",
            "watching",
        ]),
        about: "Absent, `new_and_my_open` or `all_tickets`: every ticket the caller may see; \
                `spam`, `deleted`, `watching`: none.",
    },
    Param {
        name: "requester_id",
        t: T::Int,
        about: "Only tickets this user requested.",
    },
    Param {
        name: "email",
        t: T::Str,
        about: "Only tickets the user of this address requested.",
    },
    Param {
        name: "company_id",
        t: T::Int,
        about: "Only tickets of this organization.",
    },
    Param {
        name: "include",
        t: T::Str,
        about: "`description`: each ticket with `description` and `description_text` (one \
                comment read per ticket). `updated_since`, `order_by` and `order_type` are \
                ignored.",
    },
];

const TICKET_INCLUDE: &[Param] = &[Param {
    name: "include",
    t: T::Str,
    about: "Comma-separated: `conversations` adds the first ten conversations, `requester` \
            the requester's `{id, name, email}`.",
}];

const SEARCH: &[Param] = &[
    Param {
        name: "query",
        t: T::Str,
        about: "Required, in double quotes: `field:value` terms joined by `AND` on `status` (a \
                code), `priority` (1–4), `group_id`, `agent_id` (`null` = unassigned), \
                `requester_id`, `tag` (`'quoted'`). `OR`, parentheses, `:>`/`:<` and other \
                fields are refused with a 400 naming `query`.",
    },
    Param {
        name: "page",
        t: T::Int,
        about: "1 to 10; 30 results a page.",
    },
];

const CONTACT_FILTERS: &[Param] = &[
    Param {
        name: "email",
        t: T::Str,
        about: "The contact of this address (agents and admins).",
    },
    Param {
        name: "company_id",
        t: T::Int,
        about: "Only members of this organization.",
    },
];

const AGENT_FILTERS: &[Param] = &[Param {
    name: "email",
    t: T::Str,
    about: "The agent of this address.",
}];

const FIELD_FILTERS: &[Param] = &[Param {
    name: "type",
    t: T::Str,
    about: "Only fields of this type (`default_status`, `custom_text`…).",
}];

/// Every operation of the layer, relative to [`PREFIX`].
pub(super) fn table() -> Vec<Route> {
    let ticket = || T::Ref("Ticket").schema();
    let tickets = || T::Refs("Ticket").schema();
    let conversation = || T::Ref("Conversation").schema();
    vec![
        Route::new(GET, "/openapi.json", serve_document)
            .doc("This document", "")
            .public(),
        Route::new(GET, "/tickets", tickets::list)
            .doc(
                "Tickets",
                "Every ticket the caller may see, under the one access policy, by id.",
            )
            .query(PAGING)
            .query(TICKET_LIST)
            .answer(tickets()),
        Route::new(POST, "/tickets", tickets::create)
            .doc(
                "Create a ticket",
                "The requester is `requester_id`, or the user with `email`; staff naming an \
                 address no user has create that contact in the same transaction (a refused \
                 ticket leaves no contact). End users create tickets as themselves. HTML in \
                 `description` is stored as text. No attachments (multipart is a 400).",
            )
            .body(T::Ref("TicketIn").schema())
            .created(ticket()),
        Route::new(GET, "/tickets/{id}", tickets::show)
            .doc(
                "A ticket",
                "With `description`/`description_text`; a ticket the caller may not see \
                 answers 404.",
            )
            .query(TICKET_INCLUDE)
            .answer(ticket()),
        Route::new(PUT, "/tickets/{id}", tickets::update)
            .doc(
                "Change a ticket",
                "Changes the fields given (`null` clears group, responder, internal group and \
                 agent, company). The description is the first comment and is never edited: a \
                 new `description` is refused.",
            )
            .body(T::Ref("TicketIn").schema())
            .answer(ticket()),
        Route::new(GET, "/tickets/{id}/conversations", tickets::conversations)
            .doc(
                "A ticket's conversations",
                "The comments after the description, oldest first; end users never get notes.",
            )
            .query(PAGING)
            .answer(T::Refs("Conversation").schema()),
        Route::new(
            GET,
            "/attachments/{id}/content",
            tickets::attachment_content,
        )
        .doc(
            "A file's bytes",
            "The `attachment_url` of a ticket's or conversation's attachment: the file in its \
                 own content type, under the same policy as `/api/v1/attachments/{id}`, with this \
                 API's credentials. Not a Freshdesk path: Freshdesk gives signed links to its \
                 file store.",
        )
        .answer_as("*/*"),
        Route::new(POST, "/tickets/{id}/reply", tickets::reply)
            .doc(
                "Reply",
                "A public comment. `cc_emails`, `bcc_emails` and `from_email` are ignored (CCs \
                 belong to the ticket).",
            )
            .body(T::Ref("ReplyIn").schema())
            .created(conversation()),
        Route::new(POST, "/tickets/{id}/notes", tickets::note)
            .doc("Add a note", "A private comment unless `private: false`.")
            .body(T::Ref("NoteIn").schema())
            .created(conversation()),
        Route::new(GET, "/search/tickets", search::search)
            .doc(
                "Search tickets",
                "`total` counts at most the 300 results the pages reach.",
            )
            .query(SEARCH)
            .answer(object(
                "",
                &[("total", T::Int, ""), ("results", T::Refs("Ticket"), "")],
            )),
        Route::new(GET, "/contacts", directory::contacts)
            .doc("Contacts", "End users, by id.")
            .query(PAGING)
            .query(CONTACT_FILTERS)
            .answer(T::Refs("Contact").schema()),
        Route::new(GET, "/contacts/{id}", directory::contact)
            .doc(
                "A contact",
                "An end user (agents and admins are not contacts here).",
            )
            .answer(T::Ref("Contact").schema()),
        Route::new(GET, "/companies", directory::companies)
            .doc(
                "Companies",
                "Organizations: staff see all, end users their own.",
            )
            .query(PAGING)
            .answer(T::Refs("Company").schema()),
        Route::new(GET, "/companies/{id}", directory::company)
            .doc("A company", "")
            .answer(T::Ref("Company").schema()),
        Route::new(GET, "/agents", directory::agents)
            .doc("Agents", "Agents and admins, by id; for agents and admins.")
            .query(PAGING)
            .query(AGENT_FILTERS)
            .answer(T::Refs("Agent").schema()),
        Route::new(GET, "/agents/me", directory::me)
            .doc("The calling agent", "Agents and admins.")
            .answer(T::Ref("Agent").schema()),
        Route::new(GET, "/agents/{id}", directory::agent)
            .doc("An agent", "")
            .answer(T::Ref("Agent").schema()),
        Route::new(GET, "/roles", directory::roles)
            .doc("Roles", "Two: 1 Administrator, 2 Agent.")
            .answer(T::Refs("Role").schema()),
        Route::new(GET, "/groups", directory::groups)
            .doc("Groups", "Agents and admins.")
            .query(PAGING)
            .answer(T::Refs("Group").schema()),
        Route::new(GET, "/groups/{id}", directory::group)
            .doc("A group", "Agents and admins.")
            .answer(T::Ref("Group").schema()),
        Route::new(GET, "/ticket_fields", directory::ticket_fields)
            .doc(
                "Ticket fields",
                "Agents and admins. The built-in fields — `status` with every status's code as \
                 `{\"code\": [agent label, customer label]}` (plus our `internal_groups` per \
                 code), `priority`, `source`, `group`, `internal_group` — and the active custom \
                 fields as `cf_KEY`. Status codes assume this installation's status ids.",
            )
            .query(FIELD_FILTERS)
            .answer(T::Refs("TicketField").schema()),
    ]
}

/// The layer's OpenAPI document.
pub fn openapi() -> OpenApi {
    document(
        Layer {
            title: "Ferrodesk — Freshdesk-compatible API",
            about: ABOUT,
            prefix: PREFIX,
            basic: "`TOKEN:X`: a Ferrodesk API token as the user name (Freshdesk's API key), \
                    any password.",
            schemas: schemas(),
            errors: ERRORS,
        },
        &table(),
    )
}

async fn serve_document() -> axum::response::Response {
    axum::Json(openapi()).into_response()
}

const ABOUT: &str = "Freshdesk's API v2 for python-freshdesk and scripts written against it: a \
translation onto the same use cases and access policy as `/api/v1` (a ticket the caller may not \
see answers 404 through every path). Lists are bare JSON arrays, paged by `page` and `per_page`, \
with `Link: <…>; rel=\"next\"` only while more follow. Repeated query keys count once (the \
first), unknown keys and unknown body fields are ignored. Answers let through carry \
`X-Ratelimit-Total`/`-Remaining`/`-Used-CurrentRequest`.\n\n\
**Codes**: ticket `status` is our status id + 1 (Open, Pending, Resolved, Closed are 2–5; \
custom statuses 6 and up); `priority` low/normal/high/urgent = 1–4; `source` email 1, portal \
and API 2, agent-entered 3.\n\n\
**What differs from Freshdesk**: only the paths listed here; no writes to contacts, companies \
or agents; no attachment upload (multipart is a 400); list parameters `updated_since`, \
`order_by`, `order_type` and `include` (but `include=description` on `GET /tickets`) are \
ignored; pages asked for by number are reached by walking earlier pages; `cc_emails` on a reply \
is ignored; `view_all_tickets` is the user's own access setting, which the organization's \
sharing mode can widen; status codes assume this installation's status ids. Ferrodesk extras: \
`internal_group_id`, `internal_agent_id` (shared ownership) on tickets, `sharing` on companies. \
The bodies below list the main properties, not every constant one Freshdesk clients expect.";

const ERRORS: &[ErrorAnswer] = &[
    (
        "400",
        "`Validation failed`: `errors` names each field or parameter in Freshdesk's names \
         (`status`, `responder_id`, `company_id`, `cc_emails`, `cf_KEY`…) with Freshdesk's codes \
         (`missing_field`, `invalid_value`, `datatype_mismatch`, `invalid_json`, \
         `readonly_field`…)",
        Some("ValidationError"),
        false,
    ),
    ("401", "`invalid_credentials`", Some("Error"), false),
    (
        "403",
        "`access_denied`: not allowed (or two-factor set-up owed)",
        Some("Error"),
        false,
    ),
    (
        "404",
        "no such record, or the caller may not see it (empty body)",
        None,
        false,
    ),
    (
        "409",
        "`inconsistent_state`: conflicts with the ticket's current state",
        Some("ValidationError"),
        true,
    ),
    (
        "413",
        "`invalid_size`: the body is over 1 MiB (a `Content-Length` over it is refused before \
         the layer reads the body, as `application/problem+json`)",
        Some("Error"),
        true,
    ),
    (
        "429",
        "`rate_limited`, with `Retry-After` in whole seconds",
        Some("Error"),
        false,
    ),
];

fn schemas() -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        (
            "Error",
            object("", &[("code", T::Str, ""), ("message", T::Str, "")]),
        ),
        (
            "ValidationError",
            object(
                "",
                &[
                    ("description", T::Str, "`Validation failed` or `Conflict`"),
                    ("errors", T::Maps, "`{field, message, code}` each"),
                ],
            ),
        ),
        (
            "Ticket",
            object(
                "`type`, `due_by`, `fr_due_by`, `to_emails` are null, `spam` and `is_escalated` \
                 false. Fields end users may not see (group, internal owner, tags) are left out \
                 for them.",
                &[
                    ("id", T::Int, ""),
                    ("subject", T::Str, ""),
                    (
                        "description",
                        T::Str,
                        "HTML: the first comment, escaped; single tickets (and \
                         `include=description`) only",
                    ),
                    ("description_text", T::Str, "the first comment's text"),
                    ("status", T::Int, "our status id + 1"),
                    ("priority", T::Int, "1 low, 2 normal, 3 high, 4 urgent"),
                    (
                        "source",
                        T::Int,
                        "1 email, 2 portal or API, 3 agent-entered",
                    ),
                    ("requester_id", T::Int, ""),
                    ("responder_id", T::IntOrNull, "the assignee"),
                    ("company_id", T::IntOrNull, "the organization"),
                    ("group_id", T::IntOrNull, ""),
                    ("cc_emails", T::Strs, "the CCs the caller may see"),
                    ("reply_cc_emails", T::Strs, "the same"),
                    ("tags", T::Strs, ""),
                    ("custom_fields", T::Map, "`{cf_KEY: value}`"),
                    (
                        "internal_group_id",
                        T::IntOrNull,
                        "Ferrodesk: the internal owning group (shared ownership)",
                    ),
                    (
                        "internal_agent_id",
                        T::IntOrNull,
                        "Ferrodesk: the internal owning agent",
                    ),
                    (
                        "conversations",
                        T::Refs("Conversation"),
                        "with `include=conversations`",
                    ),
                    ("requester", T::Map, "with `include=requester`"),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "TicketIn",
            object(
                "Unknown fields are ignored.",
                &[
                    ("subject", T::Str, ""),
                    (
                        "description",
                        T::Str,
                        "HTML or text, stored as text (create only)",
                    ),
                    ("requester_id", T::Int, ""),
                    ("email", T::Str, "the requester's address"),
                    ("name", T::Str, "a new contact's name"),
                    ("status", T::Int, "a code: our status id + 1"),
                    ("priority", T::Int, "1–4"),
                    ("group_id", T::IntOrNull, ""),
                    ("responder_id", T::IntOrNull, "the assignee"),
                    ("company_id", T::IntOrNull, "the organization"),
                    (
                        "internal_group_id",
                        T::IntOrNull,
                        "Ferrodesk: shared ownership; a group the status does not map is a 400",
                    ),
                    (
                        "internal_agent_id",
                        T::IntOrNull,
                        "Ferrodesk: shared ownership",
                    ),
                    ("tags", T::Strs, ""),
                    ("cc_emails", T::Strs, "addresses of existing users"),
                    ("custom_fields", T::Map, "`{cf_KEY: value}`"),
                ],
            ),
        ),
        (
            "Conversation",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("body", T::Str, "HTML: the text, escaped"),
                    ("body_text", T::Str, ""),
                    ("private", T::Bool, ""),
                    ("incoming", T::Bool, "came by email"),
                    ("source", T::Int, "0 reply, 2 note"),
                    ("user_id", T::Int, "the author"),
                    ("ticket_id", T::Int, ""),
                    (
                        "attachments",
                        T::Maps,
                        "`{id, name, content_type, size, attachment_url}` each",
                    ),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "ReplyIn",
            object(
                "",
                &[
                    ("body", T::Str, "HTML or text, stored as text"),
                    (
                        "user_id",
                        T::Int,
                        "only the token's own user (comments are written by the user the key \
                         belongs to)",
                    ),
                ],
            ),
        ),
        (
            "NoteIn",
            object(
                "",
                &[
                    ("body", T::Str, "HTML or text, stored as text"),
                    ("private", T::Bool, "default true"),
                    ("user_id", T::Int, "only the token's own user"),
                ],
            ),
        ),
        (
            "Contact",
            object(
                "An end user.",
                &[
                    ("id", T::Int, ""),
                    ("name", T::Str, ""),
                    ("email", T::StrOrNull, ""),
                    ("active", T::Bool, "not suspended"),
                    ("company_id", T::IntOrNull, "the default organization"),
                    (
                        "view_all_tickets",
                        T::Bool,
                        "the user's access is `organization` (the organization's sharing mode \
                         can widen what they see)",
                    ),
                    (
                        "other_companies",
                        T::Maps,
                        "`{company_id, view_all_tickets}` of the other memberships",
                    ),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "Agent",
            object(
                "An agent or admin.",
                &[
                    ("id", T::Int, ""),
                    (
                        "ticket_scope",
                        T::Int,
                        "1 global (admins too), 2 group, 3 restricted (assigned)",
                    ),
                    ("group_ids", T::Ints, ""),
                    ("role_ids", T::Ints, "`[1]` Administrator, `[2]` Agent"),
                    ("contact", T::Map, "`{name, email, active…}`"),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "Company",
            object(
                "An organization.",
                &[
                    ("id", T::Int, ""),
                    ("name", T::Str, ""),
                    ("description", T::StrOrNull, "the organization's details"),
                    ("note", T::StrOrNull, "the organization's notes"),
                    ("domains", T::Strs, ""),
                    (
                        "sharing",
                        T::OneOf(&["own_only", "read_only", "read_write"]),
                        "Ferrodesk's sharing mode (Freshdesk has no such field)",
                    ),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "Role",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("name", T::Str, ""),
                    ("description", T::Str, ""),
                    ("default", T::Bool, ""),
                ],
            ),
        ),
        (
            "Group",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("name", T::Str, ""),
                    ("agent_ids", T::Ints, ""),
                    ("created_at", T::Time, ""),
                    ("updated_at", T::Time, ""),
                ],
            ),
        ),
        (
            "TicketField",
            object(
                "",
                &[
                    ("id", T::Int, ""),
                    ("name", T::Str, "`status`, `priority`… or `cf_KEY`"),
                    ("label", T::Str, ""),
                    ("position", T::Int, ""),
                    ("type", T::Str, "`default_NAME` or `custom_TYPE`"),
                    ("default", T::Bool, "built in"),
                    (
                        "choices",
                        T::Any,
                        "status: `{code: [agent label, customer label]}`; others by name",
                    ),
                    (
                        "internal_groups",
                        T::Map,
                        "status only: the internal groups each code maps (Ferrodesk)",
                    ),
                ],
            ),
        ),
    ]
}
