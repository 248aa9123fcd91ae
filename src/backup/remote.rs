//! Object-storage destinations (`s3://bucket/prefix`, S3-compatible endpoints by URL, and
//! `gs://bucket/prefix` for Google Cloud Storage) through
//! the `object_store` crate: upload a committed backup (data first, streamed as a multipart
//! upload, then the manifest), list, delete, download.
//!
//! An S3 object appears only once its upload completes, so a crash mid-upload leaves no
//! object; the manifest is put last, so a data object without one is an interrupted backup.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backup::etag::{self, Outcome};
use crate::backup::manifest::{MANIFEST_SUFFIX, Manifest, manifest_name};
use crate::backup::retention::{Item, Policy, to_delete};
use crate::error::{Error, Result};

/// Where a backup goes: a local directory or an object-store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dest {
    /// A local directory.
    Local(PathBuf),
    /// `s3://bucket/prefix` or `gs://bucket/prefix`.
    Bucket(String),
}

/// URL schemes of object storage.
const SCHEMES: [&str; 2] = ["s3://", "gs://"];

impl Dest {
    /// `s3://…` and `gs://…` are object storage; anything else a local directory.
    pub(crate) fn parse(s: &str) -> Dest {
        if is_bucket_url(s) {
            Dest::Bucket(s.trim_end_matches('/').to_string())
        } else {
            Dest::Local(PathBuf::from(s))
        }
    }
}

/// Whether `s` names object storage (`s3://…`, `gs://…`).
pub(crate) fn is_bucket_url(s: &str) -> bool {
    SCHEMES.iter().any(|scheme| s.starts_with(scheme))
}

/// `s3://bucket/prefix/file` → (`s3://bucket/prefix`, `file`); `None` unless it names an
/// object below a bucket.
pub(crate) fn split_object_url(url: &str) -> Option<(String, &str)> {
    let scheme = SCHEMES.iter().find(|s| url.starts_with(*s))?;
    let (dir, file) = url[scheme.len()..].rsplit_once('/')?;
    Some((format!("{scheme}{dir}"), file))
}

/// Multipart chunk size (S3's minimum part size is 5 MiB).
const PART: usize = 8 << 20;

/// An object-store destination.
pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjPath,
    /// The URL it was opened from (for messages).
    pub url: String,
}

impl Remote {
    /// Opens `s3://bucket/prefix` (credentials and region from the `AWS_*` environment;
    /// `endpoint`, e.g. `http://127.0.0.1:5000`, selects an S3-compatible server) or
    /// `gs://bucket/prefix` (credentials from `GOOGLE_APPLICATION_CREDENTIALS` /
    /// `GOOGLE_SERVICE_ACCOUNT`, else the instance's metadata server).
    pub(crate) fn open(url: &str, endpoint: Option<&str>) -> Result<Remote> {
        let (scheme, rest) = url
            .split_once("://")
            .filter(|_| is_bucket_url(url))
            .ok_or_else(|| Error::Usage(format!("{url}: not an s3:// or gs:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Usage(format!("{url}: no bucket name")));
        }
        let built: object_store::Result<Arc<dyn ObjectStore>> = if scheme == "gs" {
            if endpoint.is_some() {
                return Err(Error::Usage(format!(
                    "{url}: --s3-endpoint applies to s3:// only"
                )));
            }
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        } else {
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(ep) = endpoint {
                b = b
                    .with_endpoint(ep)
                    .with_allow_http(ep.starts_with("http://"));
            }
            b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        };
        let store = built.map_err(|source| Error::ObjectStore {
            url: url.to_string(),
            source,
        })?;
        Ok(Remote {
            store,
            prefix: ObjPath::from(prefix),
            url: url.to_string(),
        })
    }

    fn err(&self) -> impl Fn(object_store::Error) -> Error + '_ {
        |source| Error::ObjectStore {
            url: self.url.clone(),
            source,
        }
    }

    fn path(&self, name: &str) -> ObjPath {
        self.prefix.clone().join(name)
    }

    /// Fails early when the bucket is unreachable or does not exist (lists at most one key).
    pub(crate) async fn check(&self) -> Result<()> {
        let mut s = self.store.list(Some(&self.prefix));
        match s.next().await {
            Some(Err(e)) => Err(self.err()(e)),
            _ => Ok(()),
        }
    }

    /// Uploads the committed backup at `local` (streamed in parts), then its manifest.
    pub(crate) async fn upload(&self, local: &Path, manifest: &Manifest) -> Result<()> {
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(Error::io(local))?;
        let upload = self
            .store
            .put_multipart(&self.path(&manifest.file))
            .await
            .map_err(self.err())?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(Error::io(local)(e));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = w.wait_for_capacity(2).await {
                let _ = w.abort().await;
                return Err(self.err()(e));
            }
            w.write(&buf[..n]);
        }
        w.finish().await.map_err(self.err())?;
        let json = manifest.to_json().into_bytes();
        self.store
            .put(&self.path(&manifest.name()), PutPayload::from(json))
            .await
            .map_err(self.err())?;
        Ok(())
    }

