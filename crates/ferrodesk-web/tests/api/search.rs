//! Full-text search over long tickets, and one query language on both databases.

use std::time::{Duration, Instant};

use ferrodesk_core::{TicketScope, UserAccess};
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

/// On PostgreSQL a search first looks among the newest tickets (the newest buckets of ids),
/// asking the index only for its uncommon words and checking the common ones on the rows it
/// finds there. What it answers must be what a search of every ticket answers: a ticket with
/// the uncommon word but without the common one is no match, older matches follow, and the
/// ranked window is still the newest matches.
async fn the_newest_tickets_are_searched_first_and_every_word_still_must_match(app: TestApp) {
    let admin = app.admin().await;
    let pg = app.backend == ferrodesk_testkit::Backend::Postgres;
    let make = |subject: String, description: &'static str| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            app.ticket(
                &token,
                json!({"subject": subject, "description": description}),
            )
            .await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let mut matches = Vec::new();
    // "zephyr" will be in 3 tickets of 183 (under 2 %: not a common word).
    for i in 0..100 {
        matches.push(make(format!("Old {i}"), "the lantern has a fault").await);
    }
    let old_zephyr = make("Old one".into(), "the lantern and a zephyr").await;
    if pg {
        // Far newer ids: the older tickets fall outside the buckets searched first.
        app.execute_sql("ALTER TABLE tickets ALTER COLUMN id RESTART WITH 200000")
            .await;
    }
    for i in 0..80 {
        matches.push(make(format!("New {i}"), "the lantern has a fault").await);
    }
    let new_zephyr = make("New one".into(), "the lantern and a zephyr").await;
    let lone_zephyr = make("Another".into(), "a zephyr alone").await;
    if pg {
        assert!(new_zephyr >= 200_000, "ids jumped: {new_zephyr}");
        // Statistics that name "lantern" and "fault" common words and "zephyr" not.
        app.execute_sql("ANALYZE ticket_search").await;
    }

    // One uncommon word and one common word: both must be in the ticket.
    assert_eq!(
        found(&app, &admin.token, "lantern zephyr").await,
        vec![new_zephyr, old_zephyr]
    );
    assert_eq!(
        found(&app, &admin.token, "zephyr").await,
        vec![lone_zephyr, new_zephyr, old_zephyr]
    );
    // Common words only: the newest matches are ranked, the older ones follow.
    let window = ferrodesk_store::search::RANK_WINDOW as usize;
    let a = app
        .get(&admin.token, "/search?q=fault%20lantern&limit=100")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let mut first = a.ids();
    first.sort_unstable();
    assert_eq!(
        first,
        matches[matches.len() - window..],
        "the newest matches"
    );
    let cursor = a.body["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let b = app
        .get(
            &admin.token,
            &format!("/search?q=fault%20lantern&limit=100&cursor={cursor}"),
        )
        .await;
    assert_eq!(b.ids(), {
        let mut rest = matches[..matches.len() - window].to_vec();
        rest.reverse();
        rest
    });
}

