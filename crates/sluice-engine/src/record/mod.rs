//! The ownership record: one per output root, shared by every command.
//!
//! It says what sluice wrote into the output root (each file's `lstat` right after writing
//! and the identity of its bytes), and what it knows that makes the next pass cheap: each
//! source's fingerprint and md5, each compile's and bundle's inputs with their fingerprints
//! and the cache keys of their results, the Django names of the last plan, the compression
//! decisions per content. Any command reads it and any command writes it, so `sync` after
//! `build` (or the reverse, in any order) replaces the other profile's outputs without
//! calling them foreign, and keeps what both want.
//!
//! A file in the output that the record does not name is not sluice's: it is never deleted or
//! overwritten (unless `--force`/`--clean`). The record lives in `.sluice/` beside the
//! configuration (never in the output), in a compact binary form ([`codec`]), with a log of
//! what each later save changed beside it ([`log`]): a one-file build appends a few
//! kilobytes instead of writing the whole record. A missing, unreadable or foreign record
//! means "nothing written yet", which is always safe.

pub mod codec;
mod file;
mod lazy;
pub mod log;
mod tracked;

pub use lazy::Outputs;
pub use tracked::{Table, Touched};

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use md5::Digest;
use sluice_core::output::write_atomic;
use sluice_core::sources::FileMeta;

/// A 16-byte identity of some bytes: the md5 of a content (Django's names use it), or of a
/// description for derived identities (a compressed copy, a dev variant).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub [u8; 16]);

impl Key {
    /// The md5 of `bytes`.
    pub fn of(bytes: &[u8]) -> Key {
        Key(md5::Md5::digest(bytes).into())
    }

    /// An identity made of parts (each ended by a NUL, so parts cannot run into each other).
    pub fn derive(parts: &[&[u8]]) -> Key {
        let mut h = md5::Md5::new();
        for part in parts {
            h.update(part);
            h.update([0u8]);
        }
        Key(h.finalize().into())
    }

    /// The identity of a file by its fingerprint (no read).
    pub fn of_meta(meta: &FileMeta) -> Key {
        let mut bytes = [0u8; 24];
        bytes[..8].copy_from_slice(&meta.len.to_le_bytes());
        bytes[8..16].copy_from_slice(&meta.mtime_ns.to_le_bytes());
        bytes[16..].copy_from_slice(&meta.ino.to_le_bytes());
        Key::derive(&[b"meta", &bytes])
    }

    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s
    }

    pub fn from_hex(text: &str) -> Option<Key> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut k = [0u8; 16];
        for (i, byte) in k.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Key(k))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", &self.hex()[..12])
    }
}

/// What an output is, for the build profile's report and for telling what a build can keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutKind {
    /// Written by the dev profile (or taken back after a crash: not known).
    Dev = 0,
    /// The build's unhashed copy of a collected file.
    Copy = 1,
    /// The build's Django-named copy.
    Hashed = 2,
    Brotli = 3,
    Gzip = 4,
    Zstd = 5,
    /// `staticfiles.json`.
    Manifest = 6,
    /// `sluice.json`.
    Record = 7,
}

impl OutKind {
    fn from_u8(v: u8) -> Option<OutKind> {
        Some(match v {
            0 => OutKind::Dev,
            1 => OutKind::Copy,
            2 => OutKind::Hashed,
            3 => OutKind::Brotli,
            4 => OutKind::Gzip,
            5 => OutKind::Zstd,
            6 => OutKind::Manifest,
            7 => OutKind::Record,
            _ => return None,
        })
    }
}

/// A file sluice wrote into the output root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutEntry {
    /// `lstat` of the output right after writing it (the link itself for `--link`).
    pub meta: FileMeta,
    /// A symlink to its source (`sync --link`).
    pub link: bool,
    /// A verbatim copy (or link) of a source whose fingerprint was this when copied.
    pub source: Option<FileMeta>,
    /// The identity of its bytes, when known (every output but a plain copy made without
    /// reading its source).
    pub key: Option<Key>,
    pub kind: OutKind,
}

/// What is known of a source file: its fingerprint, and the md5 of its bytes when some pass
/// read it with this fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFact {
    pub meta: FileMeta,
    pub md5: Option<Key>,
}