    /// The names of every object under the prefix.
    pub(crate) async fn names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut s = self.store.list(Some(&self.prefix));
        while let Some(meta) = s.next().await {
            let meta = meta.map_err(self.err())?;
            if let Some(name) = meta.location.filename() {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// The bytes of the object `name` under the prefix (a small one: read whole).
    pub(crate) async fn get(&self, name: &str) -> Result<Vec<u8>> {
        let bytes = self
            .store
            .get(&self.path(name))
            .await
            .map_err(self.err())?
            .bytes()
            .await
            .map_err(self.err())?;
        Ok(bytes.to_vec())
    }

    /// Puts `bytes` as the object `name` under the prefix (it appears whole or not at all).
    pub(crate) async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.path(name), PutPayload::from(bytes))
            .await
            .map_err(self.err())?;
        Ok(())
    }

    /// The name and size of every object under the prefix, as the store lists them.
    pub(crate) async fn sizes(&self) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let mut s = self.store.list(Some(&self.prefix));
        while let Some(meta) = s.next().await {
            let meta = meta.map_err(self.err())?;
            if let Some(name) = meta.location.filename() {
                out.push((name.to_string(), meta.size));
            }
        }
        Ok(out)
    }

    /// Every complete backup (with a manifest), oldest first.
    pub(crate) async fn list(&self) -> Result<Vec<Manifest>> {
        Ok(self
            .list_sized()
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect())
    }

    /// [`Remote::list`], each with the size of its data object (`None`: not there).
    pub(crate) async fn list_sized(&self) -> Result<Vec<(Manifest, Option<u64>)>> {
        let mut names = Vec::new();
        let mut sizes = std::collections::HashMap::new();
        let mut s = self.store.list(Some(&self.prefix));
        while let Some(meta) = s.next().await {
            let meta = meta.map_err(self.err())?;
            if meta.location.as_ref().ends_with(MANIFEST_SUFFIX) {
                names.push(meta.location);
            } else if let Some(name) = meta.location.filename() {
                sizes.insert(name.to_string(), meta.size);
            }
        }
        let mut out = Vec::new();
        for p in names {
            let bytes = self
                .store
                .get(&p)
                .await
                .map_err(self.err())?
                .bytes()
                .await
                .map_err(self.err())?;
            let text = String::from_utf8_lossy(&bytes);
            let m = Manifest::parse(&text).map_err(|message| Error::Manifest {
                path: PathBuf::from(format!("{}/{}", self.url, p.filename().unwrap_or(""))),
                message,
            })?;
            let size = sizes.get(&m.file).copied();
            out.push((m, size));
        }
        out.sort_by(|(a, _), (b, _)| (a.created, &a.file).cmp(&(b.created, &b.file)));
        Ok(out)
    }

    /// Deletes a backup: manifest first, then data.
    pub(crate) async fn delete(&self, m: &Manifest) -> Result<()> {
        self.store
            .delete(&self.path(&m.name()))
            .await
            .map_err(self.err())?;
        match self.store.delete(&self.path(&m.file)).await {
            Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(self.err()(e)),
        }
    }

    /// Applies a retention policy, never deleting `keep`; returns the deleted file names.
    pub(crate) async fn prune(
        &self,
        policy: Policy,
        now: chrono::DateTime<chrono::Utc>,
        keep: &str,
    ) -> Result<Vec<String>> {
        if policy.is_empty() {
            return Ok(Vec::new());
        }
        let all = self.list().await?;
        let items: Vec<Item<'_>> = all
            .iter()
            .map(|m| Item {
                master: &m.master,
                created: m.created,
                file: &m.file,
            })
            .collect();
        let mut deleted = Vec::new();
        for i in to_delete(&items, policy, now) {
            if all[i].file != keep {
                self.delete(&all[i]).await?;
                deleted.push(all[i].file.clone());
            }
        }
        Ok(deleted)
    }

    /// Downloads `file` and its manifest into `dir`; returns the local data path.
    pub(crate) async fn download(&self, file: &str, dir: &Path) -> Result<PathBuf> {
        self.get_to(&manifest_name(file), dir, |_| {}).await?;
        self.get_to(file, dir, |_| {}).await?;
        Ok(dir.join(file))
    }

    /// [`Remote::download`], also recomputing the data object's ETag from the bytes as
    /// they arrive ([`etag`]) and comparing it with the one the store served them under.
    pub(crate) async fn download_checked(
        &self,
        file: &str,
        dir: &Path,
    ) -> Result<(PathBuf, Outcome)> {
        self.get_to(&manifest_name(file), dir, |_| {}).await?;
        let mut hasher = None;
        self.get_to(file, dir, |got| match got {
            Got::Meta(meta) => {
                hasher = Some(etag::Hasher::new(
                    meta.e_tag.as_deref(),
                    meta.size,
                    PART as u64,
                ));
            }
            Got::Bytes(b) => {
                if let Some(h) = hasher.as_mut() {
                    h.update(b);
                }
            }
        })
        .await?;
        let outcome = hasher.map_or(Outcome::Unchecked("no object metadata".into()), |h| {
            h.finish()
        });
        Ok((dir.join(file), outcome))
    }

    /// Streams object `name` into `dir/name`, showing `seen` the object's metadata, then
    /// every chunk.
    async fn get_to(&self, name: &str, dir: &Path, mut seen: impl FnMut(Got<'_>)) -> Result<()> {
        let to = dir.join(name);
        let mut out = tokio::fs::File::create(&to).await.map_err(Error::io(&to))?;
        let got = self.store.get(&self.path(name)).await.map_err(self.err())?;
        seen(Got::Meta(&got.meta));
        let mut s = got.into_stream();
        while let Some(chunk) = s.next().await {
            let chunk = chunk.map_err(self.err())?;
            seen(Got::Bytes(&chunk));
            out.write_all(&chunk).await.map_err(Error::io(&to))?;
        }
        out.flush().await.map_err(Error::io(&to))
    }
}

