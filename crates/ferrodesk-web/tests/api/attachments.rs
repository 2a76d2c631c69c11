//! Attachments: upload → comment → download byte for byte; the same bytes stored once; the
//! one access policy on every download (private notes, other customers, read-only members,
//! assigned-scope agents); size limits with nothing kept; safe names; nothing served to run.

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, on_both_databases};
use serde_json::{Value, json};

/// Uploads `bytes` as `name` with `content_type`; the answer.
async fn upload(
    app: &TestApp,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let path = format!(
        "/uploads?file_name={}",
        ferrodesk_core::validate::percent_encode(name)
    );
    let a = app
        .raw(
            |c, url| {
                c.post(url)
                    .bearer_auth(token)
                    .header("content-type", content_type)
                    .body(bytes.to_vec())
            },
            &path,
        )
        .await;
    (a.status, a.body)
}

/// Downloads attachment `id`: status, headers, bytes.
async fn download(
    app: &TestApp,
    token: &str,
    id: i64,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/attachments/{id}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

/// Uploads `len` bytes over a plain connection — with `Content-Length: declared`, or chunked
/// when none — as far as the server reads them; the status it answers.
async fn raw_upload(app: &TestApp, token: &str, declared: Option<usize>, len: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let token = token.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let length = match declared {
            Some(n) => format!("Content-Length: {n}"),
            None => "Transfer-Encoding: chunked".to_owned(),
        };
        write!(
            s,
            "POST /api/v1/uploads?file_name=big.bin HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n{length}\r\n\r\n"
        )
        .unwrap();
        if declared.is_none() {
            let chunk = vec![b'x'; 1024 * 1024];
            let mut sent = 0;
            // The server may stop reading (and answer) once past its limit.
            while sent < len {
                let n = chunk.len().min(len - sent);
                if s.write_all(format!("{n:x}\r\n").as_bytes()).is_err()
                    || s.write_all(&chunk[..n]).is_err()
                    || s.write_all(b"\r\n").is_err()
                {
                    break;
                }
                sent += n;
            }
            let _ = s.write_all(b"0\r\n\r\n");
        }
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
    })
    .await
    .unwrap()
}

/// Bytes no other test uploads.
fn unique(label: &str) -> Vec<u8> {
    format!(
        "{label} {} {:?}",
        std::process::id(),
        std::time::SystemTime::now()
    )
    .into_bytes()
}

async fn a_file_goes_up_with_a_comment_and_comes_back_byte_for_byte(app: TestApp) {
    let admin = app.admin().await;
    let dana = app.end_user(&[], UserAccess::Requested).await;
    let t = app.ticket(&dana.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let mut bytes = unique("report");
    bytes.extend((0..=255u8).cycle().take(300_000));
    let (s, up) = upload(&app, &dana.token, "../../etc/passwd", "text/plain", &bytes).await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    assert_eq!(up["file_name"], "passwd", "no folders in a name");
    assert_eq!(up["size"], bytes.len());
    let token = up["token"].as_str().unwrap().to_owned();
    let c = app
        .post(
            &dana.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "The log", "upload_tokens": [token]}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let files = c.body["attachments"].as_array().unwrap().clone();
    assert_eq!(files.len(), 1);
    let id = files[0]["id"].as_i64().unwrap();
    assert_eq!(files[0]["url"], format!("/api/v1/attachments/{id}"));
    let (s, h, got) = download(&app, &admin.token, id).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, bytes, "byte for byte");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    // The comment lists it for everyone who sees the comment.
    let listed = app
        .get(&dana.token, &format!("/tickets/{t}/comments"))
        .await;
    let last = listed.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["attachments"][0]["id"], id);

    // A used token is used up; someone else's token is nothing to them.
    let again = app
        .post(
            &dana.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "Again", "upload_tokens": [token]}),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    assert_eq!(again.error_fields(), vec!["upload_tokens"]);
    let (_, theirs) = upload(
        &app,
        &admin.token,
        "a.txt",
        "text/plain",
        &unique("admin's"),
    )
    .await;
    let stolen = app
        .post(
            &dana.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "Mine now", "upload_tokens": [theirs["token"]]}),
        )
        .await;
    assert_eq!(
        stolen.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        stolen.body
    );

    // The same bytes twice: two attachments, one stored file.
    let (_, second) = upload(
        &app,
        &dana.token,
        "copy.bin",
        "application/octet-stream",
        &bytes,
    )
    .await;
    let c2 = app
        .post(
            &dana.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "Again, the log", "upload_tokens": [second["token"]]}),
        )
        .await;
    assert_eq!(c2.status, StatusCode::CREATED, "{}", c2.body);
    let shas = app
        .scalar("SELECT COUNT(DISTINCT sha256) FROM attachments WHERE size = 300000 + 0 OR comment_id IS NOT NULL")
        .await;
    assert!(shas >= 1);
    let same = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM attachments a JOIN attachments b ON a.sha256 = b.sha256 AND a.id < b.id \
             WHERE a.id = {id} AND b.id = {}",
            c2.body["attachments"][0]["id"]
        ))
        .await;
    assert_eq!(same, 1, "both attachments point at the same stored bytes");
}

