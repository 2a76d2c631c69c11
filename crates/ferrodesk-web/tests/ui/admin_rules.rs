//! HTML tests: admin_rules — the rule builder (no JSON typed), its JSON view, problems and
//! warnings in words with names, the simulation in names, and deleting a rule.

#[allow(unused_imports)]
use super::*;

/// The fields of the builder form as a browser posts them: `base` with `more` on top (a
/// later value of the same name replaces an earlier one).
fn builder_post<'a>(
    base: &[(&'a str, &'a str)],
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (k, v) in base.iter().chain(more) {
        out.retain(|(key, _)| key != k);
        out.push((k, v));
    }
    out
}

/// The text of the element with `id` up to `end` (its closing tag), tags left out and the
/// usual entities decoded.
fn words_of(body: &str, id: &str, end: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let inner = &rest[..rest.find(end).unwrap_or(rest.len())];
    let mut out = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A textarea's text as sent back (entities decoded, line breaks kept).
fn raw_of(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("<textarea id=\"{id}\""))
        .unwrap_or_else(|| panic!("no textarea #{id} in {body}"));
    let rest = &body[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    rest[..rest.find("</textarea>").unwrap()]
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The rule named `name`, as the API gives it.
async fn rule_named(app: &TestApp, token: &str, name: &str) -> Option<serde_json::Value> {
    let rules = app.get(token, "/rules").await.body;
    rules
        .as_array()
        .or_else(|| rules["items"].as_array())
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
}

/// The `<select>` named `name` (up to its end), to see its options.
fn select_of(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("<select id=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name} in {body}"));
    let rest = &body[at..];
    rest[..rest.find("</select>").unwrap()].to_owned()
}

async fn an_admin_builds_a_rule_without_typing_json_and_reads_names(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let finance = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    app.post(&admin.token, "/groups", json!({"name": "Legal"}))
        .await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;

    // The list says each rule in words.
    let list = b.get("/admin/rules").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains(
            "When a public comment is added by the customer, if Internal group is none and \
             (Status category is Pending or Status category is Resolved) → set Status to Open"
        ),
        "{}",
        list.body
    );
    let shown = words_of(&list.body, "rules", "</ol>");
    assert!(
        !shown.contains("end_user") && !shown.contains("is_not"),
        "{shown}"
    );

    // A new rule starts in the builder.
    let page = b.get("/admin/rules/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    assert!(
        select_of(&page.body, "ev0_kind").contains(
            r#"<option value="comment_public" selected>A public comment is added</option>"#
        )
    );
    assert!(select_of(&page.body, "performed_by").contains("the customer"));
    let base = [
        ("_csrf", csrf.as_str()),
        ("mode", "builder"),
        ("name", "Reopen and route"),
        ("active", "1"),
        ("position", "1"),
        ("performed_by", "end_user"),
        ("ev0_kind", "comment_public"),
        ("act0_field", "status"),
        ("act0_value", "Open"),
    ];
    // "Add a condition" is a submit: the page comes back with the rows kept and a new row
    // whose value is a drop-down of the real statuses.
    let added = b
        .post("/admin/rules", &builder_post(&base, &[("op", "add_all")]))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(
        added.body.contains(r#"value="Reopen and route""#),
        "the name is kept"
    );
    let value = select_of(&added.body, "all0_value");
    assert!(
        value.contains(r#"<option value="Pending">Pending</option>"#),
        "{value}"
    );
    assert!(value.contains("Customer Responded"));
    assert!(
        select_of(&added.body, "act0_value")
            .contains(r#"<option value="Open" selected>Open</option>"#)
    );
    // Choosing another field and "Show choices" offers its values: groups by name.
    let finance_s = finance.to_string();
    let shown = b
        .post(
            "/admin/rules",
            &builder_post(
                &base,
                &[
                    ("all0_field", "status"),
                    ("all0_op", "is"),
                    ("all0_value", "Pending"),
                    ("act1_field", "group"),
                    ("act1_value", ""),
                    ("op", "refresh"),
                ],
            ),
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    let groups = select_of(&shown.body, "act1_value");
    assert!(
        groups.contains(&format!(r#"<option value="{finance}">Finance</option>"#)),
        "{groups}"
    );
    assert!(groups.contains(">None</option>"));
    // A row removed with its own button.
    let with_extra = builder_post(
        &base,
        &[
            ("all0_field", "status"),
            ("all0_op", "is"),
            ("all0_value", "Pending"),
            ("all1_field", "subject"),
            ("all1_op", "contains"),
            ("all1_value", "refund"),
            ("op", "remove_all_1"),
        ],
    );
    let removed = b.post("/admin/rules", &with_extra).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(removed.body.contains(r#"id="all0_value""#));
    assert!(
        !removed.body.contains(r#"id="all1_value""#),
        "the second condition is gone"
    );

    let full = builder_post(
        &base,
        &[
            ("all0_field", "status"),
            ("all0_op", "is"),
            ("all0_value", "Pending"),
            ("act1_field", "group"),
            ("act1_value", &finance_s),
        ],
    );
    // A bad value comes back as the row's error, in words, with the rows kept.
    let bad = b
        .post(
            "/admin/rules",
            &builder_post(
                &full,
                &[
                    ("act2_field", "add_tags"),
                    ("act2_value", "refund wait!"),
                    ("intent", "save"),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains(r#"id="act2-error""#), "{}", bad.body);
    assert!(bad.body.contains("tags are 1 to 64 letters"));
    assert!(
        bad.body.contains(
            r#"id="act2_value" name="act2_value" value="refund wait!" aria-invalid="true""#
        )
    );
    let unchosen = b
        .post(
            "/admin/rules",
            &builder_post(&full, &[("act1_value", ""), ("intent", "save")]),
        )
        .await;
    assert_eq!(unchosen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unchosen.body.contains("choose a group"),
        "{}",
        unchosen.body
    );
    assert!(
        rule_named(&app, &admin.token, "Reopen and route")
            .await
            .is_none()
    );

    // Save stops at the shared-ownership warning, which names the groups.
    let held = b
        .post("/admin/rules", &builder_post(&full, &[("intent", "save")]))
        .await;
    assert_eq!(held.status, StatusCode::OK, "{}", held.body);
    let warning = words_of(&held.body, "rule-warnings", "</div>");
    assert!(
        warning.contains("Setting the status to Open removes the internal owner")
            && warning.contains("Finance, Legal"),
        "{warning}"
    );
    assert!(held.body.contains(r#"id="rule-confirm""#));
    assert!(
        rule_named(&app, &admin.token, "Reopen and route")
            .await
            .is_none()
    );
    // Confirmed: saved with what the drop-downs said.
    let saved = b
        .post(
            "/admin/rules",
            &builder_post(&full, &[("intent", "confirm")]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Rule created."));
    assert!(saved.body.contains(
        "When a public comment is added by the customer, if Status is Pending → set Status to Open, set Group to Finance"
    ));
    let rule = rule_named(&app, &admin.token, "Reopen and route")
        .await
        .expect("saved");
    assert_eq!(
        rule["events"],
        json!([{"type": "comment_added", "public": true}])
    );
    assert_eq!(rule["performed_by"], "end_user");
    assert_eq!(rule["active"], true);
    assert_eq!(rule["position"], 1);
    assert_eq!(
        rule["conditions"],
        json!({"all": [{"field": "status", "operator": "is", "value": "Pending"}], "any": []})
    );
    assert_eq!(
        rule["actions"],
        json!([{"field": "status", "value": "Open"}, {"field": "group", "value": finance}])
    );
    let id = rule["id"].as_i64().unwrap();

    // The JSON view shows the same rule; sent back to the builder, the rows are the same.
    let as_json = b.get(&format!("/admin/rules/{id}?view=json")).await;
    assert_eq!(as_json.status, StatusCode::OK);
    let text = raw_of(&as_json.body, "rule");
    assert!(text.contains(r#""value": "Pending""#), "{text}");
    let back = b
        .post(
            &format!("/admin/rules/{id}"),
            &[("_csrf", &csrf), ("rule", &text), ("op", "to_builder")],
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert!(select_of(&back.body, "all0_value").contains(r#"<option value="Pending" selected>"#));
    assert!(
        select_of(&back.body, "act1_value")
            .contains(&format!(r#"<option value="{finance}" selected>Finance"#))
    );
    // Builder → JSON keeps unsaved changes.
    let to_json = b
        .post(
            &format!("/admin/rules/{id}"),
            &builder_post(
                &full,
                &[("name", "Renamed in the builder"), ("op", "to_json")],
            ),
        )
        .await;
    assert_eq!(to_json.status, StatusCode::OK);
    assert!(raw_of(&to_json.body, "rule").contains("Renamed in the builder"));
    // A rule saved as JSON opens in the builder; a parser problem is said in words.
    let typo = text.replace(r#""type": "comment_added""#, r#""type": "nope""#);
    let refused = b
        .post(
            &format!("/admin/rules/{id}"),
            &[("_csrf", &csrf), ("rule", &typo), ("intent", "confirm")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = words_of(&refused.body, "rule-errors", "</ul>");
    assert!(
        errors.contains("Event 1, kind of event: “nope” is not one of the choices")
            && errors.contains("a comment is added"),
        "{errors}"
    );
    let renamed = text.replace("Reopen and route", "Reopen, route");
    let saved = b
        .post(
            &format!("/admin/rules/{id}"),
            &[("_csrf", &csrf), ("rule", &renamed), ("intent", "confirm")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Rule saved."));
    assert!(
        saved.body.contains(r#"id="ev0_kind""#),
        "opens in the builder"
    );
    assert!(saved.body.contains(r#"value="Reopen, route""#));

    // A "field changes" event offers the field's values, and a notification its recipients.
    let changes = builder_post(
        &full,
        &[
            ("name", "Escalate"),
            ("ev0_kind", "field_changed"),
            ("ev0_field", "group"),
            ("act0_field", "notify"),
            ("act0_value", "address"),
            ("op", "refresh"),
        ],
    );
    let shown = b.post("/admin/rules", &changes).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(select_of(&shown.body, "ev0_to").contains(">Finance</option>"));
    assert!(
        select_of(&shown.body, "ev0_from")
            .contains(r#"<option value="" selected>any value</option>"#)
    );
    assert!(
        select_of(&shown.body, "act0_value")
            .contains(r#"<option value="address" selected>An email address</option>"#)
    );
    assert!(shown.body.contains(r#"id="act0_address""#));
    let checked = b
        .post(
            "/admin/rules",
            &builder_post(
                &changes,
                &[
                    ("ev0_to", &finance_s),
                    ("act0_address", "not an address"),
                    ("op", ""),
                    ("intent", "check"),
                ],
            ),
        )
        .await;
    assert_eq!(checked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        checked.body.contains(
            r#"id="act0_address" name="act0_address" value="not an address" aria-invalid="true""#
        ),
        "{}",
        checked.body
    );
    let created = b
        .post(
            "/admin/rules",
            &builder_post(
                &changes,
                &[
                    ("ev0_to", &finance_s),
                    ("act0_address", "finance@example.com"),
                    ("act0_message", "A ticket came to Finance"),
                    ("act1_field", "add_tags"),
                    ("act1_value", "finance escalated"),
                    ("op", ""),
                    ("intent", "save"),
                ],
            ),
        )
        .await;
    assert!(created.body.contains("Rule created."), "{}", created.body);
    let escalate = rule_named(&app, &admin.token, "Escalate")
        .await
        .expect("saved");
    assert_eq!(
        escalate["events"],
        json!([{"type": "field_changed", "field": "group", "to": finance}])
    );
    assert_eq!(
        escalate["actions"],
        json!([
            {"field": "notify", "value": {"to": "address", "address": "finance@example.com", "message": "A ticket came to Finance"}},
            {"field": "add_tags", "value": ["finance", "escalated"]}
        ])
    );
    assert!(created.body.contains(
        "When Group changes to Finance by the customer, if Status is Pending → notify finance@example.com (“A ticket came to Finance”), add the tags finance, escalated"
    ), "{}", created.body);

    // Custom fields are offered by title, a drop-down's options as values.
    let f = app
        .post(
            &admin.token,
            "/ticket-fields",
            json!({"key": "region", "title": "Region", "field_type": "dropdown", "options": ["EMEA", "APAC"]}),
        )
        .await;
    assert_eq!(f.status, StatusCode::CREATED, "{}", f.body);
    let custom = builder_post(
        &full,
        &[
            ("name", "EMEA tag"),
            ("all0_field", "custom_field:region"),
            ("all0_op", "is"),
            ("all0_value", "EMEA"),
            ("act0_field", "add_tags"),
            ("act0_value", "emea"),
            ("act1_field", "custom_field:region"),
            ("act1_value", "APAC"),
        ],
    );
    let shown = b
        .post("/admin/rules", &builder_post(&custom, &[("op", "refresh")]))
        .await;
    assert!(
        select_of(&shown.body, "all0_field")
            .contains(r#"<option value="custom_field:region" selected>Region</option>"#)
    );
    assert!(
        select_of(&shown.body, "all0_value")
            .contains(r#"<option value="EMEA" selected>EMEA</option>"#)
    );
    assert!(
        select_of(&shown.body, "act1_field")
            .contains(r#"<option value="custom_field:region" selected>Set region</option>"#)
    );
    let created = b
        .post(
            "/admin/rules",
            &builder_post(&custom, &[("intent", "save")]),
        )
        .await;
    assert!(created.body.contains("Rule created."), "{}", created.body);
    assert!(
        created
            .body
            .contains("if Region is EMEA → add the tags emea, set Region to APAC"),
        "{}",
        created.body
    );
    let emea = rule_named(&app, &admin.token, "EMEA tag")
        .await
        .expect("saved");
    assert_eq!(
        emea["conditions"]["all"],
        json!([{"field": "custom_field:region", "operator": "is", "value": "EMEA"}])
    );

    // A rule the builder cannot show opens as JSON and says why.
    let customer = customer(&app, &[]).await;
    let odd = app
        .post(
            &admin.token,
            "/rules",
            json!({"name": "One requester", "events": [{"type": "ticket_created"}],
                   "conditions": {"all": [{"field": "requester", "operator": "is", "value": customer.id}]},
                   "actions": [{"field": "add_tags", "value": ["vip"]}]}),
        )
        .await;
    assert_eq!(odd.status, StatusCode::CREATED, "{}", odd.body);
    let odd = b
        .get(&format!(
            "/admin/rules/{}",
            odd.body["id"].as_i64().unwrap()
        ))
        .await;
    assert!(words_of(&odd.body, "rule-cannot-build", "</div>").contains("Requester"));
    assert!(odd.body.contains(r#"<textarea id="rule""#));

    // Simulate: names and labels, not ids.
    let pending = status_id(&app, &admin.token, "Pending").await;
    let ticket = app
        .ticket(&customer.token, json!({"subject": "Refund please"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let p = app
        .patch(
            &admin.token,
            &format!("/tickets/{ticket}"),
            json!({"status_id": pending}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let sim = b
        .post(
            "/admin/rules/simulate",
            &[
                ("_csrf", &csrf),
                ("ticket_id", &ticket.to_string()),
                ("event_kind", "comment_public"),
                ("performed_by", "end_user"),
            ],
        )
        .await;
    assert_eq!(sim.status, StatusCode::OK, "{}", sim.body);
    let result = words_of(&sim.body, "simulation", "</section>");
    assert!(result.contains("Reopen, route"), "{result}");
    assert!(result.contains("Status: Pending → Open"), "{result}");
    assert!(result.contains("Group: none → Finance"), "{result}");
    assert!(
        !result.contains("status_id") && !result.contains("group_id"),
        "{result}"
    );

    // Deleting asks first and says what it does.
    let ask = b.get(&format!("/admin/rules/{id}/delete")).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        words_of(&ask.body, "delete-effect", "</div>")
            .contains("The rule “Reopen, route” stops running and is gone from the list; tickets keep what it already changed.")
    );
    assert!(
        rule_named(&app, &admin.token, "Reopen, route")
            .await
            .is_some(),
        "asking deletes nothing"
    );
    let gone = b
        .post(&format!("/admin/rules/{id}/delete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.location.as_deref(), Some("/admin/rules?done=deleted"));
    assert!(
        rule_named(&app, &admin.token, "Reopen, route")
            .await
            .is_none()
    );
    let list = b.get("/admin/rules?done=deleted").await;
    assert!(list.body.contains("Rule deleted."));
}

on_both_databases!(an_admin_builds_a_rule_without_typing_json_and_reads_names);
