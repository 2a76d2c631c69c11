//! The API against its own OpenAPI document: schemathesis (from PyPI, installed by
//! `scripts/test` and named by `FERRODESK_SCHEMATHESIS`) generates requests from the
//! document — valid ones and invalid ones — against a live `ferrodesk serve` with demo data,
//! on each database, and checks every answer: no server error, status codes, content types,
//! headers and bodies as documented, invalid input refused, nothing reachable without a token.
//!
//! Left out, each for a reason a person can check:
//! - `positive_data_acceptance`: a schema-valid request may still be refused by the business
//!   rules the schema cannot express (an unknown id answers 404, a status with no mapped group
//!   422): those are correct answers.
//! - operations that end the run's own credential: revoking tokens (its own token could be
//!   among the ids), and turning two-factor sign-in on or off (they need a code from an app).
//! - one phase of one operation, for a false report of schemathesis itself:
//!   `tests/schemathesis.toml` says which and why.

mod common;

use std::process::Command;

use common::{NO_RATE_LIMITS, demo_database, free_port, serve};
use ferrodesk_testkit::Backend;

async fn schemathesis_finds_no_failure(backend: Backend) {
    let st = std::env::var("FERRODESK_SCHEMATHESIS").unwrap_or_else(|_| {
        panic!(
            "FERRODESK_SCHEMATHESIS is not set: run scripts/test, which installs schemathesis \
             from PyPI into target/tools and sets it"
        )
    });
    let (db, token) = demo_database(backend).await;
    let server = serve(&db, free_port(), &[], NO_RATE_LIMITS).await;
    let scratch = std::env::temp_dir().join(format!("ferrodesk-schemathesis-{backend:?}"));
    std::fs::create_dir_all(&scratch).unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let out = Command::new(&st)
        .args(["--config-file", config, "run"])
        .arg(format!("{}/api/v1/openapi.json", server.base))
        .args(["--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--exclude-path-regex", "tokens|two-factor"])
        .args(["--max-examples", "10", "--seed", "1", "--workers", "1"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .env("NO_COLOR", "1")
        // Hypothesis keeps a folder in the working directory: not in the source tree.
        .current_dir(&scratch)
        .output()
        .expect("run schemathesis");
    let report = common::text(&out);
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "schemathesis found failures on {backend:?} (its report is above)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_schemathesis_finds_no_failure() {
    schemathesis_finds_no_failure(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schemathesis_finds_no_failure() {
    schemathesis_finds_no_failure(Backend::Postgres).await;
}
