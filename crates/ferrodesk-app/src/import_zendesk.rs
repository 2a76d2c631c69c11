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
use std::time::Duration;

use base64::Engine;
use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::validate::Problems;
use ferrodesk_core::{
    Channel, CommentId, GroupId, OrganizationId, Priority, Role, Sharing, StatusCategory, StatusId,
    TicketId, TicketScope, UserAccess, UserId,
};
use ferrodesk_store::directory::{OrganizationFields, UserFilter};
use ferrodesk_store::imports;
use ferrodesk_store::tickets::{Comment, Ticket};
use serde_json::{Value, json};

use crate::directory::commit;
use crate::dto::{FieldIn, GroupIn, OrganizationIn, StatusIn, UserIn, UserPatch};
use crate::ticket_write::Explicit;
use crate::{Actor, App, AppError, Principal, Result};

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

/// What an import did, per kind of record, and what it could not take as it was.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Per kind (`groups`, `statuses`, `fields`, `organizations`, `users`, `tickets`,
    /// `comments`): new here, already here (matched or imported before), left out.
    pub counts: BTreeMap<&'static str, Counts>,
    /// One line per record that was left out or changed, and why.
    pub notes: Vec<String>,
    /// How often the source asked us to slow down (429).
    pub waits: u64,
    /// Whether the run stopped at its ticket limit before the end.
    pub stopped_early: bool,
}

/// Counts of one kind of record.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Written here by this run.
    pub imported: u64,
    /// Found here already (imported before, or matched by name or address).
    pub already: u64,
    /// Left out (see the notes).
    pub skipped: u64,
}

impl ImportReport {
    fn count(&mut self, kind: &'static str) -> &mut Counts {
        self.counts.entry(kind).or_default()
    }
}

/// Reads Zendesk's API: Basic `EMAIL/token:TOKEN`, absolute page links followed as given,
/// `429` waited out for `Retry-After` seconds, `5xx` retried a few times.
struct Reader {
    http: reqwest::Client,
    api: String,
    auth: String,
    waits: u64,
}

const MAX_ATTEMPTS: u32 = 30;

impl Reader {
    fn new(account: &ZendeskAccount) -> Reader {
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}/token:{}", account.email, account.token));
        Reader {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
            api: format!("{}/api/v2", account.url.trim_end_matches('/')),
            auth: format!("Basic {credentials}"),
            waits: 0,
        }
    }

    /// GET `path` (relative to `/api/v2`) or an absolute URL the API gave.
    async fn get(&mut self, path_or_url: &str) -> Result<Value> {
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.api)
        };
        let mut failures = 0;
        for _ in 0..MAX_ATTEMPTS {
            let sent = self
                .http
                .get(&url)
                .header("authorization", &self.auth)
                .header("accept", "application/json")
                .send()
                .await;
            let res = match sent {
                Ok(r) => r,
                Err(e) if failures < 3 => {
                    failures += 1;
                    tracing::warn!(%url, error = %e, "zendesk import: retrying");
                    tokio::time::sleep(Duration::from_secs(1 << failures)).await;
                    continue;
                }
                Err(e) => return Err(source_error(&url, format!("cannot reach it: {e}"))),
            };
            let status = res.status();
            if status.as_u16() == 429 {
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 600);
                self.waits += 1;
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            if status.is_server_error() && failures < 3 {
                failures += 1;
                tokio::time::sleep(Duration::from_secs(1 << failures)).await;
                continue;
            }
            let text = res
                .text()
                .await
                .map_err(|e| source_error(&url, format!("the answer broke off: {e}")))?;
            if !status.is_success() {
                let hint = match status.as_u16() {
                    401 => " (check --email and --token: an admin's API token)",
                    403 => " (the token's user must be an admin)",
                    _ => "",
                };
                return Err(source_error(
                    &url,
                    format!(
                        "answered {status}{hint}: {}",
                        text.chars().take(300).collect::<String>()
                    ),
                ));
            }
            return serde_json::from_str(&text)
                .map_err(|e| source_error(&url, format!("the answer is not JSON: {e}")));
        }
        Err(source_error(
            &url,
            format!("still busy after {MAX_ATTEMPTS} attempts"),
        ))
    }

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

fn source_error(url: &str, what: String) -> AppError {
    AppError::invalid("url", "source_failed", format!("{url}: {what}"))
}

