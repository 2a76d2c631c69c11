//! Browser tests: a real `ferrodesk serve` (the binary built from this workspace) on a fresh
//! SQLite file and on a fresh PostgreSQL database, driven through headless Chromium by
//! chromedriver. Each test saves a screenshot under `target/e2e-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test` installs them) and the
//! PostgreSQL server at `FERRODESK_TEST_POSTGRES_URL`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Runs each scenario (an `async fn(Backend)` of the module that calls this) on SQLite and
/// on PostgreSQL, one browser at a time.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let _one = crate::ONE_AT_A_TIME.lock().await;
                    super::$name(crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let _one = crate::ONE_AT_A_TIME.lock().await;
                    super::$name(crate::Backend::Postgres).await
                }
            )*
        }
    };
}

// Scenarios by area; each module calls `on_both_databases!` for its own.
mod admin_pages;
mod admin_rules;
mod admin_sharing;
mod agent_bulk;
mod agent_list;
mod agent_macros;
mod agent_pages;
mod agent_ticket_page;

const PASSWORD: &str = "browser-test-password";

/// Browser sessions run one at a time: two cores do not run several Chromiums well.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}_{nanos}", std::process::id())
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The `ferrodesk` binary next to this test binary (`target/<profile>/ferrodesk`).
fn ferrodesk_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let bin = dir.join("ferrodesk");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p ferrodesk-cli); scripts/test does",
        bin.display()
    );
    bin
}

/// A process that is killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A real server on a fresh database, with an admin's API token for setting up data.
struct Server {
    base: String,
    database_url: String,
    token: String,
    http: reqwest::Client,
    _proc: Proc,
}

async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("ferrodesk-e2e");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!(
                "sqlite://{}",
                dir.join(format!("e2e_{}.db", unique())).display()
            )
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = std::env::var("FERRODESK_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut c = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
            let name = format!("ferrodesk_test_e2e_{}", unique());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .expect("CREATE DATABASE");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
    }
}

