//! HTML tests: bulk actions on the ticket list (no JavaScript).

use super::*;

async fn an_agent_changes_ticked_tickets_and_reads_which_were_refused_and_why(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    let group = |name: &'static str| {
        let (app, token, member) = (&app, admin.token.clone(), a.id);
        async move {
            app.post(
                &token,
                "/groups",
                json!({"name": name, "agent_ids": [member]}),
            )
            .await
            .body["id"]
                .as_i64()
                .unwrap()
        }
    };
    let finance = group("Finance").await;
    let legal = group("Legal").await;
    let status = |name: &'static str, groups: Vec<i64>| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            app.post(&token, "/statuses", json!({"name": name, "customer_label": "In progress", "category": "pending", "internal_group_ids": groups}))
                .await
                .body["id"]
                .as_i64()
                .unwrap()
        }
    };
    let waiting = status("Waiting on Finance", vec![finance]).await;
    let review = status("Internal review", vec![finance, legal]).await;
    let id = |t: serde_json::Value| t["id"].as_i64().unwrap();
    let owned = id(app
        .ticket(&a.token, json!({"subject": "Refund for March", "status_id": waiting, "internal_group_id": finance}))
        .await);
    let reviewed = id(app
        .ticket(
            &a.token,
            json!({"subject": "Contract question", "status_id": review}),
        )
        .await);

    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let list = b.get("/agent/tickets").await;
    assert!(list.body.contains("Change the ticked tickets"));
    assert!(
        list.body
            .contains(&format!(r#"name="ids" value="{owned}""#))
    );
    assert!(
        !list.body.contains(" checked>"),
        "nothing is ticked at first"
    );
    let all = b.get(&list_href(&list.body, "select-all")).await;
    assert_eq!(all.status, StatusCode::OK);
    for t in [owned, reviewed] {
        assert!(
            all.body.contains(&format!(
                r#"value="{t}" id="tick-{t}" aria-label="Tick #{t} "#
            )),
            "{}",
            all.body
        );
    }
    assert_eq!(
        all.body.matches(" checked>").count(),
        2,
        "every ticket of the page is ticked"
    );

    let csrf = all.csrf();
    let (o, r, l) = (owned.to_string(), reviewed.to_string(), legal.to_string());
    let done = b
        .post(
            "/agent/tickets/bulk",
            &[
                ("_csrf", &csrf),
                ("back", ""),
                ("ids", &o),
                ("ids", &r),
                ("status_id", ""),
                ("priority", "high"),
                ("group_id", ""),
                ("assignee_id", ""),
                ("internal_group_id", &l),
                ("internal_agent_id", ""),
                ("add_tags", "vip, legal-review"),
                ("remove_tags", ""),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("1 ticket changed, 1 not changed"),
        "{}",
        done.body
    );
    assert!(
        done.body
            .contains(&format!("#{reviewed} Contract question</a>."))
    );
    assert!(
        done.body.contains(&format!(
            "#{owned} Refund for March</a> was not changed: Internal group: status Waiting on Finance allows these internal groups: Finance"
        )),
        "the refusal in words, with names: {}",
        done.body
    );
    let changed = app
        .get(&a.token, &format!("/tickets/{reviewed}"))
        .await
        .body;
    assert_eq!(
        (
            changed["priority"].clone(),
            changed["internal_group_id"].clone(),
            changed["tags"].clone()
        ),
        (json!("high"), json!(legal), json!(["legal-review", "vip"]))
    );
    let kept = app.get(&a.token, &format!("/tickets/{owned}")).await.body;
    assert_eq!(
        (
            kept["priority"].clone(),
            kept["internal_group_id"].clone(),
            kept["version"].clone()
        ),
        (json!("normal"), json!(finance), json!(1))
    );

    // Nothing ticked: said in words, nothing changes.
    let page = b.get("/agent/tickets").await;
    let csrf = page.csrf();
    let none = b
        .post(
            "/agent/tickets/bulk",
            &[("_csrf", &csrf), ("back", ""), ("priority", "low")],
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none.body
            .contains("Nothing was changed: choose at least one ticket."),
        "{}",
        none.body
    );
    let still = app
        .get(&a.token, &format!("/tickets/{reviewed}"))
        .await
        .body;
    assert_eq!(still["priority"], "high");
}

/// The `href` of the link with this id.
fn list_href(body: &str, id: &str) -> String {
    let at = body.find(&format!(r#"id="{id}""#)).expect("the link");
    let start = body[..at].rfind("href=\"").expect("href") + "href=\"".len();
    body[start..start + body[start..].find('"').unwrap()].replace("&amp;", "&")
}

on_both_databases!(an_agent_changes_ticked_tickets_and_reads_which_were_refused_and_why);
