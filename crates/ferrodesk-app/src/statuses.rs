//! Status administration (SPEC §4): custom statuses and their mapped internal groups.
//! Unmapping a group or deleting a status removes shared ownership where it no longer
//! holds — each removal audited with its reason, never silently.

use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{GroupId, StatusCategory, StatusId};
use ferrodesk_store::directory::{self as dir, Status, StatusFields};
use ferrodesk_store::tickets;

use crate::directory::{commit, status_out};
use crate::dto::{StatusIn, StatusOut};
use crate::{Actor, App, AppError, Principal, Result, field_changes};

fn status_fields(s: &Status) -> crate::Fields {
    use serde_json::json;
    vec![
        ("name", json!(s.name)),
        ("customer_label", json!(s.customer_label)),
        ("category", json!(s.category)),
        ("position", json!(s.position)),
        ("all_groups", json!(s.all_groups)),
        ("internal_group_ids", json!(s.internal_group_ids)),
    ]
}

impl App {
    /// Checks a status input against `current` (None when creating) and gives the fields to store.
    async fn status_input(
        &self,
        c: &mut ferrodesk_store::Conn,
        current: Option<&Status>,
        input: &StatusIn,
        statuses: &[Status],
    ) -> Result<StatusFields> {
        let mut problems = Problems::default();
        let built_in = current.is_some_and(|s| s.built_in);
        if built_in {
            let cur = current.expect("built_in implies current");
            let refuse = |problems: &mut Problems, field: &str, what: &str| {
                problems.push(FieldError::new(
                    field,
                    "built_in_status",
                    format!("{} is built in: it cannot be {what}", cur.name),
                ));
            };
            if input.name.as_deref().is_some_and(|n| n.trim() != cur.name) {
                refuse(&mut problems, "name", "renamed");
            }
            if input.category.is_some_and(|c| c != cur.category) {
                refuse(&mut problems, "category", "moved to another category");
            }
            if input
                .internal_group_ids
                .as_ref()
                .is_some_and(|g| !g.is_empty())
                || input.all_groups == Some(true)
            {
                refuse(&mut problems, "internal_group_ids", "mapped to groups");
            }
        }
        let name = match (&input.name, current) {
            (Some(n), _) => problems.check(validate::name("name", n, 60)),
            (None, Some(s)) => Some(s.name.clone()),
            (None, None) => {
                problems.push(FieldError::new(
                    "name",
                    "required",
                    "name must not be empty",
                ));
                None
            }
        };
        let customer_label = match (&input.customer_label, current) {
            (Some(l), _) => problems.check(validate::name("customer_label", l, 60)),
            (None, Some(s)) => Some(s.customer_label.clone()),
            (None, None) => name.clone(),
        };
        let category = match (input.category, current) {
            (Some(StatusCategory::Closed), _) if !built_in => {
                problems.push(FieldError::new("category", "not_allowed", "custom statuses are open, pending or resolved; Closed is the only closed status"));
                None
            }
            (Some(c), _) => Some(c),
            (None, Some(s)) => Some(s.category),
            (None, None) => {
                problems.push(FieldError::new(
                    "category",
                    "required",
                    "category is one of open, pending, resolved",
                ));
                None
            }
        };
        let mut groups: Vec<i64> = match (&input.internal_group_ids, current) {
            (Some(g), _) => g.clone(),
            (None, Some(s)) => s.internal_group_ids.iter().map(|g| g.0).collect(),
            (None, None) => Vec::new(),
        };
        groups.sort();
        groups.dedup();
        let existing = dir::list_groups(c, None).await?;
        for (i, g) in groups.iter().enumerate() {
            if !existing.iter().any(|e| e.id.0 == *g) {
                problems.push(FieldError::new(
                    format!("internal_group_ids[{i}]"),
                    "not_found",
                    format!("group {g} does not exist"),
                ));
            }
        }
        let position = input
            .position
            .or(current.map(|s| s.position))
            .unwrap_or_else(|| statuses.iter().map(|s| s.position).max().unwrap_or(0) + 1);
        problems.finish().map_err(AppError::Invalid)?;
        Ok(StatusFields {
            name: name.unwrap_or_default(),
            customer_label: customer_label.unwrap_or_default(),
            category: category.unwrap_or(StatusCategory::Open),
            position,
            all_groups: input
                .all_groups
                .or(current.map(|s| s.all_groups))
                .unwrap_or(false),
            internal_group_ids: groups.into_iter().map(GroupId).collect(),
        })
    }

