//! The sharing workflow (SPEC §2.1): an organization's sharing changes only through a
//! checked, recorded change tied to the customer's request ticket.

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::policy::organization_grant;
use ferrodesk_core::rules::Happening;
use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_core::{CommentId, OrganizationId, Role, Sharing, TicketId, UserId};
use ferrodesk_store::Conn;
use ferrodesk_store::directory::{self as dir, OrganizationFields};
use ferrodesk_store::sharing::{self as store, SharingChange};
use ferrodesk_store::tickets::{self as tickets, Comment};

use crate::directory::commit;
use crate::dto::{
    PreviewUserOut, RegisterEntryOut, SharingChangeIn, SharingChangeOut, SharingPreviewOut, rfc3339,
};
use crate::ticket_write::{Explicit, happenings, performer};
use crate::{Actor, App, AppError, Principal, Result};

/// `read only` / `read+write`, as written in the details line.
fn label(s: Sharing) -> &'static str {
    match s {
        Sharing::OwnOnly => "own tickets only",
        Sharing::ReadOnly => "read only",
        Sharing::ReadWrite => "read+write",
    }
}

/// The line appended to the organization's details (SPEC §2.1, exactly).
pub fn details_line(after: Sharing, date: &str, ticket_url: &str) -> String {
    match after {
        Sharing::OwnOnly => format!("Shared organization disabled {date} as per {ticket_url}"),
        s => format!(
            "Shared organization ({}) enabled {date} as per {ticket_url}",
            label(s)
        ),
    }
}

/// The agent URL of a ticket.
pub fn ticket_url(base: &str, id: TicketId) -> String {
    format!("{}/agent/tickets/{id}", base.trim_end_matches('/'))
}

fn change_out(s: SharingChange, base: &str) -> SharingChangeOut {
    SharingChangeOut {
        id: s.id,
        organization_id: s.organization_id.0,
        ticket_id: s.ticket_id.0,
        ticket_url: ticket_url(base, s.ticket_id),
        sharing_before: s.before,
        sharing_after: s.after,
        type_confirmed_comment_id: s.type_confirmed_comment_id.0,
        type_confirmed_by: s.type_confirmed_by.0,
        risk_approved_comment_id: s.risk_approved_comment_id.map(|c| c.0),
        risk_approved_by: s.risk_approved_by.map(|u| u.0),
        admin_id: s.admin_id.0,
        details_line: s.details_line,
        created_at: rfc3339(s.created_at),
    }
}

/// How people refer to a ticket: its number and subject.
fn ticket_words(id: TicketId, subject: &str) -> String {
    if subject.trim().is_empty() {
        format!("ticket #{id}")
    } else {
        format!("ticket #{id} “{}”", subject.trim())
    }
}

/// What the pre-check messages name: the request ticket and the organization.
struct Context<'a> {
    ticket: TicketId,
    /// The ticket as people refer to it (`ticket #51 “Please share our tickets”`).
    ticket_words: String,
    organization: &'a str,
    members: &'a [i64],
}

/// Checks one piece of evidence: a public comment on the request ticket, by an end user who
/// is a member of the organization. Gives back its author. The failures read as the
/// runbook's steps; the field and the check's code stay the API's.
async fn evidence(
    c: &mut Conn,
    field: &str,
    check: &str,
    missing: String,
    comment: Option<i64>,
    at: &Context<'_>,
) -> Result<std::result::Result<UserId, FieldError>> {
    let fail = |why: String| Ok(Err(FieldError::new(field, check, why)));
    let Some(id) = comment else {
        return fail(missing);
    };
    let Some((on, author, role, public)) = store::comment_facts(c, CommentId(id)).await? else {
        return fail(format!(
            "The chosen comment does not exist (any more). {missing}"
        ));
    };
    let who = dir::get_user(c, author)
        .await?
        .map_or_else(|| "someone".to_owned(), |u| u.name);
    if on != at.ticket {
        return fail(format!(
            "The chosen comment by {who} is on another ticket, not on the request {}. {missing}",
            at.ticket_words
        ));
    }
    if !public {
        return fail(format!(
            "The chosen comment by {who} is a private note, not the customer's public comment. {missing}"
        ));
    }
    if role != Role::EndUser.as_str() {
        return fail(format!(
            "The chosen comment was written by {who}, who is staff, not by the customer. {missing}"
        ));
    }
    if !at.members.contains(&author.0) {
        return fail(format!(
            "The chosen comment was written by {who}, who is not a member of {}. {missing}",
            at.organization
        ));
    }
    Ok(Ok(author))
}

