//! Agent views (SPEC §6): saved filters, always intersected with the agent's scope.

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::policy;
use ferrodesk_core::rules::{Condition, Conditions};
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_core::{Priority, Role, StatusCategory};
use ferrodesk_store::directory as dir;
use ferrodesk_store::scope::IdColumn;
use ferrodesk_store::view_query::{self, Pred, SortKey, ViewQuery};
use ferrodesk_store::views::{self as store, StoredView};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::directory::{commit, page_size};
use crate::dto::{Page, TicketOut, ViewCountOut, ViewIn, ViewOut, ViewSort};
use crate::tickets::ticket_out;
use crate::{Actor, App, AppError, Principal, Result};

const COLUMNS: &[&str] = &[
    "subject",
    "requester",
    "organization",
    "status",
    "priority",
    "group",
    "assignee",
    "internal_group",
    "internal_agent",
    "tags",
    "created_at",
    "updated_at",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Definition {
    #[serde(default)]
    conditions: Conditions,
    sort: ViewSort,
    #[serde(default)]
    columns: Vec<String>,
}

fn parse(v: &StoredView) -> Result<Definition> {
    serde_json::from_str(&v.definition)
        .map_err(|e| AppError::Internal(format!("view {} is corrupt: {e}", v.id)))
}

fn out(v: StoredView, d: Definition) -> ViewOut {
    ViewOut {
        id: v.id,
        name: v.name,
        visibility: v.visibility,
        owner_id: v.owner_id,
        group_id: v.group_id,
        built_in: v.built_in,
        conditions: d.conditions,
        sort: d.sort,
        columns: d.columns,
    }
}

/// Values of a condition as a list (a single value is a list of one).
fn values(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// Resolves and checks one condition into a store predicate.
fn compile(
    p: &Principal,
    path: &str,
    c: &Condition,
    statuses: &[dir::Status],
    fields: &[ferrodesk_store::tickets::CustomField],
    now: i64,
) -> std::result::Result<Pred, FieldError> {
    let bad_op = |ops: &str| {
        FieldError::new(
            format!("{path}.operator"),
            "invalid_operator",
            format!("{} takes the operators {ops}", c.field),
        )
    };
    let bad_value = |msg: String| FieldError::new(format!("{path}.value"), "invalid_value", msg);
    let negate = match c.operator.as_str() {
        "is" | "includes" | "contains" => false,
        "is_not" | "not_includes" | "not_contains" => true,
        "within_days" | "older_than_days" => false,
        _ => {
            return Err(bad_op(
                "is, is_not (and includes/contains/within_days where they apply)",
            ));
        }
    };
    let ids =
        |allow_me: bool, allow_groups: bool| -> std::result::Result<(Vec<i64>, bool), FieldError> {
            let (mut out, mut or_null) = (Vec::new(), false);
            for v in values(&c.value) {
                match v {
                    Value::Null => or_null = true,
                    Value::Number(n) if n.as_i64().is_some() => {
                        out.push(n.as_i64().unwrap_or_default())
                    }
                    Value::String(s) if allow_me && s == "me" => out.push(p.user.id.0),
                    Value::String(s) if allow_groups && s == "my_groups" => {
                        out.extend(p.user.group_ids.iter().map(|g| g.0))
                    }
                    other => {
                        return Err(bad_value(format!(
                            "{} takes ids{}{}, or null: got {other}",
                            c.field,
                            if allow_me { ", \"me\"" } else { "" },
                            if allow_groups { ", \"my_groups\"" } else { "" }
                        )));
                    }
                }
            }
            Ok((out, or_null))
        };
    let id_ops = |op: &str| matches!(op, "is" | "is_not");
    let field = c.field.as_str();
    match field {
        "group" | "internal_group" | "assignee" | "internal_agent" | "organization"
        | "requester" => {
            if !id_ops(&c.operator) {
                return Err(bad_op("is, is_not"));
            }
            let agentish = matches!(field, "assignee" | "internal_agent" | "requester");
            let groupish = matches!(field, "group" | "internal_group");
            let (ids, or_null) = ids(agentish, groupish)?;
            let col = match field {
                "group" => IdColumn::Group,
                "internal_group" => IdColumn::InternalGroup,
                "assignee" => IdColumn::Assignee,
                "internal_agent" => IdColumn::InternalAgent,
                "organization" => IdColumn::Organization,
                _ => IdColumn::Requester,
            };
            Ok(Pred::Ids {
                col,
                ids,
                or_null,
                negate,
            })
        }
        "any_group" | "any_agent" => {
            if c.operator != "is" {
                return Err(bad_op("is"));
            }
            let (ids, _) = ids(field == "any_agent", field == "any_group")?;
            Ok(if field == "any_group" {
                Pred::AnyGroup(ids)
            } else {
                Pred::AnyAgent(ids)
            })
        }
        "status" => {
            if !id_ops(&c.operator) {
                return Err(bad_op("is, is_not"));
            }
            let mut ids = Vec::new();
            for v in values(&c.value) {
                let s = statuses.iter().find(|s| match &v {
                    Value::String(n) => s.name.eq_ignore_ascii_case(n),
                    Value::Number(n) => n.as_i64() == Some(s.id.0),
                    _ => false,
                });
                match s {
                    Some(s) => ids.push(s.id.0),
                    None => {
                        return Err(FieldError::new(
                            format!("{path}.value"),
                            "not_found",
                            format!("status {v} does not exist"),
                        ));
                    }
                }
            }
            Ok(Pred::Ids {
                col: IdColumn::Status,
                ids,
                or_null: false,
                negate,
            })
        }
        "category" | "priority" => {
            if !id_ops(&c.operator) {
                return Err(bad_op("is, is_not"));
            }
            let mut words = Vec::new();
            for v in values(&c.value) {
                let w = v.as_str().unwrap_or_default().to_owned();
                let ok = if field == "category" {
                    StatusCategory::parse(&w).is_ok()
                } else {
                    Priority::parse(&w).is_ok()
                };
                if !ok {
                    return Err(bad_value(format!("{field} value {v} is not valid")));
                }
                words.push(w);
            }
            Ok(if field == "category" {
                // Resolved to the statuses now in those categories (a status added later is in
                // the view from the next request on): the store can then walk one index range
                // per status in update order instead of filtering a group's closed tickets.
                Pred::Ids {
                    col: IdColumn::Status,
                    ids: statuses
                        .iter()
                        .filter(|s| words.iter().any(|w| w == s.category.as_str()) != negate)
                        .map(|s| s.id.0)
                        .collect(),
                    or_null: false,
                    negate: false,
                }
            } else {
                Pred::Priority {
                    values: words,
                    negate,
                }
            })
        }
        "tags" => {
            if !matches!(c.operator.as_str(), "includes" | "not_includes") {
                return Err(bad_op("includes, not_includes"));
            }
            let tag = validate::tag(&format!("{path}.value"), c.value.as_str().unwrap_or(""))?;
            Ok(Pred::Tag { tag, negate })
        }
        "subject" => {
            if !matches!(c.operator.as_str(), "contains" | "not_contains") {
                return Err(bad_op("contains, not_contains"));
            }
            let text = c
                .value
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad_value("subject takes text".into()))?;
            Ok(Pred::SubjectContains {
                text: text.to_owned(),
                negate,
            })
        }
        "updated_at" | "created_at" => {
            let days = c
                .value
                .as_i64()
                .filter(|d| (0..=36_500).contains(d))
                .ok_or_else(|| bad_value("a number of days from 0 to 36500".into()))?;
            let at = now - days * 86_400_000_000;
            let created = field == "created_at";
            match c.operator.as_str() {
                "within_days" => Ok(Pred::Since { created, at }),
                "older_than_days" => Ok(Pred::Before { created, at }),
                _ => Err(bad_op("within_days, older_than_days")),
            }
        }
        f => match f
            .strip_prefix("custom_field:")
            .and_then(|k| fields.iter().find(|d| d.key == k))
        {
            Some(d) => {
                if !id_ops(&c.operator) {
                    return Err(bad_op("is, is_not"));
                }
                Ok(Pred::Field {
                    field_id: d.id,
                    value: serde_json::to_string(&c.value).unwrap_or_default(),
                    negate,
                })
            }
            None => Err(FieldError::new(
                format!("{path}.field"),
                "unknown_field",
                format!("views cannot filter on {f:?}"),
            )),
        },
    }
}

/// Who may use and change something saved personal, for a group or for everyone: views
/// and macros follow the same rules.
pub(crate) struct Shared<'a> {
    /// `personal`, `group` or `everyone`.
    pub visibility: &'a str,
    /// Owner of a personal one.
    pub owner_id: Option<i64>,
    /// Group of a group one.
    pub group_id: Option<i64>,
}

