//! HTML tests: admin_pages — deletions ask first and say what they will do, the user and
//! group lists search and page past 100, and the settings page shows the server's limits.

#[allow(unused_imports)]
use super::*;

/// The `href` of the first link with this `id`.
fn href_of(body: &str, id: &str) -> Option<String> {
    let at = body.find(&format!(r#"id="{id}""#))?;
    let start = body[..at].rfind("<a ")?;
    let tag = &body[start..body[start..].find('>')? + start];
    let h = tag.find("href=\"")? + "href=\"".len();
    Some(tag[h..h + tag[h..].find('"')?].replace("&#38;", "&"))
}

/// The rows of a table's body, as the text of each row's first link.
fn row_names(body: &str, table: &str) -> Vec<String> {
    let Some(at) = body.find(&format!(r#"<table id="{table}">"#)) else {
        return Vec::new();
    };
    let t = &body[at..at + body[at..].find("</table>").unwrap()];
    t.split("<tr><td><a href=\"")
        .skip(1)
        .map(|r| {
            let r = &r[r.find('>').unwrap() + 1..];
            r[..r.find("</a>").unwrap()].to_owned()
        })
        .collect()
}

async fn make_group(app: &TestApp, token: &str, name: &str, agents: &[i64]) -> i64 {
    let g = app
        .post(token, "/groups", json!({"name": name, "agent_ids": agents}))
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    g.body["id"].as_i64().unwrap()
}

async fn make_status(app: &TestApp, token: &str, name: &str, groups: &[i64]) -> i64 {
    let s = app
        .post(
            token,
            "/statuses",
            json!({"name": name, "category": "pending", "internal_group_ids": groups}),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    s.body["id"].as_i64().unwrap()
}

async fn deleting_a_group_asks_first_and_says_how_many_tickets_lose_their_owner(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let fiona = app.agent(TicketScope::Global, &[]).await;
    let finance = make_group(&app, &admin.token, "Finance", &[fiona.id]).await;
    let waiting = make_status(&app, &admin.token, "Waiting on Finance", &[finance]).await;
    // Two tickets Finance owns internally, one with Finance as its group.
    for _ in 0..2 {
        app.ticket(
            &admin.token,
            json!({"status_id": waiting, "internal_group_id": finance, "internal_agent_id": fiona.id}),
        )
        .await;
    }
    let grouped = app.ticket(&admin.token, json!({"group_id": finance})).await["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get(&format!("/admin/groups/{finance}")).await;
    let confirm_path = format!("/admin/groups/{finance}/delete");
    assert_eq!(
        href_of(&page.body, "delete-group").as_deref(),
        Some(confirm_path.as_str())
    );
    // The Delete link leads to a page that says what will happen, and changes nothing.
    let confirm = b.get(&confirm_path).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    for line in [
        "<h1>Delete group Finance?</h1>",
        "2 tickets lose their internal owner (Finance)",
        "1 ticket loses Finance as its group; assignees stay.",
        "1 member leaves the group; their account stays.",
        "1 status no longer maps Finance for internal ownership.",
        "This cannot be undone.",
    ] {
        assert!(confirm.body.contains(line), "{line}: {}", confirm.body);
    }
    assert_eq!(
        href_of(&confirm.body, "cancel-delete").as_deref(),
        Some(format!("/admin/groups/{finance}").as_str())
    );
    assert!(confirm.body.contains(&format!(
        r#"<form method="post" action="{confirm_path}" id="confirm-delete""#
    )));
    assert_eq!(
        app.get(&admin.token, &format!("/groups/{finance}"))
            .await
            .status,
        StatusCode::OK
    );
    // Agents cannot open it.
    let mut ab = Browser::new(&app);
    let sam = person(
        &app,
        UserIn {
            ticket_scope: Some(TicketScope::Global),
            ..user_in("Sam", Role::Agent)
        },
    )
    .await;
    ab.sign_in(&sam.email).await;
    assert_eq!(ab.get(&confirm_path).await.status, StatusCode::FORBIDDEN);
    // Confirming deletes: the counts were right.
    let done = b.post(&confirm_path, &[("_csrf", &confirm.csrf())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tickets WHERE internal_group_id IS NULL AND status_id = {waiting}"
        ))
        .await,
        2
    );
    let t = app.get(&admin.token, &format!("/tickets/{grouped}")).await;
    assert_eq!(t.body["group_id"], serde_json::Value::Null);
    // A group nothing refers to says so.
    let empty = make_group(&app, &admin.token, "Empty", &[]).await;
    let confirm = b.get(&format!("/admin/groups/{empty}/delete")).await;
    assert!(
        confirm
            .body
            .contains("No ticket has Empty as its group or internal group."),
        "{}",
        confirm.body
    );
    assert!(!confirm.body.contains("member"), "{}", confirm.body);
}

async fn deleting_a_status_says_how_many_tickets_move_to_open(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let fiona = app.agent(TicketScope::Global, &[]).await;
    let finance = make_group(&app, &admin.token, "Finance", &[fiona.id]).await;
    let waiting = make_status(&app, &admin.token, "Waiting on Finance", &[finance]).await;
    app.ticket(
        &admin.token,
        json!({"status_id": waiting, "internal_group_id": finance, "internal_agent_id": fiona.id}),
    )
    .await;
    for _ in 0..2 {
        app.ticket(&admin.token, json!({"status_id": waiting}))
            .await;
    }
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get(&format!("/admin/statuses/{waiting}")).await;
    let path = format!("/admin/statuses/{waiting}/delete");
    assert_eq!(
        href_of(&page.body, "delete-status").as_deref(),
        Some(path.as_str())
    );
    let confirm = b.get(&path).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    for line in [
        "<h1>Delete status Waiting on Finance?</h1>",
        "3 tickets in Waiting on Finance move to Open, recorded on each ticket&#39;s timeline.",
        "1 of them loses its internal owner: Open does not map its internal group.",
    ] {
        assert!(confirm.body.contains(line), "{line}: {}", confirm.body);
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tickets WHERE status_id = {waiting}"
        ))
        .await,
        3,
        "the page changed nothing"
    );
    let done = b.post(&path, &[("_csrf", &confirm.csrf())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let open = status_id(&app, &admin.token, "Open").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tickets WHERE status_id = {open} AND internal_group_id IS NULL"
        ))
        .await,
        3
    );
    // A built-in status cannot be deleted, and its page says so without a button.
    let builtin = b.get(&format!("/admin/statuses/{open}/delete")).await;
    assert_eq!(builtin.status, StatusCode::OK);
    assert!(
        builtin
            .body
            .contains("Open is built in: it cannot be deleted.")
    );
    assert!(!builtin.body.contains(r#"id="confirm-delete""#));
}

async fn deleting_an_agent_says_they_lose_access_and_their_tickets_stay(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let ada = person(
        &app,
        UserIn {
            ticket_scope: Some(TicketScope::Global),
            ..user_in("Ada", Role::Agent)
        },
    )
    .await;
    let finance = make_group(&app, &admin.token, "Finance", &[ada.id]).await;
    make_group(&app, &admin.token, "Billing", &[ada.id]).await;
    let waiting = make_status(&app, &admin.token, "Waiting on Finance", &[finance]).await;
    for _ in 0..3 {
        app.ticket(&admin.token, json!({"assignee_id": ada.id}))
            .await;
    }
    // Assignee and internal agent of the same ticket: counted once.
    app.ticket(
        &admin.token,
        json!({"assignee_id": ada.id, "status_id": waiting, "internal_group_id": finance, "internal_agent_id": ada.id}),
    )
    .await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get(&format!("/admin/users/{}", ada.id)).await;
    let path = format!("/admin/users/{}/delete", ada.id);
    assert_eq!(
        href_of(&page.body, "delete-user").as_deref(),
        Some(path.as_str())
    );
    let confirm = b.get(&path).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    for line in [
        "<h1>Delete Ada?</h1>",
        "Ada loses access: the account is suspended and cannot sign in, and 1 API token is deleted.",
        "Ada leaves Billing, Finance.",
        "Ada&#39;s 4 tickets stay and are unassigned from Ada (assignee of 4 tickets; internal agent of 1 ticket)",
    ] {
        assert!(confirm.body.contains(line), "{line}: {}", confirm.body);
    }
    let u = app.get(&admin.token, &format!("/users/{}", ada.id)).await;
    assert_eq!(u.body["suspended"], false, "the page changed nothing");
    let done = b.post(&path, &[("_csrf", &confirm.csrf())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tickets WHERE assignee_id = {0} OR internal_agent_id = {0}",
            ada.id
        ))
        .await,
        0
    );
    // End users are not deleted, and an admin does not delete themselves.
    let carla = customer(&app, &[]).await;
    let refused = b.get(&format!("/admin/users/{}/delete", carla.id)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("end users are suspended, not deleted")
    );
    let me = b.get(&format!("/admin/users/{}/delete", admin.id)).await;
    assert_eq!(me.status, StatusCode::FORBIDDEN);
}

async fn the_user_list_searches_by_name_or_email_and_pages_past_100(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    // The last person is in the 101st organization: named all the same.
    let mut last_org = 0;
    for i in 1..=101 {
        last_org = app
            .post(
                &admin.token,
                "/organizations",
                json!({"name": format!("Org {i:03}")}),
            )
            .await
            .body["id"]
            .as_i64()
            .unwrap();
    }
    for i in 1..=105 {
        let orgs: Vec<i64> = if i == 105 { vec![last_org] } else { vec![] };
        let r = app
            .post(
                &admin.token,
                "/users",
                json!({"name": format!("Person {i:03}"), "email": format!("p{i}@example.com"),
                       "organization_ids": orgs}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    // Everyone: 106 people (the admin and 105 customers), 100 on the first page.
    let first = b.get("/admin/users").await;
    let names = row_names(&first.body, "users");
    assert_eq!(names.len(), 100, "{names:?}");
    assert!(first.body.contains("Showing 1–100"));
    let next = first
        .body
        .split("rel=\"next\"")
        .next()
        .and_then(|b| b.rsplit("href=\"").next())
        .map(|h| h[..h.find('"').unwrap()].replace("&#38;", "&"));
    assert_eq!(next.as_deref(), Some("/admin/users?page=2"));
    let second = b.get("/admin/users?page=2").await;
    let rest = row_names(&second.body, "users");
    assert_eq!(rest.len(), 6, "{rest:?}");
    assert!(rest.contains(&"Person 105".to_owned()));
    assert!(
        second
            .body
            .contains("sees: Own requests; organizations: Org 101"),
        "{}",
        second.body
    );
    assert!(!second.body.contains("rel=\"next\""));
    assert!(
        second
            .body
            .contains(r#"<a href="/admin/users" rel="prev" id="pager-prev">"#)
    );
    // Case-insensitive, by name or by email.
    let found = b.get("/admin/users?q=PERSON+10").await;
    assert_eq!(
        row_names(&found.body, "users"),
        [
            "Person 100",
            "Person 101",
            "Person 102",
            "Person 103",
            "Person 104",
            "Person 105"
        ]
    );
    assert!(found.body.contains(r#"value="PERSON 10""#));
    let by_mail = b.get("/admin/users?q=P7%40EXAMPLE").await;
    assert_eq!(row_names(&by_mail.body, "users"), ["Person 007"]);
    // A wildcard is a character like any other.
    let none = b.get("/admin/users?q=%25").await;
    assert!(row_names(&none.body, "users").is_empty());
    assert!(
        none.body.contains("No one's name or email contains “%”."),
        "{}",
        none.body
    );
    // The role filter: agents and admins only; paging keeps the search and the filter.
    let staff = b.get("/admin/users?role=staff").await;
    assert_eq!(row_names(&staff.body, "users"), ["Boss"]);
    let customers = b.get("/admin/users?q=person&role=end_user").await;
    assert_eq!(row_names(&customers.body, "users").len(), 100);
    assert!(
        customers
            .body
            .contains(r#"href="/admin/users?q=person&#38;role=end_user&#38;page=2" rel="next""#),
        "{}",
        customers.body
    );
    let page2 = b.get("/admin/users?q=person&role=end_user&page=2").await;
    assert_eq!(row_names(&page2.body, "users").len(), 5);
    assert!(
        page2
            .body
            .contains(r#"<option value="end_user" selected>End users</option>"#)
    );
    // Roles read as words.
    assert!(page2.body.contains("<td>End user</td>"));
}

async fn the_group_list_searches_by_name_and_pages_past_100(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    for i in 1..=102 {
        make_group(&app, &admin.token, &format!("Team {i:03}"), &[]).await;
    }
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let first = b.get("/admin/groups").await;
    let names = row_names(&first.body, "groups");
    assert_eq!(names.len(), 100);
    assert_eq!(names[0], "Team 001");
    assert!(
        first
            .body
            .contains(r#"<a href="/admin/groups?page=2" rel="next" id="pager-next">"#)
    );
    let second = b.get("/admin/groups?page=2").await;
    assert_eq!(row_names(&second.body, "groups"), ["Team 101", "Team 102"]);
    let found = b.get("/admin/groups?q=team+10").await;
    assert_eq!(
        row_names(&found.body, "groups"),
        ["Team 100", "Team 101", "Team 102"]
    );
    assert!(!found.body.contains("rel=\"next\""));
    let none = b.get("/admin/groups?q=_").await;
    assert!(none.body.contains("No group's name contains “_”."));
}

async fn the_settings_page_shows_the_rate_limits_and_session_lifetimes_in_words(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/settings").await;
    // The test server runs without rate limits.
    for line in [
        "<h2 id=\"limits-title\">Limits and sessions</h2>",
        "API requests per API token or signed-in session: no limit (FERRODESK_RATE_PER_CREDENTIAL=0).",
        "Sign-in attempts per client address: no limit (FERRODESK_LOGIN_RATE_PER_ADDRESS=0).",
        "Open connections per client address: 256 (FERRODESK_MAX_CONNECTIONS_PER_ADDRESS); a client has 10 seconds to send a request&#39;s headers and may pause 30 seconds while sending a body.",
        "A browser session ends after 8 hours without use (FERRODESK_SESSION_IDLE_MINUTES), and after 14 days in any case.",
        "Set on the server's command line or environment (docs/operations.md); this page only shows them.",
    ] {
        assert!(page.body.contains(line), "{line}: {}", page.body);
    }
}

async fn the_settings_page_shows_configured_rate_limits(backend: ferrodesk_testkit::Backend) {
    let app = TestApp::spawn_with_limits(
        backend,
        ferrodesk_web::server::Limits {
            rates: ferrodesk_web::ratelimit::Rates {
                per_credential: 50,
                per_address: 60,
                logins_per_address_minute: 30,
            },
            ..Default::default()
        },
    )
    .await;
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/settings").await;
    for line in [
        "API requests per API token or signed-in session: 50 a second, in bursts of up to 100 (FERRODESK_RATE_PER_CREDENTIAL).",
        "API requests per client address: 60 a second, in bursts of up to 120 (FERRODESK_RATE_PER_ADDRESS).",
        "Sign-in attempts per client address: 30 a minute (FERRODESK_LOGIN_RATE_PER_ADDRESS).",
    ] {
        assert!(page.body.contains(line), "{line}: {}", page.body);
    }
}

mod limits {
    #[tokio::test]
    async fn sqlite_the_settings_page_shows_configured_rate_limits() {
        super::the_settings_page_shows_configured_rate_limits(ferrodesk_testkit::Backend::Sqlite)
            .await
    }

    #[tokio::test]
    async fn postgres_the_settings_page_shows_configured_rate_limits() {
        super::the_settings_page_shows_configured_rate_limits(ferrodesk_testkit::Backend::Postgres)
            .await
    }
}

on_both_databases!(
    deleting_a_group_asks_first_and_says_how_many_tickets_lose_their_owner,
    deleting_a_status_says_how_many_tickets_move_to_open,
    deleting_an_agent_says_they_lose_access_and_their_tickets_stay,
    the_user_list_searches_by_name_or_email_and_pages_past_100,
    the_group_list_searches_by_name_and_pages_past_100,
    the_settings_page_shows_the_rate_limits_and_session_lifetimes_in_words,
);
