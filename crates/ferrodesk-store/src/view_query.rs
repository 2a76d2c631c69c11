//! Views as SQL: the closed list of conditions a view may hold, and the first page and count
//! of a view within a person's scope (split into disjoint parts and branches that each read
//! about one page of an index; docs/architecture.md, "Views and search").

use ferrodesk_core::policy::{ListScope, ScopeTerm};

use crate::scope::{
    Form, IdColumn, fixes, is_sqlite, push_part, push_scope, push_terms, scope_parts,
};
use crate::sql::Sql;
use crate::ticket_rows::{TICKET_COLUMNS, Ticket, fetch_tickets};
use crate::{Conn, Micros, Result};

/// One predicate of a view, already resolved (`me`, `my_groups`, status names → ids).
#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// The column is one of `ids` (or null, when `or_null`); negated: none of them.
    Ids {
        /// Column.
        col: IdColumn,
        /// Values.
        ids: Vec<i64>,
        /// Null also matches.
        or_null: bool,
        /// NOT.
        negate: bool,
    },
    /// Group or internal group is one of these.
    AnyGroup(Vec<i64>),
    /// Assignee or internal agent is one of these.
    AnyAgent(Vec<i64>),
    /// The status's category is one of these.
    Category {
        /// Categories.
        values: Vec<String>,
        /// NOT.
        negate: bool,
    },
    /// Priority is one of these.
    Priority {
        /// Priorities.
        values: Vec<String>,
        /// NOT.
        negate: bool,
    },
    /// Has the tag.
    Tag {
        /// Tag.
        tag: String,
        /// NOT.
        negate: bool,
    },
    /// The subject contains the text (case-insensitive).
    SubjectContains {
        /// Text.
        text: String,
        /// NOT.
        negate: bool,
    },
    /// `updated_at` (or `created_at`) is at or after this time.
    Since {
        /// `created_at` instead of `updated_at`.
        created: bool,
        /// Micros.
        at: Micros,
    },
    /// `updated_at` (or `created_at`) is before this time.
    Before {
        /// `created_at` instead of `updated_at`.
        created: bool,
        /// Micros.
        at: Micros,
    },
    /// A custom field equals a JSON value.
    Field {
        /// Field id.
        field_id: i64,
        /// JSON text of the value.
        value: String,
        /// NOT.
        negate: bool,
    },
}

fn push_pred(q: &mut Sql, p: &Pred) {
    push_pred_with(q, p, false)
}

