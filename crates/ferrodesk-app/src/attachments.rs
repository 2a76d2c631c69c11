//! Attachments (SPEC §6): a file is uploaded first (`upload`: its bytes streamed to the
//! store, a token back), then a comment or new ticket takes it by that token (only its
//! uploader's, within a day); a download (`attachment`) is decided by the one access policy on
//! the comment's ticket — an end user never gets a private note's file, and a file of a ticket
//! the caller may not see does not exist for them.

use ferrodesk_core::policy;
use ferrodesk_core::{CommentId, TicketId};
use ferrodesk_store::attachments::{self as store, Attachment, NewUpload};
use ferrodesk_store::{Conn, tickets};

use crate::auth::{new_secret, secret_hash};
use crate::blobs::{BlobReader, BlobWriter, Blobs, Written};
use crate::dto::{AttachmentOut, UploadOut};
use crate::{App, AppError, Principal, Result};

/// How long an upload waits for its comment.
pub const UPLOAD_TTL_MICROS: i64 = 24 * 3600 * 1_000_000;

/// The metadata of an attachment as people see it.
pub fn attachment_out(a: &Attachment, names: &[(i64, String)]) -> AttachmentOut {
    let redacted = a.redacted_at.map(|at| {
        let who = a
            .redacted_by
            .and_then(|u| names.iter().find(|(id, _)| *id == u))
            .map_or("an agent", |(_, n)| n.as_str());
        format!("redacted by {who} at {}", crate::dto::rfc3339(at))
    });
    AttachmentOut {
        id: a.id,
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        url: redacted
            .is_none()
            .then(|| format!("/api/v1/attachments/{}", a.id)),
        redacted,
    }
}

/// A content type as stored: `type/subtype` in lower case, parameters dropped; anything else
/// is `application/octet-stream`.
fn clean_content_type(ct: &str) -> String {
    let main = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let ok = main.len() <= 100
        && main.split_once('/').is_some_and(|(a, b)| {
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
            };
            token(a) && token(b)
        });
    if ok {
        main
    } else {
        "application/octet-stream".into()
    }
}

impl App {
    /// The attachment store of this configuration.
    pub fn blobs(&self) -> Blobs {
        self.config().files.clone()
    }

    /// A new file for the caller to stream an upload into.
    pub async fn upload_writer(&self) -> Result<BlobWriter> {
        self.blobs().create().await
    }

    /// Records an upload whose bytes are stored (`written`): a token the caller gives a
    /// comment within a day.
    pub async fn record_upload(
        &self,
        p: &Principal,
        file_name: &str,
        content_type: &str,
        written: Written,
    ) -> Result<UploadOut> {
        let max = self.config().attachment_max_bytes;
        if written.size > max {
            return Err(AppError::TooLarge {
                message: format!("a file may have at most {} MiB", max / (1024 * 1024)),
            });
        }
        let mut tx = self.store().begin().await?;
        let out = self
            .record_upload_in(&mut tx, p, file_name, content_type, written)
            .await?;
        crate::directory::commit(tx).await?;
        Ok(out)
    }

    /// Records an upload in the caller's transaction.
    pub(crate) async fn record_upload_in(
        &self,
        tx: &mut Conn,
        p: &Principal,
        file_name: &str,
        content_type: &str,
        written: Written,
    ) -> Result<UploadOut> {
        let file_name = ferrodesk_core::validate::file_name(file_name);
        let content_type = clean_content_type(content_type);
        let token = new_secret();
        store::insert_upload(
            tx,
            &NewUpload {
                token_hash: &secret_hash(&token),
                file_name: &file_name,
                content_type: &content_type,
                size: written.size as i64,
                sha256: &written.sha256,
                uploader_id: p.user.id.0,
                created_at: self.now(),
            },
        )
        .await?;
        Ok(UploadOut {
            token,
            file_name,
            content_type,
            size: written.size as i64,
        })
    }

    /// Stores a file held in memory (a web form's, an email's part) as an upload of the
    /// caller: its token, as `POST /uploads` answers.
    pub async fn upload_bytes(
        &self,
        p: &Principal,
        file_name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<UploadOut> {
        let max = self.config().attachment_max_bytes;
        if bytes.len() as u64 > max {
            return Err(AppError::TooLarge {
                message: format!("a file may have at most {} MiB", max / (1024 * 1024)),
            });
        }
        let mut writer = self.upload_writer().await?;
        writer.write(bytes).await?;
        let written = writer.finish().await?;
        self.record_upload(p, file_name, content_type, written)
            .await
    }

    /// Gives the caller's uploads named by `tokens` to a new comment, in its transaction:
    /// an unknown, expired, used or someone else's token is refused naming `upload_tokens`;
    /// more than the per-comment limit together is refused as too large.
    pub(crate) async fn attach_uploads(
        &self,
        tx: &mut Conn,
        p: &Principal,
        tokens: &[String],
        comment: CommentId,
        ticket: TicketId,
    ) -> Result<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let mut hashes: Vec<String> = tokens.iter().map(|t| secret_hash(t.trim())).collect();
        hashes.sort();
        hashes.dedup();
        if hashes.len() > 20 {
            return Err(AppError::invalid(
                "upload_tokens",
                "too_many",
                "a comment has at most 20 files",
            ));
        }
        let since = self.now() - UPLOAD_TTL_MICROS;
        let found = store::waiting_uploads(tx, p.user.id.0, &hashes, since).await?;
        if found.len() != hashes.len() {
            return Err(AppError::invalid(
                "upload_tokens",
                "unknown_upload",
                "an upload token is unknown, expired or already used: upload the file again",
            ));
        }
        let total: i64 = found.iter().map(|(_, a)| a.size).sum();
        let max = self.config().comment_attachments_max_bytes;
        if total as u64 > max {
            return Err(AppError::TooLarge {
                message: format!(
                    "the files of one comment may have at most {} MiB together",
                    max / (1024 * 1024)
                ),
            });
        }
        let ids: Vec<i64> = found.iter().map(|(_, a)| a.id).collect();
        let taken = store::attach(tx, &ids, comment.0, ticket.0).await?;
        if taken as usize != ids.len() {
            return Err(AppError::Conflict {
                code: "upload_used",
                message: "another comment took one of these uploads meanwhile".into(),
            });
        }
        Ok(())
    }

