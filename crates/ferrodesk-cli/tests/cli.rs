//! The `ferrodesk` binary, run as a user would, on SQLite and PostgreSQL.

mod common;

use common::{ferrodesk, free_port, serve, text};
use ferrodesk_testkit::{Backend, fresh_database};

async fn tamper(db: &str, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(db).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .unwrap();
}

async fn demo_data_tokens_and_audit_verification_work_from_the_command_line(backend: Backend) {
    let db = fresh_database(backend).await;
    let demo = ferrodesk(&db, &["demo"]);
    assert!(demo.status.success(), "{}", text(&demo));
    let again = ferrodesk(&db, &["demo"]);
    assert!(
        !again.status.success(),
        "demo data goes only into an empty database"
    );

    let admin = ferrodesk(
        &db,
        &[
            "admin",
            "create",
            "--email",
            "Root@Example.com",
            "--name",
            "Root",
            "--password",
            "s3cret-enough",
        ],
    );
    assert!(admin.status.success(), "{}", text(&admin));
    let short = ferrodesk(
        &db,
        &[
            "admin",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--password",
            "short",
        ],
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("password"), "{}", text(&short));

    let token = ferrodesk(&db, &["token", "create", "--email", "root@example.com"]);
    assert!(token.status.success(), "{}", text(&token));
    assert_eq!(String::from_utf8_lossy(&token.stdout).trim().len(), 64);
    assert!(
        !ferrodesk(&db, &["token", "create", "--email", "nobody@example.com"])
            .status
            .success()
    );

    let ok = ferrodesk(&db, &["audit", "verify"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("intact"));

    tamper(
        &db,
        "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 7",
    )
    .await;
    let broken = ferrodesk(&db, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(text(&broken).contains("event 7"), "{}", text(&broken));
}

#[tokio::test]
async fn sqlite_command_line() {
    demo_data_tokens_and_audit_verification_work_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_command_line() {
    demo_data_tokens_and_audit_verification_work_from_the_command_line(Backend::Postgres).await;
}

#[tokio::test]
async fn serve_with_demo_answers_the_api_with_a_token() {
    let db = fresh_database(Backend::Sqlite).await;
    let port = free_port();
    let server = serve(&db, port, &["--demo"], &[]).await;
    let client = reqwest::Client::new();
    let token = ferrodesk(&db, &["token", "create", "--email", "admin@example.com"]);
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let res = client
        .get(format!("http://127.0.0.1:{port}/api/v1/tickets/count"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    drop(server);
    assert_eq!(body["count"], 50, "the demo has 50 tickets");
}

/// Someone with write access to the database rewrites an event and recomputes every hash
/// after it: the chain verifies on its own, but not against the head published before.
async fn a_rehashed_chain_fails_against_its_published_head(backend: Backend) {
    use ferrodesk_core::audit::{ChainedEvent, GENESIS_HASH};
    use sqlx::Connection;
    let db = fresh_database(backend).await;
    assert!(ferrodesk(&db, &["demo"]).status.success());
    let head = ferrodesk(&db, &["audit", "head"]);
    assert!(head.status.success(), "{}", text(&head));
    let published = std::env::temp_dir().join(format!(
        "ferrodesk-heads-{}-{backend:?}.txt",
        std::process::id()
    ));
    std::fs::write(
        &published,
        format!(
            "# published 2026-12-01\n{}",
            String::from_utf8_lossy(&head.stdout)
        ),
    )
    .unwrap();
    let against = ["audit", "verify", "--against", published.to_str().unwrap()];
    assert!(ferrodesk(&db, &against).status.success());

    // The attack: change event 5's reason, then recompute every hash from there on.
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db).await.unwrap();
    type Row = (
        i64,
        i64,
        String,
        Option<i64>,
        String,
        String,
        i64,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, actor_kind, actor_id, via, entity_type, entity_id, action, changes, reason \
         FROM audit_events ORDER BY seq",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut prev = GENESIS_HASH.to_owned();
    for mut r in rows {
        if r.0 == 5 {
            r.9 = Some("nothing happened here".into());
        }
        let hash = ChainedEvent {
            seq: r.0,
            at: r.1,
            actor_kind: &r.2,
            actor_id: r.3,
            via: &r.4,
            entity_type: &r.5,
            entity_id: r.6,
            action: &r.7,
            changes: &r.8,
            reason: r.9.as_deref(),
            prev_hash: &prev,
        }
        .hash();
        sqlx::query(
            "UPDATE audit_events SET reason = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(r.9.clone())
        .bind(&prev)
        .bind(&hash)
        .bind(r.0)
        .execute(&mut c)
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut c)
        .await
        .unwrap();
    assert!(
        ferrodesk(&db, &["audit", "verify"]).status.success(),
        "a rehashed chain is consistent in itself"
    );
    let caught = ferrodesk(&db, &against);
    assert_eq!(caught.status.code(), Some(1), "{}", text(&caught));
    assert!(
        text(&caught).contains("published head"),
        "{}",
        text(&caught)
    );
    let _ = std::fs::remove_file(&published);
}

#[tokio::test]
async fn sqlite_rehashed_chain_fails_against_its_published_head() {
    a_rehashed_chain_fails_against_its_published_head(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_rehashed_chain_fails_against_its_published_head() {
    a_rehashed_chain_fails_against_its_published_head(Backend::Postgres).await;
}