impl Shared<'_> {
    fn of_view(v: &StoredView) -> Shared<'_> {
        Shared {
            visibility: &v.visibility,
            owner_id: v.owner_id,
            group_id: v.group_id,
        }
    }

    /// Everyone's, the caller's own, or their group's.
    pub fn may_use(&self, p: &Principal) -> bool {
        match self.visibility {
            "everyone" => true,
            "personal" => self.owner_id == Some(p.user.id.0),
            _ => self
                .group_id
                .is_some_and(|g| p.user.group_ids.iter().any(|x| x.0 == g)),
        }
    }

    /// Admins change any; agents their own and their groups'.
    pub fn may_edit(&self, p: &Principal) -> bool {
        p.user.role == Role::Admin
            || (self.visibility == "personal" && self.owner_id == Some(p.user.id.0))
            || (self.visibility == "group" && self.may_use(p))
    }
}

/// Checks who a `what` (view, macro) is shared with: agents keep it personal or share it
/// with one of their groups; only admins share with everyone or with any group.
pub(crate) fn check_sharing(
    p: &Principal,
    what: &str,
    visibility: &str,
    group_id: Option<i64>,
    problems: &mut Problems,
) {
    match visibility {
        "personal" => {}
        "everyone" if p.user.role != Role::Admin => problems.push(FieldError::new(
            "visibility",
            "not_allowed",
            format!("only admins share {what}s with everyone"),
        )),
        "everyone" => {}
        "group" => match group_id {
            Some(g) if p.user.role == Role::Admin || p.user.group_ids.iter().any(|x| x.0 == g) => {}
            Some(_) => problems.push(FieldError::new(
                "group_id",
                "not_a_member",
                format!("you may share {what}s only with your own groups"),
            )),
            None => problems.push(FieldError::new(
                "group_id",
                "required",
                format!("a group {what} needs group_id"),
            )),
        },
        _ => problems.push(FieldError::new(
            "visibility",
            "invalid_value",
            "visibility is personal, group or everyone",
        )),
    }
}

