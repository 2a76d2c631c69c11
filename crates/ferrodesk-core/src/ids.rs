//! Typed ids. Every id is a 64-bit integer on both databases; the newtype keeps a
//! ticket id from being passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A user: admin, agent or end user.
    UserId,
    /// A customer organization.
    OrganizationId,
    /// A team of agents.
    GroupId,
    /// A ticket status, built-in or custom.
    StatusId,
    /// A ticket.
    TicketId,
    /// A public reply or private note.
    CommentId,
    /// A custom ticket field definition.
    FieldId,
);
