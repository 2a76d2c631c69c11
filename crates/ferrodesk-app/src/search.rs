//! Search (SPEC §6): `status:pending group:Finance org:"Acme" printer "paper jam"` — field
//! filters plus full text, permission-filtered by the one policy, ranked, paginated.

use ferrodesk_core::policy;
use ferrodesk_core::validate::FieldError;
use ferrodesk_core::{GroupId, OrganizationId, StatusId, UserId};
use ferrodesk_store::directory as dir;
use ferrodesk_store::scope::TicketFilter;
use ferrodesk_store::search::{self as store, TextQuery};

use crate::directory::page_size;
use crate::dto::{Page, TicketOut};
use crate::tickets::ticket_out;
use crate::{App, AppError, Principal, Result};

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// A parsed query: `key:value` filters and text.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    /// Filters in order.
    pub filters: Vec<(String, String)>,
    /// Text.
    pub text: TextQuery,
}

const KEYS: &[&str] = &[
    "status",
    "priority",
    "group",
    "assignee",
    "org",
    "requester",
    "tag",
];

/// Splits a query into filters, words and phrases (double quotes group words).
pub fn parse(q: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut chars = q.chars().peekable();
    let read_value = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> String {
        let mut v = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            for ch in chars.by_ref() {
                if ch == '"' {
                    break;
                }
                v.push(ch);
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                v.push(ch);
                chars.next();
            }
        }
        v
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        if first == '"' {
            let phrase = read_value(&mut chars);
            if phrase.chars().any(char::is_alphanumeric) {
                out.text.phrases.push(phrase.trim().to_owned());
            }
            continue;
        }
        let mut word = String::new();
        while let Some(&ch) = chars.peek() {
            if ch.is_whitespace() || ch == ':' {
                break;
            }
            word.push(ch);
            chars.next();
        }
        if chars.peek() == Some(&':') && KEYS.contains(&word.to_lowercase().as_str()) {
            chars.next();
            let value = read_value(&mut chars);
            out.filters.push((word.to_lowercase(), value));
            continue;
        }
        if chars.peek() == Some(&':') {
            chars.next();
            word.push(':');
            word.push_str(&read_value(&mut chars));
        }
        for part in word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
        {
            out.text.words.push(part.to_lowercase());
        }
    }
    out
}

impl App {
    /// Resolves filters to ids; unknown names match nothing rather than everything.
    async fn resolve(
        &self,
        c: &mut ferrodesk_store::Conn,
        p: &Principal,
        filters: &[(String, String)],
    ) -> Result<(TicketFilter, Vec<ferrodesk_store::view_query::Pred>)> {
        let mut f = TicketFilter::default();
        let mut extra = Vec::new();
        let statuses = self.statuses(c, p).await?;
        let mut problems = Vec::new();
        for (key, value) in filters {
            let internal = matches!(key.as_str(), "group" | "assignee" | "tag");
            if internal && !p.is_staff() {
                problems.push(FieldError::new(
                    "q",
                    "not_allowed",
                    format!("end users may not search by {key}"),
                ));
                continue;
            }
            match key.as_str() {
                "status" => {
                    let by_name = statuses.iter().find(|s| {
                        s.name.eq_ignore_ascii_case(value)
                            || (!p.is_staff() && s.customer_label.eq_ignore_ascii_case(value))
                    });
                    match by_name {
                        Some(s) => f.status_id = Some(s.id),
                        None => {
                            match ferrodesk_core::StatusCategory::parse(&value.to_lowercase()) {
                                Ok(cat) => {
                                    extra.push(ferrodesk_store::view_query::Pred::Category {
                                        values: vec![cat.as_str().into()],
                                        negate: false,
                                    })
                                }
                                Err(_) => f.status_id = Some(StatusId(-1)),
                            }
                        }
                    }
                }
                "priority" => extra.push(ferrodesk_store::view_query::Pred::Priority {
                    values: vec![value.to_lowercase()],
                    negate: false,
                }),
                "group" => {
                    let groups = dir::list_groups(c, None).await?;
                    f.group_id = Some(
                        groups
                            .iter()
                            .find(|g| g.name.eq_ignore_ascii_case(value))
                            .map_or(GroupId(-1), |g| g.id),
                    );
                }
                "assignee" | "requester" => {
                    let id = match value.to_lowercase().as_str() {
                        "me" => Some(p.user.id),
                        "none" if key == "assignee" => {
                            extra.push(ferrodesk_store::view_query::Pred::Ids {
                                col: ferrodesk_store::scope::IdColumn::Assignee,
                                ids: vec![],
                                or_null: true,
                                negate: false,
                            });
                            continue;
                        }
                        // End users never see other people's email addresses: an address
                        // in their search must not confirm whose it is, so it matches only
                        // their own.
                        v if !p.is_staff() => (v == p.user.email.to_lowercase()
                            || v == p.user.id.0.to_string())
                        .then_some(p.user.id),
                        v => match v.parse::<i64>() {
                            Ok(n) => Some(UserId(n)),
                            Err(_) => dir::find_user_by_email(c, v).await?.map(|(u, _)| u.id),
                        },
                    };
                    let id = id.unwrap_or(UserId(-1));
                    if key == "assignee" {
                        f.assignee_id = Some(id)
                    } else {
                        f.requester_id = Some(id)
                    }
                }
                "org" => {
                    f.organization_id = Some(
                        dir::organization_by_name(c, value)
                            .await?
                            .unwrap_or(OrganizationId(-1)),
                    );
                }
                _ => extra.push(ferrodesk_store::view_query::Pred::Tag {
                    tag: value.to_lowercase(),
                    negate: false,
                }),
            }
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        Ok((f, extra))
    }

    /// Searches the tickets the caller may see.
    pub async fn search(
        &self,
        p: &Principal,
        q: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<TicketOut>> {
        let limit = page_size(limit)?;
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(
                "q",
                "too_long",
                format!("q must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let offset = match cursor {
            None | Some("") => 0,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=10_000).contains(n))
                .ok_or_else(|| {
                    AppError::invalid("cursor", "invalid", "cursor is not one this API gave out")
                })?,
        };
        let parsed = parse(q);
        if parsed.filters.is_empty() && parsed.text.is_empty() {
            return Err(AppError::invalid(
                "q",
                "required",
                "search for some words or a filter such as status:open",
            ));
        }
        let mut c = self.store().read().await?;
        let (filter, extra) = self.resolve(&mut c, p, &parsed.filters).await?;
        let scope = policy::list_scope(&p.viewer);
        let public_only = !policy::sees_internals(&p.viewer);
        let mut rows = store::search(
            &mut c,
            &self.store().cache().search_planner,
            &scope,
            &filter,
            &extra,
            &parsed.text,
            public_only,
            offset,
            limit + 1,
        )
        .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let statuses = self.statuses(&mut c, p).await?;
        Ok(Page {
            items: rows.iter().map(|t| ticket_out(p, t, &statuses)).collect(),
            next_cursor: more.then(|| (offset + limit).to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_into_filters_words_and_phrases() {
        let p =
            parse(r#"status:pending group:Finance org:"Acme Corp" printer "paper jam" foo:bar"#);
        assert_eq!(
            p.filters,
            vec![
                ("status".into(), "pending".into()),
                ("group".into(), "Finance".into()),
                ("org".into(), "Acme Corp".into())
            ]
        );
        assert_eq!(p.text.words, vec!["printer", "foo", "bar"]);
        assert_eq!(p.text.phrases, vec!["paper jam"]);
        assert_eq!(parse("\"\" !!! ").text, TextQuery::default());
    }
}
