//! Bulk changes (`POST /tickets/bulk`): each ticket through the one write path on its own,
//! so one refused ticket leaves the others changed and says why.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

async fn a_bulk_change_applies_to_each_ticket_and_reports_the_refused_ones(app: TestApp) {
    let admin = app.admin().await;
    let fiona = app.agent(TicketScope::Global, &[]).await;
    let group = |name: &'static str, members: Vec<i64>| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            app.post(
                &token,
                "/groups",
                json!({"name": name, "agent_ids": members}),
            )
            .await
            .body["id"]
                .as_i64()
                .unwrap()
        }
    };
    let finance = group("Finance", vec![fiona.id]).await;
    let legal = group("Legal", vec![]).await;
    let waiting = app
        .post(&admin.token, "/statuses", json!({"name": "Waiting on Finance", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance]}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let review = app
        .post(&admin.token, "/statuses", json!({"name": "Internal review", "customer_label": "In progress", "category": "pending", "internal_group_ids": [finance, legal]}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    // Owned by Finance in a status mapped to Finance only: Legal may not take it over.
    let owned = app
        .ticket(
            &admin.token,
            json!({"status_id": waiting, "internal_group_id": finance, "tags": ["billing"]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let open = app
        .ticket(
            &admin.token,
            json!({"status_id": review, "tags": ["billing", "old"]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let missing = open + 1000;

    let r = app
        .post(
            &fiona.token,
            "/tickets/bulk",
            json!({"ids": [owned, open, missing, open], "changes": {"priority": "urgent", "internal_group_id": legal},
                   "add_tags": ["VIP"], "remove_tags": ["old"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["updated"].as_i64(), r.body["refused"].as_i64()),
        (Some(1), Some(2)),
        "{}",
        r.body
    );
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(
        results
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![owned, open, missing],
        "each ticket once, in the order given"
    );
    assert_eq!(results[0]["updated"], false);
    assert_eq!(results[0]["problem"]["status"], 422);
    assert_eq!(
        results[0]["problem"]["errors"][0]["code"],
        "wrong_internal_group"
    );
    assert_eq!(
        results[0]["problem"]["errors"][0]["message"],
        "status Waiting on Finance allows these internal groups: Finance"
    );
    assert!(
        results[0]["problem"]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Finance"),
        "the refusal names the group: {}",
        results[0]
    );
    assert_eq!(results[1]["updated"], true);
    assert_eq!(results[1]["ticket"]["priority"], "urgent");
    assert_eq!(results[2]["problem"]["status"], 404);

    // What a person would check: the changed ticket changed, the refused one did not.
    let changed = app
        .get(&admin.token, &format!("/tickets/{open}"))
        .await
        .body;
    assert_eq!(changed["priority"], "urgent");
    assert_eq!(changed["internal_group_id"], legal);
    assert_eq!(changed["tags"], json!(["billing", "vip"]));
    let kept = app
        .get(&admin.token, &format!("/tickets/{owned}"))
        .await
        .body;
    assert_eq!(kept["priority"], "normal");
    assert_eq!(kept["internal_group_id"], finance);
    assert_eq!(kept["tags"], json!(["billing"]));
    // The change is on the changed ticket's timeline, by the agent who made it.
    let events = app
        .get(&admin.token, &format!("/tickets/{open}/events"))
        .await
        .body;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"]["id"], fiona.id, "{last}");
    assert_eq!(app.ticket_counts_drift().await, 0);
}

async fn a_bulk_change_that_cannot_start_changes_nothing(app: TestApp) {
    let agent = app.agent(TicketScope::Global, &[]).await;
    let t = app.ticket(&agent.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let none = app
        .post(
            &agent.token,
            "/tickets/bulk",
            json!({"ids": [], "changes": {"priority": "low"}}),
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(none.error_fields(), vec!["ids"]);
    let nothing = app
        .post(&agent.token, "/tickets/bulk", json!({"ids": [t]}))
        .await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nothing.error_fields(), vec!["changes"]);
    let many: Vec<i64> = (1..=101).collect();
    let too_many = app
        .post(
            &agent.token,
            "/tickets/bulk",
            json!({"ids": many, "changes": {"priority": "low"}}),
        )
        .await;
    assert_eq!(too_many.error_fields(), vec!["ids"]);
    let bad_tag = app
        .post(
            &agent.token,
            "/tickets/bulk",
            json!({"ids": [t], "add_tags": ["two words"]}),
        )
        .await;
    assert_eq!(bad_tag.error_fields(), vec!["add_tags[0]"]);
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let mine = app.ticket(&customer.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let refused = app
        .post(
            &customer.token,
            "/tickets/bulk",
            json!({"ids": [mine], "changes": {"status": "Solved"}}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let still = app.get(&agent.token, &format!("/tickets/{t}")).await.body;
    assert_eq!(
        (still["priority"].as_str(), still["version"].as_i64()),
        (Some("normal"), Some(1))
    );
    let theirs = app
        .get(&agent.token, &format!("/tickets/{mine}"))
        .await
        .body;
    assert_eq!(theirs["status"], "Open");
}

/// Two agents tag the same tickets at the same moment: each ticket ends with both tags
/// (each bulk change reads and writes a ticket's tags under the one write lock).
async fn bulk_tag_changes_sent_at_the_same_moment_both_land(app: TestApp) {
    let a = app.agent(TicketScope::Global, &[]).await;
    let b = app.agent(TicketScope::Global, &[]).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.ticket(&a.token, json!({"tags": ["start"]})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    for round in 0..3 {
        let (ta, tb) = (format!("a{round}"), format!("b{round}"));
        let (ra, rb) = tokio::join!(
            app.post(
                &a.token,
                "/tickets/bulk",
                json!({"ids": ids, "add_tags": [ta]})
            ),
            app.post(
                &b.token,
                "/tickets/bulk",
                json!({"ids": ids, "add_tags": [tb]})
            ),
        );
        assert_eq!(
            (ra.body["updated"].as_i64(), rb.body["updated"].as_i64()),
            (Some(5), Some(5)),
            "{} {}",
            ra.body,
            rb.body
        );
    }
    for id in ids {
        let t = app.get(&a.token, &format!("/tickets/{id}")).await.body;
        assert_eq!(
            t["tags"],
            json!(["a0", "a1", "a2", "b0", "b1", "b2", "start"]),
            "ticket {id}"
        );
    }
}

on_both_databases!(
    bulk_tag_changes_sent_at_the_same_moment_both_land,
    a_bulk_change_applies_to_each_ticket_and_reports_the_refused_ones,
    a_bulk_change_that_cannot_start_changes_nothing,
);