/// `damp_null`: write "column is empty" as `+t.col IS NULL`, which SQLite cannot answer from
/// the column's index. SQLite's statistics average the rows per key, so "no assignee" (a third
/// of all tickets) looks as narrow as "assignee = 7" and wins over the part's own index.
fn push_pred_with(q: &mut Sql, p: &Pred, damp_null: bool) {
    match p {
        Pred::Ids {
            col,
            ids,
            or_null,
            negate,
        } => {
            let c = col.sql();
            match (*negate, *or_null, ids.is_empty()) {
                (false, false, true) => {
                    q.push("1 = 0");
                }
                (false, true, true) => {
                    q.push(if damp_null { "+" } else { "" })
                        .push(c)
                        .push(" IS NULL");
                }
                (false, or_null, false) => {
                    q.push("(").push(c).push(" IN (").push_ids(ids).push(")");
                    if or_null {
                        q.push(" OR ").push(c).push(" IS NULL");
                    }
                    q.push(")");
                }
                (true, false, true) => {
                    q.push("1 = 1");
                }
                (true, true, true) => {
                    q.push(c).push(" IS NOT NULL");
                }
                (true, false, false) => {
                    q.push("(")
                        .push(c)
                        .push(" IS NULL OR ")
                        .push(c)
                        .push(" NOT IN (")
                        .push_ids(ids)
                        .push("))");
                }
                (true, true, false) => {
                    q.push("(")
                        .push(c)
                        .push(" IS NOT NULL AND ")
                        .push(c)
                        .push(" NOT IN (")
                        .push_ids(ids)
                        .push("))");
                }
            }
        }
        Pred::AnyGroup(ids) | Pred::AnyAgent(ids) => {
            let (a, b) = if matches!(p, Pred::AnyGroup(_)) {
                ("t.group_id", "t.internal_group_id")
            } else {
                ("t.assignee_id", "t.internal_agent_id")
            };
            if ids.is_empty() {
                q.push("1 = 0");
            } else {
                q.push("(")
                    .push(a)
                    .push(" IN (")
                    .push_ids(ids)
                    .push(") OR ")
                    .push(b)
                    .push(" IN (")
                    .push_ids(ids)
                    .push("))");
            }
        }
        Pred::Category { values, negate } => {
            q.push("t.status_id ")
                .push(if *negate { "NOT IN" } else { "IN" })
                .push(" (SELECT id FROM statuses WHERE category IN (");
            q.push_words(values).push("))");
        }
        Pred::Priority { values, negate } => {
            q.push("t.priority ")
                .push(if *negate { "NOT IN" } else { "IN" })
                .push(" (");
            q.push_words(values).push(")");
        }
        Pred::Tag { tag, negate } => {
            q.push("t.id ")
                .push(if *negate { "NOT IN" } else { "IN" })
                .push(" (SELECT ticket_id FROM ticket_tags WHERE tag = ")
                .push_bind(tag.clone())
                .push(")");
        }
        Pred::SubjectContains { text, negate } => {
            q.push(if *negate { "NOT " } else { "" })
                .push("(LOWER(t.subject) LIKE ")
                .push_bind(crate::sql::contains_pattern(text))
                .push(" ESCAPE '\\')");
        }
        Pred::Since { created, at } => {
            q.push(if *created {
                "t.created_at >= "
            } else {
                "t.updated_at >= "
            })
            .push_bind(*at);
        }
        Pred::Before { created, at } => {
            q.push(if *created {
                "t.created_at < "
            } else {
                "t.updated_at < "
            })
            .push_bind(*at);
        }
        Pred::Field {
            field_id,
            value,
            negate,
        } => {
            q.push("t.id ")
                .push(if *negate { "NOT IN" } else { "IN" })
                .push(" (SELECT ticket_id FROM ticket_field_values WHERE field_id = ")
                .push_bind(*field_id)
                .push(" AND value = ")
                .push_bind(value.clone())
                .push(")");
        }
    }
}

/// A view's query: all of `all`, at least one of `any` (when not empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewQuery {
    /// AND.
    pub all: Vec<Pred>,
    /// OR (ignored when empty).
    pub any: Vec<Pred>,
    /// The column the page is sorted by (then by id, in the same direction).
    pub key: SortKey,
    /// Ascending instead of descending.
    pub ascending: bool,
}

/// A column a ticket list may be sorted by (a closed list: never user text).
///
/// Views save `Updated` or `Created`, which walk the `(updated_at, id)` and `(created_at,
/// id)` indexes branch by branch. The others are orders a person picks on the list for the
/// moment: each branch then reads its whole part of the scope (filtered by the view) and
/// sorts it, which is correct at any size but only quick for views of modest size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Last change (views' default).
    #[default]
    Updated,
    /// Creation.
    Created,
    /// Ticket number.
    Id,
    /// Subject, in the database's collation.
    Subject,
    /// Priority, low to urgent.
    Priority,
    /// The status's position in the admin's list of statuses.
    Status,
}

impl SortKey {
    /// The key as an SQL expression over `tickets t`.
    fn sql(self) -> &'static str {
        match self {
            SortKey::Updated => "t.updated_at",
            SortKey::Created => "t.created_at",
            SortKey::Id => "t.id",
            SortKey::Subject => "t.subject",
            // The index `tickets_priority_rank_id_idx` (migration 0023) is on this very
            // expression: change both together.
            SortKey::Priority => {
                "(CASE t.priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 ELSE 4 END)"
            }
            SortKey::Status => "(SELECT st.position FROM statuses st WHERE st.id = t.status_id)",
        }
    }

    /// The rank of a priority in this order (as the SQL's `CASE`).
    pub fn priority_rank(p: ferrodesk_core::Priority) -> i64 {
        match p.as_str() {
            "low" => 1,
            "normal" => 2,
            "high" => 3,
            _ => 4,
        }
    }
}

/// The value of a ticket's sort key at a keyset position.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// Times, numbers, ranks and positions.
    Int(i64),
    /// The subject.
    Text(String),
}

/// Appends `AND (p)` for each predicate.
pub(crate) fn push_preds(q: &mut Sql, preds: &[Pred]) {
    for p in preds {
        q.push(" AND (");
        push_pred(q, p);
        q.push(")");
    }
}

