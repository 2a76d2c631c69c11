//! View models shared by the pages: the page frame, select options, name lookups.

use ferrodesk_app::dto::{AttachmentOut, GroupOut, StatusOut, UserOut};
use ferrodesk_app::{App, Principal};
use ferrodesk_core::Role;
use ferrodesk_store::directory::UserFilter;

use super::UiError;

/// The frame around every page.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `<title>` and the main heading's default.
    pub title: String,
    /// Which navigation entry is current.
    pub section: &'static str,
    /// Whether someone is signed in (navigation shown).
    pub signed_in: bool,
    /// Their name.
    pub user_name: String,
    /// Agent or admin.
    pub staff: bool,
    /// Admin.
    pub admin: bool,
    /// The form token.
    pub csrf: String,
    /// A one-line confirmation after a change.
    pub notice: Option<String>,
}

impl Layout {
    /// For pages shown to nobody in particular (sign-in, errors).
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            section: "",
            signed_in: false,
            user_name: String::new(),
            staff: false,
            admin: false,
            csrf: String::new(),
            notice: None,
        }
    }

    /// Whether `section` is the current navigation entry (`aria-current`).
    pub fn current(&self, section: &str) -> bool {
        self.section == section
    }
}

/// One `<option>`.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl ToString, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.to_string(),
            label: label.into(),
            selected,
        }
    }

    /// The "none" choice.
    pub fn none(label: &str, selected: bool) -> Opt {
        Opt::new("", label, selected)
    }
}

/// A group of `<option>`s (`<optgroup>`).
#[derive(Debug, Clone)]
pub struct OptGroup {
    pub label: String,
    pub options: Vec<Opt>,
}

/// What agent pages need to show names instead of ids: statuses, groups, staff.
#[derive(Debug)]
pub struct Directory {
    pub statuses: Vec<StatusOut>,
    pub groups: Vec<GroupOut>,
    pub staff: Vec<UserOut>,
}

impl Directory {
    /// Loads it through the use cases (staff only).
    pub async fn load(app: &App, p: &Principal) -> Result<Directory, UiError> {
        let statuses = app.list_statuses(p).await?.items;
        let groups = app.list_groups(p).await?.items;
        let mut staff = Vec::new();
        for role in [Role::Admin, Role::Agent] {
            let mut cursor: Option<String> = None;
            for _ in 0..20 {
                let page = app
                    .list_users(
                        p,
                        UserFilter {
                            role: Some(role),
                            ..Default::default()
                        },
                        cursor.as_deref(),
                        Some(100),
                    )
                    .await?;
                staff.extend(page.items);
                cursor = page.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
        }
        staff.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Directory {
            statuses,
            groups,
            staff,
        })
    }

