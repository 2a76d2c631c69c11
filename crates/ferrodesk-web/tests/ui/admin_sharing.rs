//! HTML tests: admin_sharing — the sharing workflow in the runbook's words, started from
//! the request ticket; the public-URL warning; the read-only sharing log; the admin
//! organization list's search and pages.

#[allow(unused_imports)]
use super::*;

use ferrodesk_app::dto::OrganizationIn;

/// What a person reads of some HTML: the text without the tags.
fn words(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where the link with `id` leads (its `href`, entities decoded).
fn href_of(body: &str, id: &str) -> Option<String> {
    let at = body.find(&format!("id=\"{id}\""))?;
    let start = body[..at].rfind("href=\"")? + "href=\"".len();
    let href = &body[start..];
    Some(
        href[..href.find('"')?]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// The text a person reads of the panel's checklist.
fn checklist(body: &str) -> String {
    words(&element(body, "prechecks", "</ol>"))
}

/// A public (or private) comment on a ticket, by the bearer of `token`; its id.
async fn comment(app: &TestApp, token: &str, ticket: i64, body: &str, public: bool) -> i64 {
    let c = app
        .post(
            token,
            &format!("/tickets/{ticket}/comments"),
            json!({"body": body, "public": public}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    c.body["id"].as_i64().unwrap()
}

/// A named end user with a password, in `orgs`.
async fn named_customer(app: &TestApp, name: &str, orgs: &[i64]) -> ferrodesk_testkit::TestUser {
    person(
        app,
        UserIn {
            access: Some(UserAccess::Requested),
            organization_ids: orgs.to_vec(),
            name: name.to_owned(),
            ..user_in("Customer", Role::EndUser)
        },
    )
    .await
}

async fn an_admin_starts_a_sharing_change_from_the_request_ticket(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let a = agent(&app, TicketScope::Global).await;
    let org = organization(&app, "Umbrella").await;
    let sister = organization(&app, "Umbrella Labs").await;
    let carol = named_customer(&app, "Carol Jones", &[org, sister]).await;
    let _dan = named_customer(&app, "Dan Miller", &[org]).await;
    let ted = named_customer(&app, "Ted Outsider", &[]).await;
    let ticket = app
        .ticket(
            &carol.token,
            json!({"subject": "Please share our tickets", "description": "We want read only."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let ask = comment(
        &app,
        &admin.token,
        ticket,
        "Which type, and do you accept the risk?",
        true,
    )
    .await;
    let note = comment(
        &app,
        &admin.token,
        ticket,
        "Check the contract first",
        false,
    )
    .await;
    let confirm = comment(
        &app,
        &carol.token,
        ticket,
        "Read only, please. We accept the security risk.",
        true,
    )
    .await;

    // The ticket page offers the change for each of the requester's organizations (admins).
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get(&format!("/agent/tickets/{ticket}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for o in [org, sister] {
        assert!(
            page.body.contains(&format!(
                r##"href="/agent/organizations/{o}?ticket_id={ticket}#sharing" id="change-sharing-{o}""##
            )),
            "a link for organization {o}"
        );
    }
    let action = words(&element(
        &page.body,
        &format!("change-sharing-{org}"),
        "</p>",
    ));
    assert!(
        action.contains("Change organization sharing of Umbrella"),
        "{action}"
    );
    // Agents who are not admins do not get it.
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let agent_page = ab.get(&format!("/agent/tickets/{ticket}")).await;
    assert_eq!(agent_page.status, StatusCode::OK);
    assert!(!agent_page.body.contains("Change organization sharing"));

    // Following it opens the panel with the ticket chosen and the customer's public
    // comments listed at once: no drop-down, no reload.
    let panel = b
        .get(&format!("/agent/organizations/{org}?ticket_id={ticket}"))
        .await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(
        panel
            .body
            .contains(&format!(r#"<option value="{ticket}" selected>"#))
    );
    assert!(panel.body.contains(&format!(r#"id="type-{confirm}""#)));
    assert!(panel.body.contains(&format!(r#"id="risk-{confirm}""#)));
    assert!(
        !panel.body.contains(&format!(r#"id="type-{ask}""#)),
        "staff replies are no evidence"
    );
    assert!(
        !panel.body.contains(&format!(r#"id="type-{note}""#)),
        "private notes are not listed"
    );
    let evidence = words(&element(&panel.body, "type-step", "</fieldset>"));
    assert!(evidence.contains("Carol Jones"), "{evidence}");
    assert!(
        !evidence.contains(&format!("#{confirm}")),
        "no comment ids: {evidence}"
    );
    let before = checklist(&panel.body);
    assert!(
        before.contains(&format!(
            "#{ticket} “Please share our tickets”, asked by Carol Jones, a member of Umbrella."
        )),
        "{before}"
    );
    assert!(
        before.contains(
            "Pick the customer's comment that confirms which type of shared organization they want."
        ),
        "{before}"
    );

    // Submitting without evidence: every failed pre-check, in the runbook's words.
    let ticket_s = ticket.to_string();
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &panel.csrf()),
                ("ticket_id", &ticket_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = checklist(&refused.body);
    assert!(
        text.contains(&format!(
            "Pick the customer's comment on ticket #{ticket} “Please share our tickets” that confirms which type of shared organization they want."
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Pick the comment on ticket #{ticket} “Please share our tickets” in which the requester, on behalf of Umbrella, approved the security risk of a shared organization."
        )),
        "{text}"
    );
    for api_word in [
        "type_confirmed_comment_id",
        "risk_approved_comment_id",
        "ticket_id",
        "read_only",
    ] {
        assert!(!text.contains(api_word), "{api_word} in: {text}");
    }
    assert_eq!(check_line(&refused.body, "type_confirmed").0, "missing");
    assert_eq!(check_line(&refused.body, "risk_approved").0, "missing");

    // A staff reply as evidence: the checklist names who wrote it.
    let ask_s = ask.to_string();
    let confirm_s = confirm.to_string();
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &panel.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &ask_s),
                ("risk_approved_comment_id", &confirm_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    let text = checklist(&refused.body);
    assert!(
        text.contains("The chosen comment was written by Boss, who is staff, not by the customer."),
        "{text}"
    );
    assert_eq!(check_line(&refused.body, "risk_approved").0, "done");

    // A request by someone outside the organization: named, with the organization.
    let foreign = app
        .ticket(
            &ted.token,
            json!({"subject": "Share Umbrella's tickets with me"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let foreign_s = foreign.to_string();
    let outsider_page = b.get(&format!("/agent/tickets/{foreign}")).await;
    assert_eq!(outsider_page.status, StatusCode::OK);
    assert!(
        !outsider_page.body.contains("Change organization sharing"),
        "a requester in no organization: nothing to change"
    );
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &panel.csrf()),
                ("ticket_id", &foreign_s),
                ("type_confirmed_comment_id", &confirm_s),
                ("risk_approved_comment_id", &confirm_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    let text = checklist(&refused.body);
    assert!(
        text.contains(&format!(
            "Ted Outsider, who asked in ticket #{foreign} “Share Umbrella's tickets with me”, is not a member of Umbrella."
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "The chosen comment by Carol Jones is on another ticket, not on the request ticket #{foreign}"
        )),
        "{text}"
    );

    // With the evidence picked, the change is made; the ticket records it in words.
    let done = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &panel.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &confirm_s),
                ("risk_approved_comment_id", &confirm_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.get(&format!("/agent/tickets/{ticket}")).await;
    let recorded = words(&element(&page.body, "sharing-check", "</section>"));
    assert!(
        recorded.contains("Sharing changed from Not shared to Read only."),
        "{recorded}"
    );
    assert!(
        recorded.contains("Type confirmed by Carol Jones"),
        "{recorded}"
    );
    assert!(
        !recorded.contains("read_only") && !recorded.contains(&format!("#{confirm}")),
        "{recorded}"
    );
    // Already shared: the mode must change, said with the organization's name.
    let panel = b
        .get(&format!("/agent/organizations/{org}?ticket_id={ticket}"))
        .await;
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &panel.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &confirm_s),
                ("risk_approved_comment_id", &confirm_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        checklist(&refused.body).contains("Umbrella is already shared read only."),
        "{}",
        checklist(&refused.body)
    );
}

async fn the_public_url_warning_shows_until_the_public_url_is_the_served_address(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let a = agent(&app, TicketScope::Global).await;
    let org = organization(&app, "Globex").await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let default_text = "Links in Details lines and emails point to http://127.0.0.1:8080, which customers cannot open.";
    // The built-in default: both pages warn.
    let panel = b.get(&format!("/agent/organizations/{org}")).await;
    let warning = words(&element(&panel.body, "public-url-warning", "</p>"));
    assert!(warning.contains(default_text), "{warning}");
    assert!(panel.body.contains(
        r##"<a href="/admin/settings#public_base_url">Set the public URL in Settings.</a>"##
    ));
    let settings = b.get("/admin/settings").await;
    let warning = words(&element(&settings.body, "public-url-warning", "</p>"));
    assert!(warning.contains(default_text), "{warning}");
    let field = element(&settings.body, "public_base_url", ">");
    assert!(
        field.contains(r#"aria-describedby="public-url-warning""#),
        "the field points at the warning: {field}"
    );
    // Agents cannot act on it and do not see it.
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let agent_panel = ab.get(&format!("/agent/organizations/{org}")).await;
    assert_eq!(agent_panel.status, StatusCode::OK);
    assert!(!agent_panel.body.contains("public-url-warning"));

    // Another address than the one the page was served from: still a warning, naming both.
    let r = app
        .patch(
            &admin.token,
            "/settings",
            json!({"public_base_url": "https://desk.example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let served = app.base.trim_start_matches("http://").to_owned();
    for path in [
        format!("/agent/organizations/{org}"),
        "/admin/settings".to_owned(),
    ] {
        let page = b.get(&path).await;
        let warning = words(&element(&page.body, "public-url-warning", "</p>"));
        assert!(
            warning.contains(&format!(
                "point to https://desk.example.com, but this page was served from {served}"
            )),
            "{path}: {warning}"
        );
    }

    // Set to the address the pages are served from: the warnings are gone.
    let r = app
        .patch(
            &admin.token,
            "/settings",
            json!({"public_base_url": format!("{}/", app.base)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let panel = b.get(&format!("/agent/organizations/{org}")).await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(panel.body.contains(r#"id="sharing-form""#));
    assert!(
        !panel.body.contains("public-url-warning"),
        "panel still warns"
    );
    let settings = b.get("/admin/settings").await;
    assert!(settings.body.contains(r#"id="public_base_url""#));
    assert!(
        !settings.body.contains("public-url-warning"),
        "settings still warn"
    );
}

async fn the_sharing_log_is_a_read_only_record_that_survives_an_edit_of_details(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let org = organization(&app, "Initrode").await;
    let carol = named_customer(&app, "Carol Jones", &[org]).await;
    let ticket = app
        .ticket(
            &carol.token,
            json!({"subject": "Share our tickets, read only"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let yes = comment(
        &app,
        &carol.token,
        ticket,
        "Read only; we accept the risk.",
        true,
    )
    .await;
    let r = app
        .patch(
            &admin.token,
            &format!("/organizations/{org}"),
            json!({"details": "Key account since 2019."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &admin.token,
            &format!("/organizations/{org}/sharing-changes"),
            json!({"ticket_id": ticket, "sharing": "read_only",
                   "type_confirmed_comment_id": yes, "risk_approved_comment_id": yes}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let line = r.body["details_line"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    // The editor: the log above the free-text details, not part of the form's fields.
    let edit = b.get(&format!("/admin/organizations/{org}")).await;
    assert_eq!(edit.status, StatusCode::OK);
    let log_at = edit
        .body
        .find(r#"id="sharing-log""#)
        .expect("the sharing log");
    let details_at = edit
        .body
        .find(r#"<textarea id="details""#)
        .expect("the details field");
    assert!(log_at < details_at, "the log is above the details");
    let log_html = element(&edit.body, "sharing-log", "</section>");
    assert!(
        !log_html.contains("<textarea") && !log_html.contains("<input"),
        "read only"
    );
    let log = words(&log_html);
    assert!(log.contains("Not shared → Read only"), "{log}");
    assert!(log.contains("by Boss"), "{log}");
    assert!(
        log.contains("Type confirmed by Carol Jones; security risk approved by Carol Jones."),
        "{log}"
    );
    assert!(
        log.contains(&format!("#{ticket} Share our tickets, read only")),
        "{log}"
    );
    assert!(log.contains(&line), "{log}");
    assert!(log_html.contains(&format!(r#"<a href="/agent/tickets/{ticket}">"#)));
    // The Details line is still written into Details, as the runbook requires.
    let textarea = element(&edit.body, "details", "</textarea>");
    assert!(textarea.contains(&line), "{textarea}");

    // The admin rewrites Details, dropping the line: the record stays intact.
    let saved = b
        .post(
            &format!("/admin/organizations/{org}"),
            &[
                ("_csrf", &edit.csrf()),
                ("name", "Initrode"),
                ("domain_names", ""),
                ("tags", ""),
                ("details", "Key account. Call before changing anything."),
                ("sharing_blocked_reason", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let o = app
        .get(&admin.token, &format!("/organizations/{org}"))
        .await;
    assert_eq!(
        o.body["details"],
        "Key account. Call before changing anything."
    );
    let edit = b
        .get(&format!("/admin/organizations/{org}?done=saved"))
        .await;
    let log = words(&element(&edit.body, "sharing-log", "</section>"));
    assert!(
        log.contains("Not shared → Read only") && log.contains(&line),
        "{log}"
    );
    // The organization's page shows the same record above its details text.
    let page = b.get(&format!("/agent/organizations/{org}")).await;
    let log_at = page
        .body
        .find(r#"id="sharing-log""#)
        .expect("the sharing log");
    let details_at = page.body.find(r#"id="org-details""#).expect("the details");
    assert!(log_at < details_at);
    let log = words(&element(&page.body, "sharing-log", "</section>"));
    assert!(
        log.contains("Not shared → Read only") && log.contains(&line),
        "{log}"
    );
    assert!(text_of(&page.body, "org-details").contains("Call before changing anything."));
    // Members' access reads as words, not as the setting's name.
    assert!(page.body.contains("<td>Own requests</td>"), "{}", page.body);
    assert!(!page.body.contains("<td>requested</td>"));
}

async fn the_admin_organization_list_searches_by_name_and_pages(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let p = app
        .app
        .principal_from_token(&admin.token)
        .await
        .unwrap()
        .unwrap();
    for i in 0..120 {
        app.app
            .create_organization(
                &p,
                OrganizationIn {
                    name: Some(format!("Org {i:03}")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    for name in ["Acme Widgets", "ACME Tools", "Fifty% Off_Sales"] {
        organization(&app, name).await;
    }
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let rows = |body: &str| -> Vec<String> {
        let table = element(body, "organizations", "</table>");
        table
            .split("<tr><td><a href=\"/admin/organizations/")
            .skip(1)
            .map(|r| {
                let name = &r[r.find('>').unwrap() + 1..];
                name[..name.find('<').unwrap()].to_owned()
            })
            .collect()
    };
    // By name, 50 to a page.
    let first = b.get("/admin/organizations").await;
    assert_eq!(first.status, StatusCode::OK);
    let names = rows(&first.body);
    assert_eq!(names.len(), 50);
    assert_eq!(
        names[..3],
        ["ACME Tools", "Acme Widgets", "Fifty% Off_Sales"]
    );
    assert_eq!(
        text_of(&first.body, "pager-summary"),
        "1–50 of 123 organizations"
    );
    assert_eq!(href_of(&first.body, "pager-prev"), None);
    assert_eq!(
        href_of(&first.body, "pager-next").as_deref(),
        Some("/admin/organizations?page=2")
    );
    let third = b.get("/admin/organizations?page=3").await;
    let names = rows(&third.body);
    assert_eq!(names.len(), 23);
    assert_eq!(names.last().unwrap(), "Org 119");
    assert_eq!(
        text_of(&third.body, "pager-summary"),
        "101–123 of 123 organizations"
    );
    assert_eq!(
        href_of(&third.body, "pager-prev").as_deref(),
        Some("/admin/organizations?page=2")
    );
    assert_eq!(href_of(&third.body, "pager-next"), None);
    // Search: any case, a part of the name; the query is kept in the form and the links.
    let acme = b.get("/admin/organizations?q=acme").await;
    assert_eq!(rows(&acme.body), ["ACME Tools", "Acme Widgets"]);
    assert!(
        acme.body
            .contains(r#"<input type="search" id="q" name="q" value="acme">"#)
    );
    assert_eq!(
        text_of(&acme.body, "pager-summary"),
        "2 organizations whose name contains “acme”"
    );
    let orgs = b.get("/admin/organizations?q=org+1").await;
    assert_eq!(rows(&orgs.body).len(), 20, "Org 100 to Org 119");
    let many = b.get("/admin/organizations?q=Org").await;
    assert_eq!(rows(&many.body).len(), 50);
    assert_eq!(
        href_of(&many.body, "pager-next").as_deref(),
        Some("/admin/organizations?q=Org&page=2")
    );
    let page3 = b.get("/admin/organizations?q=Org&page=3").await;
    assert_eq!(rows(&page3.body).len(), 20);
    assert_eq!(
        href_of(&page3.body, "pager-prev").as_deref(),
        Some("/admin/organizations?q=Org&page=2")
    );
    assert_eq!(href_of(&page3.body, "pager-next"), None);
    // `%` and `_` are letters here, not wildcards.
    let pct = b.get("/admin/organizations?q=%25+off_").await;
    assert_eq!(rows(&pct.body), ["Fifty% Off_Sales"]);
    let none = b.get("/admin/organizations?q=0%25").await;
    assert!(none.body.contains(r#"id="no-match""#), "{}", none.body);
    assert!(words(&none.body).contains("No organization's name contains “0%”."));
}

on_both_databases!(
    an_admin_starts_a_sharing_change_from_the_request_ticket,
    the_public_url_warning_shows_until_the_public_url_is_the_served_address,
    the_sharing_log_is_a_read_only_record_that_survives_an_edit_of_details,
    the_admin_organization_list_searches_by_name_and_pages,
);