impl App {
    async fn compile_view(
        &self,
        c: &mut ferrodesk_store::Conn,
        p: &Principal,
        d: &Definition,
    ) -> Result<ViewQuery> {
        let statuses = self.statuses(c, p).await?;
        let fields = self.custom_fields(c, p).await?;
        let now = self.now();
        let mut problems = Problems::default();
        let mut q = ViewQuery {
            key: if d.sort.by == "created_at" {
                SortKey::Created
            } else {
                SortKey::Updated
            },
            ascending: d.sort.order == "asc",
            ..ViewQuery::default()
        };
        for (list, conds, out) in [
            ("all", &d.conditions.all, &mut q.all),
            ("any", &d.conditions.any, &mut q.any),
        ] {
            for (i, c) in conds.iter().enumerate() {
                if let Some(p) = problems.check(compile(
                    p,
                    &format!("conditions.{list}[{i}]"),
                    c,
                    &statuses,
                    &fields,
                    now,
                )) {
                    out.push(p);
                }
            }
        }
        problems.finish().map_err(AppError::Invalid)?;
        Ok(q)
    }

    fn may_use(p: &Principal, v: &StoredView) -> bool {
        Shared::of_view(v).may_use(p)
    }

    fn may_edit(p: &Principal, v: &StoredView) -> bool {
        !v.built_in && Shared::of_view(v).may_edit(p)
    }

    async fn usable_view(
        &self,
        c: &mut ferrodesk_store::Conn,
        p: &Principal,
        id: i64,
    ) -> Result<StoredView> {
        p.require_staff()?;
        match store::get(c, id).await? {
            Some(v) if Self::may_use(p, &v) => Ok(v),
            _ => Err(AppError::NotFound("view")),
        }
    }

