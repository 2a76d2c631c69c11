//! HTML tests of the agent's ticket page and new ticket form: tags and CCs edited in the
//! properties form (and a colleague's change to them never reverted), the requester picked
//! by typing without JavaScript, the agent's own time zone, the requester's other tickets,
//! and comments as safe Markdown.

use super::*;

/// An attribute's value in one tag (`name="…"`), unescaped enough for ids, names and tags.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(r#" {name}=""#);
    let at = tag.find(&key)? + key.len();
    let rest = &tag[at..];
    Some(
        rest[..rest.find('"')?]
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The fields a browser without JavaScript sends for the form whose tag contains `marker`
/// as it is shown: hidden and text inputs, ticked boxes and chosen radios, and each
/// select's chosen option (its first when none is marked).
fn form_fields(body: &str, marker: &str) -> Vec<(String, String)> {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in the page"));
    let form = &body[start..];
    let form = &form[..form.find("</form>").expect("the form ends")];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            let name = attr(tag, "name");
            let value = attr(tag, "value").unwrap_or_default();
            let ticked = tag.contains(" checked");
            if let Some(name) = name
                && kind != "file"
                && (!(kind == "checkbox" || kind == "radio") || ticked)
            {
                out.push((name, value));
            }
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").expect("a named select");
            let close = rest.find("</select>").expect("the select ends");
            let options: Vec<&str> = rest[..close].split("<option").skip(1).collect();
            let chosen = options
                .iter()
                .find(|o| o[..o.find('>').unwrap()].contains(" selected"))
                .or(options.first())
                .and_then(|o| attr(&o[..o.find('>').unwrap()], "value"))
                .unwrap_or_default();
            out.push((name, chosen));
            rest = &rest[close..];
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").expect("a named textarea");
            let close = rest.find("</textarea>").unwrap();
            out.push((name, rest[end + 1..close].to_owned()));
            rest = &rest[close..];
        }
        rest = &rest[1..];
    }
    out
}

/// `fields` with `name` set to `value` (added when missing).
fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(f) => f.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

