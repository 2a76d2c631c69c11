//! Where attachment bytes live: a directory or an S3-compatible bucket, content-addressed by
//! SHA-256 (`ab/cd/abcd…`), so the same file uploaded twice is stored once. A file is written
//! to a local `tmp/` while it streams in, hashed on the way and synced; then it is renamed to
//! its final name (a directory) or put under it (a bucket, streamed from the file): a crash
//! never leaves a half file under a final name, and nothing in `tmp/` is ever served.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::s3::S3;
use crate::{AppError, Result};

/// The attachment store.
#[derive(Debug, Clone)]
pub struct Blobs {
    /// The directory of the files; with a bucket, where uploads are staged.
    root: PathBuf,
    /// The bucket, when files are kept in one.
    s3: Option<S3>,
}

/// Bytes being read from the store.
#[derive(Debug)]
pub enum BlobReader {
    /// From a file.
    File(tokio::fs::File),
    /// From an object as it arrives.
    Object {
        /// The answer being read.
        res: reqwest::Response,
        /// Bytes received and not read yet.
        pending: Vec<u8>,
    },
}

impl BlobReader {
    /// Reads into `buf`; 0 at the end.
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            BlobReader::File(f) => tokio::io::AsyncReadExt::read(f, buf).await,
            BlobReader::Object { res, pending } => {
                if pending.is_empty() {
                    match res.chunk().await.map_err(std::io::Error::other)? {
                        Some(chunk) => *pending = chunk.to_vec(),
                        None => return Ok(0),
                    }
                }
                let n = buf.len().min(pending.len());
                buf[..n].copy_from_slice(&pending[..n]);
                pending.drain(..n);
                Ok(n)
            }
        }
    }

    /// Reads everything that is left.
    pub async fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.read(&mut buf).await?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
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
        Blobs {
            root: root.into(),
            s3: None,
        }
    }

    /// The store of a URL: `file:///srv/ferrodesk/files` or a plain path, or
    /// `s3://bucket/prefix?endpoint=http://host:port&region=…` (uploads staged in `staging`).
    pub fn from_url(url: &str, staging: &Path) -> Result<Blobs> {
        match url.split_once("://") {
            None => Ok(Blobs::new(url)),
            Some(("file", path)) if path.starts_with('/') => Ok(Blobs::new(path)),
            Some(("s3", _)) => Ok(Blobs {
                root: staging.to_owned(),
                s3: Some(S3::from_url(url)?),
            }),
            _ => Err(AppError::invalid(
                "files_dir",
                "unsupported",
                format!(
                    "{url:?}: use a folder (file:///path) or a bucket (s3://bucket?endpoint=…)"
                ),
            )),
        }
    }

    /// The object key of `sha`.
    fn key_of(sha: &str) -> String {
        format!("{}/{}/{sha}", &sha[..2], &sha[2..4])
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
            target: self.clone(),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// The bytes stored under `sha`, to read (None when there are none).
    pub async fn open(&self, sha: &str) -> Result<Option<BlobReader>> {
        if !is_hash(sha) {
            return Ok(None);
        }
        if let Some(s3) = &self.s3 {
            return Ok(s3
                .get(&Blobs::key_of(sha))
                .await?
                .map(|res| BlobReader::Object {
                    res,
                    pending: Vec::new(),
                }));
        }
        match tokio::fs::File::open(self.path_of(sha)).await {
            Ok(f) => Ok(Some(BlobReader::File(f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("opening a file", e)),
        }
    }

    /// Copies the bytes stored under `sha` into the store `to` (nothing when they are not
    /// here); whether they were here.
    pub async fn copy_into(&self, sha: &str, to: &Blobs) -> Result<bool> {
        let Some(mut from) = self.open(sha).await? else {
            return Ok(false);
        };
        let mut writer = to.create().await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = from
                .read(&mut buf)
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
                "attachment storage: the file {sha} does not hold the bytes its name says"
            )));
        }
        Ok(true)
    }

    /// The hashes stored in a folder store (a walk of the folders; `tmp/` is not stored
    /// bytes). Export folders are always folders.
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
        if let Some(s3) = &self.s3 {
            return s3.delete(&Blobs::key_of(sha)).await;
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
    target: Blobs,
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
        if let Some(s3) = &self.target.s3 {
            let key = Blobs::key_of(&sha256);
            if !s3.exists(&key).await? {
                s3.put_file(&key, &self.temp, &sha256, self.size).await?;
            }
            let _ = tokio::fs::remove_file(&self.temp).await;
        } else {
            let target = self.target.path_of(&sha256);
            if tokio::fs::try_exists(&target).await.unwrap_or(false) {
                // The same bytes are stored already.
                let _ = tokio::fs::remove_file(&self.temp).await;
            } else {
                let dir = target.parent().unwrap_or(&self.target.root).to_owned();
                tokio::fs::create_dir_all(&dir)
                    .await
                    .map_err(|e| io("creating its folder", e))?;
                tokio::fs::rename(&self.temp, &target)
                    .await
                    .map_err(|e| io("naming a file", e))?;
            }
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
        assert_eq!(f.read_to_end().await.unwrap(), b"hello world");
        assert!(blobs.open("../../etc/passwd").await.unwrap().is_none());
        blobs.delete(&wa.sha256).await.unwrap();
        assert!(blobs.open(&wa.sha256).await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&root);
    }
}
