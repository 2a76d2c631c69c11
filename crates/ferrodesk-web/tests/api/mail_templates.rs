//! Mail templates: admins change the wording of what Ferrodesk sends; a template that does
//! not render is refused naming the field and changes nothing; the next message uses the new
//! wording; a reset brings the built-in one back.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_store::jobs::{Job, JobState};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::json;

/// The messages the outbox's pending jobs would send now.
async fn pending_messages(app: &TestApp) -> Vec<ferrodesk_app::mail::Outgoing> {
    let mut c = app.app.store().read().await.unwrap();
    let jobs = ferrodesk_store::jobs::list(&mut c, JobState::Pending, None, 100)
        .await
        .unwrap();
    let mut out = Vec::new();
    for j in jobs {
        let job = Job {
            id: j.id,
            kind: j.kind,
            payload: j.payload,
            attempts: j.attempts,
            created_at: j.created_at,
            locked_until: 0,
        };
        out.extend(app.app.render_job(&mut c, &job).await.unwrap());
    }
    out
}

async fn admins_reword_messages_and_a_broken_template_changes_nothing(app: TestApp) {
    let admin = app.admin().await;
    let listed = app.get(&admin.token, "/mail/templates").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "public_reply",
            "ticket_created",
            "ticket_solved",
            "internal_owner_removed",
            "rule_notification",
            "refusal_notice"
        ]
    );
    let created = &listed.body[1];
    assert_eq!(created["customized"], false);
    assert!(
        created["variables"]
            .as_array()
            .unwrap()
            .contains(&json!("ticket_subject"))
    );

    // Broken: an unknown variable, a syntax error — 422 naming the field, nothing saved.
    let bad = app
        .put_json(
            &admin.token,
            "/mail/templates/ticket_created",
            json!({"subject": "Got it: {{ ticket_subject }}", "body": "Hi {{ customer }}"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "body");
    assert!(
        bad.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("recipient_name"),
        "the message names the variables: {}",
        bad.body
    );
    let bad = app
        .put_json(
            &admin.token,
            "/mail/templates/ticket_created",
            json!({"subject": "{% if %}", "body": "Fine"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "subject");
    let still = app.get(&admin.token, "/mail/templates").await;
    assert_eq!(still.body[1]["customized"], false);
    let unknown = app
        .put_json(
            &admin.token,
            "/mail/templates/nope",
            json!({"subject": "a", "body": "b"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Reworded: the next acknowledgement says it the new way.
    let ok = app
        .put_json(
            &admin.token,
            "/mail/templates/ticket_created",
            json!({"subject": "We got it: {{ ticket_subject }}",
                   "body": "Dear {{ recipient_name }}, ticket #{{ ticket_id }} is ours now."}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["customized"], true);
    let dana = app.end_user(&[], UserAccess::Requested).await;
    let t = app
        .ticket(
            &admin.token,
            json!({"requester_id": dana.id, "subject": "Broken chair"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let messages = pending_messages(&app).await;
    let ack = messages
        .iter()
        .find(|m| m.ticket.0 == t)
        .expect("the acknowledgement");
    assert_eq!(ack.subject, "We got it: Broken chair");
    assert!(
        ack.text.starts_with("Dear ") && ack.text.ends_with(&format!("ticket #{t} is ours now.")),
        "{}",
        ack.text
    );

    // Agents may not; a reset brings the built-in wording back; both changes are audited.
    let ana = app.agent(TicketScope::Global, &[]).await;
    let denied = app.get(&ana.token, "/mail/templates").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let reset = app
        .delete(&admin.token, "/mail/templates/ticket_created")
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["customized"], false);
    assert_eq!(
        reset.body["subject"],
        "[#{{ ticket_id }}] {{ ticket_subject }}"
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'settings' AND changes LIKE '%mail_template.ticket_created%'"
        )
        .await,
        2
    );
}

on_both_databases!(admins_reword_messages_and_a_broken_template_changes_nothing);
