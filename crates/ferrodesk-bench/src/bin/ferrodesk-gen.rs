//! Loads a synthetic helpdesk into an empty, migrated database: groups, agents,
//! organizations, end users, tickets with comments and the search index — generated inside
//! the database with one SQL text for SQLite and PostgreSQL (a recursive counter), so a
//! million tickets take minutes, not hours. Prints the tokens and id ranges the load
//! scripts need as JSON.
//!
//! Organization 1 shares read-only and gets every tenth ticket, so at 1,000,000 tickets one
//! end user's organization holds 100,000 tickets. Statuses do not follow groups (every group has
//! tickets in each status); every tenth ticket is Customer Responded with
//! an internal group, every twentieth also with an internal agent (a member of that group).

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use ferrodesk_app::dto::UserIn;
use ferrodesk_app::{Actor, App, Config, SystemClock};
use ferrodesk_core::{Channel, Role, UserId};
use ferrodesk_store::Store;
use serde_json::json;
use sqlx::Connection;

#[derive(Parser)]
struct Args {
    /// Database URL (sqlite://… or postgres://…), already empty.
    #[arg(long)]
    database_url: String,
    /// Tickets.
    #[arg(long, default_value_t = 100_000)]
    tickets: i64,
    /// Comments per ticket.
    #[arg(long, default_value_t = 5)]
    comments_per_ticket: i64,
    /// Organizations.
    #[arg(long, default_value_t = 10_000)]
    organizations: i64,
    /// End users.
    #[arg(long, default_value_t = 100_000)]
    end_users: i64,
    /// Agents.
    #[arg(long, default_value_t = 200)]
    agents: i64,
    /// Groups.
    #[arg(long, default_value_t = 30)]
    groups: i64,
}

const COUNTER: &str =
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) ";
const CHUNK: i64 = 50_000;

async fn max_id(c: &mut sqlx::AnyConnection, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(MAX(id), 0) FROM {table}"
    )))
    .fetch_one(c)
    .await
    .expect("max id")
}