fn push_view(q: &mut Sql, v: &ViewQuery) {
    push_view_with(q, v, false)
}

fn push_view_with(q: &mut Sql, v: &ViewQuery, damp_null: bool) {
    for p in &v.all {
        q.push(" AND (");
        push_pred_with(q, p, damp_null);
        q.push(")");
    }
    if !v.any.is_empty() {
        q.push(" AND (");
        for (i, p) in v.any.iter().enumerate() {
            q.push(if i == 0 { "(" } else { " OR (" });
            push_pred(q, p);
            q.push(")");
        }
        q.push(")");
    }
}

/// A keyset position in a view's order: (sort value, id).
pub type ViewCursor = (SortValue, i64);

/// One page of a view, intersected with `scope`, and the cursor after its last row.
///
/// The page is a merge of index-ordered branches, each limited on its own: one per disjoint
/// part of the scope (see [`scope_parts`]) and, when the view has a condition "column is one
/// of several ids" (say, my two groups), one per id. Every branch walks one index range in
/// sort order, so the first page reads about `limit` rows per branch however many tickets
/// match.
pub async fn view_page(
    c: &mut Conn,
    scope: &ListScope,
    view: &ViewQuery,
    after: Option<ViewCursor>,
    limit: i64,
) -> Result<Vec<Ticket>> {
    let sort = view.key.sql();
    let dir = if view.ascending { "ASC" } else { "DESC" };
    let parts: Vec<Part> = match scope {
        ListScope::All => vec![Part::Everything],
        ListScope::AnyOf(terms) if terms.is_empty() => return Ok(Vec::new()),
        // A view on "assignee = me" and the like is small: one query through that column's
        // index, the scope checked on each row, beats any split.
        ListScope::AnyOf(_) if names_a_person(view) => vec![Part::Whole],
        ListScope::AnyOf(terms) => {
            // Terms on columns the view filters on come first, so later parts can tell from
            // the exclusions that they hold nothing (see `empty`).
            let mut terms = terms.clone();
            terms.sort_by_key(|t| part_order(t, view, false));
            scope_parts(&terms, true)
                .into_iter()
                .map(|(lead, before)| Part::One(lead, before.to_vec()))
                .collect()
        }
    };
    // A condition "column is one of several ids" (my two groups, the three open statuses)
    // cannot walk an index in sort order: split it into one branch per id, as long as the
    // branches stay few.
    let splitting = parts.iter().filter(|p| !led_by_person(p)).count().max(1);
    let mut views = vec![view.clone()];
    for i in 0..view.all.len() {
        let Pred::Ids {
            col,
            ids,
            or_null: false,
            negate: false,
        } = &view.all[i]
        else {
            continue;
        };
        let mut ids = ids.clone();
        ids.sort();
        ids.dedup();
        if ids.len() < 2 || splitting * views.len() * ids.len() > MAX_BRANCHES {
            continue;
        }
        views = views
            .iter()
            .flat_map(|v| {
                ids.iter().map(move |id| {
                    let mut one = v.clone();
                    one.all[i] = Pred::Ids {
                        col: *col,
                        ids: vec![*id],
                        or_null: false,
                        negate: false,
                    };
                    one
                })
            })
            .collect();
    }
    let sqlite = is_sqlite(c);
    // `columns`: the ticket's, or only its id and sort value (a branch of a merge).
    let branch = |q: &mut Sql, columns: &str, part: &Part, view: &ViewQuery| {
        q.push(format!(
            "SELECT {columns}, {sort} AS sort_key FROM tickets t WHERE 1 = 1"
        ));
        match part {
            Part::Everything => {}
            Part::Whole => push_scope(q, scope, sqlite),
            Part::One(lead, before) => push_part(q, lead, before),
        }
        push_view_with(q, view, sqlite && matches!(part, Part::One(..)));
        if let Some((v, id)) = &after {
            let op = if view.ascending { ">" } else { "<" };
            q.push(format!(" AND ({sort}, t.id) {op} ("));
            match v {
                SortValue::Int(v) => q.push_bind(*v),
                SortValue::Text(v) => q.push_bind(v.clone()),
            };
            q.push(", ").push_bind(*id).push(")");
        }
        q.push(format!(" ORDER BY {sort} {dir}, t.id {dir}"))
            .push_limit(limit);
    };
    let whole = std::slice::from_ref(view);
    let branches: Vec<(&Part, &ViewQuery)> = parts
        .iter()
        .flat_map(|p| {
            let vs = if led_by_person(p) { whole } else { &views[..] };
            vs.iter().map(move |v| (p, v))
        })
        .filter(|(p, v)| !matches!(p, Part::One(lead, before) if empty(lead, before, v)))
        .collect();
    let mut q = Sql::new("");
    if branches.is_empty() {
        return Ok(Vec::new());
    }
    if branches.len() == 1 {
        branch(&mut q, TICKET_COLUMNS, branches[0].0, branches[0].1);
    } else {
        // The branches merge ids and sort values only (each often read from its index alone,
        // never touching the table), and only the page's rows are read whole: a branch per
        // group and status reads `limit` entries, most of which do not make the page.
        q.push(format!(
            "SELECT {TICKET_COLUMNS}, k.sort_key FROM (SELECT * FROM ("
        ));
        for (n, (part, v)) in branches.iter().enumerate() {
            if n > 0 {
                q.push(format!(") AS b{} UNION ALL SELECT * FROM (", n - 1));
            }
            branch(&mut q, "t.id AS page_id", part, v);
        }
        q.push(format!(
            ") AS b{} ORDER BY sort_key {dir}, page_id {dir}",
            branches.len() - 1
        ))
        .push_limit(limit)
        .push(format!(
            ") AS k JOIN tickets t ON t.id = k.page_id ORDER BY k.sort_key {dir}, t.id {dir}"
        ));
    }
    fetch_tickets(c, q).await
}

