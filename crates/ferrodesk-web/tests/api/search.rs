//! Full-text search over long tickets, and one query language on both databases.

use std::time::{Duration, Instant};

use ferrodesk_core::UserAccess;
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

/// About 64 KB of words, most of them rare (so the index holds many distinct terms).
fn long_text(seed: u64) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut s = String::with_capacity(65_000);
    while s.len() < 64_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!("w{} ", (x >> 33) % 60_000));
    }
    s
}

async fn found(app: &TestApp, token: &str, q: &str) -> Vec<i64> {
    let a = app
        .get(token, &format!("/search?q={}", q.replace(' ', "%20")))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.body);
    a.ids()
}

async fn a_ticket_with_300_long_comments_stays_searchable_across_all_of_them(app: TestApp) {
    let admin = app.admin().await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let t = app
        .ticket(
            &customer.token,
            json!({"subject": "Log files from the night run"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    const N: usize = 300;
    let mut took = Vec::new();
    for i in 1..=N {
        let mut body = long_text(i as u64);
        let public = i != 150;
        match i {
            1 => body.push_str(" alphaone"),
            150 => body.push_str(" secretnote"),
            N => body.push_str(" omegalast"),
            _ => {}
        }
        let started = Instant::now();
        let a = app
            .post(
                &admin.token,
                &format!("/tickets/{t}/comments"),
                json!({"body": body, "public": public}),
            )
            .await;
        took.push(started.elapsed());
        assert_eq!(a.status, StatusCode::CREATED, "comment {i}: {}", a.body);
    }
    let avg = |d: &[Duration]| d.iter().sum::<Duration>() / d.len() as u32;
    eprintln!(
        "{:?}: a 64 KB comment took {:?} at comment 1-10 and {:?} at comment 291-300",
        app.backend,
        avg(&took[..10]),
        avg(&took[N - 10..])
    );

    for q in [
        "alphaone",
        "omegalast",
        "alphaone omegalast",
        "night omegalast",
        "\"night run\" alphaone",
    ] {
        assert_eq!(found(&app, &admin.token, q).await, vec![t], "agent: {q}");
        assert_eq!(
            found(&app, &customer.token, q).await,
            vec![t],
            "customer: {q}"
        );
    }
    assert_eq!(
        found(&app, &admin.token, "secretnote omegalast").await,
        vec![t]
    );
    assert!(
        found(&app, &customer.token, "secretnote").await.is_empty(),
        "a customer never matches a private note"
    );
    assert!(
        found(&app, &admin.token, "alphaone zzzznothing")
            .await
            .is_empty()
    );
}

async fn every_word_must_match_and_or_is_just_a_word(app: TestApp) {
    let admin = app.admin().await;
    let t = app
        .ticket(
            &admin.token,
            json!({"subject": "Printer broken", "description": "The tray jams."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(found(&app, &admin.token, "printer tray").await, vec![t]);
    assert_eq!(found(&app, &admin.token, "PRINTER").await, vec![t]);
    assert!(
        found(&app, &admin.token, "printer or zzzz")
            .await
            .is_empty()
    );
    // No operators: a leading minus is punctuation, not "without".
    assert_eq!(found(&app, &admin.token, "printer -tray").await, vec![t]);
    assert!(
        found(&app, &admin.token, "\"tray printer\"")
            .await
            .is_empty()
    );
    assert_eq!(found(&app, &admin.token, "\"tray jams\"").await, vec![t]);
}

/// A search ranks only the newest matches (`RANK_WINDOW`); paging still reaches every match
/// once: the window best match first, then the older matches newest first.
async fn past_the_ranked_window_every_match_is_reached_once_newest_first(app: TestApp) {
    let admin = app.admin().await;
    let window = ferrodesk_store::search::RANK_WINDOW as usize;
    let n = window + 30;
    let mut made = Vec::with_capacity(n);
    for i in 0..n {
        // Every third ticket says the word twice: a better match wherever it stands.
        let description = if i % 3 == 0 {
            "the lantern lantern has a fault"
        } else {
            "the lantern has a fault"
        };
        let t = app
            .ticket(
                &admin.token,
                json!({"subject": format!("Ticket {i}"), "description": description}),
            )
            .await;
        made.push(t["id"].as_i64().unwrap());
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let a = app
            .get(
                &admin.token,
                &format!("/search?q=lantern%20fault&limit=100&cursor={cursor}"),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        seen.extend(a.ids());
        match a.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no ticket is listed twice");
    let mut all = made.clone();
    all.sort_unstable();
    assert_eq!(unique, all, "every match is reached");

    let mut first: Vec<i64> = seen[..window].to_vec();
    first.sort_unstable();
    assert_eq!(
        first,
        all[n - window..],
        "the ranked window is the newest matches"
    );
    let doubled = |id: &i64| made.iter().position(|m| m == id).unwrap() % 3 == 0;
    let plain_from = seen[..window].iter().position(|id| !doubled(id)).unwrap();
    assert!(plain_from > 0, "the better matches come first");
    assert!(
        seen[plain_from..window].iter().all(|id| !doubled(id)),
        "within the window the better matches come first: {:?}",
        &seen[..window]
    );
    assert!(
        seen[window..].windows(2).all(|p| p[0] > p[1]),
        "after the window, newest first: {:?}",
        &seen[window..]
    );
}

on_both_databases!(
    a_ticket_with_300_long_comments_stays_searchable_across_all_of_them,
    every_word_must_match_and_or_is_just_a_word,
    past_the_ranked_window_every_match_is_reached_once_newest_first,
);
