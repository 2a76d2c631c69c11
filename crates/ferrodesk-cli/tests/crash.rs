//! `ferrodesk serve` killed with SIGKILL in the middle of a stream of idempotent creates and
//! replies, on SQLite and PostgreSQL: afterwards every acknowledged request exists once, every
//! unacknowledged one succeeds exactly once when retried with its key, the audit chain
//! verifies and the view counters equal the tickets.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{NO_RATE_LIMITS, ferrodesk, free_port, serve};
use ferrodesk_testkit::{Backend, TICKET_COUNTS_DRIFT, fresh_database, scalar_at};
use serde_json::json;

/// Request `n` of the stream: a new ticket (even) or a reply on `host` (odd).
fn request(n: usize, host: i64) -> (String, serde_json::Value) {
    if n.is_multiple_of(2) {
        (
            "/api/v1/tickets".into(),
            json!({"subject": format!("Crash {n}"), "description": "Sent before the crash."}),
        )
    } else {
        (
            format!("/api/v1/tickets/{host}/comments"),
            json!({"body": format!("Crash reply {n}"), "public": true}),
        )
    }
}

async fn send(
    client: &reqwest::Client,
    port: u16,
    token: &str,
    n: usize,
    host: i64,
) -> Option<reqwest::StatusCode> {
    let (path, body) = request(n, host);
    client
        .post(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("crash-{n}"))
        .json(&body)
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

async fn a_killed_server_loses_nothing_acknowledged_and_runs_retries_once(backend: Backend) {
    let db = fresh_database(backend).await;
    let admin = ferrodesk(
        &db,
        &[
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--password",
            "long-enough-secret",
        ],
    );
    assert!(admin.status.success());
    let token = ferrodesk(&db, &["token", "create", "--email", "ops@example.com"]);
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let port = free_port();
    let mut server = serve(&db, port, &[], NO_RATE_LIMITS).await;
    let client = reqwest::Client::new();
    let host: i64 = client
        .post(format!("http://127.0.0.1:{port}/api/v1/tickets"))
        .bearer_auth(&token)
        .json(&json!({"subject": "Host", "description": "Replies land here."}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // Four writers send requests one after another until the server dies.
    const WRITERS: usize = 4;
    let dead = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, token, dead) = (client.clone(), token.clone(), dead.clone());
        writers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut n = w;
            while !dead.load(Ordering::Relaxed) && n < 40_000 {
                let status = send(&client, port, &token, n, host).await;
                outcomes.push((n, status == Some(reqwest::StatusCode::CREATED)));
                if status.is_none() {
                    break;
                }
                n += WRITERS;
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    dead.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    let acknowledged = sent.iter().filter(|(_, ok)| *ok).count();
    assert!(
        acknowledged > 20,
        "the stream ran before the kill ({acknowledged} acknowledged)"
    );

    // What was acknowledged is there, once.
    let count = |n: usize| {
        let sql = if n.is_multiple_of(2) {
            format!("SELECT COUNT(*) FROM tickets WHERE subject = 'Crash {n}'")
        } else {
            format!("SELECT COUNT(*) FROM comments WHERE body = 'Crash reply {n}'")
        };
        let db = db.clone();
        async move { scalar_at(&db, &sql).await }
    };
    let mut lost = 0;
    let mut duplicated = 0;
    for (n, ok) in &sent {
        let c = count(*n).await;
        if *ok && c == 0 {
            lost += 1;
        }
        if c > 1 {
            duplicated += 1;
        }
    }

    // Every request, acknowledged or not, retried with its key after a restart: it succeeds,
    // and it exists exactly once.
    let server = serve(&db, port, &[], NO_RATE_LIMITS).await;
    for (n, _) in &sent {
        let status = send(&client, port, &token, *n, host).await;
        assert_eq!(
            status,
            Some(reqwest::StatusCode::CREATED),
            "retry of request {n}"
        );
    }
    for (n, _) in &sent {
        let c = count(*n).await;
        if c != 1 {
            duplicated += usize::from(c > 1);
        }
        assert_eq!(c, 1, "request {n} exists exactly once after its retry");
    }
    drop(server);
    eprintln!(
        "{backend:?} crash test: sent {}, acknowledged {acknowledged}, lost {lost}, duplicated {duplicated}",
        sent.len()
    );
    assert_eq!((lost, duplicated), (0, 0));

    let verify = ferrodesk(&db, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let drift = scalar_at(&db, TICKET_COUNTS_DRIFT).await;
    assert_eq!(drift, 0, "the view counters equal the tickets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_killed_server_loses_nothing_acknowledged_and_runs_retries_once() {
    a_killed_server_loses_nothing_acknowledged_and_runs_retries_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_killed_server_loses_nothing_acknowledged_and_runs_retries_once() {
    a_killed_server_loses_nothing_acknowledged_and_runs_retries_once(Backend::Postgres).await;
}

/// Peak resident memory of a process, in MiB (Linux).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// 200 sign-ins with wrong passwords sent at once: password hashing runs a few at a time, so
/// the server's memory stays bounded (each argon2 check takes ~19 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_hundred_concurrent_failed_sign_ins_keep_memory_bounded() {
    let db = fresh_database(Backend::Sqlite).await;
    assert!(ferrodesk(&db, &["demo"]).status.success());
    let port = free_port();
    let server = serve(&db, port, &[], NO_RATE_LIMITS).await;
    let client = reqwest::Client::new();
    let idle = peak_rss_mib(server.child.id());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
                .json(&json!({"email": format!("nobody{i}@example.com"), "password": "not the right one"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut unauthorized = 0;
    for t in tasks {
        if t.await.unwrap() == 401 {
            unauthorized += 1;
        }
    }
    let peak = peak_rss_mib(server.child.id());
    drop(server);
    eprintln!("200 concurrent failed sign-ins: idle {idle:.1} MiB, peak {peak:.1} MiB");
    assert_eq!(unauthorized, 200);
    assert!(peak < 128.0, "peak RSS {peak:.1} MiB");
}

/// A server killed (SIGKILL) while a file streams in leaves nothing anyone can see: no
/// attachment row, no file under a final name — only a temp file, which the next server
/// deletes once it is a day old.
async fn a_server_killed_during_an_upload_leaves_no_visible_file(backend: Backend) {
    use std::io::Write;
    let (db, token) = common::demo_database(backend).await;
    let files = std::env::temp_dir().join(format!(
        "ferrodesk-killed-upload-{backend:?}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&files);
    let env = [
        NO_RATE_LIMITS,
        &[("FERRODESK_FILES_DIR", files.to_str().unwrap())],
    ]
    .concat();
    let port = free_port();
    let mut server = serve(&db, port, &[], &env).await;
    let rows = scalar_at(&db, "SELECT COUNT(*) FROM attachments").await;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /api/v1/uploads?file_name=half.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 4194304\r\n\r\n"
    )
    .unwrap();
    s.write_all(&vec![7u8; 1024 * 1024]).unwrap();
    // The first mebibyte is on its way to the store when the server dies.
    let tmp = files.join("tmp");
    for _ in 0..100 {
        if std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    drop(s);
    assert_eq!(
        scalar_at(&db, "SELECT COUNT(*) FROM attachments").await,
        rows
    );
    let stored = ferrodesk_app::blobs::Blobs::new(&files);
    assert!(stored.hashes().is_empty(), "no file under a final name");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "the cut-off upload's temp file");
    // A day later, the next server clears it when it starts.
    let day_ago = std::process::Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(left[0].path())
        .status()
        .unwrap();
    assert!(day_ago.success());
    let _again = serve(&db, free_port(), &[], &env).await;
    let mut cleared = false;
    for _ in 0..100 {
        if std::fs::read_dir(&tmp).unwrap().count() == 0 {
            cleared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cleared, "the temp file was deleted");
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_server_killed_during_an_upload_leaves_no_visible_file() {
    a_server_killed_during_an_upload_leaves_no_visible_file(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_server_killed_during_an_upload_leaves_no_visible_file() {
    a_server_killed_during_an_upload_leaves_no_visible_file(Backend::Postgres).await;
}
