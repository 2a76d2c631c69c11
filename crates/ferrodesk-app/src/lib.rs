//! Ferrodesk's use cases. Each public method of [`App`] is one use case: it takes the
//! [`Principal`] making the request, asks the access policy, and writes the change, its
//! audit events and its outbox jobs in one transaction.

pub mod access;
pub mod admin;
pub mod attachments;
pub mod auth;
pub mod blobs;
pub mod bulk;
pub mod demo;
pub mod directory;
pub mod dto;
pub mod error;
pub mod fields;
pub mod import_freshdesk;
pub mod import_zendesk;
pub mod imports;
pub mod inbound;
pub mod macros;
pub mod mail;
pub mod mail_templates;
pub mod ownership;
pub mod rules;
pub mod s3;
pub mod search;
pub mod settings;
pub mod sharing;
pub mod statuses;
pub mod ticket_write;
pub mod tickets;
pub mod transfer;
pub mod views;
pub mod workspace;

use std::sync::Arc;

use ferrodesk_core::audit::{ActorKind, FieldChange};
use ferrodesk_core::policy::Viewer;
use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_core::{Channel, Role};
use ferrodesk_store::audit::NewEvent;
use ferrodesk_store::directory::User;
use ferrodesk_store::{Conn, Store};

pub use error::AppError;

/// Result of a use case.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Where time comes from; tests inject a fixed clock.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Microseconds since the Unix epoch.
    fn now_micros(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        jiff::Timestamp::now().as_microsecond()
    }
}

/// Settings that come from the command line or environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a browser session lasts at most, in seconds.
    pub session_ttl_secs: i64,
    /// A browser session unused for this many seconds ends.
    pub session_idle_secs: i64,
    /// The token an MTA presents to hand over inbound mail (`POST /api/v1/mail/inbound`,
    /// `ferrodesk mail ingest --url`); none turns the endpoint off.
    pub mail_inbound_token: Option<String>,
    /// Our own address, as outgoing mail is sent from it (mail naming it in `X-Loop` is ours
    /// coming back; it is never made a CC).
    pub mail_address: String,
    /// The largest inbound message taken in, in bytes.
    pub mail_max_bytes: usize,
    /// The SMTP server outgoing mail goes through, without credentials (shown to admins).
    pub smtp_server: Option<String>,
    /// The sender of outgoing mail, as configured (shown to admins).
    pub mail_from: String,
    /// Days delivered messages and suppressed inbound mail are kept.
    pub mail_keep_days: i64,
    /// The address answers go to, before the ticket's signed tag is added
    /// (`support@reply.example` → `support+123-<signature>@reply.example`); by default our
    /// own address.
    pub mail_reply_to: String,
    /// Where attachment bytes are stored (a folder or a bucket).
    pub files: blobs::Blobs,
    /// The largest file, in bytes.
    pub attachment_max_bytes: u64,
    /// The most bytes of files one comment may have.
    pub comment_attachments_max_bytes: u64,
    /// Whether an import into a desk without tickets loads them as an initial load on
    /// PostgreSQL (indexes and foreign keys of the ticket tables dropped while the pages are
    /// written, added back at the end: `ferrodesk_store::initial_load`).
    pub import_initial_load: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_ttl_secs: 14 * 24 * 3600,
            session_idle_secs: 8 * 3600,
            mail_inbound_token: None,
            mail_address: "support@localhost".into(),
            mail_max_bytes: 25 * 1024 * 1024,
            smtp_server: None,
            mail_from: "Ferrodesk <support@localhost>".into(),
            mail_keep_days: 30,
            mail_reply_to: "support@localhost".into(),
            files: blobs::Blobs::new(std::env::temp_dir().join("ferrodesk-files")),
            attachment_max_bytes: 20 * 1024 * 1024,
            comment_attachments_max_bytes: 50 * 1024 * 1024,
            import_initial_load: true,
        }
    }
}

type PasswordJob = Box<dyn FnOnce() + Send>;

/// A few long-lived threads that run password hashing one job each at a time. Not tokio's
/// blocking pool: its many short-lived threads each keep a malloc arena holding a freed
/// 19 MiB argon2 buffer, so 200 concurrent sign-ins grew the server to 500 MiB even when only
/// two hashes ran at once.
pub struct PasswordThreads {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<PasswordJob>>,
}

impl std::fmt::Debug for PasswordThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordThreads")
    }
}

impl PasswordThreads {
    fn new(n: usize) -> PasswordThreads {
        let (tx, rx) = std::sync::mpsc::channel::<PasswordJob>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n.max(1) {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("ferrodesk-password-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        match job {
                            Ok(job) => job(),
                            // The app is gone.
                            Err(_) => break,
                        }
                    }
                });
        }
        PasswordThreads {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: PasswordJob = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .lock()
            .map_err(|_| AppError::Internal("password threads poisoned".into()))?
            .send(job)
            .map_err(|_| AppError::Internal("password threads stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Internal("a password job failed".into()))
    }
}

/// The application: storage, clock and configuration. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    /// The threads that compute password hashes (memory: ~19 MiB each at a time).
    hashing: Arc<PasswordThreads>,
}

/// The user making a request, authenticated, with the facts the access policy needs
/// (read from the database for this request).
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// The policy's view of them.
    pub viewer: Viewer,
    /// Through which interface they act.
    pub via: Channel,
    /// The stored hash of the session or API token this request came with (none for the
    /// command line): "every other session and token" spares it.
    pub credential: Option<String>,
    /// Staff who must set up two-factor sign-in before anything else (an admin requires it
    /// and they have not turned it on).
    pub two_factor_due: bool,
    /// The directory generation read with them: what the request may take from the store's
    /// cache (`ferrodesk_store::cache`); -1 takes nothing.
    pub generation: i64,
}

