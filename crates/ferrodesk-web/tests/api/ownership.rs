//! Shared ownership (SPEC §4): statuses mapped to internal groups, the invariants, and
//! automatic removal that is never silent.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

struct Desk {
    admin: TestUser,
    finance: i64,
    legal: i64,
    fiona: TestUser,
    customer: TestUser,
    /// Custom status "Waiting on Finance", mapped to Finance only.
    waiting: i64,
}

async fn desk(app: &TestApp) -> Desk {
    let admin = app.admin().await;
    let fiona = app.agent(TicketScope::Assigned, &[]).await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [fiona.id]}),
        )
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
    let s = app
        .post(&admin.token, "/statuses", json!({"name": "Waiting on Finance", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance]}))
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let customer = app.end_user(&[], UserAccess::Requested).await;
    Desk {
        admin,
        finance,
        legal,
        fiona,
        customer,
        waiting: s.body["id"].as_i64().unwrap(),
    }
}

async fn last_event(app: &TestApp, admin: &TestUser, ticket: i64) -> Value {
    let ev = app
        .get(&admin.token, &format!("/tickets/{ticket}/events"))
        .await;
    ev.body["items"].as_array().unwrap().last().unwrap().clone()
}

async fn notifications_to(app: &TestApp, user: i64) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND payload LIKE '%\"user_id\":{user}%' AND payload LIKE '%internal_owner_removed%'"
    ))
    .await
}

async fn owned(app: &TestApp, d: &Desk) -> i64 {
    let t = app
        .ticket(&d.admin.token, json!({"requester_id": d.customer.id, "status_id": d.waiting, "internal_group_id": d.finance, "internal_agent_id": d.fiona.id}))
        .await;
    assert_eq!(
        (
            t["internal_group_id"].as_i64(),
            t["internal_agent_id"].as_i64()
        ),
        (Some(d.finance), Some(d.fiona.id))
    );
    t["id"].as_i64().unwrap()
}

