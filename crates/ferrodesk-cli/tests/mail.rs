//! Outgoing mail through a real SMTP server process: aiosmtpd (from PyPI, installed by
//! `scripts/test` and named by `FERRODESK_AIOSMTPD_PYTHON`) writing what it receives to a
//! Maildir, and `ferrodesk serve` / `ferrodesk worker` processes delivering the outbox to it.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{NO_RATE_LIMITS, demo_database, free_port, serve};
use ferrodesk_testkit::{Backend, scalar_at};
use serde_json::{Value, json};

/// An aiosmtpd process writing to a Maildir, killed when dropped.
struct Smtp {
    child: Child,
    maildir: PathBuf,
}

impl Smtp {
    /// aiosmtpd with `handler ARGS…` on `port` (`env` for the process), once it listens.
    async fn spawn(
        port: u16,
        maildir: PathBuf,
        handler: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Smtp {
        let python = std::env::var("FERRODESK_AIOSMTPD_PYTHON").unwrap_or_else(|_| {
            panic!(
                "FERRODESK_AIOSMTPD_PYTHON is not set: run scripts/test, which installs aiosmtpd \
                 from PyPI into target/tools and sets it"
            )
        });
        // aiosmtpd creates the Maildir (new/, cur/, tmp/) only where nothing exists yet.
        std::fs::create_dir_all(maildir.parent().unwrap()).unwrap();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", handler])
            .arg(&maildir)
            .args(args)
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/tests"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let smtp = Smtp { child, maildir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return smtp;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd ({handler}) did not come up on port {port}");
    }

    /// An SMTP server keeping every message in a Maildir.
    async fn start(port: u16, maildir: PathBuf) -> Smtp {
        Smtp::spawn(port, maildir, "aiosmtpd.handlers.Mailbox", &[], &[]).await
    }

    /// Every message received so far, as text.
    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(dir) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in dir.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Smtp {
    /// An aiosmtpd that hands mail for support@… to `ferrodesk mail ingest` posting to
    /// `ferrodesk_url` (tests/mail_gateway.py) and keeps the rest in a Maildir.
    async fn gateway(port: u16, maildir: PathBuf, ferrodesk_url: &str, token: &str) -> Smtp {
        let env = [
            ("FERRODESK_URL", ferrodesk_url),
            ("FERRODESK_MAIL_INBOUND_TOKEN", token),
            ("FERRODESK_LOG", "error"),
        ];
        let binary = env!("CARGO_BIN_EXE_ferrodesk");
        Smtp::spawn(
            port,
            maildir,
            "mail_gateway.Gateway",
            &["support", binary],
            &env,
        )
        .await
    }
}

/// Submits `message` over SMTP to the server on `port`, from `from` to `to`, as a mail
/// client does; the server's answer to the message.
fn submit(port: u16, from: &str, to: &str, message: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to SMTP");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut answer = || {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("an SMTP answer");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_owned();
            }
        }
    };
    assert!(answer().starts_with("220"));
    let mut say = |line: String| writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    say("EHLO client.example".into());
    let mut send = |line: String, want: &str, answer: &mut dyn FnMut() -> String| {
        say(line.clone());
        let a = answer();
        assert!(a.starts_with(want), "{line}: {a}");
        a
    };
    assert!(answer().starts_with("250"));
    send(format!("MAIL FROM:<{from}>"), "250", &mut answer);
    send(format!("RCPT TO:<{to}>"), "250", &mut answer);
    send("DATA".into(), "354", &mut answer);
    let mut body = String::new();
    for line in message.lines() {
        // Dot-stuffing (RFC 5321 4.5.2).
        if line.starts_with('.') {
            body.push('.');
        }
        body.push_str(line);
        body.push_str("\r\n");
    }
    body.push('.');
    send(body, "", &mut answer)
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A header's value (unfolded), if the message has it.
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\n\n").next().unwrap_or_default();
    let mut value: Option<String> = None;
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_owned());
        }
    }
    value
}

