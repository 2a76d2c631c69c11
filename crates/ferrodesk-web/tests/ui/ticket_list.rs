//! HTML tests: the ticket list's order in the address, the "updated since you last looked"
//! marker, and the ticket page's presence poll (no JavaScript: the fragment it fetches).

use super::*;

/// The position of each subject's link in a page (`None`: not on it).
fn at(body: &str, subject: &str) -> Option<usize> {
    body.find(&format!(">{subject}</a>"))
}

/// The subjects of `subjects` in the order the page lists them.
fn order(body: &str, subjects: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, &str)> = subjects
        .iter()
        .filter_map(|s| at(body, s).map(|p| (p, *s)))
        .collect();
    found.sort();
    found.into_iter().map(|(_, s)| s.to_owned()).collect()
}

/// The `href` of the link inside the element with `id`.
fn link_in(body: &str, id: &str) -> String {
    let at = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + body[at..].find("href=\"").expect("a link") + "href=\"".len();
    body[start..start + body[start..].find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

async fn a_column_sorts_the_list_in_the_address_and_saves_nothing(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    for (subject, priority) in [
        ("Banana split", "urgent"),
        ("Apple tart", "low"),
        ("Cherry pie", "high"),
    ] {
        app.ticket(&c.token, json!({"subject": subject, "priority": priority}))
            .await;
    }
    let statuses = app.get(&admin.token, "/statuses").await.body;
    let pending = statuses["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["category"] == "pending")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let cherry = app
        .ticket(&c.token, json!({"subject": "Cherry crumble"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let patched = app
        .patch(
            &a.token,
            &format!("/tickets/{cherry}"),
            json!({"status_id": pending}),
        )
        .await;
    assert!(patched.status.is_success(), "{}", patched.body);
    let mine = app
        .post(
            &a.token,
            "/views",
            json!({"name": "Everything", "conditions": {"all": [], "any": []},
                   "sort": {"by": "updated_at", "order": "desc"}}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let views_before = app.get(&a.token, "/views").await.body;
    let subjects = ["Apple tart", "Banana split", "Cherry pie", "Cherry crumble"];
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;

    // The view in its own order: newest change first.
    let page = b.get(&format!("/agent/tickets?view={mine}")).await;
    assert_eq!(order(&page.body, &subjects)[0], "Cherry crumble");
    // Its "Subject" heading sorts A to Z, keeping the view.
    let href = link_in(&page.body, "col-subject");
    assert!(href.contains(&format!("view={mine}")), "{href}");
    assert!(href.contains("sort=subject&dir=asc"), "{href}");
    let page = b.get(&href).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        order(&page.body, &subjects),
        ["Apple tart", "Banana split", "Cherry crumble", "Cherry pie"]
    );
    assert!(
        page.body
            .contains(r#"id="col-subject" class="col-subject" aria-sort="ascending""#)
    );
    assert_eq!(page.body.matches("aria-sort=").count(), 1);
    assert!(page.body.contains("<h1>Everything</h1>"));
    // A second click turns it round.
    let page = b.get(&link_in(&page.body, "col-subject")).await;
    assert_eq!(
        order(&page.body, &subjects),
        ["Cherry pie", "Cherry crumble", "Banana split", "Apple tart"]
    );
    assert!(page.body.contains(r#"aria-sort="descending""#));
    // Priority: urgent first.
    let page = b
        .get(&format!(
            "/agent/tickets?view={mine}&sort=priority&dir=desc"
        ))
        .await;
    let by_priority = order(&page.body, &subjects);
    assert_eq!(by_priority[0], "Banana split");
    assert_eq!(by_priority[1], "Cherry pie");
    assert_eq!(by_priority[3], "Apple tart");
    // Filtering inside the view keeps the view and the order: the form carries both.
    let form_start = page.body.find(r#"aria-label="Filter tickets""#).unwrap();
    let form =
        &page.body[form_start..form_start + page.body[form_start..].find("</form>").unwrap()];
    assert!(
        form.contains(&format!(r#"name="view" value="{mine}""#)),
        "{form}"
    );
    assert!(form.contains(r#"name="sort" value="priority""#), "{form}");
    let filtered = b
        .get(&format!(
            "/agent/tickets?view={mine}&status_id={pending}&sort=priority&dir=desc"
        ))
        .await;
    assert_eq!(order(&filtered.body, &subjects), ["Cherry crumble"]);
    assert!(filtered.body.contains("<h1>Everything</h1>"));
    // The plain list sorts the same way.
    let page = b.get("/agent/tickets?sort=subject&dir=asc").await;
    assert_eq!(order(&page.body, &subjects)[0], "Apple tart");
    // A column the list cannot sort by: a 400 that says so, the list in its own order.
    let bad = b
        .get(&format!("/agent/tickets?view={mine}&sort=requester"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("cannot be sorted by that column"),
        "{}",
        bad.body
    );
    assert_eq!(order(&bad.body, &subjects)[0], "Cherry crumble");
    // Nothing of this made or changed a view.
    assert_eq!(app.get(&a.token, "/views").await.body, views_before);
}

async fn a_sorted_list_pages_through_every_ticket_once(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let mut subjects = Vec::new();
    for i in 1..=28 {
        let s = format!("Request {i:02}");
        app.ticket(&c.token, json!({"subject": s})).await;
        subjects.push(s);
    }
    let names: Vec<&str> = subjects.iter().map(String::as_str).collect();
    let view = app
        .post(
            &a.token,
            "/views",
            json!({"name": "Everything", "conditions": {"all": [], "any": []},
                   "sort": {"by": "updated_at", "order": "desc"}}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    for start in [
        "/agent/tickets?sort=subject&dir=desc".to_owned(),
        format!("/agent/tickets?view={view}&sort=subject&dir=desc"),
        format!("/agent/tickets?view={view}&sort=number&dir=asc"),
    ] {
        let first = b.get(&start).await;
        assert_eq!(first.status, StatusCode::OK, "{start}");
        let seen_first = order(&first.body, &names);
        assert_eq!(seen_first.len(), 25, "{start}");
        let next = {
            let at = first.body.find(r#"rel="next""#).expect("a next page");
            let start = first.body[..at].rfind("href=\"").unwrap() + 6;
            first.body[start..start + first.body[start..].find('"').unwrap()]
                .replace("&amp;", "&")
                .replace("&#38;", "&")
        };
        assert!(next.contains("sort=") && next.contains("cursor="), "{next}");
        let second = b.get(&next).await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.body);
        let seen_second = order(&second.body, &names);
        assert_eq!(seen_second.len(), 3, "{start}");
        let mut all = seen_first.clone();
        all.extend(seen_second);
        if start.contains("subject") {
            let mut want: Vec<String> = subjects.clone();
            want.reverse();
            assert_eq!(all, want, "{start}");
        } else {
            assert_eq!(all, subjects, "{start}");
        }
    }
}

/// Whether the list marks the ticket as updated since the agent last looked.
fn marked(body: &str, id: i64) -> bool {
    body.contains(&format!(
        r#"class="ticket-row fresh" data-href="/agent/tickets/{id}""#
    ))
}

async fn the_list_marks_tickets_changed_since_the_agent_last_looked(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let other = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let id = app
        .ticket(&c.token, json!({"subject": "Invoice missing"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    // Never opened: new to the agent.
    let list = b.get("/agent/tickets").await;
    assert!(marked(&list.body, id), "{}", list.body);
    assert!(list.body.contains("Updated since you last looked"));
    // Opened: no longer marked.
    assert_eq!(
        b.get(&format!("/agent/tickets/{id}")).await.status,
        StatusCode::OK
    );
    let list = b.get("/agent/tickets").await;
    assert!(!marked(&list.body, id));
    assert!(
        list.body
            .contains(&format!(r#"data-href="/agent/tickets/{id}""#))
    );
    // A colleague changes it: marked again, until the agent opens it once more.
    let changed = app
        .patch(
            &other.token,
            &format!("/tickets/{id}"),
            json!({"priority": "high"}),
        )
        .await;
    assert!(changed.status.is_success(), "{}", changed.body);
    assert!(marked(&b.get("/agent/tickets").await.body, id));
    b.get(&format!("/agent/tickets/{id}")).await;
    assert!(!marked(&b.get("/agent/tickets").await.body, id));
    // Another agent's looking is their own: the colleague still sees it as new.
    let mut o = Browser::new(&app);
    o.sign_in(&other.email).await;
    assert!(marked(&o.get("/agent/tickets").await.body, id));
    // Opening it is no ticket change: same version, nothing in its history.
    let before = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    b.get(&format!("/agent/tickets/{id}")).await;
    let after = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(before["version"], after["version"]);
    assert_eq!(before["updated_at"], after["updated_at"]);
}

async fn presence_names_the_colleague_and_their_change_and_hides_other_tickets(app: TestApp) {
    let admin = app.admin().await;
    let ada = person(
        &app,
        UserIn {
            name: "Ada Admin".into(),
            ..user_in("Ada", Role::Admin)
        },
    )
    .await;
    let a = agent(&app, TicketScope::Global).await;
    let narrow = agent(&app, TicketScope::Assigned).await;
    let c = customer(&app, &[]).await;
    let t = app
        .ticket(&c.token, json!({"subject": "Cannot log in"}))
        .await;
    let (id, version) = (t["id"].as_i64().unwrap(), t["version"].as_i64().unwrap());
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let page = b.get(&format!("/agent/tickets/{id}")).await;
    assert!(page.body.contains(&format!(
        r#"data-presence="/agent/tickets/{id}/presence?version={version}""#
    )));
    let poll = format!("/agent/tickets/{id}/presence?version={version}");
    // Alone, and nothing changed: an empty fragment.
    let alone = b.get(&poll).await;
    assert_eq!(alone.status, StatusCode::OK);
    assert!(!alone.body.contains("also looking"), "{}", alone.body);
    assert!(!alone.body.contains("changed this ticket"));
    // Ada opens it: the agent reads her name.
    let mut ada_b = Browser::new(&app);
    ada_b.sign_in(&ada.email).await;
    ada_b.get(&format!("/agent/tickets/{id}")).await;
    let looking = b.get(&poll).await;
    assert!(
        looking
            .body
            .contains("Ada Admin is also looking at this ticket"),
        "{}",
        looking.body
    );
    // Ada changes it: the agent's page is told who changed it.
    let changed = app
        .patch(
            &ada.token,
            &format!("/tickets/{id}"),
            json!({"priority": "urgent"}),
        )
        .await;
    assert!(changed.status.is_success(), "{}", changed.body);
    let told = b.get(&poll).await;
    assert!(
        told.body.contains("Ada Admin changed this ticket"),
        "{}",
        told.body
    );
    assert!(told.body.contains("seconds ago"), "{}", told.body);
    assert!(told.body.contains("reload to see"));
    // Ada herself, at the new version, sees the agent and no change.
    let new_version = changed.body["version"].as_i64().unwrap();
    let hers = ada_b
        .get(&format!(
            "/agent/tickets/{id}/presence?version={new_version}"
        ))
        .await;
    assert!(
        hers.body.contains("Agent is also looking at this ticket"),
        "{}",
        hers.body
    );
    assert!(!hers.body.contains("changed this ticket"));
    // An agent who may not see the ticket: 404, and they do not count as looking.
    let mut n = Browser::new(&app);
    n.sign_in(&narrow.email).await;
    assert_eq!(n.get(&poll).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        n.get(&format!("/agent/tickets/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let still = b.get(&poll).await;
    assert_eq!(
        still.body.matches("is also looking").count(),
        1,
        "{}",
        still.body
    );
    // Customers never reach it.
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    let refused = cb.get(&poll).await;
    assert_ne!(refused.status, StatusCode::OK);
    let _ = admin;
}

/// Opening a ticket and polling its page record the look in one statement that takes no
/// writers' lock (on PostgreSQL the page loads while another transaction holds the audit
/// head); a late write never moves either time back.
async fn a_look_is_recorded_outside_the_writers_lock_and_never_moves_a_time_back(app: TestApp) {
    use ferrodesk_store::seen::{self, Look};
    let a = agent(&app, TicketScope::Global).await;
    let t = app.ticket(&a.token, json!({"subject": "Slow VPN"})).await;
    let (id, version) = (t["id"].as_i64().unwrap(), t["version"].as_i64().unwrap());
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let store = app.app.store();
    let times = || async {
        let mut c = store.read().await.unwrap();
        seen::times(&mut c, a.id, id).await.unwrap()
    };
    assert_eq!(times().await, None);
    let held = if app.backend == ferrodesk_testkit::Backend::Postgres {
        // A writer holds the audit head (as every ticket change does) while the agent
        // opens the page and its poll runs: neither waits for it.
        Some(store.begin_unscoped().await.unwrap())
    } else {
        None
    };
    let wait = std::time::Duration::from_secs(20);
    let page = tokio::time::timeout(wait, b.get(&format!("/agent/tickets/{id}")))
        .await
        .expect("the ticket page does not wait for the writers' lock");
    assert_eq!(page.status, StatusCode::OK);
    let (seen_at, pinged_at) = times().await.expect("the look is recorded");
    assert!(seen_at > 0 && pinged_at == seen_at, "{seen_at} {pinged_at}");
    let poll = tokio::time::timeout(
        wait,
        b.get(&format!("/agent/tickets/{id}/presence?version={version}")),
    )
    .await
    .expect("the poll does not wait for the writers' lock");
    assert_eq!(poll.status, StatusCode::OK);
    let (seen_after_poll, pinged_after_poll) = times().await.unwrap();
    assert_eq!(
        seen_after_poll, seen_at,
        "a poll is not a look at the changes"
    );
    assert!(pinged_after_poll >= pinged_at);
    if let Some(tx) = held {
        tx.rollback().await.unwrap();
    }
    // Writes arriving late (an older time) change neither time; a newer one moves each.
    let mut w = store.side_write().await.unwrap();
    seen::record(&mut w, a.id, id, Look::Opened, seen_at - 5_000_000)
        .await
        .unwrap();
    seen::record(
        &mut w,
        a.id,
        id,
        Look::Polled,
        pinged_after_poll - 5_000_000,
    )
    .await
    .unwrap();
    assert_eq!(times().await, Some((seen_at, pinged_after_poll)));
    seen::record(&mut w, a.id, id, Look::Polled, pinged_after_poll + 7)
        .await
        .unwrap();
    assert_eq!(times().await, Some((seen_at, pinged_after_poll + 7)));
    seen::record(&mut w, a.id, id, Look::Opened, pinged_after_poll + 9)
        .await
        .unwrap();
    assert_eq!(
        times().await,
        Some((pinged_after_poll + 9, pinged_after_poll + 9))
    );
}

on_both_databases!(
    a_look_is_recorded_outside_the_writers_lock_and_never_moves_a_time_back,
    a_column_sorts_the_list_in_the_address_and_saves_nothing,
    a_sorted_list_pages_through_every_ticket_once,
    the_list_marks_tickets_changed_since_the_agent_last_looked,
    presence_names_the_colleague_and_their_change_and_hides_other_tickets,
);
