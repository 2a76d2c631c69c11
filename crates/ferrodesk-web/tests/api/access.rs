//! The access matrix of SPEC §3: every row of the end-user and agent tables, under every
//! sharing mode, through every entry point (detail, list, count, comments list, comment
//! create). Expectations are written from the SPEC tables, not computed by the policy.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

/// What a user should be able to do with a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expect {
    view: bool,
    comment: bool,
}

const FULL: Expect = Expect {
    view: true,
    comment: true,
};
const READ: Expect = Expect {
    view: true,
    comment: false,
};
const NONE: Expect = Expect {
    view: false,
    comment: false,
};

/// Checks every entry point for one user and ticket.
async fn check(app: &TestApp, who: &TestUser, ticket: i64, expect: Expect, label: &str) {
    let detail = app.get(&who.token, &format!("/tickets/{ticket}")).await;
    assert_eq!(
        detail.status,
        if expect.view {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        },
        "{label}: detail"
    );
    let list = app.get(&who.token, "/tickets?limit=100").await;
    assert_eq!(list.ids().contains(&ticket), expect.view, "{label}: list");
    let count = app.get(&who.token, "/tickets/count").await;
    assert_eq!(
        count.body["count"].as_i64().unwrap(),
        list.ids().len() as i64,
        "{label}: count equals the list"
    );
    let comments = app
        .get(&who.token, &format!("/tickets/{ticket}/comments"))
        .await;
    assert_eq!(
        comments.status,
        if expect.view {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        },
        "{label}: comments"
    );
    let reply = app
        .post(
            &who.token,
            &format!("/tickets/{ticket}/comments"),
            json!({"body": format!("reply from {label}")}),
        )
        .await;
    let want = match (expect.view, expect.comment) {
        (false, _) => StatusCode::NOT_FOUND,
        (true, false) => StatusCode::FORBIDDEN,
        (true, true) => StatusCode::CREATED,
    };
    assert_eq!(
        reply.status, want,
        "{label}: comment create: {}",
        reply.body
    );
    if want == StatusCode::FORBIDDEN {
        assert_eq!(reply.body["code"], "comment_not_allowed", "{label}");
    }
}

async fn set_sharing(app: &TestApp, org: i64, sharing: &str) {
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = '{sharing}' WHERE id = {org}"
    ))
    .await;
}

async fn end_users_see_and_comment_exactly_as_the_spec_table_says(app: TestApp) {
    let admin = app.admin().await;
    for sharing in ["own_only", "read_only", "read_write"] {
        for access in [UserAccess::Requested, UserAccess::Organization] {
            let org = app
                .post(
                    &admin.token,
                    "/organizations",
                    json!({"name": format!("Org {sharing} {access}")}),
                )
                .await
                .body["id"]
                .as_i64()
                .unwrap();
            set_sharing(&app, org, sharing).await;
            let colleague = app.end_user(&[org], UserAccess::Requested).await;
            let member = app.end_user(&[org], access).await;
            let outsider = app.end_user(&[], access).await;
            let cc = app.end_user(&[], access).await;
            let theirs = app.ticket(&colleague.token, json!({})).await["id"]
                .as_i64()
                .unwrap();
            let own = app.ticket(&member.token, json!({})).await["id"]
                .as_i64()
                .unwrap();
            let copied = app
                .ticket(
                    &admin.token,
                    json!({"requester_id": colleague.id, "cc_ids": [cc.id]}),
                )
                .await["id"]
                .as_i64()
                .unwrap();
            let member_on_colleagues = match (sharing, access) {
                ("read_write", _) => FULL,
                ("read_only", _) => READ,
                (_, UserAccess::Organization) => READ,
                _ => NONE,
            };
            let label = |rel: &str| format!("{rel} / org {sharing} / access {access}");
            check(&app, &member, own, FULL, &label("requester")).await;
            check(&app, &cc, copied, FULL, &label("cc")).await;
            check(
                &app,
                &member,
                theirs,
                member_on_colleagues,
                &label("member on a colleague's ticket"),
            )
            .await;
            check(&app, &outsider, theirs, NONE, &label("outsider")).await;
        }
    }
}

async fn agents_see_and_work_exactly_what_their_scope_allows(app: TestApp) {
    let admin = app.admin().await;
    let mine = app
        .post(&admin.token, "/groups", json!({"name": "Mine"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let other = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Other", "agent_ids": [admin.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let customer = app.end_user(&[], UserAccess::Requested).await;
    for scope in [
        TicketScope::Global,
        TicketScope::Group,
        TicketScope::Assigned,
    ] {
        let agent = app.agent(scope, &[mine]).await;
        let make = |extra: Value| {
            let mut body = json!({"requester_id": customer.id, "group_id": other});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        let cases = [
            ("group member", make(json!({"group_id": mine}))),
            (
                "internal group member",
                make(json!({"status": "Customer Responded", "internal_group_id": mine})),
            ),
            (
                "assignee",
                make(json!({"group_id": null, "assignee_id": agent.id})),
            ),
            (
                "internal agent",
                make(
                    json!({"status": "Customer Responded", "internal_group_id": mine, "internal_agent_id": agent.id}),
                ),
            ),
            ("requester", make(json!({"requester_id": agent.id}))),
            ("unrelated", make(json!({}))),
        ];
        for (relation, body) in cases {
            let id = app.ticket(&admin.token, body).await["id"].as_i64().unwrap();
            let expect = match (scope, relation) {
                (TicketScope::Global, _) => FULL,
                (_, "unrelated") => NONE,
                (TicketScope::Group, _) => FULL,
                (TicketScope::Assigned, "assignee" | "internal agent" | "requester") => FULL,
                (TicketScope::Assigned, _) => NONE,
            };
            check(
                &app,
                &agent,
                id,
                expect,
                &format!("{scope} agent, {relation}"),
            )
            .await;
        }
    }
}

async fn an_assigned_agent_sees_a_ticket_only_while_they_are_its_internal_agent(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.agent(TicketScope::Assigned, &[]).await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [agent.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let t = app.ticket(&admin.token, json!({"status": "Customer Responded", "internal_group_id": finance, "internal_agent_id": agent.id})).await;
    let path = format!("/tickets/{}", t["id"]);
    assert_eq!(app.get(&agent.token, &path).await.status, StatusCode::OK);
    app.patch(&admin.token, &path, json!({"status": "Open"}))
        .await;
    assert_eq!(
        app.get(&agent.token, &path).await.status,
        StatusCode::NOT_FOUND,
        "the status change removed them"
    );
    assert_eq!(
        app.get(&agent.token, "/tickets/count").await.body["count"],
        0
    );
}

on_both_databases!(
    end_users_see_and_comment_exactly_as_the_spec_table_says,
    agents_see_and_work_exactly_what_their_scope_allows,
    an_assigned_agent_sees_a_ticket_only_while_they_are_its_internal_agent,
);
