//! The agent workspace's own reads and marks: the ticket list page (a view or the plain list,
//! filtered, in an order picked for the moment, with requesters' names and "updated since you
//! last looked"), and the ticket page's "seen" and presence. The marks are no ticket change:
//! they skip the write pipeline, the version and the audit chain, but not the policy.

use ferrodesk_core::TicketId;
use ferrodesk_core::policy;
use ferrodesk_store::directory as dir;
use ferrodesk_store::scope::{self, IdColumn, TicketFilter};
use ferrodesk_store::seen;
use ferrodesk_store::view_query::{Pred, SortKey, ViewQuery};

use crate::directory::{cursor, page_size};
use crate::dto::TicketOut;
use crate::tickets::ticket_out;
use crate::{App, Principal, Result};

/// What the ticket list shows.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// A saved view; its conditions are combined with `filter`.
    pub view: Option<i64>,
    /// The list's filters.
    pub filter: TicketFilter,
    /// An order for the moment (`true`: ascending) instead of the view's (or, for the plain
    /// list, newest ticket first).
    pub sort: Option<(SortKey, bool)>,
    /// Where the page starts (as the previous page gave it out, for the same view, filters
    /// and sort).
    pub cursor: Option<String>,
    /// Page size (25 by default, 1 to 100).
    pub limit: Option<i64>,
}

/// One page of the ticket list.
#[derive(Debug, Default)]
pub struct ListPage {
    /// The tickets.
    pub items: Vec<TicketOut>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
    /// The requesters' names, by user id.
    pub requester_names: Vec<(i64, String)>,
    /// The tickets changed since the caller last opened them (or never opened).
    pub updated_since_seen: Vec<i64>,
    /// The order the page is in: the view's, the chosen one, or `(Id, false)`.
    pub order: (SortKey, bool),
}

/// Who else has a ticket open, and who changed it after the version the caller has.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    /// Other people with the ticket's page open in the last minute, by name.
    pub lookers: Vec<String>,
    /// The ticket is newer than the caller's version: who changed it last, and when.
    pub changed: Option<(String, i64)>,
}

/// Someone whose presence poll is older than this (microseconds) is no longer looking.
pub const PRESENCE_WINDOW_MICROS: i64 = 60_000_000;

