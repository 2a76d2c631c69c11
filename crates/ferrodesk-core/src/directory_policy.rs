//! Who may change whom in the directory (SPEC §3.4). A user record is a key to tickets:
//! organization memberships and `access: organization` open an organization's tickets, an
//! email address or password opens an account. One definition, used by every entry point
//! (`/api/v1`, the web app, and later the vendor APIs and importers).

use crate::policy::Viewer;
use crate::{Role, TicketScope, UserAccess, UserId};

/// Something done to a user record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryAct {
    /// Create a user with this role and access, member of organizations of which the actor
    /// may already see every ticket (`memberships_seen_in_full`) or not.
    Create {
        /// The new user's role.
        role: Role,
        /// The new user's access setting (end users).
        access: UserAccess,
        /// Whether the user is made a member of any organization.
        with_memberships: bool,
        /// Whether the actor may already see every ticket of each of those organizations.
        memberships_seen_in_full: bool,
    },
    /// Rename.
    Rename,
    /// Change the sign-in email.
    ChangeEmail,
    /// Change the password.
    ChangePassword,
    /// Change the role.
    ChangeRole,
    /// Change an agent's ticket scope.
    ChangeScope,
    /// Change an end user's access setting to this value.
    ChangeAccess(UserAccess),
    /// Suspend or unsuspend.
    Suspend,
    /// Choose the default among the user's existing organizations.
    ChangeDefaultOrganization,
    /// Add or remove an organization membership.
    ChangeMembership,
    /// Grant or withdraw an agent's membership permission.
    ChangePermissions,
    /// Set the time zone pages show times in to them.
    ChangeTimeZone,
}

/// The user an act is done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Who.
    pub id: UserId,
    /// Their role.
    pub role: Role,
}

/// Why an act is refused: the field it concerns and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The input field.
    pub field: &'static str,
    /// For the person who tried.
    pub message: &'static str,
}

fn refuse(field: &'static str, message: &'static str) -> Result<(), Refusal> {
    Err(Refusal { field, message })
}

/// Whether `actor` may do `act` (to `target`, when the act changes an existing user).
/// `manages_memberships`: the actor is an agent an admin let manage organization memberships
/// and access (SPEC §3.4); admins hold that by their role.
pub fn may(
    actor: &Viewer,
    manages_memberships: bool,
    act: &DirectoryAct,
    target: Option<Target>,
) -> Result<(), Refusal> {
    if actor.suspended {
        return refuse("user", "suspended users can do nothing");
    }
    let admin = actor.role == Role::Admin;
    // Memberships and organization access: admins, and agents an admin trusts with them.
    let grants = admin || (actor.role == Role::Agent && manages_memberships);
    let staff = actor.role != Role::EndUser;
    let is_self = target.is_some_and(|t| t.id == actor.user_id);
    let on_end_user = target.is_some_and(|t| t.role == Role::EndUser);
    match act {
        DirectoryAct::Create {
            role,
            access,
            with_memberships,
            memberships_seen_in_full,
        } => {
            if !staff {
                return refuse("role", "end users cannot create users");
            }
            if *role != Role::EndUser && !admin {
                return refuse("role", "only admins create agents and admins");
            }
            // One refusal at a time: the app asks about each key the new user would hold on
            // its own, to report them all.
            if *access == UserAccess::Organization && !grants {
                return refuse(
                    "access",
                    "only admins give an end user access to their organizations' tickets",
                );
            }
            if *with_memberships && !grants && !memberships_seen_in_full {
                return refuse(
                    "organization_ids",
                    "agents may add a new customer only to organizations whose tickets they already see in full; ask an admin",
                );
            }
            Ok(())
        }
        DirectoryAct::Rename => {
            if admin || is_self || (staff && on_end_user) {
                Ok(())
            } else {
                refuse("name", "you may not rename this user")
            }
        }
        // What only the user themselves or an admin may change.
        DirectoryAct::ChangeEmail | DirectoryAct::ChangeTimeZone | DirectoryAct::ChangePassword => {
            if admin || is_self {
                Ok(())
            } else {
                match act {
                    DirectoryAct::ChangeEmail => refuse(
                        "email",
                        "only the user themselves or an admin may change a sign-in email",
                    ),
                    DirectoryAct::ChangeTimeZone => refuse(
                        "time_zone",
                        "only the user themselves or an admin may change a time zone",
                    ),
                    _ => refuse(
                        "password",
                        "only the user themselves or an admin may change a password",
                    ),
                }
            }
        }
        DirectoryAct::ChangeRole => {
            if admin && !is_self {
                Ok(())
            } else {
                refuse("role", "only admins change roles, and not their own")
            }
        }
        DirectoryAct::ChangeScope => {
            if admin {
                Ok(())
            } else {
                refuse("ticket_scope", "only admins change ticket scopes")
            }
        }
        DirectoryAct::ChangeAccess(to) => {
            // Taking organization access away narrows what the user sees: agents may do
            // that for the customers they serve; granting it is an admin's act.
            if grants || (staff && on_end_user && *to == UserAccess::Requested) {
                Ok(())
            } else {
                refuse(
                    "access",
                    "only admins give an end user access to their organizations' tickets",
                )
            }
        }
        DirectoryAct::Suspend => {
            if admin && !is_self {
                Ok(())
            } else {
                refuse("suspended", "only admins suspend users, and not themselves")
            }
        }
        DirectoryAct::ChangeDefaultOrganization => {
            if staff {
                Ok(())
            } else {
                refuse(
                    "default_organization_id",
                    "only agents change default organizations",
                )
            }
        }
        DirectoryAct::ChangeMembership => {
            if grants {
                Ok(())
            } else {
                refuse(
                    "organization_ids",
                    "only admins (and agents they let manage memberships) add people to organizations or remove them",
                )
            }
        }
        DirectoryAct::ChangePermissions => {
            if admin && !is_self {
                Ok(())
            } else {
                refuse(
                    "manages_memberships",
                    "only admins grant permissions, and not to themselves",
                )
            }
        }
    }
}

