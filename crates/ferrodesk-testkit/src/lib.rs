//! Test support: [`TestApp`] runs the real router on port 0 over a fresh database —
//! a temporary SQLite file or a new PostgreSQL database — and talks to it over HTTP.
//!
//! PostgreSQL tests never skip: when no server answers at `FERRODESK_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), they fail and say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrodesk_app::dto::UserIn;
use ferrodesk_app::{Actor, App, Config, SystemClock};
use ferrodesk_core::{Channel, Role, TicketScope, UserAccess, UserId};
use ferrodesk_store::Store;
use serde_json::Value;

pub use reqwest::StatusCode;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestApp::spawn($crate::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestApp::spawn($crate::Backend::Postgres).await).await
                }
            )*
        }
    };
}

/// The admin URL tests create PostgreSQL databases through.
pub fn postgres_admin_url() -> String {
    std::env::var("FERRODESK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique name for a test database or file.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("ferrodesk-tests");
            std::fs::create_dir_all(&dir).expect("temp dir is writable");
            format!(
                "sqlite://{}",
                dir.join(format!("{}.db", unique("t"))).display()
            )
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = postgres_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL tests need a server at {admin} (set FERRODESK_TEST_POSTGRES_URL); \
                     scripts/test starts one. Connecting failed: {e}"
                )
            });
            let name = unique("ferrodesk_test");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
    }
}