fn filter_preds(f: &TicketFilter) -> Vec<Pred> {
    let one = |col, v: Option<i64>| {
        v.map(|v| Pred::Ids {
            col,
            ids: vec![v],
            or_null: false,
            negate: false,
        })
    };
    [
        one(IdColumn::Status, f.status_id.map(|v| v.0)),
        one(IdColumn::Requester, f.requester_id.map(|v| v.0)),
        one(IdColumn::Organization, f.organization_id.map(|v| v.0)),
        one(IdColumn::Group, f.group_id.map(|v| v.0)),
        one(IdColumn::Assignee, f.assignee_id.map(|v| v.0)),
        one(IdColumn::InternalGroup, f.internal_group_id.map(|v| v.0)),
        one(IdColumn::InternalAgent, f.internal_agent_id.map(|v| v.0)),
        f.any_group_id.map(|g| Pred::AnyGroup(vec![g.0])),
        f.any_agent_id.map(|u| Pred::AnyAgent(vec![u.0])),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl App {
    /// One page of the agent's ticket list: a view (always within the agent's scope) or the
    /// plain list, narrowed by the filters, in the view's order or one picked for the moment
    /// (never saved). Staff only. Statements: the page (one), the requesters' names (one),
    /// when the agent last opened each (one).
    pub async fn agent_ticket_list(&self, p: &Principal, req: ListRequest) -> Result<ListPage> {
        p.require_staff()?;
        if req.filter.cc_id.is_some() {
            return Err(crate::AppError::invalid(
                "cc_id",
                "not_allowed",
                "the ticket list does not filter by CC",
            ));
        }
        let limit = page_size(req.limit)?;
        let mut c = self.store().read().await?;
        let (rows, next_cursor, order) = match (req.view, req.sort) {
            // The plain list in its own order: newest ticket first, by the primary key.
            (None, None) => {
                let before = cursor(req.cursor.as_deref())?.map(TicketId);
                let scope = policy::list_scope(&p.viewer);
                let mut rows =
                    scope::list_tickets(&mut c, &scope, &req.filter, before, limit + 1).await?;
                let more = rows.len() as i64 > limit;
                rows.truncate(limit as usize);
                let next = more
                    .then(|| rows.last().map(|t| t.id.0.to_string()))
                    .flatten();
                (rows, next, (SortKey::Id, false))
            }
            (view, sort) => {
                let mut q = match view {
                    Some(v) => self.view_query(&mut c, p, v).await?,
                    None => ViewQuery {
                        key: SortKey::Id,
                        ..ViewQuery::default()
                    },
                };
                q.all.extend(filter_preds(&req.filter));
                if let Some((key, ascending)) = sort {
                    q.key = key;
                    q.ascending = ascending;
                }
                let (rows, next) = self
                    .query_page(&mut c, p, &q, req.cursor.as_deref(), limit)
                    .await?;
                (rows, next, (q.key, q.ascending))
            }
        };
        let mut requesters: Vec<i64> = rows.iter().map(|t| t.requester_id.0).collect();
        requesters.sort();
        requesters.dedup();
        // Staff may read any user's name (SPEC §3.1).
        let requester_names = dir::names(&mut c, dir::Named::Users, &requesters).await?;
        let ids: Vec<i64> = rows.iter().map(|t| t.id.0).collect();
        let seen = seen::seen_at(&mut c, p.user.id.0, &ids).await?;
        let updated_since_seen = rows
            .iter()
            .filter(|t| {
                seen.iter()
                    .find(|(id, _)| *id == t.id.0)
                    .is_none_or(|(_, at)| t.updated_at > *at)
            })
            .map(|t| t.id.0)
            .collect();
        let statuses = self.statuses(&mut c, p).await?;
        Ok(ListPage {
            items: rows.iter().map(|t| ticket_out(p, t, &statuses)).collect(),
            next_cursor,
            requester_names,
            updated_since_seen,
            order,
        })
    }

    /// Records that a staff member opened a ticket they may see (its page): the list stops
    /// marking it until it changes again.
    pub async fn mark_ticket_seen(&self, p: &Principal, id: TicketId) -> Result<()> {
        p.require_staff()?;
        {
            let mut c = self.store().read().await?;
            self.visible_ticket(&mut c, p, id).await?;
        }
        // One statement outside the writers' lock: a page view never queues behind (or
        // holds up) the desk's ticket changes.
        let mut w = self.store().side_write().await?;
        seen::record(&mut w, p.user.id.0, id.0, seen::Look::Opened, self.now()).await?;
        Ok(())
    }

    /// The ticket page's poll (staff, a ticket they may see): records that the caller has it
    /// open, and says who else has and whether it changed after `version`.
    pub async fn ticket_presence(
        &self,
        p: &Principal,
        id: TicketId,
        version: Option<i64>,
    ) -> Result<Presence> {
        p.require_staff()?;
        let now = self.now();
        let mut c = self.store().read().await?;
        let (t, _) = self.visible_ticket(&mut c, p, id).await?;
        {
            let mut w = self.store().side_write().await?;
            seen::record(&mut w, p.user.id.0, id.0, seen::Look::Polled, now).await?;
        }
        let lookers = seen::lookers(&mut c, id.0, now - PRESENCE_WINDOW_MICROS, p.user.id.0)
            .await?
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        let changed = match version {
            Some(v) if t.version > v => {
                let last = seen::last_change(&mut c, id.0).await?;
                Some(match last {
                    Some((_, Some(u), Some(name), at)) if u != p.user.id.0 => (name, at),
                    Some((_, Some(u), _, at)) if u == p.user.id.0 => ("You".to_owned(), at),
                    Some((kind, _, _, at)) if kind == "rule" => ("An automation rule".into(), at),
                    Some((_, _, _, at)) => ("Ferrodesk".to_owned(), at),
                    None => ("Someone".to_owned(), t.updated_at),
                })
            }
            _ => None,
        };
        Ok(Presence { lookers, changed })
    }
}
