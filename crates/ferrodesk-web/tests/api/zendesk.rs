//! The Zendesk-compatible API (`/zendesk/api/v2`): Zendesk's auth, shapes, pagination and
//! errors, over the same use cases and access policy as `/api/v1`.

use std::collections::BTreeSet;

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{Answer, StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

const ZD: &str = "/zendesk/api/v2";

/// Zendesk's API-token scheme: Basic `EMAIL/token:TOKEN`.
async fn zget(app: &TestApp, u: &TestUser, path: &str) -> Answer {
    app.raw_at(
        |c, url| {
            c.get(url)
                .basic_auth(format!("{}/token", u.email), Some(&u.token))
        },
        &format!("{ZD}{path}"),
    )
    .await
}

async fn zsend(app: &TestApp, u: &TestUser, method: &str, path: &str, body: Value) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    app.raw_at(
        |c, url| {
            c.request(method, url)
                .basic_auth(format!("{}/token", u.email), Some(&u.token))
                .json(&body)
        },
        &format!("{ZD}{path}"),
    )
    .await
}

async fn signs_in_with_zendesk_schemes_and_refuses_others(app: TestApp) {
    let admin = app.admin().await;
    let me = zget(&app, &admin, "/users/me.json").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["user"]["id"], json!(admin.id));
    assert_eq!(me.body["user"]["role"], json!("admin"));
    assert!(
        me.body["user"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}{ZD}/users/", app.base)),
        "absolute urls on the host the client used: {}",
        me.body["user"]["url"]
    );
    // Without .json, and with our Bearer token.
    let bearer = app
        .raw_at(
            |c, url| c.get(url).bearer_auth(&admin.token),
            &format!("{ZD}/users/me"),
        )
        .await;
    assert_eq!(bearer.body["user"]["id"], json!(admin.id));
    // The token of one user with another's address, a password, nothing: 401 in Zendesk's shape.
    let agent = app.agent(TicketScope::Global, &[]).await;
    for auth in [
        Some((format!("{}/token", agent.email), admin.token.clone())),
        Some((admin.email.clone(), admin.token.clone())),
        Some((format!("{}/token", admin.email), "not-a-token".to_owned())),
        None,
    ] {
        let res = app
            .raw_at(
                |c, url| match &auth {
                    Some((u, p)) => c.get(url).basic_auth(u, Some(p)),
                    None => c.get(url),
                },
                &format!("{ZD}/users/me.json"),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(res.body["error"], json!("Couldn't authenticate you"));
    }
}

async fn tickets_are_created_updated_and_commented_as_zendesk_clients_do(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    // zenpy: `description`; the answer carries `ticket` and `audit`.
    let created = zsend(
        &app,
        &admin,
        "POST",
        "/tickets.json",
        json!({"ticket": {"subject": "Printer on fire", "description": "Smoke everywhere", "requester_id": customer.id, "priority": "high", "tags": ["hardware"]}}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let t = &created.body["ticket"];
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["status"], json!("open"));
    assert_eq!(t["priority"], json!("high"));
    assert_eq!(t["description"], json!("Smoke everywhere"));
    assert_eq!(t["requester_id"], json!(customer.id));
    assert_eq!(t["tags"], json!(["hardware"]));
    assert_eq!(created.body["audit"]["ticket_id"], json!(id));
    assert!(
        created.headers["location"]
            .to_str()
            .unwrap()
            .ends_with(&format!("{ZD}/tickets/{id}.json"))
    );
    // node-zendesk: `comment` inside; zenpy sends `id` back on update (ignored).
    let node = zsend(
        &app,
        &admin,
        "POST",
        "/tickets",
        json!({"ticket": {"subject": "VPN down", "comment": {"body": "Since 9am", "public": true}, "requester_id": customer.id}}),
    )
    .await;
    assert_eq!(node.status, StatusCode::CREATED, "{}", node.body);
    let updated = zsend(
        &app,
        &admin,
        "PUT",
        &format!("/tickets/{id}.json"),
        json!({"ticket": {"id": id, "status": "pending", "comment": {"body": "Checking with facilities", "public": false}}}),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["ticket"]["status"], json!("pending"));
    let events = updated.body["audit"]["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == json!("Comment") && e["public"] == json!(false))
    );
    assert!(
        events
            .iter()
            .any(|e| e["field_name"] == json!("status") && e["value"] == json!("pending"))
    );
    let comments = zget(&app, &admin, &format!("/tickets/{id}/comments.json")).await;
    let bodies: Vec<(&str, bool)> = comments.body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["body"].as_str().unwrap(), c["public"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("Smoke everywhere", true),
            ("Checking with facilities", false)
        ]
    );
    // The same ticket through /api/v1: one write path.
    let v1 = app.get(&admin.token, &format!("/tickets/{id}")).await;
    assert_eq!(v1.body["status"], json!("Pending"));
    // The end user sees the public reply only, through the Requests API.
    let theirs = zget(&app, &customer, &format!("/requests/{id}/comments.json")).await;
    assert_eq!(theirs.body["comments"].as_array().unwrap().len(), 1);
}

