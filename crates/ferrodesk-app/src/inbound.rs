//! Inbound email (SPEC §8 "Email"): a raw message from the MTA becomes a new ticket, a
//! comment on its ticket, or a recorded message that was not taken in — always under the same
//! access policy and write pipeline as the API.
//!
//! In order, a message is:
//! 1. **checked**: not empty, not larger than the limit, parseable with a From address
//!    (otherwise *rejected*: the raw message is kept for an admin, the MTA is told);
//! 2. **deduplicated**: a Message-ID taken in before answers what became of it, and nothing
//!    is written (an MTA that retries after a timeout adds nothing twice);
//! 3. **screened for noise** (*suppressed*, never answered): auto-replies (`Auto-Submitted`
//!    other than `no`, `X-Auto-Response-Suppress`), `Precedence: bulk|list|junk`, `X-Loop`
//!    naming us, our own Message-IDs, bounces (which mark the bounced delivery failed), and a
//!    sender over the per-minute limit;
//! 4. **attributed**: the sender by address (case-insensitive); an unknown one becomes a new
//!    end user (organizations by domain, SPEC §2) or is refused, as the settings say; a
//!    suspended one is refused;
//! 5. **threaded**: by the signed reply address (`support+123-<signature>@…`; a bad
//!    signature is refused), then the subject tag `[#123]`, then `In-Reply-To`/`References`
//!    against the Message-IDs of the ticket's mail. A key only counts when the sender may see
//!    that ticket: a ticket they may not see does not exist for them, and the message opens a
//!    new one;
//! 6. **written**: the text above the quoted history (the original stays downloadable) as a
//!    comment through the pipeline — the policy refuses a read-only member's reply, who gets
//!    one notice an hour per ticket — or as a new ticket whose Cc addresses become CCs.
//!
//! The message's record and everything it causes are written in one transaction.

use base64::Engine as _;
use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::mail_text::strip_quoted;
use ferrodesk_core::validate::same_secret;
use ferrodesk_core::{Channel, Role, TicketId, UserId};
use ferrodesk_store::directory as dir;
use ferrodesk_store::inbound::{self as store, NewInbound, Outcome};
use ferrodesk_store::jobs;
use ferrodesk_store::{Conn, StoreError, settings};
use hmac::{Hmac, KeyInit, Mac};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};
use serde_json::json;
use sha2::Sha256;

use crate::dto::{CommentIn, InboundOut, TicketIn, UserIn};
use crate::{Actor, App, AppError, Principal, Result};

/// Hex digits of a reply address's signature (64 bits).
const SIGNATURE_LEN: usize = 16;

/// The signature of ticket `t`'s reply address under `secret`.
fn signature(secret: &str, t: TicketId) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(format!("ferrodesk reply to ticket {t}").as_bytes());
    let mut sig = hex::encode(mac.finalize().into_bytes());
    sig.truncate(SIGNATURE_LEN);
    sig
}

/// The reply address of ticket `t` for mail sent from `from` (`support@x` →
/// `support+12-<signature>@x`).
pub fn reply_address(secret: &str, from: &str, t: TicketId) -> String {
    let (local, domain) = from.rsplit_once('@').unwrap_or((from, "localhost"));
    let local = local.split('+').next().unwrap_or(local);
    format!("{local}+{t}-{}@{domain}", signature(secret, t))
}

/// The key that signs reply addresses, among the stored settings (written by the migration
/// that introduced them).
pub(crate) fn reply_secret(stored: &[(String, String)]) -> Result<String> {
    stored
        .iter()
        .find(|(k, _)| k == "mail_reply_secret")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| AppError::Internal("the reply address key is missing".into()))
}

/// What a recipient address says about the ticket it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A reply address we signed.
    Signed(TicketId),
    /// A reply address whose signature is not ours.
    Forged,
}

/// The ticket token of a plus-address (`local+123-<16 hex>@…`), checked against `secret`.
fn token_of(secret: &str, address: &str) -> Option<Token> {
    let local = address.rsplit_once('@')?.0;
    let tag = local.rsplit_once('+')?.1;
    let (id, sig) = tag.split_once('-')?;
    let id: i64 = id.parse().ok().filter(|n| *n > 0)?;
    if sig.len() != SIGNATURE_LEN || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let expected = signature(secret, TicketId(id));
    Some(if same_secret(&expected, &sig.to_ascii_lowercase()) {
        Token::Signed(TicketId(id))
    } else {
        Token::Forged
    })
}