/// A user made for a test, with an API token.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Id.
    pub id: i64,
    /// Bearer token.
    pub token: String,
    /// Email.
    pub email: String,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Answer {
    /// The ids of `items` in a list answer.
    pub fn ids(&self) -> Vec<i64> {
        self.body["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["id"].as_i64()).collect())
            .unwrap_or_default()
    }

    /// The field names of a 422's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The real application on a fresh database, served on an ephemeral port.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The application, for setting up data directly.
    pub app: App,
    /// Which database.
    pub backend: Backend,
    /// The database URL.
    pub database_url: String,
    http: reqwest::Client,
}

impl TestApp {
    /// Starts the app on a fresh database of `backend`.
    pub async fn spawn(backend: Backend) -> TestApp {
        // Tests send requests faster than any person: rate limits have their own test.
        let limits = ferrodesk_web::server::Limits {
            rates: ferrodesk_web::ratelimit::Rates::off(),
            ..ferrodesk_web::server::Limits::default()
        };
        TestApp::spawn_with_limits(backend, limits).await
    }

    /// Starts the app on a fresh database of `backend`, serving with `limits`.
    pub async fn spawn_with_limits(
        backend: Backend,
        limits: ferrodesk_web::server::Limits,
    ) -> TestApp {
        let database_url = fresh_database(backend).await;
        let store = Store::connect(&database_url)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        let app = App::new(store, Arc::new(SystemClock), Config::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let served = app.clone();
        tokio::spawn(async move {
            let _ = ferrodesk_web::server::serve_with_limits(
                listener,
                served,
                limits,
                std::future::pending(),
            )
            .await;
        });
        TestApp {
            base,
            app,
            backend,
            database_url,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
        }
    }

    /// Creates a user directly (as the system) and gives them an API token.
    pub async fn make_user(&self, input: UserIn) -> TestUser {
        let email = input.email.clone();
        let u = self
            .app
            .create_user_as_system(input)
            .await
            .expect("create test user");
        let t = self
            .app
            .issue_token(UserId(u.id), "test", Actor::system(Channel::Cli))
            .await
            .expect("issue token");
        TestUser {
            id: u.id,
            token: t.token,
            email,
        }
    }

    /// An admin.
    pub async fn admin(&self) -> TestUser {
        self.make_user(user_in("Admin", Role::Admin)).await
    }

    /// An agent with `scope`, in `groups`.
    pub async fn agent(&self, scope: TicketScope, groups: &[i64]) -> TestUser {
        self.make_user(UserIn {
            ticket_scope: Some(scope),
            group_ids: groups.to_vec(),
            ..user_in("Agent", Role::Agent)
        })
        .await
    }

    /// An end user in `orgs` (the first is the default) with `access`.
    pub async fn end_user(&self, orgs: &[i64], access: UserAccess) -> TestUser {
        self.make_user(UserIn {
            access: Some(access),
            organization_ids: orgs.to_vec(),
            ..user_in("Customer", Role::EndUser)
        })
        .await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.expect("request reaches the test server");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("response body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// GET as the bearer of `token`.
    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// POST JSON as the bearer of `token`.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// PATCH JSON as the bearer of `token`.
    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// PATCH JSON with `If-Match`.
    pub async fn patch_if(&self, token: &str, path: &str, version: i64, body: Value) -> Answer {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(token)
                .header("If-Match", format!("\"{version}\""))
                .json(&body),
        )
        .await
    }

    /// PUT (empty body) as the bearer of `token`.
    pub async fn put(&self, token: &str, path: &str) -> Answer {
        self.send(self.http.put(self.url(path)).bearer_auth(token))
            .await
    }

    /// PUT JSON as the bearer of `token`.
    pub async fn put_json(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(self.http.put(self.url(path)).bearer_auth(token).json(&body))
            .await
    }

    /// DELETE as the bearer of `token`.
    pub async fn delete(&self, token: &str, path: &str) -> Answer {
        self.send(self.http.delete(self.url(path)).bearer_auth(token))
            .await
    }

    /// Any request, built by the caller.
    pub async fn raw(
        &self,
        req: impl FnOnce(&reqwest::Client, String) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Answer {
        self.send(req(&self.http, self.url(path))).await
    }

    /// Any request to a path outside `/api/v1` (such as the vendor-compatible APIs under
    /// `/zendesk/api/v2` and `/freshdesk/api/v2`), built by the caller.
    pub async fn raw_at(
        &self,
        req: impl FnOnce(&reqwest::Client, String) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Answer {
        self.send(req(&self.http, format!("{}{path}", self.base)))
            .await
    }

    /// Sends the head of a request (no body) over a plain TCP connection and returns the
    /// status code of the answer: for limits the server must enforce before reading a body.
    pub async fn head_only(&self, method: &str, path: &str, headers: &[(&str, String)]) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut head = format!("{method} /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut buf = vec![0u8; 64];
        let n = stream.read(&mut buf).await.expect("read");
        let line = String::from_utf8_lossy(&buf[..n]).to_string();
        line.split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// Runs SQL against the test database directly (to tamper with it, say).
    pub async fn execute_sql(&self, sql: &str) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&self.database_url)
            .await
            .expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .expect("execute SQL");
    }

    /// Runs a query that answers one integer (to look at tables the API does not show).
    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar_at(&self.database_url, sql).await
    }

    /// How many keys of `ticket_counts` (the trigger-kept view counters) disagree with a
    /// `GROUP BY` of the tickets table: 0 when the counters are exact.
    pub async fn ticket_counts_drift(&self) -> i64 {
        self.scalar(TICKET_COUNTS_DRIFT).await
    }

    /// A ticket created by `token`'s user with `extra` fields; returns its JSON.
    pub async fn ticket(&self, token: &str, extra: Value) -> Value {
        let mut body =
            serde_json::json!({"subject": "Printer on fire", "description": "It smokes."});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let a = self.post(token, "/tickets", body).await;
        assert_eq!(a.status, StatusCode::CREATED, "create ticket: {}", a.body);
        a.body
    }
}

/// Counts the keys of `ticket_counts` (the trigger-kept view counters) that disagree with a
/// `GROUP BY` of the tickets table: 0 when the counters are exact.
pub const TICKET_COUNTS_DRIFT: &str = "SELECT COUNT(*) FROM (SELECT status_id, priority, g, a, ig, ia FROM ( \
       SELECT status_id, priority, group_id AS g, assignee_id AS a, \
              internal_group_id AS ig, internal_agent_id AS ia, n FROM ticket_counts \
       UNION ALL SELECT status_id, priority, COALESCE(group_id, 0), COALESCE(assignee_id, 0), \
              COALESCE(internal_group_id, 0), COALESCE(internal_agent_id, 0), -1 FROM tickets) AS k \
     GROUP BY status_id, priority, g, a, ig, ia HAVING SUM(n) <> 0) AS d";

/// Runs a query that answers one integer against the database at `url`.
pub async fn scalar_at(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut c)
        .await
        .expect("query")
}

/// A user input with a unique email.
pub fn user_in(name: &str, role: Role) -> UserIn {
    UserIn {
        name: name.to_owned(),
        email: format!("{}@example.com", unique(&name.to_lowercase())),
        role: Some(role),
        ticket_scope: None,
        access: None,
        password: None,
        organization_ids: Vec::new(),
        default_organization_id: None,
        group_ids: Vec::new(),
    }
}
