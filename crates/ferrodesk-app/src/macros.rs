//! Macros (canned responses): a reply or note text with the properties to set with it
//! (status, priority, group, internal group, tags to add). Personal, for a group or for
//! everyone, with the same rules as views ([`crate::views::Shared`]). Applying one only fills
//! the agent's form: the change is written when the agent sends it, through the one write
//! pipeline, so nothing here touches tickets.

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{GroupId, Priority, Role};
use ferrodesk_store::directory as dir;
use ferrodesk_store::macros::{self as store, StoredMacro};
use serde_json::json;

use crate::directory::commit;
use crate::dto::{MacroIn, MacroOut, rfc3339};
use crate::tickets::MAX_COMMENT_CHARS;
use crate::views::{Shared, check_sharing};
use crate::{Actor, App, AppError, Fields, Principal, Result, field_changes};

/// The longest name.
pub const MAX_NAME_CHARS: usize = 100;
/// The most tags one macro adds.
pub const MAX_TAGS: usize = 20;

fn shared(m: &StoredMacro) -> Shared<'_> {
    Shared {
        visibility: &m.visibility,
        owner_id: m.owner_id,
        group_id: m.group_id,
    }
}

fn tags_of(m: &StoredMacro) -> Vec<String> {
    serde_json::from_str(&m.add_tags).unwrap_or_default()
}

fn out(p: &Principal, m: StoredMacro) -> MacroOut {
    MacroOut {
        editable: shared(&m).may_edit(p),
        add_tags: tags_of(&m),
        id: m.id,
        name: m.name,
        visibility: m.visibility,
        owner_id: m.owner_id,
        group_id: m.group_id,
        body: m.body,
        public: m.public,
        set_status_id: m.status_id,
        set_priority: m.priority,
        set_group_id: m.set_group_id,
        set_internal_group_id: m.internal_group_id,
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
    }
}

/// The audited fields of a macro.
fn fields(m: &StoredMacro) -> Fields {
    vec![
        ("name", json!(m.name)),
        ("visibility", json!(m.visibility)),
        ("owner_id", json!(m.owner_id)),
        ("group_id", json!(m.group_id)),
        ("body", json!(m.body)),
        ("public", json!(m.public)),
        ("status_id", json!(m.status_id)),
        ("priority", json!(m.priority)),
        ("set_group_id", json!(m.set_group_id)),
        ("internal_group_id", json!(m.internal_group_id)),
        ("add_tags", json!(tags_of(m))),
    ]
}

impl App {
    /// A macro the caller may use (agents and admins); any other answers "no such macro".
    async fn usable_macro(
        &self,
        c: &mut ferrodesk_store::Conn,
        p: &Principal,
        id: i64,
    ) -> Result<StoredMacro> {
        p.require_staff()?;
        match store::get(c, id).await? {
            Some(m) if shared(&m).may_use(p) => Ok(m),
            _ => Err(AppError::NotFound("macro")),
        }
    }