async fn bad_updates_change_nothing_and_answer_in_zendesk_shapes(app: TestApp) {
    let admin = app.admin().await;
    let group = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let t = app
        .ticket(
            &admin.token,
            json!({"subject": "Invoice", "description": "Wrong total"}),
        )
        .await;
    let id = t["id"].as_i64().unwrap();
    let path = format!("/tickets/{id}.json");
    // On-hold does not exist here.
    let hold = zsend(
        &app,
        &admin,
        "PUT",
        &path,
        json!({"ticket": {"status": "hold"}}),
    )
    .await;
    assert_eq!(hold.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(hold.body["error"], json!("RecordInvalid"));
    assert!(hold.body["details"]["status"][0]["description"].is_string());
    // An internal group the status does not map (Open maps none): the comment is not added either.
    let bad = zsend(
        &app,
        &admin,
        "PUT",
        &path,
        json!({"ticket": {"internal_group_id": group, "comment": {"body": "should not stay"}}}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body["details"]["internal_group_id"].is_array(),
        "{}",
        bad.body
    );
    let comments = zget(&app, &admin, &format!("/tickets/{id}/comments.json")).await;
    assert_eq!(comments.body["comments"].as_array().unwrap().len(), 1);
    // safe_update with a stale stamp: 409, nothing changed.
    let stale = zsend(
        &app,
        &admin,
        "PUT",
        &path,
        json!({"ticket": {"priority": "urgent", "safe_update": true, "updated_stamp": "2001-01-01T00:00:00Z"}}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let now = zget(&app, &admin, &path).await;
    assert_eq!(now.body["ticket"]["priority"], json!("normal"));
    let fresh = zsend(
        &app,
        &admin,
        "PUT",
        &path,
        json!({"ticket": {"priority": "urgent", "safe_update": true, "updated_stamp": now.body["ticket"]["updated_at"]}}),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_eq!(fresh.body["ticket"]["priority"], json!("urgent"));
    // Missing: RecordNotFound; malformed JSON: 400 InvalidJSON.
    let missing = zget(&app, &admin, "/tickets/999999.json").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"], json!("RecordNotFound"));
    let broken = app
        .raw_at(
            |c, url| {
                c.put(url)
                    .bearer_auth(&admin.token)
                    .header("content-type", "application/json")
                    .body("{\"ticket\": ")
            },
            &format!("{ZD}{path}"),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.body["error"], json!("InvalidJSON"));
}

async fn lists_page_by_cursor_and_by_offset_to_the_end(app: TestApp) {
    let admin = app.admin().await;
    let mut made = BTreeSet::new();
    for i in 0..7 {
        let t = app
            .ticket(
                &admin.token,
                json!({"subject": format!("T{i}"), "description": "x"}),
            )
            .await;
        made.insert(t["id"].as_i64().unwrap());
    }
    // Cursor pages: follow links.next until it is null (node-zendesk's loop).
    let mut seen = BTreeSet::new();
    let mut next = Some(format!("{}{ZD}/tickets.json?page%5Bsize%5D=3", app.base));
    let mut pages = 0;
    while let Some(url) = next {
        let path = url.strip_prefix(&app.base).unwrap().to_owned();
        let page = zget(&app, &admin, path.strip_prefix(ZD).unwrap()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for t in page.body["tickets"].as_array().unwrap() {
            assert!(seen.insert(t["id"].as_i64().unwrap()), "no ticket twice");
        }
        assert_eq!(
            page.body["meta"]["has_more"].as_bool().unwrap(),
            !page.body["links"]["next"].is_null()
        );
        next = page.body["links"]["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(seen, made);
    assert_eq!(pages, 3);
    // Offset pages: next_page until null, with a count.
    let mut seen = BTreeSet::new();
    let mut next = Some(format!("{}{ZD}/tickets.json?per_page=2", app.base));
    while let Some(url) = next {
        let path = url
            .strip_prefix(&format!("{}{ZD}", app.base))
            .unwrap()
            .to_owned();
        let page = zget(&app, &admin, &path).await;
        assert_eq!(page.body["count"], json!(7));
        for t in page.body["tickets"].as_array().unwrap() {
            seen.insert(t["id"].as_i64().unwrap());
        }
        next = page.body["next_page"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, made);
    // A page asked for by number alone (page 3 of 2): the 5th and 6th newest.
    let third = zget(&app, &admin, "/tickets.json?page=3&per_page=2").await;
    let newest_first: Vec<i64> = made.iter().rev().copied().collect();
    let ids: Vec<i64> = third.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, newest_first[4..6]);
    // Repeated and unknown query keys are tolerated; a bad size is a validation error.
    let lenient = zget(
        &app,
        &admin,
        "/tickets.json?per_page=2&per_page=50&include=users",
    )
    .await;
    assert_eq!(lenient.body["tickets"].as_array().unwrap().len(), 2);
    let bad = zget(&app, &admin, "/tickets.json?page%5Bsize%5D=1000").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn sharing_changes_only_through_the_workflow(app: TestApp) {
    let admin = app.admin().await;
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/organizations/{org}.json");
    let shown = zget(&app, &admin, &path).await;
    assert_eq!(shown.body["organization"]["shared_tickets"], json!(false));
    assert_eq!(shown.body["organization"]["shared_comments"], json!(false));
    let refused = zsend(
        &app,
        &admin,
        "PUT",
        &path,
        json!({"organization": {"id": org, "shared_comments": true}}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let why = refused.body["details"]["shared_comments"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        why.contains(&format!("/api/v1/organizations/{org}/sharing-changes")),
        "{why}"
    );
    // Whole objects repeating the current values pass; other fields change.
    let fine = zsend(
        &app,
        &admin,
        "PUT",
        &path,
        json!({"organization": {"id": org, "shared_tickets": false, "shared_comments": false, "notes": "Key account"}}),
    )
    .await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    assert_eq!(fine.body["organization"]["notes"], json!("Key account"));
    let v1 = app
        .get(&admin.token, &format!("/organizations/{org}"))
        .await;
    assert_eq!(v1.body["sharing"], json!("own_only"));
}

async fn end_users_use_the_requests_api_under_the_one_policy(app: TestApp) {
    let admin = app.admin().await;
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Globex"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let dan = app.end_user(&[org], UserAccess::Requested).await;
    let erin = app.end_user(&[org], UserAccess::Requested).await;
    let erins = app
        .ticket(&admin.token, json!({"subject": "Erin's", "description": "x", "requester_id": erin.id, "organization_id": org}))
        .await["id"]
        .as_i64()
        .unwrap();
    // Dan asks through the Requests API.
    let made = zsend(
        &app,
        &dan,
        "POST",
        "/requests.json",
        json!({"request": {"subject": "Login fails", "comment": {"body": "Since Monday"}}}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let mine = made.body["request"]["id"].as_i64().unwrap();
    assert_eq!(made.body["request"]["requester_id"], json!(dan.id));
    let listed = zget(&app, &dan, "/requests.json").await;
    let ids: Vec<i64> = listed.body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [mine]);
    // Erin's ticket is invisible to Dan (his organization shares nothing): 404, everywhere.
    for path in [
        format!("/requests/{erins}.json"),
        format!("/requests/{erins}/comments.json"),
    ] {
        let res = zget(&app, &dan, &path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
    let org_list = zget(&app, &dan, &format!("/organizations/{org}/requests.json")).await;
    assert!(
        !org_list.body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == json!(erins))
    );
    let comment = zsend(
        &app,
        &dan,
        "PUT",
        &format!("/requests/{erins}.json"),
        json!({"request": {"comment": {"body": "me too"}}}),
    )
    .await;
    assert_eq!(comment.status, StatusCode::NOT_FOUND);
    // The agents' ticket API is closed to end users (as Zendesk: 403).
    let tickets = zget(&app, &dan, "/tickets.json").await;
    assert_eq!(tickets.status, StatusCode::FORBIDDEN);
    assert!(tickets.body["error"]["title"].is_string());
    // Dan comments and marks his request solved, in one update.
    let solved = zsend(
        &app,
        &dan,
        "PUT",
        &format!("/requests/{mine}.json"),
        json!({"request": {"comment": {"body": "Works again, thanks"}, "solved": true}}),
    )
    .await;
    assert_eq!(solved.status, StatusCode::OK, "{}", solved.body);
    assert_eq!(solved.body["request"]["status"], json!("solved"));
    let thread = zget(&app, &dan, &format!("/requests/{mine}/comments.json")).await;
    assert_eq!(thread.body["comments"].as_array().unwrap().len(), 2);
}

async fn search_and_incremental_export_reach_every_ticket_once(app: TestApp) {
    let admin = app.admin().await;
    let mut ids = BTreeSet::new();
    for i in 0..5 {
        let word = if i % 2 == 0 { "kangaroo" } else { "wombat" };
        let t = app
            .ticket(
                &admin.token,
                json!({"subject": format!("{word} {i}"), "description": "x"}),
            )
            .await;
        ids.insert(t["id"].as_i64().unwrap());
    }
    let found = zget(
        &app,
        &admin,
        "/search.json?query=kangaroo%20type%3Aticket&per_page=2",
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["results"].as_array().unwrap().len(), 2);
    assert_eq!(found.body["results"][0]["result_type"], json!("ticket"));
    let next = found.body["next_page"].as_str().unwrap();
    let rest = zget(
        &app,
        &admin,
        next.strip_prefix(&format!("{}{ZD}", app.base)).unwrap(),
    )
    .await;
    assert_eq!(rest.body["results"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_page"].is_null());
    assert_eq!(rest.body["count"], json!(3));
    // The export leaves out the last minute of changes; age them, then walk it to the end.
    let fresh = zget(
        &app,
        &admin,
        "/incremental/tickets/cursor.json?start_time=0",
    )
    .await;
    assert_eq!(fresh.body["tickets"].as_array().unwrap().len(), 0);
    assert_eq!(fresh.body["end_of_stream"], json!(true));
    app.execute_sql("UPDATE tickets SET updated_at = updated_at - 120000000")
        .await;
    let mut seen = BTreeSet::new();
    let mut path = "/incremental/tickets/cursor.json?start_time=0&per_page=2".to_owned();
    loop {
        let page = zget(&app, &admin, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for t in page.body["tickets"].as_array().unwrap() {
            assert!(seen.insert(t["id"].as_i64().unwrap()));
        }
        if page.body["end_of_stream"] == json!(true) {
            break;
        }
        path = page.body["after_url"]
            .as_str()
            .unwrap()
            .strip_prefix(&format!("{}{ZD}", app.base))
            .unwrap()
            .to_owned();
    }
    assert_eq!(seen, ids);
    // Ferrodesk's sideload: each ticket with its comments, private notes included.
    let one = *ids.iter().next().unwrap();
    zsend(
        &app,
        &admin,
        "PUT",
        &format!("/tickets/{one}.json"),
        json!({"ticket": {"comment": {"body": "note", "public": false}}}),
    )
    .await;
    app.execute_sql("UPDATE tickets SET updated_at = updated_at - 120000000")
        .await;
    let with = zget(
        &app,
        &admin,
        "/incremental/tickets/cursor.json?start_time=0&include=comments",
    )
    .await;
    let t = with.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(one))
        .unwrap();
    let bodies: Vec<(&str, bool)> = t["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["body"].as_str().unwrap(), c["public"].as_bool().unwrap()))
        .collect();
    assert_eq!(bodies, [("x", true), ("note", false)]);
    // Exports are for admins.
    let agent = app.agent(TicketScope::Global, &[]).await;
    let refused = zget(
        &app,
        &agent,
        "/incremental/tickets/cursor.json?start_time=0",
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn directory_reads_in_zendesk_shapes(app: TestApp) {
    let admin = app.admin().await;
    let group = app
        .post(&admin.token, "/groups", json!({"name": "Legal"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let agent = app.agent(TicketScope::Group, &[group]).await;
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Initech"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let carol = app.end_user(&[org], UserAccess::Organization).await;
    let user = zget(&app, &admin, &format!("/users/{}.json", carol.id)).await;
    assert_eq!(user.body["user"]["role"], json!("end-user"));
    assert_eq!(
        user.body["user"]["ticket_restriction"],
        json!("organization")
    );
    assert_eq!(user.body["user"]["organization_id"], json!(org));
    let a = zget(&app, &admin, &format!("/users/{}", agent.id)).await;
    assert_eq!(a.body["user"]["ticket_restriction"], json!("groups"));
    assert_eq!(a.body["user"]["restricted_agent"], json!(true));
    let many = zget(
        &app,
        &admin,
        &format!("/users/show_many.json?ids={},{}", carol.id, agent.id),
    )
    .await;
    assert_eq!(many.body["users"].as_array().unwrap().len(), 2);
    let memberships = zget(&app, &admin, "/organization_memberships.json").await;
    let m = memberships.body["organization_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == json!(carol.id))
        .cloned()
        .unwrap();
    assert_eq!(m["organization_id"], json!(org));
    let again = zget(
        &app,
        &admin,
        &format!("/users/{}/organization_memberships.json", carol.id),
    )
    .await;
    assert_eq!(
        again.body["organization_memberships"][0]["id"], m["id"],
        "stable ids"
    );
    let gm = zget(&app, &admin, "/group_memberships.json").await;
    assert!(
        gm.body["group_memberships"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user_id"] == json!(agent.id) && m["group_id"] == json!(group))
    );
    let statuses = zget(&app, &admin, "/custom_statuses.json").await;
    let responded = statuses.body["custom_statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["agent_label"] == json!("Customer Responded"))
        .cloned()
        .unwrap();
    assert_eq!(responded["status_category"], json!("open"));
    assert_eq!(responded["all_groups"], json!(true));
    // Directory lists are for staff.
    let refused = zget(&app, &carol, "/users.json").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn comment_files_download_through_content_url_under_the_policy(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let stranger = app.end_user(&[], UserAccess::Requested).await;
    let up = app
        .raw(
            |c, url| {
                c.post(url)
                    .bearer_auth(&admin.token)
                    .header("content-type", "text/plain")
                    .body("the log lines")
            },
            "/uploads?file_name=log.txt",
        )
        .await;
    let t = app
        .ticket(
            &admin.token,
            json!({"subject": "Logs", "description": "See attached", "requester_id": customer.id, "upload_tokens": [up.body["token"]]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let comments = zget(&app, &customer, &format!("/requests/{t}/comments.json")).await;
    let file = &comments.body["comments"][0]["attachments"][0];
    assert_eq!(file["file_name"], json!("log.txt"));
    let url = file["content_url"].as_str().unwrap();
    let path = url.strip_prefix(&app.base).unwrap();
    for (who, want) in [
        (&customer, StatusCode::OK),
        (&stranger, StatusCode::NOT_FOUND),
    ] {
        let got = app
            .raw_at(
                |c, url| {
                    c.get(url)
                        .basic_auth(format!("{}/token", who.email), Some(&who.token))
                },
                path,
            )
            .await;
        assert_eq!(got.status, want, "{path}");
    }
}

on_both_databases!(
    signs_in_with_zendesk_schemes_and_refuses_others,
    tickets_are_created_updated_and_commented_as_zendesk_clients_do,
    bad_updates_change_nothing_and_answer_in_zendesk_shapes,
    lists_page_by_cursor_and_by_offset_to_the_end,
    sharing_changes_only_through_the_workflow,
    end_users_use_the_requests_api_under_the_one_policy,
    search_and_incremental_export_reach_every_ticket_once,
    directory_reads_in_zendesk_shapes,
    comment_files_download_through_content_url_under_the_policy,
);
