//! A Zendesk account generated in memory, answered to the importer as its API would
//! (`ferrodesk_app::imports::Answers`): the directory of `bench/import/run` (30 groups, 200
//! agents, TICKETS/100 organizations with all three sharing modes, TICKETS/10 end users,
//! memberships) and TICKETS tickets with COMMENTS comments each, in the incremental export's
//! pages of 1,000 with the comments sideloaded. Used by `ferrodesk-import-write` and the
//! import tests.
//!
//! Some tickets are shaped to exercise every rule of the writer: every tenth is Customer
//! Responded with an internal group (every twentieth also with an internal agent of that
//! group), every 1,000th names an internal agent who is not a member of its internal group
//! (kept without its internal owner, and reported), every fourth has a CC and two tags, the
//! third comment of each ticket is private.

use std::sync::Arc;

use serde_json::{Value, json};

/// The generated account's ids: groups 1..=30, agents 1001..=1200, organizations
/// 5001.., end users 100001.., the admin 99.
pub struct Shape {
    tickets: i64,
    comments: i64,
    organizations: i64,
    end_users: i64,
}

const GROUPS: i64 = 30;
const AGENTS: i64 = 200;
const AGENT0: i64 = 1000;
const ORG0: i64 = 5000;
const USER0: i64 = 100_000;
const TICKET0: i64 = 1_000_000;
const PER_PAGE: i64 = 1000;

const BODIES: [&str; 8] = [
    "The paper tray is empty again and the printer blinks red",
    "Please send the invoice copy with the corrected amount",
    "We restarted the router and the VPN is stable now",
    "The printer driver update failed on two laptops",
    "Our finance team needs the refund confirmed this week",
    "Password reset emails arrive after an hour",
    "The dashboard export times out for large accounts",
    "Thanks for the quick answer, it works",
];

/// An RFC 3339 time `minutes` after 2026-01-01T00:00:00Z (within the year).
fn time(minutes: i64) -> String {
    let days_in = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut day = (minutes / 1440) % 365;
    let rest = minutes % 1440;
    let mut month = 0;
    while day >= days_in[month] {
        day -= days_in[month];
        month += 1;
    }
    format!(
        "2026-{:02}-{:02}T{:02}:{:02}:00Z",
        month + 1,
        day + 1,
        rest / 60,
        rest % 60
    )
}

/// The first (and, in this account, only) group of agent `a` (1-based).
fn group_of_agent(a: i64) -> i64 {
    (a - 1) % GROUPS + 1
}

impl Shape {
    /// An account of `tickets` tickets with `comments` comments each.
    pub fn new(tickets: i64, comments: i64) -> Shape {
        Shape {
            tickets,
            comments,
            organizations: (tickets / 100).max(1),
            end_users: (tickets / 10).max(1),
        }
    }

    /// The account as the importer's source, answering from memory; `fails_from` makes the
    /// export page of that ticket index (and every later one) a 404, a source that breaks
    /// part-way through the tickets.
    pub fn answers(self, fails_from: Option<i64>) -> ferrodesk_app::imports::Answers {
        Arc::new(move |path| {
            let cursor = path
                .split_once("cursor=")
                .and_then(|(_, c)| c.parse::<i64>().ok())
                .unwrap_or(0);
            if fails_from.is_some_and(|f| cursor >= f) {
                return None;
            }
            self.answer(path)
        })
    }

    fn list(&self, key: &str, items: Vec<Value>) -> Value {
        json!({ key: items, "next_page": null })
    }