    /// The macros the caller may use, by name.
    pub async fn list_macros(&self, p: &Principal) -> Result<Vec<MacroOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let groups: Vec<i64> = p.user.group_ids.iter().map(|g| g.0).collect();
        Ok(store::visible_to(&mut c, p.user.id.0, &groups)
            .await?
            .into_iter()
            .map(|m| out(p, m))
            .collect())
    }

    /// One macro (to apply it, or to edit it).
    pub async fn get_macro(&self, p: &Principal, id: i64) -> Result<MacroOut> {
        let mut c = self.store().read().await?;
        let m = self.usable_macro(&mut c, p, id).await?;
        Ok(out(p, m))
    }

    /// Creates (`id` None) or changes a macro: its owner, a member of its group, or an admin.
    pub async fn save_macro(
        &self,
        p: &Principal,
        id: Option<i64>,
        input: MacroIn,
    ) -> Result<MacroOut> {
        p.require_staff()?;
        // A write transaction: writers are serial on both databases (`Store::begin`), so the
        // macro read here is the one changed below.
        let mut tx = self.store().begin().await?;
        let current = match id {
            Some(id) => {
                let m = self.usable_macro(&mut tx, p, id).await?;
                if !shared(&m).may_edit(p) {
                    return Err(AppError::forbidden(
                        "macro_not_editable",
                        "only the owner, the group or an admin may change this macro",
                    ));
                }
                Some(m)
            }
            None => None,
        };
        let cur = current.as_ref();
        let mut problems = Problems::default();
        let name = match (&input.name, cur) {
            (Some(n), _) => problems.check(validate::name("name", n, MAX_NAME_CHARS)),
            (None, Some(m)) => Some(m.name.clone()),
            (None, None) => {
                problems.push(FieldError::new(
                    "name",
                    "required",
                    "name must not be empty",
                ));
                None
            }
        };
        let body = match (&input.body, cur) {
            (Some(b), _) => problems.check(validate::text("body", b, 1, MAX_COMMENT_CHARS)),
            (None, Some(m)) => Some(m.body.clone()),
            (None, None) => {
                problems.push(FieldError::new(
                    "body",
                    "required",
                    "body must not be empty",
                ));
                None
            }
        };
        let visibility = input
            .visibility
            .clone()
            .or(cur.map(|m| m.visibility.clone()))
            .unwrap_or_else(|| "personal".into());
        let group_id = input.group_id.or(cur.and_then(|m| m.group_id));
        check_sharing(p, "macro", &visibility, group_id, &mut problems);
        let groups = dir::list_groups(&mut tx, None).await?;
        let group_exists = |g: i64| groups.iter().any(|x| x.id.0 == g);
        // Agents share only with their own groups (checked above); an admin's may not exist.
        if visibility == "group"
            && p.user.role == Role::Admin
            && let Some(g) = group_id
            && !group_exists(g)
        {
            problems.push(FieldError::new(
                "group_id",
                "not_found",
                format!("group {g} does not exist"),
            ));
        }
        // The properties to set: what was sent, else what is stored.
        let status_id = input.set_status_id.unwrap_or(cur.and_then(|m| m.status_id));
        let priority = input
            .set_priority
            .clone()
            .unwrap_or(cur.and_then(|m| m.priority.clone()));
        let set_group_id = input
            .set_group_id
            .unwrap_or(cur.and_then(|m| m.set_group_id));
        let internal_group_id = input
            .set_internal_group_id
            .unwrap_or(cur.and_then(|m| m.internal_group_id));
        let statuses = self.statuses(&mut tx, p).await?;
        let status = match status_id {
            Some(s) => match statuses.iter().find(|x| x.id.0 == s) {
                Some(st) => Some(st),
                None => {
                    problems.push(FieldError::new(
                        "set_status_id",
                        "not_found",
                        format!("status {s} does not exist"),
                    ));
                    None
                }
            },
            None => None,
        };
        let priority = match priority {
            Some(pr) => match Priority::parse(pr.trim()) {
                Ok(pr) => Some(pr.as_str().to_owned()),
                Err(_) => {
                    problems.push(FieldError::new(
                        "set_priority",
                        "invalid_value",
                        "priority is low, normal, high or urgent",
                    ));
                    None
                }
            },
            None => None,
        };
        if let Some(g) = set_group_id
            && !group_exists(g)
        {
            problems.push(FieldError::new(
                "set_group_id",
                "not_found",
                format!("group {g} does not exist"),
            ));
        }
        if let Some(g) = internal_group_id {
            if !group_exists(g) {
                problems.push(FieldError::new(
                    "set_internal_group_id",
                    "not_found",
                    format!("group {g} does not exist"),
                ));
            } else if let Some(st) = status
                && !st.maps(GroupId(g))
            {
                // As the ticket write pipeline says it (SPEC §4): the internal group must be
                // mapped to the status the macro sets.
                let mapped: Vec<&str> = groups
                    .iter()
                    .filter(|gr| st.maps(gr.id))
                    .map(|gr| gr.name.as_str())
                    .collect();
                problems.push(FieldError::new(
                    "set_internal_group_id",
                    "wrong_internal_group",
                    if mapped.is_empty() {
                        format!(
                            "no group is mapped to status {}: it cannot have an internal group",
                            st.name
                        )
                    } else {
                        format!(
                            "status {} allows these internal groups: {}",
                            st.name,
                            mapped.join(", ")
                        )
                    },
                ));
            }
        }
        let add_tags = match &input.add_tags {
            Some(t) => problems
                .check(validate::tags("add_tags", t, MAX_TAGS))
                .unwrap_or_default(),
            None => cur.map(tags_of).unwrap_or_default(),
        };
        problems.finish().map_err(AppError::Invalid)?;
        let now = self.now();
        let mut m = StoredMacro {
            id: id.unwrap_or(0),
            name: name.unwrap_or_default(),
            owner_id: (visibility == "personal")
                .then_some(cur.and_then(|m| m.owner_id).unwrap_or(p.user.id.0)),
            group_id: if visibility == "group" {
                group_id
            } else {
                None
            },
            visibility,
            body: body.unwrap_or_default(),
            public: input.public.or(cur.map(|m| m.public)).unwrap_or(true),
            status_id,
            priority,
            set_group_id,
            internal_group_id,
            add_tags: serde_json::to_string(&add_tags)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: cur.map_or(now, |m| m.created_at),
            updated_at: now,
        };
        match id {
            Some(_) => store::update(&mut tx, &m).await?,
            None => m.id = store::insert(&mut tx, &m).await?,
        }
        let changes = field_changes(current.as_ref().map(fields), fields(&m));
        self.audit(
            &mut tx,
            Actor::from(p),
            ("macro", m.id),
            if id.is_some() { "updated" } else { "created" },
            changes,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(out(p, m))
    }

    /// Deletes a macro (its owner, a member of its group, or an admin).
    pub async fn delete_macro(&self, p: &Principal, id: i64) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let m = self.usable_macro(&mut tx, p, id).await?;
        if !shared(&m).may_edit(p) {
            return Err(AppError::forbidden(
                "macro_not_editable",
                "only the owner, the group or an admin may delete this macro",
            ));
        }
        store::delete(&mut tx, id).await?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("macro", id),
            "deleted",
            vec![FieldChange::new("name", &m.name, ())],
            None,
        )
        .await?;
        commit(tx).await
    }
}
