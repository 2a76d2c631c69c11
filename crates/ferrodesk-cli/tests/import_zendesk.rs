//! `ferrodesk import zendesk`, round trip: Ferrodesk A (demo data, shared organizations,
//! shared ownership, a custom field) is read through its own `/zendesk/api/v2` — rate-limited,
//! so the importer must wait out 429s — into a fresh Ferrodesk B on the other database, in
//! two runs (the first stops at `--limit`), and a third run imports nothing. B's tickets,
//! comments, sharing modes, access settings, statuses and internal owners equal A's, the
//! access matrix answers the same on both, and B's sharing register says where each mode
//! came from.

mod common;

use std::collections::BTreeMap;

use common::desk::{Desk, token_for};
use common::{NO_RATE_LIMITS, demo_database, ferrodesk, free_port, ok, serve, text};
use ferrodesk_testkit::Backend;
use serde_json::{Value, json};

async fn a_desk_moves_to_another_through_the_zendesk_api(from: Backend, to: Backend) {
    let (db_a, token_a) = demo_database(from).await;
    let server_a = serve(&db_a, free_port(), &[], NO_RATE_LIMITS).await;
    let http = reqwest::Client::new();
    let a = Desk {
        base: server_a.base.clone(),
        token: token_a.clone(),
        http: http.clone(),
    };
    // A's shape beyond the demo: two shared organizations, a custom field with a value, a
    // ticket owned internally, a private note.
    let orgs = a.all("/organizations").await;
    let org_named = |n: &str| {
        orgs.iter()
            .find(|o| o["name"] == json!(n))
            .map(|o| o["id"].as_i64().unwrap())
            .unwrap()
    };
    let (acme, globex) = (org_named("Acme Corp"), org_named("Globex"));
    a.send(
        reqwest::Method::POST,
        "/ticket-fields",
        json!({"key": "plan", "title": "Plan", "field_type": "dropdown", "options": ["basic", "pro"]}),
    )
    .await;
    let tickets = a.all("/tickets").await;
    let first = tickets[0]["id"].as_i64().unwrap();
    a.send(
        reqwest::Method::PATCH,
        &format!("/tickets/{first}"),
        json!({"custom_fields": {"plan": "pro"}, "tags": ["vip", "renewal"]}),
    )
    .await;
    let contract: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let upload = a.upload("contract.pdf", contract.clone()).await;
    a.send(
        reqwest::Method::POST,
        &format!("/tickets/{first}/comments"),
        json!({"body": "Internal: check the contract", "public": false, "upload_tokens": [upload]}),
    )
    .await;
    // A long ticket — its comments more than one search index row holds, so the importer's
    // bulk writer indexes it in chunks — and a private note with a word of its own.
    let long = tickets[1]["id"].as_i64().unwrap();
    for i in 0..3 {
        let filler = "lorem ipsum dolor sit amet ".repeat(260);
        let last = if i == 2 { " zanzibarcode" } else { "" };
        a.send(
            reqwest::Method::POST,
            &format!("/tickets/{long}/comments"),
            json!({"body": format!("{filler}{last}"), "public": true}),
        )
        .await;
    }
    a.send(
        reqwest::Method::POST,
        &format!("/tickets/{}/comments", tickets[2]["id"]),
        json!({"body": "Only staff may read this quokkanote", "public": false}),
    )
    .await;
    let long_requester = a
        .get(&format!("/users/{}", tickets[1]["requester_id"]))
        .await["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let shared_owner = tickets
        .iter()
        .find(|t| !t["internal_group_id"].is_null())
        .is_some();
    assert!(shared_owner, "the demo has tickets with an internal owner");
    drop(server_a);
    // Sharing modes as an admin left them (the workflow's own tests are elsewhere).
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&db_a).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "UPDATE organizations SET sharing = 'read_only' WHERE id = {acme}; \
             UPDATE organizations SET sharing = 'read_write' WHERE id = {globex}"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    }
    // Changes of the last minute wait for the next export: date A's back.
    common::age_tickets(&db_a, 600).await;
    // A slows its clients down: 2 requests a second per token.
    let server_a = serve(
        &db_a,
        free_port(),
        &[],
        &[
            ("FERRODESK_RATE_PER_CREDENTIAL", "2"),
            ("FERRODESK_RATE_PER_ADDRESS", "0"),
        ],
    )
    .await;

    let db_b = ferrodesk_testkit::fresh_database(to).await;
    let url = format!("{}/zendesk", server_a.base);
    let import = |limit: Option<&str>| {
        let mut args = vec![
            "import",
            "zendesk",
            "--url",
            url.as_str(),
            "--email",
            "admin@example.com",
            "--token",
            token_a.as_str(),
        ];
        if let Some(l) = limit {
            args.extend(["--limit", l]);
        }
        ferrodesk(&db_b, &args)
    };
    let first_run = ok(&import(Some("20")));
    assert!(first_run.contains("tickets: 20 imported"), "{first_run}");
    assert!(first_run.contains("stopped at --limit"), "{first_run}");
    assert!(
        first_run.contains("when the source asked to slow down"),
        "the importer met 429s and waited: {first_run}"
    );
    let second_run = ok(&import(None));
    assert!(
        second_run.contains(&format!(
            "tickets: {} imported, 20 already here",
            tickets.len() - 20
        )),
        "{second_run}"
    );
    eprintln!("first run:\n{first_run}\nsecond run:\n{second_run}");
    let third_run = import(None);
    let third = text(&third_run);
    assert!(third_run.status.success(), "{third}");
    assert!(
        third.contains(&format!(
            "tickets: 0 imported, {} already here",
            tickets.len()
        )),
        "a rerun imports nothing twice: {third}"
    );

    // Compare at full speed: A without its limit now.
    drop(server_a);
    let server_a = serve(&db_a, free_port(), &[], NO_RATE_LIMITS).await;
    let a = Desk {
        base: server_a.base.clone(),
        token: token_a.clone(),
        http: http.clone(),
    };
    let server_b = serve(&db_b, free_port(), &[], NO_RATE_LIMITS).await;
    let token_b = token_for(&db_b, "admin@example.com").await;
    let b = Desk {
        base: server_b.base.clone(),
        token: token_b.clone(),
        http: http.clone(),
    };
    // Organizations with their sharing modes, users with their access and scope.
    let org_view = |items: Vec<Value>| -> BTreeMap<String, Value> {
        items
            .into_iter()
            .map(|o| (o["name"].as_str().unwrap().to_owned(), o["sharing"].clone()))
            .collect()
    };
    assert_eq!(
        org_view(a.all("/organizations").await),
        org_view(b.all("/organizations").await)
    );
    let user_view = |items: Vec<Value>| -> BTreeMap<String, String> {
        items
            .into_iter()
            .map(|u| {
                (
                    u["email"].as_str().unwrap().to_owned(),
                    format!(
                        "{} {} {} {} {}",
                        u["role"],
                        u["access"],
                        u["ticket_scope"],
                        u["organization_ids"].as_array().unwrap().len(),
                        u["group_ids"].as_array().unwrap().len()
                    ),
                )
            })
            .collect()
    };
    assert_eq!(
        user_view(a.all("/users").await),
        user_view(b.all("/users").await)
    );
    // Statuses with their internal groups (by name).
    let status_view = |desk_statuses: Value, groups: BTreeMap<i64, String>| -> Vec<String> {
        desk_statuses["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut g: Vec<&String> = s["internal_group_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|i| groups.get(&i.as_i64().unwrap()))
                    .collect();
                g.sort();
                format!(
                    "{} {} {} {} {:?}",
                    s["name"], s["customer_label"], s["category"], s["all_groups"], g
                )
            })
            .collect()
    };
    let mut sa = status_view(a.get("/statuses").await, a.group_names().await);
    let mut sb = status_view(b.get("/statuses").await, b.group_names().await);
    sa.sort();
    sb.sort();
    assert_eq!(sa, sb);
    // Every ticket, as the admin reads it: fields, owners, comments, original times.
    let ta = a.tickets(&token_a).await;
    let tb = b.tickets(&token_b).await;
    assert_eq!(ta.len(), tickets.len());
    assert_eq!(ta, tb);
    // The file came over byte for byte.
    let file = *b
        .files()
        .await
        .get("contract.pdf")
        .expect("the attachment arrived");
    assert_eq!(b.file(file).await, contract);
    // Search finds the same tickets on both desks, for staff and for the long ticket's
    // requester (who never matches the private note's word).
    let subjects = |found: Value| -> Vec<String> {
        let mut s: Vec<String> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    let requester_a = token_for(&db_a, &long_requester).await;
    let requester_b = token_for(&db_b, &long_requester).await;
    for word in ["zanzibarcode", "quokkanote", "lorem", "printer"] {
        let on_a = subjects(a.get(&format!("/search?q={word}")).await);
        let on_b = subjects(b.get(&format!("/search?q={word}")).await);
        assert_eq!(on_a, on_b, "staff searching {word}");
        if word != "printer" {
            assert!(!on_b.is_empty(), "staff find {word} on B");
        }
        let search = format!("/search?q={word}");
        let on_a = subjects(a.as_user(&requester_a).get(&search).await);
        let on_b = subjects(b.as_user(&requester_b).get(&search).await);
        assert_eq!(on_a, on_b, "{long_requester} searching {word}");
        match word {
            "zanzibarcode" => assert_eq!(on_b.len(), 1, "{long_requester} finds the long ticket"),
            "quokkanote" => assert!(on_b.is_empty(), "a private note's word stays private"),
            _ => {}
        }
    }
    // The audit chain B grew while importing (one event per ticket, appended a page at a
    // time) verifies.
    let verified = ok(&ferrodesk(&db_b, &["audit", "verify"]));
    assert!(verified.contains("audit chain intact"), "{verified}");
    // B's register says where each mode came from.
    let register = b.get("/sharing-register").await;
    let entries = register.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{register}");
    for e in entries {
        assert_eq!(
            e["imported"],
            json!(format!(
                "imported from Zendesk ({})",
                url.trim_start_matches("http://")
            )),
            "{e}"
        );
        assert!(e["since"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres() {
    a_desk_moves_to_another_through_the_zendesk_api(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite() {
    a_desk_moves_to_another_through_the_zendesk_api(Backend::Postgres, Backend::Sqlite).await;
}
