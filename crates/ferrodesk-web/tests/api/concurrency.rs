//! Requests sent truly at once (one connection each, released together by a barrier), for
//! many rounds: one winner where the state allows one, invariants intact, history a chain,
//! and the same outcome on SQLite (one writer) and PostgreSQL (many).

use std::sync::Arc;
use std::time::Duration;

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{Answer, StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};
use tokio::sync::Barrier;

/// Runs `n` requests at once: each task builds its request, waits at the barrier, sends.
async fn at_once<F, Fut>(app: &Arc<TestApp>, n: usize, request: F) -> Vec<Answer>
where
    F: Fn(Arc<TestApp>, usize) -> Fut,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let barrier = barrier.clone();
        let fut = request(app.clone(), i);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("request task"));
    }
    out
}

fn codes(a: &Answer) -> Vec<String> {
    a.body["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An organization with a member who asked, in `tickets` tickets, for sharing and confirmed
/// type and risk in one comment each. Gives (org, [(ticket, comment)]).
async fn asking_org(
    app: &TestApp,
    admin: &TestUser,
    name: &str,
    tickets: usize,
) -> (i64, Vec<(i64, i64)>) {
    let org = app
        .post(&admin.token, "/organizations", json!({"name": name}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let alice = app.end_user(&[org], UserAccess::Requested).await;
    let mut asks = Vec::new();
    for i in 0..tickets {
        let t = app
            .ticket(
                &alice.token,
                json!({"subject": format!("Sharing request {i}")}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let c = app
            .post(
                &alice.token,
                &format!("/tickets/{t}/comments"),
                json!({"body": "We confirm the type and accept the risk for Acme.", "public": true}),
            )
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        asks.push((t, c.body["id"].as_i64().unwrap()));
    }
    (org, asks)
}

async fn sharing_change(
    app: Arc<TestApp>,
    token: String,
    org: i64,
    ask: (i64, i64),
    mode: &'static str,
) -> Answer {
    app.post(
        &token,
        &format!("/organizations/{org}/sharing-changes"),
        json!({"ticket_id": ask.0, "sharing": mode, "type_confirmed_comment_id": ask.1, "risk_approved_comment_id": ask.1}),
    )
    .await
}

/// The history, oldest first, as (before, after) pairs.
async fn history(app: &TestApp, admin: &TestUser, org: i64) -> Vec<(String, String)> {
    let h = app
        .get(
            &admin.token,
            &format!("/organizations/{org}/sharing-changes"),
        )
        .await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    let mut rows: Vec<(i64, String, String)> = h
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["sharing_before"].as_str().unwrap().to_owned(),
                r["sharing_after"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, b, a)| (b, a)).collect()
}

async fn concurrent_enables_of_one_mode_have_one_winner_and_the_same_refusal(app: TestApp) {
    let app = Arc::new(app);
    let admin = app.admin().await;
    const ROUNDS: usize = 8;
    const AT_ONCE: usize = 6;
    for round in 0..ROUNDS {
        let (org, asks) = asking_org(&app, &admin, &format!("Acme {round}"), AT_ONCE).await;
        let answers = at_once(&app, AT_ONCE, |app, i| {
            sharing_change(app, admin.token.clone(), org, asks[i], "read_only")
        })
        .await;
        let won: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: one winner: {answers:?}");
        for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
            assert_eq!(
                a.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "round {round}: {}",
                a.body
            );
            assert_eq!(codes(a), vec!["value_changes"], "round {round}: {}", a.body);
        }
        assert_eq!(
            history(&app, &admin, org).await,
            vec![("own_only".into(), "read_only".into())]
        );
        let o = app
            .get(&admin.token, &format!("/organizations/{org}"))
            .await;
        assert_eq!(o.body["sharing"], "read_only");
        let details = o.body["details"].as_str().unwrap();
        assert_eq!(details.lines().count(), 1, "{details}");
        // Only the winner's request ticket was resolved and answered.
        let winner_ticket = won[0].body["ticket_id"].as_i64().unwrap();
        for (t, _) in &asks {
            let status =
                app.get(&admin.token, &format!("/tickets/{t}")).await.body["status"].clone();
            let expected = if *t == winner_ticket {
                "Resolved"
            } else {
                "Open"
            };
            assert_eq!(status, expected, "round {round}, ticket {t}");
        }
    }
}

async fn concurrent_changes_to_different_modes_form_one_chain_with_every_details_line(
    app: TestApp,
) {
    let app = Arc::new(app);
    let admin = app.admin().await;
    const ROUNDS: usize = 8;
    const AT_ONCE: usize = 6;
    for round in 0..ROUNDS {
        let (org, asks) = asking_org(&app, &admin, &format!("Globex {round}"), AT_ONCE).await;
        let answers = at_once(&app, AT_ONCE, |app, i| {
            let mode = if i.is_multiple_of(2) {
                "read_only"
            } else {
                "read_write"
            };
            sharing_change(app, admin.token.clone(), org, asks[i], mode)
        })
        .await;
        let won = answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count();
        for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
            assert_eq!(codes(a), vec!["value_changes"], "round {round}: {}", a.body);
        }
        assert!(won >= 1, "round {round}: {answers:?}");
        let chain = history(&app, &admin, org).await;
        assert_eq!(chain.len(), won, "round {round}: one record per success");
        let mut mode = "own_only".to_owned();
        for (before, after) in &chain {
            assert_eq!(
                before, &mode,
                "round {round}: the history is a chain: {chain:?}"
            );
            assert_ne!(before, after);
            mode = after.clone();
        }
        let o = app
            .get(&admin.token, &format!("/organizations/{org}"))
            .await;
        assert_eq!(
            o.body["sharing"], mode,
            "round {round}: the last record is in force"
        );
        let details = o.body["details"].as_str().unwrap();
        assert_eq!(details.lines().count(), won, "round {round}: {details}");
    }
}

async fn unmapping_a_status_while_a_ticket_takes_its_group_keeps_the_invariant(app: TestApp) {
    let app = Arc::new(app);
    let admin = app.admin().await;
    let fiona = app.agent(TicketScope::Assigned, &[]).await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [fiona.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let waiting = app
        .post(&admin.token, "/statuses", json!({"name": "Waiting on Finance", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance]}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let customer = app.end_user(&[], UserAccess::Requested).await;
    const ROUNDS: usize = 15;
    let (mut kept_then_removed, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let t = app
            .ticket(
                &admin.token,
                json!({"requester_id": customer.id, "status_id": waiting}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let answers = at_once(&app, 2, |app, i| {
            let token = admin.token.clone();
            async move {
                if i == 0 {
                    app.patch(
                        &token,
                        &format!("/statuses/{waiting}"),
                        json!({"internal_group_ids": []}),
                    )
                    .await
                } else {
                    app.patch(
                        &token,
                        &format!("/tickets/{t}"),
                        json!({"internal_group_id": finance}),
                    )
                    .await
                }
            }
        })
        .await;
        assert_eq!(answers[0].status, StatusCode::OK, "{}", answers[0].body);
        let ticket = app.get(&admin.token, &format!("/tickets/{t}")).await.body;
        assert_eq!(
            ticket["internal_group_id"],
            Value::Null,
            "round {round}: the status maps no group, so the ticket has no internal group"
        );
        let events = app
            .get(&admin.token, &format!("/tickets/{t}/events"))
            .await
            .body;
        let removed = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "group_unmapped");
        match answers[1].status {
            StatusCode::OK => {
                assert!(
                    removed,
                    "round {round}: the removal is never silent: {events}"
                );
                kept_then_removed += 1;
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(codes(&answers[1]), vec!["wrong_internal_group"]);
                assert!(!removed, "round {round}");
                refused += 1;
            }
            other => panic!("round {round}: unexpected {other}: {}", answers[1].body),
        }
        // The ticket stays editable.
        let edit = app
            .patch(
                &admin.token,
                &format!("/tickets/{t}"),
                json!({"priority": "high"}),
            )
            .await;
        assert_eq!(edit.status, StatusCode::OK, "round {round}: {}", edit.body);
        let remap = app
            .patch(
                &admin.token,
                &format!("/statuses/{waiting}"),
                json!({"internal_group_ids": [finance]}),
            )
            .await;
        assert_eq!(remap.status, StatusCode::OK, "{}", remap.body);
    }
    assert_eq!(kept_then_removed + refused, ROUNDS);
}

async fn patches_without_if_match_all_apply_to_the_current_version(app: TestApp) {
    let app = Arc::new(app);
    let admin = app.admin().await;
    const AT_ONCE: usize = 12;
    for round in 0..3 {
        let t = app.ticket(&admin.token, json!({})).await;
        let (id, v0) = (t["id"].as_i64().unwrap(), t["version"].as_i64().unwrap());
        let answers = at_once(&app, AT_ONCE, |app, i| {
            let token = admin.token.clone();
            async move {
                app.patch(
                    &token,
                    &format!("/tickets/{id}"),
                    json!({"subject": format!("Edit {i}"), "tags": [format!("edit{i}")]}),
                )
                .await
            }
        })
        .await;
        for a in &answers {
            assert_eq!(a.status, StatusCode::OK, "round {round}: {}", a.body);
        }
        let after = app.get(&admin.token, &format!("/tickets/{id}")).await.body;
        assert_eq!(
            after["version"].as_i64().unwrap(),
            v0 + AT_ONCE as i64,
            "round {round}: every edit applied once"
        );
        // A stale If-Match still answers 412 and changes nothing.
        let stale = app
            .patch_if(
                &admin.token,
                &format!("/tickets/{id}"),
                v0,
                json!({"priority": "urgent"}),
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    }
}

async fn one_idempotency_key_sent_many_times_at_once_creates_one_ticket(app: TestApp) {
    let app = Arc::new(app);
    let admin = app.admin().await;
    for round in 0..5 {
        let key = format!("same-key-{round}");
        let answers = at_once(&app, 8, |app, _| {
            let (token, key) = (admin.token.clone(), key.clone());
            async move {
                app.raw(
                    |c, url| {
                        c.post(url)
                            .bearer_auth(token)
                            .header("Idempotency-Key", key)
                            .json(&json!({"subject": format!("Once {round}"), "description": "Only once."}))
                    },
                    "/tickets",
                )
                .await
            }
        })
        .await;
        let ids: Vec<Option<i64>> = answers.iter().map(|a| a.body["id"].as_i64()).collect();
        for a in &answers {
            assert_eq!(a.status, StatusCode::CREATED, "round {round}: {}", a.body);
        }
        assert!(ids.iter().all(|i| *i == ids[0]), "round {round}: {ids:?}");
        let n = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM tickets WHERE subject = 'Once {round}'"
            ))
            .await;
        assert_eq!(n, 1, "round {round}");
    }
}

/// Request `i` of the cut-off test: a ticket (even) or a reply on `host` (odd).
fn cut_request(i: usize, host: i64) -> (String, Value) {
    if i.is_multiple_of(2) {
        (
            "/tickets".to_owned(),
            json!({"subject": format!("Cut {i}"), "description": "Maybe cut off."}),
        )
    } else {
        (
            format!("/tickets/{host}/comments"),
            json!({"body": format!("Reply {i}"), "public": true}),
        )
    }
}

/// Creates tickets and replies with keys, most of them cut off by a client that gives up after
/// a few milliseconds; then retries every one with its key. Each happens exactly once, and no
/// database connection is left inside a transaction.
async fn requests_cut_off_mid_way_happen_exactly_once_on_retry(app: TestApp) {
    let admin = app.admin().await;
    let host = app
        .ticket(&admin.token, json!({"subject": "Replies go here"}))
        .await["id"]
        .as_i64()
        .unwrap();
    const N: usize = 60;
    // The test client panics on a transport error: cut-offs go through a plain client.
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..N {
        let (client, base, token) = (client.clone(), app.base.clone(), admin.token.clone());
        let (path, body) = cut_request(i, host);
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/api/v1{path}"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("cut-{i}"))
                .timeout(Duration::from_millis(2 + (i % 7) as u64 * 3))
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
                .ok()
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        if t.await.expect("task") == Some(reqwest::StatusCode::CREATED) {
            acknowledged += 1;
        }
    }
    for i in 0..N {
        let (path, body) = cut_request(i, host);
        let a = app
            .raw(
                |c, url| {
                    c.post(url)
                        .bearer_auth(&admin.token)
                        .header("Idempotency-Key", format!("cut-{i}"))
                        .json(&body)
                },
                &path,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "retry {i}: {}", a.body);
    }
    for i in 0..N {
        let sql = if i.is_multiple_of(2) {
            format!("SELECT COUNT(*) FROM tickets WHERE subject = 'Cut {i}'")
        } else {
            format!("SELECT COUNT(*) FROM comments WHERE body = 'Reply {i}'")
        };
        assert_eq!(
            app.scalar(&sql).await,
            1,
            "request {i} happened exactly once"
        );
    }
    assert_eq!(app.ticket_counts_drift().await, 0);
    if app.backend == ferrodesk_testkit::Backend::Postgres {
        let mut stuck = -1;
        for _ in 0..50 {
            stuck = app
                .scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND state LIKE 'idle in transaction%'",
                )
                .await;
            if stuck == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(stuck, 0, "no connection is left inside a transaction");
    }
    eprintln!("cut-off test: {N} sent, {acknowledged} acknowledged before the client gave up");
}

on_both_databases!(
    concurrent_enables_of_one_mode_have_one_winner_and_the_same_refusal,
    concurrent_changes_to_different_modes_form_one_chain_with_every_details_line,
    unmapping_a_status_while_a_ticket_takes_its_group_keeps_the_invariant,
    patches_without_if_match_all_apply_to_the_current_version,
    one_idempotency_key_sent_many_times_at_once_creates_one_ticket,
    requests_cut_off_mid_way_happen_exactly_once_on_retry,
);
