use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

async fn a_new_ticket_has_its_description_as_first_comment_and_an_etag(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let a = app
        .post(&agent.token, "/tickets", json!({"subject": " Printer on fire ", "description": "It smokes.", "requester_id": customer.id, "priority": "high", "tags": ["Hardware"]}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.headers["etag"], "\"1\"");
    assert_eq!(a.body["subject"], "Printer on fire");
    assert_eq!(
        (a.body["status"].as_str(), a.body["priority"].as_str()),
        (Some("Open"), Some("high"))
    );
    assert_eq!(a.body["requester_id"], customer.id);
    assert_eq!(a.body["tags"], json!(["hardware"]));
    let id = a.body["id"].as_i64().unwrap();
    let comments = app
        .get(&customer.token, &format!("/tickets/{id}/comments"))
        .await;
    assert_eq!(comments.body["items"][0]["body"], "It smokes.");
    assert_eq!(comments.body["items"][0]["author_id"], agent.id);
    assert_eq!(comments.body["items"][0]["public"], true);
}

async fn the_ticket_list_pages_with_a_cursor_and_counts_match(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.ticket(&agent.token, json!({})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    ids.reverse();
    let first = app.get(&agent.token, "/tickets?limit=2").await;
    assert_eq!(first.ids(), ids[0..2]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(&agent.token, &format!("/tickets?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second.ids(), ids[2..4]);
    let third = app
        .get(
            &agent.token,
            &format!(
                "/tickets?limit=2&cursor={}",
                second.body["next_cursor"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(third.ids(), ids[4..5]);
    assert_eq!(third.body["next_cursor"], json!(null));
    assert_eq!(
        app.get(&agent.token, "/tickets/count").await.body["count"],
        5
    );
    let bad = app.get(&agent.token, "/tickets?limit=1000").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "limit");
    assert_eq!(
        app.get(&agent.token, "/tickets?cursor=abc").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get(&agent.token, "/tickets?colour=red").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn a_stale_patch_gets_412_and_loses_nothing(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let t = app.ticket(&agent.token, json!({})).await;
    let path = format!("/tickets/{}", t["id"]);
    let first = app
        .patch_if(&agent.token, &path, 1, json!({"priority": "urgent"}))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["version"], 2);
    assert_eq!(first.headers["etag"], "\"2\"");
    let stale = app
        .patch_if(
            &agent.token,
            &path,
            1,
            json!({"priority": "low", "subject": "Overwritten"}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.body["code"], "stale_version");
    let now = app.get(&agent.token, &path).await;
    assert_eq!(
        (
            now.body["priority"].as_str(),
            now.body["subject"].as_str(),
            now.body["version"].as_i64()
        ),
        (Some("urgent"), Some("Printer on fire"), Some(2))
    );
    let same = app
        .patch_if(&agent.token, &path, 2, json!({"priority": "urgent"}))
        .await;
    assert_eq!(
        same.body["version"], 2,
        "a write that changes nothing does not bump the version"
    );
    let bad = app
        .raw(
            |c, url| {
                c.patch(url)
                    .bearer_auth(&agent.token)
                    .header("If-Match", "yesterday")
                    .json(&json!({}))
            },
            &path,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn invalid_ticket_input_is_refused_field_by_field_and_changes_nothing(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let a = app.post(&agent.token, "/tickets", json!({"subject": "", "description": "", "requester_id": 999999, "status": "Nope", "tags": ["two words"]})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = a.error_fields();
    for f in [
        "subject",
        "description",
        "requester_id",
        "status",
        "tags[0]",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
    }
    let missing = app
        .post(&agent.token, "/tickets", json!({"subject": "x"}))
        .await;
    assert_eq!(missing.body["errors"][0]["field"], "description");
    assert_eq!(missing.body["errors"][0]["code"], "required");
    let t = app.ticket(&agent.token, json!({})).await;
    let path = format!("/tickets/{}", t["id"]);
    let p = app
        .patch(
            &agent.token,
            &path,
            json!({"priority": "whenever", "subject": "ok"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p.body["errors"][0]["field"], "priority");
    let p = app
        .patch(
            &agent.token,
            &path,
            json!({"subject": "New", "assignee_id": 424242}),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let now = app.get(&agent.token, &path).await;
    assert_eq!(
        (now.body["subject"].as_str(), now.body["version"].as_i64()),
        (Some("Printer on fire"), Some(1))
    );
    assert_eq!(
        app.get(&agent.token, "/tickets/count").await.body["count"],
        1
    );
}

async fn end_users_never_receive_private_notes_or_internal_fields(app: TestApp) {
    let admin = app.admin().await;
    let group = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let t = app.ticket(&customer.token, json!({})).await;
    let id = t["id"].as_i64().unwrap();
    let note = app
        .post(
            &admin.token,
            &format!("/tickets/{id}/comments"),
            json!({"body": "Refund approved internally", "public": false}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    app.post(
        &admin.token,
        &format!("/tickets/{id}/comments"),
        json!({"body": "We are on it"}),
    )
    .await;
    let p = app.patch(&admin.token, &format!("/tickets/{id}"), json!({"status": "Customer Responded", "group_id": group, "internal_group_id": group, "internal_agent_id": admin.id})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let mine = app
        .get(&customer.token, &format!("/tickets/{id}/comments"))
        .await;
    let bodies: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["It smokes.", "We are on it"]);
    let agents = app
        .get(&admin.token, &format!("/tickets/{id}/comments"))
        .await;
    assert_eq!(agents.ids().len(), 3);
    let seen = app.get(&customer.token, &format!("/tickets/{id}")).await;
    for hidden in [
        "internal_group_id",
        "internal_agent_id",
        "group_id",
        "tags",
        "sharing_check",
    ] {
        assert!(
            seen.body.get(hidden).is_none(),
            "{hidden} leaked: {}",
            seen.body
        );
    }
    assert_eq!(
        seen.body["status"], "Open",
        "customers see the customer label"
    );
    let note_from_customer = app
        .post(
            &customer.token,
            &format!("/tickets/{id}/comments"),
            json!({"body": "psst", "public": false}),
        )
        .await;
    assert_eq!(note_from_customer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&customer.token, &format!("/tickets/{id}/events"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(
            &customer.token,
            &format!("/tickets?internal_group_id={group}")
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn an_end_user_may_resolve_their_own_ticket_and_nothing_else(app: TestApp) {
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let t = app.ticket(&customer.token, json!({})).await;
    let path = format!("/tickets/{}", t["id"]);
    let other = app
        .patch(&customer.token, &path, json!({"priority": "urgent"}))
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pending = app
        .patch(&customer.token, &path, json!({"status": "Pending"}))
        .await;
    assert_eq!(pending.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = app
        .patch(&customer.token, &path, json!({"status": "Resolved"}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status_category"], "resolved");
}

async fn the_list_filters_by_cc_within_the_callers_scope(app: TestApp) {
    let admin = app.admin().await;
    let copied = app.end_user(&[], UserAccess::Requested).await;
    let requester = app.end_user(&[], UserAccess::Requested).await;
    let t = app
        .ticket(
            &admin.token,
            json!({"requester_id": requester.id, "cc_ids": [copied.id]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.ticket(&admin.token, json!({"requester_id": requester.id}))
        .await;
    assert_eq!(
        app.get(&copied.token, &format!("/tickets?cc_id={}", copied.id))
            .await
            .ids(),
        vec![t]
    );
    assert_eq!(
        app.get(&admin.token, &format!("/tickets/count?cc_id={}", copied.id))
            .await
            .body["count"],
        1
    );
}

async fn the_timeline_records_who_changed_what_and_through_which_channel(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let t = app.ticket(&agent.token, json!({})).await;
    let path = format!("/tickets/{}", t["id"]);
    app.patch(
        &agent.token,
        &path,
        json!({"priority": "urgent", "status": "Pending"}),
    )
    .await;
    app.post(
        &agent.token,
        &format!("{path}/comments"),
        json!({"body": "Any news?"}),
    )
    .await;
    let ev = app.get(&agent.token, &format!("{path}/events")).await;
    let items = ev.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["created", "updated", "comment_added"]);
    let update = &items[1];
    assert_eq!(update["actor"]["id"], agent.id);
    assert_eq!(update["via"], "api");
    let changes = update["changes"].as_array().unwrap();
    assert!(
        changes.contains(&json!({"field": "priority", "from": "normal", "to": "urgent"})),
        "{changes:?}"
    );
    assert!(
        changes.contains(&json!({"field": "status_id", "from": 1, "from_label": "Open", "to": 2, "to_label": "Pending"})),
        "{changes:?}"
    );
}

async fn shared_ownership_is_refused_on_a_status_that_does_not_map_the_group(app: TestApp) {
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
    let t = app.ticket(&admin.token, json!({})).await;
    let path = format!("/tickets/{}", t["id"]);
    let wrong = app
        .patch(&admin.token, &path, json!({"internal_group_id": finance}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.body["errors"][0]["code"], "wrong_internal_group");
    let agent_only = app
        .patch(
            &admin.token,
            &path,
            json!({"status": "Customer Responded", "internal_agent_id": admin.id}),
        )
        .await;
    assert_eq!(agent_only.body["errors"][0]["code"], "wrong_internal_agent");
    let ok = app.patch(&admin.token, &path, json!({"status": "Customer Responded", "internal_group_id": finance, "internal_agent_id": admin.id})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let open = app
        .patch(&admin.token, &path, json!({"status": "Open"}))
        .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    assert_eq!(
        (
            open.body["internal_group_id"].clone(),
            open.body["internal_agent_id"].clone()
        ),
        (json!(null), json!(null))
    );
    let ev = app.get(&admin.token, &format!("{path}/events")).await;
    let last = ev.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "status_changed");
}

async fn a_ticket_that_does_not_exist_and_one_out_of_scope_answer_alike(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.agent(TicketScope::Assigned, &[]).await;
    let t = app.ticket(&admin.token, json!({})).await;
    let hidden = app
        .get(&agent.token, &format!("/tickets/{}", t["id"]))
        .await;
    let missing = app.get(&agent.token, "/tickets/987654").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body, missing.body);
    assert_eq!(
        app.patch(
            &agent.token,
            &format!("/tickets/{}", t["id"]),
            json!({"priority": "low"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(
            &agent.token,
            &format!("/tickets/{}/comments", t["id"]),
            json!({"body": "hi"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&agent.token, &format!("/tickets/{}/events", t["id"]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&admin.token, &format!("/tickets/{}", t["id"]))
            .await
            .body["priority"],
        "normal"
    );
}

async fn every_change_is_audited_and_the_chain_catches_tampering(app: TestApp) {
    let admin = app.admin().await;
    let t = app.ticket(&admin.token, json!({})).await;
    app.patch(
        &admin.token,
        &format!("/tickets/{}", t["id"]),
        json!({"priority": "high"}),
    )
    .await;
    let n = app
        .app
        .verify_audit(&[])
        .await
        .unwrap()
        .expect("intact chain");
    assert!(
        n >= 4,
        "user created, token issued, ticket created and updated: {n}"
    );
    app.execute_sql("UPDATE audit_events SET changes = '[]' WHERE seq = 3")
        .await;
    let broken = app
        .app
        .verify_audit(&[])
        .await
        .unwrap()
        .expect_err("an altered row breaks the chain");
    assert_eq!(broken.seq, Some(3));
}

async fn removing_the_newest_audit_event_is_caught(app: TestApp) {
    let admin = app.admin().await;
    app.ticket(&admin.token, json!({})).await;
    let n = app.app.verify_audit(&[]).await.unwrap().unwrap();
    app.execute_sql(&format!("DELETE FROM audit_events WHERE seq = {n}"))
        .await;
    assert!(app.app.verify_audit(&[]).await.unwrap().is_err());
}

on_both_databases!(
    a_new_ticket_has_its_description_as_first_comment_and_an_etag,
    the_ticket_list_pages_with_a_cursor_and_counts_match,
    a_stale_patch_gets_412_and_loses_nothing,
    invalid_ticket_input_is_refused_field_by_field_and_changes_nothing,
    end_users_never_receive_private_notes_or_internal_fields,
    an_end_user_may_resolve_their_own_ticket_and_nothing_else,
    the_list_filters_by_cc_within_the_callers_scope,
    the_timeline_records_who_changed_what_and_through_which_channel,
    shared_ownership_is_refused_on_a_status_that_does_not_map_the_group,
    a_ticket_that_does_not_exist_and_one_out_of_scope_answer_alike,
    every_change_is_audited_and_the_chain_catches_tampering,
    removing_the_newest_audit_event_is_caught,
);

mod idempotency {
    use ferrodesk_core::TicketScope;
    use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
    use serde_json::json;

    async fn post_with_key(
        app: &TestApp,
        token: &str,
        key: &str,
        body: serde_json::Value,
    ) -> ferrodesk_testkit::Answer {
        app.raw(
            |c, url| {
                c.post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", key)
                    .json(&body)
            },
            "/tickets",
        )
        .await
    }

    async fn a_retried_create_with_the_same_key_creates_one_ticket(app: TestApp) {
        let agent = app.agent(TicketScope::Global, &[]).await;
        let body = json!({"subject": "Once", "description": "only once"});
        let first = post_with_key(&app, &agent.token, "k-1", body.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        let again = post_with_key(&app, &agent.token, "k-1", body.clone()).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.body["id"], first.body["id"], "the same answer");
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(
            app.get(&agent.token, "/tickets/count").await.body["count"],
            1
        );
        let other = post_with_key(
            &app,
            &agent.token,
            "k-1",
            json!({"subject": "Different", "description": "x"}),
        )
        .await;
        assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(other.body["errors"][0]["code"], "idempotency_key_reused");
        let bad = post_with_key(&app, &agent.token, "k-2", json!({"subject": ""})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fixed = post_with_key(
            &app,
            &agent.token,
            "k-2",
            json!({"subject": "Fixed", "description": "x"}),
        )
        .await;
        assert_eq!(
            fixed.status,
            StatusCode::CREATED,
            "a refused request does not use up its key"
        );
        let someone_else = app.agent(TicketScope::Global, &[]).await;
        let theirs = post_with_key(&app, &someone_else.token, "k-1", body).await;
        assert_ne!(
            theirs.body["id"], first.body["id"],
            "keys belong to one user"
        );
        assert_eq!(
            app.get(&agent.token, "/tickets/count").await.body["count"],
            3
        );
    }

    on_both_databases!(a_retried_create_with_the_same_key_creates_one_ticket);
}
