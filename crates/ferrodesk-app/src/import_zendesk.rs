//! `ferrodesk import zendesk`: a Zendesk account (or another Ferrodesk, through its
//! `/zendesk/api/v2`) read through Zendesk's API and written here — groups, custom statuses
//! with their internal groups, ticket fields, organizations **with their sharing mode**
//! (recorded in the sharing register as imported), users with their access and scope,
//! memberships, and tickets with their comments, CCs, tags, fields, internal owner and
//! original times (SPEC §8).
//!
//! Directory records go through the same use cases as `/api/v1` (the same validation); a
//! record that already exists here (same group, status or organization name, same user
//! address, same field key) is matched, not duplicated. Tickets are written by the write
//! pipeline's import step, a page at a time in one transaction with their links, so a rerun
//! continues where the last one stopped and imports nothing twice. A ticket whose internal
//! owner breaks the invariants of SPEC §4 is kept without it and reported, never silently
//! changed. `429` answers are waited out for their `Retry-After`.

use std::collections::BTreeMap;

use base64::Engine;
use ferrodesk_core::{
    Channel, GroupId, OrganizationId, Priority, Role, Sharing, StatusCategory, StatusId,
    TicketScope, UserAccess, UserId,
};
use serde_json::{Value, json};

use crate::dto::{FieldIn, OrganizationIn, StatusIn, UserIn};
use crate::imports::{
    PAGE, Reader, SourceComment, SourceFile, SourceTicket, SourceUser, id_of, micros, source_name,
    text,
};
use crate::{App, AppError, Principal, Result};

/// The Zendesk account to read: `url` is the account's address (`https://acme.zendesk.com`,
/// or a Ferrodesk's `https://desk.example.com/zendesk`); `email` and `token` an admin's API
/// token.
#[derive(Debug, Clone)]
pub struct ZendeskAccount {
    /// The account's address, without `/api/v2`.
    pub url: String,
    /// An admin's address.
    pub email: String,
    /// That admin's API token.
    pub token: String,
}

pub use crate::imports::{Counts, ImportReport};

/// Reads Zendesk's API: Basic `EMAIL/token:TOKEN`, absolute page links followed as given,
/// `429` waited out for `Retry-After` seconds, `5xx` retried a few times.
fn reader(account: &ZendeskAccount) -> Reader {
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}/token:{}", account.email, account.token));
    Reader::new(
        format!("{}/api/v2", account.url.trim_end_matches('/')),
        format!("Basic {credentials}"),
        |status| match status {
            401 => " (check --email and --token: an admin's API token)",
            403 => " (the token's user must be an admin)",
            _ => "",
        },
    )
}

impl Reader {
    /// Every record under `key` of a list, following `links.next` (cursor pages) or
    /// `next_page` (offset pages) to the end.
    async fn all(&mut self, first: &str, key: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(first.to_owned());
        while let Some(url) = next {
            let page = self.get(&url).await?;
            if let Some(items) = page[key].as_array() {
                out.extend(items.iter().cloned());
            }
            next = if page["meta"]["has_more"] == json!(true) {
                page["links"]["next"].as_str().map(str::to_owned)
            } else {
                page["next_page"].as_str().map(str::to_owned)
            };
        }
        Ok(out)
    }
}

/// A field key of ours for a Zendesk field: its `key` when it has one (Ferrodesk sends it),
/// else its title in lowercase letters, digits and `_`.
fn field_key(f: &Value) -> String {
    if let Some(k) = f["key"].as_str().filter(|k| !k.is_empty()) {
        return k.to_owned();
    }
    let mut key: String = text(f, "title")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    key = key.trim_matches('_').to_owned();
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        key = format!("f_{key}");
    }
    key.chars().take(40).collect()
}

/// A Zendesk status category as ours (Zendesk's hold waits like pending; new is open).
fn category(word: &str) -> StatusCategory {
    match word {
        "pending" | "hold" => StatusCategory::Pending,
        "solved" => StatusCategory::Resolved,
        "closed" => StatusCategory::Closed,
        _ => StatusCategory::Open,
    }
}

