//! The destination: an object store (`s3://bucket/prefix` through `object_store`'s S3
//! client, `file:///path` through its local one) seen as keys under one prefix, with the few
//! operations publishing and the remote cache need. Credentials come from the usual
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, …); the endpoint and region of `[publish]` win over them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};

use crate::Error;
use crate::plan::{Headers, Listed};

/// The metadata key of the md5 sluice stores with each object (`x-amz-meta-sluice-md5`).
pub const MD5_METADATA: &str = "sluice-md5";

/// Objects larger than this go up in parts (S3's multipart upload), of this size.
pub const MULTIPART_THRESHOLD: usize = 16 << 20;
const PART_SIZE: usize = 8 << 20;

/// How the destination is reached.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Retries of a failed request (with exponential backoff), after the first try.
    pub retries: usize,
}

/// How many requests of each kind were made (retries not counted).
#[derive(Debug, Default)]
pub struct Counts {
    pub list: AtomicU64,
    pub get: AtomicU64,
    pub head: AtomicU64,
    pub put: AtomicU64,
    pub delete: AtomicU64,
}

pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Vec<String>,
    /// S3 keeps headers and metadata; a folder keeps bytes only.
    pub attributes: bool,
    pub url: String,
    pub counts: Counts,
}

/// `s3://bucket/some/prefix` → (`s3`, `bucket`, [`some`, `prefix`]).
pub fn parse_url(url: &str) -> Result<(&str, &str, Vec<String>), Error> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(Error::Url(format!(
            "`{url}` is not a destination URL (s3://bucket/prefix or file:///path)"
        )));
    };
    match scheme {
        "s3" => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::Url(format!("`{url}` names no bucket")));
            }
            let parts = segments(prefix, url)?;
            Ok((scheme, bucket, parts))
        }
        "file" => {
            if !rest.starts_with('/') {
                return Err(Error::Url(format!(
                    "`{url}`: a file URL needs an absolute path (file:///srv/static)"
                )));
            }
            Ok((scheme, rest, Vec::new()))
        }
        "gs" | "az" | "abfs" | "azure" => Err(Error::Url(format!(
            "`{url}`: this sluice was built with S3 support only (s3://, and file:// for a folder); S3-compatible stores (GCS's XML API, MinIO, R2) work through s3:// with AWS_ENDPOINT_URL"
        ))),
        _ => Err(Error::Url(format!(
            "`{url}`: unknown scheme `{scheme}` (s3://bucket/prefix or file:///path)"
        ))),
    }
}

