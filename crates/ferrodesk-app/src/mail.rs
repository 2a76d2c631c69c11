//! Outbound email (SPEC §8 "Email"): the delivery worker drains the outbox — the `mail` jobs
//! the ticket write pipeline queues for public replies and new tickets, the `notify` jobs of
//! shared-ownership removals and rule actions — renders each message and sends it over SMTP.
//!
//! - **Claims**: jobs are claimed with a lease (`store::jobs::claim`); a worker killed with
//!   claimed jobs loses none (the lease ends, another claim takes them). Such a job may be
//!   delivered once more; its messages carry the same `Message-ID` so receivers can drop it.
//! - **Failures**: a temporary failure (an SMTP 4xx answer, a server that cannot be reached)
//!   is retried with exponential backoff (30 s, 1 min, 2 min, … at most 1 h) until the job is
//!   older than `give_up_after`, then marked failed with the last SMTP answer; a permanent one
//!   (5xx) fails at once.
//! - **Messages**: a public reply (to the requester and CCs but its author), the
//!   acknowledgement of a new ticket and the notice that it is solved (to its requester, a
//!   customer), the notice to an internal agent who lost a ticket, rule `notify` actions.
//! - **Recipients** are checked when the message is sent, not when it was queued: never a
//!   suspended or deleted user, never someone the access policy no longer lets see the ticket,
//!   never a private note to anyone (only public replies are queued), never the author of the
//!   comment.

use std::time::Duration;

use ferrodesk_core::mail_text::REPLY_MARKER;
use ferrodesk_core::policy;
use ferrodesk_core::{Role, TicketId, UserId};
use ferrodesk_store::directory::{self as dir, User};
use ferrodesk_store::jobs::{self, Job};
use ferrodesk_store::tickets::{self as store, Ticket};
use ferrodesk_store::{Conn, StoreError};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::{App, AppError, Result};

/// Job kinds the worker delivers.
const KINDS: &[&str] = &["mail", "notify"];
/// Jobs claimed at once.
const BATCH: i64 = 20;

/// Where and how mail goes out.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS), `smtps://host:port`
    /// (implicit TLS); user and password in the URL for AUTH.
    pub smtp_url: String,
    /// The sender, e.g. `Acme Support <support@acme.example>`.
    pub from: String,
    /// Give a job up after this many seconds of temporary failures.
    pub give_up_after_secs: i64,
    /// Seconds before the first retry; each next one waits twice as long (at most an hour).
    pub first_retry_secs: i64,
    /// Seconds a claim lasts: after it, a job whose worker died is claimed again. Longer than
    /// a delivery can take (each SMTP command times out after 30 s).
    pub lease_secs: i64,
}

/// A message about to be sent: who it is for and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Recipient name and address.
    pub to: (String, String),
    /// Subject, with the ticket tag `[#123]`.
    pub subject: String,
    /// The text part (the HTML part is this text, escaped).
    pub text: String,
    /// The ticket it is about (its thread).
    pub ticket: TicketId,
    /// Written by Ferrodesk itself (`Auto-Submitted: auto-generated`), not by a person.
    pub automatic: bool,
    /// Where an answer goes: the ticket's signed reply address, for messages people answer.
    pub reply_to: Option<String>,
    /// Files sent along (a public reply's): name, content type, where their bytes are.
    pub files: Vec<(String, String, String)>,
}

/// The most bytes of files sent along with one message; a reply with more names its files
/// and links to the ticket instead.
const MAIL_FILES_MAX: i64 = 10 * 1024 * 1024;

/// The SMTP side of the worker.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
    give_up_after: i64,
    first_retry: i64,
    lease: i64,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// What went wrong sending one message.
enum SendError {
    /// Worth trying again later.
    Temporary(String),
    /// Will not work however often it is tried.
    Permanent(String),
}

