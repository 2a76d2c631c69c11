//! Views with counts, and search (SPEC §6).

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

async fn view_ids(app: &TestApp, who: &TestUser, view: i64) -> Vec<i64> {
    let a = app
        .get(&who.token, &format!("/views/{view}/tickets?limit=100"))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.ids()
}

async fn default_view(app: &TestApp, who: &TestUser, name: &str) -> i64 {
    let views = app.get(&who.token, "/views").await.body;
    views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {views}"))["id"]
        .as_i64()
        .unwrap()
}

async fn counts(app: &TestApp, who: &TestUser) -> Vec<(String, i64)> {
    let c = app.get(&who.token, "/views/counts").await.body;
    c.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn every_agent_has_the_default_views_and_counts_equal_the_lists(app: TestApp) {
    let admin = app.admin().await;
    let finance = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let sam = app.agent(TicketScope::Group, &[finance]).await;
    let mine = app
        .ticket(&admin.token, json!({"assignee_id": sam.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    let groups = app.ticket(&admin.token, json!({"group_id": finance})).await["id"]
        .as_i64()
        .unwrap();
    let shared = app
        .ticket(
            &admin.token,
            json!({"status": "Customer Responded", "internal_group_id": finance}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.put(
        &admin.token,
        &format!("/groups/{finance}/members/{}", admin.id),
    )
    .await;
    let shared_me = app.ticket(&admin.token, json!({"status": "Customer Responded", "internal_group_id": finance, "internal_agent_id": sam.id})).await["id"].as_i64().unwrap();
    let solved = app
        .ticket(
            &admin.token,
            json!({"assignee_id": sam.id, "status": "Resolved"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let waiting = app
        .post(
            &admin.token,
            "/statuses",
            json!({"name": "Waiting on vendor", "category": "pending"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let custom = app
        .ticket(
            &admin.token,
            json!({"assignee_id": sam.id, "status_id": waiting}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let names: Vec<String> = counts(&app, &sam)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        vec![
            "My tickets",
            "My groups' tickets",
            "Shared with me",
            "Shared with my groups",
            "Unassigned",
            "Customer Responded",
            "Recently updated"
        ]
    );
    let mut my = view_ids(&app, &sam, default_view(&app, &sam, "My tickets").await).await;
    my.sort();
    assert_eq!(
        my,
        vec![mine, custom],
        "a new custom status shows up without editing the view; resolved does not"
    );
    assert!(!my.contains(&solved));
    assert_eq!(
        view_ids(
            &app,
            &sam,
            default_view(&app, &sam, "My groups' tickets").await
        )
        .await,
        vec![groups]
    );
    assert_eq!(
        view_ids(&app, &sam, default_view(&app, &sam, "Shared with me").await).await,
        vec![shared_me]
    );
    let mut sg = view_ids(
        &app,
        &sam,
        default_view(&app, &sam, "Shared with my groups").await,
    )
    .await;
    sg.sort();
    assert_eq!(sg, vec![shared, shared_me]);
    for (name, count) in counts(&app, &sam).await {
        let ids = view_ids(&app, &sam, default_view(&app, &sam, &name).await).await;
        assert_eq!(count as usize, ids.len(), "{name}: count equals the list");
    }
}

async fn a_view_never_shows_a_ticket_outside_the_agents_scope(app: TestApp) {
    let admin = app.admin().await;
    let ann = app.agent(TicketScope::Assigned, &[]).await;
    let everything = app
        .post(
            &ann.token,
            "/views",
            json!({"name": "Everything", "conditions": {"all": []}}),
        )
        .await;
    assert_eq!(
        everything.status,
        StatusCode::CREATED,
        "{}",
        everything.body
    );
    let view = everything.body["id"].as_i64().unwrap();
    let hers = app
        .ticket(&admin.token, json!({"assignee_id": ann.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    for _ in 0..3 {
        app.ticket(&admin.token, json!({})).await;
    }
    assert_eq!(view_ids(&app, &ann, view).await, vec![hers]);
    let c = counts(&app, &ann).await;
    assert!(c.contains(&("Everything".into(), 1)), "{c:?}");
    let unassigned = default_view(&app, &ann, "Unassigned").await;
    assert_eq!(
        view_ids(&app, &ann, unassigned).await,
        Vec::<i64>::new(),
        "unassigned tickets are outside an assigned-scope agent's scope"
    );
}

async fn view_conditions_filter_as_written(app: TestApp) {
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
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let customer = app.end_user(&[org], UserAccess::Requested).await;
    app.post(
        &admin.token,
        "/ticket-fields",
        json!({"key": "region", "title": "Region", "field_type": "text"}),
    )
    .await;
    let a = app.ticket(&admin.token, json!({"subject": "Invoice wrong", "priority": "urgent", "tags": ["billing"], "group_id": finance, "custom_fields": {"region": "EU"}})).await["id"].as_i64().unwrap();
    let b = app.ticket(&admin.token, json!({"subject": "VPN down", "requester_id": customer.id, "status": "Customer Responded", "internal_group_id": finance, "internal_agent_id": admin.id})).await["id"].as_i64().unwrap();
    let c = app
        .ticket(
            &admin.token,
            json!({"subject": "Invoice copy", "assignee_id": admin.id, "status": "Pending"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (
            json!({"all": [{"field": "any_group", "operator": "is", "value": "my_groups"}]}),
            vec![a, b],
        ),
        (
            json!({"all": [{"field": "any_agent", "operator": "is", "value": "me"}]}),
            vec![b, c],
        ),
        (
            json!({"all": [{"field": "priority", "operator": "is", "value": ["urgent", "high"]}]}),
            vec![a],
        ),
        (
            json!({"all": [{"field": "tags", "operator": "includes", "value": "billing"}]}),
            vec![a],
        ),
        (
            json!({"all": [{"field": "subject", "operator": "contains", "value": "invoice"}, {"field": "category", "operator": "is", "value": "pending"}]}),
            vec![c],
        ),
        (
            json!({"all": [{"field": "organization", "operator": "is", "value": org}]}),
            vec![b],
        ),
        (
            json!({"all": [{"field": "internal_group", "operator": "is", "value": null}, {"field": "assignee", "operator": "is_not", "value": null}]}),
            vec![c],
        ),
        (
            json!({"any": [{"field": "status", "operator": "is", "value": "Pending"}, {"field": "custom_field:region", "operator": "is", "value": "EU"}]}),
            vec![a, c],
        ),
        (
            json!({"all": [{"field": "created_at", "operator": "within_days", "value": 1}, {"field": "group", "operator": "is_not", "value": finance}]}),
            vec![b, c],
        ),
        (
            json!({"all": [{"field": "updated_at", "operator": "older_than_days", "value": 1}]}),
            vec![],
        ),
        (
            json!({"all": [{"field": "internal_agent", "operator": "is", "value": "me"}]}),
            vec![b],
        ),
        (
            json!({"all": [{"field": "requester", "operator": "is", "value": customer.id}]}),
            vec![b],
        ),
        (
            json!({"all": [{"field": "requester", "operator": "is_not", "value": customer.id}, {"field": "category", "operator": "is_not", "value": ["pending"]}]}),
            vec![a],
        ),
        (
            json!({"all": [{"field": "group", "operator": "is", "value": "my_groups"}, {"field": "status", "operator": "is", "value": ["Open", "Pending", "Customer Responded"]}]}),
            vec![a],
        ),
    ];
    for (conditions, mut want) in cases {
        let v = app
            .post(
                &admin.token,
                "/views",
                json!({"name": "v", "conditions": conditions.clone()}),
            )
            .await;
        assert_eq!(v.status, StatusCode::CREATED, "{conditions}: {}", v.body);
        let mut got = view_ids(&app, &admin, v.body["id"].as_i64().unwrap()).await;
        got.sort();
        want.sort();
        assert_eq!(got, want, "{conditions}");
        let counts = app.get(&admin.token, "/views/counts").await.body;
        let count = counts
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["view_id"] == v.body["id"])
            .unwrap()["count"]
            .clone();
        assert_eq!(count, json!(want.len()), "{conditions}: count");
    }
    let bad = app.post(&admin.token, "/views", json!({"name": "bad", "conditions": {"all": [{"field": "tags", "operator": "is", "value": "x"}, {"field": "mood", "operator": "is", "value": 1}]}, "columns": ["subject", "vibe"]})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.error_fields(),
        vec![
            "columns[1]",
            "conditions.all[0].operator",
            "conditions.all[1].field"
        ]
    );
}

async fn views_are_personal_shared_with_a_group_or_with_everyone(app: TestApp) {
    let admin = app.admin().await;
    let finance = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let fin = app.agent(TicketScope::Global, &[finance]).await;
    let other = app.agent(TicketScope::Global, &[]).await;
    let personal = app
        .post(&fin.token, "/views", json!({"name": "Mine only"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let group = app
        .post(
            &fin.token,
            "/views",
            json!({"name": "Finance queue", "visibility": "group", "group_id": finance}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let not_mine = app
        .post(
            &other.token,
            "/views",
            json!({"name": "x", "visibility": "group", "group_id": finance}),
        )
        .await;
    assert_eq!(not_mine.body["errors"][0]["code"], "not_a_member");
    let everyone = app
        .post(
            &fin.token,
            "/views",
            json!({"name": "x", "visibility": "everyone"}),
        )
        .await;
    assert_eq!(everyone.body["errors"][0]["code"], "not_allowed");
    let shared = app.post(&admin.token, "/views", json!({"name": "All urgent", "visibility": "everyone", "conditions": {"all": [{"field": "priority", "operator": "is", "value": "urgent"}]}})).await.body["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&other.token, &format!("/views/{personal}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&other.token, &format!("/views/{group}/tickets"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&other.token, &format!("/views/{shared}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.patch(
            &other.token,
            &format!("/views/{shared}"),
            json!({"name": "Mine now"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let builtin = default_view(&app, &fin, "My tickets").await;
    assert_eq!(
        app.delete(&admin.token, &format!("/views/{builtin}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&fin.token, &format!("/views/{personal}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let customer = app.end_user(&[], UserAccess::Requested).await;
    assert_eq!(
        app.get(&customer.token, "/views").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn view_pages_follow_the_sort_with_a_cursor(app: TestApp) {
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.ticket(&admin.token, json!({})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    app.patch(
        &admin.token,
        &format!("/tickets/{}", ids[0]),
        json!({"priority": "high"}),
    )
    .await;
    let v = app
        .post(
            &admin.token,
            "/views",
            json!({"name": "all", "sort": {"by": "updated_at", "order": "desc"}}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let first = app
        .get(&admin.token, &format!("/views/{v}/tickets?limit=2"))
        .await;
    assert_eq!(
        first.ids(),
        vec![ids[0], ids[4]],
        "the ticket updated last comes first"
    );
    let second = app
        .get(
            &admin.token,
            &format!(
                "/views/{v}/tickets?limit=2&cursor={}",
                first.body["next_cursor"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(second.ids(), vec![ids[3], ids[2]]);
    let asc = app
        .post(
            &admin.token,
            "/views",
            json!({"name": "oldest", "sort": {"by": "created_at", "order": "asc"}}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get(&admin.token, &format!("/views/{asc}/tickets?limit=3"))
            .await
            .ids(),
        ids[0..3]
    );
}

async fn a_view_over_several_groups_pages_in_order_without_repeats(app: TestApp) {
    let admin = app.admin().await;
    let a = app
        .post(&admin.token, "/groups", json!({"name": "A"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let b = app
        .post(&admin.token, "/groups", json!({"name": "B"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let c = app
        .post(&admin.token, "/groups", json!({"name": "C"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let mut ids = Vec::new();
    for g in [a, b, a, c, b, a, b] {
        ids.push((
            g,
            app.ticket(&admin.token, json!({"group_id": g})).await["id"]
                .as_i64()
                .unwrap(),
        ));
    }
    let want: Vec<i64> = ids
        .iter()
        .rev()
        .filter(|(g, _)| *g != c)
        .map(|(_, t)| *t)
        .collect();
    let v = app
        .post(&admin.token, "/views", json!({"name": "A and B", "conditions": {"all": [{"field": "group", "operator": "is", "value": [b, a, a]}]}}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let mut got = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &admin.token,
                &format!("/views/{v}/tickets?limit=2&cursor={cursor}"),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        got.extend(page.ids());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        got, want,
        "newest first across both groups, each ticket once"
    );
    let counts = counts(&app, &admin).await;
    assert!(
        counts.contains(&("A and B".into(), want.len() as i64)),
        "{counts:?}"
    );
}

async fn search_finds_words_and_phrases_with_filters_ranked(app: TestApp) {
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
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Acme Corp"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let customer = app.end_user(&[org], UserAccess::Requested).await;
    let printer = app.ticket(&admin.token, json!({"subject": "Printer jams every morning", "description": "The printer shows a paper jam.", "requester_id": customer.id, "group_id": finance, "status": "Pending"})).await["id"].as_i64().unwrap();
    let other = app.ticket(&admin.token, json!({"subject": "Invoice question", "description": "Our printer is fine but the invoice is wrong."})).await["id"].as_i64().unwrap();
    app.ticket(
        &admin.token,
        json!({"subject": "VPN", "description": "Nothing about paper"}),
    )
    .await;
    let s = |q: &str| format!("/search?q={}", q.replace(' ', "%20").replace('"', "%22"));
    let both = app.get(&admin.token, &s("printer")).await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.body);
    assert_eq!(
        both.ids(),
        vec![printer, other],
        "the ticket with the word in its subject ranks first"
    );
    assert_eq!(
        app.get(&admin.token, &s("\"paper jam\"")).await.ids(),
        vec![printer]
    );
    assert_eq!(
        app.get(&admin.token, &s("printer invoice")).await.ids(),
        vec![other],
        "every word must match"
    );
    assert_eq!(
        app.get(&admin.token, &s("status:pending printer"))
            .await
            .ids(),
        vec![printer]
    );
    assert_eq!(
        app.get(&admin.token, &s("group:Finance")).await.ids(),
        vec![printer]
    );
    assert_eq!(
        app.get(&admin.token, &s("org:\"Acme Corp\" printer"))
            .await
            .ids(),
        vec![printer]
    );
    assert_eq!(
        app.get(&admin.token, &s(&format!("requester:{}", customer.email)))
            .await
            .ids(),
        vec![printer]
    );
    assert_eq!(
        app.get(&admin.token, &s("group:Nowhere printer"))
            .await
            .ids(),
        Vec::<i64>::new(),
        "an unknown name matches nothing"
    );
    let paged = app
        .get(&admin.token, &format!("{}&limit=1", s("printer")))
        .await;
    assert_eq!(paged.ids(), vec![printer]);
    let next = app
        .get(
            &admin.token,
            &format!(
                "{}&limit=1&cursor={}",
                s("printer"),
                paged.body["next_cursor"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(next.ids(), vec![other]);
    assert_eq!(
        app.get(&admin.token, "/search?q=").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let weird = app.get(&admin.token, &s("\"unbalanced OR ( * NEAR")).await;
    assert_eq!(
        weird.status,
        StatusCode::OK,
        "odd input is searched for, not an error: {}",
        weird.body
    );
}

async fn search_respects_the_policy_and_private_notes(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let colleague = app.end_user(&[], UserAccess::Requested).await;
    let ann = app.agent(TicketScope::Assigned, &[]).await;
    let t = app
        .ticket(
            &customer.token,
            json!({"subject": "Laptop broken", "description": "Screen flickers"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.post(
        &admin.token,
        &format!("/tickets/{t}/comments"),
        json!({"body": "Supplier contract zebra clause", "public": false}),
    )
    .await;
    app.post(
        &admin.token,
        &format!("/tickets/{t}/comments"),
        json!({"body": "We ordered a replacement", "public": true}),
    )
    .await;
    assert_eq!(
        app.get(&admin.token, "/search?q=zebra").await.ids(),
        vec![t],
        "agents match private notes"
    );
    assert_eq!(
        app.get(&customer.token, "/search?q=zebra").await.ids(),
        Vec::<i64>::new(),
        "end users never match a private note"
    );
    assert_eq!(
        app.get(&customer.token, "/search?q=replacement")
            .await
            .ids(),
        vec![t]
    );
    assert_eq!(
        app.get(&colleague.token, "/search?q=replacement")
            .await
            .ids(),
        Vec::<i64>::new(),
        "nor a ticket they may not view"
    );
    assert_eq!(
        app.get(&ann.token, "/search?q=laptop").await.ids(),
        Vec::<i64>::new(),
        "nor an agent outside their scope"
    );
    app.patch(
        &admin.token,
        &format!("/tickets/{t}"),
        json!({"assignee_id": ann.id, "subject": "Laptop screen"}),
    )
    .await;
    assert_eq!(app.get(&ann.token, "/search?q=laptop").await.ids(), vec![t]);
    assert_eq!(
        app.get(&ann.token, "/search?q=broken").await.ids(),
        Vec::<i64>::new(),
        "the subject index follows the change"
    );
    assert_eq!(
        app.get(&customer.token, "/search?q=group:Finance")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

on_both_databases!(
    every_agent_has_the_default_views_and_counts_equal_the_lists,
    a_view_never_shows_a_ticket_outside_the_agents_scope,
    view_conditions_filter_as_written,
    views_are_personal_shared_with_a_group_or_with_everyone,
    view_pages_follow_the_sort_with_a_cursor,
    a_view_over_several_groups_pages_in_order_without_repeats,
    search_finds_words_and_phrases_with_filters_ranked,
    search_respects_the_policy_and_private_notes,
);
