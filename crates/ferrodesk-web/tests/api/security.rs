//! SPEC §3.4 and §8: who may change whom in the directory (a user record is a key to
//! tickets), sign-in lockout, credentials that end when the keys change, rate limits, and the
//! headers every API answer carries.

use std::time::Duration;

use ferrodesk_app::dto::UserIn;
use ferrodesk_core::{Role, TicketScope, UserAccess};
use ferrodesk_testkit::{
    Answer, Backend, StatusCode, TestApp, TestUser, on_both_databases, user_in,
};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn with_password(app: &TestApp, input: UserIn) -> (TestUser, String) {
    let input = UserIn {
        password: Some(PASSWORD.into()),
        ..input
    };
    let email = input.email.clone();
    (app.make_user(input).await, email)
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Answer {
    app.raw(
        |c, url| {
            c.post(url)
                .json(&json!({"email": email, "password": password}))
        },
        "/auth/login",
    )
    .await
}

fn session_of(a: &Answer) -> String {
    a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn me_with_cookie(app: &TestApp, cookie: &str) -> StatusCode {
    app.raw(|c, url| c.get(url).header("Cookie", cookie), "/me")
        .await
        .status
}

/// The organization "Acme" sharing read only, with one customer and 20 tickets of hers; an
/// assigned-scope agent who sees none of them.
async fn acme(app: &TestApp) -> (TestUser, i64, TestUser) {
    let admin = app.admin().await;
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let alice = app.end_user(&[org], UserAccess::Requested).await;
    for i in 0..20 {
        app.ticket(&alice.token, json!({"subject": format!("Acme ticket {i}")}))
            .await;
    }
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_only' WHERE id = {org}"
    ))
    .await;
    let agent = app.agent(TicketScope::Assigned, &[]).await;
    (admin, org, agent)
}

