//! The audit trail's hash chain (SPEC §7): each event carries the hash of the one before,
//! so altering or removing any stored event breaks the chain at that point.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash that the first event of a chain points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One field's value before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field's API name.
    pub field: String,
    /// The value before (null when the field was empty or the entity new).
    pub from: serde_json::Value,
    /// The value after.
    pub to: serde_json::Value,
}

impl FieldChange {
    /// A change from `from` to `to`.
    pub fn new(field: &str, from: impl Serialize, to: impl Serialize) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            from: serde_json::to_value(from).unwrap_or(serde_json::Value::Null),
            to: serde_json::to_value(to).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in user or token.
    User,
    /// An automation rule.
    Rule,
    /// Ferrodesk itself (cascades, jobs, the CLI).
    System,
}

impl ActorKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Rule => "rule",
            ActorKind::System => "system",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<ActorKind> {
        match s {
            "user" => Some(ActorKind::User),
            "rule" => Some(ActorKind::Rule),
            "system" => Some(ActorKind::System),
            _ => None,
        }
    }
}

/// The content of an audit event that its hash covers.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedEvent<'a> {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Microseconds since the Unix epoch.
    pub at: i64,
    /// Who.
    pub actor_kind: &'a str,
    /// Which user or rule, when any.
    pub actor_id: Option<i64>,
    /// Through which channel.
    pub via: &'a str,
    /// `ticket`, `user`, `organization`, …
    pub entity_type: &'a str,
    /// The entity's id.
    pub entity_id: i64,
    /// `created`, `updated`, `comment_added`, …
    pub action: &'a str,
    /// The field changes, as stored (JSON text).
    pub changes: &'a str,
    /// Why, when the change was not asked for directly.
    pub reason: Option<&'a str>,
    /// The previous event's hash.
    pub prev_hash: &'a str,
}

impl ChainedEvent<'_> {
    /// The event's hash: SHA-256 over every field, each length-prefixed so that no two
    /// different events can serialize alike.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        put(&self.seq.to_string());
        put(&self.at.to_string());
        put(self.actor_kind);
        put(&self.actor_id.map(|a| a.to_string()).unwrap_or_default());
        put(self.via);
        put(self.entity_type);
        put(&self.entity_id.to_string());
        put(self.action);
        put(self.changes);
        put(self.reason.unwrap_or("\u{0}"));
        put(self.prev_hash);
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(changes: &str) -> ChainedEvent<'_> {
        ChainedEvent {
            seq: 1,
            at: 5,
            actor_kind: "user",
            actor_id: Some(3),
            via: "api",
            entity_type: "ticket",
            entity_id: 9,
            action: "updated",
            changes,
            reason: None,
            prev_hash: GENESIS_HASH,
        }
    }

    #[test]
    fn any_change_to_an_event_changes_its_hash() {
        let a = event("[]").hash();
        assert_eq!(a, event("[]").hash());
        assert_ne!(a, event("[ ]").hash());
        let mut e = event("[]");
        e.reason = Some("");
        assert_ne!(a, e.hash());
    }
}