/// The ticket number of a subject tag `[#123]`.
fn subject_tag(subject: &str) -> Option<TicketId> {
    let mut rest = subject;
    while let Some(i) = rest.find("[#") {
        rest = &rest[i + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with(']') {
            return digits.parse().ok().map(TicketId);
        }
    }
    None
}

/// A Message-ID as stored: lower case, without angle brackets.
fn normal_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

/// What our own Message-IDs say: `ferrodesk-<job>-<n>@…` (a message we sent) or
/// `ticket-<id>@…` (a ticket's thread root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnId {
    Job(i64),
    Ticket(TicketId),
}

fn own_id(id: &str) -> Option<OwnId> {
    let local = id.split_once('@')?.0;
    if let Some(rest) = local.strip_prefix("ferrodesk-") {
        let job = rest.split_once('-')?.0.parse().ok()?;
        return Some(OwnId::Job(job));
    }
    let t = local.strip_prefix("ticket-")?.parse().ok()?;
    Some(OwnId::Ticket(TicketId(t)))
}

/// All addresses of a header value.
fn addresses<'a>(v: Option<&'a Address<'a>>) -> Vec<(String, String)> {
    let Some(v) = v else {
        return Vec::new();
    };
    v.iter()
        .filter_map(|a| {
            let email = a.address()?.trim().to_lowercase();
            email
                .contains('@')
                .then(|| (a.name().unwrap_or_default().trim().to_owned(), email))
        })
        .collect()
}

/// The text of a header (first value), if present.
fn header_text<'a>(m: &'a Message<'a>, name: &str) -> Option<String> {
    match m.header(name)? {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => Some(l.join(", ")),
        _ => m.header_raw(name).map(|s| s.trim().to_owned()),
    }
}

/// Message-IDs of a header (`In-Reply-To`, `References`).
fn ids_of(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![normal_id(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| normal_id(t)).collect(),
        _ => Vec::new(),
    }
}

/// Why a message is automatic mail that must never be answered, if it is.
fn noise(m: &Message<'_>, our_address: &str) -> Option<String> {
    if let Some(v) = header_text(m, "Auto-Submitted")
        && !v.trim().eq_ignore_ascii_case("no")
    {
        return Some(format!(
            "an automatic message (Auto-Submitted: {})",
            v.trim()
        ));
    }
    if m.header("X-Auto-Response-Suppress").is_some() {
        return Some("an automatic message (X-Auto-Response-Suppress)".into());
    }
    if let Some(v) = header_text(m, "Precedence") {
        let v = v.trim().to_lowercase();
        if ["bulk", "list", "junk", "auto_reply"].contains(&v.as_str()) {
            return Some(format!("bulk or list mail (Precedence: {v})"));
        }
    }
    if m.header("List-Id").is_some() {
        return Some("mailing list mail (List-Id)".into());
    }
    if let Some(v) = header_text(m, "X-Loop") {
        let v = v.to_lowercase();
        if v.contains(our_address) || v.contains("ferrodesk") {
            return Some("a message of ours that came back (X-Loop)".into());
        }
    }
    if let Some(id) = m.message_id()
        && matches!(own_id(&normal_id(id)), Some(OwnId::Job(_)))
    {
        return Some("a message of ours that came back (its Message-ID)".into());
    }
    None
}

/// Local parts of the senders of delivery failure notices.
const BOUNCE_SENDERS: [&str; 3] = ["mailer-daemon", "postmaster", "mail-daemon"];

/// Whether a message is a delivery failure notice.
fn is_bounce(m: &Message<'_>, from: &str) -> bool {
    let local = from.split('@').next().unwrap_or_default();
    let report = m.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    report || BOUNCE_SENDERS.contains(&local)
}

/// The job whose message a bounce returns, and the reason it gives: the `Message-ID` of the
/// returned headers and the first `Diagnostic-Code` or `Status` line.
fn bounced_job(raw: &str) -> Option<(i64, String)> {
    let mut job = None;
    let mut reason = None;
    for line in raw.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("message-id:")
            && let Some(OwnId::Job(j)) = own_id(&normal_id(&line[11..]))
        {
            job = Some(j);
        }
        if reason.is_none() && lower.starts_with("diagnostic-code:") {
            reason = Some(line[16..].trim().to_owned());
        }
    }
    job.map(|j| {
        (
            j,
            reason.unwrap_or_else(|| "the receiving server returned it".into()),
        )
    })
}

