//! Random worlds: for every user, the ticket list (SQL scope) is exactly the set of tickets
//! the single-ticket decision lets them view, the count agrees, and the access explanation
//! agrees with both. Run on both databases.

use std::collections::BTreeSet;

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::{Value, json};

/// A small deterministic generator (64-bit LCG), so a failing world can be rebuilt from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.below(items.len())])
        }
    }
    fn subset(&mut self, items: &[i64], percent: usize) -> Vec<i64> {
        items
            .iter()
            .copied()
            .filter(|_| self.chance(percent))
            .collect()
    }
}

async fn check_world(app: &TestApp, seed: u64) {
    let mut rng = Rng(seed);
    let admin = app.admin().await;
    let mut groups = Vec::new();
    for i in 0..3 {
        groups.push(
            app.post(
                &admin.token,
                "/groups",
                json!({"name": format!("G{seed}-{i}")}),
            )
            .await
            .body["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut orgs = Vec::new();
    for i in 0..3 {
        let id = app
            .post(
                &admin.token,
                "/organizations",
                json!({"name": format!("O{seed}-{i}")}),
            )
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        let sharing = ["own_only", "read_only", "read_write"][rng.below(3)];
        app.execute_sql(&format!(
            "UPDATE organizations SET sharing = '{sharing}' WHERE id = {id}"
        ))
        .await;
        orgs.push(id);
    }
    let mut end_users: Vec<(TestUser, Vec<i64>)> = Vec::new();
    for _ in 0..6 {
        let mine = rng.subset(&orgs, 40);
        let access = if rng.chance(30) {
            UserAccess::Organization
        } else {
            UserAccess::Requested
        };
        end_users.push((app.end_user(&mine, access).await, mine));
    }
    let mut agents: Vec<(TestUser, Vec<i64>)> = Vec::new();
    for _ in 0..4 {
        let scope = [
            TicketScope::Global,
            TicketScope::Group,
            TicketScope::Assigned,
        ][rng.below(3)];
        let mine = rng.subset(&groups, 50);
        agents.push((app.agent(scope, &mine).await, mine));
    }
    let members_of = |g: i64| -> Vec<i64> {
        agents
            .iter()
            .filter(|(_, gs)| gs.contains(&g))
            .map(|(a, _)| a.id)
            .collect()
    };
    let mut tickets = Vec::new();
    for _ in 0..20 {
        let requester_is_agent = rng.chance(15);
        let (requester, orgs_of_requester) = if requester_is_agent {
            (rng.pick(&agents).unwrap().0.id, Vec::new())
        } else {
            let (u, os) = rng.pick(&end_users).unwrap();
            (u.id, os.clone())
        };
        let mut body =
            json!({"subject": "random", "description": "random", "requester_id": requester});
        if let Some(o) = rng.pick(&orgs_of_requester) {
            body["organization_id"] = json!(o);
        }
        if rng.chance(60) {
            let g = *rng.pick(&groups).unwrap();
            body["group_id"] = json!(g);
            if let Some(a) = rng.pick(&members_of(g))
                && rng.chance(50)
            {
                body["assignee_id"] = json!(a);
            }
        } else if rng.chance(40) {
            body["assignee_id"] = json!(rng.pick(&agents).unwrap().0.id);
        }
        if rng.chance(40) {
            let g = *rng.pick(&groups).unwrap();
            body["status"] = json!("Customer Responded");
            body["internal_group_id"] = json!(g);
            if let Some(a) = rng.pick(&members_of(g)) {
                body["internal_agent_id"] = json!(a);
            }
        }
        let all_end_users: Vec<i64> = end_users.iter().map(|(u, _)| u.id).collect();
        body["cc_ids"] = json!(rng.subset(&all_end_users, 15));
        let priority = ["low", "normal", "high", "urgent"][rng.below(4)];
        body["priority"] = json!(priority);
        if rng.chance(30) {
            body["tags"] = json!(["vip"]);
        }
        tickets.push(app.ticket(&admin.token, body).await["id"].as_i64().unwrap());
    }
    // Each ticket gets a file on a public reply and one on a private note.
    let mut files: Vec<(i64, i64, i64)> = Vec::new();
    for t in &tickets {
        let mut pair = Vec::new();
        for public in [true, false] {
            let bytes = format!("seed {seed} ticket {t} public {public}").into_bytes();
            let up = app
                .raw(
                    |c, url| {
                        c.post(url)
                            .bearer_auth(&admin.token)
                            .header("content-type", "text/plain")
                            .body(bytes)
                    },
                    "/uploads?file_name=f.txt",
                )
                .await;
            let c = app
                .post(
                    &admin.token,
                    &format!("/tickets/{t}/comments"),
                    json!({"body": "file", "public": public, "upload_tokens": [up.body["token"]]}),
                )
                .await;
            pair.push(c.body["attachments"][0]["id"].as_i64().unwrap());
        }
        files.push((*t, pair[0], pair[1]));
    }
    let everyone: Vec<&TestUser> = end_users
        .iter()
        .map(|(u, _)| u)
        .chain(agents.iter().map(|(a, _)| a))
        .collect();
    for user in everyone {
        let list: BTreeSet<i64> = app
            .get(&user.token, "/tickets?limit=100")
            .await
            .ids()
            .into_iter()
            .collect();
        let count = app.get(&user.token, "/tickets/count").await.body["count"]
            .as_i64()
            .unwrap();
        assert_eq!(
            count as usize,
            list.len(),
            "seed {seed}, user {}: count",
            user.id
        );
        for t in &tickets {
            let detail = app.get(&user.token, &format!("/tickets/{t}")).await.status;
            let explained = app
                .get(
                    &admin.token,
                    &format!("/access/explain?user_id={}&ticket_id={t}", user.id),
                )
                .await
                .body;
            let viewable = detail == StatusCode::OK;
            assert_eq!(
                list.contains(t),
                viewable,
                "seed {seed}, user {}, ticket {t}: list vs detail",
                user.id
            );
            assert_eq!(
                explained["can_view"].as_bool(),
                Some(viewable),
                "seed {seed}, user {}, ticket {t}: explanation",
                user.id
            );
            // Its files: the public reply's for whoever sees the ticket, the private note's
            // only for staff among them.
            let staff = agents.iter().any(|(a, _)| a.id == user.id);
            // The Zendesk-compatible API shows exactly the same: staff through /tickets, end
            // users through /requests; comments carry private notes for staff only.
            let zd = if staff { "tickets" } else { "requests" };
            let zd_detail = app
                .raw_at(
                    |c, url| c.get(url).bearer_auth(&user.token),
                    &format!("/zendesk/api/v2/{zd}/{t}.json"),
                )
                .await
                .status;
            assert_eq!(
                zd_detail == StatusCode::OK,
                viewable,
                "seed {seed}, user {}, ticket {t}: zendesk {zd} vs /api/v1 detail",
                user.id
            );
            let zd_comments = app
                .raw_at(
                    |c, url| c.get(url).bearer_auth(&user.token),
                    &format!("/zendesk/api/v2/{zd}/{t}/comments.json"),
                )
                .await;
            assert_eq!(
                zd_comments.status == StatusCode::OK,
                viewable,
                "seed {seed}, user {}, ticket {t}: zendesk comments",
                user.id
            );
            // And the Freshdesk-compatible API: the ticket, and its conversations with notes
            // for staff only.
            let fd_detail = app
                .raw_at(
                    |c, url| c.get(url).bearer_auth(&user.token),
                    &format!("/freshdesk/api/v2/tickets/{t}"),
                )
                .await
                .status;
            assert_eq!(
                fd_detail == StatusCode::OK,
                viewable,
                "seed {seed}, user {}, ticket {t}: freshdesk ticket vs /api/v1 detail",
                user.id
            );
            let fd_conversations = app
                .raw_at(
                    |c, url| c.get(url).bearer_auth(&user.token),
                    &format!("/freshdesk/api/v2/tickets/{t}/conversations"),
                )
                .await;
            assert_eq!(
                fd_conversations.status == StatusCode::OK,
                viewable,
                "seed {seed}, user {}, ticket {t}: freshdesk conversations",
                user.id
            );
            if viewable {
                let notes = fd_conversations
                    .body
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["private"] == json!(true))
                    .count();
                assert_eq!(
                    notes > 0,
                    staff,
                    "seed {seed}, user {}, ticket {t}: private notes through freshdesk",
                    user.id
                );
            }
            if viewable {
                let private = zd_comments.body["comments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["public"] == json!(false))
                    .count();
                assert_eq!(
                    private > 0,
                    staff,
                    "seed {seed}, user {}, ticket {t}: private notes through zendesk",
                    user.id
                );
            }
            let (_, public_file, private_file) =
                files.iter().find(|(id, _, _)| id == t).copied().unwrap();
            for (file, want) in [(public_file, viewable), (private_file, viewable && staff)] {
                let got = app
                    .raw(
                        |c, url| c.get(url).bearer_auth(&user.token),
                        &format!("/attachments/{file}"),
                    )
                    .await
                    .status;
                assert_eq!(
                    got == StatusCode::OK,
                    want,
                    "seed {seed}, user {}, ticket {t}, file {file}: download vs detail",
                    user.id
                );
            }
        }
    }
    check_views(app, &admin, &agents, &groups, &tickets, &mut rng, seed).await;
}

/// The ids of every page of a list, following `next_cursor` (`path` has a query already).
async fn every_page(app: &TestApp, token: &str, path: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let a = app.get(token, &format!("{path}&cursor={cursor}")).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        ids.extend(a.ids());
        match a.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => return ids,
        }
    }
}

/// A view's conditions, and the same conditions evaluated in memory on a ticket's JSON (as
/// the admin sees it) for an agent with id `me` in groups `mine`.
type Oracle = fn(&Value, i64, &[i64]) -> bool;

/// An oracle that may capture values (the world's group ids).
type Check = Box<dyn Fn(&Value, i64, &[i64]) -> bool>;

fn open(t: &Value) -> bool {
    !matches!(t["status_category"].as_str(), Some("resolved" | "closed"))
}

fn id_in(v: &Value, ids: &[i64]) -> bool {
    v.as_i64().is_some_and(|i| ids.contains(&i))
}

/// Every view (default and a few custom ones) pages, counts and filters exactly as the
/// in-memory reading of its conditions says, intersected with what each agent may open; and
/// `ticket_counts` agrees with the tickets table after the world's writes.
async fn check_views(
    app: &TestApp,
    admin: &TestUser,
    agents: &[(TestUser, Vec<i64>)],
    groups: &[i64],
    tickets: &[i64],
    rng: &mut Rng,
    seed: u64,
) {
    // Change some tickets so the counters see updates, not only inserts.
    for _ in 0..8 {
        let t = *rng.pick(tickets).unwrap();
        let change = match rng.below(4) {
            0 => {
                let status = ["Open", "Resolved", "Pending", "Closed"][rng.below(4)];
                json!({ "status": status })
            }
            1 => {
                let priority = ["low", "normal", "high", "urgent"][rng.below(4)];
                json!({ "priority": priority })
            }
            2 => json!({"assignee_id": null}),
            _ => json!({"group_id": rng.pick(groups), "assignee_id": null}),
        };
        // Some changes break the ownership invariants and are refused: that changes nothing.
        let a = app
            .patch(&admin.token, &format!("/tickets/{t}"), change)
            .await;
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            a.body
        );
    }
    let drift = app.ticket_counts_drift().await;
    assert_eq!(
        drift, 0,
        "seed {seed}: ticket_counts equals the tickets table"
    );

    let (g0, g1) = (groups[0], groups[1]);
    let custom: Vec<(Value, Oracle)> = vec![
        (
            json!({"any": [{"field": "priority", "operator": "is", "value": "high"},
                           {"field": "any_agent", "operator": "is", "value": "me"}]}),
            |t, me, _| {
                t["priority"] == "high"
                    || id_in(&t["assignee_id"], &[me])
                    || id_in(&t["internal_agent_id"], &[me])
            },
        ),
        (
            json!({"all": [{"field": "group", "operator": "is", "value": [g0, g1]},
                           {"field": "category", "operator": "is", "value": ["open", "pending"]}]}),
            |_, _, _| unreachable!("replaced below"),
        ),
        (
            json!({"all": [{"field": "tags", "operator": "includes", "value": "vip"}]}),
            |t, _, _| {
                t["tags"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "vip"))
            },
        ),
        (
            json!({"all": [{"field": "any_group", "operator": "is", "value": "my_groups"},
                           {"field": "priority", "operator": "is_not", "value": ["low"]}]}),
            |t, _, mine| {
                (id_in(&t["group_id"], mine) || id_in(&t["internal_group_id"], mine))
                    && t["priority"] != "low"
            },
        ),
    ];
    let mut views: Vec<(i64, Check)> = Vec::new();
    for (i, (conditions, oracle)) in custom.into_iter().enumerate() {
        let id = app
            .post(
                &admin.token,
                "/views",
                json!({"name": format!("W{seed}-{i}"), "visibility": "everyone", "conditions": conditions}),
            )
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        if i == 1 {
            views.push((
                id,
                Box::new(move |t: &Value, _: i64, _: &[i64]| {
                    id_in(&t["group_id"], &[g0, g1])
                        && matches!(t["status_category"].as_str(), Some("open" | "pending"))
                }),
            ));
        } else {
            views.push((id, Box::new(oracle)));
        }
    }
    let defaults: [(&str, Oracle); 7] = [
        ("My tickets", |t, me, _| {
            id_in(&t["assignee_id"], &[me]) && open(t)
        }),
        ("My groups' tickets", |t, _, mine| {
            id_in(&t["group_id"], mine) && open(t)
        }),
        ("Shared with me", |t, me, _| {
            id_in(&t["internal_agent_id"], &[me]) && open(t)
        }),
        ("Shared with my groups", |t, _, mine| {
            id_in(&t["internal_group_id"], mine) && open(t)
        }),
        ("Unassigned", |t, _, _| {
            t["assignee_id"].is_null() && open(t)
        }),
        ("Customer Responded", |t, _, _| {
            t["status"] == "Customer Responded"
        }),
        ("Recently updated", |_, _, _| true),
    ];
    let listed = app.get(&admin.token, "/views").await.body;
    for (name, oracle) in defaults {
        let id = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name && v["built_in"] == true)
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        views.push((id, Box::new(oracle)));
    }
    // Every ticket in the database: earlier seeds' worlds are still there.
    let all = every_page(app, &admin.token, "/tickets?limit=100").await;
    assert!(tickets.iter().all(|t| all.contains(t)));
    let mut facts = Vec::new();
    for t in &all {
        facts.push(app.get(&admin.token, &format!("/tickets/{t}")).await.body);
    }
    for (agent, mine) in agents {
        let visible: Vec<&Value> = {
            let mut v = Vec::new();
            for t in &facts {
                let path = format!("/tickets/{}", t["id"]);
                if app.get(&agent.token, &path).await.status == StatusCode::OK {
                    v.push(t);
                }
            }
            v
        };
        let counts = app.get(&agent.token, "/views/counts").await.body;
        for (view, oracle) in &views {
            // Small pages, so the cursor crosses the merged branches.
            let got =
                every_page(app, &agent.token, &format!("/views/{view}/tickets?limit=3")).await;
            let mut expected: Vec<i64> = visible
                .iter()
                .filter(|t| oracle(t, agent.id, mine))
                .map(|t| t["id"].as_i64().unwrap())
                .collect();
            let mut sorted = got.clone();
            sorted.sort();
            expected.sort();
            assert_eq!(
                sorted, expected,
                "seed {seed}, agent {}, view {view}: the view's tickets",
                agent.id
            );
            let count = counts
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["view_id"] == *view)
                .unwrap()["count"]
                .as_i64()
                .unwrap();
            assert_eq!(
                count as usize,
                expected.len(),
                "seed {seed}, agent {}, view {view}: the count",
                agent.id
            );
        }
    }
}

async fn in_random_worlds_lists_counts_details_and_explanations_agree(app: TestApp) {
    for seed in 1..=4 {
        check_world(&app, seed).await;
    }
}

on_both_databases!(in_random_worlds_lists_counts_details_and_explanations_agree);
