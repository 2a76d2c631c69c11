//! A lean client for S3-compatible object storage — what attachments need: put an object
//! from a file (streamed), read one as it arrives, check and delete one. Requests are signed
//! with AWS Signature Version 4 (path-style addresses, so MinIO, Garage, Ceph and moto work as
//! AWS does).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::{AppError, Result};

/// The hash of an empty payload.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Where and as whom objects are stored.
#[derive(Debug, Clone)]
pub struct S3 {
    /// `http://host:port`, no trailing slash.
    endpoint: String,
    bucket: String,
    region: String,
    access_key: String,
    secret_key: String,
    /// A folder inside the bucket (`""` or `attachments/`).
    prefix: String,
    http: reqwest::Client,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A path segment as SigV4 wants it (unreserved characters kept).
use ferrodesk_core::validate::percent_encode as encode;

/// The `Authorization` header of a request (AWS Signature Version 4). `headers` are the
/// signed headers, lower-case names, `host`, `x-amz-content-sha256` and `x-amz-date` among
/// them; `path` is already encoded.
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload_sha256: &str,
    amz_date: &str,
    region: &str,
    access_key: &str,
    secret_key: &str,
) -> String {
    let mut sorted: Vec<(&str, &str)> = headers.to_vec();
    sorted.sort();
    let canonical_headers: String = sorted
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed: Vec<&str> = sorted.iter().map(|(k, _)| *k).collect();
    let signed = signed.join(";");
    let request = format!("{method}\n{path}\n\n{canonical_headers}\n{signed}\n{payload_sha256}");
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret_key}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, "s3");
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex::encode(hmac(&k_signing, &to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope},SignedHeaders={signed},Signature={signature}"
    )
}

fn failed(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("object storage: {what}: {e}"))
}

impl S3 {
    /// The store of `s3://BUCKET/PREFIX?endpoint=http://host:port&region=R`, with the
    /// credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    pub fn from_url(url: &str) -> Result<S3> {
        let key = |k: &str| std::env::var(k).ok();
        S3::from_url_and_keys(
            url,
            key("AWS_ACCESS_KEY_ID").as_deref(),
            key("AWS_SECRET_ACCESS_KEY").as_deref(),
        )
    }

    /// The store of an `s3://` URL with these credentials.
    pub fn from_url_and_keys(
        url: &str,
        access_key: Option<&str>,
        secret_key: Option<&str>,
    ) -> Result<S3> {
        let bad = |why: &str| {
            AppError::invalid(
                "files_dir",
                "invalid_value",
                format!("{url:?}: {why} (s3://bucket?endpoint=http://host:port&region=us-east-1)"),
            )
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("not an s3:// URL"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        let mut endpoint = None;
        let mut region = "us-east-1".to_owned();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("endpoint", v)) => endpoint = Some(v.trim_end_matches('/').to_owned()),
                Some(("region", v)) => region = v.to_owned(),
                _ => return Err(bad(&format!("unknown parameter {pair:?}"))),
            }
        }
        let endpoint = endpoint.ok_or_else(|| bad("no endpoint"))?;
        if !endpoint.starts_with("http://") {
            return Err(bad(
                "only http:// endpoints are supported yet (TLS is not built in)",
            ));
        }
        let access_key = access_key.ok_or_else(|| bad("AWS_ACCESS_KEY_ID is not set"))?;
        let secret_key = secret_key.ok_or_else(|| bad("AWS_SECRET_ACCESS_KEY is not set"))?;
        let prefix = prefix.trim_matches('/');
        Ok(S3 {
            endpoint,
            bucket: bucket.to_owned(),
            region,
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            http: reqwest::Client::new(),
        })
    }

    fn path(&self, key: &str) -> String {
        let full = format!("{}{key}", self.prefix);
        let segments: Vec<String> = full.split('/').map(encode).collect();
        format!("/{}/{}", encode(&self.bucket), segments.join("/"))
    }

    /// A signed request for `key`.
    fn request(
        &self,
        method: reqwest::Method,
        key: &str,
        payload_sha256: &str,
    ) -> reqwest::RequestBuilder {
        let path = self.path(key);
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let amz_date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let auth = authorization(
            method.as_str(),
            &path,
            &[
                ("host", &host),
                ("x-amz-content-sha256", payload_sha256),
                ("x-amz-date", &amz_date),
            ],
            payload_sha256,
            &amz_date,
            &self.region,
            &self.access_key,
            &self.secret_key,
        );
        self.http
            .request(method, format!("{}{path}", self.endpoint))
            .header("x-amz-content-sha256", payload_sha256)
            .header("x-amz-date", amz_date)
            .header("authorization", auth)
    }

    /// Whether the object `key` exists.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let res = self
            .request(reqwest::Method::HEAD, key, EMPTY_SHA256)
            .send()
            .await
            .map_err(|e| failed("checking an object", e))?;
        match res.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(failed("checking an object", format!("answer {s}"))),
        }
    }

    /// Stores the file at `path` (whose SHA-256 is `sha256`, `size` bytes) as `key`, streamed.
    pub async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        sha256: &str,
        size: u64,
    ) -> Result<()> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| failed("opening a file to store", e))?;
        let res = self
            .request(reqwest::Method::PUT, key, sha256)
            .header("content-length", size)
            .body(reqwest::Body::from(file))
            .send()
            .await
            .map_err(|e| failed("storing an object", e))?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            return Err(failed(
                "storing an object",
                format!("answer {status}: {body}"),
            ));
        }
        Ok(())
    }

    /// The object `key` as it arrives (None when there is none).
    pub async fn get(&self, key: &str) -> Result<Option<reqwest::Response>> {
        let res = self
            .request(reqwest::Method::GET, key, EMPTY_SHA256)
            .send()
            .await
            .map_err(|e| failed("reading an object", e))?;
        match res.status().as_u16() {
            200 => Ok(Some(res)),
            404 => Ok(None),
            s => Err(failed("reading an object", format!("answer {s}"))),
        }
    }

    /// Deletes the object `key` (nothing when there is none).
    pub async fn delete(&self, key: &str) -> Result<()> {
        let res = self
            .request(reqwest::Method::DELETE, key, EMPTY_SHA256)
            .send()
            .await
            .map_err(|e| failed("deleting an object", e))?;
        match res.status().as_u16() {
            200 | 204 | 404 => Ok(()),
            s => Err(failed("deleting an object", format!("answer {s}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the S3 documentation ("GET Object", signature
    /// f0e8bdb8…): the same canonical request and key derivation give the same signature.
    #[test]
    fn signs_the_documented_example_exactly() {
        let auth = authorization(
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY_SHA256),
                ("x-amz-date", "20130524T000000Z"),
            ],
            EMPTY_SHA256,
            "20130524T000000Z",
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn urls_without_bucket_or_endpoint_or_with_tls_are_refused_in_words() {
        assert!(
            S3::from_url("s3://?endpoint=http://x").is_err(),
            "no bucket"
        );
        assert!(S3::from_url("s3://b").is_err(), "no endpoint");
        assert!(
            S3::from_url("s3://b?endpoint=https://x").is_err(),
            "no TLS yet"
        );
        assert!(S3::from_url("s3://b?endpoint=http://x&colour=red").is_err());
    }
}