    pub fn status_name(&self, id: i64) -> String {
        self.statuses
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| format!("status {id}"), |s| s.name.clone())
    }

    pub fn group_name(&self, id: Option<i64>) -> String {
        match id {
            None => String::new(),
            Some(id) => self
                .groups
                .iter()
                .find(|g| g.id == id)
                .map_or_else(|| format!("group {id}"), |g| g.name.clone()),
        }
    }

    pub fn staff_name(&self, id: Option<i64>) -> String {
        match id {
            None => String::new(),
            Some(id) => self
                .staff
                .iter()
                .find(|u| u.id == id)
                .map_or_else(|| format!("user {id}"), |u| u.name.clone()),
        }
    }

    /// The groups a ticket in `status_id` may have as internal group.
    pub fn mapped_groups(&self, status_id: i64) -> Vec<&GroupOut> {
        let Some(status) = self.statuses.iter().find(|s| s.id == status_id) else {
            return Vec::new();
        };
        self.groups
            .iter()
            .filter(|g| status.all_groups || status.internal_group_ids.contains(&g.id))
            .collect()
    }

    pub fn status_options(&self, selected: Option<i64>) -> Vec<Opt> {
        self.statuses
            .iter()
            .map(|s| Opt::new(s.id, s.name.clone(), Some(s.id) == selected))
            .collect()
    }

    pub fn group_options(&self, none: &str, selected: Option<i64>) -> Vec<Opt> {
        let mut out = vec![Opt::none(none, selected.is_none())];
        out.extend(
            self.groups
                .iter()
                .map(|g| Opt::new(g.id, g.name.clone(), Some(g.id) == selected)),
        );
        out
    }

    pub fn staff_options(&self, none: &str, selected: Option<i64>) -> Vec<Opt> {
        let mut out = vec![Opt::none(none, selected.is_none())];
        out.extend(
            self.staff
                .iter()
                .map(|u| Opt::new(u.id, u.name.clone(), Some(u.id) == selected)),
        );
        out
    }

    /// Agents by group, for "Assign to": each group's members under its name.
    pub fn members_by_group(
        &self,
        groups: &[&GroupOut],
        selected_group: Option<i64>,
        selected: Option<i64>,
    ) -> Vec<OptGroup> {
        groups
            .iter()
            .map(|g| OptGroup {
                label: g.name.clone(),
                options: g
                    .agent_ids
                    .iter()
                    .map(|a| {
                        Opt::new(
                            a,
                            self.staff_name(Some(*a)),
                            Some(*a) == selected && Some(g.id) == selected_group,
                        )
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A role in words.
pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::Admin => "Admin",
        Role::Agent => "Agent",
        Role::EndUser => "End user",
    }
}

/// An agent's ticket scope in words (SPEC §3.2).
pub fn scope_label(t: ferrodesk_core::TicketScope) -> &'static str {
    use ferrodesk_core::TicketScope;
    match t {
        TicketScope::Global => "Every ticket",
        TicketScope::Group => "Their groups' tickets and those assigned to them",
        TicketScope::Assigned => "Only tickets assigned to them",
    }
}

/// An end user's access setting in words (SPEC §1).
pub fn access_label(a: ferrodesk_core::UserAccess) -> &'static str {
    use ferrodesk_core::UserAccess;
    match a {
        UserAccess::Requested => "Own requests",
        UserAccess::Organization => "The organization's tickets",
    }
}

/// Previous and Next links of a paged list, keeping its search and filters, and which
/// rows are shown in words (`templates/pager.html`).
pub struct Pager {
    /// `51–100 of 230 organizations`, or `Showing 101–200` where the total is not counted.
    pub summary: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The address of page `page` (from 1) of `path`, with the non-empty `keep` pairs.
    pub fn href(path: &str, keep: &[(&str, &str)], page: i64) -> String {
        let mut pairs: Vec<(&str, String)> = keep
            .iter()
            .map(|(k, v)| (*k, v.trim().to_owned()))
            .collect();
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        let query = super::query_string(&pairs);
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

/// A moment as pages show it: relative ("5 minutes ago") with the exact time in the reader's
/// time zone (theirs, else the desk's) on hover, and the machine-readable time (`<time datetime>`).
#[derive(Debug, Clone)]
pub struct Moment {
    /// RFC 3339, for `datetime`.
    pub iso: String,
    /// The exact time in the desk's time zone, for `title`.
    pub exact: String,
    /// In words, relative to now.
    pub relative: String,
}

impl std::fmt::Display for Moment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.relative)
    }
}

/// Now and the desk's time zone: what a page needs to show moments.
pub struct Clock {
    now: jiff::Timestamp,
    tz: jiff::tz::TimeZone,
}

impl Clock {
    /// The app's clock in the time zone `p` chose (their account), else the desk's
    /// (Settings). Their choice comes with the session's read of them: no extra query.
    pub async fn for_person(app: &App, p: &Principal) -> Result<Clock, UiError> {
        let mine = p
            .user
            .time_zone
            .as_deref()
            .and_then(|n| jiff::tz::TimeZone::get(n).ok());
        let tz = match mine {
            Some(tz) => tz,
            None => app.time_zone().await?,
        };
        Ok(Clock {
            now: jiff::Timestamp::from_microsecond(app.now())
                .unwrap_or_else(|_| jiff::Timestamp::now()),
            tz,
        })
    }

    /// A moment of an RFC 3339 time.
    pub fn moment(&self, rfc3339: &str) -> Moment {
        let Ok(t) = rfc3339.parse::<jiff::Timestamp>() else {
            return Moment {
                iso: rfc3339.to_owned(),
                exact: rfc3339.to_owned(),
                relative: rfc3339.to_owned(),
            };
        };
        let local = t.to_zoned(self.tz.clone());
        let today = self.now.to_zoned(self.tz.clone()).date();
        let ago = self.now.as_second() - t.as_second();
        let plural = |n: i64, one: &str| {
            if n == 1 {
                format!("1 {one} ago")
            } else {
                format!("{n} {one}s ago")
            }
        };
        let relative = if (-60..60).contains(&ago) {
            "just now".to_owned()
        } else if ago < 0 {
            local.strftime("%-d %b %Y, %H:%M").to_string()
        } else if ago < 3600 {
            plural(ago / 60, "minute")
        } else if local.date() == today {
            plural(ago / 3600, "hour")
        } else if today.yesterday().is_ok_and(|y| y == local.date()) {
            local.strftime("yesterday at %H:%M").to_string()
        } else if local.date().year() == today.year() {
            local.strftime("%-d %b, %H:%M").to_string()
        } else {
            local.strftime("%-d %b %Y, %H:%M").to_string()
        };
        let zone = self.tz.iana_name().unwrap_or("UTC");
        Moment {
            iso: t.to_string(),
            exact: format!("{} ({zone})", local.strftime("%A %-d %B %Y, %H:%M:%S %Z")),
            relative,
        }
    }
}