impl Mailer {
    /// A mailer for `config` (checks the URL and the sender; connects only when sending).
    pub fn new(config: &MailConfig) -> Result<Mailer> {
        let bad = |field: &str, e: String| AppError::invalid(field, "invalid_value", e);
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .map_err(|e| bad("smtp_url", format!("the SMTP URL is not usable: {e}")))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| bad("from", format!("the sender address is not usable: {e}")))?;
        let domain = from.email.domain().to_owned();
        Ok(Mailer {
            transport,
            from,
            domain,
            give_up_after: config.give_up_after_secs.max(1) * 1_000_000,
            first_retry: config.first_retry_secs.max(1) * 1_000_000,
            lease: config.lease_secs.max(1) * 1_000_000,
        })
    }

    /// The message `n` of job `job`: its Message-ID is the same at every attempt.
    fn message(
        &self,
        job: i64,
        n: usize,
        m: &Outgoing,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> std::result::Result<Message, String> {
        let to: Mailbox = format!("{} <{}>", quote_name(&m.to.0), m.to.1)
            .parse()
            .map_err(|e| format!("recipient {}: {e}", m.to.1))?;
        let root = format!("<ticket-{}@{}>", m.ticket, self.domain);
        // The history below the marker is cut from an answer (`mail_text::strip_quoted`).
        let text = match &m.reply_to {
            Some(_) => format!("{REPLY_MARKER}\n\n{}", m.text),
            None => m.text.clone(),
        };
        let html = ferrodesk_core::mail_text::to_html(&text);
        let mut msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(format!("<ferrodesk-{job}-{n}@{}>", self.domain)))
            .in_reply_to(root.clone())
            .references(root)
            .multipart(if files.is_empty() {
                MultiPart::alternative_plain_html(text, html)
            } else {
                let mut mixed =
                    MultiPart::mixed().multipart(MultiPart::alternative_plain_html(text, html));
                for (name, content_type, bytes) in files {
                    let ct = lettre::message::header::ContentType::parse(&content_type)
                        .or_else(|_| {
                            lettre::message::header::ContentType::parse("application/octet-stream")
                        })
                        .map_err(|e| e.to_string())?;
                    mixed =
                        mixed.singlepart(lettre::message::Attachment::new(name).body(bytes, ct));
                }
                mixed
            })
            .map_err(|e| format!("building the message: {e}"))?;
        let mut raw_header = |name: &str, value: String| -> std::result::Result<(), String> {
            let name = HeaderName::new_from_ascii(name.to_owned()).map_err(|e| format!("{e}"))?;
            msg.headers_mut().insert_raw(HeaderValue::new(name, value));
            Ok(())
        };
        if m.automatic {
            raw_header("Auto-Submitted", "auto-generated".into())?;
        }
        // A message of ours that comes back (an autoresponder answering an autoresponder)
        // is recognised and never answered.
        raw_header("X-Loop", self.from.email.to_string())?;
        if let Some(r) = &m.reply_to {
            let reply: Mailbox = format!(
                "{} <{r}>",
                quote_name(self.from.name.as_deref().unwrap_or_default())
            )
            .parse()
            .map_err(|e| format!("reply address {r}: {e}"))?;
            msg.headers_mut()
                .set(lettre::message::header::ReplyTo::from(
                    lettre::message::Mailboxes::from(reply),
                ));
        }
        Ok(msg)
    }

    async fn send(&self, msg: Message) -> std::result::Result<(), SendError> {
        match self.transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Temporary(e.to_string())),
        }
    }
}

/// A display name as an RFC 5322 quoted string.
fn quote_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!("\"{clean}\"")
}

/// Why an internal agent lost a ticket, in words.
pub fn removal_reason(reason: &str, rule_name: Option<&str>) -> String {
    match reason {
        "status_changed" => "its status changed to one your group is not mapped to".into(),
        "group_unmapped" => "its status no longer maps to your group".into(),
        "status_deleted" => "its status was deleted".into(),
        "group_deleted" => "the internal group was deleted".into(),
        "agent_left_group" => "you left the internal group".into(),
        "agent_deleted" => "your account was deleted".into(),
        "sharing_change" => "the sharing workflow resolved it".into(),
        r if r.starts_with("rule:") => match rule_name {
            Some(n) => format!("the rule “{n}” changed it"),
            None => "an automation rule changed it".into(),
        },
        _ => "someone changed its owners".into(),
    }
}

fn ticket_link(base: &str, t: TicketId, staff: bool) -> String {
    let base = base.trim_end_matches('/');
    if staff {
        format!("{base}/agent/tickets/{t}")
    } else {
        format!("{base}/portal/requests/{t}")
    }
}

impl App {
    /// Whether `u` may get mail about `t` now: an active user with an address, whom the
    /// access policy lets see the ticket.
    async fn may_receive(&self, c: &mut Conn, u: &User, t: &Ticket) -> Result<bool> {
        if u.suspended || u.email.is_empty() || u.id.0 == 0 {
            return Ok(false);
        }
        let viewer = dir::viewer_of(c, u).await?;
        Ok(policy::decide(&viewer, &t.facts()).can_view())
    }

