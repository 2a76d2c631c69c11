//! Where attachment bytes live: a directory, content-addressed by SHA-256
//! (`ab/cd/abcd…`), so the same file uploaded twice is stored once. A file is written to
//! `tmp/` while it streams in, hashed on the way, synced, and renamed to its final name: a
//! crash never leaves a half file under a final name, and nothing in `tmp/` is ever served.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{AppError, Result};

/// The attachment store.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

fn io(what: &str, e: std::io::Error) -> AppError {
    AppError::Internal(format!("attachment storage: {what}: {e}"))
}

/// Whether `sha` is a SHA-256 in hex (the only names the store opens).
fn is_hash(sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Blobs {
    /// The store in directory `root` (created when first written).
    pub fn new(root: impl Into<PathBuf>) -> Blobs {
        Blobs { root: root.into() }
    }

    /// The store of a URL: `file:///srv/ferrodesk/files` or a plain path.
    pub fn from_url(url: &str) -> Result<Blobs> {
        match url.split_once("://") {
            None => Ok(Blobs::new(url)),
            Some(("file", path)) if path.starts_with('/') => Ok(Blobs::new(path)),
            _ => Err(AppError::invalid(
                "files_url",
                "unsupported",
                format!(
                    "{url:?}: attachments are stored in a directory (file:///path); S3 is not built yet"
                ),
            )),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[..2]).join(&sha[2..4]).join(sha)
    }

    /// A new file, written while it streams in.
    pub async fn create(&self) -> Result<BlobWriter> {
        let tmp = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp)
            .await
            .map_err(|e| io("creating its folder", e))?;
        let temp = tmp.join(crate::auth::new_secret());
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| io("creating a file", e))?;
        Ok(BlobWriter {
            file: Some(file),
            temp,
            final_dir: self.root.clone(),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// The bytes stored under `sha`, to read (None when there are none).
    pub async fn open(&self, sha: &str) -> Result<Option<tokio::fs::File>> {
        if !is_hash(sha) {
            return Ok(None);
        }
        match tokio::fs::File::open(self.path_of(sha)).await {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("opening a file", e)),
        }
    }

    /// Copies the bytes stored under `sha` into the store `to` (nothing when they are not
    /// here, or there already); whether they were here.
    pub async fn copy_into(&self, sha: &str, to: &Blobs) -> Result<bool> {
        if !is_hash(sha) {
            return Ok(false);
        }
        let from = self.path_of(sha);
        if !tokio::fs::try_exists(&from).await.unwrap_or(false) {
            return Ok(false);
        }
        let target = to.path_of(sha);
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            return Ok(true);
        }
        let mut writer = to.create().await?;
        let mut file = tokio::fs::File::open(&from)
            .await
            .map_err(|e| io("opening a file", e))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut file, &mut buf)
                .await
                .map_err(|e| io("reading a file", e))?;
            if n == 0 {
                break;
            }
            writer.write(&buf[..n]).await?;
        }
        let written = writer.finish().await?;
        if written.sha256 != sha {
            return Err(AppError::Internal(format!(
                "attachment storage: {} does not hold the bytes its name says",
                from.display()
            )));
        }
        Ok(true)
    }

    /// The hashes stored here (a walk of the folders; `tmp/` is not stored bytes).
    pub fn hashes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Ok(level1) = std::fs::read_dir(&self.root) else {
            return out;
        };
        for a in level1.flatten() {
            if a.file_name() == "tmp" {
                continue;
            }
            for b in std::fs::read_dir(a.path()).into_iter().flatten().flatten() {
                for f in std::fs::read_dir(b.path()).into_iter().flatten().flatten() {
                    let name = f.file_name().to_string_lossy().into_owned();
                    if is_hash(&name) {
                        out.push(name);
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Deletes files left in `tmp/` (uploads cut off by a crash) older than `age`; how many.
    pub fn clean_tmp(&self, age: std::time::Duration) -> usize {
        let Ok(dir) = std::fs::read_dir(self.root.join("tmp")) else {
            return 0;
        };
        let mut n = 0;
        for f in dir.flatten() {
            let old = f
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|e| e > age);
            if old && std::fs::remove_file(f.path()).is_ok() {
                n += 1;
            }
        }
        n
    }

    /// Deletes the bytes stored under `sha` (nothing when there are none).
    pub async fn delete(&self, sha: &str) -> Result<()> {
        if !is_hash(sha) {
            return Ok(());
        }
        match tokio::fs::remove_file(self.path_of(sha)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("deleting a file", e)),
        }
    }
}

/// A file being written: hashed and counted on the way; removed if dropped unfinished.
#[derive(Debug)]
pub struct BlobWriter {
    file: Option<tokio::fs::File>,
    temp: PathBuf,
    final_dir: PathBuf,
    hasher: Sha256,
    size: u64,
}

/// A stored file: where its bytes are and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// SHA-256, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `chunk`.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| AppError::Internal("the file was finished".into()))?;
        file.write_all(chunk)
            .await
            .map_err(|e| io("writing a file", e))?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Makes the file durable under its final, content-addressed name.
    pub async fn finish(mut self) -> Result<Written> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| AppError::Internal("the file was finished".into()))?;
        file.flush().await.map_err(|e| io("writing a file", e))?;
        file.sync_all().await.map_err(|e| io("syncing a file", e))?;
        drop(file);
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let target = Blobs::new(self.final_dir.clone()).path_of(&sha256);
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            // The same bytes are stored already.
            let _ = tokio::fs::remove_file(&self.temp).await;
        } else {
            let dir = target.parent().unwrap_or(&self.final_dir).to_owned();
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| io("creating its folder", e))?;
            tokio::fs::rename(&self.temp, &target)
                .await
                .map_err(|e| io("naming a file", e))?;
        }
        self.temp = PathBuf::new();
        Ok(Written {
            sha256,
            size: self.size,
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_bytes_are_stored_once_and_an_abandoned_file_leaves_nothing() {
        let root = std::env::temp_dir().join(format!("ferrodesk-blobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let blobs = Blobs::new(&root);
        let mut a = blobs.create().await.unwrap();
        a.write(b"hello ").await.unwrap();
        a.write(b"world").await.unwrap();
        let wa = a.finish().await.unwrap();
        let mut b = blobs.create().await.unwrap();
        b.write(b"hello world").await.unwrap();
        let wb = b.finish().await.unwrap();
        assert_eq!(wa, wb);
        assert_eq!(wa.size, 11);
        assert_eq!(
            wa.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        let mut abandoned = blobs.create().await.unwrap();
        abandoned.write(b"half").await.unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        let mut f = blobs.open(&wa.sha256).await.unwrap().unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut f, &mut text)
            .await
            .unwrap();
        assert_eq!(text, "hello world");
        assert!(blobs.open("../../etc/passwd").await.unwrap().is_none());
        blobs.delete(&wa.sha256).await.unwrap();
        assert!(blobs.open(&wa.sha256).await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&root);
    }
}
