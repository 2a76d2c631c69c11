//! HTML tests of the agent workspace: the timeline in people's words, the header's search box.

use super::*;

async fn the_timeline_names_people_organizations_and_rules_instead_of_numbers(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    let initech = organization(&app, "Initech").await;
    let globex = organization(&app, "Globex").await;
    let rule = app
        .post(
            &admin.token,
            "/rules",
            json!({"name": "Customer replies are urgent", "events": [{"type": "comment_added", "public": true}],
                   "performed_by": "end_user", "actions": [{"field": "priority", "value": "urgent"}]}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let carla = person(
        &app,
        UserIn {
            access: Some(UserAccess::Requested),
            organization_ids: vec![initech],
            name: "Carla Initech".into(),
            ..user_in("Carla", Role::EndUser)
        },
    )
    .await;
    let dan = person(
        &app,
        UserIn {
            access: Some(UserAccess::Requested),
            organization_ids: vec![initech, globex],
            name: "Dan Initech".into(),
            ..user_in("Dan", Role::EndUser)
        },
    )
    .await;
    let t = app
        .ticket(&a.token, json!({"requester_id": carla.id}))
        .await;
    let id = t["id"].as_i64().unwrap();
    let path = format!("/tickets/{id}");
    let r = app
        .patch(
            &a.token,
            &path,
            json!({"requester_id": dan.id, "organization_id": globex, "cc_ids": [carla.id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Dan answers: the rule makes the ticket urgent.
    let reply = app
        .post(
            &dan.token,
            &format!("/tickets/{id}/comments"),
            json!({"body": "Any news?"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let events = app.get(&a.token, &format!("{path}/events")).await.body;
    let by_rule = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actor"]["kind"] == "rule")
        .unwrap_or_else(|| panic!("a rule changed the ticket: {events}"))
        .clone();
    let rule_name = "Customer replies are urgent";
    assert_eq!(by_rule["actor"]["id"], rule.body["id"]);
    // The API says it in words too, next to the ids.
    assert_eq!(by_rule["actor"]["name"], rule_name);
    let changed = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "updated" && e["actor"]["kind"] == "user")
        .unwrap()
        .clone();
    let change = |field: &str| {
        changed["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {changed}"))
            .clone()
    };
    assert_eq!(
        (
            change("requester_id")["from_label"].clone(),
            change("requester_id")["to_label"].clone()
        ),
        (json!("Carla Initech"), json!("Dan Initech"))
    );
    assert_eq!(change("organization_id")["to_label"], "Globex");
    assert_eq!(change("cc_ids")["to_label"], "Carla Initech");

    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let page = b.get(&format!("/agent/tickets/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for words in [
        "Requester: Carla Initech → Dan Initech".to_owned(),
        "Organization: Initech → Globex".to_owned(),
        "CCs: none → Carla Initech".to_owned(),
        format!("The rule “{rule_name}”"),
        "Priority: Normal → Urgent".to_owned(),
    ] {
        assert!(page.body.contains(&words), "{words} in {}", page.body);
    }
    assert!(!page.body.contains("Rule 1"), "{}", page.body);
}

async fn every_signed_in_page_has_a_search_box_that_finds_tickets(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let id = app
        .ticket(
            &a.token,
            json!({"subject": "Toner smudges on invoices", "requester_id": c.id}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    for (who, pages) in [
        (
            &a,
            vec![
                "/agent/tickets".to_owned(),
                format!("/agent/tickets/{id}"),
                "/agent/organizations".to_owned(),
            ],
        ),
        (
            &c,
            vec!["/portal".to_owned(), format!("/portal/requests/{id}")],
        ),
    ] {
        let mut b = Browser::new(&app);
        b.sign_in(&who.email).await;
        for path in pages {
            let page = b.get(&path).await;
            assert!(
                page.body.contains(
                    r#"<form class="top-search" method="get" action="/search" role="search""#
                ) && page
                    .body
                    .contains(r#"<label for="top-q" class="sr-only">Search tickets</label>"#),
                "{path} has the search box"
            );
        }
        let found = b.get("/search?q=toner").await;
        assert!(
            found.body.contains("Toner smudges on invoices"),
            "{}",
            found.body
        );
    }
}

/// A missing ticket or page (a wrong id, a word for an id, an unknown address, a ticket
/// someone may not see) answers 404 inside the signed-in person's own frame: their role's
/// navigation and a link back to their list. Nobody signed in gets the plain page; the API
/// keeps its problem document.
async fn a_missing_page_keeps_the_navigation_and_a_way_back_to_the_list(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let other = customer(&app, &[]).await;
    let theirs = app
        .ticket(&other.token, json!({"subject": "Not yours"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    for (path, heading) in [
        ("/agent/tickets/999999", "No such ticket"),
        ("/agent/tickets/abc", "No such ticket"),
        ("/agent/nowhere", "No such page"),
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.body.contains(&format!("<h1>{heading}</h1>")),
            "{path}: {}",
            page.body
        );
        assert!(page.body.contains(r#"<nav aria-label="Main">"#), "{path}");
        assert!(
            page.body.contains(r#"<a href="/agent/tickets/new""#),
            "{path}: staff navigation"
        );
        assert!(
            page.body
                .contains(r#"<a href="/agent/tickets">Back to your tickets</a>"#),
            "{path}"
        );
        assert!(page.body.contains("Sign out"), "{path}");
    }
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    for (path, heading) in [
        ("/portal/tickets/999999".to_owned(), "No such page"),
        ("/portal/requests/999999".to_owned(), "No such request"),
        (format!("/portal/requests/{theirs}"), "No such request"),
    ] {
        let page = cb.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.body.contains(&format!("<h1>{heading}</h1>")),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body.contains(r#"<a href="/portal/requests/new""#),
            "{path}: portal navigation"
        );
        assert!(!page.body.contains(r#"href="/agent/tickets""#), "{path}");
        assert!(
            page.body
                .contains(r#"<a href="/portal">Back to your requests</a>"#),
            "{path}"
        );
    }
    // Nobody signed in: the plain page (no navigation) for an unknown address.
    let mut anon = Browser::new(&app);
    let page = anon.get("/nowhere").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("<h1>No such page</h1>"));
    assert!(!page.body.contains(r#"<nav aria-label="Main">"#));
    // The API still answers its problem document.
    let api = app.get(&a.token, "/nowhere").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.body["status"], 404, "{}", api.body);
}

on_both_databases!(
    a_missing_page_keeps_the_navigation_and_a_way_back_to_the_list,
    the_timeline_names_people_organizations_and_rules_instead_of_numbers,
    every_signed_in_page_has_a_search_box_that_finds_tickets,
);
