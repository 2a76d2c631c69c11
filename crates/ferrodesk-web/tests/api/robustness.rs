//! Hostile input and hostile clients: text the databases cannot store is refused with a 422
//! naming the field (never a 500, never a partial write), and slow or greedy clients cannot
//! hold the server.

use std::time::Duration;

use ferrodesk_testkit::{Backend, StatusCode, TestApp, on_both_databases};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NUL: &str = "a\u{0}b";

/// Everything a refused write must leave as it was.
async fn table_sizes(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "tickets",
        "comments",
        "users",
        "organizations",
        "views",
        "audit_events",
    ] {
        out.push(app.scalar(&format!("SELECT COUNT(*) FROM {t}")).await);
    }
    out
}

async fn nul_characters_are_refused_naming_the_field_and_change_nothing(app: TestApp) {
    let admin = app.admin().await;
    let t = app.ticket(&admin.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let before = table_sizes(&app).await;

    let login = app
        .raw(
            |c, url| {
                c.post(url)
                    .json(&json!({"email": NUL, "password": "whatever-it-is"}))
            },
            "/auth/login",
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        login.body
    );
    assert_eq!(login.error_fields(), vec!["email"]);

    let search = app.get(&admin.token, "/search?q=requester:a%00b").await;
    assert_eq!(
        search.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        search.body
    );
    assert_eq!(search.error_fields(), vec!["q"]);

    let settings = app
        .patch(
            &admin.token,
            "/settings",
            json!({"sharing_confirmation_template": NUL}),
        )
        .await;
    assert_eq!(
        settings.error_fields(),
        vec!["sharing_confirmation_template"]
    );

    let view = app
        .post(&admin.token, "/views", json!({"name": "Nul", "visibility": "everyone", "conditions": {"all": [{"field": "subject", "operator": "contains", "value": NUL}]}}))
        .await;
    assert_eq!(
        view.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        view.body
    );
    assert_eq!(view.error_fields(), vec!["conditions.all[0].value"]);
    assert_eq!(
        app.get(&admin.token, "/views/counts").await.status,
        StatusCode::OK
    );

    let ticket = app
        .post(
            &admin.token,
            "/tickets",
            json!({"subject": "Fine", "description": NUL}),
        )
        .await;
    assert_eq!(ticket.error_fields(), vec!["description"]);
    let reply = app
        .post(
            &admin.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": NUL}),
        )
        .await;
    assert_eq!(reply.error_fields(), vec!["body"]);
    let tags = app
        .patch(
            &admin.token,
            &format!("/tickets/{t}"),
            json!({"tags": ["ok", NUL]}),
        )
        .await;
    assert_eq!(tags.error_fields(), vec!["tags[1]"]);

    // The web app's forms and pages follow the same rule.
    let form = app
        .raw(
            |c, _| {
                c.post(format!("{}/login", app.base))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("email=a%00b&password=x")
            },
            "",
        )
        .await;
    assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(form.error_fields(), vec!["email"]);

    assert_eq!(table_sizes(&app).await, before, "nothing was written");
}

/// Every string property of every JSON request body the OpenAPI document describes, and every
/// query parameter, sent with a NUL: 422 naming it, never a 500.
async fn every_text_field_and_query_parameter_refuses_nul(app: TestApp) {
    let admin = app.admin().await;
    let doc = app.get(&admin.token, "/openapi.json").await.body;
    let schemas = &doc["components"]["schemas"];
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str() {
            Some(r) => schemas[r.rsplit('/').next().unwrap()].clone(),
            None => s.clone(),
        }
    };
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let path = path
            .trim_start_matches("/api/v1")
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in ops.as_object().unwrap() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body_schema = resolve(&op["requestBody"]["content"]["application/json"]["schema"]);
            if let Some(props) = body_schema["properties"].as_object() {
                for (name, prop) in props {
                    let ty = &resolve(prop)["type"];
                    if *ty != "string"
                        && !ty.as_array().is_some_and(|t| t.contains(&json!("string")))
                    {
                        continue;
                    }
                    let a = app
                        .raw(
                            |c, url| {
                                c.request(method.clone(), url)
                                    .bearer_auth(&admin.token)
                                    .json(&json!({ name.clone(): NUL }))
                            },
                            &path,
                        )
                        .await;
                    assert_eq!(
                        (a.status, a.error_fields()),
                        (StatusCode::UNPROCESSABLE_ENTITY, vec![name.clone()]),
                        "{method} {path} with a NUL in {name}: {}",
                        a.body
                    );
                    checked += 1;
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] != "query" {
                    continue;
                }
                let name = p["name"].as_str().unwrap();
                let a = app
                    .raw(
                        |c, url| {
                            c.request(method.clone(), format!("{url}?{name}=a%00b"))
                                .bearer_auth(&admin.token)
                        },
                        &path,
                    )
                    .await;
                assert_eq!(
                    (a.status, a.error_fields()),
                    (StatusCode::UNPROCESSABLE_ENTITY, vec![name.to_owned()]),
                    "{method} {path}?{name}= with a NUL: {}",
                    a.body
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 40,
        "the sweep covered {checked} fields and parameters"
    );
}

fn limits() -> ferrodesk_web::server::Limits {
    ferrodesk_web::server::Limits {
        header_read: Duration::from_secs(2),
        body_read: Duration::from_secs(2),
        connections_per_address: 6,
        rates: ferrodesk_web::ratelimit::Rates::off(),
    }
}

/// Reads until the server closes the connection; gives what it sent.
async fn read_to_close(s: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(within, s.read_to_end(&mut buf)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        Err(_) => None,
    }
}

async fn slow_and_greedy_clients_are_cut_off(app: TestApp) {
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Headers sent one byte a second: closed once the header time is up.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut closed = false;
    for b in head.bytes() {
        if slow.write_all(&[b]).await.is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 256];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), slow.read(&mut probe)).await
        {
            // The server answered (408) or closed (0 bytes): either way it gave up on us.
            let _ = n;
            closed = true;
            break;
        }
    }
    assert!(closed, "the server kept a one-byte-a-second client");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed after {:?}",
        started.elapsed()
    );

    // A body that stops half-way: closed once the body time is up.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"email\""
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    assert!(
        read_to_close(&mut stalled, Duration::from_secs(8))
            .await
            .is_some(),
        "the server kept a client whose body stalled"
    );

    // One address may hold only so many connections; the next is closed at once, and the
    // server answers again when the idle ones time out.
    let mut held = Vec::new();
    for _ in 0..limits().connections_per_address {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    // Let the server admit them (a busy machine may take a moment).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = extra
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await;
    // Well before the 2 s header limit would close it anyway.
    let answer = read_to_close(&mut extra, Duration::from_millis(1500)).await;
    assert_eq!(
        answer.as_deref(),
        Some(""),
        "a connection over the cap is closed without an answer"
    );
    for s in &mut held {
        assert!(read_to_close(s, Duration::from_secs(6)).await.is_some());
    }
    let ok = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
}

