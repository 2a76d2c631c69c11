//! Attachments kept in an S3-compatible bucket: a real moto server process (PyPI, installed
//! by `scripts/test`, named by `FERRODESK_MOTO_SERVER`), shared by two `ferrodesk serve`
//! processes — a file uploaded through one downloads through the other, byte for byte, under
//! the same access policy; the same bytes are one object; redacting deletes it.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{NO_RATE_LIMITS, demo_database, free_port, serve};
use ferrodesk_testkit::Backend;
use serde_json::{Value, json};

/// A moto S3 server, killed when dropped.
struct Moto {
    child: Child,
    base: String,
}

impl Moto {
    async fn start() -> Moto {
        let server = std::env::var("FERRODESK_MOTO_SERVER").unwrap_or_else(|_| {
            panic!(
                "FERRODESK_MOTO_SERVER is not set: run scripts/test, which installs moto from \
                 PyPI into target/tools and sets it"
            )
        });
        let port = free_port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not come up on port {port}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

async fn files_live_in_a_bucket_shared_by_two_servers(backend: Backend) {
    let (db, token) = demo_database(backend).await;
    let moto = Moto::start().await;
    let client = reqwest::Client::new();
    let bucket = client
        .put(format!("{}/ferrodesk-files", moto.base))
        .send()
        .await
        .unwrap();
    assert!(bucket.status().is_success(), "the bucket is created");
    let url = format!(
        "s3://ferrodesk-files/attachments?endpoint={}&region=us-east-1",
        moto.base
    );
    let env = [
        NO_RATE_LIMITS,
        &[
            ("FERRODESK_FILES_DIR", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "ferrodesk"),
            ("AWS_SECRET_ACCESS_KEY", "ferrodesk-secret"),
        ],
    ]
    .concat();
    let one = serve(&db, free_port(), &[], &env).await;
    let two = serve(&db, free_port(), &[], &env).await;
    let api = |base: &str, path: &str| format!("{base}/api/v1{path}");

    let mut bytes: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    bytes.extend(format!("{backend:?} {:?}", std::time::SystemTime::now()).bytes());
    let upload = |base: String, bytes: Vec<u8>| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let res = client
                .post(format!("{base}/api/v1/uploads?file_name=dump.bin"))
                .bearer_auth(&token)
                .header("content-type", "application/octet-stream")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["token"].clone()
        }
    };
    let first = upload(one.base.clone(), bytes.clone()).await;
    let ticket: Value = client
        .post(api(&one.base, "/tickets"))
        .bearer_auth(&token)
        .json(
            &json!({"subject": "Core dump", "description": "Attached.", "upload_tokens": [first]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = ticket["id"].as_i64().unwrap();
    let comments: Value = client
        .get(api(&two.base, &format!("/tickets/{t}/comments")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = comments["items"][0]["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let got = client
        .get(api(&two.base, &format!("/attachments/{file}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.bytes().await.unwrap().to_vec(),
        bytes,
        "byte for byte, through the other server"
    );

    // The object is in the bucket under its hash.
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let bucket =
        ferrodesk_app::s3::S3::from_url_and_keys(&url, Some("ferrodesk"), Some("ferrodesk-secret"))
            .unwrap();
    let object = format!("{}/{}/{sha}", &sha[..2], &sha[2..4]);
    assert!(
        bucket.exists(&object).await.unwrap(),
        "stored under its hash"
    );

    // The same bytes again, through the other server: a second attachment, the same object.
    let second = upload(two.base.clone(), bytes.clone()).await;
    let c: Value = client
        .post(api(&two.base, &format!("/tickets/{t}/comments")))
        .bearer_auth(&token)
        .json(&json!({"body": "Again.", "upload_tokens": [second]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = c["attachments"][0]["id"].as_i64().unwrap();
    // Redacting one keeps the object for the other; redacting both deletes it.
    for (id, kept) in [(file, true), (again, false)] {
        let r = client
            .post(api(&one.base, &format!("/attachments/{id}/redact")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            bucket.exists(&object).await.unwrap(),
            kept,
            "after redacting {id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_live_in_a_bucket_shared_by_two_servers() {
    files_live_in_a_bucket_shared_by_two_servers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_files_live_in_a_bucket_shared_by_two_servers() {
    files_live_in_a_bucket_shared_by_two_servers(Backend::Postgres).await;
}
