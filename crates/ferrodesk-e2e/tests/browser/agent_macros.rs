//! Browser scenarios: macros (canned responses).

use super::*;

/// Sam writes a macro on the Macros page, applies it on a ticket, reviews the reply and the
/// status it fills in (nothing saved yet), sends, and the ticket has the reply and the status.
/// The Macros page and the ticket with the macro applied pass axe-core and fit a phone.
async fn an_agent_creates_a_macro_applies_it_and_sends_the_reply_with_its_status(backend: Backend) {
    let axe = axe_source();
    let s = Server::start(backend).await;
    let ticket = agent_customer_and_ticket(&s, "Printer jams on page two").await;
    let version = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await["version"]
        .clone();
    let b = Browser::start(&s.base).await;
    b.sign_in("sam@example.com").await;
    b.goto("/agent/tickets").await;
    b.click("nav a[href='/agent/macros']").await;
    assert_eq!(b.css("main h1").await.text().await.unwrap(), "Macros");
    b.css("#macro_name")
        .await
        .send_keys("Printer restart")
        .await
        .unwrap();
    b.css("#macro_body")
        .await
        .send_keys("Please switch the printer off and on again, then tell us if it still jams.")
        .await
        .unwrap();
    b.css("#macro_set_status_id")
        .await
        .select_by_label("Pending")
        .await
        .unwrap();
    b.css("#macro_set_priority")
        .await
        .select_by_label("High")
        .await
        .unwrap();
    b.click("#macro-form button[type=submit]").await;
    wait_notice(&b, "Macro created.").await;
    let row = b.css("#macros tbody tr").await.text().await.unwrap();
    assert!(
        row.contains("Printer restart") && row.contains("Status Pending, Priority High"),
        "{row}"
    );
    b.screenshot(&format!("macros_page_{backend:?}").to_lowercase())
        .await;
    let mut problems = Vec::new();
    for v in axe_violations(&b, &axe).await {
        problems.push(format!("/agent/macros: {v}"));
    }

    // Applying it fills the reply and "Send and set status"; nothing is saved yet.
    b.goto(&format!("/agent/tickets/{ticket}")).await;
    b.css("#macro")
        .await
        .select_by_label("Printer restart")
        .await
        .unwrap();
    b.click("#apply-macro button[type=submit]").await;
    wait_notice(
        &b,
        "Macro “Printer restart” applied — review and send. Nothing is saved yet.",
    )
    .await;
    assert_eq!(
        value_of(&b, "#reply_body").await,
        "Please switch the printer off and on again, then tell us if it still jams."
    );
    let applied_at = b.client.current_url().await.expect("url");
    let applied_at = format!(
        "{}?{}",
        applied_at.path(),
        applied_at.query().unwrap_or_default()
    );
    assert!(applied_at.contains("macro="), "{applied_at}");
    let pending = s.status_id("Pending").await.to_string();
    assert_eq!(value_of(&b, "#reply_status_id").await, pending);
    assert!(
        b.css("#reply-macro-also")
            .await
            .text()
            .await
            .unwrap()
            .contains("Priority: High")
    );
    let before = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(
        (before["version"].clone(), before["status"].clone()),
        (version, json!("Open"))
    );
    for v in axe_violations(&b, &axe).await {
        problems.push(format!("ticket with a macro applied: {v}"));
    }
    eval(
        &b,
        "document.querySelector('.reply-box .send-row').scrollIntoView({block: 'center'}); return null;",
    )
    .await;
    b.screenshot(&format!("macro_applied_{backend:?}").to_lowercase())
        .await;

    // The agent reviews it, adds a line, and sends.
    b.css("#reply_body")
        .await
        .send_keys(" Thanks!")
        .await
        .unwrap();
    b.click(".reply-box button[type=submit]").await;
    wait_notice(&b, "Public reply sent; the status is now Pending.").await;
    assert_eq!(b.css(".meta .badge").await.text().await.unwrap(), "Pending");
    let t = s
        .api("GET", &format!("/tickets/{ticket}"), Value::Null)
        .await;
    assert_eq!(
        (t["status"].clone(), t["priority"].clone()),
        (json!("Pending"), json!("high"))
    );
    let comments = s
        .api("GET", &format!("/tickets/{ticket}/comments"), Value::Null)
        .await;
    let last = comments["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["body"],
        "Please switch the printer off and on again, then tell us if it still jams. Thanks!"
    );
    assert_eq!(last["public"], true);

    // On a phone both pages fit the width.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    for path in ["/agent/macros".to_owned(), applied_at.clone()] {
        b.goto(&path).await;
        b.css("main h1").await;
        let (fits, scroll, inner) = fits_width(&b).await;
        if !fits {
            problems.push(format!(
                "{path}: {scroll}px in {inner}px: {}",
                eval(&b, WIDEST_ELEMENTS).await
            ));
        }
        for v in axe_violations(&b, &axe).await {
            problems.push(format!("{path} (phone): {v}"));
        }
    }
    b.screenshot(&format!("phone_macro_applied_{backend:?}").to_lowercase())
        .await;
    assert!(
        problems.is_empty(),
        "{} accessibility or width problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    b.close().await;
}

on_both_databases!(an_agent_creates_a_macro_applies_it_and_sends_the_reply_with_its_status);
