//! Browser scenarios: the new ticket form's requester box and the ticket page's tags, with
//! JavaScript; both pages pass axe-core and fit a phone.

use super::*;

/// Sam types part of a name in the requester box, picks the person from the list with the
/// keyboard, creates the ticket, then edits its tags on the ticket page. Both pages (the
/// list of matches open) pass axe-core and fit 390 px.
async fn with_javascript_the_requester_is_picked_by_typing_and_tags_are_edited(backend: Backend) {
    let axe = axe_source();
    let s = Server::start(backend).await;
    agent_customer_and_ticket(&s, "Printer jams").await;
    let walter = s
        .id(
            "/users",
            json!({"name": "Walter Weiss", "email": "walter@example.com"}),
        )
        .await;
    s.id(
        "/users",
        json!({"name": "Wanda Weissberg", "email": "wanda@example.com"}),
    )
    .await;
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto("/agent/tickets/new").await;
    let mut problems = Vec::new();
    b.css("#requester").await.send_keys("weiss").await.unwrap();
    b.css("#requester-list [role=option][data-id]").await;
    let expanded = eval(
        &b,
        "return document.querySelector('#requester').getAttribute('aria-expanded');",
    )
    .await;
    assert_eq!(expanded, json!("true"));
    let listed = b.css("#requester-list").await.text().await.unwrap();
    assert!(
        listed.contains("Walter Weiss") && listed.contains("Wanda Weissberg"),
        "{listed}"
    );
    for v in axe_violations(&b, &axe).await {
        problems.push(format!("new ticket, matches listed: {v}"));
    }
    b.screenshot(&format!("requester_box_{backend:?}").to_lowercase())
        .await;
    // Down to the first match (Walter: the list is in the order people were added), Enter.
    b.css("#requester")
        .await
        .send_keys("\u{E015}\u{E007}")
        .await
        .unwrap();
    assert_eq!(value_of(&b, "#requester_pick").await, walter.to_string());
    assert_eq!(
        value_of(&b, "#requester").await,
        "Walter Weiss <walter@example.com>"
    );
    b.css("#subject")
        .await
        .send_keys("Scanner offline")
        .await
        .unwrap();
    b.css("#description")
        .await
        .send_keys("It has been offline since Monday.")
        .await
        .unwrap();
    b.click("form[action='/agent/tickets'] button[type=submit].primary")
        .await;
    wait_notice(&b, "Ticket created.").await;
    let url = b.client.current_url().await.unwrap();
    let id: i64 = url
        .path()
        .trim_start_matches("/agent/tickets/")
        .parse()
        .unwrap();
    let t = s.api("GET", &format!("/tickets/{id}"), Value::Null).await;
    assert_eq!(t["requester_id"].as_i64(), Some(walter));
    // Tags typed in the properties form.
    let tags = b.css("#tags").await;
    tags.clear().await.unwrap();
    tags.send_keys("billing, Urgent").await.unwrap();
    b.click("#properties button[type=submit].primary").await;
    wait_notice(&b, "Ticket updated.").await;
    let t = s.api("GET", &format!("/tickets/{id}"), Value::Null).await;
    assert_eq!(t["tags"], json!(["billing", "urgent"]));
    assert!(b.text().await.contains("Tags: none → billing, urgent"));
    for v in axe_violations(&b, &axe).await {
        problems.push(format!("ticket page: {v}"));
    }
    // On a phone both pages fit the width and stay axe-clean.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    for path in [format!("/agent/tickets/{id}"), "/agent/tickets/new".into()] {
        b.goto(&path).await;
        b.css("main h1").await;
        for v in axe_violations(&b, &axe).await {
            problems.push(format!("{path} (phone): {v}"));
        }
        let (fits, scroll, inner) = fits_width(&b).await;
        if !fits {
            problems.push(format!(
                "{path}: {scroll}px in {inner}px: {}",
                eval(&b, WIDEST_ELEMENTS).await
            ));
        }
    }
    b.css("#requester").await.send_keys("weiss").await.unwrap();
    b.css("#requester-list [role=option][data-id]").await;
    let (fits, scroll, inner) = fits_width(&b).await;
    if !fits {
        problems.push(format!("the open list: {scroll}px in {inner}px"));
    }
    // The open list sits under the box and pushes the Subject field down: neither the
    // Subject's label nor its input is covered.
    let rects = eval(
        &b,
        "const r = e => { const b = document.querySelector(e).getBoundingClientRect();            return {top: b.top, bottom: b.bottom, left: b.left, right: b.right}; };          return {list: r('#requester-list'), box: r('#requester'),            subject: r('#subject'), label: r('label[for=subject]'),            scroll: document.documentElement.scrollWidth, inner: window.innerWidth};",
    )
    .await;
    let px = |o: &str, k: &str| rects[o][k].as_f64().unwrap();
    assert!(
        px("list", "top") >= px("box", "bottom") - 1.0,
        "the list starts under the requester box: {rects}"
    );
    for covered in ["subject", "label"] {
        let apart = px("list", "bottom") <= px(covered, "top")
            || px("list", "top") >= px(covered, "bottom")
            || px("list", "right") <= px(covered, "left")
            || px("list", "left") >= px(covered, "right");
        assert!(apart, "the open list covers the Subject {covered}: {rects}");
    }
    assert!(
        rects["scroll"].as_f64().unwrap() <= rects["inner"].as_f64().unwrap(),
        "no sideways scroll with the list open: {rects}"
    );
    b.screenshot(&format!("phone_requester_box_{backend:?}").to_lowercase())
        .await;
    assert!(
        problems.is_empty(),
        "{} accessibility or width problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    b.close().await;
}

on_both_databases!(with_javascript_the_requester_is_picked_by_typing_and_tags_are_edited);