async fn every_download_asks_the_one_access_policy(app: TestApp) {
    let admin = app.admin().await;
    let org = app
        .post(
            &admin.token,
            "/organizations",
            json!({"name": "Readers Inc"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    app.execute_sql(&format!(
        "UPDATE organizations SET sharing = 'read_only' WHERE id = {org}"
    ))
    .await;
    let requester = app.end_user(&[org], UserAccess::Requested).await;
    let colleague = app.end_user(&[org], UserAccess::Requested).await;
    let stranger = app.end_user(&[], UserAccess::Requested).await;
    let assigned_only = app.agent(TicketScope::Assigned, &[]).await;
    let global = app.agent(TicketScope::Global, &[]).await;
    let t = app.ticket(&requester.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let (_, public_up) = upload(
        &app,
        &requester.token,
        "screen.png",
        "image/png",
        b"\x89PNG\r\n\x1a\nnot really an image",
    )
    .await;
    let public = app
        .post(
            &requester.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "See the screenshot", "upload_tokens": [public_up["token"]]}),
        )
        .await
        .body["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let (_, note_up) = upload(
        &app,
        &global.token,
        "internal.txt",
        "text/plain",
        &unique("internal"),
    )
    .await;
    let private = app
        .post(
            &global.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "Internal", "public": false, "upload_tokens": [note_up["token"]]}),
        )
        .await;
    assert_eq!(private.status, StatusCode::CREATED, "{}", private.body);
    let private = private.body["attachments"][0]["id"].as_i64().unwrap();

    let cases = [
        (
            &requester,
            public,
            StatusCode::OK,
            "the requester, their file",
        ),
        (
            &requester,
            private,
            StatusCode::NOT_FOUND,
            "a private note's file, to a customer",
        ),
        (
            &colleague,
            public,
            StatusCode::OK,
            "a read-only member sees the colleague's files",
        ),
        (
            &colleague,
            private,
            StatusCode::NOT_FOUND,
            "…but never a private note's",
        ),
        (
            &stranger,
            public,
            StatusCode::NOT_FOUND,
            "a customer who may not see the ticket",
        ),
        (
            &assigned_only,
            public,
            StatusCode::NOT_FOUND,
            "an agent not assigned, in assigned scope",
        ),
        (
            &global,
            private,
            StatusCode::OK,
            "an agent who sees the ticket, the note's file",
        ),
        (&admin, public, StatusCode::OK, "an admin"),
    ];
    for (who, id, want, why) in cases {
        let (s, _, _) = download(&app, &who.token, id).await;
        assert_eq!(s, want, "{why}");
    }
    // The comment list shows the note's file only to those who see notes.
    let seen = app
        .get(&colleague.token, &format!("/tickets/{t}/comments"))
        .await;
    assert!(
        !seen.body.to_string().contains("internal.txt"),
        "{}",
        seen.body
    );
    // The PNG that is not one is not shown inline; HTML is never a page of ours.
    let (_, h, _) = download(&app, &requester.token, public).await;
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline"),
        "its bytes start as a PNG's"
    );
    let (_, html_up) = upload(
        &app,
        &requester.token,
        "evil\u{202E}lmth.exe",
        "text/html",
        b"<script>alert(1)</script>",
    )
    .await;
    assert_eq!(
        html_up["file_name"], "evillmth.exe",
        "no direction overrides"
    );
    let html = app
        .post(
            &requester.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "Page", "upload_tokens": [html_up["token"]]}),
        )
        .await
        .body["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let (s, h, _) = download(&app, &requester.token, html).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "application/octet-stream");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
}

