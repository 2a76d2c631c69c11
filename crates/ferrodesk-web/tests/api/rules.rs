//! Automation rules (SPEC §5): events, conditions, actions, passes, loops, the guard that
//! keeps shared ownership, simulation, and the default "Customer replied" rules.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

async fn rule(app: &TestApp, admin: &TestUser, body: Value) -> Value {
    let a = app.post(&admin.token, "/rules", body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body
}

/// A rule that tags the ticket when `events` happen (and `conditions` hold).
fn tagger(tag: &str, events: Value, performed_by: &str, conditions: Value) -> Value {
    json!({"name": format!("tag {tag}"), "events": events, "performed_by": performed_by, "conditions": conditions,
           "actions": [{"field": "add_tags", "value": [tag]}]})
}

async fn tags(app: &TestApp, admin: &TestUser, t: i64) -> Vec<String> {
    let body = app.get(&admin.token, &format!("/tickets/{t}")).await.body;
    body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn rules_are_validated_field_by_field(app: TestApp) {
    let admin = app.admin().await;
    let bad = app
        .post(&admin.token, "/rules", json!({
            "name": "Broken", "events": [{"type": "field_changed", "field": "colour"}],
            "conditions": {"all": [{"field": "status", "operator": "contains", "value": "Open"},
                                   {"field": "moon", "operator": "is", "value": 1},
                                   {"field": "group", "operator": "is", "value": "Finance"}],
                           "any": [{"field": "status", "operator": "is", "value": "Nope"}]},
            "actions": [{"field": "status", "value": "Nowhere"}, {"field": "internal_group", "value": 4242}, {"field": "teleport", "value": 1}]}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let got: Vec<(String, String)> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("events[0].field", "unknown_field"),
        ("conditions.all[0].operator", "invalid_operator"),
        ("conditions.all[1].field", "unknown_field"),
        ("conditions.all[2].value", "invalid_value"),
        ("conditions.any[0].value", "not_found"),
        ("actions[0].value", "not_found"),
        ("actions[1].value", "not_found"),
        ("actions[2].field", "unknown_field"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    let shape = app
        .post(
            &admin.token,
            "/rules",
            json!({"name": "x", "events": [{"type": "moon_landing"}], "actions": []}),
        )
        .await;
    assert_eq!(shape.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(shape.body["errors"][0]["field"], "events[0].type");
    let list = app.get(&admin.token, "/rules").await.body;
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "only the two default rules exist"
    );
    let agent = app.agent(TicketScope::Global, &[]).await;
    assert_eq!(
        app.post(
            &agent.token,
            "/rules",
            tagger(
                "x",
                json!([{"type": "ticket_created"}]),
                "anyone",
                json!({})
            )
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

async fn every_event_type_fires_its_rules(app: TestApp) {
    let admin = app.admin().await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    for (tag, events) in [
        ("created", json!([{"type": "ticket_created"}])),
        (
            "to-pending",
            json!([{"type": "field_changed", "field": "status", "from": "Open", "to": "Pending"}]),
        ),
        (
            "to-open",
            json!([{"type": "field_changed", "field": "status", "to": "Open"}]),
        ),
        ("public", json!([{"type": "comment_added", "public": true}])),
        (
            "private",
            json!([{"type": "comment_added", "public": false}]),
        ),
        ("assigned", json!([{"type": "assignment_changed"}])),
        ("internal", json!([{"type": "internal_assignment_changed"}])),
    ] {
        rule(&app, &admin, tagger(tag, events, "anyone", json!({}))).await;
    }
    let t = app.ticket(&admin.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        tags(&app, &admin, t).await,
        vec!["created", "public"],
        "created with a public description"
    );
    app.patch(
        &admin.token,
        &format!("/tickets/{t}"),
        json!({"status": "Pending"}),
    )
    .await;
    assert!(tags(&app, &admin, t).await.contains(&"to-pending".into()));
    assert!(!tags(&app, &admin, t).await.contains(&"to-open".into()));
    app.post(
        &admin.token,
        &format!("/tickets/{t}/comments"),
        json!({"body": "note", "public": false}),
    )
    .await;
    assert!(tags(&app, &admin, t).await.contains(&"private".into()));
    app.patch(
        &admin.token,
        &format!("/tickets/{t}"),
        json!({"group_id": finance}),
    )
    .await;
    assert!(tags(&app, &admin, t).await.contains(&"assigned".into()));
    app.patch(
        &admin.token,
        &format!("/tickets/{t}"),
        json!({"status": "Customer Responded", "internal_group_id": finance}),
    )
    .await;
    assert!(tags(&app, &admin, t).await.contains(&"internal".into()));
}

async fn conditions_and_performed_by_decide_whether_a_rule_fires(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let any = json!([{"type": "comment_added"}]);
    rule(
        &app,
        &admin,
        tagger("by-customer", any.clone(), "end_user", json!({})),
    )
    .await;
    rule(
        &app,
        &admin,
        tagger("by-agent", any.clone(), "agent", json!({})),
    )
    .await;
    rule(&app, &admin, tagger("urgent-printer", any.clone(), "anyone", json!({"all": [{"field": "priority", "operator": "is", "value": "urgent"}, {"field": "subject", "operator": "contains", "value": "PRINTER"}]}))).await;
    rule(
        &app,
        &admin,
        tagger(
            "no-assignee",
            any.clone(),
            "anyone",
            json!({"all": [{"field": "assignee", "operator": "is", "value": null}]}),
        ),
    )
    .await;
    rule(
        &app,
        &admin,
        tagger(
            "not-vip",
            any.clone(),
            "anyone",
            json!({"all": [{"field": "tags", "operator": "not_includes", "value": "vip"}]}),
        ),
    )
    .await;
    rule(&app, &admin, tagger("either", any.clone(), "anyone", json!({"any": [{"field": "status", "operator": "is", "value": "Closed"}, {"field": "description", "operator": "contains", "value": "smokes"}]}))).await;
    rule(
        &app,
        &admin,
        tagger(
            "never",
            any,
            "anyone",
            json!({"all": [{"field": "subject", "operator": "not_contains", "value": "printer"}]}),
        ),
    )
    .await;
    let t = app
        .ticket(&customer.token, json!({"subject": "Printer on fire"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let got = tags(&app, &admin, t).await;
    assert_eq!(
        got,
        vec!["by-customer", "either", "no-assignee", "not-vip"],
        "the customer's description"
    );
    app.patch(
        &admin.token,
        &format!("/tickets/{t}"),
        json!({"priority": "urgent", "tags": ["vip"]}),
    )
    .await;
    app.post(
        &admin.token,
        &format!("/tickets/{t}/comments"),
        json!({"body": "on it"}),
    )
    .await;
    let got = tags(&app, &admin, t).await;
    assert_eq!(
        got,
        vec!["by-agent", "either", "no-assignee", "urgent-printer", "vip"]
    );
}

async fn every_action_applies_through_the_validated_path(app: TestApp) {
    let admin = app.admin().await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let field = app.post(&admin.token, "/ticket-fields", json!({"key": "region", "title": "Region", "field_type": "dropdown", "options": ["EU", "US"]})).await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.body);
    let r = rule(&app, &admin, json!({
        "name": "Route refunds", "events": [{"type": "ticket_created"}],
        "conditions": {"all": [{"field": "subject", "operator": "contains", "value": "refund"}]},
        "actions": [
            {"field": "status", "value": "Customer Responded"}, {"field": "priority", "value": "high"},
            {"field": "group", "value": finance}, {"field": "assignee", "value": admin.id},
            {"field": "internal_group", "value": finance}, {"field": "internal_agent", "value": admin.id},
            {"field": "add_tags", "value": ["refund", "money"]}, {"field": "remove_tags", "value": "money"},
            {"field": "add_note", "value": "Routed to Finance by rule"},
            {"field": "notify", "value": {"to": "address", "address": "finance@example.com", "message": "New refund"}},
            {"field": "custom_field:region", "value": "EU"}]})).await;
    let id = r["id"].as_i64().unwrap();
    let t = app
        .ticket(&admin.token, json!({"subject": "Refund please"}))
        .await;
    assert_eq!(t["status"], "Customer Responded");
    assert_eq!(
        (
            t["priority"].as_str(),
            t["group_id"].as_i64(),
            t["assignee_id"].as_i64()
        ),
        (Some("high"), Some(finance), Some(admin.id))
    );
    assert_eq!(
        (
            t["internal_group_id"].as_i64(),
            t["internal_agent_id"].as_i64()
        ),
        (Some(finance), Some(admin.id))
    );
    assert_eq!(t["tags"], json!(["refund"]));
    assert_eq!(t["custom_fields"]["region"], "EU");
    let tid = t["id"].as_i64().unwrap();
    let comments = app
        .get(&admin.token, &format!("/tickets/{tid}/comments"))
        .await
        .body;
    let note = comments["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            note["body"].as_str(),
            note["public"].as_bool(),
            note["author_name"].as_str()
        ),
        (
            Some("Routed to Finance by rule"),
            Some(false),
            Some("Ferrodesk")
        )
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM jobs WHERE payload LIKE '%finance@example.com%'")
            .await,
        1
    );
    let events = app
        .get(&admin.token, &format!("/tickets/{tid}/events"))
        .await
        .body;
    let by_rule = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actor"]["kind"] == "rule")
        .unwrap()
        .clone();
    assert_eq!(
        (by_rule["actor"]["id"].as_i64(), by_rule["reason"].as_str()),
        (Some(id), Some(format!("rule:{id}").as_str()))
    );
}

async fn chains_run_across_passes_and_a_two_rule_cycle_is_stopped_and_reported(app: TestApp) {
    let admin = app.admin().await;
    rule(&app, &admin, json!({"name": "Escalate VIP", "events": [{"type": "ticket_created"}], "conditions": {"all": [{"field": "subject", "operator": "contains", "value": "vip"}]}, "actions": [{"field": "priority", "value": "urgent"}]})).await;
    rule(&app, &admin, json!({"name": "Tag urgent", "events": [{"type": "field_changed", "field": "priority", "to": "urgent"}], "performed_by": "system", "actions": [{"field": "add_tags", "value": "escalated"}]})).await;
    let t = app
        .ticket(&admin.token, json!({"subject": "VIP outage"}))
        .await;
    assert_eq!(
        (t["priority"].as_str(), t["tags"].clone()),
        (Some("urgent"), json!(["escalated"])),
        "the second rule reacted to the first"
    );

    let a = rule(&app, &admin, json!({"name": "A", "events": [{"type": "field_changed", "field": "status", "to": "Pending"}], "actions": [{"field": "status", "value": "Open"}]})).await;
    let b = rule(&app, &admin, json!({"name": "B", "events": [{"type": "field_changed", "field": "status", "to": "Open"}], "actions": [{"field": "status", "value": "Pending"}]})).await;
    let t = app.ticket(&admin.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let p = app
        .patch(
            &admin.token,
            &format!("/tickets/{t}"),
            json!({"status": "Pending"}),
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::OK,
        "a loop does not fail the change: {}",
        p.body
    );
    assert_eq!(
        p.body["status"], "Pending",
        "A reopened it, B set it back, A was stopped"
    );
    let events = app
        .get(&admin.token, &format!("/tickets/{t}/events"))
        .await
        .body;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "rules_stopped");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains(&a["id"].to_string()),
        "{last}"
    );
    let _ = b;
}

async fn the_default_rule_keeps_shared_ownership_when_the_customer_replies(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let waiting = app.post(&admin.token, "/statuses", json!({"name": "Waiting on Finance", "category": "pending", "internal_group_ids": [finance]})).await.body["id"].as_i64().unwrap();
    let shared = app.ticket(&admin.token, json!({"requester_id": customer.id, "status_id": waiting, "internal_group_id": finance, "internal_agent_id": admin.id})).await["id"].as_i64().unwrap();
    app.post(
        &customer.token,
        &format!("/tickets/{shared}/comments"),
        json!({"body": "Any news?"}),
    )
    .await;
    let t = app
        .get(&admin.token, &format!("/tickets/{shared}"))
        .await
        .body;
    assert_eq!(
        (
            t["status"].as_str(),
            t["internal_group_id"].as_i64(),
            t["internal_agent_id"].as_i64()
        ),
        (Some("Customer Responded"), Some(finance), Some(admin.id))
    );
    let plain = app
        .ticket(
            &admin.token,
            json!({"requester_id": customer.id, "status": "Pending"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.post(
        &customer.token,
        &format!("/tickets/{plain}/comments"),
        json!({"body": "Here it is"}),
    )
    .await;
    assert_eq!(
        app.get(&admin.token, &format!("/tickets/{plain}"))
            .await
            .body["status"],
        "Open"
    );
    app.post(
        &admin.token,
        &format!("/tickets/{plain}/comments"),
        json!({"body": "thanks"}),
    )
    .await;
    let resolved = app
        .patch(
            &admin.token,
            &format!("/tickets/{plain}"),
            json!({"status": "Resolved"}),
        )
        .await;
    assert_eq!(
        resolved.body["status"], "Resolved",
        "an agent's reply does not reopen"
    );
}

async fn a_rule_that_sets_open_removes_shared_ownership_with_its_reason_and_warns_on_save(
    app: TestApp,
) {
    let admin = app.admin().await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let reopen = json!({"name": "Reopen on reply", "events": [{"type": "comment_added", "public": true}], "actions": [{"field": "status", "value": "Open"}]});
    let checked = app.post(&admin.token, "/rules/check", reopen.clone()).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(
        checked.body[0]["code"], "removes_shared_ownership",
        "the warning is known before saving"
    );
    assert_eq!(
        app.get(&admin.token, "/rules")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2,
        "checking saved nothing"
    );
    let saved = rule(&app, &admin, reopen.clone()).await;
    assert_eq!(saved["warnings"][0]["code"], "removes_shared_ownership");
    assert_eq!(saved["warnings"][0]["group_ids"], json!([finance]));
    let id = saved["id"].as_i64().unwrap();
    let t = app.ticket(&admin.token, json!({"status": "Customer Responded", "internal_group_id": finance, "internal_agent_id": admin.id})).await["id"].as_i64().unwrap();
    let agent = app.agent(TicketScope::Global, &[]).await;
    app.post(
        &agent.token,
        &format!("/tickets/{t}/comments"),
        json!({"body": "reply"}),
    )
    .await;
    let now = app.get(&admin.token, &format!("/tickets/{t}")).await.body;
    assert_eq!(
        (now["status"].as_str(), now["internal_group_id"].clone()),
        (Some("Open"), json!(null))
    );
    let events = app
        .get(&admin.token, &format!("/tickets/{t}/events"))
        .await
        .body;
    let removal = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["actor"]["kind"] == "rule")
        .unwrap()
        .clone();
    assert_eq!(removal["reason"], format!("rule:{id}"));
    assert!(removal["changes"].as_array().unwrap().contains(
        &json!({"field": "internal_group_id", "from": finance, "from_label": "Finance", "to": null})
    ));
    let mut guarded = reopen;
    guarded["conditions"] =
        json!({"all": [{"field": "internal_group", "operator": "is", "value": null}]});
    let fixed = app
        .patch(&admin.token, &format!("/rules/{id}"), guarded)
        .await;
    assert_eq!(
        fixed.body["warnings"],
        json!([]),
        "no warning once internal-group tickets are excluded"
    );
}

async fn simulate_shows_the_changes_and_writes_nothing(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let t = app
        .ticket(
            &admin.token,
            json!({"requester_id": customer.id, "status": "Pending"}),
        )
        .await;
    let id = t["id"].as_i64().unwrap();
    let audit_before = app.app.verify_audit(&[]).await.unwrap().unwrap();
    let sim = app.post(&admin.token, "/rules/simulate", json!({"ticket_id": id, "event": {"type": "comment_added", "public": true}, "performed_by": "end_user"})).await;
    assert_eq!(sim.status, StatusCode::OK, "{}", sim.body);
    assert_eq!(sim.body["runs"].as_array().unwrap().len(), 1);
    assert_eq!(sim.body["runs"][0]["rule_name"], "Customer replied");
    assert!(
        sim.body["runs"][0]["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "status_id", "from": 2, "to": 1}))
    );
    let after = app.get(&admin.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(
        (after["status"].as_str(), after["version"].as_i64()),
        (Some("Pending"), t["version"].as_i64())
    );
    assert_eq!(
        app.app.verify_audit(&[]).await.unwrap().unwrap(),
        audit_before,
        "no audit event was written"
    );
    let by_agent = app
        .post(
            &admin.token,
            "/rules/simulate",
            json!({"ticket_id": id, "event": {"type": "comment_added", "public": true}}),
        )
        .await;
    assert_eq!(
        by_agent.body["runs"],
        json!([]),
        "performed_by is honoured in simulation too"
    );
}

on_both_databases!(
    rules_are_validated_field_by_field,
    every_event_type_fires_its_rules,
    conditions_and_performed_by_decide_whether_a_rule_fires,
    every_action_applies_through_the_validated_path,
    chains_run_across_passes_and_a_two_rule_cycle_is_stopped_and_reported,
    the_default_rule_keeps_shared_ownership_when_the_customer_replies,
    a_rule_that_sets_open_removes_shared_ownership_with_its_reason_and_warns_on_save,
    simulate_shows_the_changes_and_writes_nothing,
);