    /// Reads one status.
    pub async fn get_status(&self, p: &Principal, id: StatusId) -> Result<StatusOut> {
        let mut c = self.store().read().await?;
        let s = dir::list_statuses(&mut c)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(AppError::NotFound("status"))?;
        Ok(status_out(p, s))
    }

    /// Creates a custom status (admins).
    pub async fn create_status(&self, p: &Principal, input: StatusIn) -> Result<StatusOut> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let statuses = dir::list_statuses(&mut tx).await?;
        let fields = self.status_input(&mut tx, None, &input, &statuses).await?;
        let id = dir::insert_status(&mut tx, &fields, self.now()).await?;
        let s = dir::list_statuses(&mut tx)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(AppError::NotFound("status"))?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("status", id.0),
            "created",
            field_changes(None, status_fields(&s)),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(status_out(p, s))
    }

    /// Changes a status (admins). Built-in statuses may change only label and position.
    /// Tickets whose internal group the new mapping no longer allows lose their internal
    /// owner (reason `group_unmapped`).
    pub async fn update_status(
        &self,
        p: &Principal,
        id: StatusId,
        input: StatusIn,
    ) -> Result<StatusOut> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let statuses = dir::list_statuses(&mut tx).await?;
        let before = statuses
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or(AppError::NotFound("status"))?;
        let fields = self
            .status_input(&mut tx, Some(&before), &input, &statuses)
            .await?;
        dir::update_status(&mut tx, id, &fields, self.now()).await?;
        let after = dir::list_statuses(&mut tx)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(AppError::NotFound("status"))?;
        let changes = field_changes(Some(status_fields(&before)), status_fields(&after));
        if !changes.is_empty() {
            self.audit(
                &mut tx,
                Actor::from(p),
                ("status", id.0),
                "updated",
                changes,
                None,
            )
            .await?;
        }
        let w = self.ticket_write(&mut tx).await?;
        for t in tickets::ticket_ids_in_status(&mut tx, id, true).await? {
            w.rewrite(&mut tx, Actor::from(p), t, "group_unmapped", |t| {
                if t.internal_group_id.is_some_and(|g| !after.maps(g)) {
                    t.internal_group_id = None;
                    t.internal_agent_id = None;
                }
            })
            .await?;
        }
        commit(tx).await?;
        Ok(status_out(p, after))
    }

    /// Deletes a custom status (admins); its tickets move to Open and lose their internal
    /// owner (reason `status_deleted`).
    pub async fn delete_status(&self, p: &Principal, id: StatusId) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let statuses = dir::list_statuses(&mut tx).await?;
        let s = statuses
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or(AppError::NotFound("status"))?;
        if s.built_in {
            return Err(AppError::invalid(
                "id",
                "built_in_status",
                format!("{} is built in: it cannot be deleted", s.name),
            ));
        }
        let w = self.ticket_write(&mut tx).await?;
        let open = w.built_in("Open")?;
        let actor = Actor::from(p);
        for t in tickets::ticket_ids_in_status(&mut tx, id, false).await? {
            w.rewrite(&mut tx, actor, t, "status_deleted", |t| {
                t.status_id = open.id;
                if t.internal_group_id.is_some_and(|g| !open.maps(g)) {
                    t.internal_group_id = None;
                    t.internal_agent_id = None;
                }
            })
            .await?;
        }
        dir::delete_status(&mut tx, id).await?;
        self.audit(
            &mut tx,
            actor,
            ("status", id.0),
            "deleted",
            field_changes(
                Some(status_fields(&s)),
                vec![
                    ("name", serde_json::Value::Null),
                    ("customer_label", serde_json::Value::Null),
                    ("category", serde_json::Value::Null),
                    ("position", serde_json::Value::Null),
                    ("all_groups", serde_json::Value::Null),
                    ("internal_group_ids", serde_json::Value::Null),
                ],
            ),
            None,
        )
        .await?;
        commit(tx).await
    }
}
