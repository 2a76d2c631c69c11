//! `ferrodesk import freshdesk`: a Freshdesk account (or another Ferrodesk, through its
//! `/freshdesk/api/v2`) read through Freshdesk's API v2 and written here — groups, custom
//! statuses with the internal groups **the admin maps in a file** (Freshdesk's API does not
//! say which groups a status maps), ticket fields, companies as organizations (with their
//! sharing mode when the source says it, recorded in the sharing register as imported),
//! agents with their scope and groups, contacts with their organizations and access, and
//! tickets with their conversations, CCs, tags, fields, internal owner and original times
//! (SPEC §8).
//!
//! **The status-groups file** is a JSON object naming every custom status of the account
//! (status code 6 and up) by its agent label, as people read it:
//!
//! ```json
//! {
//!   "Customer Responded": "all",
//!   "Waiting on Finance": ["Finance"],
//!   "Escalated": {"groups": ["Legal", "Finance"], "category": "open"},
//!   "Waiting on Customer": []
//! }
//! ```
//!
//! A value is `"all"` (every group, including ones created later), a list of group names
//! (the account's groups; `[]` maps none), or an object `{"groups": "all" | […], "category":
//! "open" | "pending" | "resolved"}`. Freshdesk's API gives statuses no category: a status
//! created here takes the file's `category`, else `pending` (Freshdesk's custom statuses are
//! mostly "waiting on …" states). Names are matched without regard to case. The import
//! stops before writing anything when the account has custom statuses and no file is given,
//! when the file misses one of them, names a status the account does not have (or a
//! built-in one: Open, Pending, Resolved and Closed take no groups), or names a group the
//! account does not have. A status that already exists here (same name) is matched and
//! keeps its own mapping; a difference from the file is reported.
//!
//! The mappings (Freshdesk → Ferrodesk): status 2–5 → Open, Pending, Resolved, Closed; 6+ →
//! the custom status of that agent label (customer label from the second choice); priority
//! 1–4 → low, normal, high, urgent; `source` email 1 → email, portal 2 → portal, phone 3 and
//! chat 7 → web (an agent typed it in), others → api; `responder_id` → assignee;
//! `internal_group_id`/`internal_agent_id` → internal owner; `company_id` → organization;
//! `cc_emails` → CCs by address (users of the account); the description → the first comment,
//! public, by the requester (Freshdesk gives it no author); conversations → comments, a
//! `private` one a private note, by `user_id`; agents' `ticket_scope` 1/2/3 → global, group,
//! assigned, and a role named "…Administrator" → admin; contacts' `company_id` → default
//! organization, `other_companies` → the other memberships, `view_all_tickets` (on any of
//! them) → access `organization`; companies have no sharing mode in Freshdesk → `own_only`,
//! unless the source says `sharing` (Ferrodesk's Freshdesk layer does).
//!
//! Tickets are read with `GET /tickets?updated_since=…&order_by=updated_at&order_type=asc`,
//! a hundred a page until a short page. Freshdesk answers at most 300 pages: the import then
//! starts again from the newest `updated_at` it has seen (as Zammad does). Every ticket is
//! linked to its copy here (`import_links`), so a ticket met again — after a restart, or
//! because the source ignores `updated_since` or orders otherwise — is never imported twice,
//! and a rerun continues where the last one stopped. A round that meets no ticket not met
//! before ends the walk. Directory records, the page writer and the report are shared with
//! the Zendesk importer ([`crate::imports`]).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use ferrodesk_core::{
    Channel, GroupId, OrganizationId, Priority, Role, Sharing, StatusCategory, StatusId,
    TicketScope, UserAccess, UserId,
};
use serde_json::{Value, json};

use crate::dto::{FieldIn, OrganizationIn, StatusIn, UserIn};
use crate::imports::{
    ImportReport, Reader, SourceComment, SourceFile, SourceTicket, SourceUser, id_of, micros,
    source_name, text,
};
use crate::{App, AppError, Principal, Result};

/// The Freshdesk account to read: `url` is the account's address
/// (`https://acme.freshdesk.com`, or a Ferrodesk's `https://desk.example.com/freshdesk`);
/// `api_key` an admin's API key.
#[derive(Debug, Clone)]
pub struct FreshdeskAccount {
    /// The account's address, without `/api/v2`.
    pub url: String,
    /// An admin's API key.
    pub api_key: String,
}

/// The internal groups of one custom status, from the status-groups file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusGroups {
    /// Every group, including ones created later.
    pub all: bool,
    /// Group names (when not `all`).
    pub groups: Vec<String>,
    /// The category a status created here takes.
    pub category: StatusCategory,
}

/// The status-groups file: the internal groups of every custom status, by status name (see
/// the module's documentation).
#[derive(Debug, Clone, Default)]
pub struct StatusGroupsFile {
    /// By the status's name as the file gives it.
    pub statuses: BTreeMap<String, StatusGroups>,
}

