//! Inbound mail through a real `ferrodesk serve`: the corpus of real-world-shaped messages
//! (tests/mail_corpus) posted as an MTA would, threading by each key, loop and noise safety,
//! the access policy on every inbound comment, and `ferrodesk mail ingest`'s exit codes.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{NO_RATE_LIMITS, demo_database, free_port, serve};
use ferrodesk_testkit::{Backend, scalar_at};
use serde_json::{Value, json};

const INBOUND_TOKEN: &str = "inbound-test-token-0123456789";

/// A corpus message with its placeholders filled in.
fn corpus(name: &str, fill: &[(&str, &str)]) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mail_corpus")
        .join(name);
    let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (key, value) in fill {
        let key = format!("{{{{{key}}}}}");
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(key.as_bytes()) {
                out.extend_from_slice(value.as_bytes());
                i += key.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        bytes = out;
    }
    bytes
}

/// The environment of a server taking inbound mail for support@desk.example.
fn inbound_env() -> Vec<(&'static str, &'static str)> {
    let mut env = NO_RATE_LIMITS.to_vec();
    env.push(("FERRODESK_MAIL_INBOUND_TOKEN", INBOUND_TOKEN));
    env.push(("FERRODESK_MAIL_FROM", "Acme Support <support@desk.example>"));
    env
}