impl App {
    /// Changes an organization's sharing through the checked workflow (admins). Every
    /// pre-check is evaluated; when any fails, all failures are listed and nothing changes.
    pub async fn change_sharing(
        &self,
        p: &Principal,
        org_id: OrganizationId,
        input: SharingChangeIn,
    ) -> Result<SharingChangeOut> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        let org = dir::get_organization(&mut tx, org_id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let ticket_id = TicketId(input.ticket_id);
        let Some(mut ticket) = tickets::get_ticket(&mut tx, ticket_id).await? else {
            return Err(AppError::PrechecksFailed(vec![FieldError::new(
                "ticket_id",
                "ticket_exists",
                format!(
                    "There is no ticket #{ticket_id}. Choose the ticket in which the customer asked for the change."
                ),
            )]));
        };
        let members = dir::member_ids(&mut tx, org_id).await?;
        let enabling = input.sharing != Sharing::OwnOnly;
        let at = Context {
            ticket: ticket_id,
            ticket_words: ticket_words(ticket_id, &ticket.subject),
            organization: &org.name,
            members: &members,
        };
        let mut problems = Problems::default();
        let type_by = evidence(
            &mut tx,
            "type_confirmed_comment_id",
            "type_confirmed",
            format!(
                "Pick the customer's comment on {} that confirms which type of shared organization they want.",
                at.ticket_words
            ),
            input.type_confirmed_comment_id,
            &at,
        )
        .await?;
        let type_by = problems.check(type_by);
        let risk_by = if enabling {
            let r = evidence(
                &mut tx,
                "risk_approved_comment_id",
                "risk_approved",
                format!(
                    "Pick the comment on {} in which the requester, on behalf of {}, approved the security risk of a shared organization.",
                    at.ticket_words, org.name
                ),
                input.risk_approved_comment_id,
                &at,
            )
            .await?;
            problems.check(r)
        } else {
            None
        };
        if enabling && org.sharing_blocked {
            let why = if org.sharing_blocked_reason.trim().is_empty() {
                "no reason given".to_owned()
            } else {
                org.sharing_blocked_reason.trim().to_owned()
            };
            problems.push(FieldError::new(
                "sharing",
                "not_blocked",
                format!(
                    "{}'s details say we will not enable a shared organization for them ({why}). Lift the sharing block first, if that is still right.",
                    org.name
                ),
            ));
        }
        if !members.contains(&ticket.requester_id.0) {
            let requester = dir::get_user(&mut tx, ticket.requester_id)
                .await?
                .map_or_else(|| "The requester".to_owned(), |u| u.name);
            problems.push(FieldError::new(
                "ticket_id",
                "requester_member",
                format!(
                    "{requester}, who asked in {}, is not a member of {}. Choose a ticket in which a member asked, or add them to the organization first.",
                    at.ticket_words, org.name
                ),
            ));
        }
        if input.sharing == org.sharing {
            problems.push(FieldError::new(
                "sharing",
                "value_changes",
                match org.sharing {
                    Sharing::OwnOnly => format!(
                        "{} is not shared already: each member sees only their own tickets.",
                        org.name
                    ),
                    s => format!("{} is already shared {}.", org.name, label(s)),
                },
            ));
        }
        if let Err(failed) = problems.finish() {
            return Err(AppError::PrechecksFailed(failed));
        }
        let (Some(type_by), risk_by) = (type_by, risk_by) else {
            unreachable!("a failed evidence check is reported above")
        };
        let settings = crate::settings::load(&mut tx).await?;
        let now = self.now();
        let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let date = jiff::Timestamp::from_microsecond(now)
            .map_err(|e| AppError::Internal(e.to_string()))?
            .to_zoned(tz)
            .date()
            .to_string();
        let url = ticket_url(&settings.public_base_url, ticket_id);
        let line = details_line(input.sharing, &date, &url);
        let details = if org.details.trim().is_empty() {
            line.clone()
        } else {
            format!("{}\n{line}", org.details.trim_end())
        };
        let actor = Actor::from(p);

        // The organization: new mode and the log line.
        dir::update_organization(
            &mut tx,
            org_id,
            &OrganizationFields {
                sharing: Some(input.sharing),
                details: Some(details.clone()),
                ..OrganizationFields::default()
            },
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            ("organization", org_id.0),
            "sharing_changed",
            vec![
                FieldChange::new("sharing", org.sharing, input.sharing),
                FieldChange::new("details", &org.details, &details),
            ],
            Some(format!("ticket:{ticket_id}")),
        )
        .await?;

        // The confirmation comment, from the admin-editable template.
        let requester = dir::get_user(&mut tx, ticket.requester_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let body = crate::settings::render(
            &settings.sharing_confirmation_template,
            minijinja::context! {
                requester_name => requester.name, organization_name => org.name.clone(),
                sharing => input.sharing.as_str(), sharing_label => label(input.sharing),
                enabled => enabling, ticket_id => ticket_id.0, date => date.clone(), admin_name => p.user.name.clone(),
            },
        )
        .map_err(|e| AppError::Internal(format!("sharing confirmation template: {e}")))?;
        let mut w = self.ticket_write(&mut tx).await?;
        let mut comment = Comment {
            id: CommentId(0),
            ticket_id,
            author_id: p.user.id,
            body,
            public: true,
            channel: p.via,
            created_at: now,
        };
        w.comment(
            &mut tx,
            actor,
            &mut ticket,
            &mut comment,
            Some("sharing_change".into()),
        )
        .await?;

        // The ticket: the checks as metadata, and Resolved.
        let mut after = ticket.clone();
        after.status_id = w.built_in("Resolved")?.id;
        after.sharing_check = Some(serde_json::json!({
            "organization_id": org_id.0,
            "sharing_before": org.sharing,
            "sharing_after": input.sharing,
            "type_confirmed": {"comment_id": input.type_confirmed_comment_id, "by_user_id": type_by.0},
            "risk_approved": risk_by.map(|u| serde_json::json!({"comment_id": input.risk_approved_comment_id, "by_user_id": u.0})),
            "not_blocked": !org.sharing_blocked,
            "requester_member": true,
            "checked_by": p.user.id.0,
            "checked_at": rfc3339(now),
        }));
        let mut problems = Problems::default();
        let removed = w
            .check(
                &mut tx,
                Some(&ticket),
                &mut after,
                Explicit::default(),
                &mut problems,
            )
            .await?;
        problems.finish().map_err(AppError::Invalid)?;
        let reason = removed.unwrap_or("sharing_change");
        w.save(&mut tx, actor, &ticket, &mut after, Some(reason.to_owned()))
            .await?;
        let mut fired = happenings(&ticket, &after, &w.statuses);
        fired.push(Happening::CommentAdded { public: true });
        w.run_rules(&mut tx, after, fired, performer(p)).await?;

        // The record.
        let mut record = SharingChange {
            id: 0,
            organization_id: org_id,
            ticket_id,
            before: org.sharing,
            after: input.sharing,
            type_confirmed_comment_id: CommentId(
                input.type_confirmed_comment_id.unwrap_or_default(),
            ),
            type_confirmed_by: type_by,
            risk_approved_comment_id: risk_by.and(input.risk_approved_comment_id.map(CommentId)),
            risk_approved_by: risk_by,
            admin_id: p.user.id,
            details_line: line,
            created_at: now,
        };
        record.id = store::insert(&mut tx, &record).await?;
        commit(tx).await?;
        Ok(change_out(record, &settings.public_base_url))
    }

    /// The sharing history of an organization (agents and admins).
    pub async fn sharing_history(
        &self,
        p: &Principal,
        org: OrganizationId,
    ) -> Result<Vec<SharingChangeOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        dir::get_organization(&mut c, org)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let base = crate::settings::load(&mut c).await?.public_base_url;
        Ok(store::history(&mut c, org)
            .await?
            .into_iter()
            .map(|s| change_out(s, &base))
            .collect())
    }

