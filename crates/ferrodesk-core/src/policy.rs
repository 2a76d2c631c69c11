//! The access policy (SPEC §3): the one definition of who may see and comment on a ticket.
//!
//! Two things come out of it, and both are computed here from the same rules:
//! - [`decide`]: the decision for one user and one ticket, with the reason (SPEC §3.3);
//! - [`list_scope`]: the set of tickets a user may see, as terms the store turns into SQL.
//!
//! [`ListScope::matches`] evaluates the terms in memory; a property test proves it agrees
//! with [`decide`] on random worlds, and the store's tests prove its SQL agrees with
//! [`ListScope::matches`]. Nothing else in Ferrodesk decides access.

use serde::Serialize;

use crate::{GroupId, OrganizationId, Role, Sharing, TicketId, TicketScope, UserAccess, UserId};

/// One organization an end user belongs to, with the organization's current sharing mode.
/// Loaded fresh for every request, so a sharing change is in force on the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The organization.
    pub organization_id: OrganizationId,
    /// Its sharing mode now.
    pub sharing: Sharing,
}

/// The facts about a user that access depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Who.
    pub user_id: UserId,
    /// Admin, agent or end user.
    pub role: Role,
    /// For agents: which tickets they work.
    pub ticket_scope: TicketScope,
    /// For agents: the groups they are in.
    pub group_ids: Vec<GroupId>,
    /// For end users: their own access setting.
    pub access: UserAccess,
    /// For end users: their organizations and each one's sharing mode.
    pub memberships: Vec<Membership>,
    /// Suspended users may do nothing.
    pub suspended: bool,
}

/// The facts about a ticket that access depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketFacts {
    /// The ticket.
    pub id: TicketId,
    /// Who asked.
    pub requester_id: UserId,
    /// The organization the ticket belongs to, if any.
    pub organization_id: Option<OrganizationId>,
    /// Primary owner group.
    pub group_id: Option<GroupId>,
    /// Primary owner agent.
    pub assignee_id: Option<UserId>,
    /// Internal owner group (shared ownership).
    pub internal_group_id: Option<GroupId>,
    /// Internal owner agent (shared ownership).
    pub internal_agent_id: Option<UserId>,
    /// End users copied on the ticket.
    pub cc_ids: Vec<UserId>,
}

/// Why a user may see a ticket: the row of the SPEC §3 tables that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Admins see every ticket.
    Admin,
    /// An agent with the `global` scope.
    GlobalScope,
    /// The user asked for the ticket.
    Requester,
    /// The user is copied on the ticket.
    Cc,
    /// The agent is the ticket's assignee.
    Assignee,
    /// The agent is the ticket's internal agent.
    InternalAgent,
    /// A `group`-scope agent in the ticket's group.
    GroupMember,
    /// A `group`-scope agent in the ticket's internal group.
    InternalGroupMember,
    /// A member of the ticket's organization, which shares read+write.
    OrganizationReadWrite,
    /// A member of the ticket's organization, which shares read only.
    OrganizationReadOnly,
    /// A member of the ticket's organization whose own access setting is `organization`.
    UserAccessOrganization,
}

impl Reason {
    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Admin => "admins see every ticket",
            Reason::GlobalScope => "agent with global ticket scope",
            Reason::Requester => "requester of the ticket",
            Reason::Cc => "copied (CC) on the ticket",
            Reason::Assignee => "assignee of the ticket",
            Reason::InternalAgent => "internal agent of the ticket",
            Reason::GroupMember => "member of the ticket's group",
            Reason::InternalGroupMember => "member of the ticket's internal group",
            Reason::OrganizationReadWrite => {
                "member of the ticket's organization, which shares read+write"
            }
            Reason::OrganizationReadOnly => {
                "member of the ticket's organization, which shares read only"
            }
            Reason::UserAccessOrganization => {
                "member of the ticket's organization with access to the organization's tickets (read only)"
            }
        }
    }
}

/// The decision for one user and one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Why the user may see the ticket; `None` means they may not (answer 404).
    pub view: Option<Reason>,
    /// Whether they may add a public comment (agents: also private notes and field changes).
    pub comment: bool,
}

impl Decision {
    const DENY: Decision = Decision {
        view: None,
        comment: false,
    };

    fn full(reason: Reason) -> Decision {
        Decision {
            view: Some(reason),
            comment: true,
        }
    }

