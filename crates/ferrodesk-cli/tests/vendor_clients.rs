//! The vendors' real clients against a running `ferrodesk serve`, on both databases: zenpy
//! 2.0.57 and node-zendesk 6.0.1 on the Zendesk-compatible API (`/zendesk/api/v2`),
//! python-freshdesk 1.3.9 on the Freshdesk-compatible one (`/freshdesk/api/v2`), and how zenpy
//! and python-freshdesk meet the rate limit. The scripts in `tests/vendor_clients/` do what an
//! everyday integration does and check each answer; `scripts/test` installs the clients and
//! names them with `FERRODESK_VENDOR_PYTHON` (a Python with zenpy and python-freshdesk) and
//! `FERRODESK_NODE_ZENDESK` (the `node_modules` holding node-zendesk, run with the machine's
//! `node`).

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{NO_RATE_LIMITS, Server, demo_database, ferrodesk, free_port, ok, serve};
use ferrodesk_testkit::Backend;

const ADMIN_EMAIL: &str = "admin@example.com";
const CUSTOMER_EMAIL: &str = "alice@acme.example";
/// Longer than any script needs; below nextest's limit for the whole test.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// One request a second per credential (bursts of two), nothing else limited.
const LOW_RATE_LIMIT: &[(&str, &str)] = &[
    ("FERRODESK_RATE_PER_CREDENTIAL", "1"),
    ("FERRODESK_RATE_PER_ADDRESS", "0"),
    ("FERRODESK_LOGIN_RATE_PER_ADDRESS", "0"),
];

fn tool(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run scripts/test, which installs zenpy, python-freshdesk and \
             node-zendesk into target/tools and sets it"
        )
    })
}

/// How a script is run.
enum Script {
    /// With the Python that has zenpy and python-freshdesk.
    Python(&'static str),
    /// With `node`, finding node-zendesk through `NODE_PATH`.
    Node(&'static str),
}

impl Script {
    /// Its name and the command that runs it. Each test asks for it first, so that a missing
    /// client fails the test at once, before any database is made.
    fn command(&self) -> (String, Command) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vendor_clients");
        match self {
            Script::Python(name) => {
                let mut c = Command::new(tool("FERRODESK_VENDOR_PYTHON"));
                c.arg(format!("{dir}/{name}"))
                    .env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                (name.to_string(), c)
            }
            Script::Node(name) => {
                let mut c = Command::new("node");
                c.arg(format!("{dir}/{name}"))
                    .env("NODE_PATH", tool("FERRODESK_NODE_ZENDESK"));
                (name.to_string(), c)
            }
        }
    }
}

/// A demo database and API tokens of its admin and of a customer.
async fn demo(backend: Backend) -> (String, String, String) {
    let (db, admin_token) = demo_database(backend).await;
    let customer_token = ok(&ferrodesk(
        &db,
        &["token", "create", "--email", CUSTOMER_EMAIL],
    ))
    .trim()
    .to_owned();
    (db, admin_token, customer_token)
}

/// Reads a child's pipe to the end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            p.read_to_string(&mut text).ok();
        }
        text
    })
}

/// Runs `script` against `server` (with `extra_env` besides the usual) and fails with its
/// output unless it exits 0.
async fn run(
    (name, mut command): (String, Command),
    server: &Server,
    admin_token: &str,
    customer_token: &str,
    extra_env: &[(&str, &str)],
) {
    let mut child = command
        .env("FD_BASE", &server.base)
        .env("FD_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("FD_ADMIN_TOKEN", admin_token)
        // Password Basic auth must be refused even with the right password.
        .env("FD_ADMIN_PASSWORD", ferrodesk_app::demo::DEMO_PASSWORD)
        .env("FD_CUSTOMER_EMAIL", CUSTOMER_EMAIL)
        .env("FD_CUSTOMER_TOKEN", customer_token)
        .envs(extra_env.iter().copied())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    match status {
        Some(s) if s.success() => println!("{name}:\n{stdout}{stderr}"),
        Some(s) => panic!("{name} failed ({s}):\n{stdout}\n--- stderr ---\n{stderr}"),
        None => panic!(
            "{name} did not finish in {} s:\n{stdout}\n--- stderr ---\n{stderr}",
            SCRIPT_TIMEOUT.as_secs()
        ),
    }
}

async fn zenpy_everyday(backend: Backend) {
    let script = Script::Python("zenpy_everyday.py").command();
    let (db, admin, customer) = demo(backend).await;
    // Two minutes: past the minute the export leaves out, within the five minutes after
    // which zenpy stops following a page whose `end_time` is that recent.
    let age = 120;
    common::age_tickets(&db, age).await;
    let server = serve(&db, free_port(), &[], NO_RATE_LIMITS).await;
    let age = age.to_string();
    run(
        script,
        &server,
        &admin,
        &customer,
        &[("FD_DEMO_TICKETS_AGE_SECONDS", &age)],
    )
    .await;
}

async fn node_zendesk_everyday(backend: Backend) {
    let script = Script::Node("node_zendesk_everyday.js").command();
    let (db, admin, customer) = demo(backend).await;
    let server = serve(&db, free_port(), &[], NO_RATE_LIMITS).await;
    run(script, &server, &admin, &customer, &[]).await;
}

async fn freshdesk_everyday(backend: Backend) {
    let script = Script::Python("freshdesk_everyday.py").command();
    let (db, admin, customer) = demo(backend).await;
    let server = serve(&db, free_port(), &[], NO_RATE_LIMITS).await;
    run(script, &server, &admin, &customer, &[]).await;
}

async fn rate_limits(backend: Backend) {
    let script = Script::Python("rate_limits.py").command();
    let (db, admin, customer) = demo(backend).await;
    let server = serve(&db, free_port(), &[], LOW_RATE_LIMIT).await;
    run(script, &server, &admin, &customer, &[]).await;
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(ferrodesk_testkit::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(ferrodesk_testkit::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_databases!(
    zenpy_everyday,
    node_zendesk_everyday,
    freshdesk_everyday,
    rate_limits
);
