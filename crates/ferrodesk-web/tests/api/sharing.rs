//! The sharing workflow of SPEC §2.1, the register, the preview, access explanation.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

/// An organization with two members; `alice` asked for sharing in a ticket and wrote
/// `confirm` (type) and `approve` (risk) there.
struct World {
    admin: TestUser,
    org: i64,
    alice: TestUser,
    bob: TestUser,
    ticket: i64,
    confirm: i64,
    approve: i64,
}

async fn comment(app: &TestApp, who: &TestUser, ticket: i64, body: &str, public: bool) -> i64 {
    let a = app
        .post(
            &who.token,
            &format!("/tickets/{ticket}/comments"),
            json!({"body": body, "public": public}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["id"].as_i64().unwrap()
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let s = app
        .patch(
            &admin.token,
            "/settings",
            json!({"public_base_url": "https://desk.example.com/"}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let alice = app.end_user(&[org], UserAccess::Requested).await;
    let bob = app.end_user(&[org], UserAccess::Requested).await;
    let ticket = app
        .ticket(
            &alice.token,
            json!({"subject": "Please let my team see our tickets"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let confirm = comment(app, &alice, ticket, "We want read only.", true).await;
    let approve = comment(
        app,
        &alice,
        ticket,
        "On behalf of Acme we accept the security risk.",
        true,
    )
    .await;
    World {
        admin,
        org,
        alice,
        bob,
        ticket,
        confirm,
        approve,
    }
}

async fn change(
    app: &TestApp,
    w: &World,
    ticket: i64,
    sharing: &str,
    confirm: Option<i64>,
    approve: Option<i64>,
) -> ferrodesk_testkit::Answer {
    app.post(
        &w.admin.token,
        &format!("/organizations/{}/sharing-changes", w.org),
        json!({"ticket_id": ticket, "sharing": sharing, "type_confirmed_comment_id": confirm, "risk_approved_comment_id": approve}),
    )
    .await
}

fn codes(a: &ferrodesk_testkit::Answer) -> Vec<String> {
    a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// Everything a refused change must leave untouched.
async fn snapshot(app: &TestApp, w: &World) -> Value {
    let org = app
        .get(&w.admin.token, &format!("/organizations/{}", w.org))
        .await
        .body;
    let t = app
        .get(&w.admin.token, &format!("/tickets/{}", w.ticket))
        .await
        .body;
    let comments = app
        .get(&w.admin.token, &format!("/tickets/{}/comments", w.ticket))
        .await
        .ids();
    let history = app
        .get(
            &w.admin.token,
            &format!("/organizations/{}/sharing-changes", w.org),
        )
        .await
        .body;
    let audit = app.app.verify_audit(&[]).await.unwrap().unwrap();
    json!({"org": org, "ticket": t, "comments": comments, "history": history, "audit": audit})
}

async fn every_failed_precheck_is_listed_and_nothing_changes(app: TestApp) {
    let w = world(&app).await;
    let outsider = app.end_user(&[], UserAccess::Requested).await;
    let foreign = app.ticket(&outsider.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let staff_note = comment(&app, &w.admin, foreign, "internal", false).await;
    app.patch(
        &w.admin.token,
        &format!("/organizations/{}", w.org),
        json!({"sharing_blocked": true, "sharing_blocked_reason": "Legal said no (2025)"}),
    )
    .await;
    let before = snapshot(&app, &w).await;
    let all = change(&app, &w, foreign, "read_only", Some(staff_note), None).await;
    assert_eq!(all.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(all.body["code"], "prechecks_failed");
    assert_eq!(
        codes(&all),
        vec![
            "type_confirmed",
            "risk_approved",
            "not_blocked",
            "requester_member"
        ]
    );
    assert!(
        all.body["errors"][2]["message"]
            .as_str()
            .unwrap()
            .contains("Legal said no"),
        "{}",
        all.body
    );
    assert_eq!(snapshot(&app, &w).await, before, "nothing changed");
}

async fn each_precheck_fails_alone(app: TestApp) {
    let w = world(&app).await;
    let agent = app.agent(TicketScope::Global, &[]).await;
    let staff_reply = comment(&app, &agent, w.ticket, "Could you confirm the type?", true).await;
    let private = comment(&app, &agent, w.ticket, "note", false).await;
    let other_ticket = app.ticket(&w.alice.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let elsewhere = comment(&app, &w.alice, other_ticket, "read only please", true).await;
    let outsider = app.end_user(&[], UserAccess::Requested).await;
    app.patch(
        &w.admin.token,
        &format!("/tickets/{}", w.ticket),
        json!({"cc_ids": [outsider.id]}),
    )
    .await;
    let by_outsider = comment(&app, &outsider, w.ticket, "I approve too", true).await;
    let before = snapshot(&app, &w).await;
    for (confirm, approve, expected) in [
        (None, Some(w.approve), "type_confirmed"),
        (Some(staff_reply), Some(w.approve), "type_confirmed"),
        (Some(private), Some(w.approve), "type_confirmed"),
        (Some(elsewhere), Some(w.approve), "type_confirmed"),
        (Some(by_outsider), Some(w.approve), "type_confirmed"),
        (Some(999_999), Some(w.approve), "type_confirmed"),
        (Some(w.confirm), None, "risk_approved"),
        (Some(w.confirm), Some(staff_reply), "risk_approved"),
    ] {
        let a = change(&app, &w, w.ticket, "read_only", confirm, approve).await;
        assert_eq!(
            codes(&a),
            vec![expected],
            "{confirm:?} {approve:?}: {}",
            a.body
        );
    }
    let same = change(&app, &w, w.ticket, "own_only", Some(w.confirm), None).await;
    assert_eq!(codes(&same), vec!["value_changes"]);
    let bob_ticket = app.ticket(&w.bob.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    app.delete(
        &w.admin.token,
        &format!("/organizations/{}/members/{}", w.org, w.bob.id),
    )
    .await;
    let not_member = change(
        &app,
        &w,
        bob_ticket,
        "read_only",
        Some(w.confirm),
        Some(w.approve),
    )
    .await;
    assert!(
        codes(&not_member).contains(&"requester_member".to_owned()),
        "{}",
        not_member.body
    );
    app.patch(
        &w.admin.token,
        &format!("/organizations/{}", w.org),
        json!({"sharing_blocked": true}),
    )
    .await;
    let blocked = change(
        &app,
        &w,
        w.ticket,
        "read_write",
        Some(w.confirm),
        Some(w.confirm),
    )
    .await;
    assert_eq!(codes(&blocked), vec!["not_blocked"]);
    let org = app
        .get(&w.admin.token, &format!("/organizations/{}", w.org))
        .await
        .body;
    assert_eq!(org["sharing"], before["org"]["sharing"]);
    assert_eq!(org["details"], before["org"]["details"]);
    let agent_try = app
        .post(
            &agent.token,
            &format!("/organizations/{}/sharing-changes", w.org),
            json!({"ticket_id": w.ticket, "sharing": "read_only"}),
        )
        .await;
    assert_eq!(
        agent_try.status,
        StatusCode::FORBIDDEN,
        "only admins change sharing"
    );
}

async fn enabling_read_only_then_read_write_then_disabling_follows_the_runbook(app: TestApp) {
    let w = world(&app).await;
    let date = today();
    let url = format!("https://desk.example.com/agent/tickets/{}", w.ticket);

    let ro = change(
        &app,
        &w,
        w.ticket,
        "read_only",
        Some(w.confirm),
        Some(w.approve),
    )
    .await;
    assert_eq!(ro.status, StatusCode::CREATED, "{}", ro.body);
    assert_eq!(
        ro.body["details_line"],
        format!("Shared organization (read only) enabled {date} as per {url}")
    );
    let org = app
        .get(&w.admin.token, &format!("/organizations/{}", w.org))
        .await
        .body;
    assert_eq!(org["sharing"], "read_only");
    assert_eq!(
        org["details"],
        format!("Shared organization (read only) enabled {date} as per {url}")
    );
    let t = app
        .get(&w.admin.token, &format!("/tickets/{}", w.ticket))
        .await
        .body;
    assert_eq!(t["status"], "Resolved");
    assert_eq!(
        t["sharing_check"]["type_confirmed"]["comment_id"],
        w.confirm
    );
    assert_eq!(
        t["sharing_check"]["type_confirmed"]["by_user_id"],
        w.alice.id
    );
    assert_eq!(t["sharing_check"]["risk_approved"]["comment_id"], w.approve);
    assert_eq!(t["sharing_check"]["checked_by"], w.admin.id);
    let seen_by_customer = app
        .get(&w.alice.token, &format!("/tickets/{}", w.ticket))
        .await
        .body;
    assert!(
        seen_by_customer.get("sharing_check").is_none(),
        "customers never see the check metadata"
    );
    let comments = app
        .get(&w.alice.token, &format!("/tickets/{}/comments", w.ticket))
        .await
        .body;
    let last = comments["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["author_id"].as_i64(), last["public"].as_bool()),
        (Some(w.admin.id), Some(true))
    );
    assert!(
        last["body"]
            .as_str()
            .unwrap()
            .contains("read only) is now enabled for Acme"),
        "{}",
        last["body"]
    );

    // The customer writes again in a new request to upgrade.
    let again = app
        .ticket(
            &w.alice.token,
            json!({"subject": "Please make it read+write"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let c = comment(
        &app,
        &w.alice,
        again,
        "read+write please, we accept the risk",
        true,
    )
    .await;
    let rw = change(&app, &w, again, "read_write", Some(c), Some(c)).await;
    assert_eq!(rw.status, StatusCode::CREATED, "{}", rw.body);
    let register = app.get(&w.admin.token, "/sharing-register").await.body;
    assert_eq!(register.as_array().unwrap().len(), 1);
    assert_eq!(register[0]["sharing"], "read_write");
    assert_eq!(register[0]["ticket_id"], again);
    let csv = app
        .raw(
            |cl, u| {
                cl.get(u)
                    .bearer_auth(&w.admin.token)
                    .header("Accept", "text/csv")
            },
            "/sharing-register",
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");

    let off_ticket = app
        .ticket(&w.alice.token, json!({"subject": "Switch it off"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let c = comment(&app, &w.alice, off_ticket, "Please disable sharing", true).await;
    let off = change(&app, &w, off_ticket, "own_only", Some(c), None).await;
    assert_eq!(off.status, StatusCode::CREATED, "{}", off.body);
    let org = app
        .get(&w.admin.token, &format!("/organizations/{}", w.org))
        .await
        .body;
    let off_url = format!("https://desk.example.com/agent/tickets/{off_ticket}");
    let again_url = format!("https://desk.example.com/agent/tickets/{again}");
    assert_eq!(
        org["details"],
        format!(
            "Shared organization (read only) enabled {date} as per {url}\n\
             Shared organization (read+write) enabled {date} as per {again_url}\n\
             Shared organization disabled {date} as per {off_url}"
        )
    );
    let history = app
        .get(
            &w.admin.token,
            &format!("/organizations/{}/sharing-changes", w.org),
        )
        .await
        .body;
    let steps: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["sharing_before"].as_str().unwrap().to_owned(),
                h["sharing_after"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("own_only".into(), "read_only".into()),
            ("read_only".into(), "read_write".into()),
            ("read_write".into(), "own_only".into())
        ]
    );
    assert_eq!(
        app.get(&w.admin.token, "/sharing-register").await.body,
        json!([])
    );
    let events = app
        .get(&w.admin.token, &format!("/tickets/{off_ticket}/events"))
        .await
        .body;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.ends_with(&["comment_added", "updated"]),
        "{actions:?}"
    );
    assert!(app.app.verify_audit(&[]).await.unwrap().is_ok());
}

async fn a_read_only_member_views_colleagues_tickets_comments_on_their_own_and_loses_sight_at_once(
    app: TestApp,
) {
    let w = world(&app).await;
    let bobs = app
        .ticket(&w.bob.token, json!({"subject": "Bob's VPN"}))
        .await["id"]
        .as_i64()
        .unwrap();
    // Twice: the second read finds Alice's organizations in the cache.
    for _ in 0..2 {
        assert_eq!(
            app.get(&w.alice.token, &format!("/tickets/{bobs}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        change(
            &app,
            &w,
            w.ticket,
            "read_only",
            Some(w.confirm),
            Some(w.approve)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.get(&w.alice.token, &format!("/tickets/{bobs}"))
            .await
            .status,
        StatusCode::OK,
        "in force on the next request"
    );
    let reply = app
        .post(
            &w.alice.token,
            &format!("/tickets/{bobs}/comments"),
            json!({"body": "me too"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["code"], "comment_not_allowed");
    assert_eq!(
        app.post(
            &w.alice.token,
            &format!("/tickets/{}/comments", w.ticket),
            json!({"body": "thanks"})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let c = comment(&app, &w.alice, w.ticket, "please switch it off", true).await;
    assert_eq!(
        change(&app, &w, w.ticket, "own_only", Some(c), None)
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.get(&w.alice.token, &format!("/tickets/{bobs}"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "disabling takes effect at once"
    );
    assert!(
        !app.get(&w.alice.token, "/tickets")
            .await
            .ids()
            .contains(&bobs)
    );
}

async fn the_preview_counts_who_would_gain_access_to_what(app: TestApp) {
    let w = world(&app).await;
    let carol = app.end_user(&[w.org], UserAccess::Organization).await;
    app.ticket(&w.bob.token, json!({})).await;
    app.ticket(&w.bob.token, json!({})).await;
    let p = app
        .get(
            &w.admin.token,
            &format!(
                "/organizations/{}/sharing-preview?sharing=read_write",
                w.org
            ),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    // Alice gains Bob's two tickets; Bob gains Alice's one; Carol already sees all (access = organization).
    assert_eq!(p.body["users_gaining_access"], 2);
    assert_eq!(p.body["tickets_newly_visible"], 3);
    assert_eq!(p.body["users_gaining_comment"], 3);
    assert_eq!(p.body["users_losing_access"], 0);
    let sample: Vec<(i64, i64)> = p.body["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["user_id"].as_i64().unwrap(),
                s["tickets"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        sample.contains(&(w.alice.id, 2)) && sample.contains(&(w.bob.id, 1)),
        "{sample:?}"
    );
    assert!(!sample.iter().any(|(u, _)| *u == carol.id));
    let bad = app
        .get(
            &w.admin.token,
            &format!("/organizations/{}/sharing-preview?sharing=everyone", w.org),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn access_is_explained_by_the_same_policy_that_enforces_it(app: TestApp) {
    let w = world(&app).await;
    let agent = app.agent(TicketScope::Assigned, &[]).await;
    let access = app
        .get(&w.admin.token, &format!("/tickets/{}/access", w.ticket))
        .await;
    assert_eq!(access.status, StatusCode::OK, "{}", access.body);
    let rows: Vec<(i64, String)> = access
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user_id"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(rows.contains(&(w.alice.id, "requester".into())), "{rows:?}");
    assert!(rows.contains(&(w.admin.id, "admin".into())));
    assert!(!rows.iter().any(|(u, _)| *u == w.bob.id || *u == agent.id));
    let bob = app
        .get(
            &w.admin.token,
            &format!(
                "/access/explain?user_id={}&ticket_id={}",
                w.bob.id, w.ticket
            ),
        )
        .await;
    assert_eq!(
        (bob.body["can_view"].as_bool(), bob.body["reason"].clone()),
        (Some(false), json!(null))
    );
    assert!(
        bob.body["explanation"]
            .as_str()
            .unwrap()
            .contains("shares own_only"),
        "{}",
        bob.body
    );
    change(
        &app,
        &w,
        w.ticket,
        "read_only",
        Some(w.confirm),
        Some(w.approve),
    )
    .await;
    let bob = app
        .get(
            &w.admin.token,
            &format!(
                "/access/explain?user_id={}&ticket_id={}",
                w.bob.id, w.ticket
            ),
        )
        .await;
    assert_eq!(
        (
            bob.body["can_view"].as_bool(),
            bob.body["can_comment"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(bob.body["reason"], "organization_read_only");
    assert_eq!(
        app.get(
            &agent.token,
            &format!(
                "/access/explain?user_id={}&ticket_id={}",
                w.bob.id, w.ticket
            )
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

async fn settings_are_checked_before_they_are_saved(app: TestApp) {
    let admin = app.admin().await;
    let bad = app.patch(&admin.token, "/settings", json!({"time_zone": "Mars/Olympus", "public_base_url": "desk", "sharing_confirmation_template": "{% if %}"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.error_fields(),
        vec![
            "time_zone",
            "public_base_url",
            "sharing_confirmation_template"
        ]
    );
    let s = app.get(&admin.token, "/settings").await.body;
    assert_eq!(
        (s["time_zone"].as_str(), s["public_base_url"].as_str()),
        (Some("UTC"), Some("http://127.0.0.1:8080"))
    );
    let ok = app.patch(&admin.token, "/settings", json!({"time_zone": "Pacific/Kiritimati", "sharing_confirmation_template": "Done for {{ organization_name }}."})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let agent = app.agent(TicketScope::Global, &[]).await;
    assert_eq!(
        app.get(&agent.token, "/settings").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn the_date_follows_the_account_time_zone_and_the_template(app: TestApp) {
    let w = world(&app).await;
    app.patch(&w.admin.token, "/settings", json!({"time_zone": "Pacific/Kiritimati", "sharing_confirmation_template": "Done for {{ organization_name }} ({{ sharing_label }})."})).await;
    let date = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Pacific/Kiritimati").unwrap())
        .date()
        .to_string();
    let a = change(
        &app,
        &w,
        w.ticket,
        "read_write",
        Some(w.confirm),
        Some(w.approve),
    )
    .await;
    assert!(
        a.body["details_line"]
            .as_str()
            .unwrap()
            .contains(&format!("(read+write) enabled {date} as per")),
        "{}",
        a.body
    );
    let comments = app
        .get(&w.alice.token, &format!("/tickets/{}/comments", w.ticket))
        .await
        .body;
    assert_eq!(
        comments["items"].as_array().unwrap().last().unwrap()["body"],
        "Done for Acme (read+write)."
    );
}

on_both_databases!(
    every_failed_precheck_is_listed_and_nothing_changes,
    each_precheck_fails_alone,
    enabling_read_only_then_read_write_then_disabling_follows_the_runbook,
    a_read_only_member_views_colleagues_tickets_comments_on_their_own_and_loses_sight_at_once,
    the_preview_counts_who_would_gain_access_to_what,
    access_is_explained_by_the_same_policy_that_enforces_it,
    settings_are_checked_before_they_are_saved,
    the_date_follows_the_account_time_zone_and_the_template,
);