/// The ids this run maps from the source's ids, per kind.
#[derive(Default)]
struct Links {
    groups: BTreeMap<i64, i64>,
    statuses: BTreeMap<i64, i64>,
    organizations: BTreeMap<i64, i64>,
    users: BTreeMap<i64, i64>,
    /// Source field id → our key.
    fields: BTreeMap<i64, String>,
}

impl App {
    /// Imports a Zendesk account into this database (see the module's documentation);
    /// `ticket_limit` stops after that many new tickets (a run in parts). `progress` is told
    /// what is happening, a line at a time.
    pub async fn import_zendesk(
        &self,
        account: &ZendeskAccount,
        ticket_limit: Option<u64>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ImportReport> {
        let source = source_name(&account.url);
        self.import_zendesk_from(
            &source,
            reader(account),
            &account.email,
            ticket_limit,
            progress,
        )
        .await
    }

    /// [`App::import_zendesk`] from a source that answers from memory, named `source` (the
    /// write-path bench: generated Zendesk pages through the importer's own code, no HTTP).
    pub async fn import_zendesk_answered(
        &self,
        source: &str,
        answers: crate::imports::Answers,
        ticket_limit: Option<u64>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ImportReport> {
        let reader = Reader::answered(answers);
        self.import_zendesk_from(source, reader, "the admin", ticket_limit, progress)
            .await
    }

    async fn import_zendesk_from(
        &self,
        source: &str,
        mut reader: Reader,
        email: &str,
        ticket_limit: Option<u64>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ImportReport> {
        let source = source.to_owned();
        let mut report = ImportReport::default();
        let mut links = Links::default();
        let sys = self.system_principal();
        let me = reader.get("/users/me.json").await?;
        if me["user"]["role"] != json!("admin") {
            return Err(AppError::invalid(
                "email",
                "not_admin",
                format!("{email} is not an admin of {source}: the import needs an admin's token"),
            ));
        }
        progress(&format!("reading {source}"));
        self.import_groups(&mut reader, &source, &sys, &mut links, &mut report)
            .await?;
        self.import_statuses(&mut reader, &source, &sys, &mut links, &mut report)
            .await?;
        self.import_fields(&mut reader, &sys, &mut links, &mut report)
            .await?;
        progress("groups, statuses and fields done");
        self.import_organizations(&mut reader, &source, &sys, &mut links, &mut report)
            .await?;
        let orgs = *report.count("organizations");
        progress(&format!(
            "organizations done ({})",
            orgs.imported + orgs.already
        ));
        self.import_users(&mut reader, &source, &sys, &mut links, &mut report)
            .await?;
        let users = *report.count("users");
        progress(&format!("users done ({})", users.imported + users.already));
        let load = self.begin_ticket_phase(progress).await?;
        let written = self
            .import_tickets(
                &mut reader,
                &source,
                &links,
                &mut report,
                ticket_limit,
                progress,
            )
            .await;
        self.end_ticket_phase(load, written, &mut report, progress)
            .await?;
        report.waits = reader.waits;
        Ok(report)
    }

    async fn import_groups(
        &self,
        reader: &mut Reader,
        source: &str,
        sys: &Principal,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        let groups = reader.all("/groups.json", "groups").await?;
        links.groups = self.import_groups_of(source, sys, &groups, report).await?;
        Ok(())
    }

    async fn import_statuses(
        &self,
        reader: &mut Reader,
        source: &str,
        sys: &Principal,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.statuses = self.known(source, "status").await?;
        let ours = self.list_statuses(sys).await?.items;
        let answer = reader.get("/custom_statuses.json").await?;
        for s in answer["custom_statuses"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let Some(ext) = id_of(&s) else { continue };
            if let Some(local) = links.statuses.get(&ext) {
                report.count("statuses").already += 1;
                if let Some(o) = ours.iter().find(|o| o.id == *local)
                    && !o.built_in
                    && !o.all_groups
                    && o.internal_group_ids.is_empty()
                {
                    report.notes.push(format!(
                        "status \"{}\": no internal groups are mapped to it yet; map them in Admin → Statuses",
                        o.name
                    ));
                }
                continue;
            }
            let name = text(&s, "agent_label");
            let cat = category(s["status_category"].as_str().unwrap_or("open"));
            // The same name here first (Ferrodesk's built-ins, Customer Responded); then a
            // source default by its category (Zendesk's Open, Pending, Solved…).
            let same = ours.iter().find(|o| o.name.eq_ignore_ascii_case(&name));
            let default = (s["default"] == json!(true))
                .then(|| ours.iter().find(|o| o.built_in && o.category == cat))
                .flatten();
            let local = match same.or(default) {
                Some(o) => {
                    report.count("statuses").already += 1;
                    o.id
                }
                None => {
                    let groups: Vec<i64> = s["internal_group_ids"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_i64)
                                .filter_map(|g| links.groups.get(&g).copied())
                                .collect()
                        })
                        .unwrap_or_default();
                    let all = s["all_groups"] == json!(true);
                    let input = StatusIn {
                        name: Some(name.clone()),
                        customer_label: Some(
                            s["end_user_label"]
                                .as_str()
                                .filter(|l| !l.is_empty())
                                .unwrap_or(&name)
                                .to_owned(),
                        ),
                        category: Some(match cat {
                            StatusCategory::Closed => StatusCategory::Resolved,
                            c => c,
                        }),
                        position: None,
                        internal_group_ids: Some(groups.clone()),
                        all_groups: Some(all),
                    };
                    match self.create_status(sys, input).await {
                        Ok(o) => {
                            report.count("statuses").imported += 1;
                            if groups.is_empty() && !all {
                                report.notes.push(format!(
                                    "status \"{name}\": no internal groups are mapped to it \
                                     (Zendesk does not say which); map them in Admin → Statuses"
                                ));
                            }
                            o.id
                        }
                        Err(e) => {
                            report.count("statuses").skipped += 1;
                            report
                                .notes
                                .push(format!("status {ext} \"{name}\": {e}; its tickets take the built-in status of its category"));
                            continue;
                        }
                    }
                }
            };
            self.link(source, "status", ext, local).await?;
            links.statuses.insert(ext, local);
        }
        Ok(())
    }

    async fn import_fields(
        &self,
        reader: &mut Reader,
        sys: &Principal,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        let ours = self.list_fields(sys).await?;
        for f in reader.all("/ticket_fields.json", "ticket_fields").await? {
            let Some(ext) = id_of(&f) else { continue };
            let field_type = match f["type"].as_str().unwrap_or("") {
                "text" | "textarea" | "regexp" => "text",
                "decimal" | "integer" => "number",
                "checkbox" => "checkbox",
                "tagger" | "multiselect" => "dropdown",
                "date" => "date",
                // Zendesk's system fields (subject, status, …) are ticket columns here.
                _ => continue,
            };
            let key = field_key(&f);
            if ours.iter().any(|o| o.key == key) {
                report.count("fields").already += 1;
                links.fields.insert(ext, key);
                continue;
            }
            let options = f["custom_field_options"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o["value"].as_str().or(o["name"].as_str()))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let input = FieldIn {
                key: key.clone(),
                title: text(&f, "title"),
                field_type: field_type.to_owned(),
                options,
            };
            match self.create_field(sys, input).await {
                Ok(_) => {
                    report.count("fields").imported += 1;
                    links.fields.insert(ext, key);
                }
                Err(e) => {
                    report.count("fields").skipped += 1;
                    report
                        .notes
                        .push(format!("ticket field \"{}\": {e}", text(&f, "title")));
                }
            }
        }
        Ok(())
    }

    async fn import_organizations(
        &self,
        reader: &mut Reader,
        source: &str,
        sys: &Principal,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.organizations = self.known(source, "organization").await?;
        let (by_name, _) = self.names_here(sys).await?;
        let now = self.now();
        for o in reader
            .all("/organizations.json?page%5Bsize%5D=100", "organizations")
            .await?
        {
            let Some(ext) = id_of(&o) else { continue };
            let name = text(&o, "name");
            let local = match links
                .organizations
                .get(&ext)
                .copied()
                .or_else(|| by_name.get(&name.to_lowercase()).copied())
            {
                Some(id) => {
                    report.count("organizations").already += 1;
                    id
                }
                None => {
                    let texts = |k: &str| {
                        o[k].as_array().map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect::<Vec<_>>()
                        })
                    };
                    let input = OrganizationIn {
                        name: Some(name.clone()),
                        domain_names: texts("domain_names"),
                        details: o["details"].as_str().map(str::to_owned),
                        notes: o["notes"].as_str().map(str::to_owned),
                        tags: texts("tags"),
                        ..OrganizationIn::default()
                    };
                    match self.create_organization(sys, input).await {
                        Ok(out) => {
                            report.count("organizations").imported += 1;
                            out.id
                        }
                        Err(e) => {
                            report.count("organizations").skipped += 1;
                            report
                                .notes
                                .push(format!("organization {ext} \"{name}\": {e}"));
                            continue;
                        }
                    }
                }
            };
            if let std::collections::btree_map::Entry::Vacant(e) = links.organizations.entry(ext) {
                self.link(source, "organization", ext, local).await?;
                e.insert(local);
            }
            let sharing = match (
                o["shared_tickets"] == json!(true),
                o["shared_comments"] == json!(true),
            ) {
                (_, true) => Sharing::ReadWrite,
                (true, false) => Sharing::ReadOnly,
                (false, false) => Sharing::OwnOnly,
            };
            self.import_sharing(OrganizationId(local), sharing, "Zendesk", source, now)
                .await?;
        }
        Ok(())
    }

    async fn import_users(
        &self,
        reader: &mut Reader,
        source: &str,
        sys: &Principal,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.users = self.known(source, "user").await?;
        let mut orgs_of: BTreeMap<i64, Vec<(i64, bool)>> = BTreeMap::new();
        for m in reader
            .all(
                "/organization_memberships.json?page%5Bsize%5D=100",
                "organization_memberships",
            )
            .await?
        {
            if let (Some(u), Some(o)) = (m["user_id"].as_i64(), m["organization_id"].as_i64()) {
                orgs_of
                    .entry(u)
                    .or_default()
                    .push((o, m["default"] == json!(true)));
            }
        }
        let mut groups_of: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for m in reader
            .all("/group_memberships.json", "group_memberships")
            .await?
        {
            if let (Some(u), Some(g)) = (m["user_id"].as_i64(), m["group_id"].as_i64()) {
                groups_of.entry(u).or_default().push(g);
            }
        }
        let (_, existing) = self.names_here(sys).await?;
        let mut new_users = Vec::new();
        for u in reader
            .all("/users.json?page%5Bsize%5D=100", "users")
            .await?
        {
            let Some(ext) = id_of(&u) else { continue };
            if links.users.contains_key(&ext) {
                report.count("users").already += 1;
                continue;
            }
            let email = text(&u, "email").to_lowercase();
            if email.is_empty() {
                report.count("users").skipped += 1;
                report.notes.push(format!(
                    "user {ext} \"{}\": has no email address (Ferrodesk users sign in and are written to by address); their tickets are left out too: give them an address in Zendesk and run the import again",
                    text(&u, "name")
                ));
                continue;
            }
            if let Some(local) = existing.get(&email).copied() {
                report.count("users").already += 1;
                self.link(source, "user", ext, local).await?;
                links.users.insert(ext, local);
                continue;
            }
            let role = match u["role"].as_str() {
                Some("admin") => Role::Admin,
                Some("agent") => Role::Agent,
                _ => Role::EndUser,
            };
            let restriction = u["ticket_restriction"].as_str();
            let memberships = orgs_of.get(&ext).cloned().unwrap_or_default();
            let organization_ids: Vec<i64> = memberships
                .iter()
                .filter_map(|(o, _)| links.organizations.get(o).copied())
                .collect();
            let default = memberships
                .iter()
                .find(|(_, d)| *d)
                .or(memberships.first())
                .and_then(|(o, _)| links.organizations.get(o).copied());
            let name = Some(text(&u, "name"))
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
            let input = UserIn {
                name: name.clone(),
                email: email.clone(),
                role: Some(role),
                ticket_scope: (role == Role::Agent).then_some(match restriction {
                    Some("groups") => TicketScope::Group,
                    Some("assigned") => TicketScope::Assigned,
                    _ => TicketScope::Global,
                }),
                access: (role == Role::EndUser).then_some(match restriction {
                    Some("organization") => UserAccess::Organization,
                    _ => UserAccess::Requested,
                }),
                password: None,
                organization_ids: if role == Role::EndUser {
                    organization_ids
                } else {
                    Vec::new()
                },
                default_organization_id: if role == Role::EndUser { default } else { None },
                group_ids: if role == Role::EndUser {
                    Vec::new()
                } else {
                    groups_of
                        .get(&ext)
                        .map(|gs| {
                            gs.iter()
                                .filter_map(|g| links.groups.get(g).copied())
                                .collect()
                        })
                        .unwrap_or_default()
                },
            };
            new_users.push(SourceUser {
                ext,
                input,
                suspended: u["suspended"] == json!(true),
            });
        }
        for (ext, local, _) in self
            .create_source_users(sys, source, new_users, report)
            .await?
        {
            links.users.insert(ext, local);
        }
        Ok(())
    }

    async fn import_tickets(
        &self,
        reader: &mut Reader,
        source: &str,
        links: &Links,
        report: &mut ImportReport,
        limit: Option<u64>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<()> {
        let fallback_author = self.import_fallback_author().await?;
        // Deleted tickets stay behind; `include=comments` is Ferrodesk's sideload (a source
        // that does not know it sends none, and each ticket's comments are read).
        let first = "/incremental/tickets/cursor.json?start_time=0&per_page=1000&exclude_deleted=true&include=comments";
        let mut fetched = Some(reader.get(first).await?);
        // Tickets here already; a ticket the export lists twice (changed while it ran) is
        // taken once.
        let mut known = self.tickets_known(source).await?;
        while let Some(mut page) = fetched.take() {
            let tickets = match page["tickets"].take() {
                Value::Array(tickets) => tickets,
                _ => Vec::new(),
            };
            let mut batch = Vec::new();
            for t in tickets {
                let Some(ext) = id_of(&t) else { continue };
                if t["status"] == json!("deleted") {
                    report.count("tickets").skipped += 1;
                } else if !known.insert(ext) {
                    report.count("tickets").already += 1;
                } else {
                    batch.push(t);
                }
            }
            let mut stop = false;
            if let Some(n) = limit {
                let room = n.saturating_sub(report.count("tickets").imported) as usize;
                if batch.len() > room {
                    batch.truncate(room);
                    stop = true;
                }
            }
            // A page of the source at a time, written in transactions of `PAGE` tickets (what
            // a failure in the middle loses is small) while the next page is read.
            let mut pages = Vec::new();
            for chunk in batch.chunks(PAGE) {
                let mut prepared = Vec::new();
                for t in chunk {
                    let ext = id_of(t).unwrap_or_default();
                    let comments = match t["comments"].as_array() {
                        Some(sideloaded) => sideloaded.clone(),
                        None => {
                            reader
                                .all(&format!("/tickets/{ext}/comments.json"), "comments")
                                .await?
                        }
                    };
                    let mut st = source_ticket(links, t, &comments);
                    for (c, sc) in comments.iter().zip(st.comments.iter_mut()) {
                        let files = c["attachments"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|f| f["deleted"] != json!(true))
                            .map(|f| SourceFile::of(f, "file_name", "content_url"))
                            .collect();
                        sc.upload_tokens = self
                            .import_files(reader, ext, files, &mut report.notes)
                            .await?;
                    }
                    prepared.push(st);
                }
                pages.push(prepared);
            }
            let next = if stop || page["end_of_stream"] == json!(true) {
                None
            } else {
                page["after_url"].as_str().map(str::to_owned)
            };
            let write = async {
                for prepared in pages {
                    self.write_ticket_page("Zendesk", source, fallback_author, prepared, report)
                        .await?;
                }
                Ok::<_, AppError>(())
            };
            let read = async {
                match &next {
                    Some(url) => reader.get(url).await.map(Some),
                    None => Ok(None),
                }
            };
            let (written, read) = tokio::join!(write, read);
            written?;
            fetched = read?;
            let done = *report.count("tickets");
            progress(&format!(
                "tickets: {} imported, {} already here",
                done.imported, done.already
            ));
            if stop {
                report.stopped_early = true;
                break;
            }
        }
        Ok(())
    }
}