/// The most branches a view page is split into.
const MAX_BRANCHES: usize = 48;

/// What part of the scope one branch of a view page reads.
enum Part {
    /// No scope (admins, global agents).
    Everything,
    /// The whole scope, as one `OR`.
    Whole,
    /// Tickets matching the first term and none of the others.
    One(ScopeTerm, Vec<ScopeTerm>),
}

/// Whether a part is one person's tickets (assigned, shared with, requested, CC'd). Such a part
/// is walked once in sort order with the view's conditions as a filter: it reads at most that
/// person's tickets, where one branch per id could each read them all to find nothing.
fn led_by_person(p: &Part) -> bool {
    matches!(
        p,
        Part::One(
            ScopeTerm::AssigneeIs(_)
                | ScopeTerm::InternalAgentIs(_)
                | ScopeTerm::RequesterIs(_)
                | ScopeTerm::CcIncludes(_),
            _
        )
    )
}

/// The order of a scope's parts: terms on columns the view filters on first (later parts can
/// then tell from the exclusions that they hold nothing), then people and groups in the order
/// that keeps exclusion checks cheap. A count reads only an index, so groups go first: their
/// many rows then need no check, a person's few do. A page fetches every row it reads anyway,
/// so people go first: a person's part then needs no check either, where after the groups it
/// would read all of that person's tickets (most of them in those groups) to find a few.
fn part_order(t: &ScopeTerm, view: &ViewQuery, groups_first: bool) -> (bool, bool) {
    let group = matches!(
        t,
        ScopeTerm::GroupIn(_) | ScopeTerm::InternalGroupIn(_) | ScopeTerm::OrganizationIn(_)
    );
    (!constrained(t, view), group != groups_first)
}

/// Whether the view requires the column of this scope term to hold certain ids.
fn constrained(t: &ScopeTerm, view: &ViewQuery) -> bool {
    let Some((col, _)) = fixes(t) else {
        return false;
    };
    view.all.iter().any(|p| match p {
        Pred::Ids {
            col: c,
            ids,
            negate: false,
            ..
        } => *c == col && !ids.is_empty(),
        Pred::AnyGroup(_) => matches!(col, IdColumn::Group | IdColumn::InternalGroup),
        Pred::AnyAgent(_) => matches!(col, IdColumn::Assignee | IdColumn::InternalAgent),
        _ => false,
    })
}

/// Whether the view requires a person (assignee, internal agent or requester) to be one of a
/// few ids.
fn names_a_person(view: &ViewQuery) -> bool {
    view.all.iter().any(|p| match p {
        Pred::Ids {
            col: IdColumn::Assignee | IdColumn::InternalAgent | IdColumn::Requester,
            ids,
            negate: false,
            or_null: false,
        } => !ids.is_empty(),
        Pred::AnyAgent(ids) => !ids.is_empty(),
        _ => false,
    })
}