impl StatusGroupsFile {
    /// Reads the file's text; the error says what is wrong, by status name.
    pub fn parse(json_text: &str) -> std::result::Result<StatusGroupsFile, String> {
        let v: Value = serde_json::from_str(json_text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(o) = v else {
            return Err(
                "must be a JSON object: {\"<status name>\": [\"<group name>\", …] | \"all\", …}"
                    .into(),
            );
        };
        let groups_of = |name: &str,
                         v: &Value|
         -> std::result::Result<(bool, Vec<String>), String> {
            match v {
                Value::String(s) if s == "all" => Ok((true, Vec::new())),
                Value::Array(a) => a
                    .iter()
                    .map(|g| {
                        g.as_str()
                            .filter(|g| !g.trim().is_empty())
                            .map(|g| g.trim().to_owned())
                            .ok_or_else(|| {
                                format!("\"{name}\": group names are non-empty strings, not {g}")
                            })
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map(|g| (false, g)),
                other => Err(format!(
                    "\"{name}\": give \"all\" or a list of group names, not {other}"
                )),
            }
        };
        let mut statuses = BTreeMap::new();
        for (name, value) in o {
            let (groups, category) = match &value {
                Value::Object(m) => {
                    if let Some(k) = m.keys().find(|k| *k != "groups" && *k != "category") {
                        return Err(format!(
                            "\"{name}\": unknown key \"{k}\" (use \"groups\" and \"category\")"
                        ));
                    }
                    let groups = groups_of(
                        &name,
                        m.get("groups").ok_or_else(|| {
                            format!("\"{name}\": \"groups\" is missing (\"all\" or a list)")
                        })?,
                    )?;
                    let category = match m.get("category") {
                        None | Some(Value::Null) => StatusCategory::Pending,
                        Some(c) => match c.as_str().map(StatusCategory::parse) {
                            Some(Ok(c)) if c != StatusCategory::Closed => c,
                            _ => {
                                return Err(format!(
                                    "\"{name}\": category is \"open\", \"pending\" or \"resolved\", not {c}"
                                ));
                            }
                        },
                    };
                    (groups, category)
                }
                other => (groups_of(&name, other)?, StatusCategory::Pending),
            };
            statuses.insert(
                name.trim().to_owned(),
                StatusGroups {
                    all: groups.0,
                    groups: groups.1,
                    category,
                },
            );
        }
        Ok(StatusGroupsFile { statuses })
    }

    fn get(&self, name: &str) -> Option<&StatusGroups> {
        self.statuses
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, g)| g)
    }
}

/// Tickets a page; Freshdesk's largest.
const PER_PAGE: usize = 100;
/// The last page Freshdesk answers for one query.
const MAX_PAGES: usize = 300;
/// The built-in statuses by their Freshdesk codes.
const BUILT_IN: [(i64, &str, StatusCategory); 4] = [
    (2, "Open", StatusCategory::Open),
    (3, "Pending", StatusCategory::Pending),
    (4, "Resolved", StatusCategory::Resolved),
    (5, "Closed", StatusCategory::Closed),
];

/// A custom status of the account: code, agent label, customer label.
#[derive(Debug, Clone)]
struct CustomStatus {
    code: i64,
    name: String,
    customer_label: String,
}

/// The ids this run maps from the source's ids, per kind.
#[derive(Default)]
struct Links {
    groups: BTreeMap<i64, i64>,
    /// Status code → our status id.
    statuses: BTreeMap<i64, i64>,
    organizations: BTreeMap<i64, i64>,
    users: BTreeMap<i64, i64>,
    /// `cf_…` name → our key.
    fields: BTreeMap<String, String>,
    /// Address (lowercase) → our user.
    emails: BTreeMap<String, i64>,
}

/// Reads Freshdesk's API: Basic `KEY:X`.
fn reader(account: &FreshdeskAccount) -> Reader {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:X", account.api_key));
    Reader::new(
        format!("{}/api/v2", account.url.trim_end_matches('/')),
        format!("Basic {credentials}"),
        |status| match status {
            401 => " (check --api-key: an admin's API key, Profile settings → API key)",
            403 => " (the key's agent must be an administrator)",
            _ => "",
        },
    )
}

impl Reader {
    /// Every item of a bare-array list, `page` by `page` until a short page.
    async fn pages(&mut self, path: &str) -> Result<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1.. {
            let answer = self
                .get(&format!("{path}{sep}per_page={PER_PAGE}&page={page}"))
                .await?;
            let items = answer.as_array().cloned().unwrap_or_default();
            let n = items.len();
            out.extend(items);
            if n < PER_PAGE {
                break;
            }
        }
        Ok(out)
    }
}

fn invalid(message: String) -> AppError {
    AppError::invalid("status_groups", "status_groups", message)
}

