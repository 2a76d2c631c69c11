//! `ferrodesk import zendesk` against a fake Zendesk written from Zendesk's documented shapes
//! (`tests/vendor_fakes/fake_zendesk.py`: no Ferrodesk extras), on both databases. The fake
//! slows the importer down (429 with `Retry-After`), fails once (500) and, in its first life,
//! goes down for good part-way through the tickets (503), so the first run fails naming the
//! URL; the rerun against the restarted fake completes with nothing twice, and a third run
//! imports nothing. Then B's `/api/v1` is read: sharing modes and the register, users' role,
//! access, scope and suspension, statuses matched to the built-ins or created, custom fields
//! with their options and values, tickets with their original times, tags, CCs, owners and
//! comments in order with their authors and visibility.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::desk::Desk;
use common::{NO_RATE_LIMITS, ferrodesk, free_port, ok, serve, text};
use ferrodesk_testkit::Backend;
use serde_json::{Value, json};

/// The fake account's admin and API token (see `fake_zendesk.py`).
const ADMIN_EMAIL: &str = "ada.admin@zfake.example";
const TOKEN: &str = "zd-fake-token-0123456789";
/// The fake's first life answers 503 once this many comment requests were answered: the
/// first export page (tickets 1001–1010) takes 13, the second page's third ticket is 1013.
const BREAK_AFTER: &str = "15";

/// A running `fake_zendesk.py`, killed when dropped.
struct Fake {
    child: Child,
    log: PathBuf,
}

impl Fake {
    fn start(port: u16, break_after: Option<&str>, life: &str) -> Fake {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vendor_fakes/fake_zendesk.py"
        );
        let log = std::env::temp_dir().join(format!("fake-zendesk-{port}-{life}.log"));
        std::fs::remove_file(&log).ok();
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(port.to_string())
            .env("FAKE_LOG", &log)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdout(Stdio::piped());
        match break_after {
            Some(n) => cmd.env("FAKE_BREAK_AFTER", n),
            None => cmd.env_remove("FAKE_BREAK_AFTER"),
        };
        let mut child = cmd.spawn().expect("start python3 fake_zendesk.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the fake Zendesk did not start");
        Fake { child, log }
    }

    /// What it answered: (status, path and query), in order.
    fn answers(&self) -> Vec<(u16, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let (code, target) = l.split_once(' ').unwrap();
                (code.parse().unwrap(), target.to_owned())
            })
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_file(&self.log).ok();
    }
}

/// The importer's report: `kind: A imported, B already here, C left out` per kind, and its
/// `note:` lines.
struct Report {
    counts: BTreeMap<String, (u64, u64, u64)>,
    notes: Vec<String>,
    text: String,
}

fn report(out: &str) -> Report {
    let mut counts = BTreeMap::new();
    let mut notes = Vec::new();
    for line in out.lines() {
        if let Some(n) = line.strip_prefix("note: ") {
            notes.push(n.to_owned());
        } else if let Some((kind, rest)) = line.split_once(": ")
            && rest.ends_with(" left out")
        {
            let n: Vec<u64> = rest
                .split(", ")
                .map(|p| p.split(' ').next().unwrap().parse().unwrap())
                .collect();
            counts.insert(kind.to_owned(), (n[0], n[1], n[2]));
        }
    }
    Report {
        counts,
        notes,
        text: out.to_owned(),
    }
}

/// Checks that are all made, then reported together (many independent facts per test).
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn that(&mut self, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            self.0.push(what.to_string());
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, actual: T, expected: T) {
        if actual != expected {
            self.0
                .push(format!("{what}: got {actual:?}, expected {expected:?}"));
        }
    }

    fn done(self, context: &str) {
        assert!(
            self.0.is_empty(),
            "{} checks failed:\n- {}\n\n{context}",
            self.0.len(),
            self.0.join("\n- ")
        );
    }
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The first 19 characters of an RFC 3339 time: `YYYY-MM-DDTHH:MM:SS`.
fn to_second(v: &Value) -> String {
    v.as_str().unwrap_or_default().chars().take(19).collect()
}

