//! Three `ferrodesk serve` processes on one PostgreSQL database behave as one: a session
//! opened on one is valid on the others, and requests sent at once to different instances
//! are serialised by the database (one winner of a sharing race, every edit applied).

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{NO_RATE_LIMITS, demo_database, free_port, serve};
use ferrodesk_testkit::Backend;
use serde_json::{Value, json};
use tokio::sync::Barrier;

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_three_instances_on_one_database_behave_as_one() {
    let (db, token) = demo_database(Backend::Postgres).await;
    let instances = [
        serve(&db, free_port(), &[], NO_RATE_LIMITS).await,
        serve(&db, free_port(), &[], NO_RATE_LIMITS).await,
        serve(&db, free_port(), &[], NO_RATE_LIMITS).await,
    ];
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let client = reqwest::Client::new();

    // A session opened on one instance works on the others.
    let login = client
        .post(format!("{}/api/v1/auth/login", bases[0]))
        .json(&json!({"email": "agent@example.com", "password": "ferrodesk-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    for base in &bases[1..] {
        let me = client
            .get(format!("{base}/api/v1/me"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200, "the session is valid on {base}");
    }

    // Edits without If-Match sent at once to all three instances all apply.
    let url = |i: usize, path: &str| format!("{}/api/v1{path}", bases[i % 3]);
    let (_, t) = call(
        &client,
        reqwest::Method::POST,
        url(0, "/tickets"),
        &token,
        Some(json!({"subject": "Across instances", "description": "Edit me."})),
    )
    .await;
    let (id, v0) = (t["id"].as_i64().unwrap(), t["version"].as_i64().unwrap());
    const AT_ONCE: usize = 9;
    let barrier = Arc::new(Barrier::new(AT_ONCE));
    let mut tasks = Vec::new();
    for i in 0..AT_ONCE {
        let (client, token, barrier, u) = (
            client.clone(),
            token.clone(),
            barrier.clone(),
            url(i, &format!("/tickets/{id}")),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            call(
                &client,
                reqwest::Method::PATCH,
                u,
                &token,
                Some(json!({"subject": format!("Edit {i}")})),
            )
            .await
            .0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, after) = call(
        &client,
        reqwest::Method::GET,
        url(2, &format!("/tickets/{id}")),
        &token,
        None,
    )
    .await;
    assert_eq!(after["version"].as_i64().unwrap(), v0 + AT_ONCE as i64);

    // A sharing race across instances: one winner, the others the same refusal.
    let (_, org) = call(
        &client,
        reqwest::Method::POST,
        url(0, "/organizations"),
        &token,
        Some(json!({"name": "Vandelay Industries"})),
    )
    .await;
    let org = org["id"].as_i64().unwrap();
    let (s, user) = call(&client, reqwest::Method::POST, url(1, "/users"), &token, Some(json!({"name": "Peter", "email": "peter@vandelay.example", "role": "end_user", "organization_ids": [org], "password": "peter-long-password"}))).await;
    assert_eq!(s, 201, "{user}");
    let peter = user["id"].as_i64().unwrap();
    let mut asks = Vec::new();
    for i in 0..3 {
        let (_, t) = call(&client, reqwest::Method::POST, url(i, "/tickets"), &token, Some(json!({"subject": "Share please", "description": "Our team wants to see tickets.", "requester_id": peter}))).await;
        let t = t["id"].as_i64().unwrap();
        // The customer's confirmation, written as the customer.
        let out = Command::new(env!("CARGO_BIN_EXE_ferrodesk"))
            .args([
                "--database-url",
                &db,
                "token",
                "create",
                "--email",
                "peter@vandelay.example",
            ])
            .output()
            .unwrap();
        let peter_token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let (s, c) = call(
            &client,
            reqwest::Method::POST,
            url(i, &format!("/tickets/{t}/comments")),
            &peter_token,
            Some(json!({"body": "We confirm read only and accept the risk.", "public": true})),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        asks.push((t, c["id"].as_i64().unwrap()));
    }
    let barrier = Arc::new(Barrier::new(3));
    let mut tasks = Vec::new();
    for (i, (t, c)) in asks.into_iter().enumerate() {
        let (client, token, barrier, u) = (
            client.clone(),
            token.clone(),
            barrier.clone(),
            url(i, &format!("/organizations/{org}/sharing-changes")),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            call(&client, reqwest::Method::POST, u, &token, Some(json!({"ticket_id": t, "sharing": "read_only", "type_confirmed_comment_id": c, "risk_approved_comment_id": c}))).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        if s != 201 {
            assert_eq!(s, 422, "{body}");
            assert_eq!(body["errors"][0]["code"], "value_changes", "{body}");
        }
        statuses.push(s);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );

    let verify = Command::new(env!("CARGO_BIN_EXE_ferrodesk"))
        .args(["--database-url", &db, "audit", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success());
    drop(instances);
}