/// Whether a branch can hold no ticket, known without asking the database: the view wants a
/// column to be what the part's term rules out, or what the part's exclusions already took.
/// A branch that is empty but not known to be is still correct, only slower (its index walk
/// finds nothing).
fn empty(lead: &ScopeTerm, before: &[ScopeTerm], view: &ViewQuery) -> bool {
    view.all.iter().any(|p| {
        let Pred::Ids {
            col,
            ids,
            or_null,
            negate,
        } = p
        else {
            return false;
        };
        let lead_rules_out = fixes(lead).is_some_and(|(c, allowed)| {
            c == *col
                && if *negate {
                    allowed.iter().all(|a| ids.contains(a))
                } else {
                    !allowed.iter().any(|a| ids.contains(a))
                }
        });
        let taken_before = !*negate
            && !*or_null
            && !ids.is_empty()
            && before
                .iter()
                .filter_map(fixes)
                .any(|(c, taken)| c == *col && ids.iter().all(|i| taken.contains(i)));
        lead_rules_out || taken_before
    })
}

/// Whether `ticket_counts` can answer this predicate (it keeps status, priority, group,
/// assignee, internal group and internal agent).
fn counted(p: &Pred) -> bool {
    match p {
        Pred::Ids { col, .. } => col.counted(),
        Pred::AnyGroup(_) | Pred::AnyAgent(_) | Pred::Category { .. } | Pred::Priority { .. } => {
            true
        }
        _ => false,
    }
}

/// The number of tickets of a view within `scope`.
///
/// When the view's conditions and the scope's terms are all on the columns `ticket_counts`
/// keeps, the count is a sum over that table (a few thousand rows, not a million tickets);
/// scope terms it does not keep (an agent is also a requester) are counted on the tickets
/// table for the tickets no other term covers. Otherwise the disjoint parts of the scope are
/// counted one by one on the tickets table and added.
pub async fn view_count(c: &mut Conn, scope: &ListScope, view: &ViewQuery) -> Result<i64> {
    let terms: &[ScopeTerm] = match scope {
        ListScope::All => &[],
        ListScope::AnyOf(terms) if terms.is_empty() => return Ok(0),
        ListScope::AnyOf(terms) => terms,
    };
    let mut q = Sql::new("SELECT 0");
    // `+ (COUNT(*) of the view's tickets in one part of the scope, or in all of it)`.
    let count_tickets = |q: &mut Sql, part: Option<(&ScopeTerm, &[ScopeTerm])>| {
        q.push(" + (SELECT COUNT(*) FROM tickets t WHERE 1 = 1");
        if let Some((lead, before)) = part {
            push_part(q, lead, before);
        }
        push_view(q, view);
        q.push(")");
    };
    if view.all.iter().chain(&view.any).all(counted) {
        let (kept, other): (Vec<ScopeTerm>, Vec<ScopeTerm>) = terms
            .iter()
            .cloned()
            .partition(|t| fixes(t).is_some_and(|(col, _)| col.counted()));
        if terms.is_empty() || !kept.is_empty() {
            q.push(
                " + (SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) FROM (SELECT status_id, priority, \
                 NULLIF(group_id, 0) AS group_id, NULLIF(assignee_id, 0) AS assignee_id, \
                 NULLIF(internal_group_id, 0) AS internal_group_id, \
                 NULLIF(internal_agent_id, 0) AS internal_agent_id, n FROM ticket_counts) t WHERE 1 = 1",
            );
            if !kept.is_empty() {
                q.push(" AND ");
                push_terms(&mut q, &kept, Form::Plain);
            }
            push_view(&mut q, view);
            q.push(")");
        }
        for (i, term) in other.iter().enumerate() {
            let mut before = kept.clone();
            before.extend_from_slice(&other[..i]);
            count_tickets(&mut q, Some((term, &before)));
        }
    } else if terms.is_empty() {
        count_tickets(&mut q, None);
    } else {
        let mut terms = terms.to_vec();
        terms.sort_by_key(|t| part_order(t, view, true));
        for (lead, before) in scope_parts(&terms, false) {
            if !empty(&lead, before, view) {
                count_tickets(&mut q, Some((&lead, before)));
            }
        }
    }
    Ok(q.query_scalar().fetch_one(c).await?)
}
