//! What the vendor importers (`ferrodesk import zendesk|freshdesk`) share: the report, a
//! patient HTTP reader of a vendor's JSON API, the links that make a rerun continue where the
//! last one stopped (`import_links`), imported sharing modes recorded for the register, and
//! the ticket page writer, which takes tickets already translated into a vendor-neutral
//! [`SourceTicket`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_core::{
    Channel, CommentId, GroupId, OrganizationId, Priority, Sharing, StatusCategory, StatusId,
    TicketId, UserId,
};
use ferrodesk_store::directory::OrganizationFields;
use ferrodesk_store::tickets::{Comment, Ticket};
use ferrodesk_store::{imports, initial_load};
use serde_json::{Value, json};

use crate::directory::commit;
use crate::dto::{UserIn, UserPatch};
use crate::ticket_write::Explicit;
use crate::{Actor, App, AppError, Principal, Result};

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
    /// Time spent writing tickets here (their transactions), apart from reading the source.
    pub ticket_writing: Duration,
    /// Whether the tickets went in as an initial load (PostgreSQL, a desk without tickets:
    /// `ferrodesk_store::initial_load`), and the time spent dropping the ticket tables'
    /// secondary indexes and foreign keys and adding them back.
    pub initial_load: Option<Duration>,
}

/// A user of the source to create here: their source id, what to create, and whether the
/// source has them suspended.
pub(crate) struct SourceUser {
    pub ext: i64,
    pub input: UserIn,
    pub suspended: bool,
}

/// A file of a source comment: its name, where to download it (none when the source
/// withholds it) and its content type.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub name: String,
    pub url: Option<String>,
    pub content_type: String,
}

impl SourceFile {
    /// A file as a vendor lists it, its name and address under the keys given.
    pub(crate) fn of(f: &Value, name: &str, url: &str) -> SourceFile {
        SourceFile {
            name: text(f, name),
            url: f[url].as_str().map(str::to_owned),
            content_type: f["content_type"]
                .as_str()
                .filter(|t| !t.is_empty())
                .unwrap_or("application/octet-stream")
                .to_owned(),
        }
    }
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
    /// The counts of one kind.
    pub(crate) fn count(&mut self, kind: &'static str) -> &mut Counts {
        self.counts.entry(kind).or_default()
    }
}

/// The source's name in `import_links` and in the register: its address without the scheme
/// (`acme.zendesk.com`, `desk.example.com/freshdesk`).
pub(crate) fn source_name(url: &str) -> String {
    let url = url.trim_end_matches('/');
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_owned()
}

/// Reads a vendor's JSON API: one `Authorization` header, `429` waited out for its
/// `Retry-After` seconds, `5xx` and broken connections retried a few times.
pub(crate) struct Reader {
    http: reqwest::Client,
    /// The API's root, e.g. `https://acme.zendesk.com/api/v2`.
    api: String,
    auth: String,
    /// For 401 and 403 answers: what to check.
    hint: fn(u16) -> &'static str,
    /// How often the source answered 429.
    pub(crate) waits: u64,
    /// A source that answers from memory instead of over HTTP (the write-path bench).
    answers: Option<Answers>,
}

/// A vendor API answered from memory: the JSON answer to a path (or to a link an earlier
/// answer gave), `None` for 404. Lets `ferrodesk-bench`'s `ferrodesk-import-write` feed the
/// importer generated pages through the same code as a real source, without HTTP.
pub type Answers = std::sync::Arc<dyn Fn(&str) -> Option<Value> + Send + Sync>;

const MAX_ATTEMPTS: u32 = 30;

/// Tickets written in one transaction: large enough that a page costs a few statements per
/// hundred tickets and that the index pages every ticket touches are written once per
/// thousand tickets, small enough that other writers wait little (a fifth of a second at the
/// bulk writer's rate) and a failure loses little. A Zendesk export page.
pub(crate) const PAGE: usize = 1000;

impl Reader {
    /// A reader of the API at `api` that sends `auth` as its `Authorization`.
    pub(crate) fn new(api: String, auth: String, hint: fn(u16) -> &'static str) -> Reader {
        Reader {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
            api,
            auth,
            hint,
            waits: 0,
            answers: None,
        }
    }