    /// Every organization that shares, since when and as per which ticket (agents and admins).
    pub async fn sharing_register(&self, p: &Principal) -> Result<Vec<RegisterEntryOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let base = crate::settings::load(&mut c).await?.public_base_url;
        let imported = ferrodesk_store::imports::sharing_imports(&mut c).await?;
        Ok(store::register(&mut c)
            .await?
            .into_iter()
            .map(|e| {
                let import = imported
                    .iter()
                    .find(|i| i.organization_id == e.organization_id && i.sharing == e.sharing)
                    .filter(|_| e.change.is_none());
                RegisterEntryOut {
                    organization_id: e.organization_id.0,
                    organization_name: e.name,
                    sharing: e.sharing,
                    since: e
                        .change
                        .as_ref()
                        .map(|c| rfc3339(c.created_at))
                        .or_else(|| import.map(|i| rfc3339(i.imported_at))),
                    ticket_id: e.change.as_ref().map(|c| c.ticket_id.0),
                    ticket_url: e.change.as_ref().map(|c| ticket_url(&base, c.ticket_id)),
                    admin_id: e.change.as_ref().map(|c| c.admin_id.0),
                    imported: import.map(|i| format!("imported from {} ({})", i.vendor, i.source)),
                }
            })
            .collect())
    }

    /// What changing the organization's sharing to `to` would do (agents and admins).
    pub async fn sharing_preview(
        &self,
        p: &Principal,
        org_id: OrganizationId,
        to: Sharing,
    ) -> Result<SharingPreviewOut> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let org = dir::get_organization(&mut c, org_id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let members = dir::member_ids(&mut c, org_id).await?;
        let viewers = dir::load_viewers(&mut c, &members).await?;
        let (mut gaining, mut losing, mut gaining_comment) = (Vec::new(), Vec::new(), 0i64);
        for v in viewers
            .iter()
            .filter(|v| v.role == Role::EndUser && !v.suspended)
        {
            let now = organization_grant(v.access, org.sharing);
            let then = organization_grant(v.access, to);
            match (now.is_some(), then.is_some()) {
                (false, true) => gaining.push(v.user_id.0),
                (true, false) => losing.push(v.user_id.0),
                _ => {}
            }
            if !now.is_some_and(|d| d.comment) && then.is_some_and(|d| d.comment) {
                gaining_comment += 1;
            }
        }
        let per_gaining = store::tickets_decided_by_sharing(&mut c, org_id, &gaining).await?;
        let per_losing = store::tickets_decided_by_sharing(&mut c, org_id, &losing).await?;
        let newly = store::distinct_tickets_decided_by_sharing(&mut c, org_id, &gaining).await?;
        let no_longer = store::distinct_tickets_decided_by_sharing(&mut c, org_id, &losing).await?;
        let mut sample_ids: Vec<(i64, i64)> = per_gaining
            .iter()
            .copied()
            .chain(per_losing.iter().map(|(u, n)| (*u, -n)))
            .filter(|(_, n)| *n != 0)
            .collect();
        sample_ids.truncate(10);
        let names = dir::user_names(
            &mut c,
            &sample_ids.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        )
        .await?;
        Ok(SharingPreviewOut {
            organization_id: org_id.0,
            sharing_from: org.sharing,
            sharing_to: to,
            users_gaining_access: per_gaining.iter().filter(|(_, n)| *n > 0).count() as i64,
            tickets_newly_visible: newly,
            users_losing_access: per_losing.iter().filter(|(_, n)| *n > 0).count() as i64,
            tickets_no_longer_visible: no_longer,
            users_gaining_comment: gaining_comment,
            sample: sample_ids
                .into_iter()
                .map(|(u, n)| PreviewUserOut {
                    user_id: u,
                    name: names
                        .iter()
                        .find(|(id, _)| *id == u)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_default(),
                    tickets: n,
                })
                .collect(),
        })
    }
}