fn id_of(v: &Value) -> Option<i64> {
    v["id"].as_i64()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn micros(v: &Value, key: &str) -> Option<i64> {
    v[key]
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_microsecond())
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
        let source = account
            .url
            .trim_end_matches('/')
            .split_once("://")
            .map_or(account.url.as_str(), |(_, rest)| rest)
            .to_owned();
        let mut reader = Reader::new(account);
        let mut report = ImportReport::default();
        let mut links = Links::default();
        let sys = self.system_principal();
        let me = reader.get("/users/me.json").await?;
        if me["user"]["role"] != json!("admin") {
            return Err(AppError::invalid(
                "email",
                "not_admin",
                format!(
                    "{} is not an admin of {source}: the import needs an admin's token",
                    account.email
                ),
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
        self.import_tickets(
            &mut reader,
            &source,
            &links,
            &mut report,
            ticket_limit,
            progress,
        )
        .await?;
        report.waits = reader.waits;
        Ok(report)
    }

    async fn link(&self, source: &str, kind: &str, external: i64, local: i64) -> Result<()> {
        let mut tx = self.store().begin().await?;
        if imports::link(&mut tx, source, kind, external)
            .await?
            .is_none()
        {
            imports::set_link(&mut tx, source, kind, external, local).await?;
        }
        commit(tx).await
    }

    async fn known(&self, source: &str, kind: &str) -> Result<BTreeMap<i64, i64>> {
        let mut c = self.store().read().await?;
        Ok(imports::links(&mut c, source, kind)
            .await?
            .into_iter()
            .collect())
    }

    async fn import_groups(
        &self,
        reader: &mut Reader,
        source: &str,
        sys: &Principal,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.groups = self.known(source, "group").await?;
        let ours = self.list_groups(sys).await?.items;
        for g in reader.all("/groups.json", "groups").await? {
            let Some(ext) = id_of(&g) else { continue };
            if links.groups.contains_key(&ext) {
                report.count("groups").already += 1;
                continue;
            }
            let name = text(&g, "name");
            let local = match ours.iter().find(|o| o.name.eq_ignore_ascii_case(&name)) {
                Some(o) => {
                    report.count("groups").already += 1;
                    o.id
                }
                None => match self
                    .create_group(
                        sys,
                        GroupIn {
                            name: Some(name.clone()),
                            agent_ids: Vec::new(),
                        },
                    )
                    .await
                {
                    Ok(o) => {
                        report.count("groups").imported += 1;
                        o.id
                    }
                    Err(e) => {
                        report.count("groups").skipped += 1;
                        report.notes.push(format!("group {ext} \"{name}\": {e}"));
                        continue;
                    }
                },
            };
            self.link(source, "group", ext, local).await?;
            links.groups.insert(ext, local);
        }
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
            if links.statuses.contains_key(&ext) {
                report.count("statuses").already += 1;
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
        let mut by_name: BTreeMap<String, i64> = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_organizations(sys, cursor.as_deref(), Some(100))
                .await?;
            by_name.extend(page.items.iter().map(|o| (o.name.to_lowercase(), o.id)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
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
            self.import_sharing(OrganizationId(local), sharing, source, now)
                .await?;
        }
        Ok(())
    }

    /// Gives an organization the sharing mode it had at the source, when it has not got it,
    /// and records it for the register ("imported from Zendesk on DATE") and the audit trail.
    async fn import_sharing(
        &self,
        org: OrganizationId,
        sharing: Sharing,
        source: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let Some(current) = ferrodesk_store::directory::get_organization(&mut tx, org).await?
        else {
            return Ok(());
        };
        if current.sharing == sharing {
            return Ok(());
        }
        let fields = OrganizationFields {
            sharing: Some(sharing),
            ..OrganizationFields::default()
        };
        ferrodesk_store::directory::update_organization(&mut tx, org, &fields, now).await?;
        imports::record_sharing(&mut tx, org, sharing, "Zendesk", source, now).await?;
        self.audit(
            &mut tx,
            Actor::system(Channel::Cli),
            ("organization", org.0),
            "sharing_imported",
            vec![FieldChange::new(
                "sharing",
                json!(current.sharing.as_str()),
                json!(sharing.as_str()),
            )],
            Some(format!("imported from Zendesk ({source})")),
        )
        .await?;
        commit(tx).await
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
        let mut existing: BTreeMap<String, i64> = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_users(sys, UserFilter::default(), cursor.as_deref(), Some(100))
                .await?;
            existing.extend(
                page.items
                    .iter()
                    .filter_map(|u| u.email.as_ref().map(|e| (e.to_lowercase(), u.id))),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
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
                    "user {ext} \"{}\": has no email address (Ferrodesk users sign in and are written to by address); their tickets name the importing admin",
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
            match self.create_user(sys, input).await {
                Ok(out) => {
                    report.count("users").imported += 1;
                    if u["suspended"] == json!(true) {
                        self.update_user(
                            sys,
                            UserId(out.id),
                            UserPatch {
                                suspended: Some(true),
                                ..UserPatch::default()
                            },
                        )
                        .await?;
                    }
                    self.link(source, "user", ext, out.id).await?;
                    links.users.insert(ext, out.id);
                }
                Err(e) => {
                    report.count("users").skipped += 1;
                    report.notes.push(format!("user {ext} <{email}>: {e}"));
                }
            }
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
        let fallback_author = {
            let mut c = self.store().read().await?;
            ferrodesk_store::directory::system_user(&mut c).await?
        };
        let mut next =
            Some("/incremental/tickets/cursor.json?start_time=0&per_page=1000".to_owned());
        while let Some(url) = next {
            let page = reader.get(&url).await?;
            let tickets = page["tickets"].as_array().cloned().unwrap_or_default();
            let mut batch = Vec::new();
            {
                let mut c = self.store().read().await?;
                for t in &tickets {
                    let Some(ext) = id_of(t) else { continue };
                    if imports::link(&mut c, source, "ticket", ext)
                        .await?
                        .is_some()
                    {
                        report.count("tickets").already += 1;
                    } else {
                        batch.push(t.clone());
                    }
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
            let mut prepared = Vec::new();
            for t in batch {
                let ext = id_of(&t).unwrap_or_default();
                let comments = reader
                    .all(&format!("/tickets/{ext}/comments.json"), "comments")
                    .await?;
                prepared.push((t, comments));
            }
            self.write_ticket_page(source, links, fallback_author, prepared, report)
                .await?;
            let done = *report.count("tickets");
            progress(&format!(
                "tickets: {} imported, {} already here",
                done.imported, done.already
            ));
            if stop {
                report.stopped_early = true;
                break;
            }
            next = if page["end_of_stream"] == json!(true) {
                None
            } else {
                page["after_url"].as_str().map(str::to_owned)
            };
        }
        Ok(())
    }

    /// Writes a page of source tickets with their comments and links, in one transaction.
    async fn write_ticket_page(
        &self,
        source: &str,
        links: &Links,
        fallback_author: UserId,
        page: Vec<(Value, Vec<Value>)>,
        report: &mut ImportReport,
    ) -> Result<()> {
        if page.is_empty() {
            return Ok(());
        }
        let mut tx = self.store().begin().await?;
        let mut w = self.ticket_write(&mut tx).await?;
        let open = w.built_in("Open")?.id;
        let actor = Actor::system(Channel::Cli);
        let mut written: Vec<(&'static str, u64)> = Vec::new();
        let mut notes = Vec::new();
        for (t, comments) in page {
            let ext = id_of(&t).unwrap_or_default();
            let user = |v: &Value| v.as_i64().and_then(|u| links.users.get(&u).copied());
            let Some(requester) = user(&t["requester_id"]) else {
                notes.push(format!(
                    "ticket {ext}: its requester {} was not imported; the ticket is left out",
                    t["requester_id"]
                ));
                written.push(("skipped", 1));
                continue;
            };
            let status = t["custom_status_id"]
                .as_i64()
                .and_then(|s| links.statuses.get(&s).copied())
                .map(StatusId)
                .or_else(|| {
                    let cat = category(t["status"].as_str().unwrap_or("open"));
                    w.statuses
                        .iter()
                        .find(|s| s.built_in && s.category == cat)
                        .map(|s| s.id)
                })
                .unwrap_or(open);
            let group = |v: &Value| v.as_i64().and_then(|g| links.groups.get(&g).copied());
            let mut custom = BTreeMap::new();
            for f in t["custom_fields"].as_array().cloned().unwrap_or_default() {
                if let (Some(id), false) = (f["id"].as_i64(), f["value"].is_null())
                    && let Some(key) = links.fields.get(&id)
                {
                    custom.insert(key.clone(), f["value"].clone());
                }
            }
            let mut problems = Problems::default();
            let custom = crate::tickets::check_custom_fields(&w.defs, &custom, &mut problems);
            let created = micros(&t, "created_at").unwrap_or_else(|| self.now());
            let mut ticket = Ticket {
                id: TicketId(0),
                subject: Some(text(&t, "subject"))
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| "(no subject)".to_owned())
                    .chars()
                    .take(250)
                    .collect(),
                requester_id: UserId(requester),
                organization_id: t["organization_id"]
                    .as_i64()
                    .and_then(|o| links.organizations.get(&o).copied())
                    .map(OrganizationId),
                status_id: status,
                priority: t["priority"]
                    .as_str()
                    .and_then(|p| Priority::parse(p).ok())
                    .unwrap_or(Priority::Normal),
                group_id: group(&t["group_id"]).map(GroupId),
                assignee_id: user(&t["assignee_id"]).map(UserId),
                internal_group_id: group(&t["internal_group_id"]).map(GroupId),
                internal_agent_id: user(&t["internal_agent_id"]).map(UserId),
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
                            .take(50)
                            .collect()
                    })
                    .unwrap_or_default(),
                custom_fields: custom,
                channel: match t["via"]["channel"].as_str() {
                    Some("email") => Channel::Email,
                    Some("web") => Channel::Web,
                    _ => Channel::Api,
                },
                sharing_check: None,
                created_at: created,
                updated_at: micros(&t, "updated_at").unwrap_or(created),
                version: 1,
            };
            ticket.cc_ids.sort();
            ticket.cc_ids.dedup();
            // The requester's organization must be one of theirs.
            let member = ferrodesk_store::directory::get_user(&mut tx, ticket.requester_id)
                .await?
                .is_some_and(|r| {
                    ticket
                        .organization_id
                        .is_none_or(|o| r.organization_ids.contains(&o))
                });
            if !member {
                notes.push(format!(
                    "ticket {ext}: its requester is not a member of its organization here; kept without the organization"
                ));
                ticket.organization_id = None;
            }
            let explicit = Explicit {
                internal_group: ticket.internal_group_id.is_some(),
                internal_agent: ticket.internal_agent_id.is_some(),
            };
            let mut check = Problems::default();
            w.check(&mut tx, None, &mut ticket, explicit, &mut check)
                .await?;
            if let Err(errors) = check.finish() {
                let owner_only = errors
                    .iter()
                    .all(|e| e.field.starts_with("internal_") || e.field == "status_id");
                if !owner_only {
                    notes.push(format!(
                        "ticket {ext}: left out: {}",
                        errors
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                    written.push(("skipped", 1));
                    continue;
                }
                notes.push(format!(
                    "ticket {ext}: kept without its internal owner, which breaks shared ownership here: {}",
                    errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                ticket.internal_group_id = None;
                ticket.internal_agent_id = None;
                let mut again = Problems::default();
                w.check(&mut tx, None, &mut ticket, Explicit::default(), &mut again)
                    .await?;
                again.finish().map_err(AppError::Invalid)?;
            }
            if let Err(errors) = problems.finish() {
                notes.push(format!(
                    "ticket {ext}: custom field values left out: {}",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            let mut thread: Vec<Comment> = comments
                .iter()
                .filter_map(|c| {
                    let body = c["plain_body"]
                        .as_str()
                        .or(c["body"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    (!body.trim().is_empty()).then(|| Comment {
                        id: CommentId(0),
                        ticket_id: TicketId(0),
                        author_id: user(&c["author_id"]).map_or(fallback_author, UserId),
                        body,
                        public: c["public"] != json!(false),
                        channel: ticket.channel,
                        created_at: micros(c, "created_at").unwrap_or(created),
                    })
                })
                .collect();
            if thread.is_empty() {
                thread.push(Comment {
                    id: CommentId(0),
                    ticket_id: TicketId(0),
                    author_id: ticket.requester_id,
                    body: t["description"]
                        .as_str()
                        .filter(|d| !d.trim().is_empty())
                        .unwrap_or("(no description)")
                        .to_owned(),
                    public: true,
                    channel: ticket.channel,
                    created_at: created,
                });
            }
            let n = thread.len() as u64;
            w.import(
                &mut tx,
                actor,
                &mut ticket,
                &mut thread,
                format!("imported from Zendesk ({source}), ticket {ext}"),
            )
            .await?;
            imports::set_link(&mut tx, source, "ticket", ext, ticket.id.0).await?;
            written.push(("imported", 1));
            written.push(("comments", n));
        }
        commit(tx).await?;
        for (what, n) in written {
            match what {
                "imported" => report.count("tickets").imported += n,
                "comments" => report.count("comments").imported += n,
                _ => report.count("tickets").skipped += n,
            }
        }
        report.notes.extend(notes);
        Ok(())
    }
}
