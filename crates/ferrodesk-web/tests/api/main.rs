//! Black-box HTTP tests of `/api/v1`: the real router on port 0, over a fresh SQLite file
//! and a fresh PostgreSQL database each. Every test runs on both.

mod access;
mod attachments;
mod auth;
mod bulk;
mod concurrency;
mod directory;
mod freshdesk;
mod macros;
mod mail_templates;
mod openapi;
mod openapi_vendors;
mod outbox;
mod ownership;
mod robustness;
mod rules;
mod search;
mod security;
mod sharing;
mod tickets;
mod views;
mod worlds;
mod zendesk;