async fn too_large_is_refused_and_nothing_is_kept_and_unused_uploads_expire(app: TestApp) {
    let dana = app.end_user(&[], UserAccess::Requested).await;
    let rows = app.scalar("SELECT COUNT(*) FROM attachments").await;
    // Declared too large: answered before a byte of it is read. Sent in chunks with no
    // declared length: answered once the limit is passed. Either way nothing is kept.
    let over = 20 * 1024 * 1024 + 1;
    assert_eq!(raw_upload(&app, &dana.token, Some(over), over).await, 413);
    assert_eq!(raw_upload(&app, &dana.token, None, over).await, 413);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attachments").await,
        rows,
        "nothing kept"
    );
    let (s, body) = upload(&app, &dana.token, "empty.txt", "text/plain", b"").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Three files of 19 MiB are each fine; together they are more than a comment takes.
    let t = app.ticket(&dana.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let mut tokens = Vec::new();
    let mut sha = String::new();
    for i in 0..3u8 {
        let mut file = vec![i; 19 * 1024 * 1024];
        file.extend(unique("part"));
        sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&file))
        };
        let (s, up) = upload(
            &app,
            &dana.token,
            "part.bin",
            "application/octet-stream",
            &file,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{up}");
        tokens.push(up["token"].clone());
    }
    let c = app
        .post(
            &dana.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "All parts", "upload_tokens": tokens}),
        )
        .await;
    assert_eq!(c.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", c.body);
    let comments = app
        .get(&dana.token, &format!("/tickets/{t}/comments"))
        .await;
    assert_eq!(comments.ids().len(), 1, "no comment was added");

    // A day later, the uploads no comment took are gone, and so are their bytes.
    let blobs = app.app.blobs();
    assert!(blobs.open(&sha).await.unwrap().is_some());
    let long_ago = app.app.now() - 25 * 3600 * 1_000_000;
    app.execute_sql(&format!("UPDATE attachments SET created_at = {long_ago} WHERE comment_id IS NULL AND uploader_id = {}", dana.id))
        .await;
    let gone = app.app.expire_uploads().await.unwrap();
    assert!(gone >= 3, "{gone}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM attachments WHERE uploader_id = {}",
            dana.id
        ))
        .await,
        0
    );
    assert!(
        blobs.open(&sha).await.unwrap().is_none(),
        "the bytes are deleted"
    );
}

async fn a_redacted_file_is_gone_and_its_name_stays_with_who_and_when(app: TestApp) {
    let admin = app.admin().await;
    let dana = app.end_user(&[], UserAccess::Requested).await;
    let assigned_only = app.agent(TicketScope::Assigned, &[]).await;
    let t = app.ticket(&dana.token, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let secret = unique("card number 4111");
    let (_, first) = upload(&app, &dana.token, "card.txt", "text/plain", &secret).await;
    let (_, copy) = upload(&app, &dana.token, "again.txt", "text/plain", &secret).await;
    let c = app
        .post(
            &dana.token,
            &format!("/tickets/{t}/comments"),
            json!({"body": "Oops", "upload_tokens": [first["token"], copy["token"]]}),
        )
        .await;
    let files = c.body["attachments"].as_array().unwrap().clone();
    let (card, again) = (
        files[0]["id"].as_i64().unwrap(),
        files[1]["id"].as_i64().unwrap(),
    );
    let redact = async |token: &str, id: i64| {
        app.post(token, &format!("/attachments/{id}/redact"), json!({}))
            .await
    };
    // Customers and agents who may not see the ticket cannot redact.
    let denied = redact(&dana.token, card).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let hidden = redact(&assigned_only.token, card).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let r = redact(&admin.token, card).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["redacted"]
            .as_str()
            .unwrap()
            .starts_with("redacted by "),
        "{}",
        r.body
    );
    assert_eq!(r.body["url"], Value::Null);
    let (s, _, _) = download(&app, &dana.token, card).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a redacted file is gone");
    // The same bytes in another attachment stay until that one is redacted too.
    let (s, _, got) = download(&app, &dana.token, again).await;
    assert_eq!((s, got), (StatusCode::OK, secret.clone()));
    let twice = redact(&admin.token, card).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    redact(&admin.token, again).await;
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&secret))
    };
    assert!(
        app.app.blobs().open(&sha).await.unwrap().is_none(),
        "the bytes are deleted"
    );
    let listed = app
        .get(&dana.token, &format!("/tickets/{t}/comments"))
        .await;
    let last = listed.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["attachments"][0]["file_name"], "card.txt",
        "the name stays"
    );
    assert!(
        last["attachments"][0]["redacted"]
            .as_str()
            .unwrap()
            .contains("redacted by")
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE entity_type = 'ticket' AND entity_id = {t} AND action = 'attachment_redacted'")).await,
        2
    );
}

on_both_databases!(
    a_redacted_file_is_gone_and_its_name_stays_with_who_and_when,
    a_file_goes_up_with_a_comment_and_comes_back_byte_for_byte,
    every_download_asks_the_one_access_policy,
    too_large_is_refused_and_nothing_is_kept_and_unused_uploads_expire,
);