    fn read_only(reason: Reason) -> Decision {
        Decision {
            view: Some(reason),
            comment: false,
        }
    }

    /// May the user see the ticket?
    pub fn can_view(&self) -> bool {
        self.view.is_some()
    }
}

/// What an end user's membership gives on the organization's tickets they neither
/// requested nor are copied on, given their access setting and the organization's sharing.
pub fn organization_grant(access: UserAccess, sharing: Sharing) -> Option<Decision> {
    match (sharing, access) {
        (Sharing::ReadWrite, _) => Some(Decision::full(Reason::OrganizationReadWrite)),
        (Sharing::ReadOnly, _) => Some(Decision::read_only(Reason::OrganizationReadOnly)),
        (Sharing::OwnOnly, UserAccess::Organization) => {
            Some(Decision::read_only(Reason::UserAccessOrganization))
        }
        (Sharing::OwnOnly, UserAccess::Requested) => None,
    }
}

/// Decides whether `viewer` may see and comment on `ticket` (SPEC §3.1, §3.2).
/// When several rows apply, the reason given is the one that grants the most.
pub fn decide(viewer: &Viewer, ticket: &TicketFacts) -> Decision {
    if viewer.suspended {
        return Decision::DENY;
    }
    let me = viewer.user_id;
    match viewer.role {
        Role::Admin => Decision::full(Reason::Admin),
        Role::Agent => {
            let in_group = |g: Option<GroupId>| g.is_some_and(|g| viewer.group_ids.contains(&g));
            let reason = match viewer.ticket_scope {
                TicketScope::Global => Some(Reason::GlobalScope),
                TicketScope::Group | TicketScope::Assigned => {
                    let group_scope = viewer.ticket_scope == TicketScope::Group;
                    if ticket.assignee_id == Some(me) {
                        Some(Reason::Assignee)
                    } else if ticket.internal_agent_id == Some(me) {
                        Some(Reason::InternalAgent)
                    } else if group_scope && in_group(ticket.group_id) {
                        Some(Reason::GroupMember)
                    } else if group_scope && in_group(ticket.internal_group_id) {
                        Some(Reason::InternalGroupMember)
                    } else if ticket.requester_id == me {
                        Some(Reason::Requester)
                    } else {
                        None
                    }
                }
            };
            reason.map_or(Decision::DENY, Decision::full)
        }
        Role::EndUser => {
            if ticket.requester_id == me {
                return Decision::full(Reason::Requester);
            }
            if ticket.cc_ids.contains(&me) {
                return Decision::full(Reason::Cc);
            }
            ticket
                .organization_id
                .and_then(|org| viewer.memberships.iter().find(|m| m.organization_id == org))
                .and_then(|m| organization_grant(viewer.access, m.sharing))
                .unwrap_or(Decision::DENY)
        }
    }
}

/// A sentence saying why `viewer` may or may not see `ticket`, from the same rules as
/// [`decide`].
pub fn explain(viewer: &Viewer, ticket: &TicketFacts) -> String {
    let d = decide(viewer, ticket);
    if let Some(reason) = d.view {
        let what = if d.comment {
            "may view and comment"
        } else {
            "may view but not comment"
        };
        return format!("{what}: {}", reason.describe());
    }
    if viewer.suspended {
        return "may not view: the user is suspended".into();
    }
    match viewer.role {
        Role::Admin => unreachable!("admins see every ticket"),
        Role::Agent => {
            let scope = match viewer.ticket_scope {
                TicketScope::Global => unreachable!("global agents see every ticket"),
                TicketScope::Group => {
                    "group scope: the ticket's group and internal group are not among the agent's groups"
                }
                TicketScope::Assigned => "assigned scope",
            };
            format!(
                "may not view: {scope}, and the agent is not its assignee, internal agent or requester"
            )
        }
        Role::EndUser => {
            let org = match ticket.organization_id {
                None => "the ticket belongs to no organization".to_owned(),
                Some(o) => match viewer.memberships.iter().find(|m| m.organization_id == o) {
                    None => format!("the user is not a member of the ticket's organization {o}"),
                    Some(m) => format!(
                        "organization {o} shares {} and the user's access is {}",
                        m.sharing, viewer.access
                    ),
                },
            };
            format!("may not view: not the requester, not copied (CC), and {org}")
        }
    }
}

