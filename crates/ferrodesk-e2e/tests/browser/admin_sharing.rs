//! Browser scenarios: admin_sharing — an admin starts the sharing change from the
//! customer's request ticket, reads the pre-checks in the runbook's words, enables sharing
//! and sees the log line; the organization's pages fit a phone.

#[allow(unused_imports)]
use super::*;

async fn an_admin_changes_sharing_from_the_request_ticket(backend: Backend) {
    let s = Server::start(backend).await;
    let org = s.id("/organizations", json!({"name": "Initech"})).await;
    s.id(
        "/users",
        json!({"name": "Alice Initech", "email": "alice@initech.example", "organization_ids": [org]}),
    )
    .await;
    s.id(
        "/users",
        json!({"name": "Bob Initech", "email": "bob@initech.example", "organization_ids": [org]}),
    )
    .await;
    let alice = s.token_for("alice@initech.example");
    let bob = s.token_for("bob@initech.example");
    s.member_request(&bob, "Printer on floor 3", "It jams.")
        .await;
    let subject = "Please let our team see each other's tickets";
    let (ticket, ask) = s
        .member_request(
            &alice,
            subject,
            "We would like read only sharing for Initech.",
        )
        .await;
    let approval = s
        .api_as(
            &alice,
            "POST",
            &format!("/tickets/{ticket}/comments"),
            json!({"body": "On behalf of Initech I approve the security risk."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();

    let b = Browser::start(&s.base).await;
    b.sign_in("boss@example.com").await;
    // The request ticket: the action for the requester's organization.
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    let action = b.css(&format!("#change-sharing-{org}")).await;
    assert_eq!(action.text().await.unwrap(), "Change organization sharing");
    eval(
        &b,
        &format!("document.getElementById('change-sharing-{org}').scrollIntoView(); return 0;"),
    )
    .await;
    b.screenshot(&format!("sharing_from_ticket_action_{backend:?}").to_lowercase())
        .await;
    action.click().await.unwrap();
    // The panel opens with the ticket chosen and the customer's comments listed.
    let chosen = b.css("#request-ticket").await.text().await.unwrap();
    assert!(chosen.contains(subject), "{chosen}");
    assert!(chosen.contains("Alice Initech"), "{chosen}");
    b.css(&format!("#type-{ask}")).await;
    b.css(&format!("#risk-{approval}")).await;
    // The public URL is still the default: the panel says so before any line is written.
    let warning = b.css("#public-url-warning").await.text().await.unwrap();
    assert!(
        warning.contains("point to http://127.0.0.1:8080, which customers cannot open"),
        "{warning}"
    );
    // Submitting without evidence: the checklist speaks the runbook.
    b.click("#sharing-read_only").await;
    b.css("#prechecks-failed").await;
    let missing = b.css("#check-type_confirmed").await.text().await.unwrap();
    assert!(
        missing.contains(&format!(
            "Pick the customer's comment on ticket #{ticket} “{subject}” that confirms which type of shared organization they want."
        )),
        "{missing}"
    );
    assert!(!b.text().await.contains("type_confirmed_comment_id"));
    eval(
        &b,
        "document.getElementById('type-step').scrollIntoView(); return 0;",
    )
    .await;
    b.screenshot(&format!("sharing_from_ticket_refused_{backend:?}").to_lowercase())
        .await;
    // Pick the evidence (already listed) and enable read-only sharing.
    b.click(&format!("#type-{ask}")).await;
    b.click(&format!("#risk-{approval}")).await;
    b.click("#sharing-read_only").await;
    b.css("p.notice").await;
    assert!(
        b.css("#sharing-mode")
            .await
            .text()
            .await
            .unwrap()
            .starts_with("Shared read only")
    );
    let log = b.css("#sharing-log").await.text().await.unwrap();
    assert!(log.contains("Not shared → Read only"), "{log}");
    assert!(
        log.contains(&format!("as per #{ticket} {subject}")),
        "{log}"
    );
    assert!(
        log.contains("Type confirmed by Alice Initech; security risk approved by Alice Initech."),
        "{log}"
    );
    assert!(
        log.contains("Details line: Shared organization (read only) enabled ")
            && log.contains(&format!(
                "as per http://127.0.0.1:8080/agent/tickets/{ticket}"
            )),
        "{log}"
    );
    b.screenshot(&format!("sharing_from_ticket_enabled_{backend:?}").to_lowercase())
        .await;

    // Settings warn too, next to the field to fix.
    b.goto("/admin/settings").await;
    let warning = b.css("#public-url-warning").await.text().await.unwrap();
    assert!(
        warning.contains("point to http://127.0.0.1:8080, which customers cannot open"),
        "{warning}"
    );
    b.screenshot(&format!("sharing_settings_public_url_{backend:?}").to_lowercase())
        .await;

    // On a phone, the organization's page, the panel with a ticket chosen, the editor
    // and the list fit the screen.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    for (path, shot) in [
        (format!("/agent/organizations/{org}"), "org_page"),
        (
            format!("/agent/organizations/{org}?ticket_id={ticket}#sharing"),
            "org_panel",
        ),
        (format!("/admin/organizations/{org}"), "org_editor"),
        ("/admin/organizations?q=init".to_owned(), "org_list"),
    ] {
        b.goto(&path).await;
        b.css("main h1").await;
        if shot == "org_editor" {
            eval(
                &b,
                "document.getElementById('sharing-log').scrollIntoView(); return 0;",
            )
            .await;
        }
        let (fits, scroll, inner) = fits_width(&b).await;
        assert!(fits, "{path}: {scroll}px wide in a {inner}px window");
        b.screenshot(&format!("sharing_phone_{shot}_{backend:?}").to_lowercase())
            .await;
    }
    b.close().await;
}

on_both_databases!(an_admin_changes_sharing_from_the_request_ticket);