async fn a_zendesk_account_moves_in(backend: Backend) {
    let db = ferrodesk_testkit::fresh_database(backend).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let source = format!("127.0.0.1:{port}");
    let import = |token: &str| {
        ferrodesk(
            &db,
            &[
                "import",
                "zendesk",
                "--url",
                &url,
                "--email",
                ADMIN_EMAIL,
                "--token",
                token,
            ],
        )
    };
    let mut c = Checks::default();

    // A wrong token: Zendesk's 401, named.
    let fake = Fake::start(port, Some(BREAK_AFTER), "first");
    let refused = import("not-the-token");
    let refused_text = text(&refused);
    assert!(!refused.status.success(), "{refused_text}");
    for part in [
        format!("{url}/api/v2/users/me.json"),
        "401".to_owned(),
        "Couldn't authenticate you".to_owned(),
        "--token".to_owned(),
    ] {
        c.that(
            refused_text.contains(&part),
            format!("the 401 failure names {part:?}: {refused_text}"),
        );
    }

    // The first run: the source goes down for good after the first page of tickets.
    let first = import(TOKEN);
    let first_text = text(&first);
    assert!(!first.status.success(), "{first_text}");
    let failing = format!("{url}/api/v2/tickets/1013/comments.json");
    c.that(
        first_text.contains(&failing) && first_text.contains("503"),
        format!("the failure names the failing request {failing} and its 503: {first_text}"),
    );
    c.that(
        first_text.contains("tickets: 9 imported, 0 already here"),
        format!("the first page was written before the failure: {first_text}"),
    );
    let first_answers = fake.answers();
    c.that(
        first_answers
            .iter()
            .filter(|(s, t)| *s == 503 && t.starts_with("/api/v2/tickets/1013/comments"))
            .count()
            > 1,
        "the importer retried the 503 before giving up",
    );
    drop(fake);

    // The rerun, the source back up: the rest, nothing twice.
    let fake = Fake::start(port, None, "second");
    let second = report(&ok(&import(TOKEN)));
    let answers = fake.answers();
    let rate_limited = answers.iter().filter(|(s, _)| *s == 429).count();
    c.that(rate_limited > 0, "the fake answered 429s");
    c.that(
        second.text.contains(&format!(
            "waited {rate_limited} times when the source asked to slow down"
        )),
        format!(
            "the report counts the {rate_limited} waits for Retry-After: {}",
            second.text
        ),
    );
    let failed_once = answers.iter().position(|(s, _)| *s == 500);
    c.that(
        failed_once.is_some_and(|i| {
            answers[i + 1..]
                .iter()
                .any(|(s, t)| *s == 200 && *t == answers[i].1)
        }),
        "the 500 was retried and then answered",
    );
    c.that(
        answers.iter().all(|(s, _)| [200, 429, 500].contains(s)),
        format!("no request of the importer was refused: {answers:?}"),
    );
    for kind in ["groups", "statuses", "organizations"] {
        let (new, already, _) = second.counts.get(kind).copied().unwrap_or_default();
        c.eq(&format!("second run, {kind} new"), new, 0);
        c.that(already > 0, format!("second run, {kind} already here"));
    }
    c.eq(
        "second run, users",
        second.counts.get("users").copied(),
        Some((0, 8, 2)),
    );
    let tickets = second.counts.get("tickets").copied().unwrap_or_default();
    // 1011–1024; 1025 is deleted in Zendesk; 1001–1010 (but 1003) and 1004 again: already.
    c.eq("second run, tickets imported", tickets.0, 14);
    c.eq("second run, tickets already here", tickets.1, 10);
    c.eq(
        "second run, comments",
        second.counts.get("comments").copied(),
        Some((14, 0, 0)),
    );
    // A deleted Zendesk ticket is in the incremental export unless
    // `exclude_deleted=true` is asked for; it must not become an open ticket here.
    c.that(
        answers
            .iter()
            .any(|(_, t)| t.contains("incremental/tickets") && t.contains("exclude_deleted=true"))
            || !second.text.contains("tickets: 15 imported"),
        "the deleted ticket 1025 is not imported (the export was not asked to exclude_deleted)",
    );
    let note = |r: &Report, starts: &str, has: &str| {
        r.notes
            .iter()
            .any(|n| n.starts_with(starts) && n.contains(has))
    };
    c.that(
        note(&second, "user 900007 \"Nora Phone\"", "no email address"),
        format!("the user without email is reported: {:?}", second.notes),
    );
    c.that(
        note(&second, "user 900010 <bea broken@zfake>: email:", ""),
        format!("the refused address is reported: {:?}", second.notes),
    );
    c.that(
        note(&second, "ticket 1003", "left out"),
        format!("her ticket is reported as left out: {:?}", second.notes),
    );
    // The user's note says what happens to their tickets: they are left out (note above).
    c.that(
        !note(
            &second,
            "user 900007",
            "their tickets name the importing admin",
        ),
        format!(
            "the no-email note says what happens to the user's tickets: {:?}",
            second.notes
        ),
    );

    // A third run: nothing new.
    let third = report(&ok(&import(TOKEN)));
    let t3 = third.counts.get("tickets").copied().unwrap_or_default();
    c.eq("third run, tickets imported", t3.0, 0);
    c.eq("third run, tickets already here", t3.1, 24);
    c.eq(
        "third run, comments",
        third.counts.get("comments").copied().unwrap_or_default().0,
        0,
    );
    c.eq(
        "third run, users",
        third.counts.get("users").copied(),
        Some((0, 8, 2)),
    );
    // The note that "Waiting on vendor" has no internal groups comes again on every run while
    // it is so (the first run, which created the status, failed before its report).
    let status_note = |t: &str| {
        t.lines()
            .any(|l| l.contains("status \"Waiting on vendor\"") && l.contains("no internal groups"))
    };
    c.that(
        [&first_text, &second.text, &third.text]
            .iter()
            .any(|t| status_note(t)),
        format!(
            "some run tells that no internal groups are mapped to \"Waiting on vendor\": {:?} / {:?}",
            second.notes, third.notes
        ),
    );
    drop(fake);

    // B, read through its API as the imported admin.
    let server = serve(&db, free_port(), &[], NO_RATE_LIMITS).await;
    let token = ok(&ferrodesk(
        &db,
        &["token", "create", "--email", ADMIN_EMAIL],
    ))
    .trim()
    .to_owned();
    let b = Desk {
        base: server.base.clone(),
        token,
        http: reqwest::Client::new(),
    };

    // Organizations with their sharing mode, recorded as imported.
    let orgs = b.all("/organizations").await;
    let org_name = |id: &Value| {
        orgs.iter()
            .find(|o| o["id"] == *id)
            .map(|o| o["name"].as_str().unwrap().to_owned())
    };
    let sharing: BTreeMap<String, Value> = orgs
        .iter()
        .map(|o| (o["name"].as_str().unwrap().to_owned(), o["sharing"].clone()))
        .collect();
    c.eq(
        "organizations and their sharing",
        sharing,
        BTreeMap::from([
            ("Acme Printing".to_owned(), json!("own_only")),
            ("Globex".to_owned(), json!("read_only")),
            ("Initech".to_owned(), json!("read_write")),
        ]),
    );
    if let Some(acme) = orgs.iter().find(|o| o["name"] == json!("Acme Printing")) {
        c.eq(
            "Acme's domains",
            strings(&acme["domain_names"]),
            BTreeSet::from(["acme.example".to_owned()]),
        );
        c.eq(
            "Acme's tags",
            strings(&acme["tags"]),
            BTreeSet::from(["key_account".to_owned()]),
        );
        c.that(
            acme["details"]
                .as_str()
                .is_some_and(|d| d.contains("Key account since 2016")),
            format!("Acme's details: {acme}"),
        );
    }
    let register = b.get("/sharing-register").await;
    let mut registered: Vec<(String, String, Value)> = register
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["organization_name"].as_str().unwrap().to_owned(),
                e["sharing"].as_str().unwrap().to_owned(),
                e["imported"].clone(),
            )
        })
        .collect();
    registered.sort_by(|a, b| a.0.cmp(&b.0));
    let imported = json!(format!("imported from Zendesk ({source})"));
    c.eq(
        "the sharing register",
        registered,
        vec![
            (
                "Globex".to_owned(),
                "read_only".to_owned(),
                imported.clone(),
            ),
            ("Initech".to_owned(), "read_write".to_owned(), imported),
        ],
    );

    // Users: role, access, scope, memberships, suspension; the one without email left out.
    let groups: BTreeMap<i64, String> = b.get("/groups").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_i64().unwrap(),
                g["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    c.eq(
        "groups",
        groups.values().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["Billing".to_owned(), "Support".to_owned()]),
    );
    let group_names = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|g| groups.get(&g.as_i64().unwrap()).cloned())
            .collect()
    };
    let users = b.all("/users").await;
    let user_view: BTreeMap<String, String> = users
        .iter()
        .filter_map(|u| {
            let email = u["email"].as_str()?;
            let orgs: BTreeSet<String> = u["organization_ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(org_name)
                .collect();
            Some((
                email.to_owned(),
                format!(
                    "{} {} {} {} orgs={:?} default={:?} groups={:?} suspended={}",
                    u["name"].as_str().unwrap(),
                    u["role"].as_str().unwrap(),
                    u["access"].as_str().unwrap_or("-"),
                    u["ticket_scope"].as_str().unwrap_or("-"),
                    orgs,
                    org_name(&u["default_organization_id"]),
                    group_names(&u["group_ids"]),
                    u["suspended"]
                ),
            ))
        })
        .filter(|(e, _)| !e.ends_with("@ferrodesk.invalid") && !e.starts_with("system"))
        .collect();
    let expected_users: BTreeMap<String, String> = [
        (ADMIN_EMAIL, "Ada Admin admin - - orgs={} default=None groups={\"Support\"} suspended=false"),
        ("greg.global@zfake.example", "Greg Global agent - global orgs={} default=None groups={\"Billing\", \"Support\"} suspended=false"),
        ("gina.groups@zfake.example", "Gina Groups agent - group orgs={} default=None groups={\"Billing\"} suspended=false"),
        ("alice@acme.example", "Alice Acme end_user requested - orgs={\"Acme Printing\"} default=Some(\"Acme Printing\") groups={} suspended=false"),
        ("olga@globex.example", "Olga Globex end_user organization - orgs={\"Globex\"} default=Some(\"Globex\") groups={} suspended=false"),
        ("ivan@initech.example", "Ivan Initech end_user organization - orgs={\"Globex\", \"Initech\"} default=Some(\"Initech\") groups={} suspended=false"),
        ("sam@acme.example", "Sam Suspended end_user requested - orgs={\"Acme Printing\"} default=Some(\"Acme Printing\") groups={} suspended=true"),
        ("pat@mail.example", "Pat Public end_user requested - orgs={} default=None groups={} suspended=false"),
    ]
    .into_iter()
    .map(|(e, v)| (e.to_owned(), v.to_owned()))
    .collect();
    c.eq("users", user_view, expected_users);
    c.that(
        !users.iter().any(|u| u["name"] == json!("Nora Phone")),
        "the user without email is not here",
    );
    let user_name = |id: &Value| {
        users
            .iter()
            .find(|u| u["id"] == *id)
            .map(|u| u["name"].as_str().unwrap().to_owned())
    };

    // Statuses: Zendesk's defaults are the built-ins; "Waiting on vendor" is new.
    let statuses = b.get("/statuses").await["items"]
        .as_array()
        .unwrap()
        .clone();
    let status_names: BTreeSet<String> = statuses
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    c.eq(
        "statuses (no duplicates of Zendesk's defaults)",
        status_names,
        [
            "Open",
            "Pending",
            "Resolved",
            "Closed",
            "Customer Responded",
            "Waiting on vendor",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect(),
    );
    if let Some(s) = statuses
        .iter()
        .find(|s| s["name"] == json!("Waiting on vendor"))
    {
        c.eq(
            "Waiting on vendor: category",
            &s["category"],
            &json!("pending"),
        );
        c.eq(
            "Waiting on vendor: customer label",
            &s["customer_label"],
            &json!("Waiting on a supplier"),
        );
        c.eq(
            "Waiting on vendor: internal groups",
            (&s["internal_group_ids"], &s["all_groups"]),
            (&json!([]), &json!(false)),
        );
    }

    // Custom fields: Zendesk's system fields are columns here; the tagger is a dropdown.
    let fields: BTreeMap<String, (String, String, Value)> = b
        .get("/ticket-fields")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_owned(),
                (
                    f["title"].as_str().unwrap().to_owned(),
                    f["field_type"].as_str().unwrap().to_owned(),
                    f["options"].clone(),
                ),
            )
        })
        .collect();
    c.eq(
        "ticket fields",
        fields,
        BTreeMap::from([
            (
                "product_line".to_owned(),
                (
                    "Product line".to_owned(),
                    "dropdown".to_owned(),
                    json!([
                        "product_printers",
                        "product_scanners",
                        "product_copiers_colour"
                    ]),
                ),
            ),
            (
                "serial_number".to_owned(),
                ("Serial number".to_owned(), "text".to_owned(), json!([])),
            ),
        ]),
    );

    // Tickets, by subject (the fake's subjects are unique).
    let tickets = b.all("/tickets").await;
    let mut by_subject: BTreeMap<String, Value> = BTreeMap::new();
    for t in &tickets {
        let s = t["subject"].as_str().unwrap().to_owned();
        c.that(
            by_subject.insert(s.clone(), t.clone()).is_none(),
            format!("{s:?} is here once"),
        );
    }
    c.eq("tickets here", tickets.len(), 23);
    c.that(
        !by_subject.contains_key("Call me back"),
        "the ticket of the user without email is left out",
    );
    // The deleted ticket stays behind (see the check above).
    c.that(
        !by_subject.contains_key("Question number 25"),
        format!(
            "the ticket deleted in Zendesk (1025) is not here: {}",
            by_subject
                .get("Question number 25")
                .map(|t| format!("status {}", t["status"]))
                .unwrap_or_default()
        ),
    );
    for t in &tickets {
        c.that(
            t["created_at"]
                .as_str()
                .is_some_and(|s| s.starts_with("2019-03-")),
            format!(
                "{} keeps its original created_at: {}",
                t["subject"], t["created_at"]
            ),
        );
        c.that(
            t["updated_at"]
                .as_str()
                .is_some_and(|s| s.starts_with("2020-")),
            format!(
                "{} keeps its original updated_at: {}",
                t["subject"], t["updated_at"]
            ),
        );
    }
    let status_of = |subject: &str| {
        by_subject
            .get(subject)
            .map(|t| (t["status"].clone(), t["status_category"].clone()))
    };
    for (subject, status, category) in [
        ("Printer jams on tray 2", "Open", "open"),
        // Zendesk's On-hold is the built-in pending status here.
        ("Waiting for spare part", "Pending", "pending"),
        ("Scanner driver crash", "Waiting on vendor", "pending"),
        ("New ticket nobody answered", "Open", "open"),
        ("Password reset", "Resolved", "resolved"),
        ("Please wait for us", "Pending", "pending"),
    ] {
        c.eq(
            &format!("{subject}: status"),
            status_of(subject),
            Some((json!(status), json!(category))),
        );
    }
    // Zendesk gives a closed ticket the custom_status_id of a solved
    // status (closed belongs to the solved category); its `status` says it is closed.
    c.eq(
        "Old toner order (closed in Zendesk): status",
        status_of("Old toner order"),
        Some((json!("Closed"), json!("closed"))),
    );

    if let Some(t) = by_subject.get("Printer jams on tray 2") {
        c.eq(
            "1002: times",
            (to_second(&t["created_at"]), to_second(&t["updated_at"])),
            (
                "2019-03-02T08:30:00".to_owned(),
                "2020-01-02T12:00:00".to_owned(),
            ),
        );
        c.eq(
            "1002: requester",
            user_name(&t["requester_id"]),
            Some("Alice Acme".to_owned()),
        );
        c.eq(
            "1002: organization",
            org_name(&t["organization_id"]),
            Some("Acme Printing".to_owned()),
        );
        c.eq("1002: priority", &t["priority"], &json!("high"));
        c.eq("1002: channel", &t["channel"], &json!("email"));
        c.eq(
            "1002: group",
            t["group_id"].as_i64().and_then(|g| groups.get(&g).cloned()),
            Some("Support".to_owned()),
        );
        c.eq(
            "1002: assignee",
            user_name(&t["assignee_id"]),
            Some("Greg Global".to_owned()),
        );
        c.eq(
            "1002: tags",
            strings(&t["tags"]),
            BTreeSet::from(["jam".to_owned(), "printer".to_owned()]),
        );
        let ccs: BTreeSet<Option<String>> = t["cc_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(user_name)
            .collect();
        c.eq(
            "1002: CCs",
            ccs,
            BTreeSet::from([
                Some("Greg Global".to_owned()),
                Some("Sam Suspended".to_owned()),
            ]),
        );
        c.eq(
            "1002: custom fields",
            &t["custom_fields"],
            &json!({"product_line": "product_printers", "serial_number": "SN-2002-77"}),
        );
        let id = t["id"].as_i64().unwrap();
        let comments: Vec<(Option<String>, bool, String, String)> = b
            .all(&format!("/tickets/{id}/comments"))
            .await
            .iter()
            .map(|m| {
                (
                    user_name(&m["author_id"]),
                    m["public"].as_bool().unwrap(),
                    m["body"].as_str().unwrap().to_owned(),
                    to_second(&m["created_at"]),
                )
            })
            .collect();
        let who = |n: &str| Some(n.to_owned());
        c.eq(
            "1002: comments, in order, with authors, visibility and times",
            comments,
            vec![
                (
                    who("Alice Acme"),
                    true,
                    "Tray 2 jams on every second page.".to_owned(),
                    "2019-03-02T08:30:00".to_owned(),
                ),
                (
                    who("Greg Global"),
                    true,
                    "Could you send a photo of the tray?".to_owned(),
                    "2019-03-02T09:31:00".to_owned(),
                ),
                (
                    who("Greg Global"),
                    false,
                    "Internal: known defect, see RMA list.".to_owned(),
                    "2019-03-02T10:32:00".to_owned(),
                ),
                (
                    who("Alice Acme"),
                    true,
                    "Photo attached, thanks.".to_owned(),
                    "2019-03-02T11:33:00".to_owned(),
                ),
                (
                    who("Gina Groups"),
                    false,
                    "Billing: warranty still valid until 2020.".to_owned(),
                    "2019-03-02T12:34:00".to_owned(),
                ),
            ],
        );
    } else {
        c.that(false, "1002 \"Printer jams on tray 2\" is here");
    }
    if let Some(t) = by_subject.get("Colour copier quote") {
        c.eq(
            "1004: custom fields",
            &t["custom_fields"],
            &json!({"product_line": "product_copiers_colour"}),
        );
        c.eq(
            "1004: assignee",
            user_name(&t["assignee_id"]),
            Some("Gina Groups".to_owned()),
        );
        c.eq(
            "1004: tags",
            strings(&t["tags"]),
            BTreeSet::from(["quote".to_owned()]),
        );
    }
    if let Some(t) = by_subject.get("Scanner driver crash") {
        c.eq(
            "1007: organization",
            org_name(&t["organization_id"]),
            Some("Initech".to_owned()),
        );
        let id = t["id"].as_i64().unwrap();
        let publics: Vec<bool> = b
            .all(&format!("/tickets/{id}/comments"))
            .await
            .iter()
            .map(|m| m["public"].as_bool().unwrap())
            .collect();
        c.eq(
            "1007: public, public, private",
            publics,
            vec![true, true, false],
        );
    }
    if let Some(t) = by_subject.get("Invoice question") {
        c.eq(
            "1008: organization",
            org_name(&t["organization_id"]),
            Some("Globex".to_owned()),
        );
        let ccs: Vec<Option<String>> = t["cc_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(user_name)
            .collect();
        c.eq("1008: CCs", ccs, vec![Some("Olga Globex".to_owned())]);
    }
    if let Some(t) = by_subject.get("Old toner order") {
        c.eq(
            "1009: requester",
            user_name(&t["requester_id"]),
            Some("Sam Suspended".to_owned()),
        );
    }
    if let Some(t) = by_subject.get("New ticket nobody answered") {
        c.eq(
            "1011: priority (none in Zendesk)",
            &t["priority"],
            &json!("normal"),
        );
        c.eq("1011: no organization", &t["organization_id"], &Value::Null);
    }
    c.done(&format!(
        "first run:\n{first_text}\nsecond run:\n{}\nthird run:\n{}",
        second.text, third.text
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_zendesk_account_moves_in(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_zendesk_account_moves_in(Backend::Postgres).await;
}
