use ferrodesk_app::dto::UserIn;
use ferrodesk_core::Role;
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases, user_in};
use serde_json::json;

async fn user_with_password(app: &TestApp, role: Role) -> (String, i64) {
    let input = UserIn {
        password: Some("correct horse battery".into()),
        ..user_in("Pat", role)
    };
    let email = input.email.clone();
    let u = app.make_user(input).await;
    (email, u.id)
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> ferrodesk_testkit::Answer {
    app.raw(
        |c, url| {
            c.post(url)
                .json(&json!({"email": email, "password": password}))
        },
        "/auth/login",
    )
    .await
}

async fn password_sign_in_sets_a_session_cookie_that_authenticates_api_calls(app: TestApp) {
    let (email, id) = user_with_password(&app, Role::Agent).await;
    let a = sign_in(&app, &email.to_uppercase(), "correct horse battery").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["id"], id);
    let cookie = a.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = app
        .raw(|c, url| c.get(url).header("Cookie", &session), "/me")
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], email);
    let out = app
        .raw(
            |c, url| c.post(url).header("Cookie", &session),
            "/auth/logout",
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app
        .raw(|c, url| c.get(url).header("Cookie", &session), "/me")
        .await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "the session ended with sign-out"
    );
}

async fn wrong_password_and_unknown_email_are_refused_alike(app: TestApp) {
    let (email, _) = user_with_password(&app, Role::Agent).await;
    let wrong = sign_in(&app, &email, "not the password").await;
    let unknown = sign_in(&app, "nobody@example.com", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.headers.get("set-cookie").is_none());
}

async fn requests_without_credentials_get_a_401_problem(app: TestApp) {
    let a = app.raw(|c, url| c.get(url), "/tickets").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.headers["content-type"], "application/problem+json");
    assert_eq!(a.body["code"], "unauthenticated");
    let bad = app.get("not-a-token", "/me").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

async fn a_token_created_through_the_api_authenticates_its_user(app: TestApp) {
    let agent = app.agent(ferrodesk_core::TicketScope::Global, &[]).await;
    let a = app
        .post(&agent.token, "/tokens", json!({"name": "laptop"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let token = a.body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let me = app.get(&token, "/me").await;
    assert_eq!(me.body["id"], agent.id);
}

async fn suspending_a_user_stops_their_tokens_and_sessions_at_once(app: TestApp) {
    let admin = app.admin().await;
    let (email, id) = user_with_password(&app, Role::Agent).await;
    let token = app
        .app
        .issue_token(
            ferrodesk_core::UserId(id),
            "t",
            ferrodesk_app::Actor::system(ferrodesk_core::Channel::Cli),
        )
        .await
        .unwrap()
        .token;
    let session = sign_in(&app, &email, "correct horse battery").await.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(app.get(&token, "/me").await.status, StatusCode::OK);
    let s = app
        .patch(
            &admin.token,
            &format!("/users/{id}"),
            json!({"suspended": true}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(
        app.get(&token, "/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let me = app
        .raw(|c, url| c.get(url).header("Cookie", &session), "/me")
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, &email, "correct horse battery").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_cookie_authenticated_write_from_another_site_is_refused(app: TestApp) {
    let (email, _) = user_with_password(&app, Role::Admin).await;
    let session = sign_in(&app, &email, "correct horse battery").await.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let a = app
        .raw(
            |c, url| {
                c.post(url)
                    .header("Cookie", &session)
                    .header("Origin", "https://evil.example")
                    .json(&json!({"name": "Evil"}))
            },
            "/groups",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["code"], "csrf");
    let admin = app.admin().await;
    assert_eq!(
        app.get(&admin.token, "/groups").await.body["items"],
        json!([]),
        "nothing was created"
    );
}

on_both_databases!(
    password_sign_in_sets_a_session_cookie_that_authenticates_api_calls,
    wrong_password_and_unknown_email_are_refused_alike,
    requests_without_credentials_get_a_401_problem,
    a_token_created_through_the_api_authenticates_its_user,
    suspending_a_user_stops_their_tokens_and_sessions_at_once,
    a_cookie_authenticated_write_from_another_site_is_refused,
);
