//! Browser scenarios: admin_rules — an admin builds a rule with the builder (no JSON typed),
//! reads the shared-ownership warning with group names, saves, simulates in names, and the
//! pages fit a phone.

#[allow(unused_imports)]
use super::*;

async fn select(b: &Browser, selector: &str, value: &str) {
    b.css(selector)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{selector} = {value}: {e}"));
}

async fn an_admin_builds_a_rule_sees_group_names_and_simulates(backend: Backend) {
    let s = Server::start(backend).await;
    let finance = s.id("/groups", json!({"name": "Finance"})).await;
    s.id("/groups", json!({"name": "Legal"})).await;
    let customer = s
        .id(
            "/users",
            json!({"name": "Carla Customer", "email": "carla@example.com"}),
        )
        .await;
    let ticket = s
        .id(
            "/tickets",
            json!({"subject": "Where is my refund?", "description": "Ordered in May.", "requester_id": customer}),
        )
        .await;
    let pending = s.status_id("Pending").await;
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"status_id": pending}),
    )
    .await;

    let b = Browser::start(&s.base).await;
    b.client
        .set_window_size(1280, 1900)
        .await
        .expect("desktop size");
    b.sign_in("boss@example.com").await;
    b.goto("/admin/rules").await;
    b.click("#new-rule").await;
    // Built with drop-downs and buttons only: no JSON typed.
    b.css("#name")
        .await
        .send_keys("Reopen and route to Finance")
        .await
        .unwrap();
    b.css("#position").await.send_keys("1").await.unwrap();
    select(&b, "#performed_by", "end_user").await;
    select(&b, "#ev0_kind", "comment_public").await;
    select(&b, "#act0_value", "Open").await;
    b.click("#rb-all-add").await;
    select(&b, "#all0_value", "Pending").await;
    b.click("#rb-actions-add").await;
    select(&b, "#act1_field", "group").await;
    b.click("#act1-refresh").await;
    wait_options(&b, "#act1_value", |o| {
        o.iter()
            .any(|(v, l)| *v == finance.to_string() && l == "Finance")
    })
    .await;
    b.css("#act1_value")
        .await
        .select_by_label("Finance")
        .await
        .unwrap();
    assert_eq!(
        value_of(&b, "#name").await,
        "Reopen and route to Finance",
        "the rows' submits kept the name"
    );
    b.click("#rule-save").await;
    let warning = b.css("#rule-warnings").await.text().await.unwrap();
    assert!(
        warning.contains("Setting the status to Open removes the internal owner")
            && warning.contains("Finance, Legal"),
        "{warning}"
    );
    assert!(!warning.contains(&finance.to_string()), "no ids: {warning}");
    b.screenshot(&format!("rule_builder_warning_{backend:?}").to_lowercase())
        .await;
    b.click("#rule-confirm").await;
    wait_notice(&b, "Rule created.").await;
    let summary = b.css("#rule-summary").await.text().await.unwrap();
    assert_eq!(
        summary,
        "When a public comment is added by the customer, if Status is Pending → set Status to Open, set Group to Finance"
    );
    let rules = s.api("GET", "/rules", Value::Null).await;
    let rule = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Reopen and route to Finance")
        .expect("saved")
        .clone();
    assert_eq!(
        rule["actions"],
        json!([{"field": "status", "value": "Open"}, {"field": "group", "value": finance}])
    );
    let id = rule["id"].as_i64().unwrap();
    b.screenshot(&format!("rule_builder_saved_{backend:?}").to_lowercase())
        .await;

    // Simulate: the ticket is Pending; a customer's public reply.
    b.goto("/admin/rules").await;
    assert!(
        b.text().await.contains(&summary),
        "the list says the rule in words"
    );
    b.css("#sim_ticket")
        .await
        .send_keys(&ticket.to_string())
        .await
        .unwrap();
    select(&b, "#sim_event", "comment_public").await;
    select(&b, "#sim_by", "end_user").await;
    b.click("#simulate-run").await;
    let result = b.css("#simulation").await.text().await.unwrap();
    assert!(result.contains("Reopen and route to Finance"), "{result}");
    assert!(result.contains("Status: Pending → Open"), "{result}");
    assert!(result.contains("Group: none → Finance"), "{result}");
    b.screenshot(&format!("rule_simulation_{backend:?}").to_lowercase())
        .await;

    // Every rules page passes axe-core, the builder with an error too.
    let axe = axe_source();
    let mut problems = Vec::new();
    for path in [
        format!("/admin/rules/{id}"),
        format!("/admin/rules/{id}?view=json"),
        format!("/admin/rules/{id}/delete"),
        "/admin/rules/new".to_owned(),
    ] {
        b.goto(&path).await;
        b.css("main h1").await;
        for v in axe_violations(&b, &axe).await {
            problems.push(format!("{path}: {v}"));
        }
    }
    b.goto("/admin/rules/new").await;
    b.click("#rule-save").await;
    b.css("#act0-error").await;
    for v in axe_violations(&b, &axe).await {
        problems.push(format!("builder with an error: {v}"));
    }
    assert!(problems.is_empty(), "accessibility: {problems:#?}");

    // On a phone, the rule pages fit the screen.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    let mut too_wide = Vec::new();
    for (path, shot) in [
        (format!("/admin/rules/{id}"), Some("builder")),
        ("/admin/rules/new".to_owned(), None),
        (format!("/admin/rules/{id}?view=json"), None),
        (format!("/admin/rules/{id}/delete"), None),
        ("/admin/rules".to_owned(), Some("list")),
    ] {
        b.goto(&path).await;
        b.css("main h1").await;
        let (fits, scroll, inner) = fits_width(&b).await;
        assert!(inner <= 400, "the window is phone-sized: {inner}");
        if !fits {
            too_wide.push(format!("{path}: {scroll}px in {inner}px"));
        }
        if let Some(name) = shot {
            if name == "builder" {
                eval(
                    &b,
                    "document.querySelector('#rb-all').scrollIntoView(); return null;",
                )
                .await;
            }
            b.screenshot(&format!("phone_rule_{name}_{backend:?}").to_lowercase())
                .await;
        }
    }
    assert!(too_wide.is_empty(), "wider than a phone: {too_wide:#?}");

    // Deleting asks first, saying what it does.
    b.goto(&format!("/admin/rules/{id}")).await;
    b.click("#rule-delete").await;
    let effect = b.css("#delete-effect").await.text().await.unwrap();
    assert!(
        effect.contains("tickets keep what it already changed"),
        "{effect}"
    );
    b.click("#delete-confirm").await;
    wait_notice(&b, "Rule deleted.").await;
    assert!(!b.text().await.contains("Reopen and route to Finance"));
    b.close().await;
}

on_both_databases!(an_admin_builds_a_rule_sees_group_names_and_simulates);
