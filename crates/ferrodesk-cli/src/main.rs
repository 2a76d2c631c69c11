//! The `ferrodesk` command: serve the helpdesk, migrate, load demo data, create admins
//! and tokens, back up, export and import, verify the audit chain.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ferrodesk_app::dto::UserIn;
use ferrodesk_app::{Actor, App, AppError, Config, SystemClock};
use ferrodesk_core::{Channel, Role};
use ferrodesk_store::Store;

#[derive(Parser)]
#[command(
    name = "ferrodesk",
    version,
    about = "Ferrodesk, the open-source helpdesk"
)]
struct Cli {
    /// Database: sqlite://path/to/file.db (created when missing) or postgres://user@host/db.
    #[arg(
        long,
        env = "FERRODESK_DATABASE_URL",
        default_value = "sqlite://ferrodesk.db",
        global = true
    )]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

/// Outgoing mail.
#[derive(clap::Args)]
struct MailArgs {
    /// SMTP server for outgoing mail: `smtp://host:port` (add `?tls=required` for STARTTLS),
    /// `smtps://host:port` for TLS, `user:password@` before the host for AUTH. Without it, mail
    /// stays queued in the outbox until a process with it runs.
    #[arg(long, env = "FERRODESK_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of outgoing mail.
    #[arg(
        long,
        env = "FERRODESK_MAIL_FROM",
        default_value = "Ferrodesk <support@localhost>"
    )]
    mail_from: String,
    /// Hours a message is retried after temporary failures before it is marked failed.
    #[arg(long, env = "FERRODESK_MAIL_GIVE_UP_HOURS", default_value_t = 24)]
    mail_give_up_hours: i64,
    /// Seconds before the first retry of a message after a temporary failure; each next
    /// retry waits twice as long, at most an hour.
    #[arg(long, env = "FERRODESK_MAIL_RETRY_SECONDS", default_value_t = 30)]
    mail_retry_seconds: i64,
    /// Seconds a worker holds the messages it took: after that, messages of a worker that
    /// died are sent by another (keep it well above 30 s, the SMTP command timeout).
    #[arg(long, env = "FERRODESK_MAIL_LEASE_SECONDS", default_value_t = 300)]
    mail_lease_seconds: i64,
    /// The token the MTA's `ferrodesk mail ingest --url` presents to hand over inbound mail
    /// (`POST /api/v1/mail/inbound`); without it that endpoint is off.
    #[arg(long, env = "FERRODESK_MAIL_INBOUND_TOKEN", hide_env_values = true)]
    mail_inbound_token: Option<String>,
    /// The largest inbound message taken in, in MiB.
    #[arg(long, env = "FERRODESK_MAIL_MAX_MEGABYTES", default_value_t = 25)]
    mail_max_megabytes: usize,
    /// Days delivered messages and automatic inbound mail (suppressed) are kept; failed
    /// messages and mail that became tickets or comments stay.
    #[arg(long, env = "FERRODESK_MAIL_KEEP_DAYS", default_value_t = 30)]
    mail_keep_days: i64,
    /// The address answers go to (a ticket's signed tag is added to it: `support+123-…@`),
    /// when not the sender's, e.g. on a domain of its own that the MTA pipes to Ferrodesk.
    #[arg(long, env = "FERRODESK_MAIL_REPLY_TO")]
    mail_reply_to: Option<String>,
}

/// Attachments.
#[derive(clap::Args)]
struct FilesArgs {
    /// The folder attachment files are stored in (`file:///path` or a path).
    #[arg(long, env = "FERRODESK_FILES_DIR", default_value = "ferrodesk-files")]
    files_dir: String,
    /// The largest file, in MiB.
    #[arg(long, env = "FERRODESK_ATTACHMENT_MAX_MEGABYTES", default_value_t = 20)]
    attachment_max_megabytes: u64,
    /// The most MiB of files one comment may have.
    #[arg(
        long,
        env = "FERRODESK_COMMENT_ATTACHMENTS_MAX_MEGABYTES",
        default_value_t = 50
    )]
    comment_attachments_max_megabytes: u64,
}