mod limited {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_slow_and_greedy_clients_are_cut_off() {
        slow_and_greedy_clients_are_cut_off(
            TestApp::spawn_with_limits(Backend::Sqlite, limits()).await,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_slow_and_greedy_clients_are_cut_off() {
        slow_and_greedy_clients_are_cut_off(
            TestApp::spawn_with_limits(Backend::Postgres, limits()).await,
        )
        .await
    }
}

/// Errors raised before our handlers (an id that is not a 64-bit number, a wrong method) have
/// the same problem+json shape as every other error, as the OpenAPI document says.
async fn every_api_error_is_problem_json(app: TestApp) {
    let admin = app.admin().await;
    for (method, path, status) in [
        (reqwest::Method::GET, "/tickets/9223372036854775808", 400),
        (reqwest::Method::DELETE, "/groups/not-a-number", 400),
        (reqwest::Method::PUT, "/tickets", 405),
    ] {
        let a = app
            .raw(
                |c, url| c.request(method.clone(), url).bearer_auth(&admin.token),
                path,
            )
            .await;
        assert_eq!(a.status.as_u16(), status, "{method} {path}");
        assert_eq!(
            a.headers["content-type"], "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(a.body["status"], status, "{}", a.body);
    }
    // A body is a JSON object: serde would read `[null, null]` as a change of nothing.
    let before = app.get(&admin.token, "/settings").await.body;
    let array = app
        .raw(
            |c, url| {
                c.patch(url)
                    .bearer_auth(&admin.token)
                    .json(&json!([null, "Europe/Berlin"]))
            },
            "/settings",
        )
        .await;
    assert_eq!(array.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(array.error_fields(), vec!["body"]);
    assert_eq!(app.get(&admin.token, "/settings").await.body, before);
    // A count has no pages: paging parameters are unknown there.
    let paged = app.get(&admin.token, "/tickets/count?limit=0").await;
    assert_eq!(paged.error_fields(), vec!["limit"], "{}", paged.body);
    let doc = app.get(&admin.token, "/openapi.json").await.body;
    let answers = &doc["paths"]["/api/v1/tickets/{id}"]["get"]["responses"];
    for code in ["400", "401", "404", "429"] {
        assert!(
            answers[code]["content"]["application/problem+json"].is_object(),
            "GET /tickets/{{id}} documents {code}: {answers}"
        );
    }
}

on_both_databases!(
    every_api_error_is_problem_json,
    nul_characters_are_refused_naming_the_field_and_change_nothing,
    every_text_field_and_query_parameter_refuses_nul,
);
