//! `ferrodesk export` / `ferrodesk import ferrodesk` / `ferrodesk backup`: the whole database
//! as JSON lines, one file per table and a manifest, readable into an empty database of either
//! kind; and an online copy of a SQLite database.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use ferrodesk_store::{StoreError, search, transfer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{App, AppError, Result};

/// The manifest's format name.
const FORMAT: &str = "ferrodesk-export";

/// `manifest.json` of an export.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `ferrodesk-export`.
    pub format: String,
    /// The format's version (1).
    pub version: u32,
    /// The newest database migration of the exporting server: an import needs the same.
    pub schema: i64,
    /// `sqlite` or `postgres`.
    pub exported_from: String,
    /// RFC 3339.
    pub exported_at: String,
    /// Rows per table.
    pub tables: std::collections::BTreeMap<String, u64>,
    /// Attachment files copied into `files/` (content-addressed, as the store keeps them).
    #[serde(default)]
    pub files: u64,
}

fn io(what: &str, e: std::io::Error) -> AppError {
    AppError::Internal(format!("{what}: {e}"))
}

/// Rows per INSERT: enough to be fast, few enough for both databases' parameter limits.
const BATCH_VALUES: usize = 20_000;

impl App {
    async fn schema_version(&self, c: &mut ferrodesk_store::Conn) -> Result<i64> {
        Ok(ferrodesk_store::transfer::schema_version(c).await?)
    }

