//! `ferrodesk import freshdesk`, round trip: Ferrodesk A (demo data, a custom status mapped
//! to a group with a ticket owned internally in it, shared organizations, a custom field, CCs,
//! a private note) is read through its own `/freshdesk/api/v2` — rate-limited, so the importer
//! must wait out 429s — into a fresh Ferrodesk B on the other database. Without
//! `--status-groups` (Freshdesk's API does not say which groups a status maps) or with a file
//! that does not fit the account, the import writes nothing; with the file it runs in two
//! parts (the first stops at `--limit`) and a third run imports nothing. B's tickets,
//! comments, sharing modes, access settings, statuses and internal owners equal A's, the
//! access matrix answers the same on both, and B's sharing register says where each mode
//! came from.

mod common;

use std::collections::BTreeMap;

use common::desk::{Desk, token_for};
use common::{NO_RATE_LIMITS, demo_database, ferrodesk, free_port, ok, serve, text};
use ferrodesk_testkit::Backend;
use serde_json::{Value, json};

/// Rows of each table that an import writes to.
async fn rows(db: &str) -> Vec<(&'static str, i64)> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(db).await.unwrap();
    let mut out = Vec::new();
    for table in [
        "users",
        "organizations",
        "agent_groups",
        "statuses",
        "custom_fields",
        "tickets",
        "comments",
        "import_links",
        "sharing_imports",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut c)
                .await
                .unwrap();
        out.push((table, n));
    }
    out
}

