//! The Freshdesk-compatible API v2 under `/freshdesk/api/v2`: Freshdesk's shapes (bare
//! arrays, `Link` pages, numeric codes, its error bodies) over the same use cases and the
//! same access policy as `/api/v1`.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{Answer, StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

const FD: &str = "/freshdesk/api/v2";

/// GET as Freshdesk clients authenticate: Basic `API_KEY:X`.
async fn get(app: &TestApp, who: &TestUser, path: &str) -> Answer {
    let token = who.token.clone();
    app.raw_at(
        move |c, url| c.get(url).basic_auth(token, Some("X")),
        &format!("{FD}{path}"),
    )
    .await
}

async fn post(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Answer {
    let token = who.token.clone();
    app.raw_at(
        move |c, url| c.post(url).basic_auth(token, Some("X")).json(&body),
        &format!("{FD}{path}"),
    )
    .await
}

async fn put(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Answer {
    let token = who.token.clone();
    app.raw_at(
        move |c, url| c.put(url).basic_auth(token, Some("X")).json(&body),
        &format!("{FD}{path}"),
    )
    .await
}

/// The ids of a bare-array answer.
fn ids(a: &Answer) -> Vec<i64> {
    a.body
        .as_array()
        .unwrap_or_else(|| panic!("a bare array: {} {}", a.status, a.body))
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

fn link(a: &Answer) -> Option<String> {
    a.headers
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The first error of a 400, as (field, code).
fn first_error(a: &Answer) -> (String, String) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(a.body["description"], "Validation failed", "{}", a.body);
    let e = &a.body["errors"][0];
    (
        e["field"].as_str().unwrap().to_owned(),
        e["code"].as_str().unwrap().to_owned(),
    )
}

fn assert_empty_404(a: &Answer, label: &str) {
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{label}: {}", a.body);
    assert_eq!(a.body, Value::Null, "{label}: 404 has an empty body");
}

async fn group(app: &TestApp, admin: &TestUser, name: &str, agents: &[i64]) -> i64 {
    let g = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": name, "agent_ids": agents}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    g.body["id"].as_i64().unwrap()
}

async fn organization(app: &TestApp, admin: &TestUser, name: &str) -> i64 {
    let o = app
        .post(&admin.token, "/organizations", json!({"name": name}))
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.body);
    o.body["id"].as_i64().unwrap()
}

async fn tickets_list_as_bare_arrays_with_a_link_only_while_more_follow(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let t = app
            .ticket(
                &agent.token,
                json!({"subject": format!("Ticket {i}"), "requester_id": customer.id}),
            )
            .await;
        made.push(t["id"].as_i64().unwrap());
    }
    let other = app.ticket(&agent.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    // python-freshdesk repeats per_page and sends filter=new_and_my_open by default.
    let first = get(
        &app,
        &agent,
        &format!(
            "/tickets?filter=new_and_my_open&requester_id={}&page=1&per_page=2&per_page=2",
            customer.id
        ),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(ids(&first), vec![made[4], made[3]], "newest first");
    let next = link(&first).expect("a Link header while more follow");
    assert!(
        next.starts_with(&format!("<{}{FD}/tickets?", app.base))
            && next.ends_with(">; rel=\"next\""),
        "{next}"
    );
    assert!(
        next.contains("page=2") && next.contains("per_page=2"),
        "{next}"
    );
    let url = next
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let token = agent.token.clone();
    let second = app
        .raw_at(move |c, _| c.get(url).basic_auth(token, Some("X")), "")
        .await;
    assert_eq!(ids(&second), vec![made[2], made[1]], "following the link");
    let last = get(
        &app,
        &agent,
        &format!("/tickets?requester_id={}&page=3&per_page=2", customer.id),
    )
    .await;
    assert_eq!(ids(&last), vec![made[0]]);
    assert_eq!(link(&last), None, "no Link on the last page");
    let all = get(&app, &agent, "/tickets").await;
    assert_eq!(
        ids(&all).len(),
        6,
        "default 30 per page, no filter by default"
    );
    assert!(ids(&all).contains(&other));
    assert_eq!(link(&all), None);
    for filter in ["spam", "deleted", "watching"] {
        let none = get(&app, &agent, &format!("/tickets?filter={filter}")).await;
        assert_eq!(
            ids(&none),
            Vec::<i64>::new(),
            "{filter}: Ferrodesk has none"
        );
    }
    let by_email = get(&app, &agent, &format!("/tickets?email={}", customer.email)).await;
    assert_eq!(ids(&by_email).len(), 5);
    let t = &all.body[0];
    for key in ["created_at", "updated_at"] {
        let v = t[key].as_str().unwrap();
        assert!(v.ends_with('Z') && !v.contains('.'), "{key}: {v}");
    }
    assert_eq!(
        (t["status"].clone(), t["priority"].clone()),
        (json!(2), json!(2))
    );
    assert!(t.get("description").is_none(), "lists carry no description");
    assert_eq!(
        first_error(&get(&app, &agent, "/tickets?per_page=101").await),
        ("per_page".to_owned(), "invalid_value".to_owned())
    );
    assert_eq!(
        first_error(&get(&app, &agent, "/tickets?filter=everything").await).0,
        "filter"
    );
}

async fn tickets_are_created_read_and_updated_in_freshdesk_codes(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let colleague = app.end_user(&[], UserAccess::Requested).await;
    let created = post(
        &app,
        &admin,
        "/tickets",
        json!({
            "subject": "Printer", "description": "<p>It <b>smokes</b> &amp; beeps</p>",
            "email": customer.email.to_uppercase(), "priority": 3, "status": 2, "source": 2,
            "tags": ["hardware"], "cc_emails": [colleague.email], "unknown_field": {"x": 1},
        }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let t = &created.body;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(
        created.headers["location"].to_str().unwrap(),
        format!("{}{FD}/tickets/{id}", app.base)
    );
    assert_eq!(t["requester_id"], customer.id);
    assert_eq!(
        (t["status"].clone(), t["priority"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(t["source"], 2, "made through the API");
    assert_eq!(t["tags"], json!(["hardware"]));
    assert_eq!(t["cc_emails"], json!([colleague.email]));
    assert_eq!(t["description_text"], "It smokes & beeps");
    let shown = get(&app, &admin, &format!("/tickets/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["description_text"], "It smokes & beeps");
    assert_eq!(
        shown.body["description"],
        "<div>It smokes &amp; beeps</div>"
    );
    assert_eq!(shown.body["responder_id"], Value::Null);
    // A custom status is 6 and up: Customer Responded is our status 5.
    let updated = put(
        &app,
        &admin,
        &format!("/tickets/{id}"),
        json!({"status": 6, "priority": 4, "responder_id": admin.id, "id": id, "whatever": true}),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        (
            updated.body["status"].clone(),
            updated.body["priority"].clone()
        ),
        (json!(6), json!(4))
    );
    assert_eq!(updated.body["responder_id"], admin.id);
    assert_eq!(updated.body["description_text"], "It smokes & beeps");
    let v1 = app.get(&admin.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(
        (
            v1["status"].clone(),
            v1["priority"].clone(),
            v1["assignee_id"].clone()
        ),
        (
            json!("Customer Responded"),
            json!("urgent"),
            json!(admin.id)
        )
    );
    let path = format!("/tickets/{id}");
    for (body, field, code) in [
        (json!({"status": 99}), "status", "invalid_value"),
        (json!({"status": "open"}), "status", "datatype_mismatch"),
        (json!({"priority": 7}), "priority", "invalid_value"),
        (
            json!({"responder_id": "abc"}),
            "responder_id",
            "datatype_mismatch",
        ),
        (json!({"subject": ""}), "subject", "missing_field"),
        (
            json!({"description": "new"}),
            "description",
            "readonly_field",
        ),
        (
            json!({"email": "nobody@example.com"}),
            "email",
            "invalid_value",
        ),
        (
            json!({"cc_emails": ["nobody@example.com"]}),
            "cc_emails",
            "invalid_value",
        ),
        (
            json!({"custom_fields": {"cf_nope": 1}}),
            "cf_nope",
            "invalid_field",
        ),
    ] {
        let a = put(&app, &admin, &path, body.clone()).await;
        assert_eq!(
            first_error(&a),
            (field.to_owned(), code.to_owned()),
            "{body}"
        );
    }
    assert_eq!(
        put(&app, &admin, &path, json!({"responder_id": null}))
            .await
            .body["responder_id"],
        Value::Null,
        "null clears"
    );
    let missing = post(&app, &admin, "/tickets", json!({"description": "x"})).await;
    assert_eq!(
        first_error(&missing),
        ("subject".into(), "missing_field".into())
    );
    // An address no user has: the agent's ticket adds them as a contact, as Freshdesk does.
    let fresh = post(
        &app,
        &admin,
        "/tickets",
        json!({"subject": "Hi", "description": "Hello", "email": "new.person@example.com", "name": "New Person"}),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.body);
    let contact = get(
        &app,
        &admin,
        &format!("/contacts/{}", fresh.body["requester_id"]),
    )
    .await;
    assert_eq!(
        (contact.body["name"].clone(), contact.body["email"].clone()),
        (json!("New Person"), json!("new.person@example.com"))
    );
    // End users create tickets as themselves; they never see internal fields.
    let own = post(
        &app,
        &customer,
        "/tickets",
        json!({"subject": "Mine", "description": "Please help"}),
    )
    .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    assert_eq!(own.body["requester_id"], customer.id);
    for key in ["group_id", "internal_group_id", "internal_agent_id", "tags"] {
        assert!(own.body.get(key).is_none(), "{key}: {}", own.body);
    }
    let as_other = post(
        &app,
        &customer,
        "/tickets",
        json!({"subject": "Theirs", "description": "x", "email": colleague.email}),
    )
    .await;
    assert_eq!(first_error(&as_other).0, "email");
}

async fn internal_groups_must_be_mapped_to_the_status(app: TestApp) {
    let admin = app.admin().await;
    let fiona = app.agent(TicketScope::Group, &[]).await;
    let finance = group(&app, &admin, "Finance", &[fiona.id]).await;
    let legal = group(&app, &admin, "Legal", &[]).await;
    let s = app
        .post(&admin.token, "/statuses", json!({"name": "Waiting on Finance", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance]}))
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let code = s.body["id"].as_i64().unwrap() + 1;
    assert!(code >= 7, "custom statuses are 6 and up: {code}");
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let shared = post(
        &app,
        &admin,
        "/tickets",
        json!({"subject": "Refund", "description": "Please refund", "requester_id": customer.id,
               "status": code, "internal_group_id": finance, "internal_agent_id": fiona.id}),
    )
    .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.body);
    assert_eq!(
        (
            shared.body["status"].clone(),
            shared.body["internal_group_id"].clone(),
            shared.body["internal_agent_id"].clone()
        ),
        (json!(code), json!(finance), json!(fiona.id))
    );
    let id = shared.body["id"].as_i64().unwrap();
    let fionas = get(&app, &fiona, &format!("/tickets/{id}")).await;
    assert_eq!(fionas.status, StatusCode::OK, "the internal agent sees it");
    let unmapped = put(
        &app,
        &admin,
        &format!("/tickets/{id}"),
        json!({"internal_group_id": legal}),
    )
    .await;
    assert_eq!(
        first_error(&unmapped),
        ("internal_group_id".into(), "invalid_value".into())
    );
    assert!(
        unmapped.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Finance"),
        "names the mapped groups: {}",
        unmapped.body
    );
    let on_open = post(
        &app,
        &admin,
        "/tickets",
        json!({"subject": "x", "description": "x", "status": 2, "internal_group_id": finance}),
    )
    .await;
    assert_eq!(first_error(&on_open).0, "internal_group_id");
    let fields = get(&app, &admin, "/ticket_fields").await;
    assert_eq!(fields.status, StatusCode::OK, "{}", fields.body);
    let status = fields
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "status")
        .unwrap()
        .clone();
    assert_eq!(status["type"], "default_status");
    assert_eq!(status["choices"]["2"], json!(["Open", "Open"]));
    assert_eq!(status["choices"]["5"], json!(["Closed", "Closed"]));
    assert_eq!(
        status["choices"]["6"],
        json!(["Customer Responded", "Open"])
    );
    assert_eq!(
        status["choices"][code.to_string()],
        json!(["Waiting on Finance", "In progress"])
    );
    assert_eq!(
        status["internal_groups"][code.to_string()]["group_ids"],
        json!([finance])
    );
    for f in fields.body.as_array().unwrap() {
        assert!(f["created_at"].is_string() && f["updated_at"].is_string());
    }
    let only = get(&app, &admin, "/ticket_fields?type=default_priority").await;
    assert_eq!(only.body.as_array().unwrap().len(), 1);
    assert_eq!(only.body[0]["choices"]["Medium"], 2);
}

async fn replies_notes_and_conversations(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let id = app.ticket(&customer.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let reply = post(
        &app,
        &agent,
        &format!("/tickets/{id}/reply"),
        json!({"body": "<div>We are on it</div>", "cc_emails": []}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(
        (
            reply.body["private"].clone(),
            reply.body["source"].clone(),
            reply.body["body_text"].clone(),
            reply.body["user_id"].clone(),
            reply.body["ticket_id"].clone()
        ),
        (
            json!(false),
            json!(0),
            json!("We are on it"),
            json!(agent.id),
            json!(id)
        )
    );
    let note = post(
        &app,
        &agent,
        &format!("/tickets/{id}/notes"),
        json!({"body": "Customer seems upset"}),
    )
    .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    assert_eq!(
        (note.body["private"].clone(), note.body["source"].clone()),
        (json!(true), json!(2))
    );
    let public_note = post(
        &app,
        &agent,
        &format!("/tickets/{id}/notes"),
        json!({"body": "FYI", "private": false}),
    )
    .await;
    assert_eq!(public_note.body["private"], false);
    let by_customer = post(
        &app,
        &customer,
        &format!("/tickets/{id}/reply"),
        json!({"body": "Thanks"}),
    )
    .await;
    assert_eq!(
        by_customer.status,
        StatusCode::CREATED,
        "{}",
        by_customer.body
    );
    let agents_view = get(&app, &agent, &format!("/tickets/{id}/conversations")).await;
    assert_eq!(agents_view.status, StatusCode::OK);
    let texts = |a: &Answer| -> Vec<String> {
        a.body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["body_text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        texts(&agents_view),
        vec!["We are on it", "Customer seems upset", "FYI", "Thanks"],
        "the description is not a conversation"
    );
    for c in agents_view.body.as_array().unwrap() {
        assert!(c["created_at"].is_string() && c["updated_at"].is_string());
    }
    let customers_view = get(&app, &customer, &format!("/tickets/{id}/conversations")).await;
    assert_eq!(
        texts(&customers_view),
        vec!["We are on it", "FYI", "Thanks"],
        "end users never see private notes"
    );
    let paged = get(
        &app,
        &agent,
        &format!("/tickets/{id}/conversations?page=2&per_page=2"),
    )
    .await;
    assert_eq!(texts(&paged), vec!["FYI", "Thanks"]);
    assert_eq!(link(&paged), None);
    let first = get(
        &app,
        &agent,
        &format!("/tickets/{id}/conversations?per_page=2"),
    )
    .await;
    assert!(link(&first).unwrap().contains("page=2"));
    let with = get(
        &app,
        &agent,
        &format!("/tickets/{id}?include=conversations"),
    )
    .await;
    assert_eq!(with.body["description_text"], "It smokes.");
    assert_eq!(with.body["conversations"].as_array().unwrap().len(), 4);
    let customer_note = post(
        &app,
        &customer,
        &format!("/tickets/{id}/notes"),
        json!({"body": "secret"}),
    )
    .await;
    assert_eq!(
        first_error(&customer_note),
        ("private".into(), "inaccessible_field".into())
    );
    let impersonating = post(
        &app,
        &agent,
        &format!("/tickets/{id}/reply"),
        json!({"body": "x", "user_id": customer.id}),
    )
    .await;
    assert_eq!(first_error(&impersonating).0, "user_id");
    let empty = post(&app, &agent, &format!("/tickets/{id}/reply"), json!({})).await;
    assert_eq!(first_error(&empty), ("body".into(), "missing_field".into()));
}

async fn contacts_agents_companies_and_groups(app: TestApp) {
    let admin = app.admin().await;
    let acme = organization(&app, &admin, "Acme").await;
    let globex = organization(&app, &admin, "Globex").await;
    let support = group(&app, &admin, "Support", &[]).await;
    let global = app.agent(TicketScope::Global, &[]).await;
    let grouped = app.agent(TicketScope::Group, &[support]).await;
    let assigned = app.agent(TicketScope::Assigned, &[]).await;
    let viewer = app
        .end_user(&[acme, globex], UserAccess::Organization)
        .await;
    let plain = app.end_user(&[acme], UserAccess::Requested).await;
    let c = get(&app, &global, &format!("/contacts/{}", viewer.id)).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(
        (
            c.body["company_id"].clone(),
            c.body["view_all_tickets"].clone(),
            c.body["other_companies"].clone(),
            c.body["email"].clone(),
            c.body["active"].clone()
        ),
        (
            json!(acme),
            json!(true),
            json!([{"company_id": globex, "view_all_tickets": true}]),
            json!(viewer.email),
            json!(true)
        )
    );
    let p = get(&app, &global, &format!("/contacts/{}", plain.id)).await;
    assert_eq!(
        (
            p.body["view_all_tickets"].clone(),
            p.body["other_companies"].clone()
        ),
        (json!(false), json!([]))
    );
    let list = get(&app, &global, "/contacts?per_page=100").await;
    assert_eq!(ids(&list), vec![viewer.id, plain.id], "end users only");
    let in_globex = get(&app, &global, &format!("/contacts?company_id={globex}")).await;
    assert_eq!(ids(&in_globex), vec![viewer.id]);
    let by_email = get(&app, &global, &format!("/contacts?email={}", plain.email)).await;
    assert_eq!(ids(&by_email), vec![plain.id]);
    let paged = get(&app, &global, "/contacts?per_page=1&page=2").await;
    assert_eq!(ids(&paged), vec![plain.id]);
    assert_eq!(link(&paged), None);
    assert_empty_404(
        &get(&app, &global, &format!("/contacts/{}", grouped.id)).await,
        "an agent is not a contact",
    );
    let denied = get(&app, &plain, "/contacts").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["code"], "access_denied");

    let agents = get(&app, &global, "/agents").await;
    assert_eq!(
        ids(&agents),
        vec![admin.id, global.id, grouped.id, assigned.id],
        "admins and agents, by id"
    );
    let scope = |a: &Answer, id: i64| {
        a.body
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()["ticket_scope"]
            .clone()
    };
    assert_eq!(scope(&agents, admin.id), 1);
    assert_eq!(scope(&agents, global.id), 1);
    assert_eq!(scope(&agents, grouped.id), 2);
    assert_eq!(scope(&agents, assigned.id), 3);
    let me = get(&app, &grouped, "/agents/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        (
            me.body["id"].clone(),
            me.body["ticket_scope"].clone(),
            me.body["group_ids"].clone(),
            me.body["contact"]["email"].clone()
        ),
        (
            json!(grouped.id),
            json!(2),
            json!([support]),
            json!(grouped.email)
        )
    );
    assert!(me.body["contact"]["name"].is_string() && me.body["created_at"].is_string());
    assert_eq!(
        get(&app, &assigned, &format!("/agents/{}", assigned.id))
            .await
            .body["ticket_scope"],
        3
    );
    assert_empty_404(
        &get(&app, &global, &format!("/agents/{}", plain.id)).await,
        "an end user is not an agent",
    );
    assert_eq!(
        get(&app, &plain, "/agents/me").await.status,
        StatusCode::FORBIDDEN
    );

    let companies = get(&app, &global, "/companies").await;
    assert_eq!(ids(&companies), vec![acme, globex]);
    let company = get(&app, &global, &format!("/companies/{acme}")).await;
    assert_eq!(
        (
            company.body["name"].clone(),
            company.body["sharing"].clone()
        ),
        (json!("Acme"), json!("own_only"))
    );
    assert!(company.body["created_at"].is_string());
    assert_eq!(
        ids(&get(&app, &plain, "/companies").await),
        vec![acme],
        "end users see their own"
    );
    assert_empty_404(
        &get(&app, &plain, &format!("/companies/{globex}")).await,
        "someone else's company",
    );
    let groups = get(&app, &global, "/groups").await;
    assert_eq!(ids(&groups), vec![support]);
    let g = get(&app, &global, &format!("/groups/{support}")).await;
    assert_eq!(
        (g.body["name"].clone(), g.body["agent_ids"].clone()),
        (json!("Support"), json!([grouped.id]))
    );
}

async fn search_translates_freshdesk_filter_queries(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.agent(TicketScope::Global, &[]).await;
    let finance = group(&app, &admin, "Finance", &[agent.id]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let make = |extra: Value| {
        let mut body = json!({"requester_id": customer.id});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let a = app
        .ticket(
            &admin.token,
            make(json!({"priority": "high", "tags": ["vip"], "group_id": finance})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let b = app
        .ticket(
            &admin.token,
            make(json!({"priority": "low", "status": "Pending", "assignee_id": agent.id})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let c = app
        .ticket(&admin.token, make(json!({"priority": "urgent"})))
        .await["id"]
        .as_i64()
        .unwrap();
    let mine = app.ticket(&agent.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let search = |who: &TestUser, query: &str| {
        let who = who.clone();
        let query = query.to_owned();
        let app = &app;
        async move {
            let token = who.token.clone();
            let encoded = serde_urlencoded::to_string([("query", query.as_str())]).unwrap();
            app.raw_at(
                move |cl, url| cl.get(url).basic_auth(token, Some("X")),
                &format!("{FD}/search/tickets?{encoded}"),
            )
            .await
        }
    };
    let found = |a: &Answer| -> Vec<i64> {
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let mut v: Vec<i64> = a.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    let both = search(&admin, "\"status:2 AND priority:3\"").await;
    assert_eq!(found(&both), vec![a]);
    assert_eq!(both.body["total"], 1);
    assert_eq!(found(&search(&admin, "\"tag:'vip'\"").await), vec![a]);
    assert_eq!(found(&search(&admin, "\"status:3\"").await), vec![b]);
    assert_eq!(
        found(&search(&admin, &format!("\"agent_id:{}\"", agent.id)).await),
        vec![b]
    );
    assert_eq!(
        found(&search(&admin, &format!("\"group_id:{finance}\"")).await),
        vec![a]
    );
    assert_eq!(
        found(&search(&admin, "\"agent_id:null AND priority:4\"").await),
        vec![c]
    );
    assert_eq!(
        found(&search(&admin, "\"status:42\"").await),
        Vec::<i64>::new()
    );
    assert_eq!(
        found(&search(&admin, &format!("\"requester_id:{}\"", agent.id)).await),
        vec![mine]
    );
    for bad in [
        "\"status:2 OR status:3\"",
        "\"(status:2)\"",
        "\"priority:>2\"",
        "\"due_by:'2026-01-01'\"",
        "\"printer\"",
    ] {
        assert_eq!(first_error(&search(&admin, bad).await).0, "query", "{bad}");
    }
    let token = admin.token.clone();
    let too_far = app
        .raw_at(
            move |cl, url| cl.get(url).basic_auth(token, Some("X")),
            &format!("{FD}/search/tickets?page=11&query=%22status:2%22"),
        )
        .await;
    assert_eq!(first_error(&too_far).0, "page");
    let theirs = search(&customer, "\"status:2\"").await;
    assert_eq!(found(&theirs), vec![a, c], "end users find only their own");
    assert_eq!(
        first_error(&search(&customer, &format!("\"group_id:{finance}\"")).await).0,
        "query",
        "end users may not search by group"
    );
}

/// Puts `org` in `sharing` through the sharing workflow: `member` asks in a ticket and
/// confirms in a comment, an admin submits the change.
async fn share(app: &TestApp, admin: &TestUser, org: i64, member: &TestUser, sharing: &str) {
    let ask = app
        .ticket(
            &member.token,
            json!({"subject": "Please share our tickets"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let confirm = app
        .post(
            &member.token,
            &format!("/tickets/{ask}/comments"),
            json!({"body": format!("We confirm {sharing}, and accept the risk for Acme.")}),
        )
        .await;
    assert_eq!(confirm.status, StatusCode::CREATED, "{}", confirm.body);
    let c = confirm.body["id"].as_i64().unwrap();
    let done = app
        .post(
            &admin.token,
            &format!("/organizations/{org}/sharing-changes"),
            json!({"ticket_id": ask, "sharing": sharing, "type_confirmed_comment_id": c, "risk_approved_comment_id": c}),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
}

/// What `who` may do with ticket `t`, through every Freshdesk path, checked against
/// `/api/v1` and the expectation.
async fn check(app: &TestApp, who: &TestUser, t: i64, view: bool, comment: bool, label: &str) {
    let v1 = app.get(&who.token, &format!("/tickets/{t}")).await.status;
    assert_eq!(
        v1 == StatusCode::OK,
        view,
        "{label}: /api/v1 agrees with the table"
    );
    let show = get(app, who, &format!("/tickets/{t}")).await;
    if view {
        assert_eq!(show.status, StatusCode::OK, "{label}: show");
    } else {
        assert_empty_404(&show, &format!("{label}: show"));
    }
    let list = get(app, who, "/tickets?per_page=100").await;
    assert_eq!(ids(&list).contains(&t), view, "{label}: list");
    let conversations = get(app, who, &format!("/tickets/{t}/conversations")).await;
    assert_eq!(
        conversations.status,
        if view {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        },
        "{label}: conversations"
    );
    let token = who.token.clone();
    let search = app
        .raw_at(
            move |c, url| c.get(url).basic_auth(token, Some("X")),
            &format!("{FD}/search/tickets?query=%22status:2%22"),
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "{label}: {}", search.body);
    let found = search.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == t);
    assert_eq!(found, view, "{label}: search");
    let reply = post(
        app,
        who,
        &format!("/tickets/{t}/reply"),
        json!({"body": format!("reply from {label}")}),
    )
    .await;
    match (view, comment) {
        (false, _) => assert_empty_404(&reply, &format!("{label}: reply")),
        (true, false) => {
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{label}: reply");
            assert_eq!(reply.body["code"], "access_denied", "{label}");
            assert!(reply.body["message"].is_string());
        }
        (true, true) => assert_eq!(reply.status, StatusCode::CREATED, "{label}: reply"),
    }
    let update = put(app, who, &format!("/tickets/{t}"), json!({"priority": 4})).await;
    if !view {
        assert_empty_404(&update, &format!("{label}: update"));
    }
}

async fn the_access_policy_holds_through_the_freshdesk_api(app: TestApp) {
    let admin = app.admin().await;
    let acme = organization(&app, &admin, "Acme").await;
    let alice = app.end_user(&[acme], UserAccess::Requested).await;
    let bob = app.end_user(&[acme], UserAccess::Requested).await;
    let reader = app.end_user(&[acme], UserAccess::Organization).await;
    let stranger = app.end_user(&[], UserAccess::Requested).await;
    let billing = group(&app, &admin, "Billing", &[]).await;
    let support = group(&app, &admin, "Support", &[]).await;
    let outside = app.agent(TicketScope::Group, &[support]).await;
    let inside = app.agent(TicketScope::Group, &[billing]).await;
    let t = app
        .ticket(
            &admin.token,
            json!({"requester_id": alice.id, "group_id": billing}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    check(&app, &alice, t, true, true, "requester").await;
    check(&app, &bob, t, false, false, "member, own_only").await;
    check(
        &app,
        &reader,
        t,
        true,
        false,
        "member with organization access",
    )
    .await;
    check(&app, &stranger, t, false, false, "stranger").await;
    check(
        &app,
        &outside,
        t,
        false,
        false,
        "group agent outside the group",
    )
    .await;
    check(&app, &inside, t, true, true, "group agent in the group").await;
    let note = post(
        &app,
        &outside,
        &format!("/tickets/{t}/notes"),
        json!({"body": "x"}),
    )
    .await;
    assert_empty_404(&note, "a note on a ticket outside the agent's groups");

    share(&app, &admin, acme, &alice, "read_only").await;
    check(&app, &bob, t, true, false, "member, read_only").await;
    check(&app, &stranger, t, false, false, "stranger, read_only").await;
    let seen = get(&app, &bob, &format!("/tickets/{t}")).await;
    assert!(
        seen.body.get("group_id").is_none() && seen.body.get("internal_group_id").is_none(),
        "end users never see internal fields: {}",
        seen.body
    );
    let convo = get(&app, &bob, &format!("/tickets/{t}/conversations")).await;
    assert!(
        convo
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["private"] == false),
        "{}",
        convo.body
    );

    share(&app, &admin, acme, &alice, "read_write").await;
    check(&app, &bob, t, true, true, "member, read_write").await;
    check(&app, &stranger, t, false, false, "stranger, read_write").await;
    check(
        &app,
        &outside,
        t,
        false,
        false,
        "group agent outside, read_write",
    )
    .await;
}

async fn errors_come_in_freshdesk_shapes(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let bad = app
        .raw_at(
            |c, url| c.get(url).basic_auth("not-a-token", Some("X")),
            &format!("{FD}/tickets"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.body,
        json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."})
    );
    let none = app
        .raw_at(|c, url| c.get(url), &format!("{FD}/agents/me"))
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["code"], "invalid_credentials");
    let token = agent.token.clone();
    let bearer = app
        .raw_at(
            move |c, url| c.get(url).bearer_auth(token),
            &format!("{FD}/agents/me"),
        )
        .await;
    assert_eq!(bearer.status, StatusCode::OK, "our Bearer tokens work too");
    assert_empty_404(
        &get(&app, &agent, "/tickets/999999").await,
        "no such ticket",
    );
    assert_empty_404(&get(&app, &agent, "/tickets/abc").await, "not an id");
    assert_empty_404(&get(&app, &agent, "/nothing/here").await, "no such route");
    let token = agent.token.clone();
    let broken = app
        .raw_at(
            move |c, url| {
                c.post(url)
                    .basic_auth(token, Some("X"))
                    .header("content-type", "application/json")
                    .body("{\"subject\": ")
            },
            &format!("{FD}/tickets"),
        )
        .await;
    assert_eq!(first_error(&broken).1, "invalid_json");
    let not_object = post(&app, &agent, "/tickets", json!([1, 2])).await;
    assert_eq!(first_error(&not_object).1, "invalid_json");
    let invalid = post(
        &app,
        &agent,
        "/tickets",
        json!({"subject": "x", "description": "y", "company_id": 12345}),
    )
    .await;
    assert_eq!(first_error(&invalid).0, "company_id");
}

on_both_databases!(
    tickets_list_as_bare_arrays_with_a_link_only_while_more_follow,
    tickets_are_created_read_and_updated_in_freshdesk_codes,
    internal_groups_must_be_mapped_to_the_status,
    replies_notes_and_conversations,
    contacts_agents_companies_and_groups,
    search_translates_freshdesk_filter_queries,
    the_access_policy_holds_through_the_freshdesk_api,
    errors_come_in_freshdesk_shapes,
);
