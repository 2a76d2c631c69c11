//! What the command-line tests share: running the `ferrodesk` binary as a user would, and a
//! `ferrodesk serve` child process that is stopped when dropped.
#![allow(dead_code)] // each test file uses its own part

pub mod desk;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Where the command-line tests' servers keep attachment files (not the working directory).
pub fn test_files_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("ferrodesk-test-files")
}

/// Runs `ferrodesk --database-url DB ARGS…` and gives what it did.
pub fn ferrodesk(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrodesk"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .env("FERRODESK_LOG", "error")
        .env("FERRODESK_FILES_DIR", test_files_dir())
        .output()
        .expect("run ferrodesk")
}

/// A fresh database of `backend` with the demo data, and an API token of its admin.
pub async fn demo_database(backend: ferrodesk_testkit::Backend) -> (String, String) {
    let db = ferrodesk_testkit::fresh_database(backend).await;
    ok(&ferrodesk(&db, &["demo"]));
    let token = ok(&ferrodesk(
        &db,
        &["token", "create", "--email", "admin@example.com"],
    ))
    .trim()
    .to_owned();
    (db, token)
}

/// Standard output and error, together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts that the command succeeded; gives its output.
pub fn ok(o: &Output) -> String {
    let t = text(o);
    assert!(o.status.success(), "{t}");
    t
}

/// A free port on the loopback address.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// For tests that send requests faster than any client would: no rate limits.
pub const NO_RATE_LIMITS: &[(&str, &str)] = &[
    ("FERRODESK_RATE_PER_CREDENTIAL", "0"),
    ("FERRODESK_RATE_PER_ADDRESS", "0"),
    ("FERRODESK_LOGIN_RATE_PER_ADDRESS", "0"),
];

/// A running `ferrodesk serve`, killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Server {
    /// Kills the process at once (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `ferrodesk serve --bind 127.0.0.1:PORT ARGS…` on `db` with `env`, and waits until
/// it answers `/healthz`.
pub async fn serve(db: &str, port: u16, args: &[&str], env: &[(&str, &str)]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_ferrodesk"))
        .args(["--database-url", db, "serve", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .env("FERRODESK_LOG", "error")
        // Attachments go to a scratch folder, not the working directory.
        .env("FERRODESK_FILES_DIR", test_files_dir())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("start ferrodesk serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ferrodesk serve did not come up at {}", server.base);
}

/// Dates every ticket and comment `seconds` back (timestamps are microseconds), as if the
/// data had been written that long ago: the incremental exports leave out the last minute's
/// changes.
pub async fn age_tickets(db: &str, seconds: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(db).await.unwrap();
    let micros = seconds * 1_000_000;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE tickets SET created_at = created_at - {micros}, updated_at = updated_at - {micros}; \
         UPDATE comments SET created_at = created_at - {micros}"
    )))
    .execute(&mut c)
    .await
    .unwrap();
}
