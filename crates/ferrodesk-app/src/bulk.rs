//! Bulk changes: several tickets changed the same way, each on its own through the one
//! write path (`update_ticket_in`: policy, invariants, audit, search, rules), so that one
//! ticket refused — out of scope, a status that would drop its internal owner without
//! one to take over, changed meanwhile — leaves the others changed and says why.

use ferrodesk_core::TicketId;
use ferrodesk_core::validate::{self, FieldError, Problems};

use crate::directory::commit;
use crate::dto::{BulkTicketsIn, TicketOut};
use crate::{App, AppError, Principal, Result};

/// At most this many tickets in one bulk change (a page of the ticket list is 25; the
/// API allows a page of 100).
pub const MAX_BULK_TICKETS: usize = 100;

impl App {
    /// Applies `input.changes` and the tag additions and removals to each ticket of
    /// `input.ids` (staff only), each in its own transaction. The outer error is for the
    /// request as a whole (no tickets, too many, nothing to change, not staff); each
    /// ticket's own refusal is in its entry, in the order the ids were given.
    pub async fn bulk_update_tickets(
        &self,
        p: &Principal,
        input: BulkTicketsIn,
    ) -> Result<Vec<(i64, Result<TicketOut>)>> {
        if !p.is_staff() {
            return Err(AppError::forbidden(
                "staff_only",
                "only agents and admins change several tickets at once",
            ));
        }
        let mut problems = Problems::default();
        let mut ids = Vec::with_capacity(input.ids.len());
        for id in &input.ids {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        if ids.is_empty() {
            problems.push(FieldError::new(
                "ids",
                "required",
                "choose at least one ticket",
            ));
        } else if ids.len() > MAX_BULK_TICKETS {
            problems.push(FieldError::new(
                "ids",
                "too_many",
                format!("change at most {MAX_BULK_TICKETS} tickets at once"),
            ));
        }
        let add = problems
            .check(validate::tags("add_tags", &input.add_tags, 50))
            .unwrap_or_default();
        let remove = problems
            .check(validate::tags("remove_tags", &input.remove_tags, 50))
            .unwrap_or_default();
        if let Some(both) = add.iter().find(|t| remove.contains(t)) {
            problems.push(FieldError::new(
                "remove_tags",
                "conflict",
                format!("the tag {both} cannot be both added and removed"),
            ));
        }
        let c = &input.changes;
        let changes_something = c.subject.is_some()
            || c.requester_id.is_some()
            || c.organization_id.is_some()
            || c.status.is_some()
            || c.status_id.is_some()
            || c.priority.is_some()
            || c.group_id.is_some()
            || c.assignee_id.is_some()
            || c.internal_group_id.is_some()
            || c.internal_agent_id.is_some()
            || c.cc_ids.is_some()
            || c.tags.is_some()
            || c.custom_fields.is_some();
        if c.tags.is_some() && !(add.is_empty() && remove.is_empty()) {
            problems.push(FieldError::new(
                "changes.tags",
                "conflict",
                "replace the tags or add and remove some, not both",
            ));
        }
        if !changes_something && input.add_tags.is_empty() && input.remove_tags.is_empty() {
            problems.push(FieldError::new(
                "changes",
                "required",
                "choose a change to make",
            ));
        }
        problems.finish().map_err(AppError::Invalid)?;

        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let result = self
                .bulk_update_one(p, TicketId(id), &input, &add, &remove)
                .await;
            out.push((id, result));
        }
        Ok(out)
    }

    async fn bulk_update_one(
        &self,
        p: &Principal,
        id: TicketId,
        input: &BulkTicketsIn,
        add: &[String],
        remove: &[String],
    ) -> Result<TicketOut> {
        // A write transaction holds the one write lock from its start (SQLite `BEGIN
        // IMMEDIATE`, PostgreSQL the audit head's row lock): the tags read here are still
        // the ticket's when they are written, whoever else writes at the same moment.
        let mut tx = self.store().begin().await?;
        let mut patch = input.changes.clone();
        if !add.is_empty() || !remove.is_empty() {
            let (t, _) = self.visible_ticket(&mut tx, p, id).await?;
            let mut tags: Vec<String> = t
                .tags
                .iter()
                .filter(|t| !remove.contains(t))
                .cloned()
                .collect();
            for t in add {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
            patch.tags = Some(tags);
        }
        let out = self.update_ticket_in(&mut tx, p, id, None, patch).await?;
        commit(tx).await?;
        Ok(out)
    }
}
