//! A small builder for SQL with bound parameters, numbered `$1, $2, …` so that one text
//! works on SQLite and PostgreSQL (sqlx's own `QueryBuilder` writes `?` for the Any
//! driver, which PostgreSQL refuses). Values are always bound, never spliced into text.

use sqlx::any::{Any, AnyArguments};
use sqlx::{Arguments, Encode, Type};

/// SQL text under construction, with its arguments.
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
}

impl Sql {
    /// Starts with `text`.
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            args: AnyArguments::default(),
        }
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
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
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