/// A result kept in the cache: its key (the md5 of its bytes) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRef {
    pub key: Key,
    pub len: u64,
}

/// The last compile of one source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompileNode {
    /// The compiled output's logical path.
    pub output: String,
    /// What else the result depends on (the compiler, the load paths): another value
    /// compiles again.
    pub settings: Option<Key>,
    /// Every file the compile read (the source first), with its fingerprint then; `None`:
    /// compile again (the last attempt failed).
    pub inputs: Vec<(PathBuf, Option<FileMeta>)>,
    /// The last good output (kept through a failed compile) and its source map.
    pub code: Option<BlobRef>,
    pub map: Option<BlobRef>,
    /// Taken for a partial: it does not compile on its own and other sources import it.
    pub partial: bool,
}

/// The last build of one bundle in one variant (dev, minified, plain).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BundleNode {
    /// The definition it was built from (a change rebuilds it).
    pub def: String,
    pub members: Vec<String>,
    /// Every collected file read, with its stamp ([`Key::of_meta`] of a source, the cache key
    /// of a compiled output).
    pub inputs: Vec<(String, Key)>,
    /// The files it became, in order (the bundle first, then its map).
    pub outputs: Vec<(String, BlobRef)>,
}

/// A `*.css`/`*.js` file as the last Django plan named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFact {
    pub hashed: String,
    /// md5 and length of the hashed (rewritten) copy.
    pub key: Key,
    pub len: u64,
    /// Its references: target and kind (0 hashed, 1 original, 2 directory).
    pub refs: Vec<(String, u8)>,
}

/// The compressed sizes of one content (`None`: not produced, or not effective).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compressed {
    pub br: Option<u64>,
    pub gz: Option<u64>,
    pub zst: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Record {
    pub output: PathBuf,
    /// The profile of the last pass (what its outputs are).
    pub profile: String,
    /// What `plan` was made with; another `STATIC_URL` re-plans everything.
    pub static_url: String,
    /// What `contents` were decided with.
    pub codecs: String,
    pub sources: Table<String, SourceFact>,
    /// Decoded on first use ([`Outputs`]).
    pub outputs: Outputs,
    /// By the source's logical path.
    pub compiles: Table<String, CompileNode>,
    /// By variant and output (`"dev\0css/site.css"`).
    pub bundles: Table<String, BundleNode>,
    /// The md5 of every collected file (sources, compiled outputs, bundles) the last Django
    /// plan was made from: what changed since is what a build re-plans.
    pub collected: Table<String, Key>,
    pub plan: Table<String, PlanFact>,
    /// The compression decisions by content: of every content a build put in the output,
    /// and of some no longer there until the record is next written whole.
    pub contents: Table<Key, Compressed>,
    /// Every stylesheet and script of the last build: the name a page loads it by and its
    /// `sha384-…` (subresource integrity), as `sluice.json` lists them.
    pub integrity: Table<String, (String, String)>,
    /// Output folder (relative, `/`-separated, `""` for the root) → its mtime when the record
    /// was saved: see [`untouched_folders`].
    pub dirs: Table<String, i64>,
    /// The build report's totals as the build that saved the record left the outputs
    /// (`None` after any other pass): a build with nothing changed reports them from here.
    pub totals: Option<Totals>,
    /// When the record was last saved (its file's or its log's mtime) as loaded or saved
    /// in this run (not stored).
    pub loaded_mtime_ns: Option<i64>,
    /// The files it was loaded from or saved to (not stored).
    saved: Option<log::Saved>,
    /// Output folders this run found untouched ([`Record::untouched_dirs`]): a save keeps
    /// their recorded mtimes unless an output in them changed (not stored).
    verified: Verified,
}

/// A set kept through `&self` (the record is read from several places at once).
#[derive(Debug, Default)]
struct Verified(std::sync::Mutex<HashSet<String>>);

impl Clone for Verified {
    fn clone(&self) -> Verified {
        Verified(std::sync::Mutex::new(self.lock().clone()))
    }
}

impl Verified {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a build's report says of the whole output: counts and bytes by kind, the largest
/// outputs (name, bytes, gzip and Brotli bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub outputs: u64,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
    pub zstd: u64,
    /// `staticfiles.json` is among the outputs.
    pub manifest: bool,
    pub largest: Vec<(String, u64, Option<u64>, Option<u64>)>,
}