/// The readable text of a message: its text parts (HTML converted to text), joined.
fn body_text(m: &Message<'_>) -> String {
    let mut parts = Vec::new();
    for i in 0..m.text_body_count() {
        if let Some(t) = m.body_text(i) {
            parts.push(t.trim_end().to_owned());
        }
    }
    parts.join("\n\n").replace("\r\n", "\n").replace('\0', "")
}

/// The parts of a message that matter here, read once.
struct Parsed {
    from: (String, String),
    subject: String,
    message_id: Option<String>,
    references: Vec<String>,
    recipients: Vec<String>,
    ccs: Vec<(String, String)>,
    text: String,
    noise: Option<String>,
    bounce: Option<Option<(i64, String)>>,
    /// Attached and inline files: name, content type, bytes.
    files: Vec<(String, String, Vec<u8>)>,
}

/// What the message could not be taken in for (rejected), or what it is.
fn parse(raw: &[u8], our_address: &str) -> std::result::Result<Parsed, String> {
    let m = MessageParser::default()
        .parse(raw)
        .ok_or("the message is not an email message (no headers could be read)")?;
    if m.headers().is_empty() {
        return Err("the message has no headers".into());
    }
    let from = addresses(m.from())
        .into_iter()
        .next()
        .ok_or("the message has no From address")?;
    let subject = m
        .subject()
        .unwrap_or_default()
        .replace(['\r', '\n', '\0'], " ")
        .trim()
        .to_owned();
    let message_id = m.message_id().map(normal_id).filter(|s| !s.is_empty());
    let mut references = ids_of(m.in_reply_to());
    for r in ids_of(m.references()).into_iter().rev() {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    let mut recipients: Vec<String> = Vec::new();
    for name in [
        "To",
        "Cc",
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
    ] {
        for v in m.header_values(name) {
            match v {
                HeaderValue::Address(a) => {
                    recipients.extend(addresses(Some(a)).into_iter().map(|(_, e)| e));
                }
                HeaderValue::Text(t) => recipients.push(normal_id(t)),
                _ => {}
            }
        }
    }
    let ccs = addresses(m.cc());
    let bounce = is_bounce(&m, &from.1).then(|| bounced_job(&String::from_utf8_lossy(raw)));
    let files =
        m.attachments()
            .filter(|part| !part.is_message())
            .map(|part| {
                let content_type = part.content_type().map_or(
                    "application/octet-stream".to_owned(),
                    |ct| match ct.subtype() {
                        Some(sub) => format!("{}/{sub}", ct.ctype()),
                        None => ct.ctype().to_owned(),
                    },
                );
                let name = part.attachment_name().unwrap_or("attachment").to_owned();
                (name, content_type, part.contents().to_vec())
            })
            .filter(|(_, _, bytes)| !bytes.is_empty())
            .collect();
    Ok(Parsed {
        files,
        noise: noise(&m, our_address),
        text: body_text(&m),
        from,
        subject,
        message_id,
        references,
        recipients,
        ccs,
        bounce,
    })
}

/// How a message ends, before its record is written.
struct Disposition {
    outcome: Outcome,
    reason: Option<String>,
    ticket: Option<TicketId>,
    comment: Option<i64>,
    user: Option<UserId>,
    /// A notice to send back to the sender: why their message was not taken in.
    notice: Option<String>,
}

impl Disposition {
    fn not_taken(outcome: Outcome, reason: impl Into<String>) -> Disposition {
        Disposition {
            outcome,
            reason: Some(reason.into()),
            ticket: None,
            comment: None,
            user: None,
            notice: None,
        }
    }
}

impl App {
    /// Takes in one raw message from the MTA (`token`: the one it presented, checked against
    /// the configured inbound token).
    pub async fn receive_mail(&self, token: Option<&str>, raw: &[u8]) -> Result<InboundOut> {
        let expected = self.config().mail_inbound_token.as_deref();
        let good = match (expected, token) {
            (Some(e), Some(t)) => same_secret(e, t),
            _ => false,
        };
        if expected.is_none() {
            return Err(AppError::forbidden(
                "inbound_mail_off",
                "inbound mail is off: set FERRODESK_MAIL_INBOUND_TOKEN on the server",
            ));
        }
        if !good {
            return Err(AppError::forbidden(
                "bad_inbound_token",
                "the inbound mail token is missing or wrong",
            ));
        }
        self.ingest_mail(raw).await
    }

    /// Takes in one raw message (the MTA's pipe on this machine, tests, benchmarks).
    pub async fn ingest_mail(&self, raw: &[u8]) -> Result<InboundOut> {
        let max = self.config().mail_max_bytes;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::invalid(
                "message",
                "empty",
                "the message is empty",
            ));
        }
        if raw.len() > max {
            return Err(AppError::invalid(
                "message",
                "too_large",
                format!(
                    "the message has {} bytes; at most {max} are taken in",
                    raw.len()
                ),
            ));
        }
        let our_address = self.config().mail_address.to_lowercase();
        let parsed = parse(raw, &our_address);
        let raw_base64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let now = self.now();
        let parsed = match parsed {
            Ok(p) => p,
            Err(why) => {
                // Kept for an admin to look at; the MTA is told the message is bad.
                let mut tx = self.store().begin().await?;
                let id = store::insert(
                    &mut tx,
                    &NewInbound {
                        message_id: None,
                        from_address: None,
                        subject: "",
                        size: raw.len() as i64,
                        raw_base64: &raw_base64,
                        outcome: Outcome::Rejected,
                        reason: Some(&why),
                        ticket_id: None,
                        comment_id: None,
                        user_id: None,
                        notice_sent: false,
                        received_at: now,
                    },
                )
                .await?;
                crate::directory::commit(tx).await?;
                return Err(AppError::invalid(
                    "message",
                    "malformed",
                    format!("{why} (kept as inbound message {id})"),
                ));
            }
        };
        let screened = {
            let mut c = self.store().read().await?;
            if let Some(mid) = &parsed.message_id
                && let Some(seen) = store::seen(&mut c, mid).await?
            {
                return Ok(inbound_out(&seen_outcome(&seen), seen.id, true));
            }
            self.screen(&mut c, &parsed, now).await?
        };
        let mut tx = self.store().begin().await?;
        // Taken in meanwhile by another delivery of the same message: nothing more.
        if let Some(mid) = &parsed.message_id
            && let Some(seen) = store::seen(&mut tx, mid).await?
        {
            return Ok(inbound_out(&seen_outcome(&seen), seen.id, true));
        }
        let mut written = Vec::new();
        let outcome = self
            .dispose(&mut tx, &parsed, screened, now, &mut written)
            .await;
        let d = match outcome {
            Ok(d) => d,
            // What the pipeline refused rolls back with this transaction; the refusal is
            // recorded in a new one, and files stored for it go unless something else
            // needs their bytes.
            Err(stop) => {
                drop(tx);
                self.forget_files(&written).await?;
                match stop {
                    Stop::Refused(d) => {
                        tx = self.store().begin().await?;
                        *d
                    }
                    Stop::Failed(e) => return Err(e),
                }
            }
        };
        let d = match d.notice {
            Some(_) => self.send_notice(&mut tx, &parsed, d, now).await?,
            None => d,
        };
        let id = store::insert(
            &mut tx,
            &NewInbound {
                message_id: parsed.message_id.as_deref(),
                from_address: Some(&parsed.from.1),
                subject: &parsed.subject,
                size: raw.len() as i64,
                raw_base64: &raw_base64,
                outcome: d.outcome,
                reason: d.reason.as_deref(),
                ticket_id: d.ticket.map(|t| t.0),
                comment_id: d.comment,
                user_id: d.user.map(|u| u.0),
                notice_sent: d.notice.is_some(),
                received_at: now,
            },
        )
        .await?;
        if d.outcome == Outcome::Refused {
            tracing::info!(inbound = id, from = %parsed.from.1, reason = ?d.reason, "inbound mail refused");
            let actor = match d.user {
                Some(u) => Actor::user(u, Channel::Email),
                None => Actor::system(Channel::Email),
            };
            let changes = vec![
                FieldChange::new("from", (), &parsed.from.1),
                FieldChange::new("reason", (), d.reason.as_deref().unwrap_or_default()),
            ];
            self.audit(
                &mut tx,
                actor,
                ("inbound_message", id),
                "refused",
                changes,
                None,
            )
            .await?;
        }
        crate::directory::commit(tx).await?;
        Ok(InboundOut {
            id,
            outcome: d.outcome.as_str().to_owned(),
            reason: d.reason,
            ticket_id: d.ticket.map(|t| t.0),
            comment_id: d.comment,
            duplicate: false,
        })
    }

    /// Queues the notice of a refusal unless one went to this sender about this ticket in the
    /// last hour (mail loops and floods get one answer, not one each).
    async fn send_notice(
        &self,
        tx: &mut Conn,
        parsed: &Parsed,
        mut d: Disposition,
        now: i64,
    ) -> Result<Disposition> {
        let hour_ago = now - 3_600_000_000;
        let ticket = d.ticket.map(|t| t.0);
        if store::notice_sent_since(tx, &parsed.from.1, ticket, hour_ago).await? {
            d.notice = None;
            return Ok(d);
        }
        let why = d.notice.clone().unwrap_or_default();
        jobs::enqueue_job(
            tx,
            "mail",
            &json!({
                "template": "refusal_notice",
                "to_name": parsed.from.0,
                "to_address": parsed.from.1,
                "ticket_id": ticket,
                "subject": parsed.subject,
                "reason": why,
            }),
            now,
        )
        .await?;
        Ok(d)
    }

    /// What can be decided about a message before the write transaction, from reads alone:
    /// the settings, the sender's rate, the sender and the ticket a known sender answers. The
    /// write transaction is serial: the less it reads, the more messages a second.
    async fn screen(&self, c: &mut Conn, m: &Parsed, now: i64) -> Result<Screened> {
        // Every setting in one read: the inbound ones and the reply address key.
        let stored = settings::all(c).await?;
        let settings = crate::settings::from_stored(&stored);
        let secret = reply_secret(&stored)?;
        let mut screened = Screened {
            settings,
            secret,
            sender: None,
            thread: None,
            decided: None,
        };
        if m.bounce.is_some() || m.noise.is_some() {
            return Ok(screened);
        }
        let minute_ago = now - 60_000_000;
        let limit = screened.settings.mail_sender_limit_per_minute;
        if store::count_from(c, &m.from.1, minute_ago).await? >= limit {
            screened.decided = Some(Disposition::not_taken(
                Outcome::Suppressed,
                format!("more than {limit} messages a minute from this sender"),
            ));
            return Ok(screened);
        }
        if m.from.1 == self.config().mail_address.to_lowercase() || m.from.1 == dir::SYSTEM_EMAIL {
            screened.decided = Some(Disposition::not_taken(
                Outcome::Suppressed,
                "a message from our own address",
            ));
            return Ok(screened);
        }
        let cache = self.store().cache();
        let Some(sender) = dir::signed_in(c, dir::Who::Email(&m.from.1), cache).await? else {
            if screened.settings.mail_unknown_senders != "create" {
                let mut d = Disposition::not_taken(
                    Outcome::Refused,
                    "the sender has no account and new senders are refused",
                );
                d.notice = Some(
                    "this help desk takes requests only from people who have an account".into(),
                );
                screened.decided = Some(d);
            }
            return Ok(screened);
        };
        let sender_id = sender.user.id;
        let Some(p) = crate::auth::principal_of(sender, Channel::Email) else {
            let mut d =
                Disposition::not_taken(Outcome::Refused, "the sender's account is suspended");
            d.user = Some(sender_id);
            screened.decided = Some(d);
            return Ok(screened);
        };
        let thread = self.thread(c, &p, m, &screened.secret).await?;
        screened.sender = Some(p);
        screened.thread = Some(thread);
        Ok(screened)
    }

    /// Decides what a screened message becomes and writes it (the record is the caller's).
    async fn dispose(
        &self,
        tx: &mut Conn,
        m: &Parsed,
        screened: Screened,
        now: i64,
        written: &mut Vec<String>,
    ) -> std::result::Result<Disposition, Stop> {
        if let Some(bounce) = &m.bounce {
            let mut reason = "a delivery failure notice (bounce)".to_owned();
            if let Some((job, why)) = bounce
                && jobs::bounced(tx, *job, now, &format!("bounced: {why}")).await?
            {
                reason = format!("a delivery failure notice for outgoing message {job}: {why}");
            }
            return Ok(Disposition::not_taken(Outcome::Suppressed, reason));
        }
        if let Some(why) = &m.noise {
            return Ok(Disposition::not_taken(Outcome::Suppressed, why.clone()));
        }
        let Screened {
            settings,
            secret,
            sender,
            thread,
            decided,
        } = screened;
        if let Some(d) = decided {
            return Ok(d);
        }
        // A sender without an account is created now, in the write (it may open a ticket).
        let (p, thread) = match (sender, thread) {
            (Some(p), Some(thread)) => (p, thread),
            _ => {
                let created = self.user_for_address(tx, &m.from, &settings).await?;
                let Some(p) = created.and_then(|s| crate::auth::principal_of(s, Channel::Email))
                else {
                    let mut d = Disposition::not_taken(
                        Outcome::Refused,
                        "the sender has no account and could not be given one",
                    );
                    d.notice = Some("this help desk could not take your request".into());
                    return Ok(d);
                };
                let thread = self.thread(tx, &p, m, &secret).await?;
                (p, thread)
            }
        };
        let ticket = match thread {
            Thread::Forged => {
                let mut d = Disposition::not_taken(
                    Outcome::Refused,
                    "the reply address's signature is not one Ferrodesk gave out",
                );
                d.user = Some(p.user.id);
                return Ok(d);
            }
            Thread::Ticket(t) => Some(t),
            Thread::New => None,
        };
        let mut text = strip_quoted(&m.text);
        let (tokens, left_out) = self.keep_files(tx, &p, m, written).await?;
        for name in left_out {
            text.push_str(&format!(
                "\n\n(The attached file “{name}” was not kept: it is larger than {} MiB.)",
                self.config().attachment_max_bytes / (1024 * 1024)
            ));
        }
        let upload_tokens = (!tokens.is_empty()).then_some(tokens);
        match ticket {
            Some(t) => {
                let public = !(p.is_staff() && settings.mail_agent_replies == "private");
                let input = CommentIn {
                    body: text,
                    public: Some(public),
                    upload_tokens,
                };
                let comment = self
                    .add_comment_in(tx, &p, t, input)
                    .await
                    .map_err(|e| refused(e, p.user.id, Some(t)))?;
                Ok(Disposition {
                    outcome: Outcome::Commented,
                    reason: None,
                    ticket: Some(t),
                    comment: Some(comment.id.0),
                    user: Some(p.user.id),
                    notice: None,
                })
            }
            None => {
                let mut copied = Vec::new();
                if settings.mail_copy_ccs {
                    let our = self.config().mail_address.to_lowercase();
                    for cc in m.ccs.iter().take(20) {
                        if cc.1 == our || cc.1 == m.from.1 {
                            continue;
                        }
                        if let Some(u) = self.user_for_address(tx, cc, &settings).await?
                            && !u.user.suspended
                        {
                            copied.push(u.user.id);
                        }
                    }
                }
                let subject = if m.subject.is_empty() {
                    "(no subject)".to_owned()
                } else {
                    m.subject.chars().take(250).collect()
                };
                let input = TicketIn {
                    subject,
                    description: text,
                    upload_tokens,
                    ..TicketIn::default()
                };
                let (out, comment) = self
                    .create_ticket_in(tx, &p, input, &copied)
                    .await
                    .map_err(|e| refused(e, p.user.id, None))?;
                Ok(Disposition {
                    outcome: Outcome::Created,
                    reason: None,
                    ticket: Some(TicketId(out.id)),
                    comment: Some(comment.0),
                    user: Some(p.user.id),
                    notice: None,
                })
            }
        }
    }

    /// Stores the message's files as uploads of its sender, in the write: their tokens, and
    /// the names of files too large to keep. `written` collects the stored hashes (to forget
    /// should the write be rolled back).
    async fn keep_files(
        &self,
        tx: &mut Conn,
        p: &Principal,
        m: &Parsed,
        written: &mut Vec<String>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let max = self.config().attachment_max_bytes;
        let (mut tokens, mut left_out) = (Vec::new(), Vec::new());
        for (name, content_type, bytes) in m.files.iter().take(20) {
            if bytes.len() as u64 > max {
                left_out.push(ferrodesk_core::validate::file_name(name));
                continue;
            }
            let mut writer = self.upload_writer().await?;
            writer.write(bytes).await?;
            let stored = writer.finish().await?;
            written.push(stored.sha256.clone());
            tokens.push(
                self.record_upload_in(tx, p, name, content_type, stored)
                    .await?
                    .token,
            );
        }
        Ok((tokens, left_out))
    }

    /// Deletes stored bytes no attachment needs (files of a message that was not taken in).
    async fn forget_files(&self, written: &[String]) -> Result<()> {
        if written.is_empty() {
            return Ok(());
        }
        let mut c = self.store().read().await?;
        for sha in written {
            if !ferrodesk_store::attachments::hash_in_use(&mut c, sha, 0).await? {
                self.blobs().delete(sha).await?;
            }
        }
        Ok(())
    }

    /// The user of an address and their policy facts: found, or created as an end user when
    /// the settings allow.
    async fn user_for_address(
        &self,
        tx: &mut Conn,
        (name, address): &(String, String),
        settings: &crate::dto::SettingsOut,
    ) -> Result<Option<dir::SignedIn>> {
        let cache = self.store().cache();
        if let Some(s) = dir::signed_in(tx, dir::Who::Email(address), cache).await? {
            return Ok(Some(s));
        }
        if settings.mail_unknown_senders != "create" {
            return Ok(None);
        }
        let name = if name.trim().is_empty() {
            address.split('@').next().unwrap_or(address).to_owned()
        } else {
            name.chars().take(200).collect()
        };
        let input = UserIn {
            name,
            email: address.clone(),
            role: Some(Role::EndUser),
            ticket_scope: None,
            access: None,
            password: None,
            organization_ids: Vec::new(),
            default_organization_id: None,
            group_ids: Vec::new(),
        };
        let mut system = self.system_principal();
        system.via = Channel::Email;
        match self.create_user_in(tx, &system, &input, Ok(None)).await {
            Ok(u) => Ok(dir::signed_in(tx, dir::Who::User(u.id), cache).await?),
            // An address we cannot give an account (look-alike of another, invalid): treated
            // as a sender without one.
            Err(AppError::Invalid(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The ticket a message answers, by the signed reply address, the subject tag, then
    /// References — each only when the sender may see that ticket.
    async fn thread(
        &self,
        tx: &mut Conn,
        p: &Principal,
        m: &Parsed,
        secret: &str,
    ) -> Result<Thread> {
        let tokens: Vec<Token> = m
            .recipients
            .iter()
            .filter_map(|a| token_of(secret, a))
            .collect();
        let mut candidates: Vec<TicketId> = Vec::new();
        for t in &tokens {
            if let Token::Signed(id) = t {
                candidates.push(*id);
            }
        }
        if candidates.is_empty() && tokens.contains(&Token::Forged) {
            return Ok(Thread::Forged);
        }
        candidates.extend(subject_tag(&m.subject));
        let mut inbound_ids = Vec::new();
        for r in &m.references {
            match own_id(r) {
                Some(OwnId::Ticket(t)) => candidates.push(t),
                Some(OwnId::Job(j)) => {
                    if let Some(payload) = jobs::payload(tx, j).await?
                        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&payload)
                        && let Some(t) = v["ticket_id"].as_i64()
                    {
                        candidates.push(TicketId(t));
                    }
                }
                None => inbound_ids.push(r.clone()),
            }
        }
        candidates.extend(
            store::tickets_of(tx, &inbound_ids)
                .await?
                .into_iter()
                .map(TicketId),
        );
        for t in candidates {
            match self.visible_ticket(tx, p, t).await {
                Ok(_) => return Ok(Thread::Ticket(t)),
                // A ticket the sender may not see does not exist for them.
                Err(AppError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Thread::New)
    }
}

/// What was read about a message before its write.
struct Screened {
    settings: crate::dto::SettingsOut,
    secret: String,
    /// The sender, when they have an account (else created in the write).
    sender: Option<Principal>,
    /// The ticket a known sender's message answers.
    thread: Option<Thread>,
    /// What became of it already (suppressed, refused), with nothing else to write.
    decided: Option<Disposition>,
}

/// Where a message belongs.
enum Thread {
    Ticket(TicketId),
    New,
    Forged,
}

/// Why a message stops short of being written.
enum Stop {
    /// The policy or validation refused it (its transaction is rolled back).
    Refused(Box<Disposition>),
    /// Something failed that may work later (the MTA tries again).
    Failed(AppError),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Stop {
        Stop::Failed(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Failed(e.into())
    }
}

/// A refusal by the pipeline, in words: the policy's (the sender hears of it) or the
/// validation's; anything else is a failure.
fn refused(e: AppError, user: UserId, ticket: Option<TicketId>) -> Stop {
    let on = ticket.map_or("a new ticket".to_owned(), |t| format!("ticket #{t}"));
    let (reason, notice) = match e {
        AppError::Forbidden { message, .. } => (
            format!("the access policy refused a comment on {on}: {message}"),
            Some(format!("your message was not added to {on}: {message}")),
        ),
        AppError::NotFound(_) => (format!("{on} is not one the sender may see"), None),
        AppError::Invalid(errors) => (
            format!(
                "the message could not become a comment: {}",
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            None,
        ),
        other => return Stop::Failed(other),
    };
    Stop::Refused(Box::new(Disposition {
        outcome: Outcome::Refused,
        reason: Some(reason),
        ticket,
        comment: None,
        user: Some(user),
        notice,
    }))
}

fn seen_outcome(m: &store::Inbound) -> Disposition {
    Disposition {
        outcome: Outcome::parse(&m.outcome).unwrap_or(Outcome::Suppressed),
        reason: m.reason.clone(),
        ticket: m.ticket_id.map(TicketId),
        comment: m.comment_id,
        user: m.user_id.map(UserId),
        notice: None,
    }
}

fn inbound_out(d: &Disposition, id: i64, duplicate: bool) -> InboundOut {
    InboundOut {
        id,
        outcome: d.outcome.as_str().to_owned(),
        reason: d.reason.clone(),
        ticket_id: d.ticket.map(|t| t.0),
        comment_id: d.comment,
        duplicate,
    }
}

/// An outcome in words.
pub fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "created" => "Opened a ticket",
        "commented" => "Added to a ticket",
        "suppressed" => "Automatic mail, not answered",
        "refused" => "Refused",
        "rejected" => "Not a usable message",
        _ => "Unknown",
    }
}

impl App {
    /// Inbound messages (admins), newest first.
    pub async fn list_inbound(
        &self,
        p: &Principal,
        filter: crate::dto::InboundFilter,
        cursor_text: Option<&str>,
        limit: Option<i64>,
    ) -> Result<crate::dto::Page<crate::dto::InboundMessageOut>> {
        use crate::dto::{InboundFilter, InboundMessageOut, rfc3339};
        p.require_admin()?;
        let limit = crate::directory::page_size(limit)?;
        let before = crate::directory::cursor(cursor_text)?;
        let outcomes: &[Outcome] = match filter {
            InboundFilter::NotTakenIn => {
                &[Outcome::Suppressed, Outcome::Refused, Outcome::Rejected]
            }
            InboundFilter::TakenIn => &[Outcome::Created, Outcome::Commented],
            InboundFilter::All => &[
                Outcome::Created,
                Outcome::Commented,
                Outcome::Suppressed,
                Outcome::Refused,
                Outcome::Rejected,
            ],
        };
        let mut c = self.store().read().await?;
        let rows = store::list(&mut c, outcomes, before, limit + 1).await?;
        Ok(crate::directory::page(
            rows,
            limit,
            |m| m.id,
            |m| InboundMessageOut {
                id: m.id,
                from: m.from_address,
                subject: m.subject,
                outcome_label: outcome_label(&m.outcome).to_owned(),
                outcome: m.outcome,
                reason: m.reason,
                ticket_id: m.ticket_id,
                comment_id: m.comment_id,
                size: m.size,
                received_at: rfc3339(m.received_at),
            },
        ))
    }

    /// The original of an inbound message, as received (`message/rfc822`): admins any;
    /// agents those of tickets they may see (404 otherwise, like the ticket).
    pub async fn inbound_original(&self, p: &Principal, id: i64) -> Result<Vec<u8>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        let m = store::get(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        if p.user.role != Role::Admin {
            // Agents: the original of a message on a ticket they may see (the ticket's 404).
            let t = m.ticket_id.ok_or(AppError::NotFound("message"))?;
            self.visible_ticket(&mut c, p, TicketId(t))
                .await
                .map_err(|e| match e {
                    AppError::NotFound(_) => AppError::NotFound("message"),
                    e => e,
                })?;
        }
        let raw = store::raw(&mut c, id)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| AppError::Internal(format!("inbound message {id} is corrupt: {e}")))
    }
}