/// The segments of a key prefix; `.`/`..`/empty segments are refused (a prefix never
/// escapes its bucket's folder).
fn segments(prefix: &str, url: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for s in prefix.split('/').filter(|s| !s.is_empty()) {
        if s == "." || s == ".." {
            return Err(Error::Url(format!("`{url}`: `{s}` in the key prefix")));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

impl Store {
    pub fn open(url: &str, connection: &Connection) -> Result<Store, Error> {
        Store::open_with_timeouts(
            url,
            connection,
            Duration::from_secs(5),
            Duration::from_secs(120),
        )
    }

    /// [`Store::open`] with its connect and request timeouts.
    pub fn open_with_timeouts(
        url: &str,
        connection: &Connection,
        connect: Duration,
        request: Duration,
    ) -> Result<Store, Error> {
        let (scheme, place, prefix) = parse_url(url)?;
        let (inner, attributes): (Arc<dyn ObjectStore>, bool) = match scheme {
            "s3" => {
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(place);
                if let Some(endpoint) = &connection.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(region) = &connection.region {
                    builder = builder.with_region(region);
                }
                let endpoint = connection
                    .endpoint
                    .clone()
                    .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                    .or_else(|| std::env::var("AWS_ENDPOINT").ok());
                let http = endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://"));
                let options = ClientOptions::new()
                    .with_allow_http(http)
                    .with_connect_timeout(connect)
                    .with_timeout(request);
                let retry = RetryConfig {
                    backoff: BackoffConfig {
                        init_backoff: Duration::from_millis(100),
                        max_backoff: Duration::from_secs(5),
                        base: 2.0,
                    },
                    max_retries: connection.retries,
                    retry_timeout: request,
                };
                let store = builder
                    .with_client_options(options)
                    .with_retry(retry)
                    .build()
                    .map_err(|e| Error::store(format!("opening {url}"), &e))?;
                (Arc::new(store), true)
            }
            _ => {
                std::fs::create_dir_all(place).map_err(|source| Error::Read {
                    path: place.into(),
                    source,
                })?;
                let store = LocalFileSystem::new_with_prefix(place)
                    .map_err(|e| Error::store(format!("opening {url}"), &e))?;
                (Arc::new(store), false)
            }
        };
        Ok(Store {
            inner,
            prefix,
            attributes,
            url: url.trim_end_matches('/').to_string(),
            counts: Counts::default(),
        })
    }

    /// The object `key` under the prefix, as the key itself: `Path::from_iter` would
    /// percent-encode `%`, non-ASCII letters and more, so `img/café.svg` would be stored as
    /// `img/caf%C3%A9.svg`, a key no URL of the page asks for. Segments `Path::parse` refuses
    /// (control characters; `.`/`..`, which no collected name has) fall back to that encoding.
    fn path(&self, key: &str) -> Path {
        let parts: Vec<&str> = self
            .prefix
            .iter()
            .map(String::as_str)
            .chain(key.split('/').filter(|s| !s.is_empty()))
            .collect();
        Path::parse(parts.join("/")).unwrap_or_else(|_| Path::from_iter(parts))
    }

    /// Where `key` is, for messages.
    pub fn locate(&self, key: &str) -> String {
        format!("{}/{key}", self.url)
    }

    /// Every object under the prefix, by key: one paginated listing.
    pub async fn list(&self) -> Result<std::collections::HashMap<String, Listed>, Error> {
        let prefix = Path::from_iter(self.prefix.iter().map(String::as_str));
        let skip = self.prefix.iter().map(|s| s.len() + 1).sum::<usize>();
        let mut out = std::collections::HashMap::new();
        let mut stream = self.inner.list(Some(&prefix));
        let mut n = 0u64;
        while let Some(meta) = stream
            .try_next()
            .await
            .map_err(|e| Error::store(format!("listing {}", self.url), &e))?
        {
            n += 1;
            let full = meta.location.as_ref();
            let key = full.get(skip..).unwrap_or(full).to_string();
            out.insert(
                key,
                Listed {
                    size: meta.size,
                    etag: meta.e_tag.map(|e| normal_etag(&e)),
                },
            );
        }
        // S3 answers 1 000 keys a page.
        self.counts
            .list
            .fetch_add(n.div_ceil(1000).max(1), Ordering::Relaxed);
        Ok(out)
    }

    /// The bytes of `key`, `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.get_versioned(key).await?.map(|v| v.bytes))
    }

    /// The bytes of `key` and its ETag as the store gave it (for [`Store::replace_if`]),
    /// `None` when there is no such object.
    pub async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, Error> {
        self.counts.get.fetch_add(1, Ordering::Relaxed);
        let what = || format!("reading {}", self.locate(key));
        match self.inner.get(&self.path(key)).await {
            Ok(result) => {
                let e_tag = result.meta.e_tag.clone();
                let bytes = result.bytes().await.map_err(|e| Error::store(what(), &e))?;
                Ok(Some(Versioned {
                    bytes: bytes.to_vec(),
                    e_tag,
                }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::store(what(), &e)),
        }
    }

    /// Replaces `key` with `bytes` only while it is still the object `held` read
    /// (`If-Match` its ETag): [`Put::Exists`] when another writer replaced or removed it
    /// first. A store that cannot put conditionally on an ETag (a folder) deletes the object
    /// and puts create-only instead, which tells two writers apart only if one comes after
    /// the other's put.
    pub async fn replace_if(
        &self,
        key: &str,
        bytes: Vec<u8>,
        md5: &str,
        held: &Versioned,
    ) -> Result<Put, Error> {
        if !self.attributes || held.e_tag.is_none() {
            self.delete(key).await?;
            return self.put(key, bytes, None, md5, true).await;
        }
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        let attributes = self.attributes(None, md5);
        let options = PutOptions {
            mode: PutMode::Update(object_store::UpdateVersion {
                e_tag: held.e_tag.clone(),
                version: None,
            }),
            attributes,
            ..PutOptions::default()
        };
        match (self.inner)
            .put_opts(&self.path(key), PutPayload::from(bytes), options)
            .await
        {
            Ok(r) => Ok(Put::Done(r.e_tag.map(|e| normal_etag(&e)))),
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => Ok(Put::Exists),
            Err(e) => Err(Error::store(format!("uploading {}", self.locate(key)), &e)),
        }
    }

    /// The md5 sluice stored with `key` (its metadata on S3; a folder's file is read and
    /// hashed), `None` when the object has none.
    pub async fn stored_md5(&self, key: &str) -> Result<Option<String>, Error> {
        if !self.attributes {
            return Ok(self.get(key).await?.map(|b| crate::md5_hex(&b)));
        }
        self.counts.head.fetch_add(1, Ordering::Relaxed);
        let options = GetOptions::new().with_head(true);
        match self.inner.get_opts(&self.path(key), options).await {
            Ok(result) => Ok(result
                .attributes
                .get(&Attribute::Metadata(MD5_METADATA.into()))
                .map(|v| v.to_string())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::store(format!("reading {}", self.locate(key)), &e)),
        }
    }

    /// Uploads `bytes` as `key` with `headers` and the `md5` metadata; `create_only` makes it
    /// a conditional put that fails with [`Put::Exists`] when the key is taken. Returns the
    /// object's ETag.
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        headers: Option<&Headers>,
        md5: &str,
        create_only: bool,
    ) -> Result<Put, Error> {
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        let attributes = self.attributes(headers, md5);
        let path = self.path(key);
        let what = || format!("uploading {}", self.locate(key));
        let result = if bytes.len() > MULTIPART_THRESHOLD && !create_only {
            let options = PutMultipartOptions {
                attributes,
                ..PutMultipartOptions::default()
            };
            let upload = self
                .inner
                .put_multipart_opts(&path, options)
                .await
                .map_err(|e| Error::store(what(), &e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            writer.write(&bytes);
            writer.finish().await
        } else {
            let options = PutOptions {
                mode: if create_only {
                    PutMode::Create
                } else {
                    PutMode::Overwrite
                },
                attributes,
                ..PutOptions::default()
            };
            self.inner
                .put_opts(&path, PutPayload::from(bytes), options)
                .await
        };
        match result {
            Ok(r) => Ok(Put::Done(r.e_tag.map(|e| normal_etag(&e)))),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) if create_only => Ok(Put::Exists),
            Err(e) => Err(Error::store(what(), &e)),
        }
    }

    /// What an upload stores beside the bytes: the headers, and sluice's md5 (none of it on
    /// a store that keeps no attributes, a folder).
    fn attributes(&self, headers: Option<&Headers>, md5: &str) -> Attributes {
        let mut attributes = Attributes::new();
        if self.attributes {
            if let Some(h) = headers {
                attributes.insert(Attribute::ContentType, h.content_type.into());
                attributes.insert(Attribute::CacheControl, h.cache_control.clone().into());
                if let Some(e) = h.content_encoding {
                    attributes.insert(Attribute::ContentEncoding, e.into());
                }
            }
            attributes.insert(
                Attribute::Metadata(MD5_METADATA.into()),
                md5.to_string().into(),
            );
        }
        attributes
    }

    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        self.counts.delete.fetch_add(1, Ordering::Relaxed);
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::store(format!("deleting {}", self.locate(key)), &e)),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

/// An object's bytes and the ETag they were read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub bytes: Vec<u8>,
    pub e_tag: Option<String>,
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Stored; the object's ETag when the store gave one.
    Done(Option<String>),
    /// A conditional put found the key taken (first writer wins).
    Exists,
}

/// ETags as listings and uploads give them may differ in quoting.
fn normal_etag(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_urls() {
        let (s, b, p) = parse_url("s3://bucket/site/static/").unwrap();
        assert_eq!(
            (s, b, p),
            ("s3", "bucket", vec!["site".into(), "static".into()])
        );
        assert_eq!(parse_url("s3://bucket").unwrap().2, Vec::<String>::new());
        assert!(parse_url("s3:///x").is_err());
        assert!(parse_url("s3://b/a/../x").is_err());
        assert!(parse_url("file://relative").is_err());
        assert_eq!(parse_url("file:///srv/cdn").unwrap().1, "/srv/cdn");
        let e = parse_url("gs://b/p").unwrap_err().to_string();
        assert!(e.contains("S3 support only"), "{e}");
        assert!(parse_url("static").is_err());
    }
}