/// The name the files of one output root share in `.sluice/` (`out-<hash>`).
pub fn stem(output: &Path) -> String {
    let key = xxhash_rust::xxh3::xxh3_64(output.as_os_str().as_encoded_bytes());
    format!("out-{key:016x}")
}

impl Record {
    pub fn new(output: &Path) -> Record {
        Record {
            output: output.to_path_buf(),
            ..Record::default()
        }
    }

    /// The record file of `output` in `state_dir`.
    pub fn file(state_dir: &Path, output: &Path) -> PathBuf {
        state_dir.join(format!("{}.rec", stem(output)))
    }

    /// The record's log of `output` in `state_dir` ([`log`]), beside its file.
    pub fn log_file(state_dir: &Path, output: &Path) -> PathBuf {
        Record::file(state_dir, output).with_extension("log")
    }

    /// Loads the record of `output` (its file, then its log); anything unreadable is
    /// "nothing recorded".
    pub fn load(state_dir: &Path, output: &Path) -> Record {
        match Record::read(&Record::file(state_dir, output)) {
            Some(record) if record.output == output => record,
            _ => Record::new(output),
        }
    }

    /// Reads the record file at `path` and the log beside it (`None`: unreadable).
    pub fn read(path: &Path) -> Option<Record> {
        let bytes = std::fs::read(path).map(std::sync::Arc::new).ok()?;
        let mtime = |path: &Path| {
            std::fs::metadata(path)
                .ok()
                .map(|m| FileMeta::of(&m).mtime_ns)
        };
        let id = xxhash_rust::xxh3::xxh3_64(&bytes);
        let base_len = bytes.len();
        let mut record = Record::decode_shared(bytes).ok()?;
        record.loaded_mtime_ns = mtime(path);
        let log = path.with_extension("log");
        let log_len = std::fs::read(&log).map_or(0, |bytes| record.apply_log(&bytes, id));
        if log_len > 0 {
            record.loaded_mtime_ns = record.loaded_mtime_ns.max(mtime(&log));
        }
        record.saved = Some(log::Saved {
            id,
            base_len,
            log_len,
        });
        Some(record)
    }