    /// Writes every table to `dir` (which must not exist or be empty) as one snapshot, while
    /// the server keeps running.
    pub async fn export_to(&self, dir: &Path) -> Result<Manifest> {
        if dir.exists()
            && std::fs::read_dir(dir)
                .map_err(|e| io("reading the export folder", e))?
                .next()
                .is_some()
        {
            return Err(AppError::invalid(
                "to",
                "not_empty",
                format!("{} is not empty", dir.display()),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| io("creating the export folder", e))?;
        let mut c = transfer::begin_snapshot(self.store()).await?;
        let mut tables = std::collections::BTreeMap::new();
        for table in transfer::TABLES {
            let file = std::fs::File::create(dir.join(format!("{table}.jsonl")))
                .map_err(|e| io("creating an export file", e))?;
            let mut w = BufWriter::new(file);
            let n = transfer::export_table(&mut c, table, |row| {
                serde_json::to_writer(&mut w, &row)?;
                w.write_all(b"\n")
            })
            .await?;
            w.flush().map_err(|e| io("writing an export file", e))?;
            tables.insert((*table).to_owned(), n);
        }
        // The files of the attachments in this snapshot (bytes never change under a name;
        // a file redacted meanwhile is simply missing, as it should be).
        let hashes = ferrodesk_store::attachments::stored_hashes(&mut c).await?;
        let into = crate::blobs::Blobs::new(dir.join("files"));
        let mut files = 0;
        for sha in &hashes {
            if self.blobs().copy_into(sha, &into).await? {
                files += 1;
            }
        }
        let _ = std::fs::remove_dir_all(dir.join("files").join("tmp"));
        let manifest = Manifest {
            files,
            format: FORMAT.into(),
            version: 1,
            schema: self.schema_version(&mut c).await?,
            exported_from: self.store().backend().name().into(),
            exported_at: jiff::Timestamp::from_microsecond(self.now())
                .map(|t| t.to_string())
                .unwrap_or_default(),
            tables,
        };
        transfer::end_snapshot(c).await?;
        let text = serde_json::to_string_pretty(&manifest).expect("plain data");
        std::fs::write(dir.join("manifest.json"), text)
            .map_err(|e| io("writing manifest.json", e))?;
        Ok(manifest)
    }

    /// Reads an export from `dir` into this database, which must be empty (no users), in one
    /// transaction; rebuilds the search index and the view counters.
    pub async fn import_ferrodesk(&self, dir: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(dir.join("manifest.json")).map_err(|e| {
            AppError::invalid(
                "from",
                "not_an_export",
                format!("{}: no readable manifest.json ({e})", dir.display()),
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            AppError::invalid("from", "not_an_export", format!("manifest.json: {e}"))
        })?;
        if manifest.format != FORMAT || manifest.version != 1 {
            return Err(AppError::invalid(
                "from",
                "not_an_export",
                "manifest.json is not a Ferrodesk export of format version 1",
            ));
        }
        if !self.is_empty().await? {
            return Err(AppError::Conflict {
                code: "not_empty",
                message: "the database already has users; import into an empty one".into(),
            });
        }
        let mut tx = self.store().begin().await?;
        let schema = self.schema_version(&mut tx).await?;
        if schema != manifest.schema {
            return Err(AppError::invalid(
                "from",
                "schema_mismatch",
                format!(
                    "the export is of database schema {}, this server has {schema}: import with the same Ferrodesk version",
                    manifest.schema
                ),
            ));
        }
        transfer::clear(&mut tx).await?;
        for table in transfer::TABLES {
            let path = dir.join(format!("{table}.jsonl"));
            let file = std::fs::File::open(&path).map_err(|e| {
                AppError::invalid("from", "incomplete", format!("{}: {e}", path.display()))
            })?;
            let mut batch: Vec<Map<String, Value>> = Vec::new();
            let mut n = 0u64;
            for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| io("reading an export file", e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let row: Map<String, Value> = serde_json::from_str(&line).map_err(|e| {
                    AppError::invalid(
                        "from",
                        "bad_row",
                        format!("{table}.jsonl line {}: {e}", i + 1),
                    )
                })?;
                let width = row.len().max(1);
                if !batch.is_empty()
                    && ((batch.len() + 1) * width > BATCH_VALUES || batch[0].len() != row.len())
                {
                    transfer::insert_rows(&mut tx, table, &batch)
                        .await
                        .map_err(|e| bad_rows(table, e))?;
                    batch.clear();
                }
                batch.push(row);
                n += 1;
            }
            transfer::insert_rows(&mut tx, table, &batch)
                .await
                .map_err(|e| bad_rows(table, e))?;
            let expected = manifest.tables.get(*table).copied().unwrap_or(0);
            if n != expected {
                return Err(AppError::invalid(
                    "from",
                    "incomplete",
                    format!("{table}.jsonl has {n} rows, the manifest says {expected}"),
                ));
            }
        }
        search::rebuild(&mut tx).await?;
        transfer::continue_ids(&mut tx, self.store().backend()).await?;
        // The files first: rows are only committed once their bytes are in place.
        let from = crate::blobs::Blobs::new(dir.join("files"));
        let mut copied = 0;
        for sha in from.hashes() {
            if from.copy_into(&sha, &self.blobs()).await? {
                copied += 1;
            }
        }
        if copied < manifest.files {
            return Err(AppError::invalid(
                "from",
                "incomplete",
                format!(
                    "files/ has {copied} attachment files, the manifest says {}",
                    manifest.files
                ),
            ));
        }
        crate::directory::commit(tx).await?;
        Ok(manifest)
    }

    /// Writes a consistent copy of this SQLite database to `path`, while it is in use.
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        if path.exists() {
            return Err(AppError::invalid(
                "to",
                "exists",
                format!("{} exists; choose a new file", path.display()),
            ));
        }
        let path = path
            .to_str()
            .ok_or_else(|| AppError::invalid("to", "invalid", "the path is not UTF-8"))?;
        transfer::sqlite_backup(self.store(), path)
            .await
            .map_err(|e| match e {
                StoreError::Config(m) => AppError::Conflict {
                    code: "not_sqlite",
                    message: m,
                },
                e => e.into(),
            })
    }
}

fn bad_rows(table: &str, e: StoreError) -> AppError {
    AppError::invalid("from", "bad_row", format!("{table}: {e}"))
}
