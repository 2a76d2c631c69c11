//! Browser scenarios: bulk actions on the ticket list.

use super::*;

/// Sam ticks two tickets and moves both to Legal; the one owned by Finance in a status only
/// Finance may own is refused, in words, and the other changes.
async fn an_agent_changes_two_ticked_tickets_and_one_is_refused_with_why(backend: Backend) {
    let s = Server::start(backend).await;
    let (owned, finance, _) = owned_by_finance(&s, "Refund for March").await;
    let sam = s.api("GET", "/users?role=agent", Value::Null).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "sam@example.com")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let legal = s
        .id("/groups", json!({"name": "Legal", "agent_ids": [sam]}))
        .await;
    let review = s
        .id("/statuses", json!({"name": "Internal review", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance, legal]}))
        .await;
    // Finance's own status: no other group may own a ticket in it.
    let waiting = s
        .id("/statuses", json!({"name": "Waiting on Finance", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance]}))
        .await;
    s.api(
        "PATCH",
        &format!("/tickets/{owned}"),
        json!({"status_id": waiting}),
    )
    .await;
    let other = s
        .id(
            "/tickets",
            json!({"subject": "Contract question", "description": "Clause 4?", "status_id": review}),
        )
        .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto("/agent/tickets").await;
    b.click(&format!("#tick-{owned}")).await;
    b.click(&format!("#tick-{other}")).await;
    b.css("#bulk-igroup")
        .await
        .select_by_label("Legal")
        .await
        .unwrap();
    b.css("#bulk-add-tags")
        .await
        .send_keys("vip")
        .await
        .unwrap();
    b.screenshot(&format!("bulk_before_{backend:?}").to_lowercase())
        .await;
    b.click("#bulk-apply").await;
    let report = b.css("#bulk-report").await.text().await.unwrap();
    assert!(
        report.contains("1 ticket changed, 1 not changed"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "#{owned} Refund for March was not changed: Internal group: status Waiting on Finance allows these internal groups: Finance"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("#{other} Contract question")),
        "{report}"
    );
    b.screenshot(&format!("bulk_after_{backend:?}").to_lowercase())
        .await;
    let t = s
        .api("GET", &format!("/tickets/{other}"), Value::Null)
        .await;
    assert_eq!(
        (t["internal_group_id"].as_i64(), t["tags"].clone()),
        (Some(legal), json!(["vip"]))
    );
    let kept = s
        .api("GET", &format!("/tickets/{owned}"), Value::Null)
        .await;
    assert_eq!(kept["internal_group_id"].as_i64(), Some(finance));
    // The changed ticket's timeline says who moved it.
    b.goto(&format!("/agent/tickets/{other}")).await;
    assert!(b.text().await.contains("Legal"));
    // On a phone the list with its bulk form fits the screen.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    b.goto("/agent/tickets?select=all").await;
    b.css("#bulk-form").await;
    let (fits, scroll, inner) = fits_width(&b).await;
    assert!(
        fits,
        "{scroll}px in {inner}px: {}",
        eval(&b, WIDEST_ELEMENTS).await
    );
    b.screenshot(&format!("phone_bulk_{backend:?}").to_lowercase())
        .await;
    b.close().await;
}

on_both_databases!(an_agent_changes_two_ticked_tickets_and_one_is_refused_with_why);
