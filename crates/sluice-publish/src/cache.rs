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
//!   With it, the newest [pack](crate::pack) is fetched (one request for every entry the
//!   last writer's build used); what it lacks is fetched entry by entry. A run allowed to
//!   write leaves a pack of every entry it used, unless it is the pack it read.
//! - Written only by runs allowed to (`--cache-write`, `[cache] write = true`): a
//!   pull-request build reads and never writes. Writes are conditional puts (`If-None-Match:
//!   *`): the first writer wins, and a `412` (someone wrote it first) counts as success.
//!   They go up in the background, at most [`WRITES_IN_FLIGHT`] at a time (a cold build offers
//!   thousands at once: opened all together they overflow the server's accept queue, and the
//!   connects that time out would turn the cache off), and are waited for by
//!   [`RemoteCache::finish`].
//! - What is read is checked by the engine before it is used: a compressed copy must
//!   decompress to the content its name claims, a result must have the md5 that names it;
//!   actions (`<md5>.action`: what a compile or bundle was given → the md5s of what it
//!   produced) are trusted, which is why only writers put them.
//! - Never a failed build: the first error (unreachable, slow past the timeouts, refused)
//!   turns the remote off for the rest of the run, with one warning.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::store::{Connection, Put, Store};
use crate::{Error, md5_hex};

/// How many writes go up at once (`sluice publish`'s default concurrency).
pub const WRITES_IN_FLIGHT: usize = 16;

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

/// What the shared cache had when first asked: the names of its entries, and the newest
/// pack's entries.
#[derive(Debug, Default)]
struct Listing {
    names: HashSet<String>,
    pack: BTreeMap<String, Vec<u8>>,
    /// The md5 its name gives (a run that used exactly its entries leaves no new one).
    pack_md5: Option<String>,
}

#[derive(Debug)]
pub struct RemoteCache {
    runtime: tokio::runtime::Runtime,
    store: Arc<Store>,
    /// `[cache] remote` as configured, for messages.
    url: Arc<str>,
    write: bool,
    listing: OnceLock<Listing>,
    /// Every entry this run took or offered, for the pack it leaves.
    used: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    off: Arc<AtomicBool>,
    warning: Arc<Mutex<Option<String>>>,
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Permits for the writes under way ([`WRITES_IN_FLIGHT`]).
    writes: Arc<tokio::sync::Semaphore>,
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
            used: Arc::default(),
            off: Arc::new(AtomicBool::new(false)),
            warning: Arc::new(Mutex::new(None)),
            pending: Mutex::new(Vec::new()),
            writes: Arc::new(tokio::sync::Semaphore::new(WRITES_IN_FLIGHT)),
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

    /// The names under this version's folder and the newest pack, listed and fetched once.
    fn listed(&self) -> Option<&Listing> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        let listing = self.listing.get_or_init(|| {
            let names: HashSet<String> = match self.runtime.block_on(self.store.list()) {
                Ok(all) => all.into_keys().collect(),
                Err(e) => {
                    Self::give_up(&self.off, &self.warning, &self.url, &e);
                    return Listing::default();
                }
            };
            let mut listing = Listing {
                names,
                ..Listing::default()
            };
            if let Some(newest) = crate::pack::newest(listing.names.iter()) {
                match self.runtime.block_on(self.store.get(newest)) {
                    // A damaged pack is no pack: its entries are fetched one by one.
                    Ok(Some(bytes)) => {
                        if let Some(entries) = crate::pack::decode(&bytes) {
                            listing.pack = entries;
                            listing.pack_md5 = crate::pack::md5_of(newest).map(str::to_string);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => Self::give_up(&self.off, &self.warning, &self.url, &e),
                }
            }
            listing
        });
        (!self.off.load(Ordering::Relaxed)).then_some(listing)
    }

    fn listed_has(&self, name: &str) -> bool {
        self.listed()
            .is_some_and(|l| l.pack.contains_key(name) || l.names.contains(&self.key(name)))
    }

    /// Notes an entry this run took or offered (for its pack, when it may write).
    fn used(&self, name: &str, bytes: &[u8]) {
        if self.write {
            let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
            used.entry(name.to_string())
                .or_insert_with(|| bytes.to_vec());
        }
    }

    /// Leaves a pack of every entry this run used, unless that is the pack it read.
    fn leave_pack(&self) {
        let used = std::mem::take(&mut *self.used.lock().unwrap_or_else(|p| p.into_inner()));
        if !self.write || used.is_empty() || self.off.load(Ordering::Relaxed) {
            return;
        }
        let bytes = crate::pack::encode(&used);
        let md5 = md5_hex(&bytes);
        if self
            .listing
            .get()
            .is_some_and(|l| l.pack_md5.as_deref() == Some(md5.as_str()))
        {
            return;
        }
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = crate::pack::name(seconds, &bytes);
        if let Err(e) = self
            .runtime
            .block_on(self.store.put(&name, bytes, None, &md5, true))
        {
            Self::give_up(&self.off, &self.warning, &self.url, &e);
        }
    }

    /// Waits for the writes still under way; what the run did.
    pub fn finish(&self) -> Summary {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for handle in pending {
            let _ = self.runtime.block_on(handle);
        }
        self.leave_pack();
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
        if let Some(bytes) = self.listed().and_then(|l| l.pack.get(name)) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            self.used(name, bytes);
            return Some(bytes.clone());
        }
        match self.runtime.block_on(self.store.get(&self.key(name))) {
            Ok(Some(bytes)) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                self.used(name, &bytes);
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
            self.used(name, b"");
        }
        there
    }

    fn put(&self, name: &str, bytes: &[u8]) {
        if !self.write || self.off.load(Ordering::Relaxed) {
            return;
        }
        self.used(name, bytes);
        if self.listed_has(name) {
            return;
        }
        let (store, key, bytes) = (Arc::clone(&self.store), self.key(name), bytes.to_vec());
        let url = Arc::clone(&self.url);
        let (off, warning) = (Arc::clone(&self.off), Arc::clone(&self.warning));
        let (written, raced) = (Arc::clone(&self.written), Arc::clone(&self.raced));
        let (used, name) = (Arc::clone(&self.used), name.to_string());
        let writes = Arc::clone(&self.writes);
        let handle = self.runtime.spawn(async move {
            // Never closed, so a permit always comes.
            let Ok(_permit) = writes.acquire_owned().await else {
                return;
            };
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
                    // Another machine's entry won: not this run's bytes in its pack.
                    used.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
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