    /// A reader whose source answers from memory (see [`Answers`]).
    pub(crate) fn answered(answers: Answers) -> Reader {
        let mut r = Reader::new(String::new(), String::new(), |_| "");
        r.answers = Some(answers);
        r
    }

    /// GET `path` (relative to the API's root) or an absolute URL the API gave.
    pub(crate) async fn get(&mut self, path_or_url: &str) -> Result<Value> {
        if let Some(answers) = &self.answers {
            // Built off the async threads, so that writing the previous page goes on
            // meanwhile, as it does while a real source answers.
            let (answers, path) = (answers.clone(), path_or_url.to_owned());
            let answer = tokio::task::spawn_blocking(move || answers(&path))
                .await
                .map_err(|e| source_error(path_or_url, e.to_string()))?;
            return answer.ok_or_else(|| source_error(path_or_url, "answered 404".into()));
        }
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.api)
        };
        let (status, res) = self.send(&url).await?;
        let text = res
            .text()
            .await
            .map_err(|e| source_error(&url, format!("the answer broke off: {e}")))?;
        if !status.is_success() {
            let hint = (self.hint)(status.as_u16());
            return Err(source_error(
                &url,
                format!(
                    "answered {status}{hint}: {}",
                    text.chars().take(300).collect::<String>()
                ),
            ));
        }
        serde_json::from_str(&text)
            .map_err(|e| source_error(&url, format!("the answer is not JSON: {e}")))
    }

    /// The bytes at an absolute URL the source gave (an attachment's `content_url`), at most
    /// `max`: `Ok(None)` when larger.
    pub(crate) async fn get_bytes(&mut self, url: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let (status, mut res) = self.send(url).await?;
        if !status.is_success() {
            let hint = (self.hint)(status.as_u16());
            return Err(source_error(url, format!("answered {status}{hint}")));
        }
        if res.content_length().is_some_and(|n| n > max) {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| source_error(url, format!("the download broke off: {e}")))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max {
                return Ok(None);
            }
        }
        Ok(Some(bytes))
    }

    /// Sends a GET, waiting out `429` for its `Retry-After` and retrying failures to connect
    /// and `5xx` answers a few times; any other answer is the caller's.
    async fn send(&mut self, url: &str) -> Result<(reqwest::StatusCode, reqwest::Response)> {
        let mut failures = 0;
        for _ in 0..MAX_ATTEMPTS {
            let mut request = self.http.get(url).header("accept", "application/json");
            // The source's credentials go to its own origin only, never to a file store's
            // signed link on another host.
            if origin(url) == origin(&self.api) {
                request = request.header("authorization", &self.auth);
            }
            let sent = request.send().await;
            let res = match sent {
                Ok(r) => r,
                Err(e) if failures < 3 => {
                    failures += 1;
                    tracing::warn!(%url, error = %e, "import: retrying");
                    tokio::time::sleep(Duration::from_secs(1 << failures)).await;
                    continue;
                }
                Err(e) => return Err(source_error(url, format!("cannot reach it: {e}"))),
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
            return Ok((status, res));
        }
        Err(source_error(
            url,
            format!("still busy after {MAX_ATTEMPTS} attempts"),
        ))
    }
}

/// `scheme://host[:port]` of a URL, lowercased.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_ascii_lowercase()
}

/// Refused fields as a note says them: `email: not a valid email address; name: …`.
fn fields_in_words(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn source_error(url: &str, what: String) -> AppError {
    AppError::invalid("url", "source_failed", format!("{url}: {what}"))
}

pub(crate) fn id_of(v: &Value) -> Option<i64> {
    v["id"].as_i64()
}

pub(crate) fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// An RFC 3339 time of the source in microseconds.
pub(crate) fn micros(v: &Value, key: &str) -> Option<i64> {
    v[key]
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_microsecond())
}