    /// Saves the record, with the current mtime of every output folder where an output
    /// changed or that was not found untouched: what changed goes onto the record's log, or
    /// the whole record is written anew ([`log`]).
    pub fn save(&mut self, state_dir: &Path) -> sluice_core::Result<()> {
        let path = Record::file(state_dir, &self.output);
        let log = Record::log_file(state_dir, &self.output);
        self.update_dirs();
        sluice_core::output::ensure_state_dir(state_dir)?;
        // An append that fails is answered with a whole record, which no frame follows.
        let written = if self.append_frame(&log).unwrap_or(false) {
            log
        } else {
            if self.profile.starts_with("build ") {
                self.prune_contents();
            }
            let bytes = self.encode();
            write_atomic(&path, &bytes).map_err(|e| sluice_core::Error::io("write", &path, e))?;
            if let Err(e) = std::fs::remove_file(&log)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(sluice_core::Error::io("remove", &log, e));
            }
            self.saved = Some(log::Saved {
                id: xxhash_rust::xxh3::xxh3_64(&bytes),
                base_len: bytes.len(),
                log_len: 0,
            });
            path
        };
        // What is in memory is what the files hold.
        self.outputs.saved();
        self.sources.saved();
        self.compiles.saved();
        self.bundles.saved();
        self.collected.saved();
        self.plan.saved();
        self.contents.saved();
        self.integrity.saved();
        self.dirs.saved();
        self.loaded_mtime_ns = std::fs::metadata(&written)
            .ok()
            .map(|m| FileMeta::of(&m).mtime_ns);
        Ok(())
    }

    /// Drops the compression decisions of contents no copy in the output holds any more. A
    /// build adds decisions as it goes and leaves the dead ones to this, done when the whole
    /// record is written (a frame stays small, and no build walks every output for it).
    fn prune_contents(&mut self) {
        let live: HashSet<Key> = (self.outputs.values())
            .filter(|e| matches!(e.kind, OutKind::Copy | OutKind::Hashed))
            .filter_map(|e| e.key)
            .collect();
        self.contents.retain(|k, _| live.contains(k));
    }

    /// Brings `dirs` up to date for a save: the folders of changed outputs, and those this
    /// run did not find untouched, are looked at again; the others keep the mtime they were
    /// found with (a stale one only costs the next run a look at that folder, never trust it
    /// should not have). When the outputs changed blindly, every folder is looked at.
    fn update_dirs(&mut self) {
        // Each folder where an output changed, and whether one of those is there now.
        let mut changed: BTreeMap<String, bool> = BTreeMap::new();
        match self.outputs.touched() {
            None => {}
            Some(Touched::Keys(keys)) => {
                for k in keys {
                    let there = self.outputs.contains_key(k);
                    *changed.entry(parent_dir(k).to_owned()).or_default() |= there;
                }
            }
            Some(Touched::All) => {
                let dirs = folder_mtimes(&self.output, self.outputs.keys().map(String::as_str));
                if *self.dirs != dirs {
                    self.dirs = Table::from(dirs);
                }
                return;
            }
        }
        let mut look: Vec<String> = {
            let verified = self.verified.lock();
            (self.dirs.keys())
                .filter(|dir| !verified.contains(dir.as_str()) && !changed.contains_key(*dir))
                .cloned()
                .collect()
        };
        for (dir, there) in changed {
            if there || holds_output(&self.outputs, &dir) {
                look.push(dir);
            } else {
                self.dirs.remove(&dir);
            }
        }
        for dir in look {
            let mtime = std::fs::metadata(self.output.join(&dir))
                .map_or(UNREADABLE, |meta| FileMeta::of(&meta).mtime_ns);
            if self.dirs.get(&dir) != Some(&mtime) {
                self.dirs.insert(dir, mtime);
            }
        }
    }

    /// Output folders whose contents cannot have changed since the record was saved.
    pub fn untouched_dirs(&self) -> HashSet<&str> {
        let untouched = untouched_folders(&self.output, &self.dirs, self.loaded_mtime_ns);
        self.verified
            .lock()
            .extend(untouched.iter().map(|d| (*d).to_owned()));
        untouched
    }

    /// Every cache key this record refers to (compile and bundle results, compressed
    /// contents): what pruning the cache must keep.
    pub fn cache_keys(&self, into: &mut HashSet<Key>) {
        for c in self.compiles.values() {
            into.extend(c.code.iter().chain(&c.map).map(|b| b.key));
        }
        for b in self.bundles.values() {
            into.extend(b.outputs.iter().map(|(_, blob)| blob.key));
        }
        into.extend(self.contents.keys().copied());
    }
}

/// Whether an output is directly in folder `dir` (logical, `""` for the root).
fn holds_output(outputs: &BTreeMap<String, OutEntry>, dir: &str) -> bool {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    (outputs.range::<String, _>(prefix.clone()..))
        .take_while(|(k, _)| k.starts_with(&prefix))
        .any(|(k, _)| parent_dir(k) == dir)
}

/// The mtime of every output folder that holds one of `paths` (logical, `/`-separated), to
/// store beside the record (see [`untouched_folders`]).
pub fn folder_mtimes<'a>(
    output: &Path,
    paths: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, i64> {
    let dirs: BTreeSet<&str> = paths.map(parent_dir).collect();
    dirs.into_iter()
        .map(|dir| {
            // A folder that cannot be read now is never taken for untouched: every folder
            // holding an output is named, so the others need no look.
            let mtime = std::fs::metadata(output.join(dir))
                .map_or(UNREADABLE, |meta| FileMeta::of(&meta).mtime_ns);
            (dir.to_owned(), mtime)
        })
        .collect()
}

/// The mtime stored for an output folder that could not be read when the record was saved.
const UNREADABLE: i64 = i64::MIN;

/// Output folders whose contents cannot have changed since a record saved at `saved` (its
/// file's mtime) recorded their mtimes as `dirs`: the folder's mtime is the recorded one,
/// and older than the record file, so no change can hide in the same clock tick. In such a
/// folder no file was added, removed or renamed (an in-place edit is not seen: sluice
/// replaces files by rename, editors and tools mostly do too).
pub fn untouched_folders<'a>(
    output: &Path,
    dirs: &'a BTreeMap<String, i64>,
    saved: Option<i64>,
) -> HashSet<&'a str> {
    let Some(saved) = saved else {
        return HashSet::new();
    };
    dirs.iter()
        .filter(|&(dir, &mtime)| {
            mtime != UNREADABLE
                && mtime < saved
                && std::fs::metadata(output.join(dir))
                    .is_ok_and(|m| m.is_dir() && FileMeta::of(&m).mtime_ns == mtime)
        })
        .map(|(dir, _)| dir.as_str())
        .collect()
}