    /// The views the caller may use (agents and admins), default views first.
    pub async fn list_views(&self, p: &Principal) -> Result<Vec<ViewOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let groups: Vec<i64> = p.user.group_ids.iter().map(|g| g.0).collect();
        store::visible_to(&mut c, p.user.id.0, &groups)
            .await?
            .into_iter()
            .map(|v| {
                let d = parse(&v)?;
                Ok(out(v, d))
            })
            .collect()
    }

    /// One view.
    pub async fn get_view(&self, p: &Principal, id: i64) -> Result<ViewOut> {
        let mut c = self.store().read().await?;
        let v = self.usable_view(&mut c, p, id).await?;
        let d = parse(&v)?;
        Ok(out(v, d))
    }

    /// Creates (`id` None) or changes a view.
    pub async fn save_view(
        &self,
        p: &Principal,
        id: Option<i64>,
        input: ViewIn,
    ) -> Result<ViewOut> {
        p.require_staff()?;
        let mut tx = self.store().begin().await?;
        let current = match id {
            Some(id) => {
                let v = self.usable_view(&mut tx, p, id).await?;
                if !Self::may_edit(p, &v) {
                    return Err(AppError::forbidden(
                        "view_not_editable",
                        if v.built_in {
                            "default views cannot be changed; copy one into a personal view"
                        } else {
                            "only the owner, the group or an admin may change this view"
                        },
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let cur_def = current.as_ref().map(parse).transpose()?;
        let mut problems = Problems::default();
        let name = match (&input.name, &current) {
            (Some(n), _) => problems.check(validate::name("name", n, 100)),
            (None, Some(v)) => Some(v.name.clone()),
            (None, None) => {
                problems.push(FieldError::new(
                    "name",
                    "required",
                    "name must not be empty",
                ));
                None
            }
        };
        let visibility = input
            .visibility
            .clone()
            .or(current.as_ref().map(|v| v.visibility.clone()))
            .unwrap_or_else(|| "personal".into());
        let group_id = input.group_id.or(current.as_ref().and_then(|v| v.group_id));
        check_sharing(p, "view", &visibility, group_id, &mut problems);
        let sort = input
            .sort
            .clone()
            .or(cur_def.as_ref().map(|d| d.sort.clone()))
            .unwrap_or(ViewSort {
                by: "updated_at".into(),
                order: "desc".into(),
            });
        if !["updated_at", "created_at"].contains(&sort.by.as_str())
            || !["asc", "desc"].contains(&sort.order.as_str())
        {
            problems.push(FieldError::new(
                "sort",
                "invalid_value",
                "sort.by is updated_at or created_at; sort.order is asc or desc",
            ));
        }
        let columns = input
            .columns
            .clone()
            .or(cur_def.as_ref().map(|d| d.columns.clone()))
            .unwrap_or_else(|| {
                vec![
                    "subject".into(),
                    "requester".into(),
                    "status".into(),
                    "updated_at".into(),
                ]
            });
        for (i, c) in columns.iter().enumerate() {
            if !COLUMNS.contains(&c.as_str()) {
                problems.push(FieldError::new(
                    format!("columns[{i}]"),
                    "unknown_column",
                    format!("columns are: {}", COLUMNS.join(", ")),
                ));
            }
        }
        let def = Definition {
            conditions: input
                .conditions
                .clone()
                .or(cur_def.map(|d| d.conditions))
                .unwrap_or_default(),
            sort,
            columns,
        };
        if let Err(AppError::Invalid(errs)) = self.compile_view(&mut tx, p, &def).await {
            for e in errs {
                problems.push(e);
            }
        }
        problems.finish().map_err(AppError::Invalid)?;
        let now = self.now();
        let mut v = StoredView {
            id: id.unwrap_or(0),
            name: name.unwrap_or_default(),
            owner_id: (visibility == "personal").then_some(
                current
                    .as_ref()
                    .and_then(|v| v.owner_id)
                    .unwrap_or(p.user.id.0),
            ),
            group_id: if visibility == "group" {
                group_id
            } else {
                None
            },
            visibility,
            built_in: false,
            position: current.as_ref().map_or(100, |v| v.position),
            definition: serde_json::to_string(&def)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: current.as_ref().map_or(now, |v| v.created_at),
            updated_at: now,
        };
        match id {
            Some(_) => store::update(&mut tx, &v).await?,
            None => v.id = store::insert(&mut tx, &v).await?,
        }
        self.audit(
            &mut tx,
            Actor::from(p),
            ("view", v.id),
            if id.is_some() { "updated" } else { "created" },
            vec![FieldChange::new(
                "view",
                current.map(|c| c.definition),
                &v.definition,
            )],
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(out(v, def))
    }

    /// Deletes a view.
    pub async fn delete_view(&self, p: &Principal, id: i64) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let v = self.usable_view(&mut tx, p, id).await?;
        if !Self::may_edit(p, &v) {
            return Err(AppError::forbidden(
                "view_not_editable",
                "this view cannot be deleted by you",
            ));
        }
        store::delete(&mut tx, id).await?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("view", id),
            "deleted",
            vec![FieldChange::new("name", &v.name, ())],
            None,
        )
        .await?;
        commit(tx).await
    }

    /// A page of a view's tickets, within the caller's scope.
    pub async fn view_tickets(
        &self,
        p: &Principal,
        id: i64,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<TicketOut>> {
        let limit = page_size(limit)?;
        let mut c = self.store().read().await?;
        let v = self.usable_view(&mut c, p, id).await?;
        let d = parse(&v)?;
        let q = self.compile_view(&mut c, p, &d).await?;
        let (rows, next_cursor) = self.query_page(&mut c, p, &q, cursor_text, limit).await?;
        let statuses = self.statuses(&mut c, p).await?;
        Ok(Page {
            items: rows.iter().map(|t| ticket_out(p, t, &statuses)).collect(),
            next_cursor,
        })
    }

    /// A saved view's query (its conditions and order), for a caller who may use it.
    pub(crate) async fn view_query(
        &self,
        c: &mut ferrodesk_store::Conn,
        p: &Principal,
        id: i64,
    ) -> Result<ViewQuery> {
        let v = self.usable_view(c, p, id).await?;
        let d = parse(&v)?;
        self.compile_view(c, p, &d).await
    }

    /// One page of a view query within the caller's scope, and the cursor of the next one:
    /// `{sort value}.{id}`, or `{id}.{subject}` when sorted by subject.
    pub(crate) async fn query_page(
        &self,
        c: &mut ferrodesk_store::Conn,
        p: &Principal,
        q: &ViewQuery,
        cursor_text: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<ferrodesk_store::tickets::Ticket>, Option<String>)> {
        let bad = || AppError::invalid("cursor", "invalid", "cursor is not one this API gave out");
        let after = match cursor_text {
            None | Some("") => None,
            Some(s) if q.key == SortKey::Subject => {
                let (id, text) = s.split_once('.').ok_or_else(bad)?;
                let id = id.parse::<i64>().map_err(|_| bad())?;
                Some((view_query::SortValue::Text(text.to_owned()), id))
            }
            Some(s) => Some(
                s.split_once('.')
                    .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
                    .map(|(v, id)| (view_query::SortValue::Int(v), id))
                    .ok_or_else(bad)?,
            ),
        };
        let scope = policy::list_scope(&p.viewer);
        let mut rows = view_query::view_page(c, &scope, q, after, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let statuses = self.statuses(c, p).await?;
        let next_cursor = if more {
            rows.last().map(|t| {
                let v = match q.key {
                    SortKey::Subject => return format!("{}.{}", t.id.0, t.subject),
                    SortKey::Updated => t.updated_at,
                    SortKey::Created => t.created_at,
                    SortKey::Id => t.id.0,
                    SortKey::Priority => SortKey::priority_rank(t.priority),
                    SortKey::Status => statuses
                        .iter()
                        .find(|s| s.id == t.status_id)
                        .map_or(0, |s| s.position),
                };
                format!("{v}.{}", t.id.0)
            })
        } else {
            None
        };
        Ok((rows, next_cursor))
    }

    /// Every view of the caller with its count, in one call.
    pub async fn view_counts(&self, p: &Principal) -> Result<Vec<ViewCountOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let groups: Vec<i64> = p.user.group_ids.iter().map(|g| g.0).collect();
        let scope = policy::list_scope(&p.viewer);
        let mut out = Vec::new();
        for v in store::visible_to(&mut c, p.user.id.0, &groups).await? {
            let d = parse(&v)?;
            let q = self.compile_view(&mut c, p, &d).await?;
            out.push(ViewCountOut {
                view_id: v.id,
                name: v.name,
                count: view_query::view_count(&mut c, &scope, &q).await?,
            });
        }
        Ok(out)
    }
}
