//! Random worlds: for every user, the ticket list (SQL scope) is exactly the set of tickets
//! the single-ticket decision lets them view, the count agrees, and the access explanation
//! agrees with both. Run on both databases.

use std::collections::BTreeSet;

use ferrodesk_core::{TicketScope, UserAccess};
use ferrodesk_testkit::{StatusCode, TestApp, TestUser, on_both_databases};
use serde_json::json;

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
        tickets.push(app.ticket(&admin.token, body).await["id"].as_i64().unwrap());
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
        }
    }
}

async fn in_random_worlds_lists_counts_details_and_explanations_agree(app: TestApp) {
    for seed in 1..=4 {
        check_world(&app, seed).await;
    }
}

on_both_databases!(in_random_worlds_lists_counts_details_and_explanations_agree);
