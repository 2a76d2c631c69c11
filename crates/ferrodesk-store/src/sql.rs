//! A small builder for SQL with bound parameters, numbered `$1, $2, …` so that one text
//! works on SQLite and PostgreSQL (sqlx's own `QueryBuilder` writes `?` for the Any
//! driver, which PostgreSQL refuses). Values are always bound, never spliced into text.

use sqlx::any::{Any, AnyArguments};
use sqlx::{Arguments, Encode, Type};

/// Rows of `columns` values each that one multi-row statement of [`Sql::on`] takes: at most
/// 4,000 bound values, well below SQLite's 32,766 and PostgreSQL's 65,535.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (4000 / columns.max(1)).max(1)
}

/// SQL text under construction, with its arguments.
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
    /// Placeholders are `?` (SQLite only), not `$n`.
    anonymous: bool,
}

impl Sql {
    /// Starts with `text`.
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            args: AnyArguments::default(),
            anonymous: false,
        }
    }

    /// Starts with `text`, for the database of `c`: on SQLite the placeholders are `?`. For
    /// statements with many values (multi-row inserts): sqlx's SQLite driver looks a `$n`
    /// parameter up by name, a walk through all of the statement's named parameters, so
    /// binding costs the square of their number (7,500 values took ~50 ms to bind, far more
    /// than to run); anonymous ones cost nothing to find.
    pub fn on(c: &crate::Conn, text: impl Into<String>) -> Sql {
        let mut q = Sql::new(text);
        q.anonymous = !is_postgres(c);
        q
    }

    /// Appends SQL text (never user input).
    pub fn push(&mut self, text: impl AsRef<str>) -> &mut Sql {
        self.text.push_str(text.as_ref());
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn push_bind<'t, T: Encode<'t, Any> + Type<Any>>(&mut self, value: T) -> &mut Sql {
        self.args
            .add(value)
            .expect("plain values always encode for the Any driver");
        if self.anonymous {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
        self
    }

    /// Appends `LIMIT n` with `n` written into the text, not bound. PostgreSQL caches a
    /// *generic* plan for a prepared statement only when it costs no more than the plans made
    /// for each execution's values, and it prices a bound limit as a tenth of the rows: a
    /// statement whose limit is bound is then planned again on every execution (a view page
    /// of six branches: ~1 ms of planning for ~0.3 ms of work, bench/README.md). A limit is a
    /// page size, so the texts stay few.
    pub fn push_limit(&mut self, n: i64) -> &mut Sql {
        self.text.push_str(" LIMIT ");
        self.text.push_str(&n.to_string());
        self
    }

    /// Appends `$a, $b, …` bound to `ids`.
    pub fn push_ids(&mut self, ids: &[i64]) -> &mut Sql {
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(*id);
        }
        self
    }

    /// Appends `$a, $b, …` bound to `words` (`NULL` when there are none, so `IN (NULL)`
    /// matches nothing).
    pub fn push_words(&mut self, words: &[String]) -> &mut Sql {
        if words.is_empty() {
            return self.push("NULL");
        }
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(w.clone());
        }
        self
    }

    /// A query to execute.
    pub fn query(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
    }

    /// A query whose rows decode into `O`.
    pub fn query_as<O>(self) -> sqlx::query::QueryAs<'static, Any, O, AnyArguments>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as_with(sqlx::AssertSqlSafe(self.text), self.args)
    }

    /// A query with one column.
    pub fn query_scalar<O>(self) -> sqlx::query::QueryScalar<'static, Any, O, AnyArguments>
    where
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_scalar_with(sqlx::AssertSqlSafe(self.text), self.args)
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`: `text` lower-cased, its `\`, `%` and `_` matched as
/// themselves. Compare it with a lower-cased column.
pub(crate) fn contains_pattern(text: &str) -> String {
    let t = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{t}%")
}

/// Whether the connection is PostgreSQL's (else SQLite's): for the few statements written per
/// database.
pub(crate) fn is_postgres(c: &crate::Conn) -> bool {
    c.backend_name().to_ascii_lowercase().contains("postgres")
}
