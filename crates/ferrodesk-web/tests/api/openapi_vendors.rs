//! The vendor layers' own OpenAPI documents (`/zendesk/api/v2/openapi.json`,
//! `/freshdesk/api/v2/openapi.json`): served without credentials, valid OpenAPI 3.1, and
//! in step with what the layers serve.

use ferrodesk_testkit::{Answer, StatusCode, TestApp, on_both_databases};
use serde_json::{Value, json};

/// Each layer's prefix and how its 401 reads.
const LAYERS: &[(&str, &str, &str)] = &[
    ("/zendesk/api/v2", "error", "Couldn't authenticate you"),
    ("/freshdesk/api/v2", "code", "invalid_credentials"),
];

const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

async fn anonymous(app: &TestApp, method: &str, path: &str) -> Answer {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    app.raw_at(|c, url| c.request(method, url), path).await
}

/// Every `$ref` of `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, item) in m {
                match (k.as_str(), item) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

/// What OpenAPI 3.1 requires of a document, its operations and their parameters.
fn assert_openapi_shape(prefix: &str, doc: &Value) {
    assert!(doc["info"]["title"].is_string(), "{prefix}");
    assert!(doc["info"]["version"].is_string(), "{prefix}");
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with('/'), "{prefix}{path}");
        for (method, op) in item.as_object().unwrap() {
            assert!(
                METHODS.contains(&method.as_str()),
                "{prefix}{path}: {method}"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{prefix} {method} {path}"
            );
            for r in op["responses"].as_object().unwrap().values() {
                assert!(r["description"].is_string(), "{prefix} {method} {path}");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in &params {
                assert!(p["name"].is_string() && p["schema"].is_object(), "{p}");
                assert!(
                    ["query", "path"].contains(&p["in"].as_str().unwrap()),
                    "{p}"
                );
            }
            // Every `{name}` of the path is a required path parameter, and only those.
            let in_path: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == json!("path"))
                .inspect(|p| assert_eq!(p["required"], json!(true), "{p}"))
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(in_path, declared, "{prefix} {method} {path}");
            if let Some(body) = op.get("requestBody") {
                assert!(body["content"]["application/json"]["schema"].is_object());
            }
        }
    }
}

async fn vendor_documents_are_served_without_credentials_as_openapi_3_1(app: TestApp) {
    for (prefix, _, _) in LAYERS {
        let res = anonymous(&app, "get", &format!("{prefix}/openapi.json")).await;
        assert_eq!(res.status, StatusCode::OK, "{prefix}: {}", res.body);
        let doc = res.body;
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        // It is the one the library builds, and it has the shape of an OpenAPI document
        // (utoipa cannot read its own `{}` schemas back, so the shape is checked here).
        let built = match *prefix {
            "/zendesk/api/v2" => ferrodesk_web::compat::zendesk::openapi(),
            _ => ferrodesk_web::compat::freshdesk::openapi(),
        };
        assert_eq!(serde_json::to_value(built).unwrap(), doc);
        assert_openapi_shape(prefix, &doc);
        assert_eq!(doc["servers"][0]["url"], json!(prefix));
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["basic"]["scheme"], json!("basic"), "{prefix}");
        assert_eq!(schemes["bearer"]["scheme"], json!("bearer"), "{prefix}");
        assert_eq!(
            doc["security"],
            json!([{"basic": []}, {"bearer": []}]),
            "{prefix}"
        );
        assert_eq!(
            doc["paths"]["/openapi.json"]["get"]["security"],
            json!([]),
            "{prefix}: the document itself needs no credentials"
        );
        // Every reference names a schema the document has.
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{prefix}: {r} names no schema"
            );
        }
        // Every operation says what it answers; the authenticated ones also the 401.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let codes = op["responses"].as_object().unwrap();
                assert!(
                    codes.contains_key("200") || codes.contains_key("201"),
                    "{prefix} {method} {path}"
                );
                assert!(
                    path == "/openapi.json" || codes.contains_key("401"),
                    "{prefix} {method} {path}"
                );
            }
        }
    }
}

