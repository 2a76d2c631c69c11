//! `ferrodesk export`, `import ferrodesk`, `backup` and `pg_dump`, taken while a server keeps
//! writing: each copy restores (also across database kinds), its audit chain verifies, its
//! rows match what was exported, and the restored server answers with the old API token.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{NO_RATE_LIMITS, Server, demo_database, ferrodesk, free_port, ok};
use ferrodesk_testkit::{Backend, TICKET_COUNTS_DRIFT, fresh_database, scalar_at};
use serde_json::{Value, json};

async fn serve(db: &str) -> Server {
    common::serve(db, free_port(), &[], NO_RATE_LIMITS).await
}

/// Creates tickets with a reply each until `stop`; gives how many it created.
fn keep_writing(
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let t: Value = client
                .post(format!("{base}/api/v1/tickets"))
                .bearer_auth(&token)
                .json(&json!({"subject": format!("Written during the copy {n}"), "description": "Busy server."}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = t["id"].as_i64().unwrap();
            client
                .post(format!("{base}/api/v1/tickets/{id}/comments"))
                .bearer_auth(&token)
                .json(&json!({"body": "A reply while copying.", "public": true}))
                .send()
                .await
                .unwrap();
            n += 1;
        }
        n
    })
}

async fn export_taken_while_serving_imports_into_the_other_database(
    source: Backend,
    target: Backend,
) {
    let (db, token) = demo_database(source).await;
    let server = serve(&db).await;
    let stop = Arc::new(AtomicBool::new(false));
    // A file on a comment: exported with the tables, served by the copy byte for byte.
    let file = format!("log of {source:?} at {:?}", std::time::SystemTime::now()).into_bytes();
    let client = reqwest::Client::new();
    let up: Value = client
        .post(format!("{}/api/v1/uploads?file_name=log.txt", server.base))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(file.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_file: Value = client
        .post(format!("{}/api/v1/tickets", server.base))
        .bearer_auth(&token)
        .json(&json!({"subject": "With a file", "description": "See the log.", "upload_tokens": [up["token"]]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_file = with_file["id"].as_i64().unwrap();
    let writer = keep_writing(server.base.clone(), token.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let dir = std::env::temp_dir().join(format!(
        "ferrodesk-export-{}-{}",
        std::process::id(),
        format!("{source:?}").to_lowercase()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    ok(&ferrodesk(&db, &["export", "--to", dir.to_str().unwrap()]));
    // A second export into the same folder is refused rather than mixed with the first.
    assert!(
        !ferrodesk(&db, &["export", "--to", dir.to_str().unwrap()])
            .status
            .success()
    );
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0, "the server was writing during the export");
    drop(server);

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let exported_tickets = manifest["tables"]["tickets"].as_i64().unwrap();
    assert!(exported_tickets >= 50, "{manifest}");
    let source_tickets = scalar_at(&db, "SELECT COUNT(*) FROM tickets").await;
    assert!(source_tickets >= exported_tickets);

    assert_eq!(manifest["files"].as_i64(), Some(1), "{manifest}");
    let copy = fresh_database(target).await;
    // The copy keeps its files in a folder of its own.
    let copy_files = dir.with_extension("files");
    let _ = std::fs::remove_dir_all(&copy_files);
    let imported = ferrodesk(
        &copy,
        &[
            "import",
            "ferrodesk",
            "--from",
            dir.to_str().unwrap(),
            "--files-dir",
            copy_files.to_str().unwrap(),
        ],
    );
    ok(&imported);
    for (table, n) in manifest["tables"].as_object().unwrap() {
        assert_eq!(
            scalar_at(&copy, &format!("SELECT COUNT(*) FROM {table}")).await,
            n.as_i64().unwrap(),
            "{table}"
        );
    }
    ok(&ferrodesk(&copy, &["audit", "verify"]));
    assert_eq!(scalar_at(&copy, TICKET_COUNTS_DRIFT).await, 0);
    // A second import into the now filled database is refused.
    assert!(
        !ferrodesk(
            &copy,
            &["import", "ferrodesk", "--from", dir.to_str().unwrap()]
        )
        .status
        .success()
    );

    // The copy serves: the old token works, counts and search answer, new ids continue.
    let restored = common::serve(
        &copy,
        free_port(),
        &[],
        &[
            NO_RATE_LIMITS,
            &[("FERRODESK_FILES_DIR", copy_files.to_str().unwrap())],
        ]
        .concat(),
    )
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}/api/v1{path}", restored.base))
            .bearer_auth(&token)
            .send()
    };
    let comments: Value = get(&format!("/tickets/{with_file}/comments"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file_id = comments["items"][0]["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let got = get(&format!("/attachments/{file_id}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), file, "the file came along, byte for byte");
    let count: Value = get("/tickets/count").await.unwrap().json().await.unwrap();
    assert_eq!(count["count"].as_i64(), Some(exported_tickets));
    let found: Value = get("/search?q=screenshot")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !found["items"].as_array().unwrap().is_empty(),
        "the search index was rebuilt: {found}"
    );
    let created = client
        .post(format!("{}/api/v1/tickets", restored.base))
        .bearer_auth(&token)
        .json(&json!({"subject": "After the restore", "description": "New ids continue."}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    drop(restored);
    ok(&ferrodesk(&copy, &["audit", "verify"]));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&copy_files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_export_imports_into_postgres() {
    export_taken_while_serving_imports_into_the_other_database(Backend::Sqlite, Backend::Postgres)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_export_imports_into_sqlite() {
    export_taken_while_serving_imports_into_the_other_database(Backend::Postgres, Backend::Sqlite)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_taken_while_serving_is_a_consistent_database() {
    let (db, token) = demo_database(Backend::Sqlite).await;
    let server = serve(&db).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(server.base.clone(), token.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = scalar_at(&db, "SELECT COUNT(*) FROM tickets").await;
    let file = std::env::temp_dir().join(format!("ferrodesk-backup-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    ok(&ferrodesk(&db, &["backup", "--to", file.to_str().unwrap()]));
    assert!(
        !ferrodesk(&db, &["backup", "--to", file.to_str().unwrap()])
            .status
            .success(),
        "an existing file is never overwritten"
    );
    stop.store(true, Ordering::Relaxed);
    assert!(writer.await.unwrap() > 0);
    drop(server);
    let copy = format!("sqlite://{}", file.display());
    ok(&ferrodesk(&copy, &["audit", "verify"]));
    assert!(scalar_at(&copy, "SELECT COUNT(*) FROM tickets").await >= before);
    assert_eq!(scalar_at(&copy, TICKET_COUNTS_DRIFT).await, 0);
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_points_to_pg_dump_whose_copy_restores() {
    let (db, token) = demo_database(Backend::Postgres).await;
    let refused = ferrodesk(&db, &["backup", "--to", "/tmp/never-written.db"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));

    let server = serve(&db).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(server.base.clone(), token, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dump = std::env::temp_dir().join(format!("ferrodesk-{}.dump", std::process::id()));
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&db)
        .output()
        .expect("pg_dump is installed with PostgreSQL");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, Ordering::Relaxed);
    assert!(writer.await.unwrap() > 0);
    drop(server);

    let copy = fresh_database(Backend::Postgres).await;
    let out = Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &copy])
        .arg(&dump)
        .output()
        .expect("pg_restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&ferrodesk(&copy, &["audit", "verify"]));
    assert_eq!(scalar_at(&copy, TICKET_COUNTS_DRIFT).await, 0);
    let _ = std::fs::remove_file(&dump);
}