/// Whether an agent of `scope` sees every ticket whatever it is (no need to count).
pub fn sees_every_ticket(actor: &Viewer) -> bool {
    actor.role == Role::Admin
        || (actor.role == Role::Agent && actor.ticket_scope == TicketScope::Global)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(id: i64, role: Role, scope: TicketScope) -> Viewer {
        Viewer {
            user_id: UserId(id),
            role,
            ticket_scope: scope,
            group_ids: Vec::new(),
            access: UserAccess::Requested,
            memberships: Vec::new(),
            suspended: false,
        }
    }

    fn create(access: UserAccess, with: bool, seen: bool) -> DirectoryAct {
        DirectoryAct::Create {
            role: Role::EndUser,
            access,
            with_memberships: with,
            memberships_seen_in_full: seen,
        }
    }

    #[test]
    fn agents_create_customers_but_never_grant_organization_access() {
        let agent = viewer(1, Role::Agent, TicketScope::Assigned);
        assert!(
            may(
                &agent,
                false,
                &create(UserAccess::Requested, false, false),
                None
            )
            .is_ok()
        );
        assert_eq!(
            may(
                &agent,
                false,
                &create(UserAccess::Organization, false, false),
                None
            )
            .unwrap_err()
            .field,
            "access"
        );
        assert_eq!(
            may(
                &agent,
                false,
                &create(UserAccess::Requested, true, false),
                None
            )
            .unwrap_err()
            .field,
            "organization_ids"
        );
        assert!(
            may(
                &agent,
                false,
                &create(UserAccess::Requested, true, true),
                None
            )
            .is_ok()
        );
        let admin = viewer(2, Role::Admin, TicketScope::Global);
        assert!(
            may(
                &admin,
                false,
                &create(UserAccess::Organization, true, false),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn only_the_user_or_an_admin_changes_email_and_password() {
        let agent = viewer(1, Role::Agent, TicketScope::Global);
        let customer = Target {
            id: UserId(9),
            role: Role::EndUser,
        };
        for act in [DirectoryAct::ChangeEmail, DirectoryAct::ChangePassword] {
            assert!(may(&agent, false, &act, Some(customer)).is_err(), "{act:?}");
            let me = viewer(9, Role::EndUser, TicketScope::Global);
            assert!(may(&me, false, &act, Some(customer)).is_ok(), "{act:?}");
            let admin = viewer(2, Role::Admin, TicketScope::Global);
            assert!(may(&admin, false, &act, Some(customer)).is_ok(), "{act:?}");
        }
        assert!(may(&agent, false, &DirectoryAct::Rename, Some(customer)).is_ok());
        assert!(
            may(
                &agent,
                false,
                &DirectoryAct::ChangeAccess(UserAccess::Organization),
                Some(customer)
            )
            .is_err()
        );
        assert!(
            may(
                &agent,
                false,
                &DirectoryAct::ChangeAccess(UserAccess::Requested),
                Some(customer)
            )
            .is_ok()
        );
        assert!(
            may(
                &agent,
                false,
                &DirectoryAct::ChangeMembership,
                Some(customer)
            )
            .is_err()
        );
        // An agent an admin trusts with memberships may add them and grant access.
        assert!(
            may(
                &agent,
                true,
                &DirectoryAct::ChangeMembership,
                Some(customer)
            )
            .is_ok()
        );
        assert!(
            may(
                &agent,
                true,
                &DirectoryAct::ChangeAccess(UserAccess::Organization),
                Some(customer)
            )
            .is_ok()
        );
        let me = Target {
            id: UserId(1),
            role: Role::Agent,
        };
        assert!(may(&agent, true, &DirectoryAct::ChangePermissions, Some(me)).is_err());
    }
}