/// One way a ticket can be in a user's list; the store turns each into a SQL predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeTerm {
    /// `tickets.requester_id = user`.
    RequesterIs(UserId),
    /// The user is among the ticket's CCs.
    CcIncludes(UserId),
    /// `tickets.assignee_id = user`.
    AssigneeIs(UserId),
    /// `tickets.internal_agent_id = user`.
    InternalAgentIs(UserId),
    /// `tickets.group_id` is one of these (never empty).
    GroupIn(Vec<GroupId>),
    /// `tickets.internal_group_id` is one of these (never empty).
    InternalGroupIn(Vec<GroupId>),
    /// `tickets.organization_id` is one of these (never empty).
    OrganizationIn(Vec<OrganizationId>),
}

impl ScopeTerm {
    /// Evaluates the term against a ticket in memory.
    pub fn matches(&self, t: &TicketFacts) -> bool {
        match self {
            ScopeTerm::RequesterIs(u) => t.requester_id == *u,
            ScopeTerm::CcIncludes(u) => t.cc_ids.contains(u),
            ScopeTerm::AssigneeIs(u) => t.assignee_id == Some(*u),
            ScopeTerm::InternalAgentIs(u) => t.internal_agent_id == Some(*u),
            ScopeTerm::GroupIn(gs) => t.group_id.is_some_and(|g| gs.contains(&g)),
            ScopeTerm::InternalGroupIn(gs) => t.internal_group_id.is_some_and(|g| gs.contains(&g)),
            ScopeTerm::OrganizationIn(os) => t.organization_id.is_some_and(|o| os.contains(&o)),
        }
    }
}

/// The tickets a user may see, for lists, counts and search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// Every ticket.
    All,
    /// Tickets matching at least one term; no terms means no ticket.
    AnyOf(Vec<ScopeTerm>),
}

impl ListScope {
    /// Evaluates the scope against a ticket in memory.
    pub fn matches(&self, t: &TicketFacts) -> bool {
        match self {
            ListScope::All => true,
            ListScope::AnyOf(terms) => terms.iter().any(|term| term.matches(t)),
        }
    }
}

/// The list scope of `viewer`, from the same rules as [`decide`].
pub fn list_scope(viewer: &Viewer) -> ListScope {
    if viewer.suspended {
        return ListScope::AnyOf(Vec::new());
    }
    let me = viewer.user_id;
    match viewer.role {
        Role::Admin => ListScope::All,
        Role::Agent => match viewer.ticket_scope {
            TicketScope::Global => ListScope::All,
            TicketScope::Group | TicketScope::Assigned => {
                let mut terms = vec![
                    ScopeTerm::AssigneeIs(me),
                    ScopeTerm::InternalAgentIs(me),
                    ScopeTerm::RequesterIs(me),
                ];
                if viewer.ticket_scope == TicketScope::Group && !viewer.group_ids.is_empty() {
                    terms.push(ScopeTerm::GroupIn(viewer.group_ids.clone()));
                    terms.push(ScopeTerm::InternalGroupIn(viewer.group_ids.clone()));
                }
                ListScope::AnyOf(terms)
            }
        },
        Role::EndUser => {
            let mut terms = vec![ScopeTerm::RequesterIs(me), ScopeTerm::CcIncludes(me)];
            let orgs: Vec<OrganizationId> = viewer
                .memberships
                .iter()
                .filter(|m| organization_grant(viewer.access, m.sharing).is_some())
                .map(|m| m.organization_id)
                .collect();
            if !orgs.is_empty() {
                terms.push(ScopeTerm::OrganizationIn(orgs));
            }
            ListScope::AnyOf(terms)
        }
    }
}

