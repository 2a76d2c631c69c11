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

on_both_databases!(
    the_timeline_names_people_organizations_and_rules_instead_of_numbers,
    every_signed_in_page_has_a_search_box_that_finds_tickets,
);
