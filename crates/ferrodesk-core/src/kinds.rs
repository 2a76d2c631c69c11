//! The closed vocabularies of the domain, each stored and sent as a lowercase string.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value of a closed vocabulary that is not one of its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: {allowed}")]
pub struct UnknownWord {
    /// The words that are accepted, comma separated.
    pub allowed: String,
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialized word.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// Parses the stored word.
            pub fn parse(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord { allowed: [$($word),+].join(", ") }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> { Self::parse(s) }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

word_enum!(
    /// What a user is.
    Role {
        /// Support operations: everything, plus configuration.
        Admin => "admin",
        /// Support staff working tickets in their scope.
        Agent => "agent",
        /// A customer's person: the portal and the end-user API only.
        EndUser => "end_user",
    }
);

word_enum!(
    /// Which tickets an agent may see and work (SPEC §3.2).
    TicketScope {
        /// Every ticket.
        Global => "global",
        /// Tickets of the agent's groups, or assigned to them.
        Group => "group",
        /// Tickets assigned to the agent.
        Assigned => "assigned",
    }
);

word_enum!(
    /// What an organization's end users may do with each other's tickets (SPEC §2).
    Sharing {
        /// Each member sees only their own tickets.
        OwnOnly => "own_only",
        /// Members see all the organization's tickets and comment only on their own.
        ReadOnly => "read_only",
        /// Members see and comment on all the organization's tickets.
        ReadWrite => "read_write",
    }
);

word_enum!(
    /// An end user's own access setting (SPEC §1).
    UserAccess {
        /// Only tickets they requested or are CC'd on.
        Requested => "requested",
        /// Also their organizations' tickets, read only.
        Organization => "organization",
    }
);

word_enum!(
    /// Ticket priority.
    Priority {
        /// Low.
        Low => "low",
        /// Normal (the default).
        Normal => "normal",
        /// High.
        High => "high",
        /// Urgent.
        Urgent => "urgent",
    }
);

word_enum!(
    /// How a ticket or comment came in, or through which interface a change was made.
    Channel {
        /// The agent web app.
        Web => "web",
        /// The customer portal.
        Portal => "portal",
        /// Email.
        Email => "email",
        /// The REST API.
        Api => "api",
        /// The command line.
        Cli => "cli",
        /// Ferrodesk itself (rules, cascades, jobs).
        System => "system",
    }
);

word_enum!(
    /// How reports, SLAs and views treat a status.
    StatusCategory {
        /// Needs work.
        Open => "open",
        /// Waiting on someone else.
        Pending => "pending",
        /// Solved.
        Resolved => "resolved",
        /// Closed for good (the built-in Closed only).
        Closed => "closed",
    }
);
