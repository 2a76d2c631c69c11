//! Browser scenarios: the agent's pages pass axe-core and fit a phone.

use super::*;

/// Every page an agent works in — the ticket list (with every ticket ticked), a ticket with
/// an internal owner, the new ticket form, organizations, search and the account page —
/// passes axe-core at desktop size and on a 390 px phone, where it also fits the width.
async fn every_agent_page_passes_axe_core_and_fits_a_phone(backend: Backend) {
    let axe = axe_source();
    let s = Server::start(backend).await;
    let (ticket, _, _) = owned_by_finance(&s, "Printer on floor 3 jams").await;
    let org = s.id("/organizations", json!({"name": "Initech"})).await;
    let pages = [
        "/agent/tickets".to_owned(),
        "/agent/tickets?select=all".to_owned(),
        format!("/agent/tickets/{ticket}"),
        "/agent/tickets/new".to_owned(),
        "/agent/organizations".to_owned(),
        format!("/agent/organizations/{org}"),
        "/search?q=printer".to_owned(),
        "/account/two-factor".to_owned(),
    ];
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    let mut problems = Vec::new();
    for (size, (w, h)) in [("desktop", (1280, 1000)), ("phone", (390, 844))] {
        b.client.set_window_size(w, h).await.expect("window size");
        for path in &pages {
            b.goto(path).await;
            b.css("main h1").await;
            for v in axe_violations(&b, &axe).await {
                problems.push(format!("{path} ({size}): {v}"));
            }
            if size == "phone" {
                let (fits, scroll, inner) = fits_width(&b).await;
                if !fits {
                    problems.push(format!(
                        "{path}: {scroll}px in {inner}px: {}",
                        eval(&b, WIDEST_ELEMENTS).await
                    ));
                }
            }
        }
    }
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    b.css("main h1").await;
    b.screenshot(&format!("axe_phone_agent_ticket_{backend:?}").to_lowercase())
        .await;
    assert!(
        problems.is_empty(),
        "{} accessibility or width problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    b.close().await;
}

on_both_databases!(every_agent_page_passes_axe_core_and_fits_a_phone);