impl FilesArgs {
    /// The app's configuration with these settings.
    fn config(&self, base: Config) -> Result<Config, String> {
        // With a bucket, uploads are staged on this machine before they are stored.
        let staging = std::env::temp_dir().join("ferrodesk-uploads");
        let files =
            ferrodesk_app::blobs::Blobs::from_url(&self.files_dir, &staging).map_err(describe)?;
        Ok(Config {
            files,
            attachment_max_bytes: self.attachment_max_megabytes.clamp(1, 100 * 1024) * 1024 * 1024,
            comment_attachments_max_bytes: self
                .comment_attachments_max_megabytes
                .clamp(1, 100 * 1024)
                * 1024
                * 1024,
            ..base
        })
    }
}

impl MailArgs {
    /// The app's configuration with these mail settings.
    fn config(&self, base: Config) -> Config {
        let address = self
            .mail_from
            .rsplit_once('<')
            .map_or(self.mail_from.as_str(), |(_, a)| a.trim_end_matches('>'))
            .trim()
            .to_lowercase();
        Config {
            mail_inbound_token: self.mail_inbound_token.clone().filter(|t| !t.is_empty()),
            mail_reply_to: self
                .mail_reply_to
                .as_deref()
                .map(|r| r.trim().to_lowercase())
                .filter(|r| r.contains('@'))
                .unwrap_or_else(|| address.clone()),
            mail_address: address,
            mail_max_bytes: self.mail_max_megabytes.clamp(1, 1024) * 1024 * 1024,
            smtp_server: self.smtp_url.as_deref().map(without_credentials),
            mail_from: self.mail_from.clone(),
            mail_keep_days: self.mail_keep_days,
            ..base
        }
    }

    fn mailer(&self) -> Result<Option<ferrodesk_app::mail::Mailer>, String> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        ferrodesk_app::mail::Mailer::new(&ferrodesk_app::mail::MailConfig {
            smtp_url: url.clone(),
            from: self.mail_from.clone(),
            give_up_after_secs: self.mail_give_up_hours.max(0) * 3600,
            first_retry_secs: self.mail_retry_seconds,
            lease_secs: self.mail_lease_seconds,
        })
        .map(Some)
        .map_err(describe)
    }
}

