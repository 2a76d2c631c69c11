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
//!
//! The slots are generic; what they hold is named in [`crate::DirectoryCache`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Result;

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
    fn get(&self, generation: i64) -> Option<Arc<T>> {
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, v)| v.clone())
    }

    /// Keeps a value read after `generation` was.
    fn keep(&self, generation: i64, value: Arc<T>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, value));
    }

    /// The value at `generation`: kept, or `read` (run only then) and kept.
    pub async fn get_or(
        &self,
        generation: i64,
        read: impl Future<Output = Result<T>>,
    ) -> Result<Arc<T>> {
        if let Some(v) = self.get(generation) {
            return Ok(v);
        }
        let v = Arc::new(read.await?);
        self.keep(generation, v.clone());
        Ok(v)
    }
}

/// Users kept by a [`PerUser`]; past it the map starts afresh.
const MAX_USERS: usize = 10_000;

/// Values per user, each with the generation it was read at.
type Entries<T> = HashMap<i64, (i64, Arc<T>)>;

/// One value per user, each as read at one generation.
#[derive(Debug)]
pub struct PerUser<T>(Mutex<Entries<T>>);

impl<T> Default for PerUser<T> {
    fn default() -> Self {
        PerUser(Mutex::new(HashMap::new()))
    }
}

impl<T> PerUser<T> {
    /// User `user`'s value as read at `generation`, if it was.
    fn get(&self, user: i64, generation: i64) -> Option<Arc<T>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&user)
            .filter(|(g, _)| *g == generation)
            .map(|(_, v)| v.clone())
    }

    /// Keeps user `user`'s value read after `generation` was.
    fn keep(&self, user: i64, generation: i64, value: Arc<T>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_USERS {
            map.clear();
        }
        map.insert(user, (generation, value));
    }

    /// User `user`'s value at `generation`: kept, or `read` (run only then) and kept.
    pub async fn get_or(
        &self,
        user: i64,
        generation: i64,
        read: impl Future<Output = Result<T>>,
    ) -> Result<Arc<T>> {
        if let Some(v) = self.get(user, generation) {
            return Ok(v);
        }
        let v = Arc::new(read.await?);
        self.keep(user, generation, v.clone());
        Ok(v)
    }
}