fn names(list: &[String]) -> String {
    list.iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The status-groups file checked against the account, before anything is written.
fn check_file(
    file: Option<&StatusGroupsFile>,
    custom: &[CustomStatus],
    source_groups: &[Value],
) -> Result<()> {
    let custom_names: Vec<String> = custom.iter().map(|s| s.name.clone()).collect();
    let Some(file) = file else {
        if custom.is_empty() {
            return Ok(());
        }
        return Err(invalid(format!(
            "nothing was imported: Freshdesk's API does not say which internal groups each \
             custom status maps (shared ownership). Pass --status-groups FILE, a JSON object \
             naming every custom status of the account with its groups, e.g. \
             {{\"{}\": [\"<group name>\"] or \"all\"}}. This account's custom statuses: {}",
            custom[0].name,
            names(&custom_names)
        )));
    };
    let mut problems = Vec::new();
    for (name, mapped) in &file.statuses {
        if BUILT_IN
            .iter()
            .any(|(_, b, _)| b.eq_ignore_ascii_case(name))
        {
            problems.push(format!(
                "\"{name}\" is a built-in status: no group can be mapped to it"
            ));
        } else if !custom.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
            problems.push(format!(
                "the account has no status \"{name}\" (its custom statuses: {})",
                names(&custom_names)
            ));
        }
        for g in &mapped.groups {
            if !source_groups
                .iter()
                .any(|s| text(s, "name").eq_ignore_ascii_case(g))
            {
                problems.push(format!(
                    "\"{name}\": the account has no group \"{g}\" (its groups: {})",
                    names(
                        &source_groups
                            .iter()
                            .map(|s| text(s, "name"))
                            .collect::<Vec<_>>()
                    )
                ));
            }
        }
    }
    let missing: Vec<String> = custom
        .iter()
        .filter(|s| file.get(&s.name).is_none())
        .map(|s| s.name.clone())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "the file does not map {} (give [] for a status no group owns internally)",
            names(&missing)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "nothing was imported: the --status-groups file does not fit the account: {}",
            problems.join("; ")
        )))
    }
}

/// Our field type for a Freshdesk custom field's.
fn field_type(kind: &str) -> Option<&'static str> {
    match kind {
        "custom_text" | "custom_paragraph" => Some("text"),
        "custom_number" | "custom_decimal" => Some("number"),
        "custom_checkbox" => Some("checkbox"),
        "custom_dropdown" => Some("dropdown"),
        "custom_date" => Some("date"),
        _ => None,
    }
}