/// May this user see private notes, internal fields and audit details of tickets they see?
pub fn sees_internals(viewer: &Viewer) -> bool {
    matches!(viewer.role, Role::Admin | Role::Agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn viewer_strategy() -> impl Strategy<Value = Viewer> {
        (
            1i64..6,
            prop::sample::select(Role::ALL),
            prop::sample::select(TicketScope::ALL),
            prop::collection::vec(1i64..4, 0..3),
            prop::sample::select(UserAccess::ALL),
            prop::collection::vec((1i64..4, prop::sample::select(Sharing::ALL)), 0..3),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(u, role, scope, groups, access, orgs, suspended)| {
                let mut memberships: Vec<Membership> = Vec::new();
                for (o, sharing) in orgs {
                    if !memberships.iter().any(|m| m.organization_id.0 == o) {
                        memberships.push(Membership {
                            organization_id: OrganizationId(o),
                            sharing,
                        });
                    }
                }
                Viewer {
                    user_id: UserId(u),
                    role,
                    ticket_scope: scope,
                    group_ids: groups.into_iter().map(GroupId).collect(),
                    access,
                    memberships,
                    suspended,
                }
            })
    }

    fn ticket_strategy() -> impl Strategy<Value = TicketFacts> {
        let opt = |hi: i64| prop::option::of(1i64..hi);
        (
            1i64..6,
            opt(4),
            opt(4),
            opt(6),
            opt(4),
            opt(6),
            prop::collection::vec(1i64..6, 0..3),
        )
            .prop_map(|(r, o, g, a, ig, ia, ccs)| TicketFacts {
                id: TicketId(1),
                requester_id: UserId(r),
                organization_id: o.map(OrganizationId),
                group_id: g.map(GroupId),
                assignee_id: a.map(UserId),
                internal_group_id: ig.map(GroupId),
                internal_agent_id: ia.map(UserId),
                cc_ids: ccs.into_iter().map(UserId).collect(),
            })
    }

    proptest! {
        #[test]
        fn list_scope_agrees_with_the_single_ticket_decision(
            viewer in viewer_strategy(),
            ticket in ticket_strategy(),
        ) {
            prop_assert_eq!(list_scope(&viewer).matches(&ticket), decide(&viewer, &ticket).can_view());
        }

        #[test]
        fn whoever_may_comment_may_view(viewer in viewer_strategy(), ticket in ticket_strategy()) {
            let d = decide(&viewer, &ticket);
            prop_assert!(!d.comment || d.can_view());
        }
    }

    fn end_user(access: UserAccess, sharing: Sharing) -> Viewer {
        Viewer {
            user_id: UserId(1),
            role: Role::EndUser,
            ticket_scope: TicketScope::Assigned,
            group_ids: vec![],
            access,
            memberships: vec![Membership {
                organization_id: OrganizationId(7),
                sharing,
            }],
            suspended: false,
        }
    }

    fn colleagues_ticket() -> TicketFacts {
        TicketFacts {
            id: TicketId(1),
            requester_id: UserId(2),
            organization_id: Some(OrganizationId(7)),
            ..TicketFacts::default()
        }
    }

    #[test]
    fn the_end_user_table_of_spec_3_1() {
        let t = colleagues_ticket();
        let cases = [
            (UserAccess::Requested, Sharing::OwnOnly, None, false),
            (
                UserAccess::Requested,
                Sharing::ReadOnly,
                Some(Reason::OrganizationReadOnly),
                false,
            ),
            (
                UserAccess::Requested,
                Sharing::ReadWrite,
                Some(Reason::OrganizationReadWrite),
                true,
            ),
            (
                UserAccess::Organization,
                Sharing::OwnOnly,
                Some(Reason::UserAccessOrganization),
                false,
            ),
            (
                UserAccess::Organization,
                Sharing::ReadWrite,
                Some(Reason::OrganizationReadWrite),
                true,
            ),
        ];
        for (access, sharing, view, comment) in cases {
            let d = decide(&end_user(access, sharing), &t);
            assert_eq!((d.view, d.comment), (view, comment), "{access} {sharing}");
        }
        let own = TicketFacts {
            requester_id: UserId(1),
            ..t.clone()
        };
        let d = decide(&end_user(UserAccess::Requested, Sharing::ReadOnly), &own);
        assert_eq!((d.view, d.comment), (Some(Reason::Requester), true));
        let cc = TicketFacts {
            organization_id: None,
            cc_ids: vec![UserId(1)],
            ..t
        };
        let d = decide(&end_user(UserAccess::Requested, Sharing::OwnOnly), &cc);
        assert_eq!((d.view, d.comment), (Some(Reason::Cc), true));
    }

    #[test]
    fn suspended_users_see_nothing() {
        let mut v = end_user(UserAccess::Organization, Sharing::ReadWrite);
        v.suspended = true;
        let own = TicketFacts {
            requester_id: UserId(1),
            ..colleagues_ticket()
        };
        assert!(!decide(&v, &own).can_view());
        assert!(!list_scope(&v).matches(&own));
    }
}
