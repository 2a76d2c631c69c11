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

on_both_databases!(
    tags_and_ccs_are_edited_in_the_properties_form,
    a_second_update_never_reverts_a_colleagues_tags_or_ccs,
);
