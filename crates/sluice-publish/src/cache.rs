//! The shared build cache (`[cache] remote = "s3://bucket/sluice-cache"`): the engine's
//! content-addressed results (compressed copies, compiled files, minified bundles and their
//! actions) in a bucket a CI fleet shares, behind each machine's
//! `.sluice/cache/` ([`sluice_engine::cache::Remote`]).
//!
//! - Entries live under `<prefix>/<sluice version and rules>/<ab>/<name>`: a release that
//!   changes what a rule produces never reads an older release's entries. A name carries the
//!   md5 of the input and, in its suffix, the encoding and its settings (`.br`, `.gz`,
//!   `.zst19`, `.br.none` when the copy did not pay).
//! - One paginated listing (on first use) says what is there: a miss costs no request.
//! - Written only by runs allowed to (`--cache-write`, `[cache] write = true`): a
//!   pull-request build reads and never writes. Writes are conditional puts (`If-None-Match:
//!   *`): the first writer wins, and a `412` (someone wrote it first) counts as success.
//!   They go up in the background and are waited for by [`RemoteCache::finish`].
//! - What is read is checked by the engine before it is used: a compressed copy must
//!   decompress to the content its name claims, a result must have the md5 that names it;
//!   actions (`<md5>.action`: what a compile or bundle was given → the md5s of what it
//!   produced) are trusted, which is why only writers put them.
//! - Never a failed build: the first error (unreachable, slow past the timeouts, refused)
//!   turns the remote off for the rest of the run, with one warning.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::store::{Connection, Put, Store};
use crate::{Error, md5_hex};

/// What a run did with the shared cache.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub hits: u64,
    pub written: u64,
    /// Puts that found the entry already written (by another machine).
    pub raced: u64,
    /// Why the remote was turned off, once it was.
    pub warning: Option<String>,
}

#[derive(Debug)]
pub struct RemoteCache {
    runtime: tokio::runtime::Runtime,
    store: Arc<Store>,
    /// `[cache] remote` as configured, for messages.
    url: Arc<str>,
    write: bool,
    listing: OnceLock<HashSet<String>>,
    off: Arc<AtomicBool>,
    warning: Arc<Mutex<Option<String>>>,
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    hits: AtomicU64,
    written: Arc<AtomicU64>,
    raced: Arc<AtomicU64>,
}

impl RemoteCache {
    /// The cache at `url`; `version` names the rules its entries were made by.
    pub fn open(
        url: &str,
        connection: &Connection,
        version: &str,
        write: bool,
    ) -> Result<RemoteCache, Error> {
        // Short timeouts and one retry: a slow bucket must not make a slow build.
        let connection = Connection {
            retries: connection.retries.min(1),
            ..connection.clone()
        };
        let folder: String = version
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let store = Store::open_with_timeouts(
            &format!("{}/{folder}", url.trim_end_matches('/')),
            &connection,
            Duration::from_secs(2),
            Duration::from_secs(20),
        )?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Output(format!("cannot start the cache runtime: {e}")))?;
        Ok(RemoteCache {
            runtime,
            store: Arc::new(store),
            url: url.into(),
            write,
            listing: OnceLock::new(),
            off: Arc::new(AtomicBool::new(false)),
            warning: Arc::new(Mutex::new(None)),
            pending: Mutex::new(Vec::new()),
            hits: AtomicU64::new(0),
            written: Arc::new(AtomicU64::new(0)),
            raced: Arc::new(AtomicU64::new(0)),
        })
    }

    /// `ab/abcd…br`: the key of an entry under the version's folder.
    fn key(&self, name: &str) -> String {
        let shard = name.get(..2).unwrap_or("00");
        format!("{shard}/{name}")
    }

    /// Turns the remote off for the rest of the run, keeping the first reason.
    fn give_up(off: &AtomicBool, warning: &Mutex<Option<String>>, url: &str, error: &Error) {
        off.store(true, Ordering::Relaxed);
        let mut w = warning.lock().unwrap_or_else(|p| p.into_inner());
        if w.is_none() {
            *w = Some(format!(
                "the shared cache {url} is not usable ({error}); building with the local cache only"
            ));
        }
    }

    /// The names under this version's folder, listed once.
    fn listed(&self) -> Option<&HashSet<String>> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        let listing = self
            .listing
            .get_or_init(|| match self.runtime.block_on(self.store.list()) {
                Ok(all) => all.into_keys().collect(),
                Err(e) => {
                    Self::give_up(&self.off, &self.warning, &self.url, &e);
                    HashSet::new()
                }
            });
        (!self.off.load(Ordering::Relaxed)).then_some(listing)
    }

    fn listed_has(&self, name: &str) -> bool {
        self.listed().is_some_and(|l| l.contains(&self.key(name)))
    }

    /// Waits for the writes still under way; what the run did.
    pub fn finish(&self) -> Summary {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for handle in pending {
            let _ = self.runtime.block_on(handle);
        }
        Summary {
            hits: self.hits.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            raced: self.raced.load(Ordering::Relaxed),
            warning: self
                .warning
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

impl sluice_engine::cache::Remote for RemoteCache {
    fn get(&self, name: &str) -> Option<Vec<u8>> {
        if !self.listed_has(name) {
            return None;
        }
        match self.runtime.block_on(self.store.get(&self.key(name))) {
            Ok(Some(bytes)) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(bytes)
            }
            Ok(None) => None,
            Err(e) => {
                Self::give_up(&self.off, &self.warning, &self.url, &e);
                None
            }
        }
    }

    fn has(&self, name: &str) -> bool {
        let there = self.listed_has(name);
        if there {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        there
    }

    fn put(&self, name: &str, bytes: &[u8]) {
        if !self.write || self.off.load(Ordering::Relaxed) || self.listed_has(name) {
            return;
        }
        let (store, key, bytes) = (Arc::clone(&self.store), self.key(name), bytes.to_vec());
        let url = Arc::clone(&self.url);
        let (off, warning) = (Arc::clone(&self.off), Arc::clone(&self.warning));
        let (written, raced) = (Arc::clone(&self.written), Arc::clone(&self.raced));
        let handle = self.runtime.spawn(async move {
            if off.load(Ordering::Relaxed) {
                return;
            }
            let md5 = md5_hex(&bytes);
            match store.put(&key, bytes, None, &md5, true).await {
                Ok(Put::Done(_)) => {
                    written.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Put::Exists) => {
                    raced.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => Self::give_up(&off, &warning, &url, &e),
            }
        });
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }
}