/// Our key for a Freshdesk `cf_…` name: lowercase letters, digits and `_`, from a letter.
fn field_key(name: &str) -> String {
    let mut key: String = name
        .strip_prefix("cf_")
        .unwrap_or(name)
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

impl App {
    /// Imports a Freshdesk account into this database (see the module's documentation);
    /// `status_groups` is the admin's status-groups file; `ticket_limit` stops after that
    /// many new tickets (a run in parts). `progress` is told what is happening, a line at a
    /// time.
    pub async fn import_freshdesk(
        &self,
        account: &FreshdeskAccount,
        status_groups: Option<&StatusGroupsFile>,
        ticket_limit: Option<u64>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ImportReport> {
        let source = source_name(&account.url);
        let mut reader = reader(account);
        let mut report = ImportReport::default();
        let mut links = Links::default();
        let sys = self.system_principal();
        // Everything the checks need, read before anything is written.
        let roles = reader.pages("/roles").await?;
        let admin_roles: BTreeSet<i64> = roles
            .iter()
            .filter(|r| text(r, "name").to_lowercase().contains("administrator"))
            .filter_map(id_of)
            .collect();
        let me = reader.get("/agents/me").await?;
        let is_admin = |a: &Value| {
            a["role_ids"].as_array().is_some_and(|r| {
                r.iter()
                    .filter_map(Value::as_i64)
                    .any(|r| admin_roles.contains(&r))
            })
        };
        if !is_admin(&me) {
            return Err(AppError::invalid(
                "api_key",
                "not_admin",
                format!(
                    "the API key's agent is not an administrator of {source}: the import needs an administrator's key"
                ),
            ));
        }
        let fields = reader.get("/ticket_fields").await?;
        let fields = fields.as_array().cloned().unwrap_or_default();
        let mut custom: Vec<CustomStatus> = Vec::new();
        if let Some(choices) = fields
            .iter()
            .find(|f| f["name"] == json!("status"))
            .and_then(|f| f["choices"].as_object())
        {
            for (code, labels) in choices {
                let Ok(code) = code.parse::<i64>() else {
                    continue;
                };
                if code < 6 {
                    continue;
                }
                let name = labels[0].as_str().unwrap_or_default().trim().to_owned();
                let customer_label = labels[1].as_str().unwrap_or_default().trim().to_owned();
                custom.push(CustomStatus {
                    code,
                    customer_label: if customer_label.is_empty() {
                        name.clone()
                    } else {
                        customer_label
                    },
                    name,
                });
            }
        }
        custom.sort_by_key(|s| s.code);
        let source_groups = reader.pages("/groups").await?;
        check_file(status_groups, &custom, &source_groups)?;
        let file = status_groups.cloned().unwrap_or_default();

        progress(&format!("reading {source}"));
        self.fd_groups(&source, &sys, &source_groups, &mut links, &mut report)
            .await?;
        self.fd_statuses(
            &source,
            &sys,
            &custom,
            &file,
            &source_groups,
            &mut links,
            &mut report,
        )
        .await?;
        self.fd_fields(&sys, &fields, &mut links, &mut report)
            .await?;
        progress("groups, statuses and fields done");
        self.fd_companies(&mut reader, &source, &sys, &mut links, &mut report)
            .await?;
        let orgs = *report.count("organizations");
        progress(&format!(
            "organizations done ({})",
            orgs.imported + orgs.already
        ));
        self.fd_users(
            &mut reader,
            &source,
            &sys,
            &admin_roles,
            &mut links,
            &mut report,
        )
        .await?;
        let users = *report.count("users");
        progress(&format!("users done ({})", users.imported + users.already));
        let load = self.begin_ticket_phase(progress).await?;
        let written = self
            .fd_tickets(
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

    async fn fd_groups(
        &self,
        source: &str,
        sys: &Principal,
        source_groups: &[Value],
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.groups = self
            .import_groups_of(source, sys, source_groups, report)
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn fd_statuses(
        &self,
        source: &str,
        sys: &Principal,
        custom: &[CustomStatus],
        file: &StatusGroupsFile,
        source_groups: &[Value],
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.statuses = self.known(source, "status").await?;
        let ours = self.list_statuses(sys).await?.items;
        let group_names: BTreeMap<i64, String> = self
            .list_groups(sys)
            .await?
            .items
            .into_iter()
            .map(|g| (g.id, g.name.to_lowercase()))
            .collect();
        for s in custom {
            if links.statuses.contains_key(&s.code) {
                report.count("statuses").already += 1;
                continue;
            }
            let mapped = file.get(&s.name).cloned().unwrap_or(StatusGroups {
                all: false,
                groups: Vec::new(),
                category: StatusCategory::Pending,
            });
            // The file's group names → the account's groups → ours.
            let mut groups: Vec<i64> = mapped
                .groups
                .iter()
                .filter_map(|n| {
                    source_groups
                        .iter()
                        .find(|g| text(g, "name").eq_ignore_ascii_case(n))
                        .and_then(id_of)
                        .and_then(|g| links.groups.get(&g).copied())
                })
                .collect();
            groups.sort_unstable();
            groups.dedup();
            let local = match ours.iter().find(|o| o.name.eq_ignore_ascii_case(&s.name)) {
                Some(o) => {
                    report.count("statuses").already += 1;
                    let mut theirs = o.internal_group_ids.clone();
                    theirs.sort_unstable();
                    if o.built_in {
                        report.notes.push(format!(
                            "status {} \"{}\": matched the built-in status of that name",
                            s.code, s.name
                        ));
                    } else if o.all_groups != mapped.all || (!mapped.all && theirs != groups) {
                        let here: Vec<String> = theirs
                            .iter()
                            .filter_map(|g| group_names.get(g).cloned())
                            .collect();
                        report.notes.push(format!(
                            "status \"{}\" exists here and keeps its internal groups ({}), not the file's ({})",
                            s.name,
                            if o.all_groups { "all".to_owned() } else { names(&here) },
                            if mapped.all { "all".to_owned() } else { names(&mapped.groups) },
                        ));
                    }
                    o.id
                }
                None => {
                    let input = StatusIn {
                        name: Some(s.name.clone()),
                        customer_label: Some(s.customer_label.clone()),
                        category: Some(mapped.category),
                        position: None,
                        internal_group_ids: Some(if mapped.all { Vec::new() } else { groups }),
                        all_groups: Some(mapped.all),
                    };
                    match self.create_status(sys, input).await {
                        Ok(o) => {
                            report.count("statuses").imported += 1;
                            o.id
                        }
                        Err(e) => {
                            report.count("statuses").skipped += 1;
                            report.notes.push(format!(
                                "status {} \"{}\": {e}; its tickets take the built-in Open",
                                s.code, s.name
                            ));
                            continue;
                        }
                    }
                }
            };
            self.link(source, "status", s.code, local).await?;
            links.statuses.insert(s.code, local);
        }
        Ok(())
    }

    async fn fd_fields(
        &self,
        sys: &Principal,
        fields: &[Value],
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        let ours = self.list_fields(sys).await?;
        for f in fields {
            if f["default"] == json!(true) {
                continue;
            }
            let Some(kind) = field_type(f["type"].as_str().unwrap_or("")) else {
                continue;
            };
            let name = text(f, "name");
            let key = field_key(&name);
            if ours.iter().any(|o| o.key == key) {
                report.count("fields").already += 1;
                links.fields.insert(name, key);
                continue;
            }
            let options = f["choices"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let input = FieldIn {
                key: key.clone(),
                title: Some(text(f, "label"))
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| key.clone()),
                field_type: kind.to_owned(),
                options,
            };
            match self.create_field(sys, input).await {
                Ok(_) => {
                    report.count("fields").imported += 1;
                    links.fields.insert(name, key);
                }
                Err(e) => {
                    report.count("fields").skipped += 1;
                    report
                        .notes
                        .push(format!("ticket field \"{}\": {e}", text(f, "label")));
                }
            }
        }
        Ok(())
    }

    async fn fd_companies(
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
        for o in reader.pages("/companies").await? {
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
                    let input = OrganizationIn {
                        name: Some(name.clone()),
                        domain_names: o["domains"].as_array().map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        }),
                        details: o["description"].as_str().map(str::to_owned),
                        notes: o["note"].as_str().map(str::to_owned),
                        ..OrganizationIn::default()
                    };
                    match self.create_organization(sys, input).await {
                        Ok(out) => {
                            report.count("organizations").imported += 1;
                            out.id
                        }
                        Err(e) => {
                            report.count("organizations").skipped += 1;
                            report.notes.push(format!("company {ext} \"{name}\": {e}"));
                            continue;
                        }
                    }
                }
            };
            if let std::collections::btree_map::Entry::Vacant(e) = links.organizations.entry(ext) {
                self.link(source, "organization", ext, local).await?;
                e.insert(local);
            }
            // Freshdesk has no company-level sharing; Ferrodesk's Freshdesk layer adds it.
            let sharing = match o["sharing"].as_str().map(Sharing::parse) {
                Some(Ok(s)) => s,
                Some(Err(_)) => {
                    report.notes.push(format!(
                        "company {ext} \"{name}\": unknown sharing {}; kept own_only",
                        o["sharing"]
                    ));
                    Sharing::OwnOnly
                }
                None => Sharing::OwnOnly,
            };
            self.import_sharing(OrganizationId(local), sharing, "Freshdesk", source, now)
                .await?;
        }
        Ok(())
    }

    async fn fd_users(
        &self,
        reader: &mut Reader,
        source: &str,
        sys: &Principal,
        admin_roles: &BTreeSet<i64>,
        links: &mut Links,
        report: &mut ImportReport,
    ) -> Result<()> {
        links.users = self.known(source, "user").await?;
        let (_, emails) = self.names_here(sys).await?;
        links.emails.extend(emails);
        let agents = reader.pages("/agents").await?;
        let contacts = reader.pages("/contacts").await?;
        let mut new_users: Vec<SourceUser> = Vec::new();
        // An address met twice (an agent who is also a contact) is one user here.
        let mut twice: Vec<(i64, String)> = Vec::new();
        for (a, is_agent) in agents
            .iter()
            .map(|a| (a, true))
            .chain(contacts.iter().map(|c| (c, false)))
        {
            let Some(ext) = id_of(a) else { continue };
            if links.users.contains_key(&ext) {
                report.count("users").already += 1;
                continue;
            }
            let person = if is_agent { &a["contact"] } else { a };
            let email = text(person, "email").trim().to_lowercase();
            if email.is_empty() {
                report.count("users").skipped += 1;
                report.notes.push(format!(
                    "{} {ext} \"{}\": has no email address (Ferrodesk users sign in and are \
                     written to by address); their tickets name the importing system user",
                    if is_agent { "agent" } else { "contact" },
                    text(person, "name")
                ));
                continue;
            }
            if let Some(local) = links.emails.get(&email).copied() {
                report.count("users").already += 1;
                self.link(source, "user", ext, local).await?;
                links.users.insert(ext, local);
                continue;
            }
            if new_users.iter().any(|u| u.input.email == email) {
                report.count("users").already += 1;
                twice.push((ext, email));
                continue;
            }
            let name = Some(text(person, "name"))
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
            let input = if is_agent {
                let admin = a["role_ids"].as_array().is_some_and(|r| {
                    r.iter()
                        .filter_map(Value::as_i64)
                        .any(|r| admin_roles.contains(&r))
                });
                let role = if admin { Role::Admin } else { Role::Agent };
                UserIn {
                    name,
                    email: email.clone(),
                    role: Some(role),
                    ticket_scope: (role == Role::Agent).then_some(
                        match a["ticket_scope"].as_i64() {
                            Some(2) => TicketScope::Group,
                            Some(3) => TicketScope::Assigned,
                            _ => TicketScope::Global,
                        },
                    ),
                    access: None,
                    password: None,
                    organization_ids: Vec::new(),
                    default_organization_id: None,
                    group_ids: a["group_ids"]
                        .as_array()
                        .map(|gs| {
                            gs.iter()
                                .filter_map(Value::as_i64)
                                .filter_map(|g| links.groups.get(&g).copied())
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            } else {
                let default = a["company_id"]
                    .as_i64()
                    .and_then(|o| links.organizations.get(&o).copied());
                let others = a["other_companies"].as_array().cloned().unwrap_or_default();
                let mut organization_ids: Vec<i64> = default.into_iter().collect();
                for o in &others {
                    if let Some(local) = o["company_id"]
                        .as_i64()
                        .and_then(|o| links.organizations.get(&o).copied())
                        && !organization_ids.contains(&local)
                    {
                        organization_ids.push(local);
                    }
                }
                let view_all = a["view_all_tickets"] == json!(true)
                    || others.iter().any(|o| o["view_all_tickets"] == json!(true));
                UserIn {
                    name,
                    email: email.clone(),
                    role: Some(Role::EndUser),
                    ticket_scope: None,
                    access: Some(if view_all {
                        UserAccess::Organization
                    } else {
                        UserAccess::Requested
                    }),
                    password: None,
                    default_organization_id: default.or_else(|| organization_ids.first().copied()),
                    organization_ids,
                    group_ids: Vec::new(),
                }
            };
            new_users.push(SourceUser {
                ext,
                input,
                suspended: false,
            });
        }
        for (ext, local, email) in self
            .create_source_users(sys, source, new_users, report)
            .await?
        {
            links.users.insert(ext, local);
            links.emails.insert(email, local);
        }
        for (ext, email) in twice {
            if let Some(local) = links.emails.get(&email).copied() {
                self.link(source, "user", ext, local).await?;
                links.users.insert(ext, local);
            }
        }
        Ok(())
    }

    async fn fd_tickets(
        &self,
        reader: &mut Reader,
        source: &str,
        links: &Links,
        report: &mut ImportReport,
        limit: Option<u64>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<()> {
        let fallback_author = self.import_fallback_author().await?;
        let mut walk = TicketWalk::new();
        let mut known = self.tickets_known(source).await?;
        loop {
            let answer = reader.get(&walk.url()).await?;
            let tickets = answer.as_array().cloned().unwrap_or_default();
            if walk.ignores_since(&tickets) {
                progress(&format!(
                    "the source ignores updated_since: on from page {}",
                    walk.page
                ));
                continue;
            }
            let mut batch = Vec::new();
            let mut fresh = 0;
            for t in &tickets {
                let Some(ext) = id_of(t) else { continue };
                if !walk.met.insert(ext) {
                    continue;
                }
                fresh += 1;
                if !known.insert(ext) {
                    report.count("tickets").already += 1;
                } else {
                    batch.push(t.clone());
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
            for mut t in batch {
                let ext = id_of(&t).unwrap_or_default();
                if t.get("attachments").is_none() {
                    // Lists carry neither the description's files nor (without
                    // `include=description`) the description: the ticket's own view does.
                    t = reader.get(&format!("/tickets/{ext}")).await?;
                }
                let conversations = reader
                    .pages(&format!("/tickets/{ext}/conversations"))
                    .await?;
                let mut st = source_ticket(links, &t, &conversations, &mut report.notes);
                let files_of = |v: &Value| -> Vec<SourceFile> {
                    v["attachments"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|f| SourceFile::of(f, "name", "attachment_url"))
                        .collect()
                };
                // The first comment is the description (the ticket's files), then one per
                // conversation.
                let sources = std::iter::once(&t).chain(conversations.iter());
                for (v, sc) in sources.zip(st.comments.iter_mut()) {
                    sc.upload_tokens = self
                        .import_files(reader, ext, files_of(v), &mut report.notes)
                        .await?;
                }
                prepared.push(st);
            }
            self.write_ticket_page("Freshdesk", source, fallback_author, prepared, report)
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
            match walk.after(&tickets, fresh) {
                Step::Next => {}
                Step::Restart => progress(&format!(
                    "{MAX_PAGES} pages read: again from tickets updated since {}",
                    walk.since
                )),
                Step::Done => break,
                Step::Stuck => {
                    report.notes.push(format!(
                        "tickets: {MAX_PAGES} pages from {} brought no ticket not met before; \
                         the source may hold more tickets than it lists",
                        walk.since
                    ));
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Where the walk through the ticket list is: Freshdesk answers 300 pages of one query, so
/// after the last one the walk starts again from the newest `updated_at` met (tickets met
/// again are skipped by id). A source that ignores `updated_since` (an older ticket on the
/// first page of a restart) is walked on past page 300 instead.
struct TicketWalk {
    /// `updated_since` of this round, as the source wrote it.
    since: String,
    since_micros: i64,
    page: usize,
    /// Whether pages stop at [`MAX_PAGES`] (until the source is seen to ignore the filter).
    capped: bool,
    /// The newest change met in this round.
    newest: Option<(i64, String)>,
    /// Tickets not met before, in this round.
    fresh: u64,
    /// Every ticket met in this run.
    met: BTreeSet<i64>,
}

/// What the walk does after a page.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Next,
    Restart,
    Done,
    /// A whole round brought nothing new.
    Stuck,
}

impl TicketWalk {
    fn new() -> TicketWalk {
        TicketWalk {
            since: "1970-01-01T00:00:00Z".to_owned(),
            since_micros: 0,
            page: 1,
            capped: true,
            newest: None,
            fresh: 0,
            met: BTreeSet::new(),
        }
    }

    fn url(&self) -> String {
        format!(
            "/tickets?updated_since={}&order_by=updated_at&order_type=asc\
             &include=description&per_page={PER_PAGE}&page={}",
            self.since, self.page
        )
    }

    /// On the first page of a restart: whether the source answered tickets older than
    /// `updated_since`. Then the walk goes on where the first round stopped, without a cap.
    fn ignores_since(&mut self, tickets: &[Value]) -> bool {
        let restarted = self.since_micros > 0 && self.page == 1 && self.capped;
        if !restarted
            || !tickets
                .iter()
                .any(|t| micros(t, "updated_at").is_some_and(|at| at < self.since_micros))
        {
            return false;
        }
        self.capped = false;
        self.since = "1970-01-01T00:00:00Z".to_owned();
        self.since_micros = 0;
        self.page = MAX_PAGES + 1;
        true
    }

    /// After a page with `fresh` tickets not met before.
    fn after(&mut self, tickets: &[Value], fresh: u64) -> Step {
        self.fresh += fresh;
        for t in tickets {
            if let (Some(at), Some(text)) = (micros(t, "updated_at"), t["updated_at"].as_str())
                && self.newest.as_ref().is_none_or(|(n, _)| at > *n)
            {
                self.newest = Some((at, text.to_owned()));
            }
        }
        if tickets.len() < PER_PAGE {
            return Step::Done;
        }
        if !self.capped || self.page < MAX_PAGES {
            self.page += 1;
            return Step::Next;
        }
        match self.newest.take() {
            Some((at, text)) if self.fresh > 0 => {
                self.since = text;
                self.since_micros = at;
                self.page = 1;
                self.fresh = 0;
                Step::Restart
            }
            _ => Step::Stuck,
        }
    }
}

/// A Freshdesk ticket with its conversations, its references translated through `links`.
fn source_ticket(
    links: &Links,
    t: &Value,
    conversations: &[Value],
    notes: &mut Vec<String>,
) -> SourceTicket {
    let ext = id_of(t).unwrap_or_default();
    let user = |v: &Value| v.as_i64().and_then(|u| links.users.get(&u).copied());
    let group = |v: &Value| v.as_i64().and_then(|g| links.groups.get(&g).copied());
    let code = t["status"].as_i64().unwrap_or(2);
    let (status, category) = match BUILT_IN.iter().find(|(c, _, _)| *c == code) {
        Some((_, _, category)) => (None, *category),
        None => {
            let linked = links.statuses.get(&code).copied().map(StatusId);
            if linked.is_none() {
                notes.push(format!(
                    "ticket {ext}: its status {code} was not imported; it is Open here"
                ));
            }
            (linked, StatusCategory::Open)
        }
    };
    let mut custom = BTreeMap::new();
    if let Some(fields) = t["custom_fields"].as_object() {
        for (name, value) in fields {
            if let (Some(key), false) = (links.fields.get(name), value.is_null()) {
                custom.insert(key.clone(), value.clone());
            }
        }
    }
    let mut cc_ids = Vec::new();
    for e in t["cc_emails"].as_array().into_iter().flatten() {
        let Some(address) = e.as_str() else { continue };
        // `Name <address>` or a bare address.
        let bare = address
            .rsplit_once('<')
            .map_or(address, |(_, rest)| rest.trim_end_matches('>'))
            .trim()
            .to_lowercase();
        match links.emails.get(&bare) {
            Some(u) => cc_ids.push(UserId(*u)),
            None => notes.push(format!(
                "ticket {ext}: CC {address} is no user here; left out of the CCs"
            )),
        }
    }
    let requester = user(&t["requester_id"]).map(UserId);
    let created_at = micros(t, "created_at");
    let description = t["description_text"]
        .as_str()
        .or(t["description"].as_str())
        .unwrap_or_default()
        .to_owned();
    let mut comments = vec![SourceComment {
        author: requester,
        body: description.clone(),
        public: true,
        created_at,
        upload_tokens: Vec::new(),
    }];
    comments.extend(conversations.iter().map(|c| {
        SourceComment {
            author: user(&c["user_id"]).map(UserId),
            body: c["body_text"]
                .as_str()
                .or(c["body"].as_str())
                .unwrap_or_default()
                .to_owned(),
            public: c["private"] != json!(true),
            created_at: micros(c, "created_at"),
            upload_tokens: Vec::new(),
        }
    }));
    SourceTicket {
        ext,
        subject: text(t, "subject"),
        requester,
        requester_source: t["requester_id"].clone(),
        organization: t["company_id"]
            .as_i64()
            .and_then(|o| links.organizations.get(&o).copied())
            .map(OrganizationId),
        status,
        category,
        priority: match t["priority"].as_i64() {
            Some(1) => Priority::Low,
            Some(3) => Priority::High,
            Some(4) => Priority::Urgent,
            _ => Priority::Normal,
        },
        group: group(&t["group_id"]).map(GroupId),
        assignee: user(&t["responder_id"]).map(UserId),
        internal_group: group(&t["internal_group_id"]).map(GroupId),
        internal_agent: user(&t["internal_agent_id"]).map(UserId),
        cc_ids,
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
        channel: match t["source"].as_i64() {
            Some(1) => Channel::Email,
            Some(2) => Channel::Portal,
            Some(3 | 7) => Channel::Web,
            _ => Channel::Api,
        },
        created_at,
        updated_at: micros(t, "updated_at"),
        comments,
        description: Some(description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_groups_file_takes_lists_all_and_objects() {
        let f = StatusGroupsFile::parse(
            r#"{"Customer Responded": "all", "Waiting on Finance": ["Finance"],
                "Escalated": {"groups": ["Legal", "Finance"], "category": "open"},
                "Parked": []}"#,
        )
        .unwrap();
        assert_eq!(
            f.get("customer responded"),
            Some(&StatusGroups {
                all: true,
                groups: vec![],
                category: StatusCategory::Pending
            })
        );
        assert_eq!(f.get("Waiting on Finance").unwrap().groups, vec!["Finance"]);
        let e = f.get("Escalated").unwrap();
        assert_eq!(e.category, StatusCategory::Open);
        assert_eq!(e.groups.len(), 2);
        assert!(f.get("Parked").unwrap().groups.is_empty());
        for bad in [
            "[]",
            r#"{"A": "some"}"#,
            r#"{"A": [1]}"#,
            r#"{"A": {"category": "open"}}"#,
            r#"{"A": {"groups": [], "category": "closed"}}"#,
            r#"{"A": {"groups": [], "colour": "red"}}"#,
        ] {
            assert!(StatusGroupsFile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_file_must_fit_the_account() {
        let custom = vec![CustomStatus {
            code: 6,
            name: "Customer Responded".into(),
            customer_label: "Awaiting your reply".into(),
        }];
        let groups = vec![json!({"id": 1, "name": "Finance"})];
        let e = format!("{:?}", check_file(None, &custom, &groups).unwrap_err());
        assert!(
            e.contains("--status-groups") && e.contains("Customer Responded"),
            "{e}"
        );
        assert!(check_file(None, &[], &groups).is_ok());
        let ok = StatusGroupsFile::parse(r#"{"customer responded": ["finance"]}"#).unwrap();
        assert!(check_file(Some(&ok), &custom, &groups).is_ok());
        for bad in [
            r#"{}"#,
            r#"{"Customer Responded": ["Nobody"]}"#,
            r#"{"Customer Responded": "all", "Gone": []}"#,
            r#"{"Customer Responded": "all", "Open": []}"#,
        ] {
            let f = StatusGroupsFile::parse(bad).unwrap();
            assert!(check_file(Some(&f), &custom, &groups).is_err(), "{bad}");
        }
    }

    /// A full page of tickets `first..first+100`, updated at `first` seconds.
    fn page(first: i64) -> Vec<Value> {
        (first..first + PER_PAGE as i64)
            .map(|id| {
                let at = jiff::Timestamp::from_second(1_600_000_000 + id).unwrap();
                json!({"id": id, "updated_at": at.to_string()})
            })
            .collect()
    }

    #[test]
    fn the_walk_starts_again_after_300_pages_from_the_newest_change() {
        let mut w = TicketWalk::new();
        assert!(w.url().contains("updated_since=1970-01-01T00:00:00Z"));
        for n in 0..MAX_PAGES as i64 {
            let p = page(n * 100);
            assert!(!w.ignores_since(&p));
            let step = w.after(&p, 100);
            if n + 1 < MAX_PAGES as i64 {
                assert_eq!(step, Step::Next);
            } else {
                assert_eq!(step, Step::Restart);
            }
        }
        assert_eq!(w.page, 1);
        let newest = jiff::Timestamp::from_second(1_600_000_000 + 29_999).unwrap();
        assert!(
            w.url().contains(&format!("updated_since={newest}")),
            "{}",
            w.url()
        );
        // A source that honours it: the newest ticket again, then newer ones.
        let p = page(29_999);
        assert!(!w.ignores_since(&p));
        assert_eq!(w.after(&p[..50], 49), Step::Done);
    }

    #[test]
    fn a_source_that_ignores_updated_since_is_walked_past_page_300() {
        let mut w = TicketWalk::new();
        for n in 0..MAX_PAGES as i64 {
            w.after(&page(n * 100), 100);
        }
        // The restart's first page holds old tickets: on from page 301 of the first query.
        assert!(w.ignores_since(&page(0)));
        assert_eq!(w.page, MAX_PAGES + 1);
        assert!(w.url().contains("updated_since=1970-01-01T00:00:00Z"));
        assert_eq!(w.after(&page(30_000), 100), Step::Next);
        assert_eq!(w.page, MAX_PAGES + 2);
        assert!(!w.ignores_since(&page(0)));
    }

    #[test]
    fn a_round_with_nothing_new_ends_the_walk() {
        let mut w = TicketWalk::new();
        for n in 0..MAX_PAGES as i64 {
            w.after(&page(n * 100), 100);
        }
        for _ in 0..MAX_PAGES {
            assert!(!w.ignores_since(&page(29_999)));
            let step = w.after(&page(29_999), 0);
            if w.page == 1 || step != Step::Next {
                assert_eq!(step, Step::Stuck);
                return;
            }
        }
        panic!("the walk never ended");
    }

    #[test]
    fn freshdesk_field_names_become_keys() {
        assert_eq!(field_key("cf_plan"), "plan");
        assert_eq!(field_key("cf_Contract Type"), "contract_type");
        assert_eq!(field_key("cf_2fa"), "f_2fa");
    }
}