/// A PostgreSQL search in a scope of few tickets reads them first, from the scope's indexes,
/// and tests each against the text; in a wider scope it asks the text index first, for its
/// uncommon words, or walks it newest first when every word is common. Whichever way, the
/// answer is the same, and it is what the person may see: tickets they requested, are copied
/// on, share through their organization or hold through their group, matching every word in
/// the text they may read (end users never match a private note) and the query's filters.
async fn a_scoped_search_answers_the_same_whether_the_scope_or_the_text_is_read_first(
    app: TestApp,
) {
    let admin = app.admin().await;
    let id = |a: ferrodesk_testkit::Answer| a.body["id"].as_i64().unwrap();
    let g1 = id(app
        .post(&admin.token, "/groups", json!({"name": "Tier one"}))
        .await);
    let g2 = id(app
        .post(&admin.token, "/groups", json!({"name": "Tier two"}))
        .await);
    let org = id(app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await);
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_only' WHERE id = {org}"
    ))
    .await;
    let agent = app.agent(TicketScope::Group, &[g1]).await;
    let member = app.end_user(&[org], UserAccess::Organization).await;
    let colleague = app.end_user(&[org], UserAccess::Requested).await;
    let other = app.end_user(&[], UserAccess::Requested).await;

    /// What the model knows of a ticket.
    struct Made {
        id: i64,
        requester: i64,
        group: i64,
        ccs: Vec<i64>,
        public_text: String,
        note: String,
    }
    let mut made = Vec::new();
    for i in 0..40usize {
        let requester = [colleague.id, other.id, member.id, other.id][i % 4];
        let group = if i % 3 == 0 { g1 } else { g2 };
        let ccs = if i % 5 == 0 { vec![member.id] } else { vec![] };
        let mut public_text = "the lantern has a fault".to_owned();
        if i % 2 == 0 {
            public_text.push_str(" and a zephyr");
        }
        let mut body = json!({
            "subject": format!("Case {i}"),
            "description": public_text,
            "requester_id": requester,
            "group_id": group,
        });
        if !ccs.is_empty() {
            body["cc_ids"] = json!(ccs);
        }
        let t = app.ticket(&admin.token, body).await["id"].as_i64().unwrap();
        let note = if i % 7 == 0 {
            "zephyr fault lantern"
        } else {
            ""
        };
        if !note.is_empty() {
            let a = app
                .post(
                    &admin.token,
                    &format!("/tickets/{t}/comments"),
                    json!({"body": note, "public": false}),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        }
        made.push(Made {
            id: t,
            requester,
            group,
            ccs,
            public_text,
            note: note.to_owned(),
        });
    }
    let searchers = [
        ("the group agent", &agent),
        ("the organization member", &member),
        ("the colleague", &colleague),
        ("the other customer", &other),
    ];
    let queries = [
        "zephyr",
        "lantern zephyr",
        "fault lantern",
        "\"has a fault\" zephyr",
        "zephyr fault",
        "zephyr requester:me",
    ];
    let answer = |token: String, q: &'static str| {
        let app = &app;
        async move {
            let a = app
                .get(
                    &token,
                    &format!(
                        "/search?q={}&limit=100",
                        q.replace(' ', "%20").replace('"', "%22")
                    ),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.body);
            a.ids()
        }
    };
    let planner = &app.app.store().cache().search_planner;
    let pg = app.backend == ferrodesk_testkit::Backend::Postgres;
    // Three rounds: without statistics every word counts as uncommon (the index is asked for
    // the words and the person's scope keys); then who may see some tickets changes (a group,
    // a CC removed, a CC added), and every way follows; then with statistics "lantern",
    // "fault" and "zephyr" are common, and a wide scope walks the index for them.
    for round in ["fresh", "changed", "analyzed"] {
        if round == "analyzed" && pg {
            app.execute_sql("ANALYZE ticket_search").await;
            planner.forget_common_words();
        }
        if round == "changed" {
            let changes = [
                (1, json!({"group_id": g1})),
                (5, json!({"cc_ids": []})),
                (0, json!({"cc_ids": [member.id, other.id]})),
            ];
            for (i, change) in changes {
                let a = app
                    .patch(&admin.token, &format!("/tickets/{}", made[i].id), change)
                    .await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            }
            made[1].group = g1;
            made[5].ccs.clear();
            made[0].ccs = vec![member.id, other.id];
        }
        let sees = |who: i64, t: &Made| {
            if who == agent.id {
                t.group == g1
            } else if who == member.id || who == colleague.id {
                // The organization shares its tickets with every member (SPEC §3).
                t.requester == member.id || t.requester == colleague.id || t.ccs.contains(&who)
            } else {
                t.requester == who || t.ccs.contains(&who)
            }
        };
        let expected = |who: i64, q: &str| -> Vec<i64> {
            let terms: Vec<String> = if q.starts_with('"') {
                vec!["has a fault".into(), "zephyr".into()]
            } else {
                q.split(' ')
                    .filter(|w| *w != "requester:me")
                    .map(str::to_owned)
                    .collect()
            };
            let mine_only = q.contains("requester:me");
            let mut ids: Vec<i64> = made
                .iter()
                .filter(|t| sees(who, t) && (!mine_only || t.requester == who))
                .filter(|t| {
                    let text = if who == agent.id {
                        format!("{} {}", t.public_text, t.note)
                    } else {
                        t.public_text.clone()
                    };
                    terms.iter().all(|term| text.contains(term.as_str()))
                })
                .map(|t| t.id)
                .collect();
            ids.sort_unstable();
            ids
        };
        for (who, user) in &searchers {
            for q in queries {
                planner.set_scope_first_max(ferrodesk_store::search::SCOPE_FIRST_MAX);
                let scope_first = answer(user.token.clone(), q).await;
                planner.set_scope_first_max(0);
                let text_first = answer(user.token.clone(), q).await;
                planner.set_scope_first_max(ferrodesk_store::search::SCOPE_FIRST_MAX);
                assert_eq!(
                    scope_first, text_first,
                    "{round}: {who}, {q}: the same either way"
                );
                let mut got = scope_first;
                got.sort_unstable();
                assert_eq!(
                    got,
                    expected(user.id, q),
                    "{round}: {who}, {q}: what they may see"
                );
            }
        }
    }
}

on_both_databases!(
    a_ticket_with_300_long_comments_stays_searchable_across_all_of_them,
    every_word_must_match_and_or_is_just_a_word,
    past_the_ranked_window_every_match_is_reached_once_newest_first,
    the_newest_tickets_are_searched_first_and_every_word_still_must_match,
    a_scoped_search_answers_the_same_whether_the_scope_or_the_text_is_read_first,
);
