//! `sluice publish URL`: the build output into an object store, changed objects only,
//! `staticfiles.json` last.
//!
//! 1. The output root's files ([`plan::entries`]), the destination's listing (one paginated
//!    request) and its publish index ([`crate::index`]).
//! 2. Hashed names that exist are skipped unread; other files are compared by md5 with the
//!    object's (the index's when it vouches for the object, else the object's metadata).
//! 3. Uploads, in parallel over pooled connections, each retried with backoff by the client;
//!    every file before `staticfiles.json`, which goes up only when all of them did — a
//!    failed publish leaves the previous manifest, and so the previous deploy, in force.
//! 4. The index, then the deletion of what an earlier publish uploaded that neither this one
//!    nor the last `keep` manifests name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use sluice_core::progress::Progress;

use crate::index::{Deploy, INDEX_KEY, Index, Indexed};
use crate::plan::{self, Entry, MANIFEST, Remote, Role, Step};
use crate::store::{Connection, Put, Store};
use crate::{Error, md5_hex};

/// What `[publish]` and the flags say.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `Cache-Control: public, max-age=N` of names without a hash (and of the manifest).
    pub max_age: u64,
    /// How many earlier deploys' hashed names are kept besides the current one's.
    pub keep: usize,
    /// Uploads at once.
    pub concurrency: usize,
    /// `"gzip"`/`"br"`: upload that compressed copy's bytes under the original's key too.
    pub serve_compressed: Option<String>,
    pub connection: Connection,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_age: 60,
            keep: 3,
            concurrency: 16,
            serve_compressed: None,
            connection: Connection {
                retries: 3,
                ..Connection::default()
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
    /// The build output (STATIC_ROOT).
    pub output: PathBuf,
    pub settings: Settings,
    /// Decide and report, upload and delete nothing.
    pub dry_run: bool,
}

/// One object uploaded (or, in a dry run, to upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub key: String,
    pub bytes: u64,
    /// `new`, `changed`, `unverified`.
    pub why: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct Requests {
    pub list: u64,
    pub get: u64,
    pub head: u64,
    pub put: u64,
    pub delete: u64,
}

impl Requests {
    pub fn total(&self) -> u64 {
        self.list + self.get + self.head + self.put + self.delete
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub url: String,
    pub dry_run: bool,
    pub uploads: Vec<Upload>,
    pub skipped: usize,
    pub deleted: Vec<String>,
    /// Bytes uploaded (or to upload).
    pub bytes: u64,
    pub elapsed: Duration,
    pub requests: Requests,
}

/// Publishes `request.output` to `request.url`, on a runtime of its own.
pub fn publish(request: &Request, progress: &dyn Progress) -> Result<Report, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output(format!("cannot start the upload runtime: {e}")))?;
    runtime.block_on(run(request, progress))
}

/// The bytes an entry uploads and their md5.
type Body = (Vec<u8>, String);

/// A local file and what to upload for it.
struct Local {
    entry: Entry,
    path: PathBuf,
}

impl Local {
    /// The bytes this entry uploads (a compressed copy's with `serve_compressed`).
    fn body(&self, output: &Path) -> Result<Vec<u8>, Error> {
        let path = match &self.entry.body_from {
            Some(copy) => output.join(copy),
            None => self.path.clone(),
        };
        fs::read(&path).map_err(|source| Error::Read { path, source })
    }
}

async fn run(request: &Request, progress: &dyn Progress) -> Result<Report, Error> {
    let started = Instant::now();
    let settings = &request.settings;
    let output = &request.output;
    let files = output_files(output)?;
    if files.is_empty() {
        return Err(Error::Output(format!(
            "{} has no files to publish: run `sluice build` first",
            output.display()
        )));
    }
    let manifest = read_manifest(output)?;
    let entries = plan::entries(
        &files,
        manifest.as_ref(),
        settings.serve_compressed.as_deref(),
    );
    let locals: Vec<Local> = entries
        .into_iter()
        .map(|entry| Local {
            path: output.join(&entry.key),
            entry,
        })
        .collect();

    let store = Store::open(&request.url, &settings.connection)?;
    // Looked at without the lock first: a publish with nothing to do (and a dry run) writes
    // nothing, not even a lock. Else done again under the lock, from a fresh listing.
    if let Some(report) = attempt(request, progress, &store, &locals, started, false).await? {
        return Ok(report);
    }
    crate::lock::take(&store).await?;
    let result = attempt(request, progress, &store, &locals, started, true).await;
    let released = crate::lock::release(&store).await;
    let report = result?.ok_or_else(|| Error::Output("the publish plan changed".into()))?;
    released?;
    Ok(report)
}