/// A source ticket, its references already translated into ours (a reference the import
/// could not follow is `None`).
#[derive(Debug, Clone)]
pub(crate) struct SourceTicket {
    /// The source's id.
    pub ext: i64,
    pub subject: String,
    pub requester: Option<UserId>,
    /// The source's requester reference, for the note when it was not imported.
    pub requester_source: Value,
    pub organization: Option<OrganizationId>,
    /// The status, when the source's names one imported here; else the built-in status
    /// of `category`.
    pub status: Option<StatusId>,
    pub category: StatusCategory,
    pub priority: Priority,
    pub group: Option<GroupId>,
    pub assignee: Option<UserId>,
    pub internal_group: Option<GroupId>,
    pub internal_agent: Option<UserId>,
    pub cc_ids: Vec<UserId>,
    pub tags: Vec<String>,
    /// Our field keys.
    pub custom_fields: BTreeMap<String, Value>,
    pub channel: Channel,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// The conversation, oldest first (empty bodies are left out).
    pub comments: Vec<SourceComment>,
    /// The first comment when the conversation is empty (else `(no description)`).
    pub description: Option<String>,
}

/// A comment of a [`SourceTicket`].
#[derive(Debug, Clone)]
pub(crate) struct SourceComment {
    /// Its author here; `None` names the importing system user.
    pub author: Option<UserId>,
    pub body: String,
    pub public: bool,
    pub created_at: Option<i64>,
    /// Its files, already uploaded here ([`App::upload_bytes`]): given to the comment in
    /// the ticket's transaction.
    pub upload_tokens: Vec<String>,
}

