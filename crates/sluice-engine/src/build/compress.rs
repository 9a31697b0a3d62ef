//! The compress rule of the build profile, through the cache: which compressed copies a
//! content gets (whitenoise's rules, [`sluice_assets::compress`]), decided once per distinct
//! content (in one build and across builds: `cache/ab/<md5>.br`, `<md5>.br.none` when Brotli
//! did not pay), on every core.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use sluice_assets::compress::{self, Codecs, Encoding};

use crate::cache::Cache;
use crate::record::{Compressed, Key};

/// The encodings to produce, in whitenoise's order (Brotli first).
pub fn encodings(codecs: &Codecs) -> Vec<Encoding> {
    let mut out = Vec::new();
    if codecs.brotli {
        out.push(Encoding::Brotli);
    }
    if codecs.gzip {
        out.push(Encoding::Gzip);
    }
    #[cfg(feature = "zstd")]
    if codecs.zstd.is_some() {
        out.push(Encoding::Zstd);
    }
    out
}

pub fn get(record: &Compressed, encoding: Encoding) -> Option<u64> {
    match encoding {
        Encoding::Brotli => record.br,
        Encoding::Gzip => record.gz,
        #[cfg(feature = "zstd")]
        Encoding::Zstd => record.zst,
    }
}

fn set(record: &mut Compressed, encoding: Encoding, len: Option<u64>) {
    match encoding {
        Encoding::Brotli => record.br = len,
        Encoding::Gzip => record.gz = len,
        #[cfg(feature = "zstd")]
        Encoding::Zstd => record.zst = len,
    }
}

/// One content's compression decisions, made by the first worker that needs them.
type Decision = Arc<OnceLock<Result<Compressed, String>>>;

pub struct Compressor<'a> {
    cache: Cache,
    codecs: Codecs,
    /// Decisions of the previous build (made with the same codecs).
    pub known: &'a BTreeMap<Key, Compressed>,
    memo: Mutex<HashMap<Key, Decision>>,
    pub compressed: AtomicUsize,
    /// Copies from the shared cache that did not decompress to their content.
    pub rejected: AtomicUsize,
    /// Nanoseconds spent encoding, summed over threads.
    pub encode_ns: AtomicU64,
}