fn props(body: &str) -> Vec<(String, String)> {
    form_fields(body, r#"id="properties""#)
}

async fn named(app: &TestApp, name: &str, email: &str, role: Role) -> ferrodesk_testkit::TestUser {
    person(
        app,
        UserIn {
            name: name.into(),
            email: email.into(),
            access: (role == Role::EndUser).then_some(UserAccess::Requested),
            ticket_scope: (role != Role::EndUser).then_some(TicketScope::Global),
            ..user_in(name, role)
        },
    )
    .await
}

async fn tags_and_ccs_are_edited_in_the_properties_form(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let carla = named(&app, "Carla Cc", "carla@example.test", Role::EndUser).await;
    let dora = named(&app, "Dora Cc", "dora@example.test", Role::EndUser).await;
    let t = app
        .ticket(
            &a.token,
            json!({"tags": ["billing", "vip"], "cc_ids": [carla.id]}),
        )
        .await;
    let id = t["id"].as_i64().unwrap();
    let path = format!("/agent/tickets/{id}");
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let page = b.get(&path).await;
    assert!(
        page.body.contains(r#"value="billing, vip""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Carla Cc"));
    // Tags typed with commas and spaces; Carla removed; Dora added by her address.
    let mut f = props(&page.body);
    set(&mut f, "tags", "billing, Printer  urgent");
    f.push(("remove_cc".into(), carla.id.to_string()));
    set(&mut f, "add_cc", "DORA@example.test");
    let done = b.post(&path, &pairs(&f)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let now = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(now["tags"], json!(["billing", "printer", "urgent"]));
    assert_eq!(now["cc_ids"], json!([dora.id]));
    let page = b.get(&path).await;
    assert!(
        page.body
            .contains("Tags: billing, vip → billing, printer, urgent"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("CCs: Carla Cc → Dora Cc"),
        "{}",
        page.body
    );

    // An address nobody has: said under the field, naming it; nothing changes.
    let mut f = props(&page.body);
    set(&mut f, "add_cc", "nobody@example.test");
    set(&mut f, "tags", "changed");
    let refused = b.post(&path, &pairs(&f)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains(r#"id="add_cc-error">No one has the address nobody@example.test"#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="nobody@example.test""#));
    // A tag Ferrodesk refuses, said under the tags.
    let mut f = props(&refused.body);
    set(&mut f, "add_cc", "");
    set(&mut f, "tags", "ok b@d!");
    let refused = b.post(&path, &pairs(&f)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(r#"id="tags-error""#),
        "{}",
        refused.body
    );
    let same = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(same["tags"], json!(["billing", "printer", "urgent"]));
    assert_eq!(same["cc_ids"], json!([dora.id]));
}

async fn a_second_update_never_reverts_a_colleagues_tags_or_ccs(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let admin = app.admin().await;
    let carla = named(&app, "Carla Cc", "carla@example.test", Role::EndUser).await;
    let dora = named(&app, "Dora Cc", "dora@example.test", Role::EndUser).await;
    let t = app
        .ticket(&a.token, json!({"tags": ["billing"], "cc_ids": [carla.id]}))
        .await;
    let id = t["id"].as_i64().unwrap();
    let path = format!("/agent/tickets/{id}");
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let opened = b.get(&path).await;
    // Meanwhile a colleague adds the tag "vip" and CCs Dora.
    let theirs = app
        .patch(
            &admin.token,
            &format!("/tickets/{id}"),
            json!({"tags": ["billing", "vip"], "cc_ids": [carla.id, dora.id]}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    // The agent, on the page opened before, adds "printer" and removes Carla.
    let mut f = props(&opened.body);
    set(&mut f, "tags", "billing printer");
    f.push(("remove_cc".into(), carla.id.to_string()));
    let stale = b.post(&path, &pairs(&f)).await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale.body.contains("Someone changed this ticket"));
    assert!(
        stale.body.contains("Tags: billing → billing, vip"),
        "{}",
        stale.body
    );
    assert!(
        stale.body.contains("You had chosen: Tags added printer"),
        "{}",
        stale.body
    );
    // Side by side, every property of the form: the ticket now (who changed it) and the
    // agent's own pending edits, in names.
    let rows = table_rows(&stale.body, "conflict-sides");
    assert_eq!(
        rows,
        [
            "Property Now on the ticket Yours (not saved)",
            "Status Open not changed",
            "Priority Normal not changed",
            "Group none not changed",
            "Assignee none not changed",
            "Internal group none not changed",
            "Internal agent none not changed",
            "Tags billing, vip — changed by Admin added printer",
            "CCs Carla Cc, Dora Cc — changed by Admin removed Carla Cc",
        ],
        "{}",
        stale.body
    );
    // Nothing was saved; the form shows both changes together.
    let unchanged = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(unchanged["tags"], json!(["billing", "vip"]));
    assert!(
        stale.body.contains(r#"value="billing, printer, vip""#),
        "{}",
        stale.body
    );
    // The second Update keeps the colleague's "vip" and Dora, and adds the agent's changes.
    let again = b.post(&path, &pairs(&props(&stale.body))).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let now = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(now["tags"], json!(["billing", "printer", "vip"]));
    assert_eq!(now["cc_ids"], json!([dora.id]));
}

async fn the_requester_is_picked_by_typing_without_javascript(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let erin = named(&app, "Erin Walsh", "erin@example.test", Role::EndUser).await;
    named(&app, "Frank Walsh", "frank@example.test", Role::EndUser).await;
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let page = b.get("/agent/tickets/new").await;
    // A text box defaulting to nobody, not a list of everyone.
    assert!(
        page.body
            .contains(r#"id="requester" name="requester" value="""#)
    );
    assert!(!page.body.contains("erin@example.test"), "nobody is listed");
    let send = |requester: &str, page: &Page| {
        let mut f = form_fields(&page.body, r#"action="/agent/tickets""#);
        set(&mut f, "requester", requester);
        set(&mut f, "subject", "Toner low");
        set(&mut f, "description", "Please send toner.");
        f
    };
    // Nobody matches: said under the box, naming what was typed; nothing created.
    let none = b
        .post("/agent/tickets", &pairs(&send("zelda@example.test", &page)))
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none.body
            .contains(r#"id="requester-error">No one has the address zelda@example.test"#),
        "{}",
        none.body
    );
    // Several match: they are listed to choose from, and the choice is kept.
    let several = b
        .post("/agent/tickets", &pairs(&send("walsh", &none)))
        .await;
    assert_eq!(several.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        several.body.contains("Several people match “walsh”"),
        "{}",
        several.body
    );
    let choices = &several.body[several.body.find(r#"id="requester-choices""#).unwrap()..];
    let choices = &choices[..choices.find("</fieldset>").unwrap()];
    assert!(
        choices.contains(&format!(r#"name="requester_pick" value="{}""#, erin.id)),
        "{choices}"
    );
    assert!(choices.contains("Erin Walsh") && choices.contains("erin@example.test"));
    assert!(choices.contains("Frank Walsh") && choices.contains("frank@example.test"));
    let mut f = send("walsh", &several);
    f.push(("requester_pick".into(), erin.id.to_string()));
    let chosen = b.post("/agent/tickets", &pairs(&f)).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    let id: i64 = chosen
        .location
        .unwrap()
        .trim_start_matches("/agent/tickets/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let t = app.get(&a.token, &format!("/tickets/{id}")).await.body;
    assert_eq!(t["requester_id"], json!(erin.id));
    // One match, by an exact address (case aside): created at once.
    let one = b
        .post("/agent/tickets", &pairs(&send("Erin@Example.test", &page)))
        .await;
    assert_eq!(one.status, StatusCode::SEE_OTHER, "{}", one.body);
    // Nothing typed: the requester is asked for.
    let empty = b.post("/agent/tickets", &pairs(&send("", &page))).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains(r#"id="requester-error">Type the requester"#)
    );
    // The staff-only search the script asks as the agent types.
    let found = b.get("/agent/people?q=wals").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found.body.contains(&format!(r#"data-id="{}""#, erin.id)),
        "{}",
        found.body
    );
    assert!(found.body.contains("Frank Walsh"));
    let mut cb = Browser::new(&app);
    let c = customer(&app, &[]).await;
    cb.sign_in(&c.email).await;
    let refused = cb.get("/agent/people?q=wals").await;
    assert!(
        !refused.body.contains("Frank Walsh"),
        "end users search nobody"
    );
}

async fn the_agent_list_follows_the_chosen_group(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    let ann = named(&app, "Ann Member", "ann@example.test", Role::Agent).await;
    let bob = named(&app, "Bob Outsider", "bob@example.test", Role::Agent).await;
    let g = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Billing", "agent_ids": [ann.id]}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    let g = g.body["id"].as_i64().unwrap();
    let t = app.ticket(&a.token, json!({"group_id": g})).await;
    let id = t["id"].as_i64().unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let page = b.get(&format!("/agent/tickets/{id}")).await;
    let field = &page.body[page.body.find(r#"id="assignee-field""#).unwrap()..];
    let field = &field[..field.find("</div>").unwrap()];
    assert!(
        field.contains("Ann Member") && !field.contains("Bob Outsider"),
        "{field}"
    );
    assert!(field.contains("Members of Billing"));
    // The fragment the page swaps in when the group changes.
    let none = b.get("/agent/assignees?group_id=&assignee_id=").await;
    assert!(none.body.contains("Bob Outsider") && none.body.contains("Ann Member"));
    let billing = b
        .get(&format!(
            "/agent/assignees?group_id={g}&assignee_id={}",
            bob.id
        ))
        .await;
    assert!(!billing.body.contains("Bob Outsider"), "{}", billing.body);
    // Without JavaScript a non-member sent anyway is refused, in words.
    let mut f = props(&page.body);
    set(&mut f, "assignee_id", &bob.id.to_string());
    let refused = b.post(&format!("/agent/tickets/{id}"), &pairs(&f)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(r#"id="assignee_id-error""#),
        "{}",
        refused.body
    );
}

async fn times_are_shown_in_the_agents_own_time_zone(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let t = app.ticket(&a.token, json!({})).await;
    let id = t["id"].as_i64().unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let before = b.get(&format!("/agent/tickets/{id}")).await;
    assert!(before.body.contains("(UTC)"), "the desk's zone by default");
    let form = b.get("/account/time-zone").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("The desk&#39;s time zone (UTC)")
            || form.body.contains("The desk's time zone (UTC)"),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains(r#"<option value="Asia/Tokyo">Asia/Tokyo</option>"#)
    );
    // An unknown zone: refused, said under the field, nothing changes.
    let bad = b
        .post(
            "/account/time-zone",
            &[("_csrf", &form.csrf()), ("time_zone", "Mars/Olympus_Mons")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(r#"id="time_zone-error""#) && bad.body.contains("Mars/Olympus_Mons"),
        "{}",
        bad.body
    );
    let ok = b
        .post(
            "/account/time-zone",
            &[("_csrf", &form.csrf()), ("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let saved = b.get("/account/time-zone").await;
    assert!(
        saved
            .body
            .contains(r#"<option value="Asia/Tokyo" selected>"#)
    );
    let after = b.get(&format!("/agent/tickets/{id}")).await;
    assert!(after.body.contains("JST (Asia/Tokyo)"), "{}", after.body);
    assert!(!after.body.contains("(UTC)"));
    // Back to the desk's zone.
    b.post(
        "/account/time-zone",
        &[("_csrf", &form.csrf()), ("time_zone", "")],
    )
    .await;
    assert!(
        b.get(&format!("/agent/tickets/{id}"))
            .await
            .body
            .contains("(UTC)")
    );
}

async fn the_requesters_other_tickets_are_only_those_the_agent_may_see(app: TestApp) {
    let admin = app.admin().await;
    let scoped = agent(&app, TicketScope::Group).await;
    let mine = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Support", "agent_ids": [scoped.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let theirs = app
        .post(&admin.token, "/groups", json!({"name": "Legal"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let c = customer(&app, &[]).await;
    let ticket = |subject: &str, group: i64| json!({"subject": subject, "requester_id": c.id, "group_id": group});
    let here = app.ticket(&admin.token, ticket("Printer jams", mine)).await["id"]
        .as_i64()
        .unwrap();
    app.ticket(&admin.token, ticket("Toner is low", mine)).await;
    app.ticket(&admin.token, ticket("Contract dispute", theirs))
        .await;
    let mut b = Browser::new(&app);
    b.sign_in(&scoped.email).await;
    let page = b.get(&format!("/agent/tickets/{here}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let list = &page.body[page.body.find(r#"id="other-tickets""#).unwrap()..];
    let list = &list[..list.find("</section>").unwrap()];
    assert!(
        list.contains("Toner is low") && list.contains("Open"),
        "{list}"
    );
    assert!(
        !list.contains("Contract dispute"),
        "not the agent's to see: {list}"
    );
    assert!(!list.contains("Printer jams"), "not the ticket itself");
    assert!(list.contains("just now"));
    // A requester with no other ticket.
    let d = customer(&app, &[]).await;
    let alone = app
        .ticket(
            &admin.token,
            json!({"requester_id": d.id, "group_id": mine}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let page = b.get(&format!("/agent/tickets/{alone}")).await;
    assert!(page.body.contains("No other tickets."));
}

async fn comments_are_safe_markdown_on_the_agent_page_and_in_the_portal(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let t = app
        .ticket(
            &a.token,
            json!({"requester_id": c.id, "description": "Plain text\nstays plain."}),
        )
        .await;
    let id = t["id"].as_i64().unwrap();
    let body = "**Fixed** it <script>alert('x')</script> <img src=x onerror=alert(1)>\n\
                See https://example.com/help and [the guide](javascript:alert(1)).";
    let r = app
        .post(
            &a.token,
            &format!("/tickets/{id}/comments"),
            json!({"body": body, "public": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    for page in [
        ab.get(&format!("/agent/tickets/{id}")).await,
        cb.get(&format!("/portal/requests/{id}")).await,
    ] {
        assert_eq!(page.status, StatusCode::OK);
        let b = &page.body;
        assert!(b.contains("<strong>Fixed</strong>"), "{b}");
        assert!(!b.contains("<script>alert"), "{b}");
        assert!(!b.contains("<img"), "no element, only text: {b}");
        assert!(!b.contains("javascript:"), "{b}");
        assert!(
            b.contains("&lt;script&gt;"),
            "typed HTML is shown as text: {b}"
        );
        assert!(
            b.contains(r#"<a href="https://example.com/help" rel="noopener noreferrer nofollow">"#),
            "{b}"
        );
        assert!(b.contains("Plain text<br>"), "line breaks kept: {b}");
    }
}

on_both_databases!(
    tags_and_ccs_are_edited_in_the_properties_form,
    a_second_update_never_reverts_a_colleagues_tags_or_ccs,
    the_requester_is_picked_by_typing_without_javascript,
    the_agent_list_follows_the_chosen_group,
    times_are_shown_in_the_agents_own_time_zone,
    the_requesters_other_tickets_are_only_those_the_agent_may_see,
    comments_are_safe_markdown_on_the_agent_page_and_in_the_portal,
);