async fn a_desk_moves_to_another_through_the_freshdesk_api(from: Backend, to: Backend) {
    let (db_a, token_a) = demo_database(from).await;
    let server_a = serve(&db_a, free_port(), &[], NO_RATE_LIMITS).await;
    let http = reqwest::Client::new();
    let a = Desk {
        base: server_a.base.clone(),
        token: token_a.clone(),
        http: http.clone(),
    };
    // A's shape beyond the demo: a custom status mapped to Finance with a ticket owned
    // internally in it, a custom field with a value, tags, a CC, a private note.
    let groups = a.group_names().await;
    let group_id = |n: &str| *groups.iter().find(|(_, g)| *g == n).unwrap().0;
    let finance = group_id("Finance");
    let users = a.all("/users").await;
    let user_id = |e: &str| {
        users
            .iter()
            .find(|u| u["email"] == json!(e))
            .map(|u| u["id"].as_i64().unwrap())
            .unwrap()
    };
    let status = a
        .send(
            reqwest::Method::POST,
            "/statuses",
            json!({"name": "Waiting on Finance", "customer_label": "With our accounts team",
                   "category": "pending", "internal_group_ids": [finance]}),
        )
        .await;
    a.send(
        reqwest::Method::POST,
        "/ticket-fields",
        json!({"key": "plan", "title": "Plan", "field_type": "dropdown", "options": ["basic", "pro"]}),
    )
    .await;
    let tickets = a.all("/tickets").await;
    let first = tickets[0]["id"].as_i64().unwrap();
    let second = tickets[1]["id"].as_i64().unwrap();
    a.send(
        reqwest::Method::PATCH,
        &format!("/tickets/{first}"),
        json!({"custom_fields": {"plan": "pro"}, "tags": ["vip", "renewal"],
               "status_id": status["id"], "internal_group_id": finance,
               "internal_agent_id": user_id("fiona@example.com")}),
    )
    .await;
    // Files: one on the private note, one on a new ticket's description (Freshdesk lists
    // those on the ticket itself, not among its conversations).
    let contract: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let order_form: Vec<u8> = (0..40_000u32).map(|i| (i % 241) as u8).collect();
    // The customer sends the order form herself: Freshdesk's description is the requester's.
    let erin = token_for(&db_a, "erin@globex.example").await;
    let contract_token = a.upload("contract.pdf", contract.clone()).await;
    let order_token = a
        .as_user(&erin)
        .upload("order-form.pdf", order_form.clone())
        .await;
    a.send(
        reqwest::Method::POST,
        &format!("/tickets/{first}/comments"),
        json!({"body": "Internal: check the contract", "public": false,
               "upload_tokens": [contract_token]}),
    )
    .await;
    a.as_user(&erin)
        .send(
            reqwest::Method::POST,
            "/tickets",
            json!({"subject": "Signed order form", "description": "Here is the signed form.",
               "upload_tokens": [order_token]}),
        )
        .await;
    a.send(
        reqwest::Method::PATCH,
        &format!("/tickets/{second}"),
        json!({"cc_ids": [user_id("agent@example.com")]}),
    )
    .await;
    let tickets = a.all("/tickets").await;
    assert!(
        tickets
            .iter()
            .filter(|t| !t["internal_group_id"].is_null())
            .count()
            >= 2,
        "tickets owned internally in Customer Responded and Waiting on Finance"
    );
    let orgs = a.all("/organizations").await;
    let org_named = |n: &str| {
        orgs.iter()
            .find(|o| o["name"] == json!(n))
            .map(|o| o["id"].as_i64().unwrap())
            .unwrap()
    };
    let (acme, globex) = (org_named("Acme Corp"), org_named("Globex"));
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
    // A slows its clients down: 10 requests a second per key.
    let server_a = serve(
        &db_a,
        free_port(),
        &[],
        &[
            ("FERRODESK_RATE_PER_CREDENTIAL", "10"),
            ("FERRODESK_RATE_PER_ADDRESS", "0"),
        ],
    )
    .await;

    let db_b = ferrodesk_testkit::fresh_database(to).await;
    ok(&ferrodesk(&db_b, &["migrate"]));
    let empty = rows(&db_b).await;
    assert_eq!(
        empty.iter().find(|(t, _)| *t == "tickets"),
        Some(&("tickets", 0))
    );
    let url = format!("{}/freshdesk", server_a.base);
    let dir = std::env::temp_dir().join(format!(
        "ferrodesk-import-freshdesk-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let import = |file: Option<&std::path::Path>, limit: Option<&str>| {
        let mut args = vec![
            "import".to_owned(),
            "freshdesk".to_owned(),
            "--url".to_owned(),
            url.clone(),
            "--api-key".to_owned(),
            token_a.clone(),
        ];
        if let Some(f) = file {
            args.extend(["--status-groups".to_owned(), f.display().to_string()]);
        }
        if let Some(l) = limit {
            args.extend(["--limit".to_owned(), l.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ferrodesk(&db_b, &args)
    };

    // Without the status-groups file: nothing is written, and the message says what to do.
    let refused = import(None, None);
    let said = text(&refused);
    assert!(!refused.status.success(), "{said}");
    for needed in [
        "--status-groups",
        "\"Customer Responded\"",
        "\"Waiting on Finance\"",
    ] {
        assert!(said.contains(needed), "names {needed}: {said}");
    }
    assert_eq!(rows(&db_b).await, empty, "B is untouched");
    // A file that does not fit the account: nothing is written either.
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"Customer Responded": "all", "Waiting on Finance": ["Finance", "Treasury"],
            "Escalated": ["Legal"]}"#,
    )
    .unwrap();
    let refused = import(Some(&bad), None);
    let said = text(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("\"Treasury\"") && said.contains("\"Escalated\""),
        "{said}"
    );
    assert_eq!(rows(&db_b).await, empty, "B is untouched");

    let file = dir.join("status-groups.json");
    std::fs::write(
        &file,
        r#"{"Customer Responded": {"groups": "all", "category": "open"},
            "waiting on finance": ["finance"]}"#,
    )
    .unwrap();
    let first_run = ok(&import(Some(&file), Some("20")));
    assert!(first_run.contains("tickets: 20 imported"), "{first_run}");
    assert!(first_run.contains("stopped at --limit"), "{first_run}");
    assert!(
        first_run.contains("when the source asked to slow down"),
        "the importer met 429s and waited: {first_run}"
    );
    let second_run = ok(&import(Some(&file), None));
    assert!(
        second_run.contains(&format!(
            "tickets: {} imported, 20 already here",
            tickets.len() - 20
        )),
        "{second_run}"
    );
    eprintln!("first run:\n{first_run}\nsecond run:\n{second_run}");
    let third_run = ok(&import(Some(&file), None));
    assert!(
        third_run.contains(&format!(
            "tickets: 0 imported, {} already here",
            tickets.len()
        )),
        "a rerun imports nothing twice: {third_run}"
    );
    assert!(
        third_run.contains("users: 0 imported") && third_run.contains("statuses: 0 imported"),
        "{third_run}"
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
    let user_view = |desk_users: Vec<Value>, groups: BTreeMap<i64, String>| {
        desk_users
            .into_iter()
            .map(|u| {
                let mut g: Vec<&String> = u["group_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|i| groups.get(&i.as_i64().unwrap()))
                    .collect();
                g.sort();
                (
                    u["email"].as_str().unwrap().to_owned(),
                    format!(
                        "{} {} {} {} {} {:?}",
                        u["name"],
                        u["role"],
                        u["access"],
                        u["ticket_scope"],
                        u["organization_ids"].as_array().unwrap().len(),
                        g
                    ),
                )
            })
            .collect::<BTreeMap<String, String>>()
    };
    assert_eq!(
        user_view(a.all("/users").await, a.group_names().await),
        user_view(b.all("/users").await, b.group_names().await)
    );
    // Statuses with their internal groups (by name).
    let status_view = |desk_statuses: Value, groups: BTreeMap<i64, String>| -> Vec<String> {
        let mut v: Vec<String> = desk_statuses["items"]
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
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        status_view(a.get("/statuses").await, a.group_names().await),
        status_view(b.get("/statuses").await, b.group_names().await)
    );
    // Every ticket, as the admin reads it: fields, owners, comments, original times.
    let ta = a.tickets(&token_a).await;
    let tb = b.tickets(&token_b).await;
    assert_eq!(ta.len(), tickets.len());
    assert_eq!(ta, tb);
    assert!(
        tb.iter().any(|t| t.contains("\"Waiting on Finance\"")
            && t.contains("Some(\"Finance\") | Some(\"fiona@example.com\")")),
        "the ticket owned internally in the custom status kept its owner"
    );
    // Both files came over byte for byte, each on its comment (the listing above compares
    // names, types and sizes per comment).
    let files = b.files().await;
    for (name, bytes) in [("contract.pdf", &contract), ("order-form.pdf", &order_form)] {
        let id = files
            .get(name)
            .unwrap_or_else(|| panic!("{name} arrived: {files:?}"));
        assert_eq!(&b.file(*id).await, bytes, "{name}");
    }
    // The access matrix: every end user and agent sees the same tickets on both desks.
    for u in a.all("/users").await {
        let email = u["email"].as_str().unwrap();
        if u["role"] == json!("admin") {
            continue;
        }
        let on_a = a.tickets(&token_for(&db_a, email).await).await;
        let on_b = b.tickets(&token_for(&db_b, email).await).await;
        assert_eq!(on_a, on_b, "{email} sees the same tickets on both");
    }
    // B's register says where each mode came from.
    let register = b.get("/sharing-register").await;
    let entries = register.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{register}");
    for e in entries {
        assert_eq!(
            e["imported"],
            json!(format!(
                "imported from Freshdesk ({})",
                url.trim_start_matches("http://")
            )),
            "{e}"
        );
        assert!(e["since"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres() {
    a_desk_moves_to_another_through_the_freshdesk_api(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite() {
    a_desk_moves_to_another_through_the_freshdesk_api(Backend::Postgres, Backend::Sqlite).await;
}