/// The folder part of a logical path (`""` at the top).
pub fn parent_dir(logical: &str) -> &str {
    logical.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: FileMeta = FileMeta {
        len: 3,
        mtime_ns: 1_700_000_000_123_456_789,
        ino: 42,
    };

    fn sample(output: &Path) -> Record {
        let mut r = Record::new(output);
        r.profile = "build hash".into();
        r.static_url = "/static/".into();
        r.codecs = "br,gz".into();
        r.sources.insert(
            "css/a.css".into(),
            SourceFact {
                meta: M,
                md5: Some(Key::of(b"a")),
            },
        );
        r.sources
            .insert("css/b.css".into(), SourceFact { meta: M, md5: None });
        r.outputs.insert(
            "css/a.css".into(),
            OutEntry {
                meta: M,
                link: false,
                source: Some(M),
                key: None,
                kind: OutKind::Copy,
            },
        );
        r.outputs.insert(
            "css/a.0cc175b9c0f1.css".into(),
            OutEntry {
                meta: M,
                link: false,
                source: None,
                key: Some(Key::of(b"a")),
                kind: OutKind::Hashed,
            },
        );
        r.compiles.insert(
            "css/x.scss".into(),
            CompileNode {
                output: "css/x.css".into(),
                settings: Some(Key::of(b"s")),
                inputs: vec![
                    ("/src/css/x.scss".into(), Some(M)),
                    ("/src/_p.scss".into(), None),
                ],
                code: Some(BlobRef {
                    key: Key::of(b"x"),
                    len: 1,
                }),
                map: None,
                partial: false,
            },
        );
        r.bundles.insert(
            "dev\0css/all.css".into(),
            BundleNode {
                def: "css\0all".into(),
                members: vec!["css/a.css".into()],
                inputs: vec![("css/a.css".into(), Key::of_meta(&M))],
                outputs: vec![(
                    "css/all.css".into(),
                    BlobRef {
                        key: Key::of(b"all"),
                        len: 3,
                    },
                )],
            },
        );
        r.collected.insert("css/a.css".into(), Key::of(b"a"));
        r.plan.insert(
            "css/a.css".into(),
            PlanFact {
                hashed: "css/a.0cc175b9c0f1.css".into(),
                key: Key::of(b"a"),
                len: 1,
                refs: vec![("img/x.png".into(), 0)],
            },
        );
        r.contents.insert(
            Key::of(b"a"),
            Compressed {
                br: Some(10),
                gz: None,
                zst: Some(0),
            },
        );
        r.integrity.insert(
            "css/a.css".into(),
            ("css/a.0cc175b9c0f1.css".into(), "sha384-x".into()),
        );
        r.dirs.insert("css".into(), -5);
        r
    }

    #[test]
    fn round_trips_and_rejects_other_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = sample(Path::new("/srv/static"));
        record.save(dir.path()).unwrap();
        let loaded = Record::load(dir.path(), Path::new("/srv/static"));
        let again = loaded.encode();
        // `save` replaced `dirs` with what is on disk (nothing under /srv/static here).
        record.dirs = loaded.dirs.clone();
        assert_eq!(again, record.encode());
        assert_eq!(loaded.outputs, record.outputs);
        assert_eq!(loaded.compiles, record.compiles);
        assert_eq!(loaded.bundles, record.bundles);
        assert!(
            Record::load(dir.path(), Path::new("/srv/other"))
                .outputs
                .is_empty()
        );
    }

    #[test]
    fn a_damaged_record_is_nothing_recorded() {
        let bytes = sample(Path::new("/o")).encode();
        for cut in [0, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(Record::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Record::decode(&longer).is_err());
    }

    #[test]
    fn keys_in_hex() {
        let k = Key::of(b"hello");
        assert_eq!(k.hex(), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(Key::from_hex(&k.hex()), Some(k));
        assert_eq!(Key::from_hex("zz"), None);
    }
}