/// A short, readable form of an RFC 3339 time: `2026-11-22 14:05 UTC`.
pub fn when(rfc3339: &str) -> String {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// A size in words: `512 bytes`, `340 KB`, `2.1 MiB`, `20 MiB` (KB and MiB of 1024).
pub fn size_words(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes == 1 {
        return "1 byte".into();
    }
    if bytes < KIB {
        return format!("{bytes} bytes");
    }
    let kb = (bytes + KIB / 2) / KIB;
    if kb < KIB {
        return format!("{kb} KB");
    }
    let tenths = (bytes * 10 + MIB / 2) / MIB;
    if tenths.is_multiple_of(10) || tenths >= 1000 {
        format!("{} MiB", (tenths + 5) / 10)
    } else {
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    }
}

/// What a form with files says about their sizes: `up to 20 MiB a file, 50 MiB together`.
pub fn file_limits(app: &App) -> String {
    format!(
        "up to {} a file, {} together",
        size_words(app.config().attachment_max_bytes),
        size_words(app.config().comment_attachments_max_bytes)
    )
}

/// A file of a comment as listed under it.
#[derive(Debug, Clone)]
pub struct FileView {
    pub name: String,
    /// Its size in words.
    pub size: String,
    /// Where it is downloaded; none once redacted.
    pub url: Option<String>,
    /// Shown as a small picture (PNG, JPEG, GIF).
    pub thumbnail: bool,
    /// Redacted: who and when, in words.
    pub redacted: Option<String>,
}

/// Image types shown as a thumbnail (those the download sends inline).
const THUMBNAIL_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif"];

/// The files of a comment as listed under it.
pub fn file_views(files: &[AttachmentOut]) -> Vec<FileView> {
    files
        .iter()
        .map(|a| FileView {
            name: a.file_name.clone(),
            size: size_words(u64::try_from(a.size).unwrap_or_default()),
            url: a.url.clone(),
            thumbnail: a.url.is_some() && THUMBNAIL_TYPES.contains(&a.content_type.as_str()),
            redacted: a.redacted.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::size_words;

    #[test]
    fn sizes_are_said_in_words() {
        assert_eq!(size_words(0), "0 bytes");
        assert_eq!(size_words(1), "1 byte");
        assert_eq!(size_words(1023), "1023 bytes");
        assert_eq!(size_words(1024), "1 KB");
        assert_eq!(size_words(340 * 1024 + 100), "340 KB");
        assert_eq!(size_words(1024 * 1024 - 1), "1 MiB");
        assert_eq!(size_words(2_202_010), "2.1 MiB");
        assert_eq!(size_words(20 * 1024 * 1024), "20 MiB");
        assert_eq!(size_words(50 * 1024 * 1024), "50 MiB");
        assert_eq!(size_words(20 * 1024 * 1024 + 1), "20 MiB");
        assert_eq!(size_words(150 * 1024 * 1024 + 600 * 1024), "151 MiB");
    }
}

#[cfg(test)]
mod moment_tests {
    use super::Clock;

    fn clock(now: &str, tz: &str) -> Clock {
        Clock {
            now: now.parse().unwrap(),
            tz: jiff::tz::TimeZone::get(tz).unwrap(),
        }
    }

    #[test]
    fn moments_read_relative_with_the_exact_time_in_the_desks_zone() {
        let c = clock("2026-12-02T12:00:00Z", "Europe/Berlin");
        let said = |t: &str| c.moment(t).relative;
        assert_eq!(said("2026-12-02T11:59:30Z"), "just now");
        assert_eq!(said("2026-12-02T11:59:00Z"), "1 minute ago");
        assert_eq!(said("2026-12-02T11:15:00Z"), "45 minutes ago");
        assert_eq!(said("2026-12-02T09:00:00Z"), "3 hours ago");
        // 23:30 in Berlin the day before is yesterday there, though the same day in UTC.
        assert_eq!(said("2026-12-01T22:30:00Z"), "yesterday at 23:30");
        assert_eq!(said("2026-11-20T08:05:00Z"), "20 Nov, 09:05");
        assert_eq!(said("2025-06-01T08:05:00Z"), "1 Jun 2025, 10:05");
        let m = c.moment("2026-12-02T09:00:00Z");
        assert_eq!(m.iso, "2026-12-02T09:00:00Z");
        assert_eq!(
            m.exact,
            "Wednesday 2 December 2026, 10:00:00 CET (Europe/Berlin)"
        );
        assert_eq!(c.moment("not a time").relative, "not a time");
    }
}

/// A comment's text as safe HTML, for the agent's ticket page and the portal alike.
///
/// The text is read as Markdown (`pulldown-cmark`: emphasis, lists, quotes, code, links,
/// ~~strikethrough~~); line breaks stay where they were typed, so plain text reads as it
/// was written; addresses starting `http://` or `https://` become links. HTML typed in the
/// text is shown as text, never interpreted, and the result passes `ammonia`'s allow-list
/// (no scripts, styles, event handlers or images; links only to http, https and mailto,
/// opened with `rel="noopener noreferrer nofollow"`).
pub fn comment_html(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut events: Vec<Event<'_>> = Vec::new();
    let (mut in_link, mut in_code) = (0usize, 0usize);
    for e in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH) {
        match e {
            // Typed HTML is text.
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::SoftBreak => events.push(Event::HardBreak),
            Event::Start(Tag::Link { .. }) => {
                in_link += 1;
                events.push(e);
            }
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                events.push(e);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                in_code += 1;
                events.push(e);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = in_code.saturating_sub(1);
                events.push(e);
            }
            Event::Text(t) if in_link == 0 && in_code == 0 => linkify(&t, &mut events),
            e => events.push(e),
        }
    }
    let mut html = String::with_capacity(text.len() + text.len() / 4);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

/// Text with its `http(s)://` addresses as links (trailing punctuation left out of them).
fn linkify<'a>(text: &str, out: &mut Vec<pulldown_cmark::Event<'a>>) {
    use pulldown_cmark::{CowStr, Event, LinkType, Tag, TagEnd};
    let mut rest = text;
    while let Some(at) = ["https://", "http://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        let tail = &rest[at..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        while end > 0 {
            let last = tail[..end].chars().next_back().unwrap_or(' ');
            let unbalanced = last == ')' && !tail[..end].contains('(');
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'') || unbalanced {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        let url = &tail[..end];
        let bare = url
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        if bare.is_empty() {
            // "http://" alone: text.
            out.push(Event::Text(CowStr::from(
                rest[..at + end.max(1)].to_owned(),
            )));
            rest = &rest[at + end.max(1)..];
            continue;
        }
        if at > 0 {
            out.push(Event::Text(CowStr::from(rest[..at].to_owned())));
        }
        out.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: CowStr::from(url.to_owned()),
            title: CowStr::from(""),
            id: CowStr::from(""),
        }));
        out.push(Event::Text(CowStr::from(url.to_owned())));
        out.push(Event::End(TagEnd::Link));
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(CowStr::from(rest.to_owned())));
    }
}

#[cfg(test)]
mod markdown_tests {
    use super::comment_html;

    #[test]
    fn markdown_is_rendered_and_html_never_gets_through() {
        let h = comment_html("**bold** and _soft_\nsecond line");
        assert!(h.contains("<strong>bold</strong>"), "{h}");
        assert!(h.contains("<br>"), "line breaks kept: {h}");
        let h = comment_html("<script>alert(1)</script> <img src=x onerror=alert(1)>");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "shown as text: {h}");
        let h = comment_html("[click](javascript:alert(1)) and [ok](https://example.com)");
        assert!(!h.contains("javascript:"), "{h}");
        assert!(
            h.contains(
                r#"<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a>"#
            ),
            "{h}"
        );
        let h = comment_html("See https://example.com/a_b?x=1. Thanks");
        assert!(
            h.contains(r#"<a href="https://example.com/a_b?x=1" rel="noopener noreferrer nofollow">https://example.com/a_b?x=1</a>. Thanks"#),
            "{h}"
        );
        let h = comment_html("`<b>` and\n\n    code https://x.test");
        assert!(h.contains("<code>&lt;b&gt;</code>"), "{h}");
        assert!(!h.contains("href=\"https://x.test"), "not in code: {h}");
    }
}
