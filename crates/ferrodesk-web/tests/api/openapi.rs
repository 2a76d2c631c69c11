#[test]
fn the_openapi_document_describes_every_route() {
    let doc = serde_json::to_value(ferrodesk_web::openapi()).unwrap();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/organizations",
        "/api/v1/organizations/{id}",
        "/api/v1/organizations/{id}/members/{user_id}",
        "/api/v1/groups",
        "/api/v1/groups/{id}/members/{user_id}",
        "/api/v1/statuses",
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/comments",
        "/api/v1/tickets/{id}/events",
        "/api/v1/tickets/{id}/access",
        "/api/v1/access/explain",
        "/api/v1/organizations/{id}/sharing-changes",
        "/api/v1/organizations/{id}/sharing-preview",
        "/api/v1/sharing-register",
        "/api/v1/settings",
    ] {
        assert!(
            paths.iter().any(|k| *k == p),
            "{p} is missing from {paths:?}"
        );
    }
    insta::assert_json_snapshot!("openapi", doc);
}