fn cli(database_url: &str, args: &[&str]) -> String {
    let out = Command::new(ferrodesk_bin())
        .args(args)
        .env("FERRODESK_DATABASE_URL", database_url)
        .output()
        .expect("run ferrodesk");
    assert!(
        out.status.success(),
        "ferrodesk {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Server {
    async fn start(backend: Backend) -> Server {
        let database_url = fresh_database(backend).await;
        cli(&database_url, &["migrate"]);
        cli(
            &database_url,
            &[
                "admin",
                "create",
                "--email",
                "boss@example.com",
                "--name",
                "Boss",
                "--password",
                PASSWORD,
            ],
        );
        let token = cli(
            &database_url,
            &["token", "create", "--email", "boss@example.com"],
        );
        let port = free_port();
        let child = Command::new(ferrodesk_bin())
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("FERRODESK_DATABASE_URL", &database_url)
            .env("FERRODESK_LOG", "warn")
            // Attachment files go to a folder of this run, not the working directory.
            .env(
                "FERRODESK_FILES_DIR",
                std::env::temp_dir().join(format!("ferrodesk-e2e-files-{}", unique())),
            )
            // Every scenario signs in several people from this one address.
            .env("FERRODESK_LOGIN_RATE_PER_ADDRESS", "0")
            .stdout(Stdio::null())
            .spawn()
            .expect("start ferrodesk serve");
        let proc = Proc(child);
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Server {
                    base,
                    database_url,
                    token,
                    http,
                    _proc: proc,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("ferrodesk serve did not answer on {base}");
    }

    async fn api(&self, method: &str, path: &str, body: Value) -> Value {
        self.api_as(&self.token, method, path, body).await
    }

    /// An API token for any user (through the CLI, as an operator would).
    fn token_for(&self, email: &str) -> String {
        cli(&self.database_url, &["token", "create", "--email", email])
    }

    /// A request a member sends themselves: the ticket and its first (public) comment,
    /// written by the member, which the sharing workflow accepts as evidence.
    async fn member_request(&self, token: &str, subject: &str, body: &str) -> (i64, i64) {
        let t = self
            .api_as(
                token,
                "POST",
                "/tickets",
                json!({"subject": subject, "description": body}),
            )
            .await["id"]
            .as_i64()
            .expect("ticket id");
        let c = self
            .api("GET", &format!("/tickets/{t}/comments"), Value::Null)
            .await["items"][0]["id"]
            .as_i64()
            .expect("comment id");
        (t, c)
    }

    async fn api_as(&self, token: &str, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/api/v1{path}", self.base);
        let req = match method {
            "POST" => self.http.post(url).json(&body),
            "PATCH" => self.http.patch(url).json(&body),
            _ => self.http.get(url),
        };
        let res = req.bearer_auth(token).send().await.expect("API call");
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    async fn id(&self, path: &str, body: Value) -> i64 {
        self.api("POST", path, body).await["id"]
            .as_i64()
            .expect("an id")
    }

    async fn status_id(&self, name: &str) -> i64 {
        let all = self.api("GET", "/statuses", Value::Null).await;
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }
}

/// Headless Chromium through chromedriver, closed when dropped.
struct Browser {
    client: Client,
    _driver: Proc,
    _profile: PathBuf,
    base: String,
}

impl Browser {
    async fn start(base: &str) -> Browser {
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromedriver is missing: apt-get install chromium chromium-driver (scripts/test does)");
        let port = free_port();
        let driver = Proc(
            Command::new(driver_bin)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let profile = std::env::temp_dir().join(format!("ferrodesk-e2e-profile-{}", unique()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = String::new();
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                        base: base.to_owned(),
                    };
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("chromedriver did not start a session: {last}");
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    async fn has(&self, selector: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(selector))
            .await
            .expect("find")
            .is_empty()
    }

    async fn text(&self) -> String {
        self.css("main").await.text().await.expect("text")
    }

    async fn sign_in(&self, email: &str) {
        self.goto("/login").await;
        self.css("#email").await.send_keys(email).await.unwrap();
        self.css("#password")
            .await
            .send_keys(PASSWORD)
            .await
            .unwrap();
        self.css("button[type=submit].primary")
            .await
            .click()
            .await
            .unwrap();
        self.css("form.signout").await;
    }

    async fn sign_out(&self) {
        self.css("form.signout button").await.click().await.unwrap();
        self.css("#email").await;
    }

    async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.unwrap();
    }

    /// Runs the sharing panel of an organization as the runbook says: the request ticket,
    /// the customer's confirming comments, then the button for the new mode.
    async fn change_sharing(
        &self,
        org: i64,
        ticket: i64,
        type_c: i64,
        risk_c: Option<i64>,
        to: &str,
    ) {
        self.goto(&format!("/agent/organizations/{org}")).await;
        self.css("#ticket_id")
            .await
            .select_by_value(&ticket.to_string())
            .await
            .unwrap();
        self.click("#choose-ticket").await;
        self.click(&format!("#type-{type_c}")).await;
        if let Some(r) = risk_c {
            self.click(&format!("#risk-{r}")).await;
        }
        self.click(&format!("#sharing-{to}")).await;
        self.css("p.notice").await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = workspace_root().join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// axe-core's script, from `FERRODESK_AXE_JS` (scripts/test installs axe-core from npm and
/// sets it). Missing is a failure, never a skip: the check is part of the suite.
fn axe_source() -> String {
    let path = std::env::var("FERRODESK_AXE_JS").unwrap_or_else(|_| {
        panic!(
            "FERRODESK_AXE_JS is not set: run the tests through scripts/test, which installs \
             axe-core and sets it to the path of axe.min.js"
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("FERRODESK_AXE_JS={path} cannot be read ({e}): run scripts/test, which installs axe-core")
    })
}

/// Runs axe-core on the page the browser shows; gives one line per violation: its id,
/// impact, help and the nodes it found.
async fn axe_violations(b: &Browser, axe: &str) -> Vec<String> {
    let loaded = b
        .client
        .execute(
            &format!(
                "{axe}\n;if (typeof axe !== 'undefined') {{ window.axe = axe; }} return typeof window.axe;"
            ),
            vec![],
        )
        .await
        .expect("inject axe-core");
    assert_eq!(loaded, json!("object"), "axe-core did not load");
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             window.axe.run(document, {resultTypes: ['violations']})\
               .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' \
                   + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', '))))\
               .catch(e => done(['axe-core failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    serde_json::from_value(found).expect("violations")
}

/// Options of a select, as (value, label), read in one script so a swap cannot interleave.
async fn options(b: &Browser, select: &str) -> Vec<(String, String)> {
    let v = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0] + ' option'))\
               .map(o => [o.value, o.textContent]);",
            vec![json!(select)],
        )
        .await
        .expect("read options");
    serde_json::from_value(v).expect("options")
}

/// Waits until the select's options satisfy `ok`.
async fn wait_options(b: &Browser, select: &str, ok: impl Fn(&[(String, String)]) -> bool) {
    for _ in 0..100 {
        if ok(&options(b, select).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{select} options never matched: {:?}",
        options(b, select).await
    );
}

// ------------------------------------------------------------------ scenarios

async fn an_agent_sets_shared_ownership_and_the_internal_group_list_follows_the_status(
    backend: Backend,
) {
    let s = Server::start(backend).await;
    let agent = s
        .id(
            "/users",
            json!({"name": "Sam Support", "email": "sam@example.com", "role": "agent", "password": PASSWORD}),
        )
        .await;
    let fiona = s
        .id(
            "/users",
            json!({"name": "Fiona Finance", "email": "fiona@example.com", "role": "agent"}),
        )
        .await;
    let finance = s
        .id("/groups", json!({"name": "Finance", "agent_ids": [fiona]}))
        .await;
    s.id("/groups", json!({"name": "Support", "agent_ids": [agent]}))
        .await;
    let customer = s
        .id(
            "/users",
            json!({"name": "Carla Customer", "email": "carla@example.com"}),
        )
        .await;
    let ticket = s
        .id(
            "/tickets",
            json!({"subject": "Refund for duplicate charge", "description": "We were charged twice.", "requester_id": customer}),
        )
        .await;
    let cr = s.status_id("Customer Responded").await;
    let open = s.status_id("Open").await;

    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    // Open maps no group: only "none" to choose.
    let groups = options(&b, "#internal_group_id").await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    // Choosing Customer Responded brings the mapped groups in.
    b.css("#status_id")
        .await
        .select_by_value(&cr.to_string())
        .await
        .unwrap();
    let fin = finance.to_string();
    wait_options(&b, "#internal_group_id", |o| {
        o.iter().any(|(v, _)| *v == fin)
    })
    .await;
    b.css("#internal_group_id")
        .await
        .select_by_value(&fin)
        .await
        .unwrap();
    // The agent list follows the group: only Finance's members (Fiona) remain.
    let fiona_s = fiona.to_string();
    wait_options(&b, "#internal_agent_id", |o| {
        o.len() == 2 && o.iter().any(|(v, l)| *v == fiona_s && l == "Fiona Finance")
    })
    .await;
    b.css("#internal_agent_id")
        .await
        .select_by_value(&fiona_s)
        .await
        .unwrap();
    b.css("#properties button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.css("p.notice").await;
    assert!(b.text().await.contains("Ticket updated."));
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Customer Responded");
    assert_eq!(t["internal_group_id"], finance);
    assert_eq!(t["internal_agent_id"], fiona);
    assert!(b.text().await.contains("Internal group: none → Finance"));
    b.screenshot(&format!("shared_ownership_{backend:?}").to_lowercase())
        .await;
    // Back to Open in the form: the internal group list empties again.
    b.css("#status_id")
        .await
        .select_by_value(&open.to_string())
        .await
        .unwrap();
    wait_options(&b, "#internal_group_id", |o| o.len() == 1).await;
    b.close().await;
}

async fn a_customer_sees_their_request_and_replies(backend: Backend) {
    let s = Server::start(backend).await;
    let org = s.id("/organizations", json!({"name": "Acme"})).await;
    s.id(
        "/users",
        json!({"name": "Alice Acme", "email": "alice@acme.example", "password": PASSWORD, "organization_ids": [org]}),
    )
    .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("alice@acme.example").await;
    // She sends a request through the portal.
    b.goto("/portal/requests/new").await;
    b.css("#subject")
        .await
        .send_keys("Cannot reset my password")
        .await
        .unwrap();
    b.css("#description")
        .await
        .send_keys("The reset link says it expired.")
        .await
        .unwrap();
    b.css("main button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    // She lands on the request she sent.
    b.css("p.notice").await;
    assert_eq!(
        b.css("main h1").await.text().await.unwrap(),
        "Cannot reset my password"
    );
    b.css("#reply-form").await;
    b.css("#body")
        .await
        .send_keys("I tried again this morning, same problem.")
        .await
        .unwrap();
    b.css("#reply-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.css("p.notice").await;
    let text = b.text().await;
    assert!(text.contains("Your reply was sent."));
    assert!(text.contains("I tried again this morning, same problem."));
    b.screenshot(&format!("customer_reply_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

async fn a_read_only_member_sees_a_colleagues_ticket_with_no_reply_box_until_read_write(
    backend: Backend,
) {
    let s = Server::start(backend).await;
    let org = s.id("/organizations", json!({"name": "Globex"})).await;
    let colleague = s
        .id(
            "/users",
            json!({"name": "Gina Globex", "email": "gina@globex.example", "organization_ids": [org]}),
        )
        .await;
    s.id(
        "/users",
        json!({"name": "Max Member", "email": "max@globex.example", "password": PASSWORD, "organization_ids": [org]}),
    )
    .await;
    let max = s.token_for("max@globex.example");
    let ticket = s
        .id(
            "/tickets",
            json!({"subject": "VPN drops every hour", "description": "Since Monday.", "requester_id": colleague}),
        )
        .await;
    // Read only, through the workflow (API), as per Max's first request.
    let (first, evidence) = s
        .member_request(
            &max,
            "Please share our tickets (read only)",
            "We want read only sharing and accept the security risk.",
        )
        .await;
    s.api(
        "POST",
        &format!("/organizations/{org}/sharing-changes"),
        json!({"ticket_id": first, "sharing": "read_only",
               "type_confirmed_comment_id": evidence, "risk_approved_comment_id": evidence}),
    )
    .await;
    let (second, upgrade) = s
        .member_request(
            &max,
            "Please let us reply on each other's tickets",
            "We want read+write sharing now and accept the security risk.",
        )
        .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("max@globex.example").await;
    b.goto("/portal/organization").await;
    let link = b.css(&format!("a[href='/portal/requests/{ticket}']")).await;
    link.click().await.unwrap();
    b.css("#read-only-note").await;
    let text = b.text().await;
    assert!(text.contains("VPN drops every hour"));
    assert!(text.contains("Since Monday."));
    assert!(!b.has("#reply-form").await, "no reply box");
    assert!(!b.has("textarea").await, "no reply box");
    b.screenshot(&format!("read_only_member_{backend:?}").to_lowercase())
        .await;
    // An admin switches the organization to read+write through its sharing panel.
    b.sign_out().await;
    b.sign_in("boss@example.com").await;
    b.change_sharing(org, second, upgrade, Some(upgrade), "read_write")
        .await;
    assert!(
        b.css("#sharing-mode")
            .await
            .text()
            .await
            .unwrap()
            .contains("read+write")
    );
    b.sign_out().await;
    // Max now replies on Gina's ticket.
    b.sign_in("max@globex.example").await;
    b.goto(&format!("/portal/requests/{ticket}")).await;
    b.css("#body")
        .await
        .send_keys("Same here since Monday, on the office network.")
        .await
        .unwrap();
    b.click("#reply-form button[type=submit]").await;
    b.css("p.notice").await;
    let text = b.text().await;
    assert!(text.contains("Your reply was sent."));
    assert!(text.contains("Same here since Monday, on the office network."));
    b.screenshot(&format!("read_write_member_replies_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

async fn an_admin_enables_read_only_sharing_through_the_organization_page(backend: Backend) {
    let s = Server::start(backend).await;
    let org = s.id("/organizations", json!({"name": "Initech"})).await;
    s.id(
        "/users",
        json!({"name": "Alice Initech", "email": "alice@initech.example", "organization_ids": [org]}),
    )
    .await;
    s.id(
        "/users",
        json!({"name": "Bob Initech", "email": "bob@initech.example", "organization_ids": [org]}),
    )
    .await;
    let alice = s.token_for("alice@initech.example");
    let bob = s.token_for("bob@initech.example");
    s.member_request(&bob, "Printer on floor 3", "It jams.")
        .await;
    let (ticket, ask) = s
        .member_request(
            &alice,
            "Please let our team see each other's tickets",
            "We would like read only sharing for Initech.",
        )
        .await;
    let approval = s
        .api_as(
            &alice,
            "POST",
            &format!("/tickets/{ticket}/comments"),
            json!({"body": "On behalf of Initech I approve the security risk."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();

    let b = Browser::start(&s.base).await;
    b.sign_in("boss@example.com").await;
    // 1. Navigate to the organization; choose the request ticket.
    b.goto(&format!("/agent/organizations/{org}")).await;
    assert!(
        b.css("#sharing-mode")
            .await
            .text()
            .await
            .unwrap()
            .starts_with("Not shared")
    );
    b.css("#ticket_id")
        .await
        .select_by_value(&ticket.to_string())
        .await
        .unwrap();
    b.click("#choose-ticket").await;
    b.css(&format!("#type-{ask}")).await;
    // The preview says who gains access before anything changes.
    assert!(
        b.css("#preview")
            .await
            .text()
            .await
            .unwrap()
            .contains("2 end user(s) would newly see 2 ticket(s)")
    );
    // Submitting without the evidence: the checklist says what is missing, nothing changes.
    b.click("#sharing-read_only").await;
    b.css("#prechecks-failed").await;
    let missing = b
        .css("#check-type_confirmed")
        .await
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(missing.contains("check-missing"), "{missing}");
    assert!(
        b.css("#check-not_blocked")
            .await
            .attr("class")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("check-done")
    );
    // 2-3. Point at the customer's comments: type confirmed, risk approved.
    b.click(&format!("#type-{ask}")).await;
    b.click(&format!("#risk-{approval}")).await;
    b.click("#sharing-read_only").await;
    b.css("p.notice").await;
    let details = b.css("#org-details").await.text().await.unwrap();
    assert!(
        details.contains("Shared organization (read only) enabled ")
            && details.contains(&format!(
                "as per http://127.0.0.1:8080/agent/tickets/{ticket}"
            )),
        "{details}"
    );
    assert!(
        b.css("#sharing-mode")
            .await
            .text()
            .await
            .unwrap()
            .contains("read only")
    );
    assert!(
        b.css("#sharing-history")
            .await
            .text()
            .await
            .unwrap()
            .contains("Not shared → Read only")
    );
    b.screenshot(&format!("sharing_enabled_{backend:?}").to_lowercase())
        .await;
    // The request ticket: confirmation comment, Resolved, the checks recorded.
    b.click(&format!(
        "#sharing-history a[href='/agent/tickets/{ticket}']"
    ))
    .await;
    b.css("#sharing-check").await;
    let text = b.text().await;
    assert!(
        text.contains("shared organization access (read only) is now enabled for Initech"),
        "{text}"
    );
    assert_eq!(
        b.css(".meta .badge").await.text().await.unwrap(),
        "Resolved"
    );
    assert!(text.contains("Security risk approved by Alice Initech"));
    b.screenshot(&format!("sharing_request_resolved_{backend:?}").to_lowercase())
        .await;
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Resolved");
    b.close().await;
}

async fn a_customer_reply_moves_the_ticket_to_customer_responded_and_keeps_the_internal_owner(
    backend: Backend,
) {
    let s = Server::start(backend).await;
    let fiona = s
        .id(
            "/users",
            json!({"name": "Fiona Finance", "email": "fiona@example.com", "role": "agent", "ticket_scope": "group", "password": PASSWORD}),
        )
        .await;
    let finance = s
        .id("/groups", json!({"name": "Finance", "agent_ids": [fiona]}))
        .await;
    let waiting = s
        .id(
            "/statuses",
            json!({"name": "Waiting on Finance", "category": "pending", "internal_group_ids": [finance]}),
        )
        .await;
    let customer = s
        .id(
            "/users",
            json!({"name": "Carla Customer", "email": "carla@example.com", "password": PASSWORD}),
        )
        .await;
    let ticket = s
        .id(
            "/tickets",
            json!({"subject": "Invoice 1042 is wrong", "description": "Please check it.", "requester_id": customer}),
        )
        .await;
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"status_id": waiting, "internal_group_id": finance, "internal_agent_id": fiona}),
    )
    .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("carla@example.com").await;
    b.goto(&format!("/portal/requests/{ticket}")).await;
    b.css("#body")
        .await
        .send_keys("Here is the corrected order number: 7731.")
        .await
        .unwrap();
    b.click("#reply-form button[type=submit]").await;
    b.css("p.notice").await;
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Customer Responded");
    assert_eq!(t["internal_group_id"], finance);
    assert_eq!(t["internal_agent_id"], fiona);
    b.sign_out().await;
    // Fiona still has it under "Shared with me".
    b.sign_in("fiona@example.com").await;
    b.goto("/agent/tickets").await;
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ul[@class='views']//a[span[text()='Shared with me']]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ul[@class='views']//a[@aria-current='page'][span[text()='Shared with me']]",
        ))
        .await
        .expect("the Shared with me view is open");
    let row = b
        .css(&format!("main a[href='/agent/tickets/{ticket}']"))
        .await;
    assert!(row.text().await.unwrap().contains("Invoice 1042 is wrong"));
    assert!(b.text().await.contains("Customer Responded"));
    b.screenshot(&format!("customer_responded_shared_with_me_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

async fn disabling_sharing_removes_a_colleagues_ticket_from_the_portal(backend: Backend) {
    let s = Server::start(backend).await;
    let org = s.id("/organizations", json!({"name": "Hooli"})).await;
    let colleague = s
        .id(
            "/users",
            json!({"name": "Gavin Hooli", "email": "gavin@hooli.example", "organization_ids": [org]}),
        )
        .await;
    s.id(
        "/users",
        json!({"name": "Max Member", "email": "max@hooli.example", "password": PASSWORD, "organization_ids": [org]}),
    )
    .await;
    let max = s.token_for("max@hooli.example");
    let theirs = s
        .id(
            "/tickets",
            json!({"subject": "Badge reader broken", "description": "At the main door.", "requester_id": colleague}),
        )
        .await;
    let (first, evidence) = s
        .member_request(
            &max,
            "Share our tickets",
            "Read only please; we accept the risk.",
        )
        .await;
    s.api(
        "POST",
        &format!("/organizations/{org}/sharing-changes"),
        json!({"ticket_id": first, "sharing": "read_only",
               "type_confirmed_comment_id": evidence, "risk_approved_comment_id": evidence}),
    )
    .await;
    let (second, stop) = s
        .member_request(
            &max,
            "Stop sharing our tickets",
            "Please turn sharing off again.",
        )
        .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("max@hooli.example").await;
    b.goto("/portal/organization").await;
    b.css(&format!("a[href='/portal/requests/{theirs}']")).await;
    b.sign_out().await;
    b.sign_in("boss@example.com").await;
    b.change_sharing(org, second, stop, None, "own_only").await;
    assert!(
        b.css("#org-details")
            .await
            .text()
            .await
            .unwrap()
            .contains("Shared organization disabled ")
    );
    b.sign_out().await;
    b.sign_in("max@hooli.example").await;
    b.goto("/portal/organization").await;
    b.css("main h1").await;
    assert!(!b.has(&format!("a[href='/portal/requests/{theirs}']")).await);
    assert!(!b.text().await.contains("Badge reader broken"));
    b.goto(&format!("/portal/requests/{theirs}")).await;
    assert!(b.text().await.contains("No such request"));
    b.goto("/portal/organization").await;
    b.css("main h1").await;
    b.screenshot(&format!("sharing_disabled_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

/// A 1×1 PNG.
const TINY_PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63\x64\x60\xf8\x5f\x0f\x00\x02\x87\x01\x80\xeb\x47\xba\x92\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// Waits until the first `img.thumb` has loaded (its natural width is known).
async fn wait_thumbnail_loaded(b: &Browser) {
    for _ in 0..100 {
        let w = b
            .client
            .execute(
                "const i = document.querySelector('img.thumb'); \
                 return i && i.complete ? i.naturalWidth : 0;",
                vec![],
            )
            .await
            .expect("read the thumbnail");
        if w.as_i64().unwrap_or(0) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the thumbnail never loaded");
}

async fn a_customer_attaches_files_in_the_portal_and_the_agent_sees_them(backend: Backend) {
    let s = Server::start(backend).await;
    s.id(
        "/users",
        json!({"name": "Sam Support", "email": "sam@example.com", "role": "agent", "password": PASSWORD}),
    )
    .await;
    s.id(
        "/users",
        json!({"name": "Carla Customer", "email": "carla@example.com", "password": PASSWORD}),
    )
    .await;
    let carla = s.token_for("carla@example.com");
    let ticket = s
        .api_as(
            &carla,
            "POST",
            "/tickets",
            json!({"subject": "The invoice is wrong", "description": "It charges us twice."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // Files on disk, as a person chooses them.
    let dir = std::env::temp_dir().join(format!("ferrodesk-e2e-upload-{}", unique()));
    std::fs::create_dir_all(&dir).expect("upload dir");
    let scan = dir.join("invoice-scan.png");
    std::fs::write(&scan, TINY_PNG).expect("write the picture");
    let notes = dir.join("notes.txt");
    let notes_text = format!("Invoice 117: 3 x 40 EUR, charged 160 EUR ({})\n", unique());
    std::fs::write(&notes, &notes_text).expect("write the text file");

    let b = Browser::start(&s.base).await;
    b.sign_in("carla@example.com").await;
    b.goto(&format!("/portal/requests/{ticket}")).await;
    b.css("#body")
        .await
        .send_keys("The scan and my notes are attached.")
        .await
        .unwrap();
    // Several files for one input: their paths, one a line.
    b.css("#files")
        .await
        .send_keys(&format!("{}\n{}", scan.display(), notes.display()))
        .await
        .unwrap();
    b.click("#reply-form button[type=submit]").await;
    b.css("p.notice").await;
    let text = b.text().await;
    assert!(text.contains("Your reply was sent."), "{text}");
    assert!(
        text.contains("invoice-scan.png") && text.contains("notes.txt"),
        "{text}"
    );
    wait_thumbnail_loaded(&b).await;
    b.screenshot(&format!("portal_attachments_{backend:?}").to_lowercase())
        .await;
    b.sign_out().await;

    b.sign_in("sam@example.com").await;
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    let links = b
        .client
        .find_all(Locator::Css("ul.files a[download]"))
        .await
        .expect("file links");
    let mut names = Vec::new();
    for l in &links {
        names.push(l.text().await.unwrap());
    }
    assert_eq!(names, vec!["invoice-scan.png", "notes.txt"]);
    let href = links[1].attr("href").await.unwrap().expect("a link");
    wait_thumbnail_loaded(&b).await;
    // The agent's session fetches the file the link names.
    let got = b
        .client
        .execute(
            "return fetch(arguments[0]).then(r => r.text());",
            vec![json!(href)],
        )
        .await
        .expect("fetch the file");
    assert_eq!(got, json!(notes_text));
    b.screenshot(&format!("agent_attachments_{backend:?}").to_lowercase())
        .await;
    b.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of a form control, read in the page.
async fn value_of(b: &Browser, selector: &str) -> String {
    let v = b
        .client
        .execute(
            "return document.querySelector(arguments[0]).value;",
            vec![json!(selector)],
        )
        .await
        .expect("read a value");
    v.as_str().unwrap_or_default().to_owned()
}

/// Runs a script in the page and returns its answer.
async fn eval(b: &Browser, script: &str) -> Value {
    b.client
        .execute(script, vec![])
        .await
        .expect("run a script")
}

/// An agent who may sign in, a customer and a ticket of theirs.
/// A ticket of `agent_customer_and_ticket` in Customer Responded, owned internally by Finance
/// (Fiona Finance): its id, Finance's and Fiona's.
async fn owned_by_finance(s: &Server, subject: &str) -> (i64, i64, i64) {
    let ticket = agent_customer_and_ticket(s, subject).await;
    let fiona = s
        .id(
            "/users",
            json!({"name": "Fiona Finance", "email": "fiona@example.com", "role": "agent"}),
        )
        .await;
    let finance = s
        .id("/groups", json!({"name": "Finance", "agent_ids": [fiona]}))
        .await;
    let cr = s.status_id("Customer Responded").await;
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"status_id": cr, "internal_group_id": finance, "internal_agent_id": fiona}),
    )
    .await;
    (ticket, finance, fiona)
}

async fn agent_customer_and_ticket(s: &Server, subject: &str) -> i64 {
    s.id(
        "/users",
        json!({"name": "Sam Support", "email": "sam@example.com", "role": "agent", "password": PASSWORD}),
    )
    .await;
    let customer = s
        .id(
            "/users",
            json!({"name": "Carla Customer", "email": "carla@example.com", "password": PASSWORD}),
        )
        .await;
    s.id(
        "/tickets",
        json!({"subject": subject, "description": "It jams on every second page.", "requester_id": customer}),
    )
    .await
}

async fn a_second_update_after_a_colleagues_change_keeps_it_and_shows_both(backend: Backend) {
    let s = Server::start(backend).await;
    let ticket = agent_customer_and_ticket(&s, "Printer on floor 3 jams").await;
    let pending = s.status_id("Pending").await.to_string();
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    assert_eq!(value_of(&b, "#priority").await, "normal");
    // A colleague (Boss, an admin) makes it urgent while Sam has the page open.
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"priority": "urgent"}),
    )
    .await;
    // Sam sets it to Pending (the page's script swaps the internal owner choices in).
    b.css("#status_id")
        .await
        .select_by_value(&pending)
        .await
        .unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[@id='internal-hint']/strong[text()='Pending']",
        ))
        .await
        .expect("the internal owner choices follow the status");
    b.click("#properties button[type=submit]").await;
    let conflict = b.css("#conflict").await.text().await.unwrap();
    assert!(
        conflict.contains("Someone changed this ticket after you opened it"),
        "{conflict}"
    );
    // Both side by side: the colleague's change, and Sam's own still chosen in the form.
    let theirs = b.css("#conflict-theirs").await.text().await.unwrap();
    assert!(
        theirs.contains("Priority: Normal → Urgent, by Boss"),
        "{theirs}"
    );
    let kept = b.css("#conflict-kept").await.text().await.unwrap();
    assert!(kept.contains("You had chosen: Status Pending"), "{kept}");
    // The table beside it: every property of the form, the ticket now and Sam's edits.
    let rows = table_rows(&b, "#conflict-sides").await;
    for row in [
        "Status Open Pending",
        "Priority Urgent — changed by Boss not changed",
        "Group none not changed",
        "Tags none not changed",
    ] {
        assert!(rows.iter().any(|r| r == row), "{row} in {rows:?}");
    }
    assert_eq!(rows.len(), 8, "one line a property: {rows:?}");
    assert_eq!(value_of(&b, "#priority").await, "urgent");
    assert_eq!(value_of(&b, "#status_id").await, pending);
    assert_eq!(
        value_of(&b, "#properties input[name=orig_priority]").await,
        "urgent"
    );
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Open", "nothing was saved yet");
    b.screenshot(&format!("conflict_both_changes_{backend:?}").to_lowercase())
        .await;
    // On a phone the box and its table fit the screen.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    let (fits, scroll, inner) = fits_width(&b).await;
    assert!(fits, "the conflict at 390 px: {scroll}px in {inner}px");
    eval(&b, "document.getElementById('conflict').scrollIntoView();").await;
    b.screenshot(&format!("phone_conflict_both_changes_{backend:?}").to_lowercase())
        .await;
    b.client
        .set_window_size(1280, 1000)
        .await
        .expect("desktop size");
    // Update again: Sam's status is saved, the colleague's priority stays.
    b.click("#properties button[type=submit]").await;
    b.css("p.notice").await;
    assert!(b.text().await.contains("Ticket updated."));
    // The timeline has both changes, each once.
    let timeline = b.css("section.timeline").await.text().await.unwrap();
    assert_eq!(
        timeline.matches("Priority: Normal → Urgent").count(),
        1,
        "{timeline}"
    );
    assert_eq!(
        timeline.matches("Status: Open → Pending").count(),
        1,
        "{timeline}"
    );
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Pending");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(value_of(&b, "#priority").await, "urgent");
    // Both change the same property: the form shows the colleague's value and lists Sam's.
    b.css("#priority")
        .await
        .select_by_value("low")
        .await
        .unwrap();
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"priority": "high"}),
    )
    .await;
    b.click("#properties button[type=submit]").await;
    let replaced = b.css("#conflict-replaced").await.text().await.unwrap();
    assert!(
        replaced.contains("You had chosen: Priority Low (now High)"),
        "{replaced}"
    );
    assert_eq!(value_of(&b, "#priority").await, "high");
    assert!(!b.has("#conflict-kept").await);
    // Sam chooses Low again on purpose: now it is saved.
    b.css("#priority")
        .await
        .select_by_value("low")
        .await
        .unwrap();
    b.click("#properties button[type=submit]").await;
    b.css("p.notice").await;
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(
        (t["status"].as_str(), t["priority"].as_str()),
        (Some("Pending"), Some("low"))
    );
    b.close().await;
}

async fn with_javascript_a_status_change_that_removes_the_internal_owner_says_why(
    backend: Backend,
) {
    let s = Server::start(backend).await;
    let (ticket, finance, _) = owned_by_finance(&s, "Refund for a duplicate charge").await;
    let open = s.status_id("Open").await;
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    assert_eq!(
        value_of(&b, "#internal_group_id").await,
        finance.to_string()
    );
    // Back to Open, which maps no group: the script empties the internal owner choices
    // and says what Ferrodesk will do.
    b.css("#status_id")
        .await
        .select_by_value(&open.to_string())
        .await
        .unwrap();
    wait_options(&b, "#internal_group_id", |o| o.len() == 1).await;
    let fieldset = b.css("#internal-owner").await.text().await.unwrap();
    assert!(
        fieldset.contains("Ferrodesk removes the internal owner (Finance / Fiona Finance)"),
        "{fieldset}"
    );
    b.screenshot(&format!("internal_owner_removal_note_{backend:?}").to_lowercase())
        .await;
    b.click("#properties button[type=submit]").await;
    b.css("p.notice").await;
    let timeline = b.css("section.timeline").await.text().await.unwrap();
    assert!(
        timeline.contains("Why: internal owner removed because the status changed"),
        "{timeline}"
    );
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Open");
    assert_eq!(t["internal_group_id"], Value::Null);
    assert_eq!(t["internal_agent_id"], Value::Null);
    let events = s
        .api("GET", &format!("/tickets/{ticket}/events"), Value::Null)
        .await;
    let removal = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["changes"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["field"] == "internal_group_id" && c["to"].is_null())
            })
        })
        .expect("an event removing the internal group");
    assert_eq!(removal["reason"], "status_changed", "{removal}");
    b.screenshot(&format!("internal_owner_removed_why_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

/// The page's heading, status and whether the stylesheet applies, fetched as the browser would.
async fn not_found_page(b: &Browser, path: &str) -> (String, i64, String) {
    b.goto(path).await;
    let h1 = b.css("main h1").await.text().await.unwrap();
    let status = b
        .client
        .execute(
            "return fetch(arguments[0]).then(r => r.status);",
            vec![json!(path)],
        )
        .await
        .expect("fetch the page")
        .as_i64()
        .unwrap_or_default();
    // The header's colour comes from the stylesheet.
    let header = eval(
        b,
        "return getComputedStyle(document.querySelector('header.top')).backgroundColor;",
    )
    .await;
    (h1, status, header.as_str().unwrap_or_default().to_owned())
}

async fn an_address_with_a_wrong_id_answers_a_styled_not_found_page(backend: Backend) {
    let s = Server::start(backend).await;
    let ticket = agent_customer_and_ticket(&s, "Cannot print").await;
    let b = Browser::start(&s.base).await;
    b.sign_in("boss@example.com").await;
    let styled = "rgb(31, 42, 68)";
    for (path, heading) in [
        ("/agent/tickets/abc".to_owned(), "No such ticket"),
        (
            "/agent/tickets/99999999999999999999".to_owned(),
            "No such ticket",
        ),
        ("/agent/tickets/987654".to_owned(), "No such ticket"),
        (
            "/agent/organizations/abc".to_owned(),
            "No such organization",
        ),
        ("/admin/statuses/abc".to_owned(), "No such status"),
        ("/admin/users/abc".to_owned(), "No such user"),
        ("/admin/groups/abc".to_owned(), "No such group"),
        ("/admin/rules/abc".to_owned(), "No such rule"),
        (
            "/admin/organizations/abc".to_owned(),
            "No such organization",
        ),
        ("/mail/abc/original".to_owned(), "No such message"),
        (format!("/agent/tickets/{ticket}x"), "No such ticket"),
    ] {
        let (h1, status, header) = not_found_page(&b, &path).await;
        assert_eq!(h1, heading, "{path}");
        assert_eq!(status, 404, "{path}");
        assert_eq!(header, styled, "{path}: the page is styled");
        assert!(!b.text().await.contains("Cannot parse"), "{path}");
    }
    b.goto("/agent/tickets/abc").await;
    b.css("main h1").await;
    b.screenshot(&format!("no_such_ticket_{backend:?}").to_lowercase())
        .await;
    // The page keeps the agent's navigation and links back to the list.
    assert!(b.has("header nav a[href='/agent/tickets/new']").await);
    b.click("main a[href='/agent/tickets']").await;
    b.css("table.tickets").await;
    b.sign_out().await;
    b.sign_in("carla@example.com").await;
    for (path, heading) in [
        ("/portal/requests/abc", "No such request"),
        ("/portal/tickets/999999", "No such page"),
    ] {
        let (h1, status, header) = not_found_page(&b, path).await;
        assert_eq!((h1.as_str(), status), (heading, 404), "{path}");
        assert_eq!(header, styled, "{path}");
        assert!(
            b.has("header nav a[href='/portal/requests/new']").await,
            "{path}"
        );
        assert!(b.has("main a[href='/portal']").await, "{path}");
    }
    b.close().await;
}

async fn an_empty_reply_is_refused_under_the_reply_box(backend: Backend) {
    let s = Server::start(backend).await;
    let ticket = agent_customer_and_ticket(&s, "Scanner is offline").await;
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    b.click(".reply-box button[type=submit]").await;
    let error = b.css("#reply_body-error").await;
    assert_eq!(
        error.text().await.unwrap(),
        "Write your reply before sending it."
    );
    let placed = eval(
        &b,
        "const e = document.getElementById('reply_body-error'); \
         const t = document.getElementById('reply_body'); \
         return [!!e.closest('form.reply-box'), !!e.closest('.properties'), \
                 t.getAttribute('aria-invalid'), t.getAttribute('aria-describedby'), \
                 document.activeElement.id];",
    )
    .await;
    assert_eq!(
        placed,
        json!([true, false, "true", "reply_body-error", "reply_body"])
    );
    assert!(
        !b.has("#props-errors").await,
        "the properties were not sent"
    );
    let props = b.css("aside.properties").await.text().await.unwrap();
    assert!(!props.contains("not updated"), "{props}");
    let comments = s
        .api("GET", &format!("/tickets/{ticket}/comments"), Value::Null)
        .await;
    assert_eq!(
        comments["items"].as_array().unwrap().len(),
        1,
        "no reply added"
    );
    b.screenshot(&format!("empty_reply_error_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

/// The innermost elements reaching past the window's right edge, to say what is too wide.
const WIDEST_ELEMENTS: &str = "return Array.from(document.querySelectorAll('main *'))\
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
    .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > window.innerWidth + 1))\
    .slice(0, 6)\
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '') \
         + ' ' + Math.round(e.getBoundingClientRect().width) + 'px');";

/// Whether the page fits the window's width (no horizontal scrolling), with both widths.
/// The body rows of a table as people read them (white space squashed).
async fn table_rows(b: &Browser, css: &str) -> Vec<String> {
    let v = eval(
        b,
        &format!(
            "return Array.from(document.querySelectorAll('{css} tbody tr'))\
               .map(r => r.textContent.replace(/\\s+/g, ' ').trim());"
        ),
    )
    .await;
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn fits_width(b: &Browser) -> (bool, i64, i64) {
    let v = eval(
        b,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
    )
    .await;
    let scroll = v[0].as_i64().unwrap_or_default();
    let inner = v[1].as_i64().unwrap_or_default();
    (scroll <= inner, scroll, inner)
}

async fn on_a_phone_the_ticket_list_organization_and_admin_pages_fit_the_screen(backend: Backend) {
    let s = Server::start(backend).await;
    let org = s
        .id(
            "/organizations",
            json!({"name": "Initech International Holdings"}),
        )
        .await;
    let member = s
        .id(
            "/users",
            json!({"name": "Alice Initech", "email": "alice@initech.example", "organization_ids": [org]}),
        )
        .await;
    s.id(
        "/users",
        json!({"name": "Sam Support", "email": "sam@example.com", "role": "agent", "password": PASSWORD}),
    )
    .await;
    let finance = s
        .id("/groups", json!({"name": "Finance and Accounting"}))
        .await;
    s.id(
        "/statuses",
        json!({"name": "Waiting on Finance", "category": "pending", "internal_group_ids": [finance]}),
    )
    .await;
    let mut last = 0;
    for subject in [
        "The quarterly invoice for our Frankfurt office lists the wrong VAT number",
        "VPN drops every hour",
        "Please share our tickets (read only)",
    ] {
        last = s
            .id(
                "/tickets",
                json!({"subject": subject, "description": "Details inside.", "requester_id": member}),
            )
            .await;
    }
    let b = Browser::start(&s.base).await;
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    b.sign_in("boss@example.com").await;
    let pages = [
        "/agent/tickets".to_owned(),
        format!("/agent/tickets/{last}"),
        "/agent/tickets/new".to_owned(),
        "/agent/organizations".to_owned(),
        format!("/agent/organizations/{org}?ticket_id={last}"),
        "/admin/statuses".to_owned(),
        "/admin/groups".to_owned(),
        format!("/admin/groups/{finance}"),
        "/admin/rules".to_owned(),
        "/admin/settings".to_owned(),
        "/admin/users".to_owned(),
        "/admin/organizations".to_owned(),
        format!("/admin/organizations/{org}"),
        "/admin/outbox".to_owned(),
        "/admin/inbox".to_owned(),
        "/admin/mail-templates".to_owned(),
        "/search?q=invoice".to_owned(),
    ];
    let mut too_wide = Vec::new();
    for path in &pages {
        b.goto(path).await;
        b.css("main h1").await;
        let (fits, scroll, inner) = fits_width(&b).await;
        assert!(inner <= 400, "the window is phone-sized: {inner}");
        if !fits {
            let culprits = eval(&b, WIDEST_ELEMENTS).await;
            too_wide.push(format!("{path}: {scroll}px in {inner}px: {culprits}"));
        }
    }
    for (path, name) in [
        ("/agent/tickets".to_owned(), "tickets"),
        (
            format!("/agent/organizations/{org}?ticket_id={last}"),
            "organization",
        ),
        ("/admin/statuses".to_owned(), "admin_statuses"),
    ] {
        b.goto(&path).await;
        b.css("main h1").await;
        // The list's first tickets, shown as cards.
        eval(&b, "const t = document.querySelector('table.tickets'); if (t) t.scrollIntoView(); return null;").await;
        b.screenshot(&format!("phone_{name}_{backend:?}").to_lowercase())
            .await;
    }
    assert!(
        too_wide.is_empty(),
        "pages wider than a phone: {too_wide:#?}"
    );
    // An agent's list too (no admin tab).
    b.sign_out().await;
    b.sign_in("sam@example.com").await;
    b.goto("/agent/tickets").await;
    b.css("main h1").await;
    let (fits, scroll, inner) = fits_width(&b).await;
    assert!(fits, "/agent/tickets for an agent: {scroll}px in {inner}px");
    b.close().await;
}

/// Waits until the page's notice says `expected` (the page before may have had a notice
/// of its own, so finding one is not enough).
async fn wait_notice(b: &Browser, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(n) = b.client.find(Locator::Css("p.notice")).await {
            last = n.text().await.unwrap_or_default();
            if last == expected {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the notice never said {expected:?}; last: {last:?}");
}

/// The options of a select as people read them (their labels).
async fn option_labels(b: &Browser, select: &str) -> Vec<String> {
    options(b, select)
        .await
        .into_iter()
        .map(|(_, l)| l)
        .collect()
}

async fn an_agent_replies_and_sets_the_status_in_one_submit(backend: Backend) {
    let s = Server::start(backend).await;
    let (ticket, finance, fiona) = owned_by_finance(&s, "Refund for a double charge").await;
    let cr = s.status_id("Customer Responded").await;
    let pending = s.status_id("Pending").await.to_string();
    let resolved = s.status_id("Resolved").await.to_string();
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    // Next to Send: keep the status (the default), or set one, by name; those that do not
    // map Finance say they remove the internal owner, and the note under them says why.
    let labels = option_labels(&b, "#reply_status_id").await;
    assert_eq!(
        labels,
        vec![
            "Keep the status (Customer Responded)",
            "Open (removes the internal owner)",
            "Pending (removes the internal owner)",
            "Resolved (removes the internal owner)",
            "Closed (removes the internal owner)",
        ]
    );
    assert_eq!(value_of(&b, "#reply_status_id").await, "");
    let hint = b.css("#reply_status_id-hint").await.text().await.unwrap();
    assert!(
        hint.contains("Finance is not mapped to Open, Pending, Resolved or Closed")
            && hint.contains("Ferrodesk removes the internal owner (Finance / Fiona Finance)"),
        "{hint}"
    );
    b.css("#reply_body")
        .await
        .send_keys("We have asked Finance to refund the second charge.")
        .await
        .unwrap();
    b.css("#reply_status_id")
        .await
        .select_by_value(&pending)
        .await
        .unwrap();
    eval(
        &b,
        "document.querySelector('.reply-box .send-row').scrollIntoView({block: 'center'}); return null;",
    )
    .await;
    b.screenshot(&format!("reply_with_status_chosen_{backend:?}").to_lowercase())
        .await;
    b.click(".reply-box button[type=submit]").await;
    wait_notice(&b, "Public reply sent; the status is now Pending.").await;
    assert_eq!(b.css(".meta .badge").await.text().await.unwrap(), "Pending");
    let text = b.text().await;
    assert!(text.contains("We have asked Finance to refund the second charge."));
    let timeline = b.css("section.timeline").await.text().await.unwrap();
    assert!(
        timeline.contains("Status: Customer Responded → Pending")
            && timeline.contains("Why: internal owner removed because the status changed"),
        "{timeline}"
    );
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Pending");
    assert_eq!(t["internal_group_id"], Value::Null);
    let events = s
        .api("GET", &format!("/tickets/{ticket}/events"), Value::Null)
        .await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "status_changed"),
        "{events}"
    );
    b.screenshot(&format!("reply_and_set_status_{backend:?}").to_lowercase())
        .await;
    // A colleague changes the ticket while Sam writes: nothing is saved, both are shown,
    // and Sam's reply and chosen status are still there.
    b.css("#reply_body")
        .await
        .send_keys("The refund is on its way.")
        .await
        .unwrap();
    b.css("#reply_status_id")
        .await
        .select_by_value(&resolved)
        .await
        .unwrap();
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"priority": "urgent"}),
    )
    .await;
    b.click(".reply-box button[type=submit]").await;
    let conflict = b.css("#reply-conflict").await.text().await.unwrap();
    assert!(
        conflict.contains("Someone changed this ticket after you opened it.")
            && conflict.contains("Your reply was not sent and the status was not changed"),
        "{conflict}"
    );
    let theirs = b.css("#reply-conflict-theirs").await.text().await.unwrap();
    assert!(
        theirs.contains("Priority: Normal → Urgent, by Boss"),
        "{theirs}"
    );
    let kept = b.css("#reply-conflict-kept").await.text().await.unwrap();
    assert!(kept.contains("You had chosen: Status Resolved"), "{kept}");
    // The reply box carries the status only: one line, the ticket now beside Sam's choice.
    assert_eq!(
        table_rows(&b, "#reply-conflict-sides").await,
        ["Status Pending Resolved"]
    );
    assert_eq!(
        value_of(&b, "#reply_body").await,
        "The refund is on its way."
    );
    assert_eq!(value_of(&b, "#reply_status_id").await, resolved);
    let comments = s
        .api("GET", &format!("/tickets/{ticket}/comments"), Value::Null)
        .await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 2, "not sent");
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(t["status"], "Pending", "not changed");
    b.screenshot(&format!("reply_and_set_status_conflict_{backend:?}").to_lowercase())
        .await;
    // Send again: the reply and the status, and the colleague's priority stays.
    b.click(".reply-box button[type=submit]").await;
    wait_notice(&b, "Public reply sent; the status is now Resolved.").await;
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(
        (t["status"].as_str(), t["priority"].as_str()),
        (Some("Resolved"), Some("urgent"))
    );
    // A private note can set the status too.
    b.css("#note_body")
        .await
        .send_keys("Refund booked under reference R-118.")
        .await
        .unwrap();
    b.css("#note_status_id")
        .await
        .select_by_value(&pending)
        .await
        .unwrap();
    b.click(".note-box button[type=submit]").await;
    wait_notice(&b, "Private note added; the status is now Pending.").await;
    // On a phone the boxes with their status choices fit the screen, internal owner and all.
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"status_id": cr, "internal_group_id": finance, "internal_agent_id": fiona}),
    )
    .await;
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    b.css("#reply_status_id-hint").await;
    let (fits, scroll, inner) = fits_width(&b).await;
    assert!(
        fits,
        "{scroll}px in {inner}px: {}",
        eval(&b, WIDEST_ELEMENTS).await
    );
    eval(
        &b,
        "document.querySelector('.reply-box .send-row').scrollIntoView({block: 'center'}); return null;",
    )
    .await;
    b.screenshot(&format!("phone_reply_with_status_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

/// The computed style property of the first element matching `selector`.
async fn style_of(b: &Browser, selector: &str, property: &str) -> String {
    let v = b
        .client
        .execute(
            "return getComputedStyle(document.querySelector(arguments[0]))\
               .getPropertyValue(arguments[1]);",
            vec![json!(selector), json!(property)],
        )
        .await
        .expect("read a style");
    v.as_str().unwrap_or_default().to_owned()
}

async fn a_customer_is_told_what_to_fix_lands_on_the_new_request_and_marks_it_solved(
    backend: Backend,
) {
    let s = Server::start(backend).await;
    s.id(
        "/users",
        json!({"name": "Carla Customer", "email": "carla@example.com", "password": PASSWORD}),
    )
    .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("carla@example.com").await;
    b.goto("/portal/requests/new").await;
    // Sent empty: each field says what to do, in words, and is marked.
    b.click("main button[type=submit]").await;
    let summary = b.css("#error-summary").await.text().await.unwrap();
    assert!(
        summary.contains("Write a subject: a few words about what you need.")
            && summary.contains("Tell us how we can help: describe what you need."),
        "{summary}"
    );
    assert!(!b.text().await.contains("must not be empty"));
    let marked = eval(
        &b,
        "const s = document.getElementById('subject'); \
         const d = document.getElementById('description'); \
         return [s.getAttribute('aria-invalid'), s.getAttribute('aria-describedby'), \
                 document.getElementById('subject-error').textContent, \
                 d.getAttribute('aria-invalid'), d.getAttribute('aria-describedby'), \
                 document.activeElement.id];",
    )
    .await;
    assert_eq!(
        marked,
        json!([
            "true",
            "subject-error",
            "Write a subject: a few words about what you need.",
            "true",
            "description-error",
            "subject"
        ])
    );
    // Styled as an error: a red bar beside the field, its label and box in red.
    let red = "rgb(180, 35, 24)";
    assert_eq!(
        style_of(&b, ".field.has-error", "border-left-color").await,
        red
    );
    assert_eq!(style_of(&b, ".field.has-error label", "color").await, red);
    assert_eq!(style_of(&b, "#subject", "border-top-color").await, red);
    b.screenshot(&format!("portal_new_request_errors_{backend:?}").to_lowercase())
        .await;
    // The summary's link takes her to the field.
    b.click("#error-summary a[href='#description']").await;
    b.css("#subject")
        .await
        .send_keys("The invoice PDF does not open")
        .await
        .unwrap();
    b.css("#description")
        .await
        .send_keys("It says the file is damaged.")
        .await
        .unwrap();
    b.click("main button[type=submit]").await;
    // She lands on the request she sent, not the list.
    let notice = b.css("p.notice").await.text().await.unwrap();
    assert!(notice.starts_with("Your request was sent."), "{notice}");
    assert_eq!(
        b.css("main h1").await.text().await.unwrap(),
        "The invoice PDF does not open"
    );
    let url = b.client.current_url().await.unwrap();
    assert!(url.path().starts_with("/portal/requests/"), "{url}");
    let id: i64 = url
        .path()
        .trim_start_matches("/portal/requests/")
        .parse()
        .unwrap();
    assert!(b.text().await.contains("It says the file is damaged."));
    b.css("#solve-form").await;
    b.screenshot(&format!("portal_request_sent_{backend:?}").to_lowercase())
        .await;
    // Solved on her side: one click.
    b.click("#solve-form button[type=submit]").await;
    wait_notice(
        &b,
        "Your request is marked as solved. If you reply, it opens again.",
    )
    .await;
    assert_eq!(b.css(".meta .badge").await.text().await.unwrap(), "Solved");
    assert!(!b.has("#solve-form").await, "solved: no button any more");
    let t = s.api("GET", &format!("/tickets/{id}"), Value::Null).await;
    assert_eq!(t["status"], "Resolved");
    b.screenshot(&format!("portal_marked_solved_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

async fn a_customer_sees_whose_request_it_is_and_which_organization(backend: Backend) {
    let s = Server::start(backend).await;
    let globex = s.id("/organizations", json!({"name": "Globex"})).await;
    let initech = s.id("/organizations", json!({"name": "Initech"})).await;
    let hooli = s.id("/organizations", json!({"name": "Hooli"})).await;
    let gina = s
        .id(
            "/users",
            json!({"name": "Gina Globex", "email": "gina@globex.example", "organization_ids": [globex]}),
        )
        .await;
    let hank = s
        .id(
            "/users",
            json!({"name": "Hank Hooli", "email": "hank@hooli.example", "organization_ids": [hooli]}),
        )
        .await;
    // Max is in Globex and Initech and sees his organizations' requests (read only).
    let max = s
        .id(
            "/users",
            json!({"name": "Max Member", "email": "max@globex.example", "password": PASSWORD,
                   "access": "organization", "organization_ids": [globex, initech],
                   "default_organization_id": globex}),
        )
        .await;
    let colleagues = s
        .id(
            "/tickets",
            json!({"subject": "VPN drops every hour", "description": "Since Monday.", "requester_id": gina}),
        )
        .await;
    let copied = s
        .id(
            "/tickets",
            json!({"subject": "Shared project folder", "description": "Max needs access too.",
                   "requester_id": hank, "cc_ids": [max]}),
        )
        .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("max@globex.example").await;
    // The organization list names the colleague who asked.
    b.goto("/portal/organization").await;
    let row = b
        .css(&format!("a[href='/portal/requests/{colleagues}']"))
        .await;
    let item = row
        .find(Locator::XPath(".."))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(item.contains("Asked by Gina Globex"), "{item}");
    b.screenshot(&format!("portal_organization_asked_by_{backend:?}").to_lowercase())
        .await;
    // Copied on a request of another organization: said so, not "a colleague's".
    b.goto("/portal/cc").await;
    let item = b
        .css(&format!("a[href='/portal/requests/{copied}']"))
        .await
        .find(Locator::XPath(".."))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        item.contains("You are copied on this request") && item.contains("Asked by Hank Hooli"),
        "{item}"
    );
    assert!(!item.contains("colleague"), "{item}");
    b.goto(&format!("/portal/requests/{copied}")).await;
    let meta = b.css("#request-meta").await.text().await.unwrap();
    assert!(
        meta.contains("You are copied on this request") && !meta.contains("colleague"),
        "{meta}"
    );
    assert!(b.has("main .crumbs a[href='/portal/cc']").await);
    b.screenshot(&format!("portal_copied_request_{backend:?}").to_lowercase())
        .await;
    b.goto(&format!("/portal/requests/{colleagues}")).await;
    let meta = b.css("#request-meta").await.text().await.unwrap();
    assert!(meta.contains("Gina Globex, a colleague"), "{meta}");
    // A new request: he picks the organization it is for.
    b.goto("/portal/requests/new").await;
    assert_eq!(
        option_labels(&b, "#organization_id").await,
        vec!["Globex", "Initech"]
    );
    assert_eq!(value_of(&b, "#organization_id").await, globex.to_string());
    b.css("#subject")
        .await
        .send_keys("New laptop for the Initech office")
        .await
        .unwrap();
    b.css("#description")
        .await
        .send_keys("For our new colleague starting Monday.")
        .await
        .unwrap();
    b.css("#organization_id")
        .await
        .select_by_value(&initech.to_string())
        .await
        .unwrap();
    b.screenshot(&format!("portal_new_request_organization_{backend:?}").to_lowercase())
        .await;
    b.click("main button[type=submit]").await;
    b.css("p.notice").await;
    let meta = b.css("#request-meta").await.text().await.unwrap();
    assert!(meta.contains("Initech"), "{meta}");
    // His list says which organization each request belongs to.
    b.goto("/portal").await;
    let tags = eval(
        &b,
        "return Array.from(document.querySelectorAll('ul.requests li'))\
           .map(li => [li.querySelector('a').textContent, \
                       (li.querySelector('.org-tag') || {}).textContent || '']);",
    )
    .await;
    assert_eq!(
        tags,
        json!([["New laptop for the Initech office", "Initech"]]),
        "{tags}"
    );
    b.screenshot(&format!("portal_organization_of_each_request_{backend:?}").to_lowercase())
        .await;
    // On a phone every portal page fits the screen.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    for path in [
        "/portal".to_owned(),
        "/portal/organization".to_owned(),
        "/portal/cc".to_owned(),
        "/portal/requests/new".to_owned(),
        format!("/portal/requests/{copied}"),
        format!("/portal/requests/{colleagues}"),
    ] {
        b.goto(&path).await;
        b.css("main h1").await;
        let (fits, scroll, inner) = fits_width(&b).await;
        assert!(
            fits,
            "{path}: {scroll}px in {inner}px: {}",
            eval(&b, WIDEST_ELEMENTS).await
        );
    }
    b.goto("/portal/cc").await;
    b.css("main h1").await;
    b.screenshot(&format!("phone_portal_cc_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

on_both_databases!(
    an_agent_sets_shared_ownership_and_the_internal_group_list_follows_the_status,
    a_customer_sees_their_request_and_replies,
    a_read_only_member_sees_a_colleagues_ticket_with_no_reply_box_until_read_write,
    an_admin_enables_read_only_sharing_through_the_organization_page,
    a_customer_reply_moves_the_ticket_to_customer_responded_and_keeps_the_internal_owner,
    disabling_sharing_removes_a_colleagues_ticket_from_the_portal,
    a_customer_attaches_files_in_the_portal_and_the_agent_sees_them,
    a_second_update_after_a_colleagues_change_keeps_it_and_shows_both,
    with_javascript_a_status_change_that_removes_the_internal_owner_says_why,
    an_address_with_a_wrong_id_answers_a_styled_not_found_page,
    an_empty_reply_is_refused_under_the_reply_box,
    on_a_phone_the_ticket_list_organization_and_admin_pages_fit_the_screen,
    an_agent_replies_and_sets_the_status_in_one_submit,
    a_customer_is_told_what_to_fix_lands_on_the_new_request_and_marks_it_solved,
    a_customer_sees_whose_request_it_is_and_which_organization,
);