async fn built_in_statuses_cannot_be_renamed_mapped_or_deleted(app: TestApp) {
    let d = desk(&app).await;
    let rename = app
        .patch(&d.admin.token, "/statuses/1", json!({"name": "New"}))
        .await;
    assert_eq!(rename.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rename.body["errors"][0]["code"], "built_in_status");
    let map = app
        .patch(
            &d.admin.token,
            "/statuses/2",
            json!({"internal_group_ids": [d.finance]}),
        )
        .await;
    assert_eq!(map.body["errors"][0]["code"], "built_in_status");
    assert_eq!(
        app.delete(&d.admin.token, "/statuses/3").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let label = app
        .patch(
            &d.admin.token,
            "/statuses/2",
            json!({"customer_label": "Waiting for you"}),
        )
        .await;
    assert_eq!(
        label.status,
        StatusCode::OK,
        "the customer label of a built-in may change"
    );
    let closed = app
        .post(
            &d.admin.token,
            "/statuses",
            json!({"name": "Archived", "category": "closed"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let agent = app.agent(TicketScope::Global, &[]).await;
    assert_eq!(
        app.post(
            &agent.token,
            "/statuses",
            json!({"name": "X", "category": "open"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let listed = app.get(&agent.token, "/statuses").await;
    let waiting = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == d.waiting)
        .unwrap()
        .clone();
    assert_eq!(
        waiting["internal_group_ids"],
        json!([d.finance]),
        "agents read the mapping"
    );
}

async fn each_invariant_refuses_a_bad_write_and_changes_nothing(app: TestApp) {
    let d = desk(&app).await;
    let t = app
        .ticket(&d.admin.token, json!({"requester_id": d.customer.id}))
        .await;
    let path = format!("/tickets/{}", t["id"]);
    let wrong_group = app
        .patch(
            &d.admin.token,
            &path,
            json!({"status_id": d.waiting, "internal_group_id": d.legal}),
        )
        .await;
    assert_eq!(wrong_group.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong_group.body["errors"][0]["code"],
        "wrong_internal_group"
    );
    assert!(
        wrong_group.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Finance"),
        "names the mapped groups: {}",
        wrong_group.body
    );
    let wrong_agent = app.patch(&d.admin.token, &path, json!({"status_id": d.waiting, "internal_group_id": d.finance, "internal_agent_id": d.admin.id})).await;
    assert_eq!(
        wrong_agent.body["errors"][0]["code"],
        "wrong_internal_agent"
    );
    let wrong_assignee = app
        .patch(
            &d.admin.token,
            &path,
            json!({"group_id": d.legal, "assignee_id": d.fiona.id}),
        )
        .await;
    assert_eq!(wrong_assignee.body["errors"][0]["code"], "wrong_assignee");
    let now = app.get(&d.admin.token, &path).await.body;
    assert_eq!(now["version"], 1, "nothing was written");
    assert_eq!(now["status"], "Open");
    let created = app
        .post(
            &d.admin.token,
            "/tickets",
            json!({"subject": "s", "description": "d", "internal_group_id": d.finance}),
        )
        .await;
    assert_eq!(
        created.body["errors"][0]["code"], "wrong_internal_group",
        "checked on create too"
    );
}

async fn shared_ownership_is_set_on_new_and_existing_tickets(app: TestApp) {
    let d = desk(&app).await;
    owned(&app, &d).await;
    let t = app
        .ticket(&d.admin.token, json!({"requester_id": d.customer.id}))
        .await;
    let path = format!("/tickets/{}", t["id"]);
    assert_eq!(
        app.patch(&d.admin.token, &path, json!({"status_id": d.waiting}))
            .await
            .status,
        StatusCode::OK
    );
    let set = app
        .patch(
            &d.admin.token,
            &path,
            json!({"internal_group_id": d.finance, "internal_agent_id": d.fiona.id}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["internal_agent_id"], d.fiona.id);
    let shared = app
        .get(
            &d.fiona.token,
            &format!("/tickets?internal_agent_id={}", d.fiona.id),
        )
        .await;
    assert_eq!(shared.ids().len(), 2, "the internal agent sees both");
    assert_eq!(
        app.get(
            &d.admin.token,
            &format!("/tickets/count?any_group_id={}", d.finance)
        )
        .await
        .body["count"],
        2
    );
}

async fn a_change_to_open_removes_the_internal_owner_on_the_timeline_and_notifies_them(
    app: TestApp,
) {
    let d = desk(&app).await;
    let t = owned(&app, &d).await;
    let open = app
        .patch(
            &d.admin.token,
            &format!("/tickets/{t}"),
            json!({"status": "Open"}),
        )
        .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    assert_eq!(
        (
            open.body["internal_group_id"].clone(),
            open.body["internal_agent_id"].clone()
        ),
        (json!(null), json!(null))
    );
    let e = last_event(&app, &d.admin, t).await;
    assert_eq!(e["reason"], "status_changed");
    assert!(
        e["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "internal_group_id", "from": d.finance, "from_label": "Finance", "to": null}))
    );
    assert_eq!(notifications_to(&app, d.fiona.id).await, 1);
    assert_eq!(
        app.get(&d.fiona.token, &format!("/tickets/{t}"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "an assigned agent loses sight of it"
    );
}

async fn a_status_change_that_keeps_the_group_mapped_keeps_the_owner(app: TestApp) {
    let d = desk(&app).await;
    let t = owned(&app, &d).await;
    let cr = app
        .patch(
            &d.admin.token,
            &format!("/tickets/{t}"),
            json!({"status": "Customer Responded"}),
        )
        .await;
    assert_eq!(
        cr.body["internal_agent_id"], d.fiona.id,
        "Customer Responded maps every group"
    );
    let both = app
        .patch(
            &d.admin.token,
            &format!("/tickets/{t}"),
            json!({"status": "Open", "internal_group_id": d.finance}),
        )
        .await;
    assert_eq!(
        both.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "setting an unmapped group in the same write is refused, not dropped"
    );
    assert_eq!(notifications_to(&app, d.fiona.id).await, 0);
}

async fn an_all_groups_status_accepts_a_group_created_after_it(app: TestApp) {
    let d = desk(&app).await;
    let late = app
        .post(
            &d.admin.token,
            "/groups",
            json!({"name": "Engineering", "agent_ids": [d.admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let t = app.ticket(&d.admin.token, json!({"status": "Customer Responded", "internal_group_id": late, "internal_agent_id": d.admin.id})).await;
    assert_eq!(t["internal_group_id"], late);
}

async fn each_cascade_removes_the_internal_owner_with_its_reason(app: TestApp) {
    let d = desk(&app).await;
    // A group unmapped from the status.
    let t1 = owned(&app, &d).await;
    let unmap = app
        .patch(
            &d.admin.token,
            &format!("/statuses/{}", d.waiting),
            json!({"internal_group_ids": [d.legal]}),
        )
        .await;
    assert_eq!(unmap.status, StatusCode::OK, "{}", unmap.body);
    assert_eq!(
        last_event(&app, &d.admin, t1).await["reason"],
        "group_unmapped"
    );
    app.patch(
        &d.admin.token,
        &format!("/statuses/{}", d.waiting),
        json!({"internal_group_ids": [d.finance]}),
    )
    .await;
    // The custom status deleted: its tickets move to Open.
    let t2 = owned(&app, &d).await;
    assert_eq!(
        app.delete(&d.admin.token, &format!("/statuses/{}", d.waiting))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let moved = app
        .get(&d.admin.token, &format!("/tickets/{t2}"))
        .await
        .body;
    assert_eq!(
        (moved["status"].as_str(), moved["internal_group_id"].clone()),
        (Some("Open"), json!(null))
    );
    assert_eq!(
        last_event(&app, &d.admin, t2).await["reason"],
        "status_deleted"
    );
    // The agent leaves the internal group.
    let t3 = app.ticket(&d.admin.token, json!({"status": "Customer Responded", "internal_group_id": d.finance, "internal_agent_id": d.fiona.id})).await["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(
            &d.admin.token,
            &format!("/groups/{}/members/{}", d.finance, d.fiona.id)
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let left = app
        .get(&d.admin.token, &format!("/tickets/{t3}"))
        .await
        .body;
    assert_eq!(
        (
            left["internal_group_id"].as_i64(),
            left["internal_agent_id"].clone()
        ),
        (Some(d.finance), json!(null))
    );
    assert_eq!(
        last_event(&app, &d.admin, t3).await["reason"],
        "agent_left_group"
    );
    // The group deleted.
    assert_eq!(
        app.delete(&d.admin.token, &format!("/groups/{}", d.finance))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let gone = app
        .get(&d.admin.token, &format!("/tickets/{t3}"))
        .await
        .body;
    assert_eq!(gone["internal_group_id"], json!(null));
    assert_eq!(
        last_event(&app, &d.admin, t3).await["reason"],
        "group_deleted"
    );
    assert_eq!(
        notifications_to(&app, d.fiona.id).await,
        3,
        "unmapped, deleted status, left group"
    );
    assert!(app.app.verify_audit(&[]).await.unwrap().is_ok());
    assert_eq!(
        app.ticket_counts_drift().await,
        0,
        "view counters follow the cascades"
    );
}

async fn deleting_an_agent_removes_them_from_their_tickets_with_its_reason(app: TestApp) {
    let d = desk(&app).await;
    let t = owned(&app, &d).await;
    let assigned = app
        .ticket(
            &d.admin.token,
            json!({"group_id": d.finance, "assignee_id": d.fiona.id}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.delete(&d.admin.token, &format!("/users/{}", d.fiona.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let owned_now = app.get(&d.admin.token, &format!("/tickets/{t}")).await.body;
    assert_eq!(
        (
            owned_now["internal_group_id"].as_i64(),
            owned_now["internal_agent_id"].clone()
        ),
        (Some(d.finance), json!(null))
    );
    assert_eq!(
        last_event(&app, &d.admin, t).await["reason"],
        "agent_deleted"
    );
    assert_eq!(
        app.get(&d.admin.token, &format!("/tickets/{assigned}"))
            .await
            .body["assignee_id"],
        json!(null)
    );
    assert_eq!(
        app.get(&d.fiona.token, "/me").await.status,
        StatusCode::UNAUTHORIZED,
        "their token stopped working"
    );
    let group = app
        .get(&d.admin.token, &format!("/groups/{}", d.finance))
        .await
        .body;
    assert_eq!(group["agent_ids"], json!([]));
    assert_eq!(
        app.delete(&d.admin.token, &format!("/users/{}", d.customer.id))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.ticket_counts_drift().await,
        0,
        "view counters follow the cascades"
    );
}

async fn a_group_scope_agent_sees_a_ticket_only_while_their_group_owns_it(app: TestApp) {
    let d = desk(&app).await;
    let lena = app.agent(TicketScope::Group, &[d.legal]).await;
    let t = app
        .ticket(
            &d.admin.token,
            json!({"status": "Customer Responded", "internal_group_id": d.legal}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get(&lena.token, &format!("/tickets/{t}")).await.status,
        StatusCode::OK
    );
    app.patch(
        &d.admin.token,
        &format!("/tickets/{t}"),
        json!({"status": "Pending"}),
    )
    .await;
    assert_eq!(
        app.get(&lena.token, &format!("/tickets/{t}")).await.status,
        StatusCode::NOT_FOUND
    );
    app.patch(
        &d.admin.token,
        &format!("/tickets/{t}"),
        json!({"group_id": d.legal}),
    )
    .await;
    assert_eq!(
        app.get(&lena.token, &format!("/tickets/{t}")).await.status,
        StatusCode::OK
    );
}

async fn customers_see_the_customer_label_of_a_custom_status(app: TestApp) {
    let d = desk(&app).await;
    let t = owned(&app, &d).await;
    let seen = app
        .get(&d.customer.token, &format!("/tickets/{t}"))
        .await
        .body;
    assert_eq!(seen["status"], "In progress");
    assert!(seen.get("internal_group_id").is_none());
}

on_both_databases!(
    built_in_statuses_cannot_be_renamed_mapped_or_deleted,
    each_invariant_refuses_a_bad_write_and_changes_nothing,
    shared_ownership_is_set_on_new_and_existing_tickets,
    a_change_to_open_removes_the_internal_owner_on_the_timeline_and_notifies_them,
    a_status_change_that_keeps_the_group_mapped_keeps_the_owner,
    an_all_groups_status_accepts_a_group_created_after_it,
    each_cascade_removes_the_internal_owner_with_its_reason,
    deleting_an_agent_removes_them_from_their_tickets_with_its_reason,
    a_group_scope_agent_sees_a_ticket_only_while_their_group_owns_it,
    customers_see_the_customer_label_of_a_custom_status,
);