impl<'a> Compressor<'a> {
    pub fn new(
        cache: &Cache,
        codecs: Codecs,
        known: &'a BTreeMap<Key, Compressed>,
    ) -> Compressor<'a> {
        Compressor {
            cache: cache.clone(),
            codecs,
            known,
            memo: Mutex::new(HashMap::new()),
            compressed: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
            encode_ns: AtomicU64::new(0),
        }
    }

    fn suffix(&self, encoding: Encoding) -> String {
        match encoding {
            Encoding::Brotli => ".br".to_string(),
            Encoding::Gzip => ".gz".to_string(),
            #[cfg(feature = "zstd")]
            Encoding::Zstd => format!(".zst{}", self.codecs.zstd.unwrap_or(0)),
        }
    }

    /// The cache file holding the `encoding` copy of the content `key`.
    pub fn cache_file(&self, key: &Key, encoding: Encoding) -> PathBuf {
        self.cache.path(key, &self.suffix(encoding))
    }

    fn encode(&self, encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        let started = thread_cpu_ns();
        let data = match encoding {
            Encoding::Brotli => compress::brotli(bytes),
            Encoding::Gzip => compress::gzip(bytes),
            #[cfg(feature = "zstd")]
            Encoding::Zstd => compress::zstd(bytes, self.codecs.zstd.unwrap_or(19)),
        };
        let spent = thread_cpu_ns().saturating_sub(started);
        self.encode_ns.fetch_add(spent, Ordering::Relaxed);
        data
    }

    /// The decision for one encoding: from the cache, else compressed now and cached.
    fn decide(&self, key: &Key, encoding: Encoding, bytes: &[u8]) -> io::Result<Option<u64>> {
        let suffix = self.suffix(encoding);
        let none = format!("{suffix}.none");
        if let Some(len) = self.cache.len_of(key, &suffix) {
            return Ok(Some(len));
        }
        if self.cache.exists(key, &none) {
            return Ok(None);
        }
        if let Some(decided) = self.shared_decision(key, encoding, bytes)? {
            return Ok(decided);
        }
        self.compressed.fetch_add(1, Ordering::Relaxed);
        let data = self.encode(encoding, bytes);
        let remote = self.cache.remote();
        if compress::is_effective(bytes.len(), data.len()) {
            self.cache.put_as(key, &suffix, &data)?;
            if let Some(r) = remote {
                r.put(&Cache::remote_name(key, &suffix), &data);
            }
            Ok(Some(data.len() as u64))
        } else {
            self.cache.put_as(key, &none, b"")?;
            if let Some(r) = remote {
                r.put(&Cache::remote_name(key, &none), b"");
            }
            Ok(None)
        }
    }

    /// The decision as the shared cache has it (`Some(None)`: compression did not pay),
    /// kept locally. A copy is taken only when it decompresses to exactly `bytes`: a
    /// damaged or poisoned object is counted in [`Compressor::rejected`] and compressed
    /// again here.
    fn shared_decision(
        &self,
        key: &Key,
        encoding: Encoding,
        bytes: &[u8],
    ) -> io::Result<Option<Option<u64>>> {
        let Some(remote) = self.cache.remote() else {
            return Ok(None);
        };
        let suffix = self.suffix(encoding);
        let none = format!("{suffix}.none");
        if let Some(data) = remote.get(&Cache::remote_name(key, &suffix)) {
            let same = compress::decompress(encoding, &data, bytes.len())
                .is_some_and(|original| original == bytes);
            if same && compress::is_effective(bytes.len(), data.len()) {
                self.cache.put_as(key, &suffix, &data)?;
                return Ok(Some(Some(data.len() as u64)));
            }
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        if remote.has(&Cache::remote_name(key, &none)) {
            self.cache.put_as(key, &none, b"")?;
            return Ok(Some(None));
        }
        Ok(None)
    }

    /// Which compressed copies `bytes` (with md5 `key`) gets: whitenoise's order, Brotli
    /// first and nothing else when Brotli is not effective. Each content is decided once.
    pub fn record(&self, key: &Key, bytes: &[u8]) -> Result<Compressed, String> {
        if let Some(record) = self.known.get(key) {
            return Ok(*record);
        }
        let cell = {
            let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
            memo.entry(*key).or_default().clone()
        };
        cell.get_or_init(|| {
            let mut record = Compressed::default();
            if bytes.is_empty() {
                return Ok(record);
            }
            for encoding in encodings(&self.codecs) {
                let decided = self
                    .decide(key, encoding, bytes)
                    .map_err(|e| format!("compression cache: {e}"))?;
                set(&mut record, encoding, decided);
                if encoding == Encoding::Brotli && decided.is_none() {
                    // "If Brotli compression wasn't effective gzip won't be either."
                    break;
                }
            }
            Ok(record)
        })
        .clone()
    }

    /// A decision made in this build (or known from the previous one).
    pub fn decided(&self, key: &Key) -> Option<Compressed> {
        if let Some(r) = self.known.get(key) {
            return Some(*r);
        }
        let memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        memo.get(key)
            .and_then(|cell| cell.get())
            .and_then(|r| r.clone().ok())
    }

    /// Makes sure the compressed copy is in the cache (compressing again if the cache lost
    /// it) and returns its file.
    pub fn ensure(&self, key: &Key, encoding: Encoding, original: &[u8]) -> io::Result<PathBuf> {
        let file = self.cache_file(key, encoding);
        if !file.is_file() {
            let data = self.encode(encoding, original);
            self.cache.put_as(key, &self.suffix(encoding), &data)?;
        }
        Ok(file)
    }
}

/// The calling thread's CPU time, in nanoseconds (0 where the clock is unavailable).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if ok {
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    } else {
        0
    }
}
