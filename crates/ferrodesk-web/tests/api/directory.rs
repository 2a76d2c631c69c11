use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

async fn admin_creates_reads_and_updates_a_user(app: TestApp) {
    let admin = app.admin().await;
    let a = app
        .post(&admin.token, "/users", json!({"name": "Nia Agent", "email": "Nia@Example.com", "role": "agent", "ticket_scope": "group"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_i64().unwrap();
    assert_eq!(a.body["email"], "nia@example.com");
    assert_eq!(a.body["ticket_scope"], "group");
    assert!(
        a.body.get("access").is_none(),
        "agents have no access setting"
    );
    let u = app
        .patch(
            &admin.token,
            &format!("/users/{id}"),
            json!({"name": "Nia A.", "ticket_scope": "assigned"}),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    let g = app.get(&admin.token, &format!("/users/{id}")).await;
    assert_eq!(
        (g.body["name"].as_str(), g.body["ticket_scope"].as_str()),
        (Some("Nia A."), Some("assigned"))
    );
    let list = app.get(&admin.token, "/users?role=agent").await;
    assert_eq!(list.ids(), vec![id]);
}

async fn a_duplicate_email_is_refused_whatever_its_case_and_changes_nothing(app: TestApp) {
    let admin = app.admin().await;
    let first = app
        .post(
            &admin.token,
            "/users",
            json!({"name": "A", "email": "dup@example.com"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app
        .post(
            &admin.token,
            "/users",
            json!({"name": "B", "email": "DUP@example.com"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.body["errors"][0]["field"], "email");
    assert_eq!(again.body["errors"][0]["code"], "taken");
    let users = app.get(&admin.token, "/users?role=end_user").await;
    assert_eq!(users.ids().len(), 1);
}

async fn invalid_user_input_names_every_bad_field(app: TestApp) {
    let admin = app.admin().await;
    let a = app
        .post(
            &admin.token,
            "/users",
            json!({"name": "", "email": "not-an-email", "password": "short"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.error_fields(), vec!["name", "email", "password"]);
    let unknown = app
        .post(
            &admin.token,
            "/users",
            json!({"name": "X", "email": "x@example.com", "nickname": "x"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_field");
    assert_eq!(unknown.body["errors"][0]["field"], "nickname");
    let wrong_type = app
        .post(
            &admin.token,
            "/users",
            json!({"name": "X", "email": "x@example.com", "role": "emperor"}),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_type.body["errors"][0]["field"], "role");
    let not_json = app
        .raw(
            |c, url| {
                c.post(url)
                    .bearer_auth(&admin.token)
                    .header("content-type", "application/json")
                    .body("{")
            },
            "/users",
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let huge = app
        .head_only(
            "POST",
            "/users",
            &[
                ("Authorization", format!("Bearer {}", admin.token)),
                ("Content-Type", "application/json".into()),
                ("Content-Length", (2 * 1024 * 1024).to_string()),
            ],
        )
        .await;
    assert_eq!(huge, 413, "a body over 1 MiB is refused");
    assert_eq!(
        app.get(&admin.token, "/users?role=end_user").await.ids(),
        Vec::<i64>::new(),
        "nothing was created"
    );
}

async fn agents_create_end_users_but_not_staff(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let ok = app
        .post(
            &agent.token,
            "/users",
            json!({"name": "Cus Tomer", "email": "c@example.com"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(ok.body["role"], "end_user");
    assert_eq!(ok.body["access"], "requested");
    let admin = app
        .post(
            &agent.token,
            "/users",
            json!({"name": "Boss", "email": "b@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.body["code"], "admin_only");
}

async fn an_end_user_sees_only_themselves(app: TestApp) {
    let admin = app.admin().await;
    let me = app.end_user(&[], UserAccess::Requested).await;
    let other = app.end_user(&[], UserAccess::Requested).await;
    assert_eq!(
        app.get(&me.token, &format!("/users/{}", me.id))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&me.token, &format!("/users/{}", other.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&me.token, &format!("/users/{}", admin.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&me.token, "/users").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn organizations_are_created_and_their_sharing_changes_only_through_the_workflow(
    app: TestApp,
) {
    let admin = app.admin().await;
    let a = app
        .post(
            &admin.token,
            "/organizations",
            json!({"name": "Acme", "domain_names": ["Acme.example"], "tags": ["VIP"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["sharing"], "own_only");
    assert_eq!(a.body["domain_names"], json!(["acme.example"]));
    assert_eq!(a.body["tags"], json!(["vip"]));
    let id = a.body["id"].as_i64().unwrap();
    let dup = app
        .post(&admin.token, "/organizations", json!({"name": "ACME"}))
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    let s = app
        .patch(
            &admin.token,
            &format!("/organizations/{id}"),
            json!({"sharing": "read_write", "notes": "x"}),
        )
        .await;
    assert_eq!(s.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.body["errors"][0]["code"], "use_sharing_workflow");
    let g = app.get(&admin.token, &format!("/organizations/{id}")).await;
    assert_eq!(
        (g.body["sharing"].as_str(), g.body["notes"].as_str()),
        (Some("own_only"), Some("")),
        "nothing changed"
    );
    let agent = app.agent(TicketScope::Global, &[]).await;
    let notes = app
        .patch(
            &agent.token,
            &format!("/organizations/{id}"),
            json!({"notes": "Prefers email"}),
        )
        .await;
    assert_eq!(notes.status, StatusCode::OK);
    assert_eq!(notes.body["notes"], "Prefers email");
    let details = app
        .patch(
            &agent.token,
            &format!("/organizations/{id}"),
            json!({"details": "x"}),
        )
        .await;
    assert_eq!(details.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(details.body["errors"][0]["code"], "not_allowed");
}

async fn membership_is_managed_and_leaving_clears_the_organization_of_open_tickets_only(
    app: TestApp,
) {
    let admin = app.admin().await;
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Globex"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let user = app.end_user(&[], UserAccess::Requested).await;
    let m = app
        .put(
            &admin.token,
            &format!("/organizations/{org}/members/{}", user.id),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert_eq!(m.body["organization_ids"], json!([org]));
    assert_eq!(m.body["default_organization_id"], org);
    let open = app.ticket(&user.token, json!({})).await;
    let closed = app.ticket(&user.token, json!({})).await;
    assert_eq!(
        open["organization_id"], org,
        "a new ticket takes the default organization"
    );
    let c = app
        .patch(
            &admin.token,
            &format!("/tickets/{}", closed["id"]),
            json!({"status": "Closed"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK);
    let gone = app
        .delete(
            &admin.token,
            &format!("/organizations/{org}/members/{}", user.id),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let o = app
        .get(&admin.token, &format!("/tickets/{}", open["id"]))
        .await;
    assert_eq!(o.body["organization_id"], json!(null));
    let c = app
        .get(&admin.token, &format!("/tickets/{}", closed["id"]))
        .await;
    assert_eq!(
        c.body["organization_id"], org,
        "closed tickets keep their organization"
    );
    let ev = app
        .get(&admin.token, &format!("/tickets/{}/events", open["id"]))
        .await;
    let last = ev.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "member_removed");
    let u = app.get(&admin.token, &format!("/users/{}", user.id)).await;
    assert_eq!(u.body["default_organization_id"], json!(null));
    assert_eq!(
        app.delete(
            &admin.token,
            &format!("/organizations/{org}/members/{}", user.id)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

async fn groups_are_created_with_members_and_only_agents_can_join(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.agent(TicketScope::Group, &[]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let g = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [agent.id]}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    let id = g.body["id"].as_i64().unwrap();
    assert_eq!(g.body["agent_ids"], json!([agent.id]));
    let bad = app
        .put(
            &admin.token,
            &format!("/groups/{id}/members/{}", customer.id),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["code"], "not_an_agent");
    let add = app
        .put(&admin.token, &format!("/groups/{id}/members/{}", admin.id))
        .await;
    assert_eq!(add.body["agent_ids"], json!([admin.id, agent.id]));
    let me = app.get(&agent.token, "/me").await;
    assert_eq!(me.body["group_ids"], json!([id]));
    assert_eq!(
        app.post(&agent.token, "/groups", json!({"name": "Mine"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let renamed = app
        .patch(
            &admin.token,
            &format!("/groups/{id}"),
            json!({"name": "Billing"}),
        )
        .await;
    assert_eq!(renamed.body["name"], "Billing");
    assert_eq!(
        app.get(&customer.token, "/groups").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn statuses_list_the_built_ins_and_customer_responded_with_their_mapping(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let s = app.get(&agent.token, "/statuses").await;
    let names: Vec<&str> = s.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Open",
            "Pending",
            "Resolved",
            "Closed",
            "Customer Responded"
        ]
    );
    let cr = &s.body["items"][4];
    assert_eq!(
        (
            cr["category"].as_str(),
            cr["all_groups"].as_bool(),
            cr["built_in"].as_bool()
        ),
        (Some("open"), Some(true), Some(false))
    );
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let c = app.get(&customer.token, "/statuses").await;
    assert_eq!(
        c.body["items"][1]["name"], "Awaiting your reply",
        "customers see customer labels"
    );
}

/// A user's own time zone through the API: admins set anyone's, everyone their own
/// (`PATCH /users/{own id}`), null goes back to the desk's; an unknown name is a 422 naming
/// `time_zone` that changes nothing; another agent's is not an agent's to set.
async fn the_time_zone_is_read_and_set_by_admins_and_by_each_user_for_themselves(app: TestApp) {
    let admin = app.admin().await;
    let a = app.agent(TicketScope::Global, &[]).await;
    let other = app.agent(TicketScope::Global, &[]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let path = format!("/users/{}", a.id);
    let fresh = app.get(&admin.token, &path).await;
    assert_eq!(
        fresh.body["time_zone"],
        json!(null),
        "the desk's by default"
    );
    let set = app
        .patch(&admin.token, &path, json!({"time_zone": "Europe/Berlin"}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["time_zone"], "Europe/Berlin");
    assert_eq!(
        app.get(&a.token, "/me").await.body["time_zone"],
        "Europe/Berlin"
    );
    // The agent changes their own; the name is kept as the time zone database spells it.
    let own = app
        .patch(&a.token, &path, json!({"time_zone": " america/new_york "}))
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["time_zone"], "America/New_York");
    // An unknown name: 422 problem+json naming the field, nothing changed.
    let unknown = app
        .patch(&a.token, &path, json!({"time_zone": "Mars/Olympus_Mons"}))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.headers["content-type"], "application/problem+json");
    assert_eq!(unknown.error_fields(), vec!["time_zone"]);
    assert!(
        unknown.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Mars/Olympus_Mons"),
        "{}",
        unknown.body
    );
    assert_eq!(
        app.get(&admin.token, &path).await.body["time_zone"],
        "America/New_York"
    );
    // Another agent's time zone is not theirs to set.
    let theirs = app
        .patch(
            &a.token,
            &format!("/users/{}", other.id),
            json!({"time_zone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(
        theirs.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        theirs.body
    );
    assert_eq!(theirs.error_fields(), vec!["time_zone"]);
    assert_eq!(
        app.get(&admin.token, &format!("/users/{}", other.id))
            .await
            .body["time_zone"],
        json!(null)
    );
    // A customer sets their own; null goes back to the desk's.
    let cpath = format!("/users/{}", customer.id);
    let mine = app
        .patch(
            &customer.token,
            &cpath,
            json!({"time_zone": "Australia/Sydney"}),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["time_zone"], "Australia/Sydney");
    let back = app
        .patch(&customer.token, &cpath, json!({"time_zone": null}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["time_zone"], json!(null));
    // The change is on the user's audit trail.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'user' AND entity_id = {} \
             AND action = 'updated' AND changes LIKE '%time_zone%'",
            a.id
        ))
        .await,
        2
    );
}

on_both_databases!(
    the_time_zone_is_read_and_set_by_admins_and_by_each_user_for_themselves,
    admin_creates_reads_and_updates_a_user,
    a_duplicate_email_is_refused_whatever_its_case_and_changes_nothing,
    invalid_user_input_names_every_bad_field,
    agents_create_end_users_but_not_staff,
    an_end_user_sees_only_themselves,
    organizations_are_created_and_their_sharing_changes_only_through_the_workflow,
    membership_is_managed_and_leaving_clears_the_organization_of_open_tickets_only,
    groups_are_created_with_members_and_only_agents_can_join,
    statuses_list_the_built_ins_and_customer_responded_with_their_mapping,
);
