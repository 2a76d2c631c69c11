//! The outbox as admins see it: what each message is, for whom, how often it was tried and
//! the SMTP server's answer; a failed message can be sent again, nothing else can.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

async fn admins_see_failed_mail_in_words_and_send_it_again(app: TestApp) {
    let admin = app.admin().await;
    let dana = app.end_user(&[], UserAccess::Requested).await;
    let t = app
        .ticket(&admin.token, json!({"requester_id": dana.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    let reply = app
        .post(
            &admin.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "An answer"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // No SMTP server runs in these tests: the mail waits in the outbox.
    let pending = app.get(&admin.token, "/outbox").await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    let items = pending.body["items"].as_array().unwrap().clone();
    let messages: Vec<&str> = items
        .iter()
        .filter(|i| i["ticket_id"] == t)
        .map(|i| i["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, vec!["Public reply", "New ticket acknowledgement"]);
    let reply_job = items
        .iter()
        .find(|i| i["ticket_id"] == t && i["message"] == "Public reply")
        .unwrap();
    let id = reply_job["id"].as_i64().unwrap();
    let name = app
        .get(&admin.token, &format!("/users/{}", dana.id))
        .await
        .body["name"]
        .clone();
    assert_eq!(reply_job["recipient"], name);
    assert_eq!(reply_job["state"], "pending");

    // Given up by the worker (as after a 5xx answer): listed as failed with the answer.
    app.execute_sql(&format!(
        "UPDATE jobs SET failed_at = 1, attempts = 3, last_error = '550 mailbox unavailable' WHERE id = {id}"
    ))
    .await;
    let failed = app.get(&admin.token, "/outbox?state=failed").await;
    let f = &failed.body["items"][0];
    assert_eq!(f["id"], id);
    assert_eq!(f["state"], "failed");
    assert_eq!(f["attempts"], 3);
    assert_eq!(f["last_error"], "550 mailbox unavailable");
    assert_eq!(f["next_attempt_at"], serde_json::Value::Null);

    // Agents do not see the outbox; admins send a failed message again, once.
    let agent = app.agent(TicketScope::Global, &[]).await;
    assert_eq!(
        app.get(&agent.token, "/outbox").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&agent.token, &format!("/outbox/{id}/retry"), json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let again = app
        .post(&admin.token, &format!("/outbox/{id}/retry"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM jobs WHERE id = {id} AND failed_at IS NULL AND done_at IS NULL"
        ))
        .await,
        1
    );
    let twice = app
        .post(&admin.token, &format!("/outbox/{id}/retry"), json!({}))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert_eq!(
        app.post(&admin.token, "/outbox/999999/retry", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE entity_type = 'job' AND entity_id = {id} AND action = 'retried'")).await,
        1,
        "audited"
    );
    let bad = app.get(&admin.token, "/outbox?state=lost").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
}

/// Old delivered messages and old automatic inbound mail are deleted; failed and waiting
/// messages, and mail that became a comment, stay.
async fn old_delivered_mail_is_deleted_and_the_rest_stays(app: TestApp) {
    let admin = app.admin().await;
    let dana = app.end_user(&[], UserAccess::Requested).await;
    let t = app
        .ticket(&admin.token, json!({"requester_id": dana.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    for body in ["One", "Two", "Three"] {
        let r = app
            .post(
                &admin.token,
                &format!("/tickets/{t}/comments"),
                json!({"body": body}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let auto = "From: x@y.example\r\nSubject: Away\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <old-1@y>\r\n\r\nAway.\r\n";
    app.app.ingest_mail(auto.as_bytes()).await.unwrap();
    let ids: Vec<i64> = {
        let max = app.scalar("SELECT MAX(id) FROM jobs").await;
        (max - 3..=max).collect()
    };
    let reply = format!(
        "From: {}\r\nSubject: Re: [#{t}] x\r\nMessage-ID: <old-2@y>\r\n\r\nThanks.\r\n",
        dana.email
    );
    let kept = app.app.ingest_mail(reply.as_bytes()).await.unwrap();
    assert_eq!(kept.outcome, "commented");
    let long_ago = app.app.now() - 40 * 86_400_000_000;
    // Delivered long ago, delivered yesterday, failed long ago, still waiting.
    app.execute_sql(&format!(
        "UPDATE jobs SET done_at = {long_ago} WHERE id = {}",
        ids[0]
    ))
    .await;
    let yesterday = app.app.now() - 86_400_000_000;
    app.execute_sql(&format!(
        "UPDATE jobs SET done_at = {yesterday} WHERE id = {}",
        ids[1]
    ))
    .await;
    app.execute_sql(&format!(
        "UPDATE jobs SET failed_at = {long_ago}, created_at = {long_ago} WHERE id = {}",
        ids[2]
    ))
    .await;
    app.execute_sql(&format!(
        "UPDATE inbound_messages SET received_at = {long_ago}"
    ))
    .await;
    let (jobs, inbound) = app.app.purge_old_mail(30).await.unwrap();
    assert_eq!((jobs, inbound), (1, 1));
    let left = |id: i64| format!("SELECT COUNT(*) FROM jobs WHERE id = {id}");
    assert_eq!(
        app.scalar(&left(ids[0])).await,
        0,
        "delivered 40 days ago: gone"
    );
    assert_eq!(
        app.scalar(&left(ids[1])).await,
        1,
        "delivered yesterday: kept"
    );
    assert_eq!(
        app.scalar(&left(ids[2])).await,
        1,
        "failed: kept for admins"
    );
    assert_eq!(app.scalar(&left(ids[3])).await, 1, "waiting: kept");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM inbound_messages").await,
        1,
        "the message that became a comment stays"
    );
}

on_both_databases!(
    admins_see_failed_mail_in_words_and_send_it_again,
    old_delivered_mail_is_deleted_and_the_rest_stays,
);