/// An SMTP URL without the user and password (`smtp://user:pw@host:587` → `smtp://host:587`).
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("{scheme}://{host}")
        }
        None => url.rsplit_once('@').map_or(url, |(_, h)| h).to_owned(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and the API (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FERRODESK_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load demo data when the database is empty.
        #[arg(long)]
        demo: bool,
        /// Seconds a client has to send a request's headers; also how long an idle
        /// keep-alive connection stays open.
        #[arg(long, env = "FERRODESK_HEADER_TIMEOUT", default_value_t = 10)]
        header_timeout: u64,
        /// Longest pause, in seconds, while a client sends a request body.
        #[arg(long, env = "FERRODESK_BODY_TIMEOUT", default_value_t = 30)]
        body_timeout: u64,
        /// Open connections one client address may hold.
        #[arg(
            long,
            env = "FERRODESK_MAX_CONNECTIONS_PER_ADDRESS",
            default_value_t = 256
        )]
        max_connections_per_address: usize,
        /// API requests per second per token or session (bursts of twice that); 0: no limit.
        #[arg(long, env = "FERRODESK_RATE_PER_CREDENTIAL", default_value_t = 100)]
        rate_per_credential: u32,
        /// API requests per second per client address (bursts of twice that); 0: no limit.
        #[arg(long, env = "FERRODESK_RATE_PER_ADDRESS", default_value_t = 300)]
        rate_per_address: u32,
        /// Sign-in attempts per client address and minute; 0: no limit.
        #[arg(long, env = "FERRODESK_LOGIN_RATE_PER_ADDRESS", default_value_t = 20)]
        login_rate_per_address: u32,
        /// Minutes without use after which a browser session ends (sessions end after 14 days
        /// in any case).
        #[arg(long, env = "FERRODESK_SESSION_IDLE_MINUTES", default_value_t = 480)]
        session_idle_minutes: i64,
        #[command(flatten)]
        mail: MailArgs,
        #[command(flatten)]
        files: FilesArgs,
    },
    /// Deliver outgoing mail from the outbox, without serving (as `serve` does beside
    /// serving when an SMTP server is set). Several may run on one PostgreSQL database.
    Worker {
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Apply database migrations.
    Migrate,
    /// Load demo data into an empty database.
    Demo,
    /// Manage admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Inbound mail.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write a consistent copy of the SQLite database to a new file, while serving.
    Backup {
        /// The new file.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Write every table as JSON lines into a new folder, with the attachment files, while
    /// serving.
    Export {
        /// The new (or empty) folder.
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        files: FilesArgs,
    },
    /// Import data: a Ferrodesk export into an empty database, or a Zendesk or Freshdesk
    /// account.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin who signs in with a password.
    Create {
        /// Email.
        #[arg(long)]
        email: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Password (8 characters or more).
        #[arg(long, env = "FERRODESK_ADMIN_PASSWORD")]
        password: String,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Take in one message from standard input, as an MTA pipes it (Postfix alias, Exim
    /// pipe transport): posted to a running server with `--url`, else written to the
    /// database directly. Exits 0 when the message was taken in (or kept as automatic or
    /// refused mail), 65 when it is not a usable message, 75 on a temporary failure (the MTA
    /// tries again later).
    Ingest {
        /// A running server, e.g. `http://127.0.0.1:8080`.
        #[arg(long, env = "FERRODESK_URL")]
        url: Option<String>,
        /// The server's inbound token (FERRODESK_MAIL_INBOUND_TOKEN).
        #[arg(long, env = "FERRODESK_MAIL_INBOUND_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The largest message taken in, in MiB (the direct mode; a server has its own).
        #[arg(long, env = "FERRODESK_MAIL_MAX_MEGABYTES", default_value_t = 25)]
        max_megabytes: usize,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it.
    Create {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// A name for the token.
        #[arg(long, default_value = "CLI token")]
        name: String,
    },
}

#[derive(Subcommand)]
enum ImportSource {
    /// A Zendesk account (or another Ferrodesk's /zendesk/api/v2), read through Zendesk's
    /// API: groups, statuses, fields, organizations with their sharing mode, users,
    /// memberships, tickets with their comments. Resumable: a rerun continues where the
    /// last one stopped and imports nothing twice.
    Zendesk {
        /// The account's address, e.g. https://acme.zendesk.com (without /api/v2).
        #[arg(long)]
        url: String,
        /// An admin's email address there.
        #[arg(long)]
        email: String,
        /// That admin's API token.
        #[arg(long, env = "FERRODESK_IMPORT_TOKEN", hide_env_values = true)]
        token: String,
        /// Stop after this many new tickets (the rest on the next run).
        #[arg(long)]
        limit: Option<u64>,
        /// Write the tickets with every index and foreign key in place even into a desk
        /// without tickets on PostgreSQL (by default such an import is an initial load: see
        /// docs/operations.md "Imports").
        #[arg(long)]
        no_initial_load: bool,
    },
    /// A Freshdesk account (or another Ferrodesk's /freshdesk/api/v2), read through
    /// Freshdesk's API v2: groups, custom statuses with the internal groups FILE maps,
    /// fields, companies, agents with their scope, contacts with their access, tickets with
    /// their conversations. Resumable: a rerun continues where the last one stopped and
    /// imports nothing twice.
    Freshdesk {
        /// The account's address, e.g. https://acme.freshdesk.com (without /api/v2).
        #[arg(long)]
        url: String,
        /// An administrator's API key.
        #[arg(long, env = "FERRODESK_IMPORT_TOKEN", hide_env_values = true)]
        api_key: String,
        /// The internal groups of each custom status, which Freshdesk's API does not give:
        /// a JSON object {"<status name>": ["<group name>", …] | "all" | {"groups": …,
        /// "category": "open|pending|resolved"}, …} naming every custom status. Required
        /// when the account has custom statuses: without it nothing is imported.
        #[arg(long, value_name = "FILE")]
        status_groups: Option<std::path::PathBuf>,
        /// Stop after this many new tickets (the rest on the next run).
        #[arg(long)]
        limit: Option<u64>,
        /// Write the tickets with every index and foreign key in place even into a desk
        /// without tickets on PostgreSQL (by default such an import is an initial load: see
        /// docs/operations.md "Imports").
        #[arg(long)]
        no_initial_load: bool,
    },
    /// A folder written by `ferrodesk export` (from SQLite or PostgreSQL).
    Ferrodesk {
        /// The export folder.
        #[arg(long)]
        from: std::path::PathBuf,
        #[command(flatten)]
        files: FilesArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that the audit chain is intact (exit 0) or name the first bad event (exit 1).
    Verify {
        /// A file of published heads (`ferrodesk audit head` lines: events and hash); the
        /// chain must still contain each of them.
        #[arg(long)]
        against: Option<std::path::PathBuf>,
    },
    /// Print the chain's head (events and last hash) to publish outside the database.
    Head,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRODESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn describe(e: AppError) -> String {
    match e {
        AppError::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// `app` importing into a desk without tickets as an initial load, or not.
fn with_initial_load(app: App, initial_load: bool) -> App {
    let config = Config {
        import_initial_load: initial_load,
        ..app.config().clone()
    };
    app.with_config(config)
}

/// What a vendor import did: counts per kind, waits, notes.
fn print_import_report(report: &ferrodesk_app::imports::ImportReport) {
    for (kind, c) in &report.counts {
        println!(
            "{kind}: {} imported, {} already here, {} left out",
            c.imported, c.already, c.skipped
        );
    }
    let written = report.counts.get("tickets").map_or(0, |c| c.imported);
    let rebuilding = report.initial_load.unwrap_or_default().as_secs_f64();
    let secs = report.ticket_writing.as_secs_f64() + rebuilding;
    if written > 0 && secs > 0.0 {
        println!(
            "tickets written in {secs:.1} s ({:.0} tickets/s); the rest of the time went to reading the source",
            written as f64 / secs
        );
    }
    if report.initial_load.is_some() {
        println!(
            "initial load: of those, {rebuilding:.1} s went to dropping the ticket tables' indexes and foreign keys and adding them back"
        );
    }
    if report.waits > 0 {
        println!(
            "waited {} times when the source asked to slow down",
            report.waits
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    if report.stopped_early {
        println!("stopped at --limit: run the same command again to continue");
    }
}

/// Published heads: lines of `<events> <hash>` (blank lines and `#` comments skipped).
fn read_anchors(path: Option<&std::path::Path>) -> Result<Vec<(i64, String)>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line
            .split_once(' ')
            .and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash.trim().to_owned())));
        match parsed {
            Some(a) if a.1.len() == 64 => out.push(a),
            _ => {
                return Err(format!(
                    "{} line {}: expected `<events> <64 hex characters>` as printed by `ferrodesk audit head`",
                    path.display(),
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

async fn open(url: &str) -> Result<App, String> {
    let store = Store::connect(url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    Ok(App::new(store, Arc::new(SystemClock), Config::default()))
}

/// sysexits: a message that is not usable (the MTA bounces it).
const EX_DATAERR: u8 = 65;
/// sysexits: a temporary failure (the MTA keeps the message and tries again).
const EX_TEMPFAIL: u8 = 75;

/// Reads the message on standard input (at most `max` bytes and one more, to tell).
fn read_message(max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(max as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read the message: {e}"))?;
    Ok(raw)
}

/// `ferrodesk mail ingest`: the exit code the MTA acts on.
async fn ingest(
    database_url: &str,
    url: Option<String>,
    token: Option<String>,
    max_megabytes: usize,
) -> ExitCode {
    let max = max_megabytes.clamp(1, 1024) * 1024 * 1024;
    let raw = match read_message(max) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    let outcome = match url {
        Some(url) => post_message(&url, token.as_deref(), raw).await,
        None => match open(database_url).await {
            Err(e) => Err((EX_TEMPFAIL, e)),
            Ok(app) => {
                let app = app.with_config(Config {
                    mail_max_bytes: max,
                    ..Config::default()
                });
                match app.ingest_mail(&raw).await {
                    Ok(out) => Ok(serde_json::to_string(&out).unwrap_or_default()),
                    Err(e @ AppError::Invalid(_)) => Err((EX_DATAERR, describe(e))),
                    Err(e) => Err((EX_TEMPFAIL, describe(e))),
                }
            }
        },
    };
    match outcome {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err((code, e)) => {
            eprintln!("error: {e}");
            ExitCode::from(code)
        }
    }
}

/// Posts a message to a running server: the answer's JSON, or the exit code and why.
async fn post_message(
    url: &str,
    token: Option<&str>,
    raw: Vec<u8>,
) -> Result<String, (u8, String)> {
    let endpoint = format!("{}/api/v1/mail/inbound", url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| (EX_TEMPFAIL, e.to_string()))?;
    let mut req = client
        .post(&endpoint)
        .header("content-type", "message/rfc822")
        .body(raw);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req
        .send()
        .await
        .map_err(|e| (EX_TEMPFAIL, format!("cannot reach {endpoint}: {e}")))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if status.is_success() {
        return Ok(body);
    }
    let detail = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or(body);
    // A message the server will never take (malformed, too large) bounces; anything else —
    // a wrong token, a server that is busy or failing — is kept by the MTA for later.
    let code = match status.as_u16() {
        413 | 422 | 400 => EX_DATAERR,
        _ => EX_TEMPFAIL,
    };
    Err((code, format!("the server answered {status}: {detail}")))
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    if let Command::Mail {
        command:
            MailCommand::Ingest {
                url,
                token,
                max_megabytes,
            },
    } = cli.command
    {
        return Ok(ingest(&cli.database_url, url, token, max_megabytes).await);
    }
    let app = open(&cli.database_url).await?;
    match cli.command {
        Command::Serve {
            bind,
            demo,
            header_timeout,
            body_timeout,
            max_connections_per_address,
            rate_per_credential,
            rate_per_address,
            login_rate_per_address,
            session_idle_minutes,
            mail,
            files,
        } => {
            let mailer = mail.mailer()?;
            let app = app.with_config(files.config(mail.config(Config {
                session_idle_secs: session_idle_minutes.max(1) * 60,
                ..Config::default()
            }))?);
            // Uploads no comment took within a day go, once an hour.
            let janitor = app.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = janitor.expire_uploads().await {
                        tracing::warn!(error = %e, "deleting expired uploads failed");
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                }
            });
            if demo && app.is_empty().await.map_err(describe)? {
                let logins = app.load_demo().await.map_err(describe)?;
                println!(
                    "Demo data loaded. Sign in with password {:?} as:",
                    logins.password
                );
                println!("  admin     {}", logins.admin_email);
                println!("  agent     {}", logins.agent_email);
                println!("  customer  {}", logins.customer_email);
                println!(
                    "API token: ferrodesk token create --email {}",
                    logins.admin_email
                );
            }
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!(
                "Ferrodesk is serving on http://{addr} ({})",
                app.store().backend().name()
            );
            match mailer {
                Some(m) => {
                    let worker = app.clone();
                    tokio::spawn(async move { worker.run_mail_worker(m).await });
                    println!("Delivering outgoing mail from {}", mail.mail_from);
                }
                None => println!(
                    "Outgoing mail stays queued: no SMTP server is set (FERRODESK_SMTP_URL)"
                ),
            }
            let limits = ferrodesk_web::server::Limits {
                header_read: std::time::Duration::from_secs(header_timeout.max(1)),
                body_read: std::time::Duration::from_secs(body_timeout.max(1)),
                connections_per_address: max_connections_per_address.max(1),
                rates: ferrodesk_web::ratelimit::Rates {
                    per_credential: rate_per_credential,
                    per_address: rate_per_address,
                    logins_per_address_minute: login_rate_per_address,
                },
            };
            ferrodesk_web::serve_with(listener, app, limits)
                .await
                .map_err(|e| e.to_string())?;
        }
        Command::Worker { mail } => {
            let Some(m) = mail.mailer()? else {
                return Err(
                    "the worker needs an SMTP server: set --smtp-url or FERRODESK_SMTP_URL".into(),
                );
            };
            println!("Delivering outgoing mail from {}", mail.mail_from);
            let app = app.with_config(mail.config(Config::default()));
            tokio::select! {
                _ = app.run_mail_worker(m) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Command::Mail { .. } => unreachable!("handled before the database is opened"),
        Command::Migrate => println!("migrations applied"),
        Command::Demo => {
            if !app.is_empty().await.map_err(describe)? {
                return Err(
                    "the database already has users; demo data goes into an empty one".into(),
                );
            }
            let logins = app.load_demo().await.map_err(describe)?;
            println!(
                "Demo data loaded; admin {} / {}",
                logins.admin_email, logins.password
            );
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    password,
                },
        } => {
            let user = app
                .create_user_as_system(UserIn {
                    name,
                    email,
                    role: Some(Role::Admin),
                    ticket_scope: None,
                    access: None,
                    password: Some(password),
                    organization_ids: Vec::new(),
                    default_organization_id: None,
                    group_ids: Vec::new(),
                })
                .await
                .map_err(describe)?;
            println!(
                "admin {} created (id {})",
                user.email.unwrap_or_default(),
                user.id
            );
        }
        Command::Token {
            command: TokenCommand::Create { email, name },
        } => {
            let user = {
                let mut c = app.store().read().await.map_err(|e| e.to_string())?;
                ferrodesk_store::directory::find_user_by_email(&mut c, &email)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|(u, _)| u)
                    .ok_or_else(|| format!("no user with email {email}"))?
            };
            if user.suspended {
                return Err(format!("{email} is suspended"));
            }
            let token = app
                .issue_token(user.id, &name, Actor::system(Channel::Cli))
                .await
                .map_err(describe)?;
            println!("{}", token.token);
        }
        Command::Backup { to } => {
            app.backup_to(&to).await.map_err(describe)?;
            println!("backup written to {}", to.display());
        }
        Command::Export { to, files } => {
            let app = app.with_config(files.config(Config::default())?);
            let m = app.export_to(&to).await.map_err(describe)?;
            let rows: u64 = m.tables.values().sum();
            println!(
                "exported {rows} rows of {} tables and {} attachment files to {}",
                m.tables.len(),
                m.files,
                to.display()
            );
        }
        Command::Import {
            source:
                ImportSource::Zendesk {
                    url,
                    email,
                    token,
                    limit,
                    no_initial_load,
                },
        } => {
            let app = with_initial_load(app, !no_initial_load);
            let account = ferrodesk_app::import_zendesk::ZendeskAccount { url, email, token };
            let progress = |line: &str| eprintln!("{line}");
            let report = app
                .import_zendesk(&account, limit, &progress)
                .await
                .map_err(describe)?;
            print_import_report(&report);
        }
        Command::Import {
            source:
                ImportSource::Freshdesk {
                    url,
                    api_key,
                    status_groups,
                    limit,
                    no_initial_load,
                },
        } => {
            let app = with_initial_load(app, !no_initial_load);
            use ferrodesk_app::import_freshdesk::{FreshdeskAccount, StatusGroupsFile};
            let file = match &status_groups {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("--status-groups {}: {e}", path.display()))?;
                    Some(
                        StatusGroupsFile::parse(&text)
                            .map_err(|e| format!("--status-groups {}: {e}", path.display()))?,
                    )
                }
                None => None,
            };
            let account = FreshdeskAccount { url, api_key };
            let progress = |line: &str| eprintln!("{line}");
            let report = app
                .import_freshdesk(&account, file.as_ref(), limit, &progress)
                .await
                .map_err(describe)?;
            print_import_report(&report);
        }
        Command::Import {
            source: ImportSource::Ferrodesk { from, files },
        } => {
            let app = app.with_config(files.config(Config::default())?);
            let m = app.import_ferrodesk(&from).await.map_err(describe)?;
            let rows: u64 = m.tables.values().sum();
            println!(
                "imported {rows} rows exported from {} at {}",
                m.exported_from, m.exported_at
            );
        }
        Command::Audit {
            command: AuditCommand::Head,
        } => {
            let (seq, hash) = app.audit_head().await.map_err(describe)?;
            println!("{seq} {hash}");
        }
        Command::Audit {
            command: AuditCommand::Verify { against },
        } => match app
            .verify_audit(&read_anchors(against.as_deref())?)
            .await
            .map_err(describe)?
        {
            Ok(n) => println!("audit chain intact: {n} events verified"),
            Err(b) => {
                eprintln!(
                    "audit chain BROKEN at event {}: {}",
                    b.seq.map_or("(head)".to_owned(), |s| s.to_string()),
                    b.problem
                );
                return Ok(ExitCode::from(1));
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