/// A plain text message to the support address.
fn text_message(from: &str, subject: &str, body: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@desk.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Posts a plain text message as the MTA does; what became of it (asserting a 200).
async fn send_text(
    client: &reqwest::Client,
    base: &str,
    from: &str,
    subject: &str,
    body: &str,
    id: &str,
) -> Value {
    let raw = text_message(from, subject, body, id);
    let (status, out) = post_mail(client, base, INBOUND_TOKEN, raw).await;
    assert_eq!(status, 200, "{out}");
    out
}

/// Posts a raw message as the MTA does; the status and the answer.
async fn post_mail(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    raw: Vec<u8>,
) -> (u16, Value) {
    let res = client
        .post(format!("{base}/api/v1/mail/inbound"))
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("post the message");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn api(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = client
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn get(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    api(client, reqwest::Method::GET, base, token, path, None).await
}

async fn post(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    api(client, reqwest::Method::POST, base, token, path, Some(body)).await
}

/// One text value of the database.
async fn text_at(db: &str, sql: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(db).await.expect("connect");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut c)
        .await
        .expect(sql)
}

/// The signed reply address of ticket `t`, as outgoing mail carries it.
async fn reply_address(db: &str, t: i64) -> String {
    let secret = text_at(
        db,
        "SELECT value FROM settings WHERE key = 'mail_reply_secret'",
    )
    .await;
    ferrodesk_app::inbound::reply_address(
        &secret,
        "support@desk.example",
        ferrodesk_core::TicketId(t),
    )
}

/// The comments of ticket `t` (as the admin sees them).
async fn comments(client: &reqwest::Client, base: &str, token: &str, t: i64) -> Vec<Value> {
    get(
        client,
        base,
        token,
        &format!("/tickets/{t}/comments?limit=100"),
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn fill<'a>(
    from: &'a str,
    ticket: &'a str,
    reply_to: &'a str,
    in_reply_to: &'a str,
    message_id: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("from", from),
        ("to", "support@desk.example"),
        ("ticket", ticket),
        ("reply_to", reply_to),
        ("in_reply_to", in_reply_to),
        ("message_id", message_id),
    ]
}

async fn the_corpus_becomes_tickets_comments_and_suppressed_mail(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let server = serve(&db, free_port(), &[], &inbound_env()).await;
    let (client, base) = (reqwest::Client::new(), server.base.clone());
    let dana = post(
        &client,
        &base,
        &token,
        "/users",
        json!({"role": "end_user", "name": "Dana Customer", "email": "dana@customer.example"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let t = post(
        &client,
        &base,
        &token,
        "/tickets",
        json!({"subject": "Printer on fire", "description": "Smoke everywhere.", "requester_id": dana}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let ts = t.to_string();
    let reply_to = reply_address(&db, t).await;
    let dana_addr = "Dana@Customer.example"; // addresses match whatever their case
    let mail = |file: &str, id: &str, in_reply_to: &str| {
        corpus(file, &fill(dana_addr, &ts, &reply_to, in_reply_to, id))
    };

    // Threaded by the signed reply address; the quoted history is cut.
    let (s, out) = post_mail(
        &client,
        &base,
        INBOUND_TOKEN,
        mail("gmail_reply.eml", "<gmail-1@mail.gmail.com>", "<nothing@x>"),
    )
    .await;
    assert_eq!(
        (s, out["outcome"].as_str()),
        (200, Some("commented")),
        "{out}"
    );
    assert_eq!(out["ticket_id"], t);
    let c = comments(&client, &base, &token, t).await;
    let last = c.last().unwrap();
    let body = last["body"].as_str().unwrap();
    assert!(
        body.contains("Gmail reply: the printer is still smoking."),
        "{body}"
    );
    assert!(!body.contains("QUOTED HISTORY MUST NOT APPEAR"), "{body}");
    assert_eq!(last["author_id"], dana);
    assert_eq!(last["channel"], "email");
    assert_eq!(last["public"], true);

    // The same message again (an MTA retrying): nothing added.
    let (s, again) = post_mail(
        &client,
        &base,
        INBOUND_TOKEN,
        mail("gmail_reply.eml", "<gmail-1@mail.gmail.com>", "<nothing@x>"),
    )
    .await;
    assert_eq!(
        (s, again["duplicate"].as_bool()),
        (200, Some(true)),
        "{again}"
    );
    assert_eq!(comments(&client, &base, &token, t).await.len(), c.len());

    // Threaded by the subject tag (Outlook, Windows-1252 quoted-printable; an inline image).
    for (file, sentence) in [
        (
            "outlook_reply.eml",
            "Outlook reply: we tried turning it off and on – still broken.",
        ),
        (
            "inline_image_reply.eml",
            "Inline image reply: see the screenshot.",
        ),
    ] {
        let (s, out) = post_mail(
            &client,
            &base,
            INBOUND_TOKEN,
            mail(file, &format!("<{file}@customer.example>"), "<nothing@x>"),
        )
        .await;
        assert_eq!(
            (s, out["outcome"].as_str()),
            (200, Some("commented")),
            "{file}: {out}"
        );
        assert_eq!(out["ticket_id"], t, "{file}");
        let c = comments(&client, &base, &token, t).await;
        let body = c.last().unwrap()["body"].as_str().unwrap().to_owned();
        assert!(body.contains(sentence), "{file}: {body}");
        assert!(
            !body.contains("QUOTED HISTORY MUST NOT APPEAR"),
            "{file}: {body}"
        );
        // The inline image becomes a file of the comment, downloadable by the agent.
        if file == "inline_image_reply.eml" {
            let files = &c.last().unwrap()["attachments"];
            assert_eq!(files[0]["file_name"], "screenshot.png", "{files}");
            assert_eq!(files[0]["content_type"], "image/png", "{files}");
            let png = client
                .get(format!("{base}/api/v1/attachments/{}", files[0]["id"]))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the image's bytes");
        }
    }

    // Threaded by References: the Message-ID of Dana's Gmail reply (no tag, no token; the
    // first reference names a ticket Dana may not see, which does not count).
    let (s, out) = post_mail(
        &client,
        &base,
        INBOUND_TOKEN,
        mail(
            "apple_mail_reply.eml",
            "<apple-1@customer.example>",
            "<gmail-1@mail.gmail.com>",
        ),
    )
    .await;
    assert_eq!(
        (s, out["outcome"].as_str()),
        (200, Some("commented")),
        "{out}"
    );
    assert_eq!(out["ticket_id"], t);
    let c = comments(&client, &base, &token, t).await;
    let body = c.last().unwrap()["body"].as_str().unwrap();
    assert!(
        body.contains("Apple Mail reply: thanks, it works now."),
        "{body}"
    );
    assert!(!body.contains("QUOTED HISTORY MUST NOT APPEAR"), "{body}");

    // A forged reply address: refused, nothing added, no answer to the sender.
    let forged = format!("support+{t}-0123456789abcdef@desk.example");
    let (s, out) = post_mail(
        &client,
        &base,
        INBOUND_TOKEN,
        corpus(
            "gmail_reply.eml",
            &fill(dana_addr, "999999", &forged, "<nothing@x>", "<forged-1@x>"),
        ),
    )
    .await;
    assert_eq!(
        (s, out["outcome"].as_str()),
        (200, Some("refused")),
        "{out}"
    );
    assert!(
        out["reason"].as_str().unwrap().contains("signature"),
        "{out}"
    );
    let before = comments(&client, &base, &token, t).await.len();
    assert_eq!(before, c.len());

    // New tickets from new senders, in any charset, HTML only, forwarded.
    let new_ticket = |file: &str, from: &str| {
        let id = format!("<{file}@x>");
        corpus(
            file,
            &fill(from, "0", "support@desk.example", "<nothing@x>", &id),
        )
    };
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        (
            "new_multipart_alternative.eml",
            "vera@newco.example",
            "VPN does not connect",
            &["New request: the VPN client says error 809."],
        ),
        (
            "latin1_new.eml",
            "valerie@cafe.example",
            "Café machine cassée",
            &["Nouvelle demande : la machine à café est cassée depuis lundi."],
        ),
        (
            "shift_jis_new.eml",
            "taro@printer.example",
            "プリンターが動きません",
            &["新しい依頼：プリンターが動きません。"],
        ),
        (
            "html_only_new.eml",
            "hana@portal.example",
            "Portal is blank",
            &["HTML only request: the portal shows a blank page."],
        ),
        (
            "forwarded_new.eml",
            "finn@invoice.example",
            "Fwd: Invoice 4411 is wrong",
            &[
                "Forwarded request: please look at the invoice below.",
                "The invoice total is 4411 EUR.",
            ],
        ),
    ];
    for (file, from, subject, sentences) in cases {
        let (s, out) = post_mail(&client, &base, INBOUND_TOKEN, new_ticket(file, from)).await;
        assert_eq!(
            (s, out["outcome"].as_str()),
            (200, Some("created")),
            "{file}: {out}"
        );
        let id = out["ticket_id"].as_i64().unwrap();
        let ticket = get(&client, &base, &token, &format!("/tickets/{id}")).await;
        assert_eq!(ticket["subject"], subject, "{file}");
        assert_eq!(ticket["channel"], "email", "{file}");
        let requester = get(
            &client,
            &base,
            &token,
            &format!("/users/{}", ticket["requester_id"]),
        )
        .await;
        assert_eq!(requester["email"], from, "{file}: a new customer");
        assert_eq!(requester["role"], "end_user");
        let c = comments(&client, &base, &token, id).await;
        let body = c[0]["body"].as_str().unwrap();
        for sentence in sentences {
            assert!(body.contains(sentence), "{file}: {body}");
        }
        assert!(!body.contains("alert(1)") && !body.contains("STYLE MUST NOT APPEAR"));
        if file == "new_multipart_alternative.eml" {
            let ccs: Vec<i64> = ticket["cc_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(ccs.len(), 1, "the Cc address is copied: {ticket}");
            let erin = get(&client, &base, &token, &format!("/users/{}", ccs[0])).await;
            assert_eq!(erin["email"], "erin@customer.example");
            assert_eq!(erin["name"], "Erin Colleague");
        }
    }

    // Automatic mail is kept and never answered.
    let ack_job = scalar_at(
        &db,
        &format!("SELECT MIN(id) FROM jobs WHERE payload LIKE '%\"ticket_id\":{t}%'"),
    )
    .await;
    let jobs_before = scalar_at(&db, "SELECT COUNT(*) FROM jobs").await;
    let bounced = format!("<ferrodesk-{ack_job}-0@desk.example>");
    for (file, from, why) in [
        ("auto_reply.eml", dana_addr, "Auto-Submitted"),
        ("bulk_newsletter.eml", "news@news.example", "bulk"),
        ("loop_x_loop.eml", dana_addr, "X-Loop"),
        (
            "bounce.eml",
            "mailer-daemon@mx.customer.example",
            "550 5.1.1",
        ),
    ] {
        let raw = corpus(
            file,
            &fill(from, &ts, &reply_to, &bounced, &format!("<{file}@x>")),
        );
        let (s, out) = post_mail(&client, &base, INBOUND_TOKEN, raw).await;
        assert_eq!(
            (s, out["outcome"].as_str()),
            (200, Some("suppressed")),
            "{file}: {out}"
        );
        assert!(
            out["reason"].as_str().unwrap().contains(why),
            "{file}: {out}"
        );
    }
    assert_eq!(comments(&client, &base, &token, t).await.len(), before);
    assert_eq!(
        scalar_at(&db, "SELECT COUNT(*) FROM jobs").await,
        jobs_before,
        "nothing answers automatic mail"
    );
    assert_eq!(
        scalar_at(
            &db,
            &format!("SELECT COUNT(*) FROM jobs WHERE id = {ack_job} AND failed_at IS NOT NULL AND last_error LIKE '%550 5.1.1%'")
        )
        .await,
        1,
        "the bounce marks the bounced delivery failed"
    );

    // Not a usable message: 422, kept for an admin.
    let (s, out) = post_mail(
        &client,
        &base,
        INBOUND_TOKEN,
        corpus(
            "malformed_no_from.eml",
            &fill("x@x", "1", "x", "<x>", "<bad-1@x>"),
        ),
    )
    .await;
    assert_eq!(s, 422, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no From address"),
        "{out}"
    );
    let (s, _) = post_mail(&client, &base, INBOUND_TOKEN, b"   \r\n".to_vec()).await;
    assert_eq!(s, 422);
    let listed = get(
        &client,
        &base,
        &token,
        "/mail/inbound?show=not_taken_in&limit=100",
    )
    .await;
    let items = listed["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|m| m["outcome"] == "rejected" && m["outcome_label"] == "Not a usable message"),
        "{listed}"
    );
    assert!(items.iter().any(|m| m["outcome"] == "refused"), "{listed}");
    assert_eq!(
        items
            .iter()
            .filter(|m| m["outcome"] == "suppressed")
            .count(),
        4,
        "{listed}"
    );

    // The original of a comment, as received, for staff; agents only for tickets they see.
    let first = scalar_at(
        &db,
        "SELECT MIN(id) FROM inbound_messages WHERE outcome = 'commented'",
    )
    .await;
    let res = client
        .get(format!("{base}/api/v1/mail/inbound/{first}/original"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "message/rfc822");
    let original = res.bytes().await.unwrap();
    assert_eq!(
        original.to_vec(),
        mail("gmail_reply.eml", "<gmail-1@mail.gmail.com>", "<nothing@x>"),
        "the original, byte for byte"
    );

    // The endpoint wants the inbound token.
    let (s, out) = post_mail(
        &client,
        &base,
        &token,
        mail("gmail_reply.eml", "<x-9@x>", "<n@x>"),
    )
    .await;
    assert_eq!(s, 403, "an API token is not the inbound token: {out}");
    // Over the size limit: 413 and nothing kept.
    let server_small = serve(
        &db,
        free_port(),
        &[],
        &[inbound_env(), vec![("FERRODESK_MAIL_MAX_MEGABYTES", "1")]].concat(),
    )
    .await;
    let mut big = mail("gmail_reply.eml", "<big-1@x>", "<n@x>");
    big.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 10));
    let kept = scalar_at(&db, "SELECT COUNT(*) FROM inbound_messages").await;
    let (s, out) = post_mail(&client, &server_small.base, INBOUND_TOKEN, big).await;
    assert_eq!(s, 413, "{out}");
    assert_eq!(
        scalar_at(&db, "SELECT COUNT(*) FROM inbound_messages").await,
        kept
    );
}

async fn the_access_policy_decides_every_inbound_comment(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let server = serve(&db, free_port(), &[], &inbound_env()).await;
    let (client, base) = (reqwest::Client::new(), server.base.clone());
    let org = post(
        &client,
        &base,
        &token,
        "/organizations",
        json!({"name": "Vandelay Industries", "domain_names": ["vandelay.example"], "auto_join_by_domain": true}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // A new end user of the domain joins the organization whose admin turned it on — from
    // the API as from email.
    let peter = post(
        &client,
        &base,
        &token,
        "/users",
        json!({"name": "Peter", "email": "peter@vandelay.example", "role": "end_user"}),
    )
    .await;
    assert_eq!(peter["organization_ids"], json!([org]), "{peter}");
    let peter = peter["id"].as_i64().unwrap();
    let t = post(
        &client,
        &base,
        &token,
        "/tickets",
        json!({"subject": "Share please", "description": "Our team wants to see tickets.", "requester_id": peter}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // Peter confirms by email; the admin changes the sharing on that comment.
    let out = send_text(
        &client,
        &base,
        "Peter <peter@vandelay.example>",
        &format!("Re: [#{t}] Share please"),
        "We confirm read only and accept the risk.",
        "confirm-1@vandelay.example",
    )
    .await;
    assert_eq!(out["outcome"], "commented", "{out}");
    let c = out["comment_id"].as_i64().unwrap();
    post(
        &client,
        &base,
        &token,
        &format!("/organizations/{org}/sharing-changes"),
        json!({"ticket_id": t, "sharing": "read_only", "type_confirmed_comment_id": c, "risk_approved_comment_id": c}),
    )
    .await;

    // Rita writes in for the first time: a new customer of Vandelay, with a ticket.
    let out = send_text(
        &client,
        &base,
        "Rita <rita@vandelay.example>",
        "Badge reader",
        "My badge does not open the door.",
        "rita-1@vandelay.example",
    )
    .await;
    assert_eq!(out["outcome"], "created", "{out}");
    let rita_ticket = out["ticket_id"].as_i64().unwrap();
    let rt = get(&client, &base, &token, &format!("/tickets/{rita_ticket}")).await;
    let rita = get(
        &client,
        &base,
        &token,
        &format!("/users/{}", rt["requester_id"]),
    )
    .await;
    assert_eq!(rita["organization_ids"], json!([org]), "{rita}");

    // She may see Peter's ticket (read only), not reply to it: refused, one notice an hour.
    let notices = "SELECT COUNT(*) FROM jobs WHERE payload LIKE '%refusal_notice%'";
    for n in 1..=2 {
        let out = send_text(
            &client,
            &base,
            "Rita <rita@vandelay.example>",
            &format!("Re: [#{t}] Share please"),
            "Me too please.",
            &format!("rita-reply-{n}@vandelay.example"),
        )
        .await;
        assert_eq!(out["outcome"], "refused", "{out}");
        assert!(
            out["reason"].as_str().unwrap().contains("read only"),
            "{out}"
        );
        assert_eq!(
            scalar_at(&db, notices).await,
            1,
            "one notice, not one per message"
        );
    }
    let texts: Vec<String> = comments(&client, &base, &token, t)
        .await
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(!texts.iter().any(|b| b.contains("Me too")), "{texts:?}");
    assert_eq!(
        scalar_at(&db, "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'inbound_message' AND action = 'refused'").await,
        2,
        "each refusal is in the audit trail"
    );

    // Someone who may not see the ticket: the tag means nothing to them, a new ticket opens.
    let out = send_text(
        &client,
        &base,
        "Hugo Hill <hugo@personal.example>",
        &format!("Re: [#{t}] Share please"),
        "Is this about me?",
        "hugo-1@personal.example",
    )
    .await;
    assert_eq!(out["outcome"], "created", "{out}");
    assert_ne!(out["ticket_id"], t);

    // An agent's email reply is a public reply, or a private note when the setting says so.
    let agent_mail = |n: u32| {
        text_message(
            "Sam Support <agent@example.com>",
            &format!("Re: [#{t}] Share please"),
            &format!("Agent answer {n}."),
            &format!("agent-{n}@example.com"),
        )
    };
    let (_, out) = post_mail(&client, &base, INBOUND_TOKEN, agent_mail(1)).await;
    assert_eq!(out["outcome"], "commented", "{out}");
    api(
        &client,
        reqwest::Method::PATCH,
        &base,
        &token,
        "/settings",
        Some(json!({"mail_agent_replies": "private", "mail_unknown_senders": "refuse"})),
    )
    .await;
    let (_, out) = post_mail(&client, &base, INBOUND_TOKEN, agent_mail(2)).await;
    assert_eq!(out["outcome"], "commented", "{out}");
    let c = comments(&client, &base, &token, t).await;
    let publics: Vec<(String, bool)> = c
        .iter()
        .filter(|c| c["body"].as_str().unwrap().starts_with("Agent answer"))
        .map(|c| {
            (
                c["body"].as_str().unwrap().to_owned(),
                c["public"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        publics,
        vec![
            ("Agent answer 1.".to_owned(), true),
            ("Agent answer 2.".to_owned(), false)
        ]
    );

    // Unknown senders refused (with a notice), suspended users refused (without one).
    let out = send_text(
        &client,
        &base,
        "stranger@elsewhere.example",
        "Hello",
        "Who are you?",
        "stranger-1@x",
    )
    .await;
    assert_eq!(out["outcome"], "refused", "{out}");
    assert_eq!(scalar_at(&db, notices).await, 2);
    api(
        &client,
        reqwest::Method::PATCH,
        &base,
        &token,
        &format!("/users/{peter}"),
        Some(json!({"suspended": true})),
    )
    .await;
    let out = send_text(
        &client,
        &base,
        "Peter <peter@vandelay.example>",
        &format!("Re: [#{t}] Share please"),
        "Still here.",
        "peter-2@vandelay.example",
    )
    .await;
    assert_eq!(out["outcome"], "refused", "{out}");
    assert!(
        out["reason"].as_str().unwrap().contains("suspended"),
        "{out}"
    );
    assert_eq!(
        scalar_at(&db, notices).await,
        2,
        "no notice to a suspended user"
    );
}

/// Runs `ferrodesk mail ingest ARGS` with `raw` on standard input; its exit code and output.
fn ingest(db: &str, args: &[&str], raw: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrodesk"))
        .args(["--database-url", db, "mail", "ingest"])
        .args(args)
        .env("FERRODESK_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrodesk mail ingest");
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), common::text(&out))
}

async fn mail_ingest_tells_the_mta_what_to_do(backend: Backend) {
    let (db, _) = demo_database(backend).await;
    let server = serve(&db, free_port(), &[], &inbound_env()).await;
    let url = server.base.clone();
    let good = |id: &str| {
        corpus(
            "new_multipart_alternative.eml",
            &fill("alice@acme.example", "0", "x", "<x@x>", id),
        )
    };
    let posting = ["--url", &url, "--token", INBOUND_TOKEN];
    let (code, out) = ingest(&db, &posting, &good("<ingest-1@x>"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"outcome\":\"created\""), "{out}");
    let bad = corpus(
        "malformed_no_from.eml",
        &fill("x", "0", "x", "<x>", "<ingest-2@x>"),
    );
    let (code, out) = ingest(&db, &posting, &bad);
    assert_eq!(code, 65, "a malformed message bounces: {out}");
    let (code, out) = ingest(
        &db,
        &["--url", &url, "--token", "wrong"],
        &good("<ingest-3@x>"),
    );
    assert_eq!(code, 75, "a wrong token keeps the message queued: {out}");
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let (code, out) = ingest(
        &db,
        &["--url", &nobody, "--token", INBOUND_TOKEN],
        &good("<ingest-4@x>"),
    );
    assert_eq!(code, 75, "a server that is down keeps it queued: {out}");
    // Without --url: straight into the database.
    let (code, out) = ingest(&db, &[], &good("<ingest-5@x>"));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        scalar_at(
            &db,
            "SELECT COUNT(*) FROM inbound_messages WHERE outcome = 'created'"
        )
        .await,
        2
    );
    let (code, out) = ingest(&db, &[], &bad);
    assert_eq!(code, 65, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_corpus_becomes_tickets_comments_and_suppressed_mail() {
    the_corpus_becomes_tickets_comments_and_suppressed_mail(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_corpus_becomes_tickets_comments_and_suppressed_mail() {
    the_corpus_becomes_tickets_comments_and_suppressed_mail(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_access_policy_decides_every_inbound_comment() {
    the_access_policy_decides_every_inbound_comment(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_access_policy_decides_every_inbound_comment() {
    the_access_policy_decides_every_inbound_comment(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_mail_ingest_tells_the_mta_what_to_do() {
    mail_ingest_tells_the_mta_what_to_do(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mail_ingest_tells_the_mta_what_to_do() {
    mail_ingest_tells_the_mta_what_to_do(Backend::Postgres).await;
}