async fn an_agent_cannot_open_an_organizations_tickets_by_creating_a_customer(app: TestApp) {
    let (admin, org, agent) = acme(&app).await;
    let before = app.scalar("SELECT COUNT(*) FROM users").await;
    // The escape found in review: a new customer with organization access…
    let a = app
        .post(&agent.token, "/users", json!({"role": "end_user", "name": "Mallory", "email": "m@acme.example", "password": "tangerine kettle drum", "organization_ids": [org], "access": "organization"}))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let mut fields = a.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["access", "organization_ids"]);
    // …or merely a membership of a sharing organization.
    let b = app
        .post(&agent.token, "/users", json!({"role": "end_user", "name": "Mallory", "email": "m@acme.example", "organization_ids": [org]}))
        .await;
    assert_eq!(b.error_fields(), vec!["organization_ids"]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users").await,
        before,
        "nothing created"
    );
    // Customers without organizations stay the agent's everyday act.
    let c = app
        .post(
            &agent.token,
            "/users",
            json!({"role": "end_user", "name": "New Customer", "email": "new@example.com"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    // A global agent sees every Acme ticket already: they may add Acme customers.
    let global = app.agent(TicketScope::Global, &[]).await;
    let d = app
        .post(&global.token, "/users", json!({"role": "end_user", "name": "Bob", "email": "bob@acme.example", "organization_ids": [org]}))
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
    // Admins may do it all, and it is audited.
    let e = app
        .post(&admin.token, "/users", json!({"role": "end_user", "name": "Carol", "email": "carol@acme.example", "organization_ids": [org], "access": "organization"}))
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
}

/// Every directory act by every kind of actor on an existing customer: allowed or refused
/// exactly as SPEC §3.4 says.
async fn directory_writes_follow_one_policy_for_every_actor(app: TestApp) {
    let (admin, org, assigned) = acme(&app).await;
    let global = app.agent(TicketScope::Global, &[]).await;
    let group = app.agent(TicketScope::Group, &[]).await;
    let acts: Vec<(&str, Value)> = vec![
        ("rename", json!({"name": "Renamed"})),
        ("email", json!({"email": "changed@example.com"})),
        ("password", json!({"password": "tangerine kettle drum"})),
        ("grant access", json!({"access": "organization"})),
        ("revoke access", json!({"access": "requested"})),
        ("suspend", json!({"suspended": true})),
    ];
    // (actor, act) → allowed?
    let allowed = |actor: &str, act: &str| match (actor, act) {
        ("admin", _) => true,
        ("self", "rename" | "email" | "password") => true,
        ("self", _) => false,
        ("colleague", _) => false,
        (_, "rename" | "revoke access") => true,
        _ => false,
    };
    for (act, body) in &acts {
        for actor in [
            "admin",
            "global agent",
            "group agent",
            "assigned agent",
            "self",
            "colleague",
        ] {
            let customer = app.end_user(&[org], UserAccess::Requested).await;
            let colleague = app.end_user(&[org], UserAccess::Requested).await;
            let token = match actor {
                "admin" => &admin.token,
                "global agent" => &global.token,
                "group agent" => &group.token,
                "assigned agent" => &assigned.token,
                "self" => &customer.token,
                _ => &colleague.token,
            };
            let mut body = body.clone();
            if body.get("email").is_some() {
                body["email"] = json!(format!("changed-{}@example.com", customer.id));
            }
            let a = app
                .patch(token, &format!("/users/{}", customer.id), body)
                .await;
            let expected = allowed(actor, act);
            if expected {
                assert_eq!(a.status, StatusCode::OK, "{actor} may {act}: {}", a.body);
            } else {
                assert!(
                    a.status == StatusCode::UNPROCESSABLE_ENTITY
                        || a.status == StatusCode::NOT_FOUND,
                    "{actor} may not {act}: {} {}",
                    a.status,
                    a.body
                );
                let after = app
                    .get(&admin.token, &format!("/users/{}", customer.id))
                    .await
                    .body;
                assert_eq!(after["name"], "Customer", "{actor} {act} changed nothing");
                assert_eq!(after["access"], "requested");
                assert_eq!(after["suspended"], false);
            }
        }
    }
    // Memberships are admins' alone.
    let other = app.end_user(&[], UserAccess::Requested).await;
    for token in [&global.token, &assigned.token] {
        let a = app
            .put(token, &format!("/organizations/{org}/members/{}", other.id))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    let a = app
        .put(
            &admin.token,
            &format!("/organizations/{org}/members/{}", other.id),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

async fn a_new_password_or_email_ends_every_other_session_and_token(app: TestApp) {
    let admin = app.admin().await;
    let (pat, email) = with_password(&app, user_in("Pat", Role::Agent)).await;
    let laptop = session_of(&sign_in(&app, &email, PASSWORD).await);
    let phone = session_of(&sign_in(&app, &email, PASSWORD).await);
    // Pat changes the password from the laptop: the phone and the API token stop working.
    let changed = app
        .raw(
            |c, url| {
                c.patch(url)
                    .header("Cookie", &laptop)
                    .json(&json!({"password": "tangerine kettle drum"}))
            },
            &format!("/users/{}", pat.id),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(me_with_cookie(&app, &laptop).await, StatusCode::OK);
    assert_eq!(me_with_cookie(&app, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(&pat.token, "/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // An admin changes Pat's email: every session ends, the admin's own stays.
    let a = app
        .patch(
            &admin.token,
            &format!("/users/{}", pat.id),
            json!({"email": "pat.new@example.com"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        me_with_cookie(&app, &laptop).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&admin.token, "/me").await.status, StatusCode::OK);
    // Suspension ends everything for good: unsuspending revives nothing.
    let again = session_of(&sign_in(&app, "pat.new@example.com", "tangerine kettle drum").await);
    app.patch(
        &admin.token,
        &format!("/users/{}", pat.id),
        json!({"suspended": true}),
    )
    .await;
    app.patch(
        &admin.token,
        &format!("/users/{}", pat.id),
        json!({"suspended": false}),
    )
    .await;
    assert_eq!(me_with_cookie(&app, &again).await, StatusCode::UNAUTHORIZED);
}

async fn five_wrong_passwords_lock_the_account_until_an_admin_lifts_it(app: TestApp) {
    let admin = app.admin().await;
    let (pat, email) = with_password(&app, user_in("Pat", Role::EndUser)).await;
    for i in 1..=5 {
        let a = sign_in(&app, &email, "not the password at all").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Locked: even the right password is refused, with a time to come back.
    let locked = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert_eq!(locked.body["code"], "account_locked");
    assert!(
        locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 60
    );
    let events = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'user' AND entity_id = {} AND action = 'sign_in_failed'",
            pat.id
        ))
        .await;
    assert_eq!(events, 5, "every failed sign-in is in the audit trail");
    // Only admins lift it.
    assert_eq!(
        app.delete(&pat.token, &format!("/users/{}/lockout", pat.id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&admin.token, &format!("/users/{}/lockout", pat.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let ok = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let signed_in = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity_id = {} AND action IN ('signed_in', 'unlocked')",
            pat.id
        ))
        .await;
    assert_eq!(signed_in, 2);
}

async fn sign_in_from_another_site_is_refused_and_api_answers_carry_security_headers(app: TestApp) {
    let (_, email) = with_password(&app, user_in("Pat", Role::Agent)).await;
    let cross = app
        .raw(
            |c, url| {
                c.post(url)
                    .header("Origin", "https://evil.example")
                    .json(&json!({"email": email, "password": PASSWORD}))
            },
            "/auth/login",
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(cross.headers.get("set-cookie").is_none());
    let ok = sign_in(&app, &email, PASSWORD).await;
    assert!(
        !ok.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    for a in [&cross, &ok] {
        assert_eq!(a.headers["x-content-type-options"], "nosniff");
        assert_eq!(a.headers["cache-control"], "no-store");
        assert!(a.headers.get("access-control-allow-origin").is_none());
    }
    // Behind https, the session cookie is Secure.
    let admin = app.admin().await;
    app.patch(
        &admin.token,
        "/settings",
        json!({"public_base_url": "https://desk.example.com"}),
    )
    .await;
    let secure = sign_in(&app, &email, PASSWORD).await;
    assert!(
        secure.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

async fn weak_passwords_are_refused(app: TestApp) {
    let admin = app.admin().await;
    for (pw, code) in [
        ("password", "too_short"),
        ("12345678", "too_short"),
        ("password1234", "too_common"),
        ("aaaaaaaaaaaaaaaa", "too_common"),
    ] {
        let a = app
            .post(
                &admin.token,
                "/users",
                json!({"name": "Weak", "email": "weak@example.com", "password": pw}),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{pw}");
        assert_eq!(a.body["errors"][0]["code"], code, "{pw}");
    }
}

async fn tokens_are_listed_revoked_and_expire(app: TestApp) {
    let admin = app.admin().await;
    let pat = app.agent(TicketScope::Global, &[]).await;
    let made = app
        .post(
            &pat.token,
            "/tokens",
            json!({"name": "CI deploy", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let ci = made.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&ci, "/me").await.status, StatusCode::OK);
    let listed = app.get(&pat.token, "/tokens").await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["CI deploy", "test"]);
    let ci_row = &listed.body[0];
    assert!(ci_row.get("token").is_none(), "the secret is never listed");
    assert!(ci_row["expires_at"].as_str().unwrap().starts_with('2'));
    assert!(ci_row["last_used_at"].is_string(), "{ci_row}");
    let ci_id = ci_row["id"].as_i64().unwrap();
    assert_eq!(
        app.post(&pat.token, "/tokens", json!({"expires_in_days": 0}))
            .await
            .error_fields(),
        vec!["expires_in_days"]
    );
    // Past its expiry a token stops working.
    app.execute_sql(&format!(
        "UPDATE api_tokens SET expires_at = 1 WHERE id = {ci_id}"
    ))
    .await;
    assert_eq!(app.get(&ci, "/me").await.status, StatusCode::UNAUTHORIZED);
    // Someone else's token cannot be revoked (it does not exist for them)…
    let other = app.agent(TicketScope::Global, &[]).await;
    let theirs = app
        .post(&other.token, "/tokens", json!({"name": "theirs"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.delete(&pat.token, &format!("/tokens/{theirs}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // …one's own can, and admins revoke anyone's.
    assert_eq!(
        app.delete(&pat.token, &format!("/tokens/{ci_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&admin.token, &format!("/users/{}/tokens", other.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&other.token, "/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let revoked = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'token_revoked' AND entity_id IN ({}, {})",
            pat.id, other.id
        ))
        .await;
    assert_eq!(revoked, 2);
}

async fn a_session_unused_for_the_idle_period_ends(app: TestApp) {
    let (_, email) = with_password(&app, user_in("Pat", Role::Agent)).await;
    let cookie = session_of(&sign_in(&app, &email, PASSWORD).await);
    assert_eq!(me_with_cookie(&app, &cookie).await, StatusCode::OK);
    // Nine hours without a request (the default idle period is eight).
    let nine_hours = 9 * 3600 * 1_000_000i64;
    app.execute_sql(&format!(
        "UPDATE sessions SET last_seen_at = last_seen_at - {nine_hours}, created_at = created_at - {nine_hours}"
    ))
    .await;
    assert_eq!(
        me_with_cookie(&app, &cookie).await,
        StatusCode::UNAUTHORIZED
    );
    // Signing out ends the session on the server too.
    let fresh = session_of(&sign_in(&app, &email, PASSWORD).await);
    let out = app
        .raw(
            |c, url| c.post(url).header("Cookie", &fresh),
            "/auth/logout",
        )
        .await;
    assert!(out.status.is_success());
    assert_eq!(me_with_cookie(&app, &fresh).await, StatusCode::UNAUTHORIZED);
}

async fn look_alike_addresses_are_refused_and_search_confirms_no_one_elses(app: TestApp) {
    let admin = app.admin().await;
    let org = app
        .post(&admin.token, "/organizations", json!({"name": "Acme"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let ace = app
        .post(
            &admin.token,
            "/users",
            json!({"name": "Ace", "email": "ace@acme.example", "organization_ids": [org]}),
        )
        .await;
    assert_eq!(ace.status, StatusCode::CREATED);
    for (email, code) in [
        // Fullwidth letters are the same address once normalised.
        ("\u{ff41}ce@acme.example", "taken"),
        // A Cyrillic а among Latin letters.
        ("\u{430}ce@acme.example", "mixed_scripts"),
        // All Cyrillic, looking exactly like ace@.
        ("\u{430}\u{441}\u{435}@acme.example", "looks_like_existing"),
    ] {
        let a = app
            .post(
                &admin.token,
                "/users",
                json!({"name": "Impostor", "email": email}),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        assert_eq!(a.body["errors"][0]["code"], code, "{email}: {}", a.body);
    }
    // A colleague of the same shared organization sees Ace's tickets, but searching by Ace's
    // address does not tell her whose address it is.
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_only' WHERE id = {org}"
    ))
    .await;
    let ace_id = ace.body["id"].as_i64().unwrap();
    app.ticket(
        &admin.token,
        json!({"requester_id": ace_id, "organization_id": org}),
    )
    .await;
    let colleague = app.end_user(&[org], UserAccess::Requested).await;
    let visible = app.get(&colleague.token, "/tickets").await.ids();
    assert_eq!(visible.len(), 1, "the colleague sees Ace's ticket");
    let by_email = app
        .get(&colleague.token, "/search?q=requester:ace@acme.example")
        .await;
    assert_eq!(by_email.status, StatusCode::OK);
    assert!(by_email.ids().is_empty(), "{}", by_email.body);
    let by_id = app
        .get(&colleague.token, &format!("/search?q=requester:{ace_id}"))
        .await;
    assert!(by_id.ids().is_empty());
    // Agents search by address as before.
    assert_eq!(
        app.get(&admin.token, "/search?q=requester:ace@acme.example")
            .await
            .ids(),
        visible
    );
}

async fn an_agent_an_admin_trusts_manages_memberships_and_it_is_audited(app: TestApp) {
    let (admin, org, agent) = acme(&app).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    let member = format!("/organizations/{org}/members/{}", customer.id);
    assert_eq!(
        app.put(&agent.token, &member).await.status,
        StatusCode::FORBIDDEN
    );
    // Agents cannot give themselves the permission; admins can give it.
    let own = app
        .patch(
            &agent.token,
            &format!("/users/{}", agent.id),
            json!({"manages_memberships": true}),
        )
        .await;
    assert_eq!(own.error_fields(), vec!["manages_memberships"]);
    let granted = app
        .patch(
            &admin.token,
            &format!("/users/{}", agent.id),
            json!({"manages_memberships": true}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert_eq!(granted.body["manages_memberships"], true);
    // Now the agent adds the customer, grants access, and creates one with both.
    assert_eq!(app.put(&agent.token, &member).await.status, StatusCode::OK);
    let access = app
        .patch(
            &agent.token,
            &format!("/users/{}", customer.id),
            json!({"access": "organization"}),
        )
        .await;
    assert_eq!(access.status, StatusCode::OK, "{}", access.body);
    let created = app
        .post(&agent.token, "/users", json!({"name": "Dana", "email": "dana@acme.example", "organization_ids": [org], "access": "organization"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let by_agent = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE actor_id = {} AND action IN ('membership_added', 'updated', 'created') AND entity_type = 'user'",
            agent.id
        ))
        .await;
    assert_eq!(
        by_agent, 3,
        "each act is in the audit trail under the agent's name"
    );
    // Withdrawn, the permission is gone at once.
    app.patch(
        &admin.token,
        &format!("/users/{}", agent.id),
        json!({"manages_memberships": false}),
    )
    .await;
    assert_eq!(
        app.delete(&agent.token, &member).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The current code of an authenticator app holding `secret` (base32).
fn app_code(secret: &str, offset_secs: i64) -> String {
    let key = ferrodesk_core::totp::base32_decode(secret).unwrap();
    ferrodesk_core::totp::code_at(&key, jiff::Timestamp::now().as_second() + offset_secs)
}

async fn two_factor_sign_in_asks_for_a_code_once_it_is_on(app: TestApp) {
    let admin = app.admin().await;
    let (pat, email) = with_password(&app, user_in("Pat", Role::Agent)).await;
    // Set up: a secret for the app; nothing changes until a code confirms it.
    let setup = app.post(&pat.token, "/me/two-factor", json!({})).await;
    assert_eq!(setup.status, StatusCode::CREATED, "{}", setup.body);
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    assert!(
        setup.body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Ferrodesk:")
    );
    assert_eq!(sign_in(&app, &email, PASSWORD).await.status, StatusCode::OK);
    let wrong = app
        .post(
            &pat.token,
            "/me/two-factor/enable",
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(wrong.error_fields(), vec!["code"]);
    // A code from a step ago enables it (clock drift allowed), and gives recovery codes.
    let on = app
        .post(
            &pat.token,
            "/me/two-factor/enable",
            json!({"code": app_code(&secret, -30)}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let recovery: Vec<String> = on.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // The password alone is no longer enough, and says what is missing.
    let asked = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(asked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(asked.body["code"], "two_factor_required");
    assert!(asked.headers.get("set-cookie").is_none());
    let with_code = |code: String| {
        let email = email.clone();
        let app = &app;
        async move {
            app.raw(
                |c, url| {
                    c.post(url)
                        .json(&json!({"email": email, "password": PASSWORD, "code": code}))
                },
                "/auth/login",
            )
            .await
        }
    };
    // The current code works once (replay refused); a recovery code works once.
    let now_code = app_code(&secret, 0);
    assert_eq!(with_code(now_code.clone()).await.status, StatusCode::OK);
    assert_eq!(with_code(now_code).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_code(recovery[0].clone()).await.status, StatusCode::OK);
    assert_eq!(
        with_code(recovery[0].clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A new API token asks for a code too.
    let token = app
        .post(&pat.token, "/tokens", json!({"name": "laptop"}))
        .await;
    assert_eq!(token.body["code"], "two_factor_required");
    let token = app
        .post(
            &pat.token,
            "/tokens",
            json!({"name": "laptop", "code": recovery[1]}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
    // An admin turns it off for a lost phone; audited both ways.
    assert_eq!(
        app.delete(&admin.token, &format!("/users/{}/two-factor", pat.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sign_in(&app, &email, PASSWORD).await.status, StatusCode::OK);
    let events = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity_id = {} AND action IN ('two_factor_enabled', 'two_factor_disabled')",
            pat.id
        ))
        .await;
    assert_eq!(events, 2);
}

/// Turns on two-factor sign-in for `user` through the API; gives its secret.
async fn turn_on_two_factor(app: &TestApp, token: &str) -> String {
    let setup = app.post(token, "/me/two-factor", json!({})).await;
    assert_eq!(setup.status, StatusCode::CREATED, "{}", setup.body);
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let on = app
        .post(
            token,
            "/me/two-factor/enable",
            json!({"code": app_code(&secret, 0)}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    secret
}

/// The admin (`token`) turns on their own two-factor sign-in and requires it of all staff.
async fn require_two_factor_of_staff(app: &TestApp, token: &str) -> Answer {
    turn_on_two_factor(app, token).await;
    let on = app
        .patch(
            token,
            "/settings",
            json!({"require_two_factor_for_staff": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    on
}

async fn required_two_factor_confines_staff_to_setting_it_up(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.agent(TicketScope::Global, &[]).await;
    let customer = app.end_user(&[], UserAccess::Requested).await;
    // An admin who does not use it cannot require it of others.
    let refused = app
        .patch(
            &admin.token,
            "/settings",
            json!({"require_two_factor_for_staff": true}),
        )
        .await;
    assert_eq!(refused.error_fields(), vec!["require_two_factor_for_staff"]);
    assert_eq!(
        app.get(&agent.token, "/tickets").await.status,
        StatusCode::OK
    );
    let on = require_two_factor_of_staff(&app, &admin.token).await;
    assert_eq!(on.body["require_two_factor_for_staff"], true);

    // The agent without it may only see who they are, set it up, or sign out.
    let blocked = app.get(&agent.token, "/tickets").await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.body["code"], "two_factor_setup_required");
    assert_eq!(
        app.post(&agent.token, "/tokens", json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&agent.token, "/me").await.status, StatusCode::OK);
    let status = app.get(&agent.token, "/me/two-factor").await;
    assert_eq!(status.body["enabled"], false);
    assert_eq!(status.body["required"], true);
    // Customers and admins who use it are not affected.
    assert_eq!(
        app.get(&customer.token, "/tickets").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&admin.token, "/tickets").await.status,
        StatusCode::OK
    );

    // Once set up, the agent works again, and cannot turn it off while it is required.
    let secret = turn_on_two_factor(&app, &agent.token).await;
    assert_eq!(
        app.get(&agent.token, "/tickets").await.status,
        StatusCode::OK
    );
    let off = app
        .post(
            &agent.token,
            "/me/two-factor/disable",
            json!({"code": app_code(&secret, 30)}),
        )
        .await;
    assert_eq!(off.status, StatusCode::CONFLICT, "{}", off.body);
    assert_eq!(off.body["code"], "two_factor_required_by_admin");
    // An admin's reset (lost phone) sends the agent back to set-up.
    assert_eq!(
        app.delete(&admin.token, &format!("/users/{}/two-factor", agent.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&agent.token, "/tickets").await.status,
        StatusCode::FORBIDDEN
    );
    // Lifting the requirement frees the agent; both changes are in the audit trail.
    let lifted = app
        .patch(
            &admin.token,
            "/settings",
            json!({"require_two_factor_for_staff": false}),
        )
        .await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.body);
    assert_eq!(
        app.get(&agent.token, "/tickets").await.status,
        StatusCode::OK
    );
    let events = app
        .scalar(
            "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'settings' \
             AND changes LIKE '%require_two_factor_for_staff%'",
        )
        .await;
    assert_eq!(events, 2);
}

/// What the server keeps between requests (a user's groups and organizations, the statuses,
/// the custom fields) is never served past a change — whether the change came through the
/// API or straight into the database (another instance, an operator), and on the very next
/// request.
async fn cached_directory_facts_never_outlive_a_change(app: TestApp) {
    let admin = app.admin().await;
    let g = app
        .post(&admin.token, "/groups", json!({"name": "Billing"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let agent = app.agent(TicketScope::Group, &[g]).await;
    let t = app.ticket(&admin.token, json!({"group_id": g})).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/tickets/{t}");
    // Twice: the second answer comes from what the first read left in the cache.
    for _ in 0..2 {
        assert_eq!(app.get(&agent.token, &path).await.status, StatusCode::OK);
    }
    app.execute_sql(&format!(
        "DELETE FROM group_members WHERE user_id = {} AND group_id = {g}",
        agent.id
    ))
    .await;
    assert_eq!(
        app.get(&agent.token, &path).await.status,
        StatusCode::NOT_FOUND,
        "out of the group, out of the ticket at once"
    );
    app.execute_sql(&format!(
        "INSERT INTO group_members (group_id, user_id, created_at) VALUES ({g}, {}, 0)",
        agent.id
    ))
    .await;
    assert_eq!(app.get(&agent.token, &path).await.status, StatusCode::OK);

    // An organization's sharing, changed underneath: a colleague's ticket follows it.
    let (_, org, _) = acme(&app).await;
    let bob = app.end_user(&[org], UserAccess::Requested).await;
    let listed = |a: &Answer| a.body["items"].as_array().map_or(0, Vec::len);
    assert_eq!(listed(&app.get(&bob.token, "/tickets").await), 20);
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'own_only' WHERE id = {org}"
    ))
    .await;
    assert_eq!(listed(&app.get(&bob.token, "/tickets").await), 0);

    // A status renamed underneath: the next answer names it so.
    let before = app.get(&admin.token, &path).await.body["status"].clone();
    assert_eq!(before, "Open");
    app.execute_sql("UPDATE statuses SET name = 'Opened' WHERE name = 'Open'")
        .await;
    assert_eq!(app.get(&admin.token, &path).await.body["status"], "Opened");
    let names: Vec<Value> = app.get(&admin.token, "/statuses").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert!(names.contains(&json!("Opened")), "{names:?}");
}

/// A ticket read checks who asks in its own statement: every change to the credential, the
/// user or their groups shows in the very next read, with everything the reads before left in
/// the cache.
async fn the_next_ticket_read_follows_every_change_to_who_asks(app: TestApp) {
    let admin = app.admin().await;
    let g = app
        .post(&admin.token, "/groups", json!({"name": "Billing"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let t = app.ticket(&admin.token, json!({"group_id": g})).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/tickets/{t}");
    let read = |token: String| {
        let (app, path) = (&app, &path);
        async move { app.get(&token, path).await.status }
    };
    let warm = |token: String| async move {
        for _ in 0..2 {
            assert_eq!(read(token.clone()).await, StatusCode::OK);
        }
    };
    // An admin's change to the user's record, made once their reads are warm; their next read.
    let read_after_patch = |user: TestUser, patch: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            warm(user.token.clone()).await;
            let r = app
                .patch(&admin.token, &format!("/users/{}", user.id), patch)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            read(user.token).await
        }
    };

    // A revoked token.
    let agent = app.agent(TicketScope::Global, &[]).await;
    let made = app
        .post(&agent.token, "/tokens", json!({"name": "ci"}))
        .await;
    let ci = made.body["token"].as_str().unwrap().to_owned();
    warm(ci.clone()).await;
    let revoked = app
        .delete(&agent.token, &format!("/tokens/{}", made.body["id"]))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(read(ci).await, StatusCode::UNAUTHORIZED, "revoked");

    // A session signed out.
    let (_, email) = with_password(&app, user_in("Sam", Role::Agent)).await;
    let session = session_of(&sign_in(&app, &email, PASSWORD).await);
    let read_with_cookie = || app.raw(|c, url| c.get(url).header("Cookie", &session), &path);
    for _ in 0..2 {
        assert_eq!(read_with_cookie().await.status, StatusCode::OK);
    }
    let out = app
        .raw(
            |c, url| c.post(url).header("Cookie", &session),
            "/auth/logout",
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        read_with_cookie().await.status,
        StatusCode::UNAUTHORIZED,
        "signed out"
    );

    // A suspended user.
    let agent = app.agent(TicketScope::Global, &[]).await;
    assert_eq!(
        read_after_patch(agent, json!({"suspended": true})).await,
        StatusCode::UNAUTHORIZED,
        "suspended"
    );

    // A new role: an admin made an agent who sees only tickets assigned to them.
    let other = app.admin().await;
    let demoted = json!({"role": "agent", "ticket_scope": "assigned"});
    assert_eq!(
        read_after_patch(other, demoted).await,
        StatusCode::NOT_FOUND,
        "an agent now"
    );

    // A narrower ticket scope.
    let agent = app.agent(TicketScope::Global, &[]).await;
    assert_eq!(
        read_after_patch(agent, json!({"ticket_scope": "assigned"})).await,
        StatusCode::NOT_FOUND,
        "assigned only"
    );

    // Out of the group the ticket belongs to.
    let agent = app.agent(TicketScope::Group, &[g]).await;
    warm(agent.token.clone()).await;
    let left = app
        .delete(&admin.token, &format!("/groups/{g}/members/{}", agent.id))
        .await;
    assert!(left.status.is_success(), "{}", left.body);
    assert_eq!(
        read(agent.token).await,
        StatusCode::NOT_FOUND,
        "out of the group"
    );

    // Two-factor sign-in required of staff who have not set it up.
    let agent = app.agent(TicketScope::Global, &[]).await;
    warm(agent.token.clone()).await;
    require_two_factor_of_staff(&app, &admin.token).await;
    let blocked = app.get(&agent.token, &path).await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.body["code"], "two_factor_setup_required");
}

on_both_databases!(
    the_next_ticket_read_follows_every_change_to_who_asks,
    cached_directory_facts_never_outlive_a_change,
    required_two_factor_confines_staff_to_setting_it_up,
    two_factor_sign_in_asks_for_a_code_once_it_is_on,
    an_agent_an_admin_trusts_manages_memberships_and_it_is_audited,
    look_alike_addresses_are_refused_and_search_confirms_no_one_elses,
    tokens_are_listed_revoked_and_expire,
    a_session_unused_for_the_idle_period_ends,
    an_agent_cannot_open_an_organizations_tickets_by_creating_a_customer,
    directory_writes_follow_one_policy_for_every_actor,
    a_new_password_or_email_ends_every_other_session_and_token,
    five_wrong_passwords_lock_the_account_until_an_admin_lifts_it,
    sign_in_from_another_site_is_refused_and_api_answers_carry_security_headers,
    weak_passwords_are_refused,
);

/// Rate limits, per credential and per address, with their headers (small quotas so that
/// the test reaches them; the counters are per process, whatever the database).
mod rate_limits {
    use super::*;

    fn limits(per_credential: u32, per_address: u32) -> ferrodesk_web::server::Limits {
        ferrodesk_web::server::Limits {
            rates: ferrodesk_web::ratelimit::Rates {
                per_credential,
                per_address,
                logins_per_address_minute: 3,
            },
            ..ferrodesk_web::server::Limits::default()
        }
    }

    async fn over_the_limit_answers_429_with_retry_after(backend: Backend) {
        let app = TestApp::spawn_with_limits(backend, limits(5, 1000)).await;
        let admin = app.admin().await;
        let first = app.get(&admin.token, "/me").await;
        assert_eq!(first.headers["ratelimit-limit"], "10");
        assert_eq!(first.headers["ratelimit-remaining"], "9");
        let mut refused = None;
        // 10 at once plus 5 a second: 40 quick requests reach the limit even on a busy machine.
        for _ in 0..40 {
            let a = app.get(&admin.token, "/me").await;
            if a.status == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(a);
                break;
            }
        }
        let refused = refused.expect("quick requests past the burst are refused");
        assert_eq!(refused.body["code"], "rate_limited");
        let wait: u64 = refused.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
        // Another credential has its own allowance.
        let other = app.admin().await;
        assert_eq!(app.get(&other.token, "/me").await.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(app.get(&admin.token, "/me").await.status, StatusCode::OK);

        // The vendor APIs: the same allowance, their own headers and 429 shapes; a let-through
        // answer never carries Retry-After (node-zendesk takes any such answer for a 429).
        for (path, header, body_key, body_value) in [
            (
                "/zendesk/api/v2/users/me.json",
                "x-rate-limit-remaining",
                "error",
                "APIRateLimitExceeded",
            ),
            (
                "/freshdesk/api/v2/agents/me",
                "x-ratelimit-remaining",
                "code",
                "rate_limited",
            ),
        ] {
            let vendor_user = app.admin().await;
            let mut refused = None;
            for _ in 0..40 {
                let a = app
                    .raw_at(|c, url| c.get(url).bearer_auth(&vendor_user.token), path)
                    .await;
                if a.status == StatusCode::TOO_MANY_REQUESTS {
                    refused = Some(a);
                    break;
                }
                assert!(a.headers.contains_key(header), "{path}: {:?}", a.headers);
                assert!(!a.headers.contains_key("retry-after"), "{path}");
            }
            let refused = refused.expect("quick vendor requests past the burst are refused");
            assert_eq!(refused.body[body_key], body_value, "{path}");
            assert!(refused.headers.contains_key("retry-after"), "{path}");
        }

        // Sign-in attempts per address: the 4th within a minute waits.
        for _ in 0..3 {
            assert_eq!(
                sign_in(&app, "nobody@example.com", "whatever it is")
                    .await
                    .status,
                StatusCode::UNAUTHORIZED
            );
        }
        let a = sign_in(&app, "nobody@example.com", "whatever it is").await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            a.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_over_the_limit_answers_429_with_retry_after() {
        over_the_limit_answers_429_with_retry_after(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_over_the_limit_answers_429_with_retry_after() {
        over_the_limit_answers_429_with_retry_after(Backend::Postgres).await
    }
}
