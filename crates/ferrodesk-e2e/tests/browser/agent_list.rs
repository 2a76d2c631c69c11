//! Browser scenarios: the ticket list one line a ticket, keyboard shortcuts, and the ticket
//! page's presence notice.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use super::*;

/// Presses one key, as a person would (key down, key up) on whatever has the focus.
async fn press(b: &Browser, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    b.client.perform_actions(keys).await.expect("press a key");
}

/// The id of the element that has the focus.
async fn focused(b: &Browser) -> String {
    eval(
        b,
        "return document.activeElement ? document.activeElement.id : '';",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

async fn path_of(b: &Browser) -> String {
    eval(b, "return window.location.pathname;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits (up to `secs`) until the page's text at `selector` contains `expected`.
async fn wait_text(b: &Browser, selector: &str, expected: &str, secs: u64) -> String {
    let mut last = String::new();
    for _ in 0..secs * 4 {
        let v = b
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                vec![json!(selector)],
            )
            .await
            .expect("read text");
        last = v.as_str().unwrap_or_default().to_owned();
        if last.contains(expected) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{selector} never said {expected:?}; it says {last:?}");
}

async fn an_agent_works_the_one_line_list_from_the_keyboard(backend: Backend) {
    let s = Server::start(backend).await;
    let first = agent_customer_and_ticket(&s, "Printer jams").await;
    let second = s
        .id(
            "/tickets",
            json!({"subject": "The quarterly invoice for the northern warehouse shows the wrong VAT rate on every line after the second page",
                   "description": "See attached.", "priority": "high"}),
        )
        .await;
    let third = s
        .id(
            "/tickets",
            json!({"subject": "Password reset", "description": "Locked out."}),
        )
        .await;
    let axe = axe_source();
    let b = Browser::start(&s.base).await;
    b.client
        .set_window_size(1366, 900)
        .await
        .expect("desktop size");
    b.sign_in("sam@example.com").await;
    b.goto("/agent/tickets").await;
    b.css("table.tickets").await;
    // One line a ticket at 1366 px, the long subject cut rather than wrapped.
    let rows = eval(
        &b,
        "const lh = parseFloat(getComputedStyle(document.querySelector('table.tickets td')).fontSize) * 1.5;\
         return [lh, Array.from(document.querySelectorAll('table.tickets tbody tr')).map(r => r.getBoundingClientRect().height)];",
    )
    .await;
    let line = rows[0].as_f64().unwrap();
    let heights: Vec<f64> = rows[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_f64().unwrap())
        .collect();
    assert_eq!(heights.len(), 3);
    for h in &heights {
        assert!(
            *h < 2.0 * line,
            "a row is {h}px high, a line {line}px: {heights:?}"
        );
    }
    let (fits, scroll, inner) = fits_width(&b).await;
    assert!(fits, "the list is {scroll}px wide in a {inner}px window");
    // Every ticket is new to Sam: marked, in words for screen readers too.
    assert_eq!(
        eval(
            &b,
            "return document.querySelectorAll('tr.fresh .sr-only').length;"
        )
        .await,
        json!(3)
    );
    b.screenshot(&format!("agent_list_desktop_{backend:?}").to_lowercase())
        .await;
    let v = axe_violations(&b, &axe).await;
    assert!(v.is_empty(), "axe on the list: {v:#?}");
    // ? shows the shortcuts in a dialog; Escape closes it.
    press(&b, '?').await;
    assert_eq!(
        eval(&b, "return document.getElementById('shortcuts').open;").await,
        json!(true)
    );
    let v = axe_violations(&b, &axe).await;
    assert!(v.is_empty(), "axe with the shortcuts open: {v:#?}");
    press(&b, Key::Escape.into()).await;
    assert_eq!(
        eval(&b, "return document.getElementById('shortcuts').open;").await,
        json!(false)
    );
    // Typing in the header's search box is typing, not a shortcut.
    b.css("#top-q").await.click().await.unwrap();
    press(&b, 'j').await;
    assert_eq!(focused(&b).await, "top-q");
    assert_eq!(
        eval(
            &b,
            "return document.querySelectorAll('tr.kb-current').length;"
        )
        .await,
        json!(0)
    );
    eval(&b, "document.activeElement.blur(); return 0;").await;
    // j j Enter: the second ticket of the list (newest first: Password reset, then the invoice).
    press(&b, 'j').await;
    press(&b, 'j').await;
    assert_eq!(
        eval(
            &b,
            "return document.querySelector('tr.kb-current').dataset.href;"
        )
        .await,
        json!(format!("/agent/tickets/{second}"))
    );
    press(&b, 'k').await;
    assert_eq!(
        eval(
            &b,
            "return document.querySelector('tr.kb-current').dataset.href;"
        )
        .await,
        json!(format!("/agent/tickets/{third}"))
    );
    press(&b, 'j').await;
    press(&b, Key::Enter.into()).await;
    b.css("#reply_body").await;
    assert_eq!(path_of(&b).await, format!("/agent/tickets/{second}"));
    // r: the public reply box; n: the private note; typing "n" in a box stays in it.
    press(&b, 'r').await;
    assert_eq!(focused(&b).await, "reply_body");
    press(&b, 'n').await;
    assert_eq!(
        focused(&b).await,
        "reply_body",
        "typing n in the reply box is typing"
    );
    assert_eq!(value_of(&b, "#reply_body").await, "n");
    eval(&b, "document.activeElement.blur(); return 0;").await;
    press(&b, 'n').await;
    assert_eq!(focused(&b).await, "note_body");
    let v = axe_violations(&b, &axe).await;
    assert!(v.is_empty(), "axe on the ticket page: {v:#?}");
    // Opened: the list no longer marks it.
    b.goto("/agent/tickets").await;
    b.css("table.tickets").await;
    assert_eq!(
        eval(
            &b,
            "return Array.from(document.querySelectorAll('tr.fresh')).map(r => r.dataset.href);"
        )
        .await,
        json!([
            format!("/agent/tickets/{third}"),
            format!("/agent/tickets/{first}")
        ])
    );
    // A phone: cards, nothing wider than the screen.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    for path in [
        "/agent/tickets".to_owned(),
        format!("/agent/tickets/{second}"),
    ] {
        b.goto(&path).await;
        b.css("main h1").await;
        let (fits, scroll, inner) = fits_width(&b).await;
        assert!(fits, "{path} is {scroll}px wide on a {inner}px phone");
    }
    b.goto("/agent/tickets").await;
    b.screenshot(&format!("agent_list_phone_{backend:?}").to_lowercase())
        .await;
    let v = axe_violations(&b, &axe).await;
    assert!(v.is_empty(), "axe on the phone list: {v:#?}");
    b.close().await;
}

async fn an_agent_is_told_a_colleague_is_looking_and_changed_the_ticket(backend: Backend) {
    let s = Server::start(backend).await;
    let ticket = agent_customer_and_ticket(&s, "Printer jams").await;
    let sam = Browser::start(&s.base).await;
    let boss = Browser::start(&s.base).await;
    sam.sign_in("sam@example.com").await;
    boss.sign_in("boss@example.com").await;
    boss.goto(&format!("/agent/tickets/{ticket}")).await;
    boss.css("#reply_body").await;
    sam.goto(&format!("/agent/tickets/{ticket}")).await;
    // The page asks at once, then every 15 seconds.
    wait_text(&sam, "#presence", "Boss is also looking at this ticket", 10).await;
    // Boss changes it (the API is the same use case): Sam's page says so at its next poll.
    s.api(
        "PATCH",
        &format!("/tickets/{ticket}"),
        json!({"priority": "urgent"}),
    )
    .await;
    let said = wait_text(&sam, "#presence", "Boss changed this ticket", 25).await;
    assert!(said.contains("reload to see"), "{said}");
    assert_eq!(
        eval(
            &sam,
            "return document.getElementById('presence').getAttribute('role');"
        )
        .await,
        json!("status")
    );
    sam.screenshot(&format!("agent_presence_{backend:?}").to_lowercase())
        .await;
    let v = axe_violations(&sam, &axe_source()).await;
    assert!(v.is_empty(), "axe with the presence notice: {v:#?}");
    // Reloading shows the change and clears the notice of it.
    sam.click("#presence a").await;
    sam.css("#reply_body").await;
    wait_text(&sam, "#presence", "Boss is also looking", 10).await;
    let now = wait_text(&sam, "#presence", "", 1).await;
    assert!(!now.contains("changed this ticket"), "{now}");
    sam.close().await;
    boss.close().await;
}

on_both_databases!(
    an_agent_works_the_one_line_list_from_the_keyboard,
    an_agent_is_told_a_colleague_is_looking_and_changed_the_ticket,
);
