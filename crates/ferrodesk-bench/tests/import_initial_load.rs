//! `ferrodesk import` into a desk without tickets on PostgreSQL is an initial load
//! (`ferrodesk_store::initial_load`): the ticket tables' secondary indexes and foreign keys are
//! dropped while the pages are written and added back at the end of the ticket phase. These
//! tests import the bench's generated Zendesk account (`ferrodesk_bench::zendesk_account`,
//! through the importer's own code) and check what a user of the desk and its operator would:
//! the catalogue's indexes and foreign keys afterwards are the ones before, after a load that
//! ends, one that fails part-way, one whose process dies; what is written is what a normal
//! import writes; the view counts are right; a key that does not validate fails loudly.

use std::sync::Arc;

use ferrodesk_app::imports::ImportReport;
use ferrodesk_app::{App, Config, SystemClock};
use ferrodesk_bench::zendesk_account::Shape;
use ferrodesk_store::Store;
use ferrodesk_store::initial_load::{self, Definition};
use ferrodesk_testkit::{Backend, fresh_database};

/// Tickets of the generated account: three export pages, the last one short.
const TICKETS: i64 = 2_500;
const COMMENTS: i64 = 3;
const SOURCE: &str = "initial-load.zendesk.example";

/// A migrated store on a fresh database and an app over it.
async fn desk(backend: Backend, initial_load: bool) -> App {
    let store = open(&fresh_database(backend).await).await;
    let config = Config {
        import_initial_load: initial_load,
        ..Config::default()
    };
    App::new(store, Arc::new(SystemClock), config)
}

/// What `ferrodesk` does when it starts: connect and migrate.
async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

async fn import(app: &App, fails_from: Option<i64>) -> Result<ImportReport, String> {
    let answers = Shape::new(TICKETS, COMMENTS).answers(fails_from);
    app.import_zendesk_answered(SOURCE, answers, None, &|_| {})
        .await
        .map_err(|e| e.to_string())
}

/// The secondary indexes and foreign keys of the ticket tables, from the catalogue.
async fn catalogue(store: &Store) -> Vec<Definition> {
    let mut c = store.read().await.expect("read");
    initial_load::definitions(&mut c).await.expect("catalogue")
}

async fn held(store: &Store) -> Vec<Definition> {
    let mut c = store.read().await.expect("read");
    initial_load::held(&mut c).await.expect("held")
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    let mut c = store.read().await.expect("read");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut *c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of the tables a ticket import writes (but the audit events, whose times differ
/// between runs): a digest per table, PostgreSQL.
async fn written(store: &Store) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    let mut c = store.read().await.expect("read");
    for table in [
        "tickets",
        "comments",
        "ticket_ccs",
        "ticket_tags",
        "ticket_field_values",
        "ticket_search",
        "search_fill",
        "ticket_counts",
        "import_links",
    ] {
        let (n, digest): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), COALESCE(md5(string_agg(r::text, ',' ORDER BY r::text)), '') \
             FROM {table} r"
        )))
        .fetch_one(&mut *c)
        .await
        .expect("digest");
        out.push((table.to_owned(), n, digest));
    }
    out
}

/// Groups of `ticket_counts` that differ from counting the tickets (both ways).
async fn wrong_counts(store: &Store) -> i64 {
    let recount = "SELECT status_id, priority, COALESCE(group_id, 0), COALESCE(assignee_id, 0), \
         COALESCE(internal_group_id, 0), COALESCE(internal_agent_id, 0), COUNT(*) FROM tickets \
         GROUP BY 1, 2, 3, 4, 5, 6";
    let kept = "SELECT status_id, priority, group_id, assignee_id, internal_group_id, \
         internal_agent_id, n FROM ticket_counts WHERE n <> 0";
    scalar(
        store,
        &format!(
            "SELECT (SELECT COUNT(*) FROM ({recount} EXCEPT {kept}) a) \
             + (SELECT COUNT(*) FROM ({kept} EXCEPT {recount}) b)"
        ),
    )
    .await
}

