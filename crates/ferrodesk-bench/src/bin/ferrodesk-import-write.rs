//! The write path of `ferrodesk import zendesk` on its own: a Zendesk account generated in
//! memory (the directory of `bench/import/run`: 30 groups, 200 agents, TICKETS/100
//! organizations, TICKETS/10 end users; TICKETS tickets with COMMENTS comments each, in the
//! incremental export's pages of 1,000 with the comments sideloaded) is imported into an
//! empty database through the importer's own code (`App::import_zendesk_answered`: the same
//! directory steps, ticket translation and page writer as a real run), without HTTP. Prints
//! the tickets and comments written per second of the page writer's transactions, and of
//! the whole ticket phase, then checks the audit chain. The account is
//! `ferrodesk_bench::zendesk_account`. On PostgreSQL the import into the empty database is an
//! initial load (unless `--no-initial-load`): the page transactions plus the time spent
//! dropping and adding back the ticket tables' indexes and foreign keys count as writing.

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use ferrodesk_app::{App, Config, SystemClock};
use ferrodesk_bench::zendesk_account::Shape;
use ferrodesk_store::Store;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Database URL (sqlite://… or postgres://…), empty.
    #[arg(long)]
    database_url: String,
    /// Tickets.
    #[arg(long, default_value_t = 100_000)]
    tickets: i64,
    /// Comments per ticket.
    #[arg(long, default_value_t = 5)]
    comments_per_ticket: i64,
    /// Write with every index and foreign key in place (no initial load on PostgreSQL).
    #[arg(long)]
    no_initial_load: bool,
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let store = Store::connect(&a.database_url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let backend = store.backend().name();
    let config = Config {
        import_initial_load: !a.no_initial_load,
        ..Config::default()
    };
    let app = App::new(store, Arc::new(SystemClock), config);
    let answers = Shape::new(a.tickets, a.comments_per_ticket).answers(None);
    let started = Instant::now();
    let tickets_began = std::sync::Mutex::new(None::<Instant>);
    let progress = |line: &str| {
        if line.starts_with("users done") {
            *tickets_began.lock().expect("lock") = Some(Instant::now());
        }
        eprintln!("{:6.1}s {line}", started.elapsed().as_secs_f64());
    };
    let report = app
        .import_zendesk_answered("bench.zendesk.example", answers, None, &progress)
        .await
        .expect("import");
    let phase = tickets_began
        .lock()
        .expect("lock")
        .map_or(started.elapsed(), |t| t.elapsed())
        .as_secs_f64();
    let count = |kind: &str| report.counts.get(kind).map_or(0, |c| c.imported);
    let (tickets, comments) = (count("tickets"), count("comments"));
    let rebuilding = report.initial_load.unwrap_or_default().as_secs_f64();
    let writing = report.ticket_writing.as_secs_f64() + rebuilding;
    for (kind, c) in &report.counts {
        eprintln!(
            "{kind}: {} imported, {} already here, {} left out",
            c.imported, c.already, c.skipped
        );
    }
    let kept = report
        .notes
        .iter()
        .filter(|n| n.contains("kept without its internal owner"))
        .count();
    eprintln!(
        "notes: {} ({kept} tickets kept without their internal owner)",
        report.notes.len()
    );
    let chain = app.verify_audit(&[]).await.expect("verify");
    let out = json!({
        "backend": backend,
        "tickets": tickets,
        "comments": comments,
        "kept_without_internal_owner": kept,
        "writing_seconds": writing,
        "initial_load": report.initial_load.is_some(),
        "initial_load_seconds": rebuilding,
        "tickets_per_second_written": tickets as f64 / writing,
        "comments_per_second_written": comments as f64 / writing,
        "ticket_phase_seconds": phase,
        "tickets_per_second_phase": tickets as f64 / phase,
        "total_seconds": started.elapsed().as_secs_f64(),
        "audit_chain": match chain {
            Ok(n) => format!("intact, {n} events"),
            Err(e) => format!("BROKEN: {e:?}"),
        },
    });
    println!("{out}");
}
