//! Explaining access (SPEC §3.3), from the same policy code that enforces it.

use ferrodesk_core::policy::{self};
use ferrodesk_core::{TicketId, UserId};
use ferrodesk_store::directory as dir;
use ferrodesk_store::tickets;

use crate::dto::{AccessEntryOut, ExplainOut};
use crate::{App, AppError, Principal, Result};

fn reason_word(r: policy::Reason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl App {
    /// Everyone who may see a ticket, and why (admins).
    pub async fn ticket_access_list(
        &self,
        p: &Principal,
        id: TicketId,
    ) -> Result<Vec<AccessEntryOut>> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let t = tickets::get_ticket(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("ticket"))?;
        let mut candidates = dir::staff_ids(&mut c).await?;
        candidates.push(t.requester_id.0);
        candidates.extend(t.cc_ids.iter().map(|u| u.0));
        if let Some(o) = t.organization_id {
            candidates.extend(dir::member_ids(&mut c, o).await?);
        }
        candidates.sort();
        candidates.dedup();
        let viewers = dir::load_viewers(&mut c, &candidates).await?;
        let names = dir::user_names(&mut c, &candidates).await?;
        let facts = t.facts();
        Ok(viewers
            .iter()
            .filter_map(|v| {
                let d = policy::decide(v, &facts);
                d.view.map(|reason| AccessEntryOut {
                    user_id: v.user_id.0,
                    name: names
                        .iter()
                        .find(|(u, _)| *u == v.user_id.0)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_default(),
                    role: v.role,
                    can_comment: d.comment,
                    reason: reason_word(reason),
                    explanation: policy::explain(v, &facts),
                })
            })
            .collect())
    }

    /// Whether one user may see and comment on one ticket, and why (admins).
    pub async fn explain_access(
        &self,
        p: &Principal,
        user: UserId,
        ticket: TicketId,
    ) -> Result<ExplainOut> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let t = tickets::get_ticket(&mut c, ticket)
            .await?
            .ok_or(AppError::NotFound("ticket"))?;
        let v = dir::load_viewer(&mut c, user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let facts = t.facts();
        let d = policy::decide(&v, &facts);
        Ok(ExplainOut {
            user_id: user.0,
            ticket_id: ticket.0,
            can_view: d.can_view(),
            can_comment: d.comment,
            reason: d.view.map(reason_word),
            explanation: policy::explain(&v, &facts),
        })
    }
}