async fn every_documented_operation_is_served_and_no_other_method_on_its_paths(app: TestApp) {
    for (prefix, key, unauthenticated) in LAYERS {
        let doc = anonymous(&app, "get", &format!("{prefix}/openapi.json"))
            .await
            .body;
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 15, "{prefix}: {:?}", paths.keys());
        for (path, item) in paths {
            let concrete = path.replace("{id}", "1");
            assert!(!concrete.contains('{'), "{path}: unknown parameter");
            for method in METHODS {
                let url = format!("{prefix}{concrete}");
                let res = anonymous(&app, method, &url).await;
                match item.get(*method) {
                    // Served: the layer asks who is calling (the route exists), or answers.
                    Some(op) if op["security"] == json!([]) => {
                        assert_eq!(res.status, StatusCode::OK, "{method} {url}");
                    }
                    Some(op) => {
                        assert_eq!(
                            res.status,
                            StatusCode::UNAUTHORIZED,
                            "{method} {url}: {}",
                            res.body
                        );
                        assert_eq!(res.body[*key], json!(unauthenticated), "{method} {url}");
                        // Where the document says so, also with `.json`.
                        if op["description"]
                            .as_str()
                            .is_some_and(|d| d.contains(&format!("Also served at `{path}.json`")))
                        {
                            let res = anonymous(&app, method, &format!("{url}.json")).await;
                            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {url}.json");
                        }
                    }
                    // Not documented on a served path: not served either.
                    None => assert_eq!(
                        res.status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{method} {url} is served but not documented"
                    ),
                }
            }
        }
    }
}

async fn paths_the_documents_do_not_list_are_not_served(app: TestApp) {
    // What the vendors have and these layers do not (docs/api.md, "What differs").
    for path in [
        "/zendesk/api/v2/macros",
        "/zendesk/api/v2/views",
        "/zendesk/api/v2/uploads",
        "/zendesk/api/v2/satisfaction_ratings.json",
        "/freshdesk/api/v2/canned_responses",
        "/freshdesk/api/v2/time_entries",
        "/freshdesk/api/v2/tickets/1/time_entries",
    ] {
        let doc_path = path.split_once("/v2").unwrap().1.trim_end_matches(".json");
        for (prefix, _, _) in LAYERS {
            let doc = anonymous(&app, "get", &format!("{prefix}/openapi.json"))
                .await
                .body;
            assert!(doc["paths"].get(doc_path).is_none(), "{doc_path}");
        }
        let res = anonymous(&app, "get", path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.body);
    }
}

#[test]
fn the_layers_document_the_endpoints_docs_api_md_lists() {
    let zendesk = serde_json::to_value(ferrodesk_web::compat::zendesk::openapi()).unwrap();
    for (method, path) in [
        ("get", "/users/me"),
        ("get", "/users/show_many"),
        ("post", "/users"),
        ("get", "/users/{id}/organization_memberships"),
        ("put", "/organizations/{id}"),
        ("get", "/group_memberships"),
        ("post", "/tickets"),
        ("put", "/tickets/{id}"),
        ("get", "/tickets/{id}/comments"),
        ("put", "/requests/{id}"),
        ("get", "/requests/ccd"),
        ("get", "/custom_statuses"),
        ("get", "/search"),
        ("get", "/incremental/tickets/cursor"),
        ("get", "/incremental/organizations"),
    ] {
        assert!(
            zendesk["paths"][path][method].is_object(),
            "zendesk {method} {path}"
        );
    }
    let freshdesk = serde_json::to_value(ferrodesk_web::compat::freshdesk::openapi()).unwrap();
    for (method, path) in [
        ("get", "/tickets"),
        ("put", "/tickets/{id}"),
        ("post", "/tickets/{id}/reply"),
        ("post", "/tickets/{id}/notes"),
        ("get", "/search/tickets"),
        ("get", "/agents/me"),
        ("get", "/roles"),
        ("get", "/ticket_fields"),
    ] {
        assert!(
            freshdesk["paths"][path][method].is_object(),
            "freshdesk {method} {path}"
        );
    }
    // The query parameters the layers honour are named.
    let names = |op: &Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == json!("query"))
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(names(&zendesk["paths"]["/tickets"]["get"]).contains(&"page[size]".to_owned()));
    assert!(names(&zendesk["paths"]["/search"]["get"]).contains(&"query".to_owned()));
    assert!(names(&freshdesk["paths"]["/tickets"]["get"]).contains(&"filter".to_owned()));
    assert!(names(&freshdesk["paths"]["/tickets/{id}"]["get"]).contains(&"include".to_owned()));
    // The Basic schemes say what they take.
    assert!(
        zendesk["components"]["securitySchemes"]["basic"]["description"]
            .as_str()
            .unwrap()
            .contains("EMAIL/token:TOKEN")
    );
    assert!(
        freshdesk["components"]["securitySchemes"]["basic"]["description"]
            .as_str()
            .unwrap()
            .contains("TOKEN:X")
    );
    insta::assert_json_snapshot!("openapi_zendesk", zendesk);
    insta::assert_json_snapshot!("openapi_freshdesk", freshdesk);
}

on_both_databases!(
    vendor_documents_are_served_without_credentials_as_openapi_3_1,
    every_documented_operation_is_served_and_no_other_method_on_its_paths,
    paths_the_documents_do_not_list_are_not_served,
);