/// One publish of `locals` to `store`. Without the lock (`locked` false), `None` as soon as
/// it would write anything.
async fn attempt(
    request: &Request,
    progress: &dyn Progress,
    store: &Store,
    locals: &[Local],
    started: Instant,
    locked: bool,
) -> Result<Option<Report>, Error> {
    let settings = &request.settings;
    let output = &request.output;
    let listing = store.list().await?;
    let index = match listing.contains_key(INDEX_KEY) {
        true => store
            .get(INDEX_KEY)
            .await?
            .map_or_else(Index::default, |b| Index::parse(&b)),
        false => Index::default(),
    };

    // What the remote side has, for every entry; metadata only where the index is silent.
    let unknown: Vec<&str> = locals
        .iter()
        .filter(|l| plan::needs_metadata(&l.entry, listing.get(&l.entry.key), &index))
        .map(|l| l.entry.key.as_str())
        .collect();
    let fetched: HashMap<&str, Option<String>> = futures::stream::iter(unknown)
        .map(|key| {
            let store = &store;
            async move { store.stored_md5(key).await.map(|m| (key, m)) }
        })
        .buffer_unordered(settings.concurrency.max(1))
        .try_collect()
        .await?;
    let remote_of = |entry: &Entry| -> Remote {
        let Some(listed) = listing.get(&entry.key) else {
            return Remote::Absent;
        };
        let md5 = plan::indexed_md5(&entry.key, listed, &index)
            .map(str::to_string)
            .or_else(|| fetched.get(entry.key.as_str()).cloned().flatten());
        Remote::Present { md5 }
    };

    // Decide every entry; read (and hash) only what is not a hashed name already there.
    let mut steps: Vec<(&Local, Step, Option<Body>)> = Vec::new();
    for local in locals {
        let remote = remote_of(&local.entry);
        let skip_unread = local.entry.role == Role::Hashed && remote != Remote::Absent;
        if skip_unread {
            steps.push((local, Step::Skip, None));
            continue;
        }
        let body = local.body(output)?;
        let md5 = md5_hex(&body);
        let step = plan::decide(local.entry.role, &remote, Some(&md5));
        steps.push((local, step, Some((body, md5))));
    }

    let mut report = Report {
        url: store.url.clone(),
        dry_run: request.dry_run,
        ..Report::default()
    };
    let mut new_index = Index {
        version: 1,
        objects: index.objects.clone(),
        deploys: index.deploys.clone(),
    };
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for (local, step, body) in steps {
        match (step, body) {
            (Step::Upload(why), Some((body, md5))) => {
                report.bytes += body.len() as u64;
                report.uploads.push(plan_upload(local, &body, why));
                let job = (local, body, md5);
                if local.entry.role == Role::Manifest {
                    last.push(job);
                } else {
                    first.push(job);
                }
            }
            _ => report.skipped += 1,
        }
    }
    let current: HashSet<&str> = locals
        .iter()
        .map(|l| l.entry.key.as_str())
        .chain([INDEX_KEY])
        .collect();
    let deploy = Deploy {
        manifest: fs::read(output.join(MANIFEST))
            .map(|b| md5_hex(&b))
            .unwrap_or_default(),
        hashed: locals
            .iter()
            .filter(|l| l.entry.role == Role::Hashed)
            .map(|l| l.entry.key.clone())
            .collect(),
    };
    let mut deploys = index.deploys.clone();
    deploys.retain(|d| d.manifest != deploy.manifest);
    let kept: Vec<&Deploy> = deploys.iter().take(settings.keep).collect();
    let deletions = plan::deletions(&listing, &index, &current, &kept);

    if request.dry_run {
        report.deleted = deletions;
        report.elapsed = started.elapsed();
        report.requests = counts(store);
        return Ok(Some(report));
    }
    let nothing_to_do = first.is_empty() && last.is_empty() && deletions.is_empty();
    if !locked && !nothing_to_do {
        return Ok(None);
    }

    progress.start((first.len() + last.len()) as u64);
    // Everything else, then the manifest: each batch only once the one before is up.
    for batch in [first, last] {
        let done: Vec<(String, Indexed)> = futures::stream::iter(batch)
            .map(|(local, body, md5)| {
                let store = &store;
                let headers = plan::headers(&local.entry, settings.max_age);
                async move {
                    let size = body.len() as u64;
                    let put = store
                        .put(&local.entry.key, body, Some(&headers), &md5, false)
                        .await?;
                    progress.advance();
                    let etag = match put {
                        Put::Done(etag) => etag,
                        Put::Exists => None,
                    };
                    let indexed = Indexed {
                        md5,
                        etag,
                        size,
                        hashed: local.entry.role == Role::Hashed,
                    };
                    Ok::<_, Error>((local.entry.key.clone(), indexed))
                }
            })
            .buffer_unordered(settings.concurrency.max(1))
            .try_collect()
            .await?;
        new_index.objects.extend(done);
    }
    progress.finish();

    // Objects skipped because equal, which the index did not know yet (uploaded by a
    // publish that failed before its index), are sluice's too.
    for local in locals {
        let key = &local.entry.key;
        if let (Some(listed), false) = (listing.get(key), new_index.objects.contains_key(key))
            && let Remote::Present { md5: Some(md5) } = remote_of(&local.entry)
        {
            new_index.objects.insert(
                key.clone(),
                Indexed {
                    md5,
                    etag: listed.etag.clone(),
                    size: listed.size,
                    hashed: local.entry.role == Role::Hashed,
                },
            );
        }
    }
    // Hashed names present but not in the index (skipped unread) were put there by a publish
    // that failed before its index — if sluice put them: its md5 metadata says so (one HEAD
    // each; there are none after a publish that finished). Adopted, `--keep` can delete them
    // once no kept deploy names them; what another tool uploaded stays its own.
    let orphans: Vec<&String> = locals
        .iter()
        .filter(|l| l.entry.role == Role::Hashed)
        .map(|l| &l.entry.key)
        .filter(|key| listing.contains_key(*key) && !new_index.objects.contains_key(*key))
        .collect();
    let adopted: Vec<(String, Option<String>)> = futures::stream::iter(orphans)
        .map(|key| {
            let store = &store;
            async move { Ok::<_, Error>((key.clone(), store.stored_md5(key).await?)) }
        })
        .buffer_unordered(settings.concurrency.max(1))
        .try_collect()
        .await?;
    for (key, md5) in adopted {
        if let (Some(md5), Some(listed)) = (md5, listing.get(&key)) {
            new_index.objects.insert(
                key,
                Indexed {
                    md5,
                    etag: listed.etag.clone(),
                    size: listed.size,
                    hashed: true,
                },
            );
        }
    }
    new_index.push_deploy(deploy, settings.keep);
    for key in &deletions {
        new_index.objects.remove(key);
    }
    // Unchanged (a publish with nothing to do): not rewritten.
    if new_index != index && !locked {
        return Ok(None);
    }
    if new_index != index {
        let bytes = new_index.to_bytes();
        let md5 = md5_hex(&bytes);
        store.put(INDEX_KEY, bytes, None, &md5, false).await?;
    }
    futures::stream::iter(&deletions)
        .map(|key| store.delete(key))
        .buffer_unordered(settings.concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    report.deleted = deletions;
    report.elapsed = started.elapsed();
    report.requests = counts(store);
    Ok(Some(report))
}

fn plan_upload(local: &Local, body: &[u8], why: plan::Why) -> Upload {
    Upload {
        key: local.entry.key.clone(),
        bytes: body.len() as u64,
        why: why.as_str(),
    }
}

fn counts(store: &Store) -> Requests {
    let c = &store.counts;
    Requests {
        list: c.list.load(Ordering::Relaxed),
        get: c.get.load(Ordering::Relaxed),
        head: c.head.load(Ordering::Relaxed),
        put: c.put.load(Ordering::Relaxed),
        delete: c.delete.load(Ordering::Relaxed),
    }
}

/// Every file under the output root, `/`-separated and sorted; hidden names (sluice's temp
/// files, `.sluice/`, Django's default ignore) are not published.
fn output_files(root: &Path) -> Result<Vec<String>, Error> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
        let read = fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.into(),
            source,
        })?;
        for entry in read {
            let entry = entry.map_err(|source| Error::Read {
                path: dir.into(),
                source,
            })?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::Output(format!(
                    "{} is not a UTF-8 name, which an object key must be",
                    entry.path().display()
                )));
            };
            if name.starts_with('.') {
                continue;
            }
            let key = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(|source| Error::Read {
                path: entry.path(),
                source,
            })?;
            // A symlink (`sync --link`) is published as what it points to.
            let is_dir = kind.is_dir() || (kind.is_symlink() && entry.path().is_dir());
            if is_dir {
                walk(&entry.path(), &format!("{key}/"), out)?;
            } else {
                out.push(key);
            }
        }
        Ok(())
    }
    if !root.is_dir() {
        return Err(Error::Output(format!(
            "the output folder {} does not exist: run `sluice build` first",
            root.display()
        )));
    }
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// `staticfiles.json`'s `paths`, when the build wrote one.
fn read_manifest(root: &Path) -> Result<Option<BTreeMap<String, String>>, Error> {
    let path = root.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Output(format!(
            "{}:{}:{}: not a Django manifest: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let Some(paths) = value.get("paths").and_then(|p| p.as_object()) else {
        return Err(Error::Output(format!(
            "{}: not a Django manifest (no \"paths\")",
            path.display()
        )));
    };
    Ok(Some(
        paths
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
    ))
}