    /// The messages of one job, as they should go out now (none when nobody should get one),
    /// worded by the admins' templates (`mail_templates`).
    pub async fn render_job(&self, c: &mut Conn, job: &Job) -> Result<Vec<Outgoing>> {
        let p: Value = serde_json::from_str(&job.payload)
            .map_err(|e| AppError::Internal(format!("job {} is corrupt: {e}", job.id)))?;
        let stored = ferrodesk_store::settings::all(c).await?;
        let template = p["template"].as_str().unwrap_or_default();
        if template == "refusal_notice" {
            return self.render_refusal(c, &stored, &p).await;
        }
        let Some(ticket_id) = p["ticket_id"].as_i64().map(TicketId) else {
            return Ok(Vec::new());
        };
        let Some(t) = store::get_ticket(c, ticket_id).await? else {
            return Ok(Vec::new());
        };
        let base = crate::settings::from_stored(&stored).public_base_url;
        let secret = crate::inbound::reply_secret(&stored)?;
        let reply = Some(crate::inbound::reply_address(
            &secret,
            &self.config().mail_reply_to,
            t.id,
        ));
        let user = |v: &Value| v.as_i64().map(UserId);
        // One message to `to`, in `template` with `vars` (and the ticket's number and subject).
        let message = |to: (String, String),
                       template: &str,
                       mut vars: Vec<(&'static str, String)>,
                       automatic: bool,
                       reply_to: Option<String>|
         -> Result<Outgoing> {
            vars.push(("recipient_name", to.0.clone()));
            vars.push(("ticket_id", t.id.to_string()));
            if !vars.iter().any(|(k, _)| *k == "ticket_subject") {
                vars.push(("ticket_subject", t.subject.clone()));
            }
            let (subject, text) = crate::mail_templates::render(&stored, template, &vars)?;
            Ok(Outgoing {
                to,
                subject,
                text,
                ticket: t.id,
                automatic,
                reply_to,
                files: Vec::new(),
            })
        };
        let mut out = Vec::new();
        match template {
            "public_reply" | "ticket_created" => {
                let (Some(to), Some(comment)) = (user(&p["user_id"]), p["comment_id"].as_i64())
                else {
                    return Ok(out);
                };
                let Some(u) = dir::get_user(c, to).await? else {
                    return Ok(out);
                };
                let Some(m) = store::get_comment(c, ferrodesk_core::CommentId(comment)).await?
                else {
                    return Ok(out);
                };
                let staff = u.role != Role::EndUser;
                // Replies go to everyone but their author; the acknowledgement of a new
                // ticket to its requester when they are a customer.
                let skip = if template == "public_reply" {
                    m.author_id == u.id
                } else {
                    staff
                };
                if !m.public || skip || !self.may_receive(c, &u, &t).await? {
                    return Ok(out);
                }
                let author = dir::user_names(c, &[m.author_id.0]).await?;
                let author = author
                    .first()
                    .map_or("Someone".to_owned(), |(_, n)| n.clone());
                let vars = vec![
                    ("author_name", author),
                    ("body", m.body),
                    ("link", ticket_link(&base, t.id, staff)),
                ];
                let automatic = template == "ticket_created";
                let mut mail = message((u.name, u.email), template, vars, automatic, reply)?;
                let files: Vec<_> = ferrodesk_store::attachments::of_comments(c, &[comment])
                    .await?
                    .into_iter()
                    .filter(|f| f.redacted_at.is_none())
                    .collect();
                if files.iter().map(|f| f.size).sum::<i64>() <= MAIL_FILES_MAX {
                    mail.files = files
                        .into_iter()
                        .map(|f| (f.file_name, f.content_type, f.sha256))
                        .collect();
                } else {
                    mail.text
                        .push_str("\nThe files of this message are on the ticket:\n");
                    for f in files {
                        mail.text.push_str(&format!(
                            "- {} ({} KB)\n",
                            f.file_name,
                            (f.size + 1023) / 1024
                        ));
                    }
                }
                out.push(mail);
            }
            "ticket_solved" => {
                let Some(u) = dir::get_user(c, user(&p["user_id"]).unwrap_or(UserId(0))).await?
                else {
                    return Ok(out);
                };
                if u.role != Role::EndUser || !self.may_receive(c, &u, &t).await? {
                    return Ok(out);
                }
                let statuses = dir::list_statuses(c).await?;
                let label = statuses
                    .iter()
                    .find(|s| s.id == t.status_id)
                    .map_or("resolved".to_owned(), |s| s.customer_label.to_lowercase());
                let vars = vec![
                    ("status_label", label),
                    ("link", ticket_link(&base, t.id, false)),
                ];
                out.push(message((u.name, u.email), template, vars, true, reply)?);
            }
            "internal_owner_removed" => {
                let Some(u) = dir::get_user(c, user(&p["user_id"]).unwrap_or(UserId(0))).await?
                else {
                    return Ok(out);
                };
                if u.suspended || u.role == Role::EndUser || u.email.is_empty() {
                    return Ok(out);
                }
                let reason = p["reason"].as_str().unwrap_or_default();
                let rule_name = match reason.strip_prefix("rule:").map(str::parse::<i64>) {
                    Some(Ok(id)) => ferrodesk_store::rules::get(c, id).await?.map(|r| r.name),
                    _ => None,
                };
                // The subject only while they may still see the ticket.
                let visible = self.may_receive(c, &u, &t).await?;
                let vars = vec![
                    (
                        "ticket_subject",
                        if visible {
                            t.subject.clone()
                        } else {
                            String::new()
                        },
                    ),
                    ("reason", removal_reason(reason, rule_name.as_deref())),
                    ("link", ticket_link(&base, t.id, true)),
                ];
                out.push(message((u.name, u.email), template, vars, true, reply)?);
            }
            "rule_notification" => {
                let rule = match p["rule_id"].as_i64() {
                    Some(id) => ferrodesk_store::rules::get(c, id).await?.map(|r| r.name),
                    None => None,
                }
                .unwrap_or_else(|| "an automation rule".into());
                let n = &p["notify"];
                let mut users = Vec::new();
                match n["to"].as_str().unwrap_or_default() {
                    "requester" => users.push(t.requester_id),
                    "assignee" => users.extend(t.assignee_id),
                    "internal_agent" => users.extend(t.internal_agent_id),
                    "group" => {
                        if let Some(g) = t.group_id
                            && let Some(g) = dir::get_group(c, g).await?
                        {
                            users.extend(g.agent_ids);
                        }
                    }
                    "address" => {
                        if let Some(a) = n["address"].as_str() {
                            // An outside address: no link, no reply address.
                            let vars = vec![("rule_name", rule.clone()), ("link", String::new())];
                            out.push(message(
                                (String::new(), a.to_owned()),
                                template,
                                vars,
                                true,
                                None,
                            )?);
                        }
                    }
                    _ => {}
                }
                for id in users {
                    let Some(u) = dir::get_user(c, id).await? else {
                        continue;
                    };
                    if !self.may_receive(c, &u, &t).await? {
                        continue;
                    }
                    let vars = vec![
                        ("rule_name", rule.clone()),
                        ("link", ticket_link(&base, t.id, u.role != Role::EndUser)),
                    ];
                    out.push(message(
                        (u.name, u.email),
                        template,
                        vars,
                        true,
                        reply.clone(),
                    )?);
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// The notice to a sender whose message was not taken in (never to a suspended user;
    /// the ticket named only by number: the sender may not see it).
    async fn render_refusal(
        &self,
        c: &mut Conn,
        stored: &[(String, String)],
        p: &Value,
    ) -> Result<Vec<Outgoing>> {
        let address = p["to_address"].as_str().unwrap_or_default();
        if address.is_empty() {
            return Ok(Vec::new());
        }
        if let Some((u, _)) = dir::find_user_by_email(c, address).await?
            && u.suspended
        {
            return Ok(Vec::new());
        }
        let name = p["to_name"].as_str().unwrap_or_default().to_owned();
        let ticket = p["ticket_id"].as_i64();
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        let vars = vec![
            ("recipient_name", name.clone()),
            (
                "ticket_id",
                ticket.map(|t| t.to_string()).unwrap_or_default(),
            ),
            ("subject", text("subject")),
            ("reason", text("reason")),
        ];
        let (subject, body) = crate::mail_templates::render(stored, "refusal_notice", &vars)?;
        Ok(vec![Outgoing {
            to: (name, address.to_owned()),
            subject,
            text: body,
            ticket: TicketId(ticket.unwrap_or(0)),
            automatic: true,
            reply_to: None,
            files: Vec::new(),
        }])
    }

    /// One round of delivery: claims due jobs, sends their messages, and marks each job
    /// done, due again later, or failed. Returns how many jobs it handled.
    pub async fn deliver_due(&self, mailer: &Mailer) -> Result<usize> {
        let now = self.now();
        let claimed = {
            let mut tx = self.store().begin_unscoped().await?;
            let claimed = jobs::claim(&mut tx, KINDS, now, mailer.lease, BATCH).await?;
            tx.commit().await.map_err(StoreError::from)?;
            claimed
        };
        // The claimed jobs are sent side by side: each message waits on the SMTP server's
        // answers (and on TCP acknowledgements), not on this process's CPU.
        let mut sending = tokio::task::JoinSet::new();
        let count = claimed.len();
        for job in claimed {
            let (app, mailer) = (self.clone(), mailer.clone());
            sending.spawn(async move {
                let outcome = app.deliver(&mailer, &job).await;
                app.settle(&mailer, &job, outcome).await
            });
        }
        while let Some(done) = sending.join_next().await {
            done.map_err(|e| AppError::Internal(format!("a mail task failed: {e}")))??;
        }
        Ok(count)
    }

    /// Marks a sent job done, due again later, or failed — while the claim is still its own.
    async fn settle(
        &self,
        mailer: &Mailer,
        job: &Job,
        outcome: std::result::Result<(), SendError>,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin_unscoped().await?;
        let outcome = match &outcome {
            Ok(()) => jobs::Outcome::Done,
            Err(SendError::Temporary(e)) if now - job.created_at < mailer.give_up_after => {
                let wait = mailer.first_retry << (job.attempts - 1).clamp(0, 12);
                jobs::Outcome::Retry {
                    run_at: now + wait.min(3_600_000_000),
                    error: e,
                }
            }
            Err(SendError::Temporary(e) | SendError::Permanent(e)) => {
                tracing::warn!(job = job.id, error = %e, "mail delivery failed; giving up");
                jobs::Outcome::Failed { error: e }
            }
        };
        let kept = jobs::settle(&mut tx, job, now, outcome).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if !kept {
            tracing::warn!(
                job = job.id,
                "the claim on a mail job ran out before it was sent"
            );
        }
        Ok(())
    }

    async fn deliver(&self, mailer: &Mailer, job: &Job) -> std::result::Result<(), SendError> {
        let messages = {
            let mut c = self
                .store()
                .read()
                .await
                .map_err(|e| SendError::Temporary(e.to_string()))?;
            // The database may be busy or away for a moment: tried again, until the job is
            // given up.
            self.render_job(&mut c, job)
                .await
                .map_err(|e| SendError::Temporary(e.to_string()))?
        };
        for (n, m) in messages.iter().enumerate() {
            let mut files = Vec::new();
            for (name, content_type, sha) in &m.files {
                // A file whose bytes are gone (redacted meanwhile) is left out.
                let Some(mut f) = self
                    .blobs()
                    .open(sha)
                    .await
                    .map_err(|e| SendError::Temporary(e.to_string()))?
                else {
                    continue;
                };
                let bytes = f
                    .read_to_end()
                    .await
                    .map_err(|e| SendError::Temporary(e.to_string()))?;
                files.push((name.clone(), content_type.clone(), bytes));
            }
            let msg = mailer
                .message(job.id, n, m, files)
                .map_err(SendError::Permanent)?;
            mailer.send(msg).await?;
        }
        Ok(())
    }

    /// Deletes delivered messages and suppressed inbound mail older than `keep_days`, in
    /// batches of a thousand (each its own short write); how many of each went. Failed
    /// messages stay for admins, and so does every message that became a ticket or comment.
    pub async fn purge_old_mail(&self, keep_days: i64) -> Result<(u64, u64)> {
        let before = self.now() - keep_days.max(1) * 86_400_000_000;
        let (mut jobs_gone, mut inbound_gone) = (0, 0);
        loop {
            let mut tx = self.store().begin_unscoped().await?;
            let j = jobs::purge_done(&mut tx, before, 1000).await?;
            let i = ferrodesk_store::inbound::purge_suppressed(&mut tx, before, 1000).await?;
            tx.commit().await.map_err(StoreError::from)?;
            jobs_gone += j;
            inbound_gone += i;
            if j < 1000 && i < 1000 {
                return Ok((jobs_gone, inbound_gone));
            }
        }
    }

    /// Delivers the outbox until the process ends: a round, then a pause of a second when
    /// there was nothing to do (or an error, logged); once an hour, old delivered messages
    /// and suppressed inbound mail are deleted (`FERRODESK_MAIL_KEEP_DAYS`).
    pub async fn run_mail_worker(&self, mailer: Mailer) {
        let mut purged_at: Option<std::time::Instant> = None;
        loop {
            if purged_at.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                purged_at = Some(std::time::Instant::now());
                match self.purge_old_mail(self.config().mail_keep_days).await {
                    Ok((0, 0)) => {}
                    Ok((j, i)) => tracing::info!(delivered = j, suppressed = i, "old mail deleted"),
                    Err(e) => tracing::warn!(error = %e, "deleting old mail failed"),
                }
            }
            match self.deliver_due(&mailer).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail delivery round failed"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// A job's message, in words.
fn message_label(kind: &str, template: &str) -> &'static str {
    match (kind, template) {
        (_, "public_reply") => "Public reply",
        (_, "ticket_created") => "New ticket acknowledgement",
        (_, "internal_owner_removed") => "Internal owner removed",
        (_, "rule_notification") => "Rule notice",
        (_, "ticket_solved") => "Ticket solved",
        _ => "Other",
    }
}

impl App {
    /// The outbox (admins): messages pending, failed or done, newest first.
    pub async fn list_outbox(
        &self,
        p: &crate::Principal,
        state: crate::dto::OutboxState,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<crate::dto::Page<crate::dto::OutboxJobOut>> {
        use crate::dto::{OutboxJobOut, OutboxState, rfc3339};
        p.require_admin()?;
        let limit = crate::directory::page_size(limit)?;
        let before = crate::directory::cursor(cursor_text)?;
        let (store_state, label) = match state {
            OutboxState::Pending => (jobs::JobState::Pending, "pending"),
            OutboxState::Failed => (jobs::JobState::Failed, "failed"),
            OutboxState::Done => (jobs::JobState::Done, "done"),
        };
        let mut c = self.store().read().await?;
        let rows: Vec<(jobs::StoredJob, Value)> =
            jobs::list(&mut c, store_state, before, limit + 1)
                .await?
                .into_iter()
                .map(|j| {
                    let payload = serde_json::from_str(&j.payload).unwrap_or(Value::Null);
                    (j, payload)
                })
                .collect();
        let mut users: Vec<i64> = rows
            .iter()
            .filter_map(|(_, p)| p["user_id"].as_i64())
            .collect();
        users.sort();
        users.dedup();
        let names = dir::user_names(&mut c, &users).await?;
        Ok(crate::directory::page(
            rows,
            limit,
            |(j, _)| j.id,
            |(j, p)| {
                let recipient = match p["user_id"].as_i64() {
                    Some(u) => names
                        .iter()
                        .find(|(id, _)| *id == u)
                        .map(|(_, n)| n.clone()),
                    None => match p["notify"]["to"].as_str() {
                        Some("address") => p["notify"]["address"].as_str().map(str::to_owned),
                        Some("requester") => Some("the requester".into()),
                        Some("assignee") => Some("the assignee".into()),
                        Some("internal_agent") => Some("the internal agent".into()),
                        Some("group") => Some("the ticket's group".into()),
                        _ => None,
                    },
                };
                OutboxJobOut {
                    id: j.id,
                    message: message_label(&j.kind, p["template"].as_str().unwrap_or_default())
                        .to_owned(),
                    ticket_id: p["ticket_id"].as_i64(),
                    recipient,
                    state: label.to_owned(),
                    attempts: j.attempts,
                    next_attempt_at: (store_state == jobs::JobState::Pending)
                        .then(|| rfc3339(j.run_at)),
                    last_error: j.last_error,
                    created_at: rfc3339(j.created_at),
                }
            },
        ))
    }

    /// Sends a failed message again (admins): due now, audited.
    pub async fn retry_outbox(&self, p: &crate::Principal, id: i64) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        match jobs::state_of(&mut tx, id).await? {
            None => return Err(AppError::NotFound("message")),
            Some(jobs::JobState::Failed) => {
                jobs::requeue(&mut tx, id, self.now()).await?;
            }
            Some(_) => {
                return Err(AppError::Conflict {
                    code: "not_failed",
                    message: "only a failed message can be sent again".into(),
                });
            }
        }
        self.audit(
            &mut tx,
            crate::Actor::from(p),
            ("job", id),
            "retried",
            Vec::new(),
            None,
        )
        .await?;
        crate::directory::commit(tx).await
    }
}
