//! What requests would otherwise read again and again — a user's groups and organizations
//! (with their sharing), the statuses, the custom field definitions, the active rules — kept
//! per *directory generation*: a value the database changes itself, by triggers in the
//! writing transaction, whenever memberships, organizations, statuses, custom fields or rules
//! change (migration 0015). A request reads the generation in the statement that reads its
//! session or token anyway (a ticket write, in its transaction), and an entry is used only at
//! that same generation: nothing is served past a committed change, on any instance (SPEC §9).
//! An entry is filled from reads made after its generation was read, so it is never older
//! than it; a new generation is random, so one left by a transaction that rolled back is never
//! reached again by committed changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::directory::Status;
use crate::rules::StoredRule;
use crate::tickets::CustomField;

/// A group (kind 0) or organization with its sharing (kind 1) of a user.
pub(crate) type Link = (i64, i64, String);

/// Users' links, each with the generation it was read at.
type Links = HashMap<i64, (i64, Arc<Vec<Link>>)>;

/// Users whose memberships are kept; past it the map starts afresh.
const MAX_USERS: usize = 10_000;

/// One value as read at one generation.
#[derive(Debug)]
pub struct Slot<T>(Mutex<Option<(i64, Arc<T>)>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Mutex::new(None))
    }
}

impl<T> Slot<T> {
    /// The value as read at `generation`, if it was.
    pub fn get(&self, generation: i64) -> Option<Arc<T>> {
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, v)| v.clone())
    }

    /// Keeps a value read after `generation` was.
    pub fn keep(&self, generation: i64, value: Arc<T>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, value));
    }
}

/// The cached directory facts of one store (shared by its clones).
#[derive(Debug, Default)]
pub struct DirectoryCache {
    links: Mutex<Links>,
    /// The statuses with their mapped groups.
    pub statuses: Slot<Vec<Status>>,
    /// The custom field definitions.
    pub custom_fields: Slot<Vec<CustomField>>,
    /// The active rules, in evaluation order.
    pub active_rules: Slot<Vec<StoredRule>>,
}

impl DirectoryCache {
    pub(crate) fn links(&self, user: i64, generation: i64) -> Option<Arc<Vec<Link>>> {
        let map = self.links.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&user)
            .filter(|(g, _)| *g == generation)
            .map(|(_, l)| l.clone())
    }

    pub(crate) fn keep_links(&self, user: i64, generation: i64, links: Arc<Vec<Link>>) {
        let mut map = self.links.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_USERS {
            map.clear();
        }
        map.insert(user, (generation, links));
    }
}