fn imported(report: &ImportReport, kind: &str) -> (u64, u64) {
    report
        .counts
        .get(kind)
        .map_or((0, 0), |c| (c.imported, c.already))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_initial_load_writes_what_a_normal_import_writes_and_keeps_the_catalogue() {
    let loaded = desk(Backend::Postgres, true).await;
    let normal = desk(Backend::Postgres, false).await;
    let before = catalogue(loaded.store()).await;
    assert!(
        before
            .iter()
            .any(|d| d.name == "tickets_group_status_updated_idx")
            && before.iter().any(|d| d.name == "comments_ticket_id_fkey")
            && before
                .iter()
                .any(|d| d.name == "ticket_search_all_scope_idx"),
        "the catalogue lists the ticket tables' indexes and foreign keys: {before:?}"
    );
    assert_eq!(before, catalogue(normal.store()).await);

    let report = import(&loaded, None).await.expect("initial load");
    assert!(
        report.initial_load.is_some(),
        "an empty desk loads initially"
    );
    let plain = import(&normal, None).await.expect("normal import");
    assert!(plain.initial_load.is_none(), "the switch turns it off");

    assert_eq!(imported(&report, "tickets"), (TICKETS as u64, 0));
    assert_eq!(imported(&report, "comments"), imported(&plain, "comments"));
    assert_eq!(report.notes, plain.notes);
    assert_eq!(catalogue(loaded.store()).await, before);
    assert_eq!(
        scalar(
            loaded.store(),
            "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
        )
        .await,
        0,
        "every foreign key is validated again"
    );
    assert!(held(loaded.store()).await.is_empty());
    assert_eq!(written(loaded.store()).await, written(normal.store()).await);
    assert_eq!(wrong_counts(loaded.store()).await, 0);
    loaded
        .verify_audit(&[])
        .await
        .expect("verify")
        .expect("audit chain intact");
    let imported_events = "SELECT COUNT(*) FROM audit_events WHERE action = 'imported'";
    assert_eq!(
        scalar(loaded.store(), imported_events).await,
        scalar(normal.store(), imported_events).await
    );

    // A rerun imports nothing twice, and is no initial load (the desk has tickets).
    let again = import(&loaded, None).await.expect("rerun");
    assert_eq!(imported(&again, "tickets"), (0, TICKETS as u64));
    assert!(again.initial_load.is_none());
    assert_eq!(catalogue(loaded.store()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_load_that_fails_part_way_adds_back_what_it_dropped() {
    let app = desk(Backend::Postgres, true).await;
    let normal = desk(Backend::Postgres, false).await;
    let before = catalogue(app.store()).await;

    // The source breaks after its first export page: that page is written, then the import
    // fails naming the page it could not read.
    let failed = import(&app, Some(1000))
        .await
        .expect_err("the source broke");
    assert!(!failed.is_empty());
    assert_eq!(
        scalar(app.store(), "SELECT COUNT(*) FROM tickets").await,
        1000
    );
    assert_eq!(catalogue(app.store()).await, before);
    assert!(held(app.store()).await.is_empty());

    // The rerun writes the rest with everything in place, and the desk ends as a normal
    // import leaves it.
    let rerun = import(&app, None).await.expect("rerun");
    assert!(rerun.initial_load.is_none());
    assert_eq!(imported(&rerun, "tickets"), (TICKETS as u64 - 1000, 1000));
    import(&normal, None).await.expect("normal import");
    assert_eq!(written(app.store()).await, written(normal.store()).await);
    assert_eq!(wrong_counts(app.store()).await, 0);
    assert_eq!(catalogue(app.store()).await, before);
    app.verify_audit(&[])
        .await
        .expect("verify")
        .expect("audit chain intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_next_start_adds_back_what_a_killed_load_dropped() {
    let url = fresh_database(Backend::Postgres).await;
    let store = open(&url).await;
    let before = catalogue(&store).await;

    let load = initial_load::begin(&store, 1)
        .await
        .expect("begin")
        .expect("an empty desk loads initially");
    assert_eq!(load.held(), before.len());
    assert!(catalogue(&store).await.is_empty(), "dropped while loading");
    assert_eq!(held(&store).await, before);

    // Another command starting while the load runs leaves the load alone.
    let beside = open(&url).await;
    assert!(catalogue(&beside).await.is_empty());
    assert!(
        initial_load::begin(&beside, 2)
            .await
            .expect("begin")
            .is_none()
    );

    // The loading process dies: its session closes without adding anything back.
    drop(load);
    for _ in 0..100 {
        let locks = scalar(
            &store,
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await;
        if locks == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        held(&store).await,
        before,
        "still held after the process died"
    );

    // The next start (`ferrodesk serve`, a rerun of the import) adds them back.
    let next = open(&url).await;
    assert_eq!(catalogue(&next).await, before);
    assert!(held(&next).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_foreign_key_that_does_not_validate_fails_the_load_naming_it() {
    let store = open(&fresh_database(Backend::Postgres).await).await;
    let before = catalogue(&store).await;
    let load = initial_load::begin(&store, 1)
        .await
        .expect("begin")
        .expect("an empty desk loads initially");
    {
        let mut c = store.read().await.expect("read");
        sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES (424242, 'orphan')")
            .execute(&mut *c)
            .await
            .expect("nothing checks the ticket while loading");
        // The search table is added back on a session of its own (its GIN indexes), beside
        // the others: a key of each part that does not validate is named.
        sqlx::query("INSERT INTO ticket_search (ticket_id, subject) VALUES (424243, 'orphan')")
            .execute(&mut *c)
            .await
            .expect("nothing checks the ticket while loading");
    }
    let e = load.finish().await.expect_err("the orphan tag fails");
    for key in ["ticket_tags_ticket_id_fkey", "ticket_search_ticket_id_fkey"] {
        assert!(e.to_string().contains(key), "the error names {key}: {e}");
    }
    // Everything is back; the key holds for new rows but is not validated, and stays held so
    // that every start says so.
    let back: Vec<Definition> = catalogue(&store)
        .await
        .into_iter()
        .map(|mut d| {
            d.definition = d.definition.trim_end_matches(" NOT VALID").to_owned();
            d
        })
        .collect();
    assert_eq!(back, before);
    assert_eq!(
        held(&store)
            .await
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["ticket_search_ticket_id_fkey", "ticket_tags_ticket_id_fkey"]
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM pg_constraint WHERE NOT convalidated \
             AND conname IN ('ticket_tags_ticket_id_fkey', 'ticket_search_ticket_id_fkey')"
        )
        .await,
        2
    );
    assert!(
        initial_load::begin(&store, 2)
            .await
            .expect("begin")
            .is_none(),
        "no new load while a key is still held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_imports_with_everything_in_place() {
    let app = desk(Backend::Sqlite, true).await;
    let report = import(&app, None).await.expect("import");
    assert!(report.initial_load.is_none(), "SQLite has no initial load");
    assert_eq!(imported(&report, "tickets"), (TICKETS as u64, 0));
    assert!(held(app.store()).await.is_empty());
    assert_eq!(wrong_counts(app.store()).await, 0);
    app.verify_audit(&[])
        .await
        .expect("verify")
        .expect("audit chain intact");
    let again = import(&app, None).await.expect("rerun");
    assert_eq!(imported(&again, "tickets"), (0, TICKETS as u64));
}