impl App {
    /// Every organization here by lowercased name, and every user by lowercased address:
    /// what an import matches source records against.
    pub(crate) async fn names_here(
        &self,
        sys: &crate::Principal,
    ) -> Result<(BTreeMap<String, i64>, BTreeMap<String, i64>)> {
        let mut orgs = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_organizations(sys, cursor.as_deref(), Some(100))
                .await?;
            orgs.extend(page.items.iter().map(|o| (o.name.to_lowercase(), o.id)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut users = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_users(
                    sys,
                    ferrodesk_store::directory::UserFilter::default(),
                    cursor.as_deref(),
                    Some(100),
                )
                .await?;
            users.extend(
                page.items
                    .iter()
                    .filter_map(|u| u.email.as_ref().map(|e| (e.to_lowercase(), u.id))),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok((orgs, users))
    }

    /// A source's groups (objects with `id` and `name`): each matched here by name or
    /// created, and linked. Gives every link of the source, source id → ours.
    pub(crate) async fn import_groups_of(
        &self,
        source: &str,
        sys: &crate::Principal,
        groups: &[Value],
        report: &mut ImportReport,
    ) -> Result<BTreeMap<i64, i64>> {
        let mut links = self.known(source, "group").await?;
        let ours = self.list_groups(sys).await?.items;
        for g in groups {
            let Some(ext) = id_of(g) else { continue };
            if links.contains_key(&ext) {
                report.count("groups").already += 1;
                continue;
            }
            let name = text(g, "name");
            let local = match ours.iter().find(|o| o.name.eq_ignore_ascii_case(&name)) {
                Some(o) => {
                    report.count("groups").already += 1;
                    o.id
                }
                None => match self
                    .create_group(
                        sys,
                        crate::dto::GroupIn {
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
            links.insert(ext, local);
        }
        Ok(links)
    }

    /// Remembers that the source's `external` record of `kind` is our `local` one (a link
    /// already there stays).
    pub(crate) async fn link(
        &self,
        source: &str,
        kind: &str,
        external: i64,
        local: i64,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        if imports::link(&mut tx, source, kind, external)
            .await?
            .is_none()
        {
            imports::set_link(&mut tx, source, kind, external, local).await?;
        }
        commit(tx).await
    }

    /// The links of one kind: the source's id → ours.
    pub(crate) async fn known(&self, source: &str, kind: &str) -> Result<BTreeMap<i64, i64>> {
        let mut c = self.store().read().await?;
        Ok(imports::links(&mut c, source, kind)
            .await?
            .into_iter()
            .collect())
    }

    /// Creates the source's users not here yet, `USERS` to a transaction (each user with their
    /// memberships and audit event, through `create_user_in` as every other way a user
    /// appears, and their link). A page that a refusal breaks is rolled back and created
    /// user by user, so that each refusal is reported and the others land. Returns what was
    /// created: (source id, local id, address).
    pub(crate) async fn create_source_users(
        &self,
        sys: &Principal,
        source: &str,
        users: Vec<SourceUser>,
        report: &mut ImportReport,
    ) -> Result<Vec<(i64, i64, String)>> {
        const USERS: usize = 200;
        let mut created = Vec::new();
        for page in users.chunks(USERS) {
            let mut tx = self.store().begin().await?;
            let mut done = Vec::new();
            for u in page {
                match self.create_user_in(&mut tx, sys, &u.input, Ok(None)).await {
                    Ok(user) => done.push((u.ext, user.id.0, u.input.email.clone())),
                    Err(_) => break,
                }
            }
            if done.len() == page.len() {
                let links: Vec<(i64, i64)> = done.iter().map(|(e, l, _)| (*e, *l)).collect();
                imports::set_links(&mut tx, source, "user", &links).await?;
                commit(tx).await?;
            } else {
                drop(tx);
                done.clear();
                for u in page {
                    match self.create_user(sys, u.input.clone()).await {
                        Ok(out) => {
                            self.link(source, "user", u.ext, out.id).await?;
                            done.push((u.ext, out.id, u.input.email.clone()));
                        }
                        Err(e) => {
                            report.count("users").skipped += 1;
                            let why = match &e {
                                AppError::Invalid(errors) => fields_in_words(errors),
                                e => e.to_string(),
                            };
                            report
                                .notes
                                .push(format!("user {} <{}>: {why}", u.ext, u.input.email));
                        }
                    }
                }
            }
            for u in page.iter().filter(|u| u.suspended) {
                if let Some((_, local, _)) = done.iter().find(|(e, _, _)| *e == u.ext) {
                    let suspend = UserPatch {
                        suspended: Some(true),
                        ..UserPatch::default()
                    };
                    self.update_user(sys, UserId(*local), suspend).await?;
                }
            }
            report.count("users").imported += done.len() as u64;
            created.extend(done);
        }
        Ok(created)
    }

    /// A source comment's files, downloaded and uploaded here; their upload tokens. A file
    /// over the size limit, or one the source will not give, is left out with a note.
    pub(crate) async fn import_files(
        &self,
        reader: &mut Reader,
        ticket: i64,
        files: Vec<SourceFile>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<String>> {
        let mut tokens = Vec::new();
        let sys = self.system_principal();
        let max = self.config().attachment_max_bytes;
        for f in files {
            let SourceFile {
                name,
                url,
                content_type,
            } = f;
            let Some(url) = url else { continue };
            let bytes = match reader.get_bytes(&url, max).await {
                Ok(Some(b)) => b,
                Ok(None) => {
                    notes.push(format!(
                        "ticket {ticket}: file \"{name}\" is larger than {} MiB; left out",
                        max / (1024 * 1024)
                    ));
                    continue;
                }
                Err(e) => {
                    notes.push(format!("ticket {ticket}: file \"{name}\": {e}; left out"));
                    continue;
                }
            };
            match self.upload_bytes(&sys, &name, &content_type, &bytes).await {
                Ok(up) => tokens.push(up.token),
                Err(e) => notes.push(format!("ticket {ticket}: file \"{name}\": {e}; left out")),
            }
        }
        Ok(tokens)
    }

    /// The source's tickets imported before, read once at the start of a run (a run then
    /// adds what it writes): one statement instead of one per page, whose `IN` list of a
    /// thousand ids PostgreSQL may check row by row against the whole table.
    pub(crate) async fn tickets_known(&self, source: &str) -> Result<HashSet<i64>> {
        let mut c = self.store().read().await?;
        Ok(imports::links(&mut c, source, "ticket")
            .await?
            .into_iter()
            .map(|(external, _)| external)
            .collect())
    }

    /// The user the comments of unknown authors name.
    pub(crate) async fn import_fallback_author(&self) -> Result<UserId> {
        let mut c = self.store().read().await?;
        Ok(ferrodesk_store::directory::system_user(&mut c).await?)
    }

    /// Gives an organization the sharing mode it had at the source, when it has not got it,
    /// and records it for the register ("imported from VENDOR on DATE") and the audit trail.
    pub(crate) async fn import_sharing(
        &self,
        org: OrganizationId,
        sharing: Sharing,
        vendor: &str,
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
        imports::record_sharing(&mut tx, org, sharing, vendor, source, now).await?;
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
            Some(format!("imported from {vendor} ({source})")),
        )
        .await?;
        commit(tx).await
    }

    /// Starts an importer's ticket phase as an initial load when it can be one
    /// (`ferrodesk_store::initial_load::begin`: PostgreSQL, no tickets here yet, and
    /// [`crate::Config::import_initial_load`]): the ticket tables' secondary indexes and foreign
    /// keys are dropped until [`App::end_ticket_phase`] adds them back.
    pub(crate) async fn begin_ticket_phase(
        &self,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Option<(initial_load::Load, Duration)>> {
        if !self.config().import_initial_load {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let Some(load) = initial_load::begin(self.store(), self.now()).await? else {
            return Ok(None);
        };
        progress(&format!(
            "initial load: {} indexes and foreign keys of the ticket tables dropped until the tickets are in",
            load.held()
        ));
        Ok(Some((load, started.elapsed())))
    }

    /// Ends a ticket phase that [`App::begin_ticket_phase`] began, `written` its outcome: adds
    /// back what an initial load dropped, whether the phase succeeded or failed. Failing to
    /// add it back fails the import, naming each foreign key that does not validate.
    pub(crate) async fn end_ticket_phase(
        &self,
        load: Option<(initial_load::Load, Duration)>,
        written: Result<()>,
        report: &mut ImportReport,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<()> {
        let Some((load, dropping)) = load else {
            return written;
        };
        progress("initial load: adding back the indexes and foreign keys");
        let started = std::time::Instant::now();
        let added = load.finish().await;
        report.initial_load = Some(dropping + started.elapsed());
        match (written, added) {
            (written, Ok(())) => written,
            (Ok(()), Err(e)) => Err(e.into()),
            (Err(e), Err(added)) => Err(AppError::Internal(format!(
                "{e}; then adding back the indexes and foreign keys failed too: {added}"
            ))),
        }
    }

    /// Writes a page of source tickets with their comments and links, in one transaction,
    /// through the write pipeline's import step. A ticket whose internal owner breaks the
    /// invariants of SPEC §4 is kept without it and reported; one whose requester was not
    /// imported, or that is refused for another reason, is left out and reported.
    pub(crate) async fn write_ticket_page(
        &self,
        vendor: &str,
        source: &str,
        fallback_author: UserId,
        page: Vec<SourceTicket>,
        report: &mut ImportReport,
    ) -> Result<()> {
        if page.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut tx = self.store().begin().await?;
        ferrodesk_store::bulk::relax_commit(&mut tx).await?;
        let mut w = self.ticket_write(&mut tx).await?;
        w.read_directory(&mut tx).await?;
        let open = w.built_in("Open")?.id;
        let requesters: Vec<i64> = page
            .iter()
            .filter_map(|t| t.requester)
            .map(|u| u.0)
            .collect();
        let memberships: HashSet<(i64, i64)> =
            ferrodesk_store::directory::organization_pairs(&mut tx, &requesters)
                .await?
                .into_iter()
                .collect();
        let mut out: Vec<(Ticket, Vec<Comment>)> = Vec::new();
        let mut sources = Vec::new();
        let mut uploads: Vec<Vec<Vec<String>>> = Vec::new();
        let mut exts = Vec::new();
        let actor = Actor::system(Channel::Cli);
        let mut written: Vec<(&'static str, u64)> = Vec::new();
        let mut notes = Vec::new();
        for t in page {
            let ext = t.ext;
            let Some(requester) = t.requester else {
                notes.push(format!(
                    "ticket {ext}: its requester {} was not imported; the ticket is left out",
                    t.requester_source
                ));
                written.push(("skipped", 1));
                continue;
            };
            let status = t
                .status
                .or_else(|| {
                    w.statuses
                        .iter()
                        .find(|s| s.built_in && s.category == t.category)
                        .map(|s| s.id)
                })
                .unwrap_or(open);
            let mut problems = Problems::default();
            let custom =
                crate::tickets::check_custom_fields(&w.defs, &t.custom_fields, &mut problems);
            let created = t.created_at.unwrap_or_else(|| self.now());
            let mut ticket = Ticket {
                id: TicketId(0),
                subject: Some(t.subject.clone())
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| "(no subject)".to_owned())
                    .chars()
                    .take(250)
                    .collect(),
                requester_id: requester,
                organization_id: t.organization,
                status_id: status,
                priority: t.priority,
                group_id: t.group,
                assignee_id: t.assignee,
                internal_group_id: t.internal_group,
                internal_agent_id: t.internal_agent,
                cc_ids: t.cc_ids.clone(),
                tags: t.tags.iter().take(50).cloned().collect(),
                custom_fields: custom,
                channel: t.channel,
                sharing_check: None,
                created_at: created,
                updated_at: t.updated_at.unwrap_or(created),
                version: 1,
            };
            ticket.cc_ids.sort();
            ticket.cc_ids.dedup();
            // The requester's organization must be one of theirs.
            let member = ticket
                .organization_id
                .is_none_or(|o| memberships.contains(&(ticket.requester_id.0, o.0)));
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
                        fields_in_words(&errors)
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
                    fields_in_words(&errors)
                ));
            }
            let kept: Vec<&SourceComment> = t
                .comments
                .iter()
                .filter(|c| !c.body.trim().is_empty() || !c.upload_tokens.is_empty())
                .collect();
            let mut thread: Vec<Comment> = kept
                .iter()
                .map(|c| Comment {
                    id: CommentId(0),
                    ticket_id: TicketId(0),
                    author_id: c.author.unwrap_or(fallback_author),
                    body: if c.body.trim().is_empty() {
                        "(attachment)".to_owned()
                    } else {
                        c.body.clone()
                    },
                    public: c.public,
                    channel: ticket.channel,
                    created_at: c.created_at.unwrap_or(created),
                })
                .collect();
            if thread.is_empty() {
                thread.push(Comment {
                    id: CommentId(0),
                    ticket_id: TicketId(0),
                    author_id: ticket.requester_id,
                    body: t
                        .description
                        .as_deref()
                        .filter(|d| !d.trim().is_empty())
                        .unwrap_or("(no description)")
                        .to_owned(),
                    public: true,
                    channel: ticket.channel,
                    created_at: created,
                });
            }
            written.push(("imported", 1));
            written.push(("comments", thread.len() as u64));
            uploads.push(kept.iter().map(|c| c.upload_tokens.clone()).collect());
            sources.push(format!("imported from {vendor} ({source}), ticket {ext}"));
            exts.push(ext);
            out.push((ticket, thread));
        }
        w.import_page(&mut tx, actor, &mut out, sources).await?;
        let uploader = self.system_principal();
        for ((ticket, thread), tokens) in out.iter().zip(&uploads) {
            for (m, tokens) in thread.iter().zip(tokens) {
                if !tokens.is_empty() {
                    self.attach_uploads(&mut tx, &uploader, tokens, m.id, ticket.id)
                        .await?;
                }
            }
        }
        let links: Vec<(i64, i64)> = exts
            .iter()
            .zip(&out)
            .map(|(ext, (t, _))| (*ext, t.id.0))
            .collect();
        imports::set_links(&mut tx, source, "ticket", &links).await?;
        commit(tx).await?;
        for (what, n) in written {
            match what {
                "imported" => report.count("tickets").imported += n,
                "comments" => report.count("comments").imported += n,
                _ => report.count("tickets").skipped += n,
            }
        }
        report.notes.extend(notes);
        report.ticket_writing += started.elapsed();
        Ok(())
    }
}