/// A Maildir path of its own for one test (its parent exists, it does not).
fn scratch(name: &str, backend: Backend) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ferrodesk-mail-{name}-{backend:?}-{}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    dir.join("Maildir")
}

async fn call(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let res = client
        .post(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// GETs `path` of the API as the bearer of `token`.
async fn read(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let res = client
        .get(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("JSON")
}

/// Polls `sql` (one integer) until it answers `want`, for 20 s at most; whether it did.
async fn until(db: &str, sql: &str, want: i64) -> bool {
    for _ in 0..400 {
        if scalar_at(db, sql).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The environment of a server sending mail through `smtp_url`, without rate limits.
fn mail_env(smtp_url: &str) -> Vec<(&str, &str)> {
    let mut env = NO_RATE_LIMITS.to_vec();
    env.push(("FERRODESK_SMTP_URL", smtp_url));
    env.push(("FERRODESK_MAIL_FROM", "Acme Support <support@desk.example>"));
    env
}

/// A `ferrodesk worker` on `db` sending to the SMTP server on `port`, with `env`.
fn worker(db: &str, port: u16, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ferrodesk"))
        .args(["--database-url", db, "worker"])
        .env("FERRODESK_SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env("FERRODESK_MAIL_FROM", "Acme Support <support@desk.example>")
        .env("FERRODESK_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("start ferrodesk worker")
}

/// A new customer, Dana Reader, and a ticket she requested; its id.
async fn ticket_for_dana(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    subject: &str,
    description: &str,
) -> i64 {
    let dana = call(
        client,
        base,
        token,
        "/users",
        json!({"role": "end_user", "name": "Dana Reader", "email": "dana@example.com"}),
    )
    .await["id"]
        .clone();
    call(
        client,
        base,
        token,
        "/tickets",
        json!({"subject": subject, "description": description, "requester_id": dana}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// Waits until `done` holds of the received messages (20 s at most).
async fn wait_for(smtp: &Smtp, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    for _ in 0..200 {
        let m = smtp.messages();
        if done(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not received in 20 s");
}

fn to(m: &str) -> String {
    header(m, "X-RcptTo").unwrap_or_default()
}

async fn replies_and_new_tickets_reach_people_threaded_never_a_private_note(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let port = free_port();
    let smtp = Smtp::start(port, scratch("threads", backend)).await;
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let server = serve(&db, free_port(), &[], &mail_env(&smtp_url)).await;
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let user = |name: &str, email: &str| json!({"role": "end_user", "name": name, "email": email});
    let dana = call(
        &client,
        &base,
        &token,
        "/users",
        user("Dana Reader", "dana@example.com"),
    )
    .await["id"]
        .clone();
    let cleo = call(
        &client,
        &base,
        &token,
        "/users",
        user("Cleo Copy", "cleo@example.com"),
    )
    .await["id"]
        .clone();
    let t = call(
        &client,
        &base,
        &token,
        "/tickets",
        json!({"subject": "Mail test printer", "description": "It jams on every page.", "requester_id": dana, "cc_ids": [cleo]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let comments = format!("/tickets/{t}/comments");
    call(
        &client,
        &base,
        &token,
        &comments,
        json!({"body": "Secret internal note", "public": false}),
    )
    .await;
    call(
        &client,
        &base,
        &token,
        &comments,
        json!({"body": "Have you tried turning it off and on?"}),
    )
    .await;

    let about = |m: &str| header(m, "Subject").is_some_and(|s| s.contains(&format!("[#{t}]")));
    let got = wait_for(&smtp, "the acknowledgement and two replies", |ms| {
        ms.iter().filter(|m| about(m)).count() >= 3
    })
    .await;
    let mine: Vec<&String> = got.iter().filter(|m| about(m)).collect();
    let ack: Vec<&&String> = mine
        .iter()
        .filter(|m| !header(m, "Subject").unwrap().starts_with("Re:"))
        .collect();
    let replies: Vec<&&String> = mine
        .iter()
        .filter(|m| header(m, "Subject").unwrap().starts_with("Re:"))
        .collect();
    assert_eq!(ack.len(), 1, "one acknowledgement: {mine:#?}");
    assert!(to(ack[0]).contains("dana@example.com"), "{}", ack[0]);
    assert_eq!(
        header(ack[0], "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let mut reply_to: Vec<String> = replies.iter().map(|m| to(m)).collect();
    reply_to.sort();
    assert_eq!(reply_to.len(), 2, "{replies:#?}");
    assert!(
        reply_to[0].contains("cleo@example.com") && reply_to[1].contains("dana@example.com"),
        "{reply_to:?}"
    );
    let root = format!("<ticket-{t}@desk.example>");
    for r in &replies {
        assert!(r.contains("Have you tried turning it off and on?"), "{r}");
        assert_eq!(
            header(r, "Auto-Submitted"),
            None,
            "a person's reply is not automatic"
        );
        assert_eq!(header(r, "In-Reply-To").as_deref(), Some(root.as_str()));
        assert_eq!(header(r, "References").as_deref(), Some(root.as_str()));
        let id = header(r, "Message-ID").unwrap();
        assert!(
            id.starts_with("<ferrodesk-") && id.ends_with("@desk.example>"),
            "{id}"
        );
        assert!(header(r, "From").unwrap().contains("support@desk.example"));
    }
    assert!(
        got.iter().all(|m| !m.contains("Secret internal note")),
        "a private note never leaves"
    );
    assert!(
        mine.iter().all(|m| !to(m).contains("admin@example.com")),
        "the author does not get their own reply"
    );

    // A suspended CC gets nothing more; the requester does.
    let res = client
        .patch(format!("{base}/api/v1/users/{cleo}"))
        .bearer_auth(&token)
        .json(&json!({"suspended": true}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    call(
        &client,
        &base,
        &token,
        &comments,
        json!({"body": "Second answer"}),
    )
    .await;
    wait_for(&smtp, "the second reply to Dana", |ms| {
        ms.iter()
            .any(|m| m.contains("Second answer") && to(m).contains("dana@example.com"))
    })
    .await;
    until(
        &db,
        "SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL",
        0,
    )
    .await;
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.contains("Second answer") && to(m).contains("cleo@example.com")),
        "never to a suspended user"
    );
}

async fn a_customer_writes_in_by_smtp_and_the_answer_reaches_them_threaded(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let (smtp_port, http_port) = (free_port(), free_port());
    let inbound = "end-to-end-inbound-token";
    let base = format!("http://127.0.0.1:{http_port}");
    let smtp = Smtp::gateway(smtp_port, scratch("e2e", backend), &base, inbound).await;
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let mut env = mail_env(&smtp_url);
    env.push(("FERRODESK_MAIL_INBOUND_TOKEN", inbound));
    // Answers go to an address of their own, which the MTA pipes to Ferrodesk too.
    env.push(("FERRODESK_MAIL_REPLY_TO", "support@reply.desk.example"));
    let _server = serve(&db, http_port, &[], &env).await;
    let client = reqwest::Client::new();

    // Alice (a customer of the demo) writes to the support address.
    let answer = submit(
        smtp_port,
        "alice@acme.example",
        "support@desk.example",
        "From: Alice Archer <alice@acme.example>\nTo: support@desk.example\n\
         Subject: Laptop will not boot\nMessage-ID: <alice-1@acme.example>\n\
         Date: Tue, 1 Dec 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n\
         My laptop shows a black screen since this morning.\n.hidden dot line\n",
    );
    assert!(answer.starts_with("250"), "{answer}");
    let t = scalar_at(
        &db,
        "SELECT COALESCE(MAX(ticket_id), 0) FROM inbound_messages WHERE outcome = 'created'",
    )
    .await;
    assert!(t > 0, "the message opened a ticket");
    let ticket = read(&client, &base, &token, &format!("/tickets/{t}")).await;
    assert_eq!(ticket["subject"], "Laptop will not boot");
    assert_eq!(ticket["channel"], "email");

    // The agent answers through the API, with a file; the answer reaches Alice, threaded,
    // answerable, the file attached.
    let upload: Value = client
        .post(format!("{base}/api/v1/uploads?file_name=steps.txt"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("1. Unplug it.\n2. Hold the power button.\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    call(
        &client,
        &base,
        &token,
        &format!("/tickets/{t}/comments"),
        json!({"body": "Hold the power button for ten seconds.", "upload_tokens": [upload["token"]]}),
    )
    .await;
    let got = wait_for(&smtp, "the agent's answer", |ms| {
        ms.iter().any(|m| m.contains("Hold the power button"))
    })
    .await;
    let reply = got
        .iter()
        .find(|m| m.contains("Hold the power button"))
        .unwrap();
    assert_eq!(to(reply), "alice@acme.example");
    assert!(
        reply.contains("filename=\"steps.txt\""),
        "the file goes along: {reply}"
    );
    assert!(
        header(reply, "Subject")
            .unwrap()
            .contains(&format!("[#{t}]"))
    );
    assert_eq!(
        header(reply, "In-Reply-To").unwrap(),
        format!("<ticket-{t}@desk.example>")
    );
    let reply_to = header(reply, "Reply-To").unwrap();
    let address = reply_to
        .rsplit_once('<')
        .map_or(reply_to.as_str(), |(_, a)| a.trim_end_matches('>'))
        .to_owned();
    assert!(
        address.starts_with(&format!("support+{t}-")) && address.ends_with("@reply.desk.example"),
        "{reply_to}"
    );

    // Alice answers the message: to the reply address, quoting it.
    let answer = submit(
        smtp_port,
        "alice@acme.example",
        &address,
        &format!(
            "From: Alice Archer <alice@acme.example>\nTo: {address}\n\
             Subject: Re: Laptop will not boot\nMessage-ID: <alice-2@acme.example>\n\
             In-Reply-To: {mid}\nDate: Tue, 1 Dec 2026 11:00:00 +0000\n\
             Content-Type: text/plain; charset=utf-8\n\n\
             It boots now, thanks!\n\nOn Tue, 1 Dec 2026 at 10:30, Acme Support <support@desk.example> wrote:\n\
             > Hold the power button for ten seconds.\n",
            mid = header(reply, "Message-ID").unwrap()
        ),
    );
    assert!(answer.starts_with("250"), "{answer}");
    let comments = read(&client, &base, &token, &format!("/tickets/{t}/comments")).await;
    let bodies: Vec<&str> = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            "My laptop shows a black screen since this morning.\n.hidden dot line",
            "Hold the power button for ten seconds.",
            "It boots now, thanks!",
        ]
    );
}

async fn mail_the_server_cannot_take_yet_is_retried_and_delivered(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let mut env = mail_env(&smtp_url);
    env.push(("FERRODESK_MAIL_RETRY_SECONDS", "1"));
    let server = serve(&db, free_port(), &[], &env).await;
    let client = reqwest::Client::new();
    let t = ticket_for_dana(
        &client,
        &server.base,
        &token,
        "Retry me",
        "Nobody listens yet.",
    )
    .await;
    let job = format!(
        "FROM jobs WHERE kind = 'mail' AND payload LIKE '%\"ticket_id\":{t},%' AND payload LIKE '%ticket_created%'"
    );
    // Nothing listens on the port: the attempt fails, the job waits for its next one.
    let failed_once = until(
        &db,
        &format!(
            "SELECT COUNT(*) {job} AND attempts >= 1 AND last_error IS NOT NULL AND done_at IS NULL"
        ),
        1,
    )
    .await;
    assert!(failed_once, "the first attempt fails and is recorded");
    let smtp = Smtp::start(port, scratch("retry", backend)).await;
    let got = wait_for(&smtp, "the acknowledgement, once the server is up", |ms| {
        ms.iter().any(|m| m.contains(&format!("[#{t}]")))
    })
    .await;
    assert!(got.iter().any(|m| to(m).contains("dana@example.com")));
    assert!(
        until(
            &db,
            &format!("SELECT COUNT(*) {job} AND done_at IS NOT NULL AND attempts >= 2"),
            1,
        )
        .await,
        "the job is not marked done after its delivery"
    );
}

async fn a_busy_server_s_451_is_retried_and_the_message_delivered(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let port = free_port();
    // Every message is answered 451 twice, then taken.
    let smtp = Smtp::spawn(
        port,
        scratch("busy", backend),
        "mail_gateway.Busy",
        &["2"],
        &[],
    )
    .await;
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let mut env = mail_env(&smtp_url);
    env.push(("FERRODESK_MAIL_RETRY_SECONDS", "1"));
    let server = serve(&db, free_port(), &[], &env).await;
    let client = reqwest::Client::new();
    let t = ticket_for_dana(&client, &server.base, &token, "Busy server", "Try again.").await;
    let job = format!(
        "FROM jobs WHERE kind = 'mail' AND payload LIKE '%\"ticket_id\":{t},%' AND payload LIKE '%ticket_created%'"
    );
    assert!(
        until(
            &db,
            &format!("SELECT COUNT(*) {job} AND done_at IS NULL AND last_error LIKE '%451%'"),
            1,
        )
        .await,
        "the 451 answer is recorded and the message waits for its next attempt"
    );
    let got = wait_for(&smtp, "the acknowledgement, after two 451 answers", |ms| {
        ms.iter().any(|m| m.contains(&format!("[#{t}]")))
    })
    .await;
    assert_eq!(
        got.iter()
            .filter(|m| m.contains(&format!("[#{t}]")))
            .count(),
        1,
        "delivered once"
    );
    assert!(
        until(
            &db,
            &format!("SELECT COUNT(*) {job} AND done_at IS NOT NULL AND attempts = 3"),
            1,
        )
        .await,
        "done on the third attempt"
    );
}

/// Runs one statement against the database at `url`.
async fn execute(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .expect("execute");
    pool.close().await;
}

async fn a_server_killed_while_sending_loses_no_message(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    // The demo data's own mail is not this test's.
    execute(&db, "UPDATE jobs SET done_at = 0").await;
    // An SMTP server that takes the connection and never answers: the send hangs.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_url = format!("smtp://127.0.0.1:{}", hanging.local_addr().unwrap().port());
    let mut env = mail_env(&hang_url);
    env.push(("FERRODESK_MAIL_LEASE_SECONDS", "2"));
    let mut server = serve(&db, free_port(), &[], &env).await;
    let client = reqwest::Client::new();
    let t = ticket_for_dana(
        &client,
        &server.base,
        &token,
        "Killed mid-send",
        "Still coming?",
    )
    .await;
    let job = format!("FROM jobs WHERE kind = 'mail' AND payload LIKE '%\"ticket_id\":{t},%'");
    let claimed = until(
        &db,
        &format!("SELECT COUNT(*) {job} AND attempts = 1 AND done_at IS NULL"),
        1,
    )
    .await;
    assert!(claimed, "the server claims the message");
    server.kill();
    assert_eq!(
        scalar_at(
            &db,
            &format!("SELECT COUNT(*) {job} AND done_at IS NULL AND failed_at IS NULL")
        )
        .await,
        1,
        "killed mid-send, the message is still to be sent"
    );
    let port = free_port();
    let smtp = Smtp::start(port, scratch("killed", backend)).await;
    let mut worker = worker(&db, port, &[("FERRODESK_MAIL_LEASE_SECONDS", "2")]);
    let got = wait_for(
        &smtp,
        "the message, from another process once the claim ran out",
        |ms| ms.iter().any(|m| m.contains(&format!("[#{t}]"))),
    )
    .await;
    until(
        &db,
        &format!("SELECT COUNT(*) {job} AND done_at IS NOT NULL"),
        1,
    )
    .await;
    worker.kill().ok();
    worker.wait().ok();
    drop(hanging);
    assert_eq!(
        got.iter()
            .filter(|m| m.contains(&format!("[#{t}]")))
            .count(),
        1
    );
    assert_eq!(
        scalar_at(
            &db,
            &format!("SELECT COUNT(*) {job} AND done_at IS NOT NULL AND attempts = 2")
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_server_killed_while_sending_loses_no_message() {
    a_server_killed_while_sending_loses_no_message(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_server_killed_while_sending_loses_no_message() {
    a_server_killed_while_sending_loses_no_message(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_workers_deliver_each_message_once() {
    let (db, token) = demo_database(Backend::Postgres).await;
    // The server queues mail but sends none; two workers on the same database do.
    let server = serve(&db, free_port(), &[], NO_RATE_LIMITS).await;
    let client = reqwest::Client::new();
    let t = ticket_for_dana(&client, &server.base, &token, "Many answers", "Count them.").await;
    for i in 0..30 {
        call(
            &client,
            &server.base,
            &token,
            &format!("/tickets/{t}/comments"),
            json!({"body": format!("Answer number {i}")}),
        )
        .await;
    }
    let pending = "SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL";
    let queued = scalar_at(&db, pending).await;
    assert!(queued >= 31, "{queued} jobs queued");
    let port = free_port();
    let smtp = Smtp::start(port, scratch("workers", Backend::Postgres)).await;
    let mut workers = [worker(&db, port, &[]), worker(&db, port, &[])];
    until(&db, pending, 0).await;
    for w in &mut workers {
        w.kill().ok();
        w.wait().ok();
    }
    assert_eq!(scalar_at(&db, pending).await, 0, "every job delivered");
    let messages = smtp.messages();
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| header(m, "Message-ID"))
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "no message delivered twice");
    for i in 0..30 {
        let n = messages
            .iter()
            .filter(|m| {
                m.contains(&format!("Answer number {i}\n"))
                    || m.contains(&format!("Answer number {i}\r\n"))
            })
            .count();
        assert_eq!(n, 1, "answer {i} reached Dana once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_replies_and_new_tickets_reach_people_threaded_never_a_private_note() {
    replies_and_new_tickets_reach_people_threaded_never_a_private_note(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replies_and_new_tickets_reach_people_threaded_never_a_private_note() {
    replies_and_new_tickets_reach_people_threaded_never_a_private_note(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_mail_the_server_cannot_take_yet_is_retried_and_delivered() {
    mail_the_server_cannot_take_yet_is_retried_and_delivered(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mail_the_server_cannot_take_yet_is_retried_and_delivered() {
    mail_the_server_cannot_take_yet_is_retried_and_delivered(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_customer_writes_in_by_smtp_and_the_answer_reaches_them_threaded() {
    a_customer_writes_in_by_smtp_and_the_answer_reaches_them_threaded(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_customer_writes_in_by_smtp_and_the_answer_reaches_them_threaded() {
    a_customer_writes_in_by_smtp_and_the_answer_reaches_them_threaded(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_busy_server_s_451_is_retried_and_the_message_delivered() {
    a_busy_server_s_451_is_retried_and_the_message_delivered(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_busy_server_s_451_is_retried_and_the_message_delivered() {
    a_busy_server_s_451_is_retried_and_the_message_delivered(Backend::Postgres).await;
}
