//! HTML tests: macros (canned responses) — the Macros page, and applying one on a ticket.

use super::*;

/// The text of the `<textarea id=…>`.
fn textarea(body: &str, id: &str) -> String {
    let at = body
        .find(&format!(r#"<textarea id="{id}""#))
        .unwrap_or_else(|| panic!("no textarea {id}"));
    let rest = &body[at..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..rest.find("</textarea>").unwrap()].to_owned()
}

/// The label of the chosen option of the `<select id=…>`.
fn chosen(body: &str, id: &str) -> String {
    let at = body
        .find(&format!(r#"<select id="{id}""#))
        .unwrap_or_else(|| panic!("no select {id}"));
    let rest = &body[at..body[at..].find("</select>").unwrap() + at];
    let sel = rest.find(" selected>").expect("an option is chosen");
    let text = &rest[sel + " selected>".len()..];
    text[..text.find("</option>").unwrap()].to_owned()
}

async fn a_personal_macro_is_the_agents_own_and_another_agent_gets_no_such_macro(app: TestApp) {
    let ann = agent(&app, TicketScope::Global).await;
    let bob = agent(&app, TicketScope::Global).await;
    let ticket = app.ticket(&ann.token, json!({"subject": "Printer"})).await["id"]
        .as_i64()
        .unwrap();
    let mut a = Browser::new(&app);
    a.sign_in(&ann.email).await;
    let page = a.get("/agent/macros").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"href="/agent/macros" aria-current="page">Macros</a>"#)
    );
    assert!(page.body.contains("No macros yet."));
    let made = a
        .post(
            "/agent/macros",
            &[
                ("_csrf", &page.csrf()),
                ("name", "Restart first"),
                ("visibility", "personal"),
                ("public", "true"),
                ("body", "Please restart the printer."),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let list = a.get(made.location.as_deref().unwrap()).await;
    assert!(list.body.contains("Macro created."));
    assert!(
        list.body
            .contains("<td>Restart first</td><td>Public reply</td><td>Only me</td>")
    );
    let id = app.get(&ann.token, "/macros").await.body[0]["id"]
        .as_i64()
        .unwrap();

    let mut b = Browser::new(&app);
    b.sign_in(&bob.email).await;
    let theirs = b.get("/agent/macros").await;
    assert!(!theirs.body.contains("Restart first"));
    assert_eq!(
        b.get(&format!("/agent/macros/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let applied = b.get(&format!("/agent/tickets/{ticket}?macro={id}")).await;
    assert_eq!(applied.status, StatusCode::NOT_FOUND);
    assert!(applied.body.contains("No such macro"));
    let csrf = theirs.csrf();
    let deleted = b
        .post(&format!("/agent/macros/{id}/delete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&bob.token, &format!("/macros/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&ann.token, &format!("/macros/{id}")).await.status,
        StatusCode::OK
    );
    // Bob's ticket page offers no macro to apply.
    assert!(
        !b.get(&format!("/agent/tickets/{ticket}"))
            .await
            .body
            .contains("Apply macro")
    );
}

async fn the_macro_form_names_each_wrong_field_and_saves_nothing(app: TestApp) {
    let ann = agent(&app, TicketScope::Global).await;
    let mut a = Browser::new(&app);
    a.sign_in(&ann.email).await;
    let page = a.get("/agent/macros").await;
    // Agents do not share with everyone: the choice is not offered.
    assert!(!page.body.contains(r#"value="everyone""#));
    let refused = a
        .post(
            "/agent/macros",
            &[
                ("_csrf", &page.csrf()),
                ("name", "  "),
                ("visibility", "group"),
                ("group_id", ""),
                ("public", "false"),
                ("body", "Kept as typed"),
                ("add_tags", "ok no/slash"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("The macro was not saved"));
    assert!(
        refused
            .body
            .contains(r#"<p class="field-error" id="macro_name-error">name must not be empty</p>"#)
    );
    assert!(refused.body.contains(
        r#"<p class="field-error" id="macro_group_id-error">a group macro needs group_id</p>"#
    ));
    assert!(
        refused
            .body
            .contains(r#"id="macro_add_tags-error">tags are 1 to 64"#)
    );
    assert_eq!(textarea(&refused.body, "macro_body"), "Kept as typed");
    assert!(
        refused
            .body
            .contains(r#"id="macro_public_false" name="public" value="false" checked"#)
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM macros").await, 0);
}

/// What the two "Password reset" tests start from.
struct Setup {
    admin: ferrodesk_testkit::TestUser,
    ann: ferrodesk_testkit::TestUser,
    /// The "Second line" group, Ann in it.
    support: i64,
    /// The Pending status.
    pending: i64,
    /// Ann's ticket "Cannot log in", tagged login.
    ticket: i64,
    version: i64,
    /// Ann's macro "Password reset": a public reply, Pending, high, Second line, tag password.
    m: i64,
}

async fn password_reset_macro(app: &TestApp) -> Setup {
    let admin = app.admin().await;
    let ann = agent(app, TicketScope::Global).await;
    let support = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Second line", "agent_ids": [ann.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let pending = status_id(app, &ann.token, "Pending").await;
    let t = app
        .ticket(
            &ann.token,
            json!({"subject": "Cannot log in", "tags": ["login"]}),
        )
        .await;
    let m = app
        .post(
            &ann.token,
            "/macros",
            json!({"name": "Password reset", "body": "I sent you a reset link.", "set_status_id": pending,
                   "set_priority": "high", "set_group_id": support, "add_tags": ["password"]}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.body);
    Setup {
        support,
        pending,
        ticket: t["id"].as_i64().unwrap(),
        version: t["version"].as_i64().unwrap(),
        m: m.body["id"].as_i64().unwrap(),
        admin,
        ann,
    }
}

async fn applying_a_macro_fills_the_reply_for_review_and_sending_it_sets_the_properties(
    app: TestApp,
) {
    let Setup {
        ann,
        pending,
        ticket,
        version,
        m,
        ..
    } = password_reset_macro(&app).await;

    let mut a = Browser::new(&app);
    a.sign_in(&ann.email).await;
    let page = a.get(&format!("/agent/tickets/{ticket}")).await;
    assert!(
        page.body
            .contains(r#"<label for="macro">Apply macro</label>"#)
    );
    assert!(
        page.body
            .contains(&format!(r#"<option value="{m}">Password reset</option>"#))
    );
    let applied = a.get(&format!("/agent/tickets/{ticket}?macro={m}")).await;
    assert_eq!(applied.status, StatusCode::OK);
    assert!(
        applied
            .body
            .contains("Macro “Password reset” applied — review and send. Nothing is saved yet.")
    );
    assert_eq!(
        textarea(&applied.body, "reply_body"),
        "I sent you a reset link."
    );
    assert_eq!(textarea(&applied.body, "note_body"), "");
    assert_eq!(chosen(&applied.body, "reply_status_id"), "Pending");
    assert!(applied.body.contains(r#"name="priority" value="high" checked> <label for="reply_also_priority" class="inline">Priority: High</label>"#));
    assert!(
        applied.body.contains(
            r#"<label for="reply_also_group_id" class="inline">Group: Second line</label>"#
        )
    );
    assert!(
        applied
            .body
            .contains(r#"name="add_tags" value="password" checked>"#)
    );
    // Nothing was written by applying it.
    let now = app
        .get(&ann.token, &format!("/tickets/{ticket}"))
        .await
        .body;
    assert_eq!(now["version"], version);
    assert_eq!(now["status"], "Open");
    assert_eq!(
        app.get(&ann.token, &format!("/tickets/{ticket}/comments"))
            .await
            .ids()
            .len(),
        1
    );

    // The agent leaves the group unticked and sends: reply, status, priority and tag in one write.
    let v = version.to_string();
    let p = pending.to_string();
    let sent = a
        .post_multipart(
            &format!("/agent/tickets/{ticket}/comments"),
            &[
                ("_csrf", &applied.csrf()),
                ("public", "true"),
                ("version", &v),
                ("orig_status_id", &now["status_id"].to_string()),
                ("orig_priority", "normal"),
                ("orig_group_id", ""),
                ("orig_internal_group_id", ""),
                ("body", "I sent you a reset link."),
                ("macro_id", &m.to_string()),
                ("priority", "high"),
                ("add_tags", "password"),
                ("status_id", &p),
            ],
            &[],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let after = app
        .get(&ann.token, &format!("/tickets/{ticket}"))
        .await
        .body;
    assert_eq!(after["status"], "Pending");
    assert_eq!(after["priority"], "high");
    assert_eq!(after["group_id"], json!(null));
    assert_eq!(after["tags"], json!(["login", "password"]));
    let comments = app
        .get(&ann.token, &format!("/tickets/{ticket}/comments"))
        .await
        .body;
    assert_eq!(comments["items"][1]["body"], "I sent you a reset link.");
    assert_eq!(comments["items"][1]["public"], true);
}

/// A macro sent after a colleague changed the ticket: nothing is saved, and the reply box's
/// conflict shows every property the macro carries beside the ticket as it is now.
async fn a_macro_meeting_a_colleagues_change_shows_each_of_its_properties_beside_theirs(
    app: TestApp,
) {
    let Setup {
        admin,
        ann,
        support,
        pending,
        ticket,
        m,
        ..
    } = password_reset_macro(&app).await;
    let mut a = Browser::new(&app);
    a.sign_in(&ann.email).await;
    let applied = a.get(&format!("/agent/tickets/{ticket}?macro={m}")).await;
    let now = app
        .get(&ann.token, &format!("/tickets/{ticket}"))
        .await
        .body;
    // Meanwhile the admin makes it urgent and tags it "vip".
    let theirs = app
        .patch(
            &admin.token,
            &format!("/tickets/{ticket}"),
            json!({"priority": "urgent", "tags": ["login", "vip"]}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    let v = now["version"].to_string();
    let sent = a
        .post_multipart(
            &format!("/agent/tickets/{ticket}/comments"),
            &[
                ("_csrf", &applied.csrf()),
                ("public", "true"),
                ("last_comment_id", "0"),
                ("version", &v),
                ("orig_status_id", &now["status_id"].to_string()),
                ("orig_priority", "normal"),
                ("orig_group_id", ""),
                ("orig_internal_group_id", ""),
                ("orig_tags", "login"),
                ("body", "I sent you a reset link."),
                ("macro_id", &m.to_string()),
                ("priority", "high"),
                ("group_id", &support.to_string()),
                ("add_tags", "password"),
                ("status_id", &pending.to_string()),
            ],
            &[],
        )
        .await;
    assert_eq!(
        sent.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        sent.body
    );
    assert!(sent.body.contains(r#"id="reply-conflict""#));
    assert_eq!(
        table_rows(&sent.body, "reply-conflict-sides"),
        [
            "Property Now on the ticket Yours (not saved)",
            "Status Open Pending",
            "Priority Urgent — changed by Admin High",
            "Group none Second line",
            "Tags login, vip — changed by Admin added password",
        ],
        "{}",
        sent.body
    );
    // Nothing was saved; the reply and the macro's choices are kept for a second send.
    let after = app
        .get(&ann.token, &format!("/tickets/{ticket}"))
        .await
        .body;
    assert_eq!(after["status"], "Open");
    assert_eq!(after["priority"], "urgent");
    assert_eq!(after["group_id"], json!(null));
    assert_eq!(after["tags"], json!(["login", "vip"]));
    assert_eq!(
        textarea(&sent.body, "reply_body"),
        "I sent you a reset link."
    );
    assert!(
        sent.body
            .contains(r#"name="add_tags" value="password" checked>"#)
    );
}

on_both_databases!(
    a_macro_meeting_a_colleagues_change_shows_each_of_its_properties_beside_theirs,
    a_personal_macro_is_the_agents_own_and_another_agent_gets_no_such_macro,
    the_macro_form_names_each_wrong_field_and_saves_nothing,
    applying_a_macro_fills_the_reply_for_review_and_sending_it_sets_the_properties,
);
