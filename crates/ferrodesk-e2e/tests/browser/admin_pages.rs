//! Browser scenarios: admin_pages — axe-core finds no accessibility violation on any admin
//! or portal page, at desktop size and on a phone (where every page also fits the width),
//! and deleting a group asks first.

#[allow(unused_imports)]
use super::*;

async fn every_admin_and_portal_page_passes_axe_core_and_fits_a_phone(backend: Backend) {
    let axe = axe_source();
    let s = Server::start(backend).await;
    let org = s
        .id(
            "/organizations",
            json!({"name": "Initech International Holdings", "domain_names": ["initech.example"]}),
        )
        .await;
    let fiona = s
        .id(
            "/users",
            json!({"name": "Fiona Finance", "email": "fiona@example.com", "role": "agent"}),
        )
        .await;
    let finance = s
        .id(
            "/groups",
            json!({"name": "Finance and Accounting", "agent_ids": [fiona]}),
        )
        .await;
    let waiting = s
        .id(
            "/statuses",
            json!({"name": "Waiting on Finance", "category": "pending", "internal_group_ids": [finance]}),
        )
        .await;
    let alice = s
        .id(
            "/users",
            json!({"name": "Alice Initech", "email": "alice@initech.example", "password": PASSWORD,
                   "access": "organization", "organization_ids": [org]}),
        )
        .await;
    let bob = s
        .id(
            "/users",
            json!({"name": "Bob Initech", "email": "bob@initech.example", "organization_ids": [org]}),
        )
        .await;
    let rule = s
        .id(
            "/rules",
            json!({"name": "Tag refunds", "events": [{"type": "ticket_created"}], "performed_by": "anyone",
                   "conditions": {}, "actions": [{"field": "add_tags", "value": ["refund"]}]}),
        )
        .await;
    let mut last = 0;
    for (subject, requester) in [
        (
            "The quarterly invoice for our Frankfurt office lists the wrong VAT number",
            alice,
        ),
        ("VPN drops every hour", bob),
        ("Please share our tickets (read only)", alice),
    ] {
        last = s
            .id(
                "/tickets",
                json!({"subject": subject, "description": "Details inside.", "requester_id": requester,
                       "status_id": waiting, "internal_group_id": finance, "internal_agent_id": fiona}),
            )
            .await;
    }
    let copied = s
        .id(
            "/tickets",
            json!({"subject": "Shared project folder", "description": "Alice needs access too.",
                   "requester_id": bob, "cc_ids": [alice]}),
        )
        .await;
    s.api(
        "POST",
        &format!("/tickets/{last}/comments"),
        json!({"body": "We are looking into it.", "public": true}),
    )
    .await;
    let open = s.status_id("Open").await;
    let admin_pages = vec![
        "/admin/statuses".to_owned(),
        format!("/admin/statuses/{waiting}"),
        format!("/admin/statuses/{waiting}/delete"),
        "/admin/groups".to_owned(),
        format!("/admin/groups/{finance}"),
        format!("/admin/groups/{finance}/delete"),
        "/admin/users".to_owned(),
        format!("/admin/users/{fiona}"),
        format!("/admin/users/{fiona}/delete"),
        format!("/admin/users/{alice}"),
        "/admin/organizations".to_owned(),
        format!("/admin/organizations/{org}"),
        "/admin/rules".to_owned(),
        format!("/admin/rules/{rule}"),
        "/admin/settings".to_owned(),
        "/admin/mail-templates".to_owned(),
        "/admin/inbox".to_owned(),
        "/admin/outbox".to_owned(),
        format!("/agent/organizations/{org}"),
        format!("/agent/organizations/{org}?ticket_id={last}"),
        // A built-in status cannot be deleted; searches that find nothing.
        format!("/admin/statuses/{open}/delete"),
        "/admin/users?q=nobody&role=staff".to_owned(),
        "/admin/groups?q=nothing".to_owned(),
    ];
    let portal_pages = vec![
        "/portal".to_owned(),
        "/portal/organization".to_owned(),
        "/portal/cc".to_owned(),
        "/portal/requests/new".to_owned(),
        format!("/portal/requests/{last}"),
        format!("/portal/requests/{copied}"),
    ];
    let b = Browser::start(&s.base).await;
    let mut problems = Vec::new();
    for (who, pages) in [
        ("boss@example.com", &admin_pages),
        ("alice@initech.example", &portal_pages),
    ] {
        b.client
            .set_window_size(1280, 1000)
            .await
            .expect("desktop size");
        b.sign_in(who).await;
        for (size, phone) in [("desktop", false), ("phone", true)] {
            if phone {
                b.client
                    .set_window_size(390, 844)
                    .await
                    .expect("phone size");
            }
            for path in pages.iter() {
                b.goto(path).await;
                b.css("main h1").await;
                for v in axe_violations(&b, &axe).await {
                    problems.push(format!("{path} ({size}): {v}"));
                }
                if phone {
                    let (fits, scroll, inner) = fits_width(&b).await;
                    assert!(inner <= 400, "the window is phone-sized: {inner}");
                    if !fits {
                        problems.push(format!(
                            "{path} (phone): {scroll}px wide in {inner}px: {}",
                            eval(&b, WIDEST_ELEMENTS).await
                        ));
                    }
                }
            }
        }
        // A few pages to look at.
        let shots: &[(&str, String)] = if who.starts_with("boss") {
            &[
                ("groups", "/admin/groups".to_owned()),
                ("users", "/admin/users".to_owned()),
                ("settings", "/admin/settings".to_owned()),
                ("delete_group", format!("/admin/groups/{finance}/delete")),
            ]
        } else {
            &[("portal_request", format!("/portal/requests/{last}"))]
        };
        // The part of each page this work added, in view.
        let show = "const e = document.querySelector('#limits, #delete-impact, #users, #groups'); \
                    if (e) e.scrollIntoView(); return null;";
        for (name, path) in shots {
            b.goto(path).await;
            b.css("main h1").await;
            eval(&b, show).await;
            b.screenshot(&format!("axe_phone_{name}_{backend:?}").to_lowercase())
                .await;
        }
        b.client
            .set_window_size(1280, 1000)
            .await
            .expect("desktop size");
        for (name, path) in shots {
            b.goto(path).await;
            b.css("main h1").await;
            if *name == "settings" {
                eval(&b, show).await;
            }
            b.screenshot(&format!("axe_desktop_{name}_{backend:?}").to_lowercase())
                .await;
        }
        if who.starts_with("boss") {
            // Forms sent back with errors, with their messages under the fields.
            for (path, form, fill, error) in [
                ("/admin/groups", "#group-form", &[][..], "#name-error"),
                ("/admin/statuses", "#status-form", &[][..], "#name-error"),
                (
                    "/admin/users",
                    "#user-form",
                    &[("#name", "Eve"), ("#email", "boss@example.com")][..],
                    "#email-error",
                ),
            ] {
                b.goto(path).await;
                for (field, text) in fill {
                    b.css(field).await.send_keys(text).await.unwrap();
                }
                b.click(&format!("{form} button[type=submit]")).await;
                b.css(error).await;
                for v in axe_violations(&b, &axe).await {
                    problems.push(format!("{path} (sent back with errors): {v}"));
                }
            }
        }
        b.sign_out().await;
    }
    b.close().await;
    assert!(
        problems.is_empty(),
        "{} accessibility or width problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

async fn deleting_a_group_asks_first_and_cancel_changes_nothing(backend: Backend) {
    let s = Server::start(backend).await;
    let fiona = s
        .id(
            "/users",
            json!({"name": "Fiona Finance", "email": "fiona@example.com", "role": "agent"}),
        )
        .await;
    let finance = s
        .id("/groups", json!({"name": "Finance", "agent_ids": [fiona]}))
        .await;
    let waiting = s
        .id(
            "/statuses",
            json!({"name": "Waiting on Finance", "category": "pending", "internal_group_ids": [finance]}),
        )
        .await;
    let mut tickets = Vec::new();
    for subject in ["Refund for a duplicate charge", "Invoice address is wrong"] {
        tickets.push(
            s.id(
                "/tickets",
                json!({"subject": subject, "description": "Please help.", "status_id": waiting,
                       "internal_group_id": finance, "internal_agent_id": fiona}),
            )
            .await,
        );
    }
    let b = Browser::start(&s.base).await;
    b.sign_in("boss@example.com").await;
    b.goto(&format!("/admin/groups/{finance}")).await;
    b.click("#delete-group").await;
    b.css("#confirm-delete").await;
    let text = b.text().await;
    assert!(
        text.contains("2 tickets lose their internal owner (Finance)"),
        "{text}"
    );
    assert!(
        text.contains("1 member leaves the group; their account stays."),
        "{text}"
    );
    b.screenshot(&format!("delete_group_confirm_{backend:?}").to_lowercase())
        .await;
    // Cancel: back on the group's page, nothing changed.
    b.click("#cancel-delete").await;
    b.css("#group-form").await;
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.path(), format!("/admin/groups/{finance}"));
    let g = s
        .api("GET", &format!("/groups/{finance}"), Value::Null)
        .await;
    assert_eq!(g["name"], "Finance");
    for t in &tickets {
        let t = s.api("GET", &format!("/tickets/{t}"), Value::Null).await;
        assert_eq!(t["internal_group_id"], finance);
    }
    // Confirming deletes it: the list says so, and the tickets lost their internal owner.
    b.click("#delete-group").await;
    b.click("#confirm-delete button[type=submit]").await;
    wait_notice(&b, "Group deleted.").await;
    // Finance was the only group.
    assert!(b.text().await.contains("No groups yet."));
    assert!(!b.has("#groups").await);
    for t in &tickets {
        let t = s.api("GET", &format!("/tickets/{t}"), Value::Null).await;
        assert_eq!(t["internal_group_id"], Value::Null);
        assert_eq!(t["internal_agent_id"], Value::Null);
    }
    b.screenshot(&format!("delete_group_done_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

on_both_databases!(
    every_admin_and_portal_page_passes_axe_core_and_fits_a_phone,
    deleting_a_group_asks_first_and_cancel_changes_nothing,
);