/// What [`Remote::get_to`] shows its observer.
enum Got<'a> {
    Meta(&'a object_store::ObjectMeta),
    Bytes(&'a [u8]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls_are_told_from_directories_and_split_into_bucket_and_file() {
        assert_eq!(Dest::parse("s3://b/p/"), Dest::Bucket("s3://b/p".into()));
        assert_eq!(Dest::parse("gs://b"), Dest::Bucket("gs://b".into()));
        assert_eq!(Dest::parse("s3:/b"), Dest::Local("s3:/b".into()));
        assert_eq!(
            split_object_url("gs://b/p/x.rdb.gz"),
            Some(("gs://b/p".into(), "x.rdb.gz"))
        );
        assert_eq!(split_object_url("s3://b"), None);
        assert_eq!(split_object_url("/var/x.rdb.gz"), None);
    }

    #[test]
    fn bad_bucket_urls_are_usage_errors() {
        let err = |url: &str, ep: Option<&str>| match Remote::open(url, ep) {
            Err(e) => e.to_string(),
            Ok(_) => "opened".into(),
        };
        assert_eq!(err("s3:///p", None), "s3:///p: no bucket name");
        assert_eq!(err("ftp://b", None), "ftp://b: not an s3:// or gs:// URL");
        assert_eq!(
            err("gs://b", Some("http://127.0.0.1:1")),
            "gs://b: --s3-endpoint applies to s3:// only"
        );
    }
}
