//! Two desks compared as people read them: the round-trip tests of the importers.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ferrodesk, ok};

/// A running desk seen through `/api/v1` by the holder of `token`.
pub struct Desk {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// An admin's token.
    pub token: String,
    /// The client.
    pub http: reqwest::Client,
}

impl Desk {
    pub async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let res = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// The same desk seen by the holder of another token.
    pub fn as_user(&self, token: &str) -> Desk {
        Desk {
            base: self.base.clone(),
            token: token.to_owned(),
            http: self.http.clone(),
        }
    }

    /// Uploads a PDF for a later comment or ticket; its upload token.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> Value {
        let res = self
            .http
            .post(format!("{}/api/v1/uploads?file_name={name}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/pdf")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "upload {name}");
        res.json::<Value>().await.unwrap()["token"].clone()
    }

    /// The bytes of attachment `id`.
    pub async fn file(&self, id: i64) -> Vec<u8> {
        let res = self
            .http
            .get(format!("{}/api/v1/attachments/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "attachment {id}: {}",
            res.status()
        );
        res.bytes().await.unwrap().to_vec()
    }

    /// Every file on the desk by name: (file name, attachment id).
    pub async fn files(&self) -> BTreeMap<String, i64> {
        let mut files = BTreeMap::new();
        for t in self.all("/tickets").await {
            let id = t["id"].as_i64().unwrap();
            for c in self.all(&format!("/tickets/{id}/comments")).await {
                for f in c["attachments"].as_array().unwrap() {
                    files.insert(
                        f["file_name"].as_str().unwrap().to_owned(),
                        f["id"].as_i64().unwrap(),
                    );
                }
            }
        }
        files
    }

    /// Every item of a cursor-paged list.
    pub async fn all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut cursor = String::new();
        loop {
            let page = self
                .get(&format!("{path}{sep}limit=100&cursor={cursor}"))
                .await;
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => return out,
            }
        }
    }

    /// Names by id, for comparing two desks by what people read.
    pub async fn names(&self) -> BTreeMap<i64, String> {
        let mut names = BTreeMap::new();
        for u in self.all("/users").await {
            names.insert(
                u["id"].as_i64().unwrap(),
                u["email"].as_str().unwrap_or_default().to_owned(),
            );
        }
        for o in self.all("/organizations").await {
            names.insert(
                -o["id"].as_i64().unwrap(),
                o["name"].as_str().unwrap().to_owned(),
            );
        }
        names
    }

    pub async fn group_names(&self) -> BTreeMap<i64, String> {
        self.get("/groups").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["id"].as_i64().unwrap(),
                    g["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Each ticket `as_token`'s holder sees, described by what a person reads (names, not
    /// ids) with its comments and their files, sorted: two desks compare equal when people
    /// read the same on both.
    pub async fn tickets(&self, as_token: &str) -> Vec<String> {
        let viewer = Desk {
            base: self.base.clone(),
            token: as_token.to_owned(),
            http: self.http.clone(),
        };
        let names = self.names().await;
        let groups = self.group_names().await;
        let name = |v: &Value| v.as_i64().and_then(|i| names.get(&i).cloned());
        let org = |v: &Value| v.as_i64().and_then(|i| names.get(&-i).cloned());
        let group = |v: &Value| v.as_i64().and_then(|i| groups.get(&i).cloned());
        let mut out = Vec::new();
        for t in viewer.all("/tickets").await {
            let id = t["id"].as_i64().unwrap();
            let comments: Vec<String> = viewer
                .all(&format!("/tickets/{id}/comments"))
                .await
                .iter()
                .map(|c| {
                    let files: Vec<String> = c["attachments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| format!("{} {} {}", f["file_name"], f["content_type"], f["size"]))
                        .collect();
                    format!(
                        "{:?} {} {} {files:?}",
                        name(&c["author_id"]),
                        c["public"],
                        c["body"].as_str().unwrap()
                    )
                })
                .collect();
            let mut ccs: Vec<Option<String>> =
                t["cc_ids"].as_array().unwrap().iter().map(name).collect();
            ccs.sort();
            let seconds = |k: &str| t[k].as_str().unwrap()[..19].to_owned();
            out.push(format!(
                    "{} | {} | {} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {} | {:?} | {} | {} | {} | {:?}",
                    t["subject"],
                    t["status"],
                    t["priority"],
                    name(&t["requester_id"]),
                    org(&t["organization_id"]),
                    group(&t["group_id"]),
                    name(&t["assignee_id"]),
                    group(&t["internal_group_id"]),
                    name(&t["internal_agent_id"]),
                    t["tags"],
                    ccs,
                    t["custom_fields"],
                    seconds("created_at"),
                    seconds("updated_at"),
                    comments
                ));
        }
        out.sort();
        out
    }
}

pub async fn token_for(db: &str, email: &str) -> String {
    ok(&ferrodesk(db, &["token", "create", "--email", email]))
        .trim()
        .to_owned()
}
