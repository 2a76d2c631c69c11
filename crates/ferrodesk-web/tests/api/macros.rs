//! Macros (canned responses): who sees and changes them, and what a macro may hold.

use ferrodesk_core::TicketScope;
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

fn names(a: &ferrodesk_testkit::Answer) -> Vec<String> {
    a.body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn macros_are_personal_group_or_everyone_like_views(app: TestApp) {
    let admin = app.admin().await;
    let billing = app
        .post(&admin.token, "/groups", json!({"name": "Billing"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let ann = app.agent(TicketScope::Global, &[billing]).await;
    let bob = app.agent(TicketScope::Global, &[]).await;

    let mine = app
        .post(
            &ann.token,
            "/macros",
            json!({"name": "Ask for invoice", "body": "Could you send the invoice number?"}),
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.body);
    assert_eq!(mine.body["visibility"], "personal");
    assert_eq!(mine.body["owner_id"], ann.id);
    assert_eq!(mine.body["public"], true);
    assert_eq!(mine.body["editable"], true);
    let mine = mine.body["id"].as_i64().unwrap();
    let group = app
        .post(
            &ann.token,
            "/macros",
            json!({"name": "Refund done", "body": "Refunded.", "visibility": "group", "group_id": billing}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    let group = group.body["id"].as_i64().unwrap();
    // Only admins share with everyone.
    let refused = app
        .post(
            &ann.token,
            "/macros",
            json!({"name": "Hello", "body": "Hi!", "visibility": "everyone"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.error_fields(), vec!["visibility"]);
    let everyone = app
        .post(
            &admin.token,
            "/macros",
            json!({"name": "Hello", "body": "Hi!", "visibility": "everyone"}),
        )
        .await;
    assert_eq!(everyone.status, StatusCode::CREATED, "{}", everyone.body);
    let everyone = everyone.body["id"].as_i64().unwrap();

    assert_eq!(
        names(&app.get(&ann.token, "/macros").await),
        vec!["Ask for invoice", "Hello", "Refund done"]
    );
    assert_eq!(names(&app.get(&bob.token, "/macros").await), vec!["Hello"]);
    // Another agent's personal macro, or a group's they are not in, does not exist for them.
    for id in [mine, group] {
        let path = format!("/macros/{id}");
        assert_eq!(
            app.get(&bob.token, &path).await.status,
            StatusCode::NOT_FOUND
        );
        let patch = app
            .patch(&bob.token, &path, json!({"name": "Mine now"}))
            .await;
        assert_eq!(patch.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.delete(&bob.token, &path).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // Everyone's macro: used by all, changed by admins only.
    let hello = app.get(&bob.token, &format!("/macros/{everyone}")).await;
    assert_eq!(hello.body["editable"], false);
    let patch = app
        .patch(
            &bob.token,
            &format!("/macros/{everyone}"),
            json!({"body": "Yo"}),
        )
        .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN);
    assert_eq!(patch.body["code"], "macro_not_editable");
    assert_eq!(
        app.get(&bob.token, &format!("/macros/{everyone}"))
            .await
            .body["body"],
        "Hi!"
    );
    // An end user has no macros.
    let customer = app
        .end_user(&[], ferrodesk_core::UserAccess::Requested)
        .await;
    assert_eq!(
        app.get(&customer.token, "/macros").await.status,
        StatusCode::FORBIDDEN
    );

    // The owner changes and deletes their own; the change is on the audit trail.
    let changed = app
        .patch(
            &ann.token,
            &format!("/macros/{mine}"),
            json!({"public": false, "set_priority": "high", "add_tags": ["Invoice", "billing"]}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["name"], "Ask for invoice");
    assert_eq!(changed.body["public"], false);
    assert_eq!(changed.body["set_priority"], "high");
    assert_eq!(changed.body["add_tags"], json!(["billing", "invoice"]));
    let cleared = app
        .patch(
            &ann.token,
            &format!("/macros/{mine}"),
            json!({"set_priority": null}),
        )
        .await;
    assert_eq!(cleared.body["set_priority"], json!(null));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'macro' AND entity_id = {mine}"
        ))
        .await,
        3
    );
    assert_eq!(
        app.delete(&ann.token, &format!("/macros/{mine}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&ann.token, &format!("/macros/{mine}")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn invalid_macros_are_refused_naming_each_field(app: TestApp) {
    let admin = app.admin().await;
    let finance = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let legal = app
        .post(&admin.token, "/groups", json!({"name": "Legal"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let waiting = app
        .post(&admin.token, "/statuses", json!({"name": "Waiting on Finance", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance]}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let a = app.agent(TicketScope::Global, &[]).await;

    let empty = app.post(&a.token, "/macros", json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.error_fields(), vec!["name", "body"]);

    let bad = app
        .post(
            &a.token,
            "/macros",
            json!({
                "name": "x".repeat(101),
                "body": "b".repeat(65_537),
                "set_status_id": 999_999,
                "set_priority": "asap",
                "set_group_id": 999_998,
                "add_tags": ["two words"],
            }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.error_fields(),
        vec![
            "name",
            "body",
            "set_status_id",
            "set_priority",
            "set_group_id",
            "add_tags[0]"
        ]
    );
    assert_eq!(
        bad.body["errors"][2]["message"],
        "status 999999 does not exist"
    );

    // The internal group must be mapped to the status the macro sets, as on a ticket.
    let unmapped = app
        .post(
            &a.token,
            "/macros",
            json!({"name": "To legal", "body": "Passing on.", "set_status_id": waiting, "set_internal_group_id": legal}),
        )
        .await;
    assert_eq!(unmapped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unmapped.error_fields(), vec!["set_internal_group_id"]);
    assert_eq!(
        unmapped.body["errors"][0]["message"],
        "status Waiting on Finance allows these internal groups: Finance"
    );
    // A group macro needs a group of the agent's own.
    let not_mine = app
        .post(
            &a.token,
            "/macros",
            json!({"name": "Team", "body": "Hi", "visibility": "group", "group_id": finance}),
        )
        .await;
    assert_eq!(not_mine.error_fields(), vec!["group_id"]);
    let no_such_group = app
        .post(
            &admin.token,
            "/macros",
            json!({"name": "Team", "body": "Hi", "visibility": "group", "group_id": 999_997}),
        )
        .await;
    assert_eq!(no_such_group.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_such_group.error_fields(), vec!["group_id"]);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM macros").await, 0);

    let ok = app
        .post(
            &a.token,
            "/macros",
            json!({"name": "To finance", "body": "Passing on.", "set_status_id": waiting, "set_internal_group_id": finance}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

on_both_databases!(
    macros_are_personal_group_or_everyone_like_views,
    invalid_macros_are_refused_naming_each_field,
);