    /// An attachment and its bytes, when the caller may have it: the access policy on its
    /// ticket, and for a private note's file, someone who sees private notes; 404 otherwise
    /// (also once redacted).
    pub async fn attachment(&self, p: &Principal, id: i64) -> Result<(Attachment, BlobReader)> {
        let mut c = self.store().read().await?;
        let (a, _, _) = self.reachable_attachment(&mut c, p, id).await?;
        if a.redacted_at.is_some() {
            return Err(AppError::NotFound("attachment"));
        }
        drop(c);
        let file = self
            .blobs()
            .open(&a.sha256)
            .await?
            .ok_or(AppError::NotFound("attachment"))?;
        Ok((a, file))
    }

    /// An attachment, its ticket and the caller's decision on it, when the caller may have it:
    /// the access policy on the ticket (`visible_ticket`, as every path), and for a private
    /// note's file, someone who sees private notes; 404 otherwise.
    async fn reachable_attachment(
        &self,
        c: &mut Conn,
        p: &Principal,
        id: i64,
    ) -> Result<(Attachment, tickets::Ticket, policy::Decision)> {
        let gone = AppError::NotFound("attachment");
        let (a, public) = store::get(c, id).await?.ok_or(gone)?;
        let t = a.ticket_id.ok_or(AppError::NotFound("attachment"))?;
        let (ticket, decision) =
            self.visible_ticket(c, p, TicketId(t))
                .await
                .map_err(|e| match e {
                    AppError::NotFound(_) => AppError::NotFound("attachment"),
                    e => e,
                })?;
        if !public && !policy::sees_internals(&p.viewer) {
            return Err(AppError::NotFound("attachment"));
        }
        Ok((a, ticket, decision))
    }

    /// Redacts an attachment (staff who may change the ticket): its bytes are deleted unless
    /// another attachment still has them, its metadata stays as "redacted by … at …", and
    /// the redaction is an audit event of the ticket. 404 for a ticket the caller may not
    /// see; 409 when it was redacted already.
    pub async fn redact_attachment(&self, p: &Principal, id: i64) -> Result<AttachmentOut> {
        p.require_staff()?;
        let mut tx = self.store().begin().await?;
        let (a, ticket, decision) = self.reachable_attachment(&mut tx, p, id).await?;
        if !decision.comment {
            return Err(AppError::forbidden(
                "redact_not_allowed",
                "you may see this ticket but not change it",
            ));
        }
        let now = self.now();
        if !store::redact(&mut tx, id, p.user.id.0, now).await? {
            return Err(AppError::Conflict {
                code: "already_redacted",
                message: "this file was redacted already".into(),
            });
        }
        let unused = !store::hash_in_use(&mut tx, &a.sha256, id).await?;
        self.audit(
            &mut tx,
            crate::Actor::from(p),
            ("ticket", ticket.id.0),
            "attachment_redacted",
            vec![ferrodesk_core::audit::FieldChange::new(
                "file",
                &a.file_name,
                "redacted",
            )],
            None,
        )
        .await?;
        crate::directory::commit(tx).await?;
        // After the commit: a failed delete leaves bytes nobody can download, never a row
        // whose bytes are gone while it is not redacted.
        if unused {
            self.blobs().delete(&a.sha256).await?;
        }
        let redacted = Attachment {
            redacted_by: Some(p.user.id.0),
            redacted_at: Some(now),
            ..a
        };
        Ok(attachment_out(
            &redacted,
            &[(p.user.id.0, p.user.name.clone())],
        ))
    }

    /// Deletes uploads no comment took within a day, and their bytes when nothing else
    /// needs them, and files a crash left half written; how many uploads went.
    pub async fn expire_uploads(&self) -> Result<usize> {
        self.blobs()
            .clean_tmp(std::time::Duration::from_secs(24 * 3600));
        let before = self.now() - UPLOAD_TTL_MICROS;
        let mut total = 0;
        loop {
            let mut tx = self.store().begin_unscoped().await?;
            let (gone, unused) = store::expire_uploads(&mut tx, before, 500).await?;
            tx.commit()
                .await
                .map_err(ferrodesk_store::StoreError::from)?;
            for sha in &unused {
                self.blobs().delete(sha).await?;
            }
            total += gone;
            if gone < 500 {
                return Ok(total);
            }
        }
    }
}