impl Principal {
    /// The same principal, known to have come with the credential whose hash is `hash`.
    pub fn with_credential(mut self, hash: String) -> Principal {
        self.credential = Some(hash);
        self
    }

    /// Admins only.
    pub fn require_admin(&self) -> Result<()> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::forbidden("admin_only", "only admins may do this"))
        }
    }

    /// Agents and admins only.
    pub fn require_staff(&self) -> Result<()> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "staff_only",
                "only agents and admins may do this",
            ))
        }
    }

    /// Agent or admin.
    pub fn is_staff(&self) -> bool {
        matches!(self.user.role, Role::Admin | Role::Agent)
    }
}

/// Who an audit event is attributed to.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// User, rule or system.
    pub kind: ActorKind,
    /// The user or rule id.
    pub id: Option<i64>,
    /// Channel.
    pub via: Channel,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Actor {
        if p.user.id.0 == 0 {
            return Actor::system(p.via);
        }
        Actor {
            kind: ActorKind::User,
            id: Some(p.user.id.0),
            via: p.via,
        }
    }
}

impl Actor {
    /// A user, through `via`.
    pub fn user(id: ferrodesk_core::UserId, via: Channel) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(id.0),
            via,
        }
    }

    /// Ferrodesk itself, through `via`.
    pub fn system(via: Channel) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
            via,
        }
    }
}

impl App {
    /// An app over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> App {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        App {
            store,
            clock,
            config: Arc::new(config),
            hashing: Arc::new(PasswordThreads::new(cores)),
        }
    }

    /// The configuration from the command line or environment.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The same app with another configuration.
    pub fn with_config(mut self, config: Config) -> App {
        self.config = Arc::new(config);
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Now, in microseconds since the epoch.
    pub fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// The statuses, from the cache when the directory has not changed since `p` was read.
    pub(crate) async fn statuses(
        &self,
        c: &mut Conn,
        p: &Principal,
    ) -> Result<Arc<Vec<ferrodesk_store::directory::Status>>> {
        let read = ferrodesk_store::directory::list_statuses(c);
        Ok(self
            .store
            .cache()
            .statuses
            .get_or(p.generation, read)
            .await?)
    }

    /// The custom field definitions, from the cache when the directory has not changed since
    /// `p` was read.
    pub(crate) async fn custom_fields(
        &self,
        c: &mut Conn,
        p: &Principal,
    ) -> Result<Arc<Vec<ferrodesk_store::tickets::CustomField>>> {
        let read = ferrodesk_store::tickets::custom_fields(c);
        Ok(self
            .store
            .cache()
            .custom_fields
            .get_or(p.generation, read)
            .await?)
    }

    /// Writes an audit event in the caller's transaction.
    pub(crate) async fn audit(
        &self,
        c: &mut Conn,
        actor: Actor,
        entity: (&'static str, i64),
        action: &'static str,
        changes: Vec<FieldChange>,
        reason: Option<String>,
    ) -> Result<()> {
        ferrodesk_store::audit::append(
            c,
            &NewEvent {
                at: self.now(),
                actor_kind: actor.kind.as_str(),
                actor_id: actor.id,
                via: actor.via.as_str(),
                entity_type: entity.0,
                entity_id: entity.1,
                action,
                changes,
                reason,
            },
        )
        .await?;
        Ok(())
    }

    /// Verifies the audit chain: `Ok(count)` or the first break.
    pub async fn verify_audit(
        &self,
        anchors: &[(i64, String)],
    ) -> Result<std::result::Result<i64, ferrodesk_store::audit::ChainBreak>> {
        let mut c = self.store.read().await?;
        Ok(ferrodesk_store::audit::verify(&mut c, anchors).await?)
    }

    /// The audit chain's head (events, last hash), to publish as an anchor.
    pub async fn audit_head(&self) -> Result<(i64, String)> {
        let mut c = self.store.read().await?;
        Ok(ferrodesk_store::audit::head(&mut c).await?)
    }
}

/// An entity's audited fields, by name, as JSON.
pub(crate) type Fields = Vec<(&'static str, serde_json::Value)>;

/// The changes from `before` (None for a new entity, whose empty fields are left out)
/// to `after`; both list the same fields in the same order.
pub(crate) fn field_changes(before: Option<Fields>, after: Fields) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for (i, (name, value)) in after.into_iter().enumerate() {
        let old = before
            .as_ref()
            .map_or(serde_json::Value::Null, |b| b[i].1.clone());
        let empty = value.is_null()
            || value.as_array().is_some_and(|a| a.is_empty())
            || value.as_object().is_some_and(|o| o.is_empty())
            || value.as_str().is_some_and(str::is_empty);
        if before.is_some() || !empty {
            diff(&mut out, name, &old, &value);
        }
    }
    out
}

/// Pushes a change of `field` when `before != after`.
pub(crate) fn diff<T: PartialEq + serde::Serialize>(
    out: &mut Vec<FieldChange>,
    field: &str,
    before: &T,
    after: &T,
) {
    if before != after {
        out.push(FieldChange::new(field, before, after));
    }
}

/// Checks that every id names an agent or admin.
pub(crate) async fn check_staff(
    c: &mut Conn,
    field: &str,
    ids: &[i64],
    problems: &mut Problems,
) -> Result<()> {
    let roles = ferrodesk_store::directory::user_roles(c, ids).await?;
    for (i, id) in ids.iter().enumerate() {
        match roles.iter().find(|(u, _)| u == id) {
            None => problems.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_found",
                format!("user {id} does not exist"),
            )),
            Some((_, Role::EndUser)) => problems.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_an_agent",
                format!("user {id} is an end user, not an agent"),
            )),
            _ => {}
        }
    }
    Ok(())
}