async fn run(c: &mut sqlx::AnyConnection, sql: &str, binds: &[i64]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(c).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let started = Instant::now();
    let store = Store::connect(&a.database_url).await.expect("connect");
    store.migrate().await.expect("migrate");
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&a.database_url)
        .await
        .expect("connect");
    if a.database_url.starts_with("sqlite") {
        sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -200000")
            .execute(&mut c)
            .await
            .expect("pragmas");
    }
    let now: i64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64;
    let day = 86_400_000_000i64;

    let g0 = max_id(&mut c, "agent_groups").await;
    run(&mut c, &format!("{COUNTER}INSERT INTO agent_groups (name, name_lower, created_at, updated_at) SELECT 'Group ' || i, 'group ' || i, $2, $2 FROM s"), &[a.groups, now]).await;
    let u0 = max_id(&mut c, "users").await;
    run(&mut c, &format!("{COUNTER}INSERT INTO users (name, email, email_lower, role, ticket_scope, access, suspended, created_at, updated_at) \
        SELECT 'Agent ' || i, 'agent' || i || '@bench.example', 'agent' || i || '@bench.example', 'agent', \
        CASE i % 3 WHEN 0 THEN 'global' WHEN 1 THEN 'group' ELSE 'assigned' END, 'requested', 0, $2, $2 FROM s"), &[a.agents, now]).await;
    run(&mut c, &format!("{COUNTER}INSERT INTO group_members (group_id, user_id, created_at) SELECT $2 + ((i - 1) % $3) + 1, $4 + i, $5 FROM s"), &[a.agents, g0, a.groups, u0, now]).await;
    run(&mut c, &format!("{COUNTER}INSERT INTO group_members (group_id, user_id, created_at) SELECT $2 + ((i + 6) % $3) + 1, $4 + i, $5 FROM s WHERE ((i + 6) % $3) <> ((i - 1) % $3)"), &[a.agents, g0, a.groups, u0, now]).await;
    let o0 = max_id(&mut c, "organizations").await;
    run(&mut c, &format!("{COUNTER}INSERT INTO organizations (name, name_lower, domain_names, details, notes, tags, sharing, sharing_blocked, sharing_blocked_reason, auto_join_by_domain, created_at, updated_at) \
        SELECT 'Org ' || i, 'org ' || i, '[]', '', '', '[]', CASE WHEN i = 1 THEN 'read_only' ELSE 'own_only' END, 0, '', 0, $2, $2 FROM s"), &[a.organizations, now]).await;
    let e0 = max_id(&mut c, "users").await;
    run(&mut c, &format!("{COUNTER}INSERT INTO users (name, email, email_lower, role, ticket_scope, access, suspended, default_organization_id, created_at, updated_at) \
        SELECT 'Customer ' || i, 'customer' || i || '@bench.example', 'customer' || i || '@bench.example', 'end_user', 'global', 'requested', 0, $2 + ((i - 1) % $3) + 1, $4, $4 FROM s"), &[a.end_users, o0, a.organizations, now]).await;
    run(&mut c, &format!("{COUNTER}INSERT INTO organization_members (organization_id, user_id, created_at) SELECT $2 + ((i - 1) % $3) + 1, $4 + i, $5 FROM s"), &[a.end_users, o0, a.organizations, e0, now]).await;
    let people = Instant::now();
    eprintln!("people loaded in {:.1}s", started.elapsed().as_secs_f64());

    let t0 = max_id(&mut c, "tickets").await;
    let m0 = max_id(&mut c, "comments").await;
    let pg = !a.database_url.starts_with("sqlite");
    let mut done = 0;
    while done < a.tickets {
        let n = CHUNK.min(a.tickets - done);
        // Ticket k = done + i. Every tenth belongs to organization 1 (requested by one of its
        // members); the others to their requester's organization.
        let requester = "CASE WHEN (k % 10) = 0 THEN $3 + 1 + ((k / 10) % $13) * $4 ELSE $3 + 1 + ((k * 7919) % $5) END";
        let sql = format!(
            "{COUNTER}, t(k) AS (SELECT $2 + i FROM s) INSERT INTO tickets (subject, requester_id, organization_id, status_id, priority, group_id, assignee_id, internal_group_id, internal_agent_id, channel, created_at, updated_at, version) \
             SELECT CASE k % 5 WHEN 0 THEN 'Printer jams on floor ' || (k % 9) WHEN 1 THEN 'Invoice shows the wrong amount' WHEN 2 THEN 'Cannot sign in to the portal' WHEN 3 THEN 'Refund for order ' || k ELSE 'VPN drops every hour' END, \
             {requester}, $6 + ((({requester}) - $3 - 1) % $4) + 1, \
             CASE (k / 30) % 10 WHEN 0 THEN 1 WHEN 1 THEN 1 WHEN 2 THEN 1 WHEN 3 THEN 1 WHEN 4 THEN 2 WHEN 5 THEN 2 WHEN 6 THEN 3 WHEN 7 THEN 3 WHEN 8 THEN 4 ELSE 5 END, \
             CASE k % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'normal' WHEN 2 THEN 'high' ELSE 'urgent' END, \
             $7 + (k % $8) + 1, CASE WHEN (k / 11) % 3 = 0 THEN NULL ELSE $9 + ((k % $8) + (($8) * ((k / 7) % ($10 / $8)))) + 1 END, \
             CASE WHEN (k / 30) % 10 = 9 THEN $7 + ((k + 3) % $8) + 1 ELSE NULL END, \
             CASE WHEN (k / 30) % 20 = 9 THEN $9 + ((k + 3) % $8) + ($8 * ((k / 7) % ($10 / $8))) + 1 ELSE NULL END, 'api', $11 - ((k * 104729) % 7776000) * 1000000 - $12, $11 - ((k * 104729) % 7776000) * 1000000, 1 FROM t"
        );
        run(
            &mut c,
            &sql,
            &[
                n,
                t0 + done,
                e0,
                a.organizations,
                a.end_users,
                o0,
                g0,
                a.groups,
                u0,
                a.agents,
                now,
                day,
                (a.end_users / a.organizations).max(1),
            ],
        )
        .await;
        let comments = format!(
            "{COUNTER}, t(k) AS (SELECT $2 + i FROM s), r(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM r WHERE j < $3) \
             INSERT INTO comments (ticket_id, author_id, body, public, channel, created_at) \
             SELECT $4 + k, tk.requester_id, CASE (k * 31 + j * 17) % 8 WHEN 0 THEN 'The paper tray is empty again and the printer blinks red' WHEN 1 THEN 'Please send the invoice copy with the corrected amount' WHEN 2 THEN 'We restarted the router and the VPN is stable now' WHEN 3 THEN 'The printer driver update failed on two laptops' WHEN 4 THEN 'Our finance team needs the refund confirmed this week' WHEN 5 THEN 'Password reset emails arrive after an hour' WHEN 6 THEN 'The dashboard export times out for large accounts' ELSE 'Thanks for the quick answer, it works' END || ' ref' || ((k * 31 + j * 17) % 1000), \
             CASE WHEN j = 3 THEN 0 ELSE 1 END, 'api', tk.created_at + j * 60000000 FROM t CROSS JOIN r JOIN tickets tk ON tk.id = $4 + k"
        );
        run(&mut c, &comments, &[n, done, a.comments_per_ticket, t0]).await;
        let search = if pg {
            "INSERT INTO ticket_search (ticket_id, subject, public_text, private_text) \
             SELECT t.id, t.subject, COALESCE((SELECT string_agg(m.body, E'\\n') FROM comments m WHERE m.ticket_id = t.id AND m.public = 1), ''), \
             COALESCE((SELECT string_agg(m.body, E'\\n') FROM comments m WHERE m.ticket_id = t.id AND m.public = 0), '') FROM tickets t WHERE t.id > $1 AND t.id <= $2"
        } else {
            "INSERT INTO ticket_search (rowid, subject, public_text, private_text) \
             SELECT t.id, t.subject, COALESCE((SELECT group_concat(m.body, char(10)) FROM comments m WHERE m.ticket_id = t.id AND m.public = 1), ''), \
             COALESCE((SELECT group_concat(m.body, char(10)) FROM comments m WHERE m.ticket_id = t.id AND m.public = 0), '') FROM tickets t WHERE t.id > $1 AND t.id <= $2"
        };
        run(&mut c, search, &[t0 + done, t0 + done + n]).await;
        done += n;
        eprintln!(
            "{done} tickets ({:.0} tickets/s)",
            done as f64 / people.elapsed().as_secs_f64()
        );
    }
    // After a bulk load, what an operator runs after an import: statistics, and on PostgreSQL
    // the visibility map (index-only counts) and a compact ticket_counts (the load's million
    // trigger updates left dead row versions that autovacuum would otherwise clear later).
    // (One statement per call: PostgreSQL runs several in one call as a transaction, and
    // VACUUM refuses to run in one.)
    let maintenance: &[&str] = if pg {
        &["VACUUM FULL ticket_counts", "VACUUM ANALYZE"]
    } else {
        &["ANALYZE"]
    };
    for sql in maintenance {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut c)
            .await
            .expect("maintenance");
    }
    let _ = m0;
    let load_secs = people.elapsed().as_secs_f64();

    let app = App::new(store, Arc::new(SystemClock), Config::default());
    let admin = app
        .create_user_as_system(UserIn {
            name: "Bench Admin".into(),
            email: "bench-admin@bench.example".into(),
            role: Some(Role::Admin),
            ticket_scope: None,
            access: None,
            password: None,
            organization_ids: vec![],
            default_organization_id: None,
            group_ids: vec![],
        })
        .await
        .expect("admin");
    let token = |id: i64| {
        let app = app.clone();
        async move {
            app.issue_token(UserId(id), "bench", Actor::system(Channel::Cli))
                .await
                .expect("token")
                .token
        }
    };
    // Agent 3 has the global scope (i % 3 == 0); agent 1 the group scope, agent 2 the assigned
    // scope; end user 1 is in org 1.
    let out = json!({
        "tickets": a.tickets,
        "first_ticket_id": t0 + 1,
        "org1_ticket_stride": 10,
        "admin_token": token(admin.id).await,
        "agent_global_token": token(u0 + 3).await,
        "agent_group_token": token(u0 + 1).await,
        "agent_assigned_token": token(u0 + 2).await,
        "end_user_org1_token": token(e0 + 1).await,
        "end_user_org1_id": e0 + 1,
        "load_seconds": load_secs,
        "tickets_per_second": a.tickets as f64 / load_secs,
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    println!("{out}");
}
