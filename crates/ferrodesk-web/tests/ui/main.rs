//! HTML-level tests of the web app (no browser): the real router on port 0 over a fresh
//! SQLite file and a fresh PostgreSQL database, driven like a browser without JavaScript
//! would (cookies, forms, redirects). Every test runs on both databases.

use std::collections::HashMap;

use ferrodesk_app::dto::UserIn;
use ferrodesk_core::{Role, TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases, user_in};
use serde_json::json;

// Admin scenarios by area; each module calls `on_both_databases!` for its own.
mod admin_pages;
mod admin_rules;
mod admin_sharing;
mod agent_bulk;
mod agent_macros;
mod ticket_list;
mod ticket_page;
mod workspace;

const PASSWORD: &str = "correct horse battery";

/// A browser without JavaScript: keeps cookies, follows no redirects by itself.
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// A page as the browser got it.
struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    /// The value of the first `_csrf` hidden field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"_csrf\" value=\"")
            .expect("the page has a form token");
        let rest = &self.body[at + "name=\"_csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let res = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status,
            location,
            set_cookies,
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.app.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        let req = self
            .http
            .post(format!("{}{path}", self.app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// Posts a form as `multipart/form-data`, as a browser sends a form with a file input:
    /// the text fields, then each file as a `files` part (`(file name, type, bytes)`; a file
    /// input where nothing was chosen is `("", "application/octet-stream", b"")`).
    async fn post_multipart(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        const BOUNDARY: &str = "----ferrodesk-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in form {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; \
                     filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!("{}{path}", self.app.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body);
        self.send(req).await
    }

    /// Fetches `path` with the browser's cookies: the status and the exact bytes.
    async fn get_bytes(&mut self, path: &str) -> (StatusCode, Vec<u8>) {
        let res = self
            .http
            .get(format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.bytes().await.unwrap().to_vec())
    }

    /// Signs in through the form; panics unless it works.
    async fn sign_in(&mut self, email: &str) {
        let form = self.get("/login").await;
        let token = form.csrf();
        let done = self
            .post(
                "/login",
                &[
                    ("_csrf", &token),
                    ("email", email),
                    ("password", PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
}

/// A user with a password, and their API token and email.
async fn person(app: &TestApp, input: UserIn) -> ferrodesk_testkit::TestUser {
    app.make_user(UserIn {
        password: Some(PASSWORD.into()),
        ..input
    })
    .await
}

async fn agent(app: &TestApp, scope: TicketScope) -> ferrodesk_testkit::TestUser {
    person(
        app,
        UserIn {
            ticket_scope: Some(scope),
            ..user_in("Agent", Role::Agent)
        },
    )
    .await
}

async fn customer(app: &TestApp, orgs: &[i64]) -> ferrodesk_testkit::TestUser {
    person(
        app,
        UserIn {
            access: Some(UserAccess::Requested),
            organization_ids: orgs.to_vec(),
            ..user_in("Customer", Role::EndUser)
        },
    )
    .await
}

async fn organization(app: &TestApp, name: &str) -> i64 {
    let admin = app.admin().await;
    let a = app
        .post(&admin.token, "/organizations", json!({"name": name}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["id"].as_i64().unwrap()
}

async fn status_id(app: &TestApp, token: &str, name: &str) -> i64 {
    let all = app.get(token, "/statuses").await;
    all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

// ------------------------------------------------------------------ tests

async fn signing_in_through_the_form_sets_the_session_cookie_and_signing_out_ends_it(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let mut b = Browser::new(&app);
    let unsigned = b.get("/agent/tickets").await;
    assert_eq!(unsigned.status, StatusCode::SEE_OTHER);
    assert_eq!(
        unsigned.location.as_deref(),
        Some("/login?next=%2Fagent%2Ftickets")
    );
    let form = b.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains(r#"<label for="email">Email address</label>"#)
    );
    assert!(
        form.body
            .contains(r#"<label for="password">Password</label>"#)
    );
    let token = form.csrf();
    let wrong = b
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("email", &a.email),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("do not match an account"));
    let token = wrong.csrf();
    let ok = b
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("email", &a.email),
                ("password", PASSWORD),
                ("next", "/agent/tickets"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location.as_deref(), Some("/agent/tickets"));
    let session = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("ferrodesk_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    let list = b.get("/agent/tickets").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("<h1>All tickets</h1>"));
    let out = b.post("/logout", &[("_csrf", &list.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // The old cookie no longer works either: the session is gone from the database.
    b.cookies.insert(
        "ferrodesk_session".into(),
        session
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("ferrodesk_session=")
            .into(),
    );
    assert_eq!(b.get("/agent/tickets").await.status, StatusCode::SEE_OTHER);
}

async fn a_form_post_without_the_right_csrf_token_is_refused_and_changes_nothing(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let t = app.ticket(&a.token, json!({})).await;
    let id = t["id"].as_i64().unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let path = format!("/agent/tickets/{id}/comments");
    let none = b
        .post(&path, &[("body", "sneaky"), ("public", "true")])
        .await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    assert!(none.body.contains("Form refused"));
    let wrong = b
        .post(
            &path,
            &[("_csrf", "0".repeat(64).as_str()), ("body", "sneaky")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let comments = app.get(&a.token, &format!("/tickets/{id}/comments")).await;
    assert_eq!(comments.body["items"].as_array().unwrap().len(), 1);
    // The sign-in form is protected too.
    let mut fresh = Browser::new(&app);
    let login = fresh
        .post("/login", &[("email", &a.email), ("password", PASSWORD)])
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    // With the page's token the same post works.
    let page = b.get(&format!("/agent/tickets/{id}")).await;
    let ok = b
        .post(
            &path,
            &[
                ("_csrf", &page.csrf()),
                ("body", "fine"),
                ("public", "true"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

async fn a_read_only_member_sees_a_colleagues_request_without_a_reply_box(app: TestApp) {
    let org = organization(&app, "Acme").await;
    let alice = customer(&app, &[org]).await;
    let bob = customer(&app, &[org]).await;
    let theirs = app
        .ticket(&alice.token, json!({"subject": "Alice's VPN trouble"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mine = app
        .ticket(&bob.token, json!({"subject": "Bob's own request"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&bob.email).await;
    // Not shared yet: the colleague's request does not exist for Bob.
    let hidden = b.get(&format!("/portal/requests/{theirs}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let list = b.get("/portal/organization").await;
    assert!(!list.body.contains("Alice&#39;s VPN trouble") && !list.body.contains("Alice's VPN"));
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_only' WHERE id = {org}"
    ))
    .await;
    let list = b.get("/portal/organization").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("/portal/requests/{theirs}")));
    let page = b.get(&format!("/portal/requests/{theirs}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("VPN trouble"));
    assert!(!page.body.contains("reply-form"), "no reply box");
    assert!(!page.body.contains("<textarea"), "no reply box");
    let own = b.get(&format!("/portal/requests/{mine}")).await;
    assert!(
        own.body.contains(r#"id="reply-form""#),
        "own request: reply box"
    );
    // Posting anyway is refused by the policy and adds nothing.
    let refused = b
        .post(
            &format!("/portal/requests/{theirs}/comments"),
            &[("_csrf", &own.csrf()), ("body", "me too")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let comments = app
        .get(&alice.token, &format!("/tickets/{theirs}/comments"))
        .await;
    assert_eq!(comments.body["items"].as_array().unwrap().len(), 1);
    // Read+write: the box appears and the reply goes through.
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_write' WHERE id = {org}"
    ))
    .await;
    let page = b.get(&format!("/portal/requests/{theirs}")).await;
    assert!(page.body.contains(r#"id="reply-form""#));
    let sent = b
        .post(
            &format!("/portal/requests/{theirs}/comments"),
            &[("_csrf", &page.csrf()), ("body", "me too")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
}

async fn a_private_note_never_appears_in_the_portal(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let id = app
        .ticket(&c.token, json!({"subject": "Where is my invoice"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let page = ab.get(&format!("/agent/tickets/{id}")).await;
    let token = page.csrf();
    for (body, public) in [
        ("Customer owes us 3 invoices, be careful", "false"),
        ("We are sending it today.", "true"),
    ] {
        let r = ab
            .post(
                &format!("/agent/tickets/{id}/comments"),
                &[("_csrf", &token), ("body", body), ("public", public)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let agent_view = ab.get(&format!("/agent/tickets/{id}")).await;
    assert!(agent_view.body.contains("Customer owes us 3 invoices"));
    assert!(agent_view.body.contains("Private note — agents only"));
    // Agents see how each comment came in: the description through the API, the two
    // comments in the agent app.
    let vias: Vec<&str> = agent_view
        .body
        .match_indices(r#"<span class="via small">"#)
        .map(|(at, m)| {
            let rest = &agent_view.body[at + m.len()..];
            &rest[..rest.find('<').unwrap()]
        })
        .collect();
    assert_eq!(
        vias,
        vec!["through the API", "in the agent app", "in the agent app"]
    );
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    let portal = cb.get(&format!("/portal/requests/{id}")).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(portal.body.contains("We are sending it today."));
    assert!(!portal.body.contains("owes us"));
    assert!(!portal.body.contains("Private note"));
    let mine = cb.get("/portal").await;
    assert!(mine.body.contains("Where is my invoice"));
}

async fn search_shows_each_person_only_what_the_policy_lets_them_match(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let other = customer(&app, &[]).await;
    let mine = app
        .ticket(&c.token, json!({"subject": "Printer on fire"}))
        .await["id"]
        .as_i64()
        .unwrap();
    app.ticket(&other.token, json!({"subject": "Printer smoking"}))
        .await;
    let note = app
        .post(
            &a.token,
            &format!("/tickets/{mine}/comments"),
            json!({"body": "zebra pattern on the toner", "public": false}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);

    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    let found = cb.get("/search?q=printer").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found
            .body
            .contains(&format!("href=\"/portal/requests/{mine}\""))
    );
    assert!(found.body.contains("Printer on fire"));
    assert!(
        !found.body.contains("Printer smoking"),
        "another customer's request"
    );
    let note_only = cb.get("/search?q=zebra").await;
    assert!(
        note_only.body.contains("Nothing found."),
        "a private note never matches for a customer"
    );
    assert!(!note_only.body.contains("Printer on fire"));

    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let agent_hit = ab.get("/search?q=zebra").await;
    assert!(
        agent_hit
            .body
            .contains(&format!("href=\"/agent/tickets/{mine}\""))
    );
    let both = ab.get("/search?q=printer").await;
    assert!(both.body.contains("Printer on fire") && both.body.contains("Printer smoking"));
    let long = format!("/search?q={}", "x".repeat(600));
    let refused = ab.get(&long).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("role=\"alert\""));
    assert!(refused.body.contains("at most"));
    let escaped = ab.get("/search?q=%3Cb%3Eprinter").await;
    assert!(
        !escaped.body.contains("<b>printer"),
        "the query is escaped in the page"
    );
}

async fn a_ticket_out_of_scope_answers_404_on_every_page(app: TestApp) {
    let global = agent(&app, TicketScope::Global).await;
    let assigned = agent(&app, TicketScope::Assigned).await;
    let c1 = customer(&app, &[]).await;
    let c2 = customer(&app, &[]).await;
    let id = app
        .ticket(&global.token, json!({"requester_id": c1.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut ab = Browser::new(&app);
    ab.sign_in(&assigned.email).await;
    let page = ab.get(&format!("/agent/tickets/{id}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("Printer on fire"));
    let list = ab.get("/agent/tickets").await;
    assert!(!list.body.contains(&format!("/agent/tickets/{id}\"")));
    let mut cb = Browser::new(&app);
    cb.sign_in(&c2.email).await;
    assert_eq!(
        cb.get(&format!("/portal/requests/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let token = cb.get("/portal").await.csrf();
    let post = cb
        .post(
            &format!("/portal/requests/{id}/comments"),
            &[("_csrf", &token), ("body", "hello")],
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
}

async fn form_validation_errors_are_shown_next_to_the_fields(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let form = ab.get("/agent/tickets/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let open = status_id(&app, &a.token, "Open").await.to_string();
    let bad = ab
        .post(
            "/agent/tickets",
            &[
                ("_csrf", &form.csrf()),
                ("requester", &c.email),
                ("subject", "  "),
                ("description", "It smokes."),
                ("status_id", &open),
                ("priority", "normal"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains(r#"<p class="field-error" id="subject-error">"#)
    );
    assert!(
        bad.body
            .contains(r#"id="subject" name="subject" value="  " aria-invalid="true""#)
    );
    assert!(bad.body.contains("It smokes."), "the description is kept");
    // An internal group the status does not map: the server's wrong_internal_group message.
    let group = app
        .post(
            &app.admin().await.token,
            "/groups",
            json!({"name": "Finance"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let id = app.ticket(&a.token, json!({"requester_id": c.id})).await["id"]
        .as_i64()
        .unwrap();
    let page = ab.get(&format!("/agent/tickets/{id}")).await;
    let g = group.to_string();
    let r = ab
        .post(
            &format!("/agent/tickets/{id}"),
            &[
                ("_csrf", &page.csrf()),
                ("version", "1"),
                ("status_id", &open),
                ("priority", "normal"),
                ("internal_group_id", &g),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(r#"id="internal_group_id-error""#),
        "{}",
        r.body
    );
    assert!(r.body.contains("no group is mapped to status Open"));
    assert!(r.body.contains("The ticket was not updated"));
    // Portal: an empty request.
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    let f = cb.get("/portal/requests/new").await;
    let bad = cb
        .post(
            "/portal/requests",
            &[
                ("_csrf", &f.csrf()),
                ("subject", "Help"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="description-error""#));
    // Organization notes that are too long.
    let org = organization(&app, "Globex").await;
    let page = ab.get(&format!("/agent/organizations/{org}")).await;
    let long = "x".repeat(70_000);
    let r = ab
        .post(
            &format!("/agent/organizations/{org}/notes"),
            &[("_csrf", &page.csrf()), ("notes", &long)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"id="notes-error""#));
}

async fn an_agent_sets_shared_ownership_and_the_timeline_says_why_it_was_removed(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [a.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let id = app.ticket(&a.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let cr = status_id(&app, &a.token, "Customer Responded").await;
    let open = status_id(&app, &a.token, "Open").await;
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    // The internal group choices follow the status.
    let frag = b
        .get(&format!("/agent/internal-owner?status_id={cr}"))
        .await;
    assert!(
        frag.body
            .contains(&format!(r#"<option value="{finance}">Finance</option>"#))
    );
    let frag = b
        .get(&format!("/agent/internal-owner?status_id={open}"))
        .await;
    assert!(!frag.body.contains(">Finance</option>"));
    let page = b.get(&format!("/agent/tickets/{id}")).await;
    let token = page.csrf();
    let (cr_s, fin_s, agent_s) = (cr.to_string(), finance.to_string(), a.id.to_string());
    let r = b
        .post(
            &format!("/agent/tickets/{id}"),
            &[
                ("_csrf", &token),
                ("version", "1"),
                ("status_id", &cr_s),
                ("priority", "high"),
                ("internal_group_id", &fin_s),
                ("internal_agent_id", &agent_s),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let t = app.get(&a.token, &format!("/tickets/{id}")).await;
    assert_eq!(t.body["internal_group_id"], finance);
    assert_eq!(t.body["internal_agent_id"], a.id);
    // The saved view "Shared with me" (SPEC §6) lists it, with its count in the sidebar.
    let views = app.get(&a.token, "/views").await;
    let shared_view = views
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "Shared with me")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let list = b.get("/agent/tickets").await;
    assert!(
        list.body
            .contains(&format!(r#"href="/agent/tickets?view={shared_view}""#))
    );
    let shared = b.get(&format!("/agent/tickets?view={shared_view}")).await;
    assert!(shared.body.contains(&format!("/agent/tickets/{id}\"")));
    assert!(shared.body.contains("<h1>Shared with me</h1>"));
    let filtered = b
        .get(&format!("/agent/tickets?internal_agent_id={}", a.id))
        .await;
    assert!(filtered.body.contains(&format!("/agent/tickets/{id}\"")));
    // Back to Open: the internal owner goes, and the timeline says why.
    let open_s = open.to_string();
    let r = b
        .post(
            &format!("/agent/tickets/{id}"),
            &[
                ("_csrf", &token),
                ("version", "2"),
                ("status_id", &open_s),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Ticket updated."), "{}", page.body);
    assert!(
        page.body
            .contains("internal owner removed because the status changed"),
        "{}",
        page.body
    );
    // A stale form loses nothing and says so.
    let stale = b
        .post(
            &format!("/agent/tickets/{id}"),
            &[
                ("_csrf", &token),
                ("version", "1"),
                ("status_id", &open_s),
                ("priority", "low"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale.body.contains("Someone changed this ticket"));
}

async fn organization_and_admin_pages_show_members_notes_statuses_and_groups(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let a = agent(&app, TicketScope::Global).await;
    let org = organization(&app, "Initech").await;
    let member = customer(&app, &[org]).await;
    let _ = member;
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let page = ab.get(&format!("/agent/organizations/{org}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Customer"), "members listed");
    assert!(page.body.contains(r#"id="sharing-mode">Not shared"#));
    assert!(
        page.body.contains(r#"id="sharing-readonly""#),
        "agents read the panel"
    );
    assert!(
        !page.body.contains(r#"id="sharing-form""#),
        "agents get no form"
    );
    let r = ab
        .post(
            &format!("/agent/organizations/{org}/notes"),
            &[("_csrf", &page.csrf()), ("notes", "Prefers phone calls")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = ab
        .get(&format!("/agent/organizations/{org}?done=notes"))
        .await;
    assert!(page.body.contains("Prefers phone calls"));
    // Agents are not admins.
    assert_eq!(
        ab.get("/admin/statuses").await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin_b = Browser::new(&app);
    admin_b.sign_in(&admin.email).await;
    let statuses = admin_b.get("/admin/statuses").await;
    assert_eq!(statuses.status, StatusCode::OK);
    assert!(statuses.body.contains("Customer Responded"));
    assert!(
        statuses
            .body
            .contains("All groups (including groups created later)")
    );
    assert_eq!(admin_b.get("/admin/groups").await.status, StatusCode::OK);
    let users = admin_b.get("/admin/users").await;
    assert!(users.body.contains(&a.email) && users.body.contains(&member.email));
    // End users never reach agent pages.
    let mut cb = Browser::new(&app);
    cb.sign_in(&member.email).await;
    let r = cb.get(&format!("/agent/organizations/{org}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

/// The panel's checklist line for a check: (state class, text of the line).
fn check_line(body: &str, code: &str) -> (String, String) {
    let at = body
        .find(&format!(r#"id="check-{code}""#))
        .unwrap_or_else(|| panic!("no check-{code} in the page"));
    let start = body[..at].rfind("<li").unwrap();
    let end = at + body[at..].find("</li>").unwrap();
    let li = &body[start..end];
    let class = li.split("check check-").nth(1).unwrap();
    (class[..class.find('"').unwrap()].to_owned(), li.to_owned())
}

async fn the_sharing_panel_lists_every_failed_pre_check_and_then_runs_the_workflow(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let org = organization(&app, "Umbrella").await;
    let carol = customer(&app, &[org]).await;
    let _dan = customer(&app, &[org]).await;
    let ticket = app
        .ticket(
            &carol.token,
            json!({"subject": "Please share our tickets", "description": "We want read only."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let staff_reply = app
        .post(
            &admin.token,
            &format!("/tickets/{ticket}/comments"),
            json!({"body": "Do you accept the risk?"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let approval = app
        .post(
            &carol.token,
            &format!("/tickets/{ticket}/comments"),
            json!({"body": "Yes, we accept the risk."}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let first = app
        .get(&admin.token, &format!("/tickets/{ticket}/comments"))
        .await
        .ids()[0];
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    // Step 1: no ticket chosen yet; the checklist says so.
    let page = b.get(&format!("/agent/organizations/{org}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="sharing-form""#));
    assert_eq!(check_line(&page.body, "requester_member").0, "todo");
    assert!(
        page.body.contains("Please share our tickets"),
        "the org's tickets are offered"
    );
    // Step 2: the ticket is chosen; the customer's public comments are offered, the staff reply is not.
    let page = b
        .get(&format!("/agent/organizations/{org}?ticket_id={ticket}"))
        .await;
    assert!(page.body.contains(&format!(r#"id="type-{first}""#)));
    assert!(page.body.contains(&format!(r#"id="risk-{approval}""#)));
    assert!(!page.body.contains(&format!(r#"id="type-{staff_reply}""#)));
    assert_eq!(check_line(&page.body, "requester_member").0, "done");
    assert_eq!(check_line(&page.body, "type_confirmed").0, "todo");
    assert!(
        page.body.contains("1 end user(s) would newly see"),
        "preview"
    );
    // Submitting without evidence: every failed check, nothing changes.
    let ticket_s = ticket.to_string();
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &page.csrf()),
                ("ticket_id", &ticket_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(r#"id="prechecks-failed""#));
    let (state, line) = check_line(&refused.body, "type_confirmed");
    assert_eq!(state, "missing");
    assert!(
        line.contains(&format!(
            "comment on ticket #{ticket} “Please share our tickets” that confirms which type of shared organization they want."
        )),
        "{line}"
    );
    assert_eq!(check_line(&refused.body, "risk_approved").0, "missing");
    assert_eq!(check_line(&refused.body, "not_blocked").0, "done");
    assert_eq!(check_line(&refused.body, "requester_member").0, "done");
    assert_eq!(check_line(&refused.body, "value_changes").0, "done");
    // A staff reply is no evidence; the choice is kept on the page.
    let staff_s = staff_reply.to_string();
    let approval_s = approval.to_string();
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &page.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &staff_s),
                ("risk_approved_comment_id", &approval_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (state, line) = check_line(&refused.body, "type_confirmed");
    assert_eq!(state, "missing");
    assert!(line.contains("who is staff, not by the customer"), "{line}");
    assert_eq!(check_line(&refused.body, "risk_approved").0, "done");
    assert!(
        refused
            .body
            .contains(&format!(r#"id="risk-{approval}" checked"#))
    );
    let org_now = app
        .get(&admin.token, &format!("/organizations/{org}"))
        .await;
    assert_eq!(org_now.body["sharing"], "own_only", "nothing changed");
    // All checks pass: the change is made and recorded.
    let first_s = first.to_string();
    let done = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &page.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &first_s),
                ("risk_approved_comment_id", &approval_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b
        .get(&format!("/agent/organizations/{org}?done=sharing"))
        .await;
    assert!(page.body.contains(r#"id="sharing-mode">Shared read only"#));
    assert!(
        page.body
            .contains("Shared organization (read only) enabled ")
    );
    assert!(page.body.contains(r#"id="sharing-log""#));
    assert!(page.body.contains("Not shared → Read only"));
    // The register lists it, as per the request ticket.
    let list = b.get("/agent/organizations").await;
    assert!(list.body.contains(r#"id="sharing-register""#));
    assert!(list.body.contains(&format!(
        r#"<a href="/agent/tickets/{ticket}">#{ticket}</a>"#
    )));
    let csv = b.get("/api/v1/sharing-register?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("Umbrella"), "{}", csv.body);
    // The value must change.
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &page.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &first_s),
                ("sharing", "read_only"),
            ],
        )
        .await;
    assert_eq!(check_line(&refused.body, "value_changes").0, "missing");
    // Disabling: no risk approval needed, but the type confirmation must be the customer's.
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &page.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &staff_s),
                ("sharing", "own_only"),
            ],
        )
        .await;
    assert_eq!(check_line(&refused.body, "type_confirmed").0, "missing");
    assert_eq!(check_line(&refused.body, "risk_approved").0, "na");
    assert_eq!(check_line(&refused.body, "not_blocked").0, "na");
    // A blocked organization: the checklist names the reason; nothing changes.
    let r = app
        .patch(
            &admin.token,
            &format!("/organizations/{org}"),
            json!({"sharing_blocked": true, "sharing_blocked_reason": "legal said no"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let refused = b
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &page.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &first_s),
                ("risk_approved_comment_id", &approval_s),
                ("sharing", "read_write"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (state, line) = check_line(&refused.body, "not_blocked");
    assert_eq!(state, "missing");
    assert!(line.contains("legal said no"), "{line}");
    assert!(refused.body.contains(r#"id="sharing-blocked""#));
    // The ticket page shows the recorded checks and, to admins, who can see it.
    let t = b.get(&format!("/agent/tickets/{ticket}")).await;
    assert!(t.body.contains(r#"id="sharing-check""#));
    assert!(t.body.contains("Security risk approved by Customer"));
    assert!(t.body.contains(r#"id="access-panel""#));
    assert!(t.body.contains("Resolved"));
    // Agents: no access panel, but the recorded checks.
    let a = agent(&app, TicketScope::Global).await;
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let t = ab.get(&format!("/agent/tickets/{ticket}")).await;
    assert!(t.body.contains(r#"id="sharing-check""#));
    assert!(!t.body.contains(r#"id="access-panel""#));
    // Agents cannot submit a change.
    let r = ab
        .post(
            &format!("/agent/organizations/{org}/sharing"),
            &[
                ("_csrf", &t.csrf()),
                ("ticket_id", &ticket_s),
                ("type_confirmed_comment_id", &first_s),
                ("sharing", "own_only"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn admin_forms_show_validation_errors_and_save(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let finance = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/statuses").await;
    let csrf = page.csrf();
    // An empty name and a bad position.
    let bad = b
        .post(
            "/admin/statuses",
            &[
                ("_csrf", &csrf),
                ("name", ""),
                ("category", "open"),
                ("position", "x"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="position-error""#));
    let bad = b
        .post(
            "/admin/statuses",
            &[("_csrf", &csrf), ("name", ""), ("category", "open")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="name-error""#), "{}", bad.body);
    // A custom status mapped to Finance.
    let group_field = format!("group_{finance}");
    let ok = b
        .post(
            "/admin/statuses",
            &[
                ("_csrf", &csrf),
                ("name", "Waiting on Finance"),
                ("customer_label", "In progress"),
                ("category", "pending"),
                (&group_field, "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let id = status_id(&app, &admin.token, "Waiting on Finance").await;
    let st = app.get(&admin.token, &format!("/statuses/{id}")).await;
    assert_eq!(st.body["internal_group_ids"], json!([finance]));
    // A duplicate name is refused next to the field.
    let dup = b
        .post(
            "/admin/statuses",
            &[
                ("_csrf", &csrf),
                ("name", "Waiting on Finance"),
                ("category", "open"),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        dup.body.contains(r#"id="name-error""#),
        "{}",
        &dup.body[dup.body.find("<main").unwrap()..]
    );
    // Edit: relabel and map all groups.
    let edit = b.get(&format!("/admin/statuses/{id}")).await;
    assert!(edit.body.contains(&format!(
        r#"id="{group_field}" name="{group_field}" value="on" checked"#
    )));
    let ok = b
        .post(
            &format!("/admin/statuses/{id}"),
            &[
                ("_csrf", &csrf),
                ("name", "Waiting on Finance"),
                ("customer_label", "Being handled"),
                ("category", "pending"),
                ("all_groups", "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let st = app.get(&admin.token, &format!("/statuses/{id}")).await;
    assert_eq!(st.body["customer_label"], "Being handled");
    assert_eq!(st.body["all_groups"], true);
    // A built-in status cannot be renamed: the form does not offer it; the label changes.
    let open = status_id(&app, &admin.token, "Open").await;
    let edit = b.get(&format!("/admin/statuses/{open}")).await;
    assert!(!edit.body.contains("delete-status"));
    // Delete.
    let gone = b
        .post(&format!("/admin/statuses/{id}/delete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let list = b.get("/admin/statuses?done=deleted").await;
    assert!(!list.body.contains("Waiting on Finance"));
    // Settings: a bad time zone and URL are shown next to their fields; nothing is saved.
    let page = b.get("/admin/settings").await;
    let bad = b
        .post(
            "/admin/settings",
            &[
                ("_csrf", &page.csrf()),
                ("time_zone", "Mars/Olympus"),
                ("public_base_url", "desk"),
                ("sharing_confirmation_template", "Done."),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="time_zone-error""#));
    assert!(bad.body.contains(r#"id="public_base_url-error""#));
    let ok = b
        .post(
            "/admin/settings",
            &[
                ("_csrf", &page.csrf()),
                ("time_zone", "Europe/Berlin"),
                ("public_base_url", "https://desk.example.com"),
                (
                    "sharing_confirmation_template",
                    "Sharing is now {{ sharing_label }}.",
                ),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = b.get("/admin/settings?done=settings").await;
    assert!(page.body.contains("Europe/Berlin"));
    assert!(page.body.contains("Settings saved."));
}

async fn the_rules_editor_shows_errors_warnings_and_a_simulation(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    app.post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await;
    let customer = customer(&app, &[]).await;
    let ticket = app
        .ticket(&customer.token, json!({"subject": "Where is my refund?"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/rules").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Customer replied"),
        "the default rule is listed"
    );
    let csrf = page.csrf();
    // Not JSON.
    let bad = b
        .post("/admin/rules", &[("_csrf", &csrf), ("rule", "{ nope")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="rule-errors""#) && bad.body.contains("could not be read"));
    assert!(bad.body.contains("{ nope"), "the text is kept");
    // JSON the rules engine refuses (an empty name).
    let bad = b
        .post(
            "/admin/rules",
            &[
                ("_csrf", &csrf),
                ("rule", r#"{"name": "", "events": [{"type": "comment_added", "public": true}], "actions": [{"field": "status", "value": "Open"}]}"#),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="rule-errors""#) && bad.body.contains("name"));
    // A rule that reopens tickets takes them from their internal owner: "Check" shows the
    // warning and saves nothing; "Create" stops at the warning and asks to confirm.
    let reopen = r#"{"name": "Reopen on reply", "events": [{"type": "comment_added", "public": true}], "actions": [{"field": "status", "value": "Open"}]}"#;
    let rules_before = app.get(&admin.token, "/rules").await.body;
    let checked = b
        .post(
            "/admin/rules",
            &[("_csrf", &csrf), ("rule", reopen), ("intent", "check")],
        )
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(checked.body.contains(r#"id="rule-warnings""#));
    assert!(checked.body.contains(r#"id="rule-confirm""#));
    assert!(checked.body.contains("Reopen on reply"), "the text is kept");
    let stopped = b
        .post(
            "/admin/rules",
            &[("_csrf", &csrf), ("rule", reopen), ("intent", "save")],
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    assert!(stopped.body.contains(r#"id="rule-warnings""#));
    assert!(!stopped.body.contains("Rule created."));
    assert_eq!(
        app.get(&admin.token, "/rules").await.body,
        rules_before,
        "nothing saved before the confirmation"
    );
    // Check refuses invalid rules the same way as saving.
    let bad = b
        .post(
            "/admin/rules",
            &[
                ("_csrf", &csrf),
                ("rule", r#"{"name": "", "events": [{"type": "comment_added", "public": true}], "actions": [{"field": "status", "value": "Open"}]}"#),
                ("intent", "check"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="rule-errors""#));
    // A rule without warnings: checked, then created without a question.
    let quiet = r#"{"name": "Tag replies", "events": [{"type": "comment_added", "public": true}], "actions": [{"field": "add_tags", "value": ["replied"]}]}"#;
    let checked = b
        .post(
            "/admin/rules",
            &[("_csrf", &csrf), ("rule", quiet), ("intent", "check")],
        )
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(
        checked.body.contains(r#"id="rule-checked""#),
        "{}",
        checked.body
    );
    // Confirmed: saved, and the warning stays on the rule's page.
    let ok = b
        .post(
            "/admin/rules",
            &[("_csrf", &csrf), ("rule", reopen), ("intent", "confirm")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains(r#"id="rule-warnings""#));
    assert!(ok.body.contains("Rule created."));
    // On the rule's own page: Save stops at the warning, Save anyway saves.
    let rules = app.get(&admin.token, "/rules").await.body;
    let rule_id = rules
        .as_array()
        .or_else(|| rules["items"].as_array())
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Reopen on reply")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let renamed = reopen.replace("Reopen on reply", "Reopen on any reply");
    let stopped = b
        .post(
            &format!("/admin/rules/{rule_id}"),
            &[("_csrf", &csrf), ("rule", &renamed), ("intent", "save")],
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    assert!(stopped.body.contains(r#"id="rule-confirm""#));
    assert!(!stopped.body.contains("Rule saved."));
    let saved = b
        .post(
            &format!("/admin/rules/{rule_id}"),
            &[("_csrf", &csrf), ("rule", &renamed), ("intent", "confirm")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Rule saved."));
    assert!(saved.body.contains("Reopen on any reply"));
    // Simulate: a bad ticket number, then a real one.
    let bad = b
        .post(
            "/admin/rules/simulate",
            &[
                ("_csrf", &csrf),
                ("ticket_id", "abc"),
                ("event", r#"{"type": "comment_added", "public": true}"#),
                ("performed_by", "end_user"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="simulate-errors""#));
    let ticket_s = ticket.to_string();
    let sim = b
        .post(
            "/admin/rules/simulate",
            &[
                ("_csrf", &csrf),
                ("ticket_id", &ticket_s),
                ("event", r#"{"type": "comment_added", "public": true}"#),
                ("performed_by", "end_user"),
            ],
        )
        .await;
    assert_eq!(sim.status, StatusCode::OK, "{}", sim.body);
    assert!(sim.body.contains(r#"id="simulation""#));
}

async fn the_group_editor_creates_renames_and_changes_members(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let ana = agent(&app, TicketScope::Global).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/groups").await;
    let csrf = page.csrf();
    // An empty name is refused next to the field.
    let bad = b
        .post("/admin/groups", &[("_csrf", &csrf), ("name", "  ")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="name-error""#), "{}", bad.body);
    // Created: the group's page.
    let ok = b
        .post("/admin/groups", &[("_csrf", &csrf), ("name", "Finance")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let to = ok.location.unwrap();
    let id: i64 = to
        .trim_start_matches("/admin/groups/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = b.get(&to).await;
    assert!(page.body.contains("Group created."));
    // A duplicate name is refused next to the field.
    b.post("/admin/groups", &[("_csrf", &csrf), ("name", "Billing")])
        .await;
    let dup = b
        .post(
            &format!("/admin/groups/{id}"),
            &[("_csrf", &csrf), ("name", "Billing")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains(r#"id="name-error""#), "{}", dup.body);
    // Renamed.
    let ok = b
        .post(
            &format!("/admin/groups/{id}"),
            &[("_csrf", &csrf), ("name", "Finance EU")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let g = app.get(&admin.token, &format!("/groups/{id}")).await;
    assert_eq!(g.body["name"], "Finance EU");
    // Adding nobody is refused next to the picker; adding an agent works.
    let bad = b
        .post(
            &format!("/admin/groups/{id}/members"),
            &[("_csrf", &csrf), ("user_id", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="user_id-error""#));
    let page = b.get(&format!("/admin/groups/{id}")).await;
    let ana_id = ana.id.to_string();
    assert!(
        page.body.contains(&format!(r#"<option value="{ana_id}">"#)),
        "the agent is offered"
    );
    let ok = b
        .post(
            &format!("/admin/groups/{id}/members"),
            &[("_csrf", &csrf), ("user_id", &ana_id)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let g = app.get(&admin.token, &format!("/groups/{id}")).await;
    assert_eq!(g.body["agent_ids"], json!([ana_id.parse::<i64>().unwrap()]));
    let page = b.get(&format!("/admin/groups/{id}")).await;
    assert!(page.body.contains(r#"id="group-members""#));
    // Removed, then the group deleted.
    let ok = b
        .post(
            &format!("/admin/groups/{id}/members/{ana_id}/remove"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let g = app.get(&admin.token, &format!("/groups/{id}")).await;
    assert_eq!(g.body["agent_ids"], json!([]));
    let ok = b
        .post(&format!("/admin/groups/{id}/delete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let list = b.get("/admin/groups?done=group_deleted").await;
    assert!(!list.body.contains("Finance EU"));
    assert!(list.body.contains("Group deleted."));
    // Without the form token nothing changes.
    let refused = b.post("/admin/groups", &[("name", "Sneaky")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn the_user_editor_creates_edits_suspends_and_deletes(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let acme = app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let finance = app
        .post(&admin.token, "/groups", json!({"name": "Finance"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/users").await;
    let csrf = page.csrf();
    // A bad email and a short password are shown next to their fields.
    let bad = b
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("name", "Eve"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("role", "agent"),
                ("ticket_scope", "group"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="email-error""#), "{}", bad.body);
    assert!(bad.body.contains(r#"id="password-error""#), "{}", bad.body);
    assert!(bad.body.contains("not-an-email"), "the form is kept");
    // An unknown role is refused next to its field.
    let bad = b
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("role", "overlord"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="role-error""#));
    // An agent with group scope in Finance.
    let group_field = format!("group_{finance}");
    let ok = b
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("name", "Eve Agent"),
                ("email", "eve@example.com"),
                ("password", PASSWORD),
                ("role", "agent"),
                ("ticket_scope", "group"),
                ("access", "requested"),
                (&group_field, "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let eve: i64 = ok
        .location
        .unwrap()
        .trim_start_matches("/admin/users/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let u = app.get(&admin.token, &format!("/users/{eve}")).await;
    assert_eq!(u.body["role"], "agent");
    assert_eq!(u.body["ticket_scope"], "group");
    assert_eq!(u.body["group_ids"], json!([finance]));
    // The same email again is refused next to the email field.
    let dup = b
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("name", "Eve Again"),
                ("email", "eve@example.com"),
                ("role", "end_user"),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains(r#"id="email-error""#), "{}", dup.body);
    // An end user with organization access in Acme.
    let org_field = format!("org_{acme}");
    let ok = b
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("name", "Carla Customer"),
                ("email", "carla@acme.example"),
                ("role", "end_user"),
                ("ticket_scope", "global"),
                ("access", "organization"),
                (&org_field, "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let carla: i64 = ok
        .location
        .unwrap()
        .trim_start_matches("/admin/users/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let u = app.get(&admin.token, &format!("/users/{carla}")).await;
    assert_eq!(u.body["access"], "organization");
    assert_eq!(u.body["organization_ids"], json!([acme]));
    // Edit: an empty name is refused; then renamed, rescoped and suspended.
    let page = b
        .get(&format!("/admin/users/{eve}?done=user_created"))
        .await;
    assert!(page.body.contains("User created."));
    assert!(page.body.contains(r#"id="delete-user""#));
    let bad = b
        .post(
            &format!("/admin/users/{eve}"),
            &[
                ("_csrf", &csrf),
                ("name", ""),
                ("email", "eve@example.com"),
                ("ticket_scope", "group"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="name-error""#), "{}", bad.body);
    let ok = b
        .post(
            &format!("/admin/users/{eve}"),
            &[
                ("_csrf", &csrf),
                ("name", "Eve Brown"),
                ("email", "eve.brown@example.com"),
                ("ticket_scope", "assigned"),
                ("suspended", "on"),
                ("manages_memberships", "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let u = app.get(&admin.token, &format!("/users/{eve}")).await;
    assert_eq!(u.body["manages_memberships"], true);
    let page = b.get(&format!("/admin/users/{eve}")).await;
    assert!(
        page.body
            .contains(r#"id="manages_memberships" name="manages_memberships" value="on" checked"#)
    );
    assert_eq!(u.body["name"], "Eve Brown");
    assert_eq!(u.body["email"], "eve.brown@example.com");
    assert_eq!(u.body["ticket_scope"], "assigned");
    assert_eq!(u.body["suspended"], true);
    // An end user's access changes (an unknown one is refused); they cannot be deleted.
    let page = b.get(&format!("/admin/users/{carla}")).await;
    assert!(!page.body.contains(r#"id="delete-user""#));
    let bad = b
        .post(
            &format!("/admin/users/{carla}"),
            &[
                ("_csrf", &csrf),
                ("name", "Carla Customer"),
                ("email", "carla@acme.example"),
                ("access", "own_only"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="access-error""#));
    let ok = b
        .post(
            &format!("/admin/users/{carla}"),
            &[
                ("_csrf", &csrf),
                ("name", "Carla Customer"),
                ("email", "carla@acme.example"),
                ("access", "requested"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let u = app.get(&admin.token, &format!("/users/{carla}")).await;
    assert_eq!(u.body["access"], "requested");
    // Delete the agent: suspended and out of their groups.
    let ok = b
        .post(&format!("/admin/users/{eve}/delete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let u = app.get(&admin.token, &format!("/users/{eve}")).await;
    assert_eq!(u.body["group_ids"], json!([]));
    let list = b.get("/admin/users?done=user_deleted").await;
    assert!(list.body.contains("Agent deleted."));
}

async fn the_organization_editor_creates_edits_blocks_and_changes_members(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let carla = customer(&app, &[]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/organizations").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    // An empty name and a bad domain are shown next to their fields; the text is kept.
    let bad = b
        .post(
            "/admin/organizations",
            &[
                ("_csrf", &csrf),
                ("name", ""),
                ("domain_names", "acme.example, not a domain!"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="name-error""#), "{}", bad.body);
    assert!(
        bad.body.contains(r#"id="domain_names-error""#),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("not a domain!"));
    // Created.
    let ok = b
        .post(
            "/admin/organizations",
            &[
                ("_csrf", &csrf),
                ("name", "Acme"),
                ("domain_names", "acme.example"),
                ("tags", "vip, emea"),
                ("details", "Account 42"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let id: i64 = ok
        .location
        .unwrap()
        .trim_start_matches("/admin/organizations/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let o = app.get(&admin.token, &format!("/organizations/{id}")).await;
    assert_eq!(o.body["domain_names"], json!(["acme.example"]));
    assert_eq!(o.body["details"], "Account 42");
    // A duplicate name is refused next to the field.
    let dup = b
        .post(
            "/admin/organizations",
            &[("_csrf", &csrf), ("name", "Acme")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains(r#"id="name-error""#), "{}", dup.body);
    // Edit: renamed, blocked with a reason.
    let page = b
        .get(&format!("/admin/organizations/{id}?done=created"))
        .await;
    assert!(page.body.contains("Organization created."));
    let ok = b
        .post(
            &format!("/admin/organizations/{id}"),
            &[
                ("_csrf", &csrf),
                ("name", "Acme Corp"),
                ("domain_names", "acme.example, acme.test"),
                ("tags", "vip"),
                ("details", "Account 42, EU"),
                ("sharing_blocked", "on"),
                ("sharing_blocked_reason", "Legal hold"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let o = app.get(&admin.token, &format!("/organizations/{id}")).await;
    assert_eq!(o.body["name"], "Acme Corp");
    assert_eq!(o.body["domain_names"], json!(["acme.example", "acme.test"]));
    assert_eq!(o.body["tags"], json!(["vip"]));
    assert_eq!(o.body["sharing_blocked"], true);
    assert_eq!(o.body["sharing_blocked_reason"], "Legal hold");
    // An empty name on edit is refused next to the field.
    let bad = b
        .post(
            &format!("/admin/organizations/{id}"),
            &[("_csrf", &csrf), ("name", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="name-error""#), "{}", bad.body);
    // Members: choosing nobody is refused; adding and removing an end user works.
    let bad = b
        .post(
            &format!("/admin/organizations/{id}/members"),
            &[("_csrf", &csrf), ("user_id", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="user_id-error""#));
    let carla_id = carla.id.to_string();
    let ok = b
        .post(
            &format!("/admin/organizations/{id}/members"),
            &[("_csrf", &csrf), ("user_id", &carla_id), ("default", "on")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let u = app.get(&admin.token, &format!("/users/{carla_id}")).await;
    assert_eq!(u.body["organization_ids"], json!([id]));
    let page = b.get(&format!("/admin/organizations/{id}")).await;
    assert!(page.body.contains(r#"id="org-members""#));
    let ok = b
        .post(
            &format!("/admin/organizations/{id}/members/{carla_id}/remove"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let u = app.get(&admin.token, &format!("/users/{carla_id}")).await;
    assert_eq!(u.body["organization_ids"], json!([]));
    // The organization's page links admins to the editor.
    let page = b.get(&format!("/agent/organizations/{id}")).await;
    assert!(page.body.contains(r#"id="edit-org""#));
}

async fn a_view_keeps_an_order_only_when_saved_on_purpose(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let first = app
        .ticket(&c.token, json!({"subject": "First request"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let second = app
        .ticket(&c.token, json!({"subject": "Second request"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mine = app
        .post(
            &a.token,
            "/views",
            json!({"name": "Everything", "conditions": {"all": [], "any": []},
                   "sort": {"by": "updated_at", "order": "desc"}}),
        )
        .await;
    assert!(mine.status.is_success(), "{}", mine.body);
    let mine = mine.body["id"].as_i64().unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    // The plain list is newest first.
    let list = b.get("/agent/tickets").await;
    assert!(list.body.contains(r#"aria-sort="descending"><a"#));
    let pos = |body: &str, id: i64| body.find(&format!("/agent/tickets/{id}\"")).unwrap();
    assert!(pos(&list.body, second) < pos(&list.body, first));
    // An own view sorted for the moment through its column: it offers to save that order;
    // an unknown order is refused and changes nothing.
    let page = b
        .get(&format!("/agent/tickets?view={mine}&sort=created&dir=asc"))
        .await;
    assert!(
        page.body
            .contains(r#"id="col-created" class="col-created" aria-sort="ascending""#)
    );
    assert!(pos(&page.body, first) < pos(&page.body, second));
    assert!(page.body.contains(r#"id="save-order""#), "{}", page.body);
    let csrf = page.csrf();
    let mine_s = mine.to_string();
    let bad = b
        .post(
            "/agent/tickets/sort",
            &[
                ("_csrf", &csrf),
                ("view", &mine_s),
                ("by", "created_at"),
                ("order", "sideways"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(r#"id="save-order-error""#),
        "{}",
        bad.body
    );
    let ok = b
        .post(
            "/agent/tickets/sort",
            &[
                ("_csrf", &csrf),
                ("view", &mine_s),
                ("by", "created_at"),
                ("order", "asc"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(
        ok.location.as_deref(),
        Some(format!("/agent/tickets?view={mine}").as_str())
    );
    let page = b.get(&format!("/agent/tickets?view={mine}")).await;
    assert!(
        page.body
            .contains(r#"id="col-created" class="col-created" aria-sort="ascending""#)
    );
    assert!(pos(&page.body, first) < pos(&page.body, second));
    assert!(!page.body.contains(r#"id="save-order""#));
    // A default view cannot change: no button, and saving is refused.
    let views = app.get(&a.token, "/views").await.body;
    let built_in = views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["built_in"] == true)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let page = b
        .get(&format!(
            "/agent/tickets?view={built_in}&sort=created&dir=asc"
        ))
        .await;
    assert!(!page.body.contains(r#"id="save-order""#));
    let built_s = built_in.to_string();
    let refused = b
        .post(
            "/agent/tickets/sort",
            &[
                ("_csrf", &csrf),
                ("view", &built_s),
                ("by", "created_at"),
                ("order", "asc"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let views_after = app.get(&a.token, "/views").await.body;
    assert_eq!(views_after, views, "nothing saved, no copy made");
    // Without the form token nothing changes.
    let refused = b
        .post(
            "/agent/tickets/sort",
            &[("view", &mine_s), ("by", "updated_at"), ("order", "desc")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// The rows of the `<table id=…>` as people read them: each row's text, tags removed,
/// white space squashed ("Priority Urgent — changed by Admin High").
fn table_rows(body: &str, id: &str) -> Vec<String> {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let table = &body[at..at + body[at..].find("</table>").expect("the table ends")];
    table
        .split("<tr")
        .skip(1)
        .map(|row| {
            let mut text = String::new();
            let mut in_tag = true;
            for ch in row.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => {
                        in_tag = false;
                        text.push(' ');
                    }
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// The value of the element with `id` (its text up to the next tag).
fn text_of(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[at + id.len() + 6..];
    rest[..rest.find('<').unwrap()].to_owned()
}

async fn staff_required_to_use_two_factor_sign_in_set_it_up_before_anything_else(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    // The admin uses it, then requires it (API; the settings form posts the same patch).
    let setup = app.post(&admin.token, "/me/two-factor", json!({})).await;
    let key = ferrodesk_core::totp::base32_decode(setup.body["secret"].as_str().unwrap()).unwrap();
    let code = ferrodesk_core::totp::code_at(&key, jiff::Timestamp::now().as_second());
    assert_eq!(
        app.post(&admin.token, "/me/two-factor/enable", json!({"code": code}))
            .await
            .status,
        StatusCode::OK
    );
    let on = app
        .patch(
            &admin.token,
            "/settings",
            json!({"require_two_factor_for_staff": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);

    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    // Every page sends the agent to the set-up page, which says why.
    let list = b.get("/agent/tickets").await;
    assert_eq!(list.status, StatusCode::SEE_OTHER);
    assert_eq!(list.location.as_deref(), Some("/account/two-factor"));
    let page = b.get("/account/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("An admin requires two-factor sign-in"));
    let setup = b
        .post("/account/two-factor/setup", &[("_csrf", &page.csrf())])
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let secret = text_of(&setup.body, "two-factor-secret");
    // A wrong code shows why, with the same key to try again.
    let wrong = b
        .post(
            "/account/two-factor/enable",
            &[
                ("_csrf", &setup.csrf()),
                ("code", "000000"),
                ("secret", &secret),
                ("otpauth_uri", "otpauth://totp/x"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("current code"));
    assert_eq!(text_of(&wrong.body, "two-factor-secret"), secret);
    let key = ferrodesk_core::totp::base32_decode(&secret).unwrap();
    let code = ferrodesk_core::totp::code_at(&key, jiff::Timestamp::now().as_second());
    let done = b
        .post(
            "/account/two-factor/enable",
            &[
                ("_csrf", &wrong.csrf()),
                ("code", &code),
                ("secret", &secret),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body.matches("<li><code>").count(), 10);
    // Now the workspace opens, and the account page says it is on and cannot be turned off.
    assert_eq!(b.get("/agent/tickets").await.status, StatusCode::OK);
    let account = b.get("/account/two-factor").await;
    assert!(
        account
            .body
            .contains("Two-factor sign-in is <strong>on</strong>")
    );
    assert!(account.body.contains("cannot be turned off here"));
    assert!(!account.body.contains("Turn off two-factor sign-in"));
}

/// The HTML from the element with id `id` to the first `end` after it.
fn element(body: &str, id: &str, end: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[at..];
    rest[..rest.find(end).unwrap_or(rest.len())].to_owned()
}

/// Admins see outgoing mail in words — what, about which ticket, for whom, the server's
/// answer — and send a failed message again; agents do not see the page.
async fn admins_see_outgoing_mail_and_send_a_failed_message_again(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let dana = customer(&app, &[]).await;
    let t = app
        .ticket(&admin.token, json!({"requester_id": dana.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    let a = app
        .post(
            &admin.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "An answer"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    // No SMTP server in these tests: both messages wait.
    let waiting = b.get("/admin/outbox").await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    let table = element(&waiting.body, "outbox", "</table>");
    assert!(table.contains("New ticket acknowledgement"), "{table}");
    assert!(table.contains("Public reply"), "{table}");
    assert!(table.contains(&format!("#{t}")), "{table}");
    assert!(table.contains("Customer"), "the recipient's name: {table}");
    let id = app
        .scalar(&format!(
            "SELECT MAX(id) FROM jobs WHERE kind = 'mail' AND payload LIKE '%public_reply%' AND payload LIKE '%\"ticket_id\":{t},%'"
        ))
        .await;
    app.execute_sql(&format!(
        "UPDATE jobs SET failed_at = 1, attempts = 4, last_error = '550 5.1.1 mailbox unavailable' WHERE id = {id}"
    ))
    .await;
    let failed = b.get("/admin/outbox?state=failed").await;
    let row = element(&failed.body, &format!("job-{id}"), "</tr>");
    assert!(row.contains("550 5.1.1 mailbox unavailable"), "{row}");
    assert!(row.contains("Send again"), "{row}");
    let csrf = failed.csrf();
    let again = b
        .post(&format!("/admin/outbox/{id}/retry"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let after = b.get(again.location.as_deref().unwrap()).await;
    assert!(after.body.contains("The message will be sent again."));
    assert!(element(&after.body, &format!("job-{id}"), "</tr>").contains("Public reply"));
    let none = b.get("/admin/outbox?state=failed").await;
    assert!(none.body.contains("No message failed."), "{}", none.body);

    let ana = agent(&app, TicketScope::Global).await;
    let mut c = Browser::new(&app);
    c.sign_in(&ana.email).await;
    assert_eq!(c.get("/admin/outbox").await.status, StatusCode::FORBIDDEN);
}

/// Admins see what came in by mail and what was not taken in, in words; agents open the
/// original of a comment that came in by email, on a ticket they may see.
async fn incoming_mail_is_listed_in_words_and_its_original_can_be_opened(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let dana = customer(&app, &[]).await;
    let t = app
        .ticket(&admin.token, json!({"requester_id": dana.id}))
        .await["id"]
        .as_i64()
        .unwrap();
    let reply = format!(
        "From: Dana <{}>\r\nTo: support@localhost\r\nSubject: Re: [#{t}] Help\r\n\
         Message-ID: <ui-1@customer.example>\r\n\r\nIt still fails <b>badly</b>.\r\n",
        dana.email
    );
    let out = app.app.ingest_mail(reply.as_bytes()).await.unwrap();
    assert_eq!(out.outcome, "commented");
    let auto = "From: Dana <x@y.example>\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\
                Message-ID: <ui-2@y.example>\r\n\r\nAway.\r\n";
    app.app.ingest_mail(auto.as_bytes()).await.unwrap();

    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let inbox = b.get("/admin/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let table = element(&inbox.body, "inbox", "</table>");
    assert!(table.contains("Automatic mail, not answered"), "{table}");
    assert!(
        table.contains("an automatic message (Auto-Submitted: auto-replied)"),
        "{table}"
    );
    assert!(
        !table.contains("It still fails"),
        "taken-in mail is on the other tab: {table}"
    );
    let taken = b.get("/admin/inbox?show=taken_in").await;
    let row = element(&taken.body, &format!("inbound-{}", out.id), "</tr>");
    assert!(
        row.contains("Added to a ticket") && row.contains(&format!("#{t}")),
        "{row}"
    );

    let ana = agent(&app, TicketScope::Global).await;
    let mut c = Browser::new(&app);
    c.sign_in(&ana.email).await;
    assert_eq!(c.get("/admin/inbox").await.status, StatusCode::FORBIDDEN);
    let page = c.get(&format!("/agent/tickets/{t}")).await;
    assert!(page.body.contains("by email"), "{}", page.body);
    let link = format!("/mail/{}/original", out.id);
    assert!(page.body.contains(&link), "{}", page.body);
    let original = c.get(&link).await;
    assert_eq!(original.status, StatusCode::OK);
    assert_eq!(original.body, reply, "the message as received");
    // A customer never opens originals.
    let mut d = Browser::new(&app);
    d.sign_in(&dana.email).await;
    assert_ne!(d.get(&link).await.status, StatusCode::OK);
}

/// Admins read and change the wording of the messages Ferrodesk sends: a template that does
/// not render comes back with the error next to its field and the typed text kept, and
/// changes nothing; a saved one says Changed; a reset brings the built-in text back. Agents do
/// not see the page.
async fn admins_change_a_mail_template_and_put_the_built_in_one_back(app: TestApp) {
    let admin = person(&app, user_in("Boss", Role::Admin)).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin.email).await;
    let page = b.get("/admin/mail-templates").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(r#"<a href="/admin/mail-templates" aria-current="page">Mail templates</a>"#),
        "the tab: {}",
        page.body
    );
    for (name, label) in [
        ("public_reply", "Public reply"),
        ("ticket_created", "New ticket acknowledgement"),
        ("ticket_solved", "Ticket solved"),
        ("internal_owner_removed", "Internal owner removed"),
        ("rule_notification", "Rule notice"),
        ("refusal_notice", "Incoming message refused"),
    ] {
        let section = element(&page.body, &format!("template-{name}"), "</section>");
        assert!(section.contains(&format!(">{label}</h2>")), "{section}");
        assert!(section.contains("Built-in"), "{section}");
        assert!(!section.contains("Changed"), "{section}");
        assert!(
            section.contains(&format!(r#"<label for="subject-{name}">Subject</label>"#))
                && section.contains(&format!(r#"<label for="body-{name}">Text</label>"#)),
            "{section}"
        );
        assert!(
            section.contains(&format!(r#"action="/admin/mail-templates/{name}""#)),
            "{section}"
        );
        assert!(!section.contains("Back to the built-in text"), "{section}");
    }
    let created = element(&page.body, "template-ticket_created", "</section>");
    assert!(
        created.contains("<code>{{ ticket_subject }}</code>")
            && created.contains("<code>{{ recipient_name }}</code>"),
        "its variables: {created}"
    );
    assert!(
        created.contains("was received as ticket #{{ ticket_id }}"),
        "{created}"
    );
    let csrf = page.csrf();

    // A variable the template does not have: refused next to the text, the typed text kept.
    let typed = "Dear {{ customer }},\nwe have your request.";
    let bad = b
        .post(
            "/admin/mail-templates/ticket_created",
            &[
                ("_csrf", &csrf),
                ("subject", "Received: {{ ticket_subject }}"),
                ("body", typed),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let alert = element(&bad.body, "mail-templates-errors", "</p>");
    assert!(
        bad.body
            .contains(r#"<p class="error" role="alert" id="mail-templates-errors">"#),
        "{}",
        bad.body
    );
    assert!(
        alert.contains(r##"href="#template-ticket_created">New ticket acknowledgement"##),
        "{alert}"
    );
    let section = element(&bad.body, "template-ticket_created", "</section>");
    let body_field = element(&section, "body-ticket_created", "</textarea>");
    assert!(
        body_field.contains(r#"aria-invalid="true""#)
            && body_field.contains("body-ticket_created-error"),
        "{body_field}"
    );
    assert!(
        body_field.contains("Dear {{ customer }},\nwe have your request."),
        "{body_field}"
    );
    let error = element(&section, "body-ticket_created-error", "</p>");
    assert!(
        error.contains("the body does not render") && error.contains("ticket_subject"),
        "{error}"
    );
    let subject_field = element(&section, "subject-ticket_created", ">");
    assert!(
        subject_field.contains(r#"value="Received: {{ ticket_subject }}""#)
            && !subject_field.contains("aria-invalid"),
        "{subject_field}"
    );
    assert!(section.contains("Built-in"), "nothing was saved: {section}");
    let other = element(&bad.body, "template-ticket_solved", "</section>");
    assert!(!other.contains("aria-invalid"), "{other}");
    let listed = app.get(&admin.token, "/mail/templates").await;
    assert_eq!(listed.body[1]["name"], "ticket_created");
    assert_eq!(listed.body[1]["customized"], false, "{}", listed.body);

    // A template that renders is saved.
    let saved = b
        .post(
            "/admin/mail-templates/ticket_created",
            &[
                ("_csrf", &csrf),
                ("subject", "Received: {{ ticket_subject }}"),
                (
                    "body",
                    "Dear {{ recipient_name }},\r\nwe have ticket #{{ ticket_id }}.",
                ),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some("/admin/mail-templates?done=saved#template-ticket_created")
    );
    let after = b.get(saved.location.as_deref().unwrap()).await;
    assert!(
        after.body.contains("The template was saved."),
        "{}",
        after.body
    );
    let section = element(&after.body, "template-ticket_created", "</section>");
    assert!(
        section.contains("Changed") && !section.contains("Built-in"),
        "{section}"
    );
    assert!(
        section.contains(r#"value="Received: {{ ticket_subject }}""#),
        "{section}"
    );
    assert!(
        section.contains("Dear {{ recipient_name }},\nwe have ticket #{{ ticket_id }}.</textarea>"),
        "the text, its line breaks as typed: {section}"
    );
    assert!(section.contains("Back to the built-in text"), "{section}");
    assert!(
        element(&after.body, "template-ticket_solved", "</section>").contains("Built-in"),
        "the others are untouched"
    );
    let listed = app.get(&admin.token, "/mail/templates").await;
    assert_eq!(listed.body[1]["customized"], true, "{}", listed.body);
    assert_eq!(
        listed.body[1]["body"],
        "Dear {{ recipient_name }},\nwe have ticket #{{ ticket_id }}."
    );

    // Back to the built-in text.
    let reset = b
        .post(
            "/admin/mail-templates/ticket_created/reset",
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    assert_eq!(
        reset.location.as_deref(),
        Some("/admin/mail-templates?done=reset#template-ticket_created")
    );
    let back = b.get(reset.location.as_deref().unwrap()).await;
    assert!(
        back.body.contains("The built-in template is back."),
        "{}",
        back.body
    );
    let section = element(&back.body, "template-ticket_created", "</section>");
    assert!(
        section.contains("Built-in") && !section.contains("Changed"),
        "{section}"
    );
    assert!(
        section.contains("was received as ticket #{{ ticket_id }}"),
        "{section}"
    );
    let listed = app.get(&admin.token, "/mail/templates").await;
    assert_eq!(listed.body[1]["customized"], false, "{}", listed.body);

    // An unknown template is not found; a form without its token is refused.
    let unknown = b
        .post(
            "/admin/mail-templates/nope",
            &[("_csrf", &csrf), ("subject", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let forged = b
        .post(
            "/admin/mail-templates/ticket_created",
            &[("subject", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let ana = agent(&app, TicketScope::Global).await;
    let mut c = Browser::new(&app);
    c.sign_in(&ana.email).await;
    assert_eq!(
        c.get("/admin/mail-templates").await.status,
        StatusCode::FORBIDDEN
    );
    let agent_page = c.get("/agent/tickets").await;
    let agent_csrf = agent_page.csrf();
    let refused = c
        .post(
            "/admin/mail-templates/ticket_created",
            &[("_csrf", &agent_csrf), ("subject", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = c
        .post(
            "/admin/mail-templates/ticket_created/reset",
            &[("_csrf", &agent_csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// Bytes no other test sends (the file store keeps the same bytes once).
fn unique_bytes(prefix: &[u8], len: usize) -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let stamp = format!(
        "{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_nanosecond()
    );
    let mut out = prefix.to_vec();
    out.extend_from_slice(stamp.as_bytes());
    let mut i = 0u32;
    while out.len() < len {
        out.push(b"abcdefghijklmnopqrstuvwxyz\n"[(i % 27) as usize]);
        i += 1;
    }
    out.truncate(len.max(prefix.len() + stamp.len()));
    out
}

/// The files of comment `index` of a ticket as the API lists them: `(id, file name)`.
async fn comment_files(
    app: &TestApp,
    token: &str,
    ticket: i64,
    index: usize,
) -> Vec<(i64, String)> {
    let comments = app.get(token, &format!("/tickets/{ticket}/comments")).await;
    comments.body["items"][index]["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", comments.body))
        .iter()
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["file_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A customer replies in the portal with a picture and a text file; both are listed under
/// the reply (sizes in words, a thumbnail for the picture) in the portal and the agent app,
/// and the agent downloads the text file through its link. A private note's file is listed
/// for agents only and does not exist for the customer. A new request takes files too.
async fn files_attached_to_replies_and_notes_are_listed_under_each_comment(app: TestApp) {
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let id = app
        .ticket(&c.token, json!({"subject": "The printer shows an error"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    let page = cb.get(&format!("/portal/requests/{id}")).await;
    let form = element(&page.body, "reply-form", "</form>");
    assert!(form.contains(r#"enctype="multipart/form-data""#), "{form}");
    assert!(
        form.contains(r#"<label for="files">Attach files</label>"#),
        "{form}"
    );
    assert!(
        form.contains(r#"<input type="file" id="files" name="files" multiple"#),
        "{form}"
    );
    assert!(
        form.contains("up to 20 MiB a file, 50 MiB together"),
        "{form}"
    );

    let png = {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend(unique_bytes(b"IHDR", 2_202_010 - 8));
        b
    };
    let log = unique_bytes(b"printer log\n", 340 * 1024);
    let sent = cb
        .post_multipart(
            &format!("/portal/requests/{id}/comments"),
            &[("_csrf", &page.csrf()), ("body", "Here is what it shows.")],
            &[
                ("screen.png", "image/png", &png),
                ("printer.log", "text/plain", &log),
                // A second file input left empty.
                ("", "application/octet-stream", b""),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.location.as_deref(),
        Some(format!("/portal/requests/{id}?done=reply").as_str())
    );
    let files = comment_files(&app, &c.token, id, 1).await;
    assert_eq!(
        files.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        vec!["screen.png", "printer.log"],
        "the two files, not the empty input"
    );
    let (png_id, log_id) = (files[0].0, files[1].0);

    let portal = cb.get(&format!("/portal/requests/{id}")).await;
    assert!(
        portal.body.contains(&format!(
            r#"<a href="/api/v1/attachments/{png_id}" download>screen.png</a> <span class="small">2.1 MiB</span>"#
        )),
        "{}",
        portal.body
    );
    assert!(
        portal.body.contains(&format!(
            r#"<img class="thumb" src="/api/v1/attachments/{png_id}" alt="screen.png" loading="lazy">"#
        )),
        "{}",
        portal.body
    );
    assert!(
        portal.body.contains(&format!(
            r#"<a href="/api/v1/attachments/{log_id}" download>printer.log</a> <span class="small">340 KB</span>"#
        )),
        "{}",
        portal.body
    );
    assert!(
        !portal
            .body
            .contains(&format!(r#"src="/api/v1/attachments/{log_id}""#)),
        "no thumbnail for a text file"
    );
    // The customer's own session fetches the picture the thumbnail shows.
    let (s, got) = cb.get_bytes(&format!("/api/v1/attachments/{png_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got == png, "the picture, byte for byte");

    // The agent sees both under the reply and downloads the text file through its link.
    let mut ab = Browser::new(&app);
    ab.sign_in(&a.email).await;
    let agent_page = ab.get(&format!("/agent/tickets/{id}")).await;
    for box_name in ["reply", "note"] {
        assert!(
            agent_page.body.contains(&format!(
                r#"<label for="{box_name}_files">Attach files</label>"#
            )) && agent_page.body.contains(&format!(
                r#"<input type="file" id="{box_name}_files" name="files" multiple"#
            )),
            "{}",
            agent_page.body
        );
    }
    assert_eq!(
        agent_page
            .body
            .matches(r#"enctype="multipart/form-data""#)
            .count(),
        2,
        "the reply and the note take files"
    );
    let reply_id = app
        .get(&c.token, &format!("/tickets/{id}/comments"))
        .await
        .body["items"][1]["id"]
        .as_i64()
        .unwrap();
    let listed = element(&agent_page.body, &format!("comment-{reply_id}"), "</ul>");
    assert!(
        listed.contains("screen.png") && listed.contains("2.1 MiB"),
        "{listed}"
    );
    assert!(listed.contains(r#"<img class="thumb""#), "{listed}");
    let link = format!(r#"<a href="/api/v1/attachments/{log_id}" download>printer.log</a>"#);
    assert!(listed.contains(&link), "{listed}");
    let (s, got) = ab.get_bytes(&format!("/api/v1/attachments/{log_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got == log, "the text file, byte for byte");

    // A private note with a file: listed for agents, absent from the portal, 404 there.
    let secret = unique_bytes(b"internal: customer owes 3 invoices\n", 2_000);
    let note = ab
        .post_multipart(
            &format!("/agent/tickets/{id}/comments"),
            &[
                ("_csrf", &agent_page.csrf()),
                ("public", "false"),
                ("body", "See the attached history."),
            ],
            &[("billing-history.txt", "text/plain", &secret)],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER, "{}", note.body);
    assert_eq!(
        note.location.as_deref(),
        Some(format!("/agent/tickets/{id}?done=note#conversation").as_str())
    );
    let note_files = comment_files(&app, &a.token, id, 2).await;
    assert_eq!(note_files.len(), 1);
    let note_file = note_files[0].0;
    let agent_page = ab.get(&format!("/agent/tickets/{id}")).await;
    assert!(
        agent_page.body.contains(&format!(
            r#"<a href="/api/v1/attachments/{note_file}" download>billing-history.txt</a> <span class="small">2 KB</span>"#
        )),
        "{}",
        agent_page.body
    );
    let portal = cb.get(&format!("/portal/requests/{id}")).await;
    assert!(!portal.body.contains("billing-history"), "{}", portal.body);
    assert!(
        !portal
            .body
            .contains(&format!("/api/v1/attachments/{note_file}"))
    );
    let (s, got) = cb
        .get_bytes(&format!("/api/v1/attachments/{note_file}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&got).contains("owes"));

    // A redacted file keeps its name, says who redacted it, and has no link.
    let r = app
        .post(
            &a.token,
            &format!("/attachments/{log_id}/redact"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let portal = cb.get(&format!("/portal/requests/{id}")).await;
    assert!(
        !portal
            .body
            .contains(&format!("/api/v1/attachments/{log_id}")),
        "{}",
        portal.body
    );
    assert!(
        portal.body.contains(r#"<span class="file-name">printer.log</span> <span class="small redacted">redacted by "#),
        "{}",
        portal.body
    );

    // A new request with a file.
    let new = cb.get("/portal/requests/new").await;
    assert!(new.body.contains(r#"enctype="multipart/form-data""#));
    assert!(
        new.body
            .contains(r#"<label for="files">Attach files</label>"#)
    );
    let photo = unique_bytes(b"GIF89a", 5_000);
    let created = cb
        .post_multipart(
            "/portal/requests",
            &[
                ("_csrf", &new.csrf()),
                ("subject", "Scanner jams"),
                ("description", "Photo attached."),
            ],
            &[("jam.gif", "image/gif", &photo)],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let mine = app.get(&c.token, "/tickets").await;
    let new_id = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == "Scanner jams")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let files = comment_files(&app, &c.token, new_id, 0).await;
    assert_eq!(files.len(), 1);
    let request = cb.get(&format!("/portal/requests/{new_id}")).await;
    assert!(
        request.body.contains(&format!(
            r#"<img class="thumb" src="/api/v1/attachments/{}" alt="jam.gif" loading="lazy">"#,
            files[0].0
        )),
        "{}",
        request.body
    );
}

/// Sends only the head of a POST that declares `length` bytes; the status answered.
async fn declared_post(app: &TestApp, path: &str, length: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; \
             boundary=x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        (text[9..12].parse().unwrap(), text)
    })
    .await
    .unwrap()
}

/// A file over the limit is refused with the 413 page and nothing is added; so is a form
/// whose files together are over the per-comment limit, before it is read.
async fn a_file_over_the_limit_is_refused_and_adds_no_comment(app: TestApp) {
    let c = customer(&app, &[]).await;
    let id = app.ticket(&c.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let mut cb = Browser::new(&app);
    cb.sign_in(&c.email).await;
    let page = cb.get(&format!("/portal/requests/{id}")).await;
    let uploads = app.scalar("SELECT COUNT(*) FROM attachments").await;
    let big = vec![b'x'; 20 * 1024 * 1024 + 1];
    let refused = cb
        .post_multipart(
            &format!("/portal/requests/{id}/comments"),
            &[("_csrf", &page.csrf()), ("body", "The full dump.")],
            &[("dump.bin", "application/octet-stream", &big)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused.body.contains("<h1>Too large</h1>"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("dump.bin is larger than 20 MiB: a file may have at most 20 MiB."),
        "{}",
        refused.body
    );
    let comments = app.get(&c.token, &format!("/tickets/{id}/comments")).await;
    assert_eq!(comments.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attachments").await,
        uploads,
        "nothing kept"
    );
    // Declared larger than a comment's files together (plus 1 MiB): refused at once.
    let (status, text) = declared_post(
        &app,
        &format!("/portal/requests/{id}/comments"),
        52 * 1024 * 1024,
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains("The form with its files is larger than 51 MiB."),
        "a page, not JSON: {text}"
    );
    // A reply without files is still a plain form, as before.
    let plain = cb
        .post(
            &format!("/portal/requests/{id}/comments"),
            &[("_csrf", &page.csrf()), ("body", "Never mind, fixed.")],
        )
        .await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER, "{}", plain.body);
}

/// The value of the hidden field `name` in the form whose action is `action`.
fn hidden_in(body: &str, action: &str, name: &str) -> String {
    let form = &body[body
        .find(&format!(r#"action="{action}""#))
        .expect("the form")..];
    let form = &form[..form.find("</form>").unwrap()];
    let key = format!(r#"name="{name}" value=""#);
    let at = form
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {action}"));
    let rest = &form[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The reply box's form as a browser without JavaScript sends it: `fields`, then the
/// hidden fields the page put in it.
fn reply_form(page: &Page, id: i64, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let action = format!("/agent/tickets/{id}/comments");
    let mut out: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for name in [
        "version",
        "orig_status_id",
        "orig_priority",
        "orig_group_id",
        "orig_assignee_id",
        "orig_internal_group_id",
        "orig_internal_agent_id",
        "last_comment_id",
    ] {
        out.push((name.to_owned(), hidden_in(&page.body, &action, name)));
    }
    out
}

/// Pairs as `Browser::post` takes them.
fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn a_reply_sets_the_status_in_the_same_submit_without_javascript(app: TestApp) {
    let admin = app.admin().await;
    let a = agent(&app, TicketScope::Global).await;
    let c = customer(&app, &[]).await;
    let finance = app
        .post(
            &admin.token,
            "/groups",
            json!({"name": "Finance", "agent_ids": [a.id]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let cr = status_id(&app, &a.token, "Customer Responded").await;
    let pending = status_id(&app, &a.token, "Pending").await.to_string();
    let id = app.ticket(&a.token, json!({"requester_id": c.id})).await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .patch(
            &a.token,
            &format!("/tickets/{id}"),
            json!({"status_id": cr, "internal_group_id": finance}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;
    let page = b.get(&format!("/agent/tickets/{id}")).await;
    assert!(
        page.body
            .contains(r#"<option value="" selected>Keep the status (Customer Responded)</option>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!(
        r#"<option value="{pending}">Pending (removes the internal owner)</option>"#
    )));
    assert!(
        page.body
            .contains("Finance is not mapped to Open, Pending, Resolved or Closed")
    );
    let path = format!("/agent/tickets/{id}/comments");
    // An empty reply with a status: refused under the box, the status still chosen, nothing saved.
    let csrf = page.csrf();
    let form = reply_form(
        &page,
        id,
        &[
            ("_csrf", &csrf),
            ("public", "true"),
            ("body", " "),
            ("status_id", &pending),
        ],
    );
    let refused = b.post(&path, &pairs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Write your reply before sending it."));
    assert!(refused.body.contains(&format!(
        r#"<option value="{pending}" selected>Pending (removes the internal owner)</option>"#
    )));
    // Stale: a colleague changed the priority; nothing is saved and both are said.
    let r = app
        .patch(
            &admin.token,
            &format!("/tickets/{id}"),
            json!({"priority": "high"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let csrf = page.csrf();
    let form = reply_form(
        &page,
        id,
        &[
            ("_csrf", &csrf),
            ("public", "true"),
            ("body", "Finance is on it."),
            ("status_id", &pending),
        ],
    );
    let stale = b.post(&path, &pairs(&form)).await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stale.body.contains(r#"id="reply-conflict""#),
        "{}",
        stale.body
    );
    assert!(stale.body.contains("Priority: Normal → High"));
    assert!(stale.body.contains("You had chosen: Status Pending"));
    assert!(stale.body.contains(">Finance is on it.</textarea>"));
    let comments = app.get(&a.token, &format!("/tickets/{id}/comments")).await;
    assert_eq!(comments.body["items"].as_array().unwrap().len(), 1);
    // Sent again from the refreshed form: the reply and the status, one submit.
    let csrf = stale.csrf();
    let form = reply_form(
        &stale,
        id,
        &[
            ("_csrf", &csrf),
            ("public", "true"),
            ("body", "Finance is on it."),
            ("status_id", &pending),
        ],
    );
    let sent = b.post(&path, &pairs(&form)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.location.as_deref(),
        Some(format!("/agent/tickets/{id}?done=reply_status#conversation").as_str())
    );
    let t = app.get(&a.token, &format!("/tickets/{id}")).await;
    assert_eq!(t.body["status"], "Pending");
    assert_eq!(t.body["priority"], "high");
    assert_eq!(t.body["internal_group_id"], serde_json::Value::Null);
    let shown = b
        .get(&format!("/agent/tickets/{id}?done=reply_status"))
        .await;
    assert!(
        shown
            .body
            .contains("Public reply sent; the status is now Pending.")
    );
    assert!(
        shown
            .body
            .contains("Why: internal owner removed because the status changed")
    );
}

async fn a_customer_marks_their_own_request_solved_and_reads_errors_in_words(app: TestApp) {
    let org = organization(&app, "Acme").await;
    let c = customer(&app, &[org]).await;
    let colleague = customer(&app, &[org]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&c.email).await;
    let f = b.get("/portal/requests/new").await;
    let bad = b
        .post(
            "/portal/requests",
            &[("_csrf", &f.csrf()), ("subject", ""), ("description", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.body.contains("must not be empty"), "{}", bad.body);
    assert!(bad.body.contains(
        r#"<p class="field-error" id="subject-error">Write a subject: a few words about what you need.</p>"#
    ));
    assert!(bad.body.contains(
        r##"<a href="#description">Tell us how we can help: describe what you need.</a>"##
    ));
    let sent = b
        .post(
            "/portal/requests",
            &[
                ("_csrf", &f.csrf()),
                ("subject", "Cannot print"),
                ("description", "The printer says offline."),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let to = sent.location.unwrap();
    assert!(
        to.starts_with("/portal/requests/") && to.ends_with("?done=created"),
        "{to}"
    );
    let id: i64 = to
        .trim_start_matches("/portal/requests/")
        .trim_end_matches("?done=created")
        .parse()
        .unwrap();
    let page = b.get(&to).await;
    assert!(page.body.contains("Your request was sent."));
    assert!(page.body.contains(r#"id="solve-form""#));
    // An agent answers while she reads: the page she read is out of date, so it is not
    // marked solved before she has seen the change.
    let a = agent(&app, TicketScope::Global).await;
    let r = app
        .patch(
            &a.token,
            &format!("/tickets/{id}"),
            json!({"priority": "high"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let old_version = hidden_in(
        &page.body,
        &format!("/portal/requests/{id}/solve"),
        "version",
    );
    let stale = b
        .post(
            &format!("/portal/requests/{id}/solve"),
            &[("_csrf", &page.csrf()), ("version", &old_version)],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stale
            .body
            .contains("This request changed while you were reading it."),
        "{}",
        stale.body
    );
    let t = app.get(&c.token, &format!("/tickets/{id}")).await;
    assert_eq!(t.body["status_category"], "open");
    let page = stale;
    let solved = b
        .post(
            &format!("/portal/requests/{id}/solve"),
            &[
                ("_csrf", &page.csrf()),
                (
                    "version",
                    &hidden_in(
                        &page.body,
                        &format!("/portal/requests/{id}/solve"),
                        "version",
                    ),
                ),
            ],
        )
        .await;
    assert_eq!(solved.status, StatusCode::SEE_OTHER, "{}", solved.body);
    let t = app.get(&c.token, &format!("/tickets/{id}")).await;
    assert_eq!(t.body["status_category"], "resolved");
    let page = b.get(&format!("/portal/requests/{id}?done=solved")).await;
    assert!(page.body.contains("Your request is marked as solved."));
    assert!(!page.body.contains(r#"id="solve-form""#));
    // A colleague's request (shared read+write) has no button, and posting is refused.
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_write' WHERE id = {org}"
    ))
    .await;
    let theirs = app
        .ticket(&colleague.token, json!({"subject": "Colleague's VPN"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let page = b.get(&format!("/portal/requests/{theirs}")).await;
    assert!(!page.body.contains(r#"id="solve-form""#));
    let refused = b
        .post(
            &format!("/portal/requests/{theirs}/solve"),
            &[("_csrf", &page.csrf())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let t = app
        .get(&colleague.token, &format!("/tickets/{theirs}"))
        .await;
    assert_eq!(t.body["status_category"], "open");
}

on_both_databases!(
    files_attached_to_replies_and_notes_are_listed_under_each_comment,
    a_file_over_the_limit_is_refused_and_adds_no_comment,
    admins_change_a_mail_template_and_put_the_built_in_one_back,
    incoming_mail_is_listed_in_words_and_its_original_can_be_opened,
    admins_see_outgoing_mail_and_send_a_failed_message_again,
    staff_required_to_use_two_factor_sign_in_set_it_up_before_anything_else,
    search_shows_each_person_only_what_the_policy_lets_them_match,
    a_view_keeps_an_order_only_when_saved_on_purpose,
    the_organization_editor_creates_edits_blocks_and_changes_members,
    the_group_editor_creates_renames_and_changes_members,
    the_user_editor_creates_edits_suspends_and_deletes,
    the_rules_editor_shows_errors_warnings_and_a_simulation,
    the_sharing_panel_lists_every_failed_pre_check_and_then_runs_the_workflow,
    admin_forms_show_validation_errors_and_save,
    signing_in_through_the_form_sets_the_session_cookie_and_signing_out_ends_it,
    a_form_post_without_the_right_csrf_token_is_refused_and_changes_nothing,
    a_read_only_member_sees_a_colleagues_request_without_a_reply_box,
    a_private_note_never_appears_in_the_portal,
    a_ticket_out_of_scope_answers_404_on_every_page,
    form_validation_errors_are_shown_next_to_the_fields,
    an_agent_sets_shared_ownership_and_the_timeline_says_why_it_was_removed,
    organization_and_admin_pages_show_members_notes_statuses_and_groups,
    a_reply_sets_the_status_in_the_same_submit_without_javascript,
    a_customer_marks_their_own_request_solved_and_reads_errors_in_words,
);