    fn ticket(&self, k: i64) -> Value {
        let requester = USER0 + 1 + (k * 7919) % self.end_users;
        let org = ORG0 + 1 + (requester - USER0 - 1) % self.organizations;
        let group = (k % GROUPS) + 1;
        // An agent of `group`: agents a with (a - 1) % GROUPS == group - 1.
        let agent_of = |g: i64, n: i64| AGENT0 + g + GROUPS * (n % (AGENTS / GROUPS));
        let assignee = ((k / 11) % 3 != 0).then(|| agent_of(group, k / 7));
        let shared = k % 10 == 9;
        let internal_group = shared.then_some((k + 3) % GROUPS + 1);
        let internal_agent = if k % 1000 == 999 {
            // Not a member of the internal group: kept without its internal owner.
            internal_group.map(|g| agent_of(g % GROUPS + 1, k))
        } else if k % 20 == 19 {
            internal_group.map(|g| agent_of(g, k))
        } else {
            None
        };
        let status = match (k / 30) % 4 {
            _ if shared => "open",
            0 | 1 => "open",
            2 => "pending",
            _ => "solved",
        };
        let created = k % 500_000;
        let comments: Vec<Value> = (1..=self.comments)
            .map(|j| {
                let n = (k * 31 + j * 17) % 8;
                json!({
                    "id": (TICKET0 + k) * 10 + j,
                    "author_id": if j % 2 == 0 { assignee.unwrap_or(requester) } else { requester },
                    "plain_body": format!("{} ref{}", BODIES[n as usize], (k * 31 + j * 17) % 1000),
                    "public": j != 3,
                    "created_at": time(created + j),
                })
            })
            .collect();
        json!({
            "id": TICKET0 + k,
            "subject": match k % 5 {
                0 => format!("Printer jams on floor {}", k % 9),
                1 => "Invoice shows the wrong amount".to_owned(),
                2 => "Cannot sign in to the portal".to_owned(),
                3 => format!("Refund for order {k}"),
                _ => "VPN drops every hour".to_owned(),
            },
            "status": status,
            "custom_status_id": if shared { json!(5) } else { Value::Null },
            "priority": (["low", "normal", "high", "urgent"])[(k % 4) as usize],
            "requester_id": requester,
            "organization_id": org,
            "group_id": group,
            "assignee_id": assignee,
            "internal_group_id": internal_group,
            "internal_agent_id": internal_agent,
            "collaborator_ids": if k % 4 == 0 { json!([USER0 + 1 + (k * 13) % self.end_users]) } else { json!([]) },
            "tags": if k % 4 == 0 { json!(["imported", format!("batch{}", k % 7)]) } else { json!([]) },
            "custom_fields": [],
            "via": { "channel": "api" },
            "created_at": time(created),
            "updated_at": time(created + self.comments + 1),
            "description": comments.first().map(|c| c["plain_body"].clone()),
            "comments": comments,
        })
    }

    /// The answer to `path`.
    fn answer(&self, path: &str) -> Option<Value> {
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        Some(match route {
            "/users/me.json" => json!({ "user": { "id": 99, "role": "admin" } }),
            "/groups.json" => self.list(
                "groups",
                (1..=GROUPS)
                    .map(|g| json!({ "id": g, "name": format!("Group {g}") }))
                    .collect(),
            ),
            "/group_memberships.json" => self.list(
                "group_memberships",
                (1..=AGENTS)
                    .map(|a| json!({ "user_id": AGENT0 + a, "group_id": group_of_agent(a) }))
                    .collect(),
            ),
            "/custom_statuses.json" => json!({ "custom_statuses": [
                { "id": 1, "agent_label": "Open", "status_category": "open", "default": true },
                { "id": 2, "agent_label": "Pending", "status_category": "pending", "default": true },
                { "id": 3, "agent_label": "Solved", "status_category": "solved", "default": true },
                { "id": 5, "agent_label": "Customer Responded", "status_category": "open", "all_groups": true },
            ] }),
            "/ticket_fields.json" => self.list("ticket_fields", Vec::new()),
            "/organizations.json" => self.list(
                "organizations",
                (1..=self.organizations)
                    .map(|o| {
                        json!({
                            "id": ORG0 + o,
                            "name": format!("Org {o}"),
                            "shared_tickets": o % 3 != 0,
                            "shared_comments": o % 3 == 1,
                        })
                    })
                    .collect(),
            ),
            "/organization_memberships.json" => self.list(
                "organization_memberships",
                (1..=self.end_users)
                    .map(|u| {
                        json!({
                            "user_id": USER0 + u,
                            "organization_id": ORG0 + 1 + (u - 1) % self.organizations,
                            "default": true,
                        })
                    })
                    .collect(),
            ),
            "/users.json" => {
                let mut users = vec![json!({
                    "id": 99, "name": "Bench Admin", "email": "bench-admin@bench.example", "role": "admin",
                })];
                users.extend((1..=AGENTS).map(|a| {
                    json!({
                        "id": AGENT0 + a, "name": format!("Agent {a}"),
                        "email": format!("agent{a}@bench.example"), "role": "agent",
                        "ticket_restriction": ([json!("groups"), json!("assigned"), Value::Null])[(a % 3) as usize].clone(),
                    })
                }));
                users.extend((1..=self.end_users).map(|u| {
                    json!({
                        "id": USER0 + u, "name": format!("Customer {u}"),
                        "email": format!("customer{u}@bench.example"), "role": "end-user",
                        "ticket_restriction": if u % 5 == 0 { "organization" } else { "requested" },
                    })
                }));
                self.list("users", users)
            }
            "/incremental/tickets/cursor.json" => {
                let from: i64 = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("cursor="))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let to = (from + PER_PAGE).min(self.tickets);
                let end = to >= self.tickets;
                json!({
                    "tickets": (from..to).map(|k| self.ticket(k)).collect::<Vec<_>>(),
                    "after_url": (!end).then(|| format!("/incremental/tickets/cursor.json?cursor={to}")),
                    "end_of_stream": end,
                })
            }
            _ => return None,
        })
    }
}