/// A Zendesk ticket with its comments, its references translated through `links`.
fn source_ticket(links: &Links, t: &Value, comments: &[Value]) -> SourceTicket {
    let user = |v: &Value| v.as_i64().and_then(|u| links.users.get(&u).copied());
    let group = |v: &Value| v.as_i64().and_then(|g| links.groups.get(&g).copied());
    let mut custom = BTreeMap::new();
    for f in t["custom_fields"].as_array().cloned().unwrap_or_default() {
        if let (Some(id), false) = (f["id"].as_i64(), f["value"].is_null())
            && let Some(key) = links.fields.get(&id)
        {
            custom.insert(key.clone(), f["value"].clone());
        }
    }
    SourceTicket {
        ext: id_of(t).unwrap_or_default(),
        subject: text(t, "subject"),
        requester: user(&t["requester_id"]).map(UserId),
        requester_source: t["requester_id"].clone(),
        organization: t["organization_id"]
            .as_i64()
            .and_then(|o| links.organizations.get(&o).copied())
            .map(OrganizationId),
        // Zendesk gives a closed ticket the custom status of a solved one: closed wins.
        status: t["custom_status_id"]
            .as_i64()
            .filter(|_| t["status"] != json!("closed"))
            .and_then(|s| links.statuses.get(&s).copied())
            .map(StatusId),
        category: category(t["status"].as_str().unwrap_or("open")),
        priority: t["priority"]
            .as_str()
            .and_then(|p| Priority::parse(p).ok())
            .unwrap_or(Priority::Normal),
        group: group(&t["group_id"]).map(GroupId),
        assignee: user(&t["assignee_id"]).map(UserId),
        internal_group: group(&t["internal_group_id"]).map(GroupId),
        internal_agent: user(&t["internal_agent_id"]).map(UserId),
        cc_ids: t["collaborator_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(user).map(UserId).collect())
            .unwrap_or_default(),
        tags: t["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        custom_fields: custom,
        channel: match t["via"]["channel"].as_str() {
            Some("email") => Channel::Email,
            Some("web") => Channel::Web,
            _ => Channel::Api,
        },
        created_at: micros(t, "created_at"),
        updated_at: micros(t, "updated_at"),
        comments: comments
            .iter()
            .map(|c| SourceComment {
                upload_tokens: Vec::new(),
                author: user(&c["author_id"]).map(UserId),
                body: c["plain_body"]
                    .as_str()
                    .or(c["body"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
                public: c["public"] != json!(false),
                created_at: micros(c, "created_at"),
            })
            .collect(),
        description: t["description"].as_str().map(str::to_owned),
    }
}
