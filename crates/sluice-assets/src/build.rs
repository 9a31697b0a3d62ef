//! `sluice build`, the production profile: every source collected into the output root as
//! `collectstatic` would, named and rewritten as Django's `ManifestStaticFilesStorage` does
//! ([`crate::django_manifest`]) with `staticfiles.json`, and both copies compressed as
//! whitenoise does ([`crate::compress`]).
//!
//! What makes it safe and fast lives in `.sluice/`:
//! - the **build state** (one file per output root): each source's fingerprint and md5, each
//!   `*.css`/`*.js` file's plan (final name, references), and every output sluice wrote with
//!   its `lstat` and content key. A second build with nothing changed reads no source and
//!   writes nothing; a change re-reads only the changed files and the `*.css`/`*.js` files
//!   whose names depend on them ([`ManifestPlan::affected_by`]); a file in the output that
//!   sluice did not write is never overwritten or deleted (unless `force`/`clean`).
//! - the **compression cache**, by content md5: `.sluice/compress/ab/<md5>.br` (or
//!   `<md5>.br.none` when Brotli was not effective), so no content is compressed twice, in one
//!   build or across builds.
//!
//! Nothing half-written: new outputs go into a staging folder beside the output root and are
//! moved into place (one rename each) only once every file was read, planned and compressed
//! without error; on any error the output root is left exactly as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sluice_core::output::{remove_and_prune, write_atomic};
use sluice_core::sources::{
    FileMeta, IgnoreRules, ProblemKind, SourceFile, SourceIndex, SourceRoot, scan,
};
use sluice_core::sync::{FileError, Progress, check_layout, output_path};

use sluice_core::bundles::{BundleDef, CompilerKind, PipelineSettings};

use crate::bundle::{self, Minifier};
use crate::compress::{self, Codecs, Encoding};
use crate::django_manifest::{
    self, ManifestOptions, ManifestPlan, PlannedFile, Reference, ReferenceKind, adjustable,
    hashed_name, md5_hex,
};

/// What to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Django manifest names, rewritten `*.css`/`*.js` and `staticfiles.json`; off gives
    /// plain `collectstatic` output.
    pub hash: bool,
    /// Only the hashed copies (whitenoise's `WHITENOISE_KEEP_ONLY_HASHED_FILES`).
    pub keep_only_hashed: bool,
    /// Which compressed copies to add; all off for none.
    pub codecs: Codecs,
    /// Overwrite output files that sluice did not write.
    pub force: bool,
    /// Remove everything sluice wrote before and forget the state, then build.
    pub clean: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            hash: true,
            keep_only_hashed: false,
            codecs: Codecs::default(),
            force: false,
            clean: false,
        }
    }
}

/// Everything a build needs to know.
#[derive(Debug, Clone)]
pub struct BuildJob<'a> {
    pub roots: &'a [SourceRoot],
    pub ignore: &'a IgnoreRules,
    /// The output root (Django's `STATIC_ROOT`).
    pub output: &'a Path,
    /// `.sluice/`: state and caches.
    pub state_dir: &'a Path,
    /// Django's `STATIC_URL` (`static/` is taken as `/static/`, as Django's script prefix does).
    pub static_url: &'a str,
    pub options: BuildOptions,
    /// Bundles to build; they join the output (and the manifest) like any file.
    pub bundles: BundleJob<'a>,
}

/// The bundles of a build and what shapes them.
#[derive(Clone, Copy, Default)]
pub struct BundleJob<'a> {
    pub defs: &'a [BundleDef],
    pub settings: Option<&'a PipelineSettings>,
    /// Compilers in effect: a member they take is read under its compiled name.
    pub compilers: &'a [CompilerKind],
    /// `None`: bundles are written as django-pipeline writes them with no compressor.
    pub minifier: Option<&'a dyn Minifier>,
    /// `true`: every source a compiler takes is compiled (sluice's default, and `compile =
    /// true`); `false`: only bundle members, as django-pipeline's collectstatic compiles
    /// (`PIPELINE["COMPILERS"]`).
    pub compile_all: bool,
}

impl std::fmt::Debug for BundleJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleJob")
            .field("defs", &self.defs.len())
            .field("compilers", &self.compilers)
            .field("minify", &self.minifier.is_some())
            .finish()
    }
}

/// One of the largest outputs, with the sizes of its compressed copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Largest {
    /// The output's path in the output root.
    pub name: String,
    pub raw: u64,
    pub gzip: Option<u64>,
    pub brotli: Option<u64>,
}

/// Total bytes of what is in the output after the build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bytes {
    /// Uncompressed outputs: both copies, `staticfiles.json`.
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
    pub zstd: u64,
}

/// What a build did.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Source files (after ignores and shadowing).
    pub files: usize,
    /// Files in the output that this build produced (copies, compressed copies, manifest).
    pub outputs: usize,
    pub written: usize,
    pub unchanged: usize,
    /// Output files that were there already, not recorded as sluice's, with the right bytes.
    pub adopted: usize,
    /// Outputs of an earlier build that are no longer produced, removed.
    pub removed: usize,
    /// Source files read (the others were known by their fingerprint).
    pub read: usize,
    /// `*.css`/`*.js` files whose references were resolved again.
    pub replanned: usize,
    /// Contents compressed (cache misses); each distinct content at most once.
    pub compressed: usize,
    /// CPU time spent in the encoders, summed over threads: divided by the cores, the
    /// floor of a cold build's time.
    pub compress_cpu: Duration,
    pub bytes: Bytes,
    /// The ten largest outputs (hashed copies when hashing), largest first.
    pub largest: Vec<Largest>,
    /// `staticfiles.json`, when written.
    pub manifest: Option<PathBuf>,
    /// Outputs of an earlier build changed by someone since, no longer produced: left alone.
    pub kept_modified: Vec<PathBuf>,
    /// The bundles' outputs (bundle files and their source maps), in definition order.
    pub bundles: Vec<String>,
    /// Whether the bundles were minified.
    pub minified: bool,
    /// Bundles assembled (and minified when minifying) by this build; the others were
    /// unchanged since the last one.
    pub bundles_built: usize,
    /// Sources compiled by this build (the others were unchanged since the last one).
    pub compiled: usize,
    /// The compiled outputs that joined the collected files (`x.scss` → `x.css`).
    pub compiled_outputs: Vec<String>,
    /// Problems worth showing that did not stop the build (CSS a minifier dropped; a
    /// compiled output shadowed by a source), each naming its file.
    pub warnings: Vec<crate::Error>,
    /// The walk's findings besides the files (shadowed files).
    pub index: SourceIndex,
    pub elapsed: Duration,
}

/// Why a build stopped. Nothing in the output root changed, except for
/// [`BuildError::Commit`] (a rename failed part-way; what was moved is recorded).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Configuration or layout (exit code 2), or the state could not be saved.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// Django's manifest rules failed: non-UTF-8 `*.css`/`*.js`, missing reference, cycle.
    /// `sources` gives the source file of each logical name involved.
    #[error("{error}")]
    Manifest {
        error: Box<crate::Error>,
        sources: BTreeMap<String, PathBuf>,
    },
    /// A bundle could not be built (a pattern that finds nothing, an unreadable member…).
    #[error("{0}")]
    Bundles(Box<crate::Error>),
    /// A source could not be compiled (a syntax error, a missing `lessc`…).
    #[error("{0}")]
    Compile(Box<crate::Error>),
    /// Files in the output that sluice did not write are in the way.
    #[error("{} output files not written by sluice are in the way", .0.len())]
    Conflicts(Vec<PathBuf>),
    /// Sources or outputs that could not be read or written.
    #[error("{} files could not be handled", .0.len())]
    Files(Vec<FileError>),
    /// Moving the staged outputs into place failed part-way.
    #[error("{} outputs could not be moved into place", .0.len())]
    Commit(Vec<FileError>),
}

impl BuildError {
    /// 2 for configuration errors, 1 for everything found while building.
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::Core(error) => error.exit_code(),
            _ => 1,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The build state.

const STATE_VERSION: u32 = 1;

/// A source: fingerprint and md5 (hex) of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SourceRecord(u64, i64, u64, String);

impl SourceRecord {
    fn meta(&self) -> FileMeta {
        FileMeta {
            len: self.0,
            mtime_ns: self.1,
            ino: self.2,
        }
    }
}

/// A planned `*.css`/`*.js` file: hashed name, md5 (hex) and length of the hashed copy, and
/// its references (target, kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PlanRecord(String, String, u64, Vec<(String, u8)>);

/// The compressed sizes of one content (`None`: not produced / not effective).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ContentRecord(Option<u64>, Option<u64>, Option<u64>);

impl ContentRecord {
    fn get(&self, encoding: Encoding) -> Option<u64> {
        match encoding {
            Encoding::Brotli => self.0,
            Encoding::Gzip => self.1,
            #[cfg(feature = "zstd")]
            Encoding::Zstd => self.2,
        }
    }

    fn set(&mut self, encoding: Encoding, len: Option<u64>) {
        match encoding {
            Encoding::Brotli => self.0 = len,
            Encoding::Gzip => self.1 = len,
            #[cfg(feature = "zstd")]
            Encoding::Zstd => self.2 = len,
        }
    }
}

/// An output sluice wrote: its `lstat` after writing, and the key of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OutputRecord(u64, i64, u64, String);

impl OutputRecord {
    fn new(meta: FileMeta, key: &str) -> Self {
        OutputRecord(meta.len, meta.mtime_ns, meta.ino, key.to_string())
    }
    fn meta(&self) -> FileMeta {
        FileMeta {
            len: self.0,
            mtime_ns: self.1,
            ino: self.2,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct BuildState {
    version: u32,
    output: PathBuf,
    /// What the plan was made with; a difference re-plans every `*.css`/`*.js` file.
    static_url: String,
    /// What the content records were made with.
    codecs: String,
    sources: BTreeMap<String, SourceRecord>,
    plan: BTreeMap<String, PlanRecord>,
    contents: BTreeMap<String, ContentRecord>,
    outputs: BTreeMap<String, OutputRecord>,
    /// Output folder → its mtime when the state was saved: an untouched folder's outputs are
    /// known intact without an `lstat` each ([`sluice_core::state::untouched_folders`]).
    #[serde(default)]
    dirs: BTreeMap<String, i64>,
    /// The state file's mtime when it was loaded (not stored).
    #[serde(skip)]
    loaded_mtime_ns: Option<i64>,
}

impl BuildState {
    fn file(state_dir: &Path, output: &Path) -> PathBuf {
        let key = md5_hex(output.as_os_str().as_encoded_bytes());
        state_dir.join(format!("build-{}.json", &key[..16]))
    }

    /// A missing or foreign state means "nothing written yet": existing outputs are foreign.
    fn load(state_dir: &Path, output: &Path) -> BuildState {
        let file = BuildState::file(state_dir, output);
        let mtime = fs::metadata(&file).ok().map(|m| FileMeta::of(&m).mtime_ns);
        fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BuildState>(&bytes).ok())
            .filter(|state| state.version == STATE_VERSION && state.output == output)
            .map(|state| BuildState {
                loaded_mtime_ns: mtime,
                ..state
            })
            .unwrap_or_else(|| BuildState {
                version: STATE_VERSION,
                output: output.to_path_buf(),
                ..BuildState::default()
            })
    }

    fn save(&mut self, state_dir: &Path) -> Result<(), sluice_core::Error> {
        self.dirs = sluice_core::state::folder_mtimes(
            &self.output,
            self.outputs.keys().map(String::as_str),
        );
        let path = BuildState::file(state_dir, &self.output);
        let io_error = |e| sluice_core::Error::io("write", &path, e);
        let bytes = serde_json::to_vec(self).map_err(|e| io_error(e.into()))?;
        // A build that changed nothing leaves the state file alone too.
        if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            write_atomic(&path, &bytes).map_err(io_error)?;
        }
        let gitignore = state_dir.join(".gitignore");
        if !gitignore.exists() {
            write_atomic(&gitignore, b"# Created by sluice: caches and state.\n*\n")
                .map_err(|e| sluice_core::Error::io("write", &gitignore, e))?;
        }
        Ok(())
    }

    /// The previous plan, as [`django_manifest::replan`] takes it.
    fn manifest_plan(&self) -> ManifestPlan {
        let files = self
            .plan
            .iter()
            .map(|(name, PlanRecord(hashed, key, _, refs))| {
                let references = refs
                    .iter()
                    .filter_map(|(target, kind)| {
                        Some(Reference {
                            target: target.clone(),
                            kind: kind_from_u8(*kind)?,
                        })
                    })
                    .collect();
                let file = PlannedFile {
                    hashed_name: hashed.clone(),
                    hash: key[..12.min(key.len())].to_string(),
                    md5: None,
                    rewritten: None,
                    references,
                };
                (name.clone(), file)
            })
            .collect();
        ManifestPlan { files }
    }
}

fn kind_to_u8(kind: ReferenceKind) -> u8 {
    match kind {
        ReferenceKind::Hashed => 0,
        ReferenceKind::Original => 1,
        ReferenceKind::Directory => 2,
    }
}

fn kind_from_u8(kind: u8) -> Option<ReferenceKind> {
    match kind {
        0 => Some(ReferenceKind::Hashed),
        1 => Some(ReferenceKind::Original),
        2 => Some(ReferenceKind::Directory),
        _ => None,
    }
}

/// `static/` → `/static/` (Django applies the script prefix to relative STATIC_URLs).
pub fn runtime_static_url(static_url: &str) -> String {
    let mut url = static_url.to_string();
    if !url.starts_with('/') && !url.contains("://") {
        url.insert(0, '/');
    }
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

fn codecs_key(codecs: &Codecs) -> String {
    let mut parts = Vec::new();
    if codecs.brotli {
        parts.push("br".to_string());
    }
    if codecs.gzip {
        parts.push("gz".to_string());
    }
    #[cfg(feature = "zstd")]
    if let Some(level) = codecs.zstd {
        parts.push(format!("zst{level}"));
    }
    parts.join(",")
}

fn encodings(codecs: &Codecs) -> Vec<Encoding> {
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

// ---------------------------------------------------------------------------------------
// The compression cache.

/// One content's compression decisions, made by the first worker that needs them.
type Decision = Arc<OnceLock<Result<ContentRecord, String>>>;

struct Compressor {
    dir: PathBuf,
    codecs: Codecs,
    /// Decisions of the previous build (made with the same codecs).
    known: BTreeMap<String, ContentRecord>,
    memo: Mutex<HashMap<String, Decision>>,
    compressed: AtomicUsize,
    /// Nanoseconds spent in `encode`, summed over threads.
    encode_ns: std::sync::atomic::AtomicU64,
}

impl Compressor {
    fn cache_file(&self, key: &str, encoding: Encoding) -> PathBuf {
        let suffix = match encoding {
            Encoding::Brotli => "br".to_string(),
            Encoding::Gzip => "gz".to_string(),
            #[cfg(feature = "zstd")]
            Encoding::Zstd => format!("zst{}", self.codecs.zstd.unwrap_or(0)),
        };
        self.dir
            .join(&key[..2.min(key.len())])
            .join(format!("{key}.{suffix}"))
    }

    fn encode(&self, encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        let started = thread_cpu_ns();
        let data = self.encode_untimed(encoding, bytes);
        let spent = thread_cpu_ns().saturating_sub(started);
        self.encode_ns.fetch_add(spent, Ordering::Relaxed);
        data
    }

    fn encode_untimed(&self, encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        match encoding {
            Encoding::Brotli => compress::brotli(bytes),
            Encoding::Gzip => compress::gzip(bytes),
            #[cfg(feature = "zstd")]
            Encoding::Zstd => compress::zstd(bytes, self.codecs.zstd.unwrap_or(19)),
        }
    }

    /// The decision for one encoding: from the cache, else compressed now and cached.
    fn decide(&self, key: &str, encoding: Encoding, bytes: &[u8]) -> io::Result<Option<u64>> {
        let file = self.cache_file(key, encoding);
        let none = none_marker(&file);
        if let Ok(meta) = fs::metadata(&file) {
            return Ok(Some(meta.len()));
        }
        if none.exists() {
            return Ok(None);
        }
        self.compressed.fetch_add(1, Ordering::Relaxed);
        let data = self.encode(encoding, bytes);
        if compress::is_effective(bytes.len(), data.len()) {
            write_atomic(&file, &data)?;
            Ok(Some(data.len() as u64))
        } else {
            write_atomic(&none, b"")?;
            Ok(None)
        }
    }

    /// Which compressed copies `bytes` (with md5 `key`) gets: whitenoise's order, Brotli
    /// first and nothing else when Brotli is not effective. Each content is decided once.
    fn record(&self, key: &str, bytes: &[u8]) -> Result<ContentRecord, String> {
        if let Some(record) = self.known.get(key) {
            return Ok(*record);
        }
        let cell = {
            let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
            memo.entry(key.to_string()).or_default().clone()
        };
        cell.get_or_init(|| {
            let mut record = ContentRecord::default();
            if bytes.is_empty() {
                return Ok(record);
            }
            for encoding in encodings(&self.codecs) {
                let decided = self
                    .decide(key, encoding, bytes)
                    .map_err(|e| format!("compression cache: {e}"))?;
                record.set(encoding, decided);
                if encoding == Encoding::Brotli && decided.is_none() {
                    // "If Brotli compression wasn't effective gzip won't be either."
                    break;
                }
            }
            Ok(record)
        })
        .clone()
    }

    /// The compressed bytes: from the cache, or compressed again if the cache lost them.
    fn bytes(&self, key: &str, encoding: Encoding, original: &[u8]) -> io::Result<Vec<u8>> {
        let file = self.cache_file(key, encoding);
        match fs::read(&file) {
            Ok(data) => Ok(data),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let data = self.encode(encoding, original);
                write_atomic(&file, &data)?;
                Ok(data)
            }
            Err(e) => Err(e),
        }
    }
}

/// How long an unused cache entry is kept: a build running at the same time for another
/// output may have just written it, before its state names it.
const CACHE_GRACE: Duration = Duration::from_secs(3600);

/// Whether the compression cache was last pruned [`CACHE_GRACE`] ago or longer (or never);
/// if so, notes that it is being pruned now (`.sluice/compress.pruned`).
fn prune_due(state_dir: &Path) -> bool {
    let stamp = state_dir.join("compress.pruned");
    let recent = fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < CACHE_GRACE));
    !recent && write_atomic(&stamp, b"").is_ok()
}

/// Removes compressed copies from the cache that no build state in `state_dir` uses any
/// more (their content left every output), once they are older than [`CACHE_GRACE`].
/// Returns how many files were removed.
fn prune_cache(cache: &Path, state_dir: &Path, current: &BuildState) -> usize {
    let current_file = BuildState::file(state_dir, &current.output);
    let mut others: Vec<BuildState> = Vec::new();
    for entry in fs::read_dir(state_dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("build-")
            && name.ends_with(".json")
            && entry.path() != current_file
            && let Some(state) = fs::read(entry.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<BuildState>(&b).ok())
        {
            others.push(state);
        }
    }
    let live = |key: &str| {
        current.contents.contains_key(key) || others.iter().any(|s| s.contents.contains_key(key))
    };
    prune_unused(cache, &|file: &Path| {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        live(name.split('.').next().unwrap_or_default())
    })
}

/// Removes every file under `dir` (at any depth) that `keep` does not want, once it is older
/// than [`CACHE_GRACE`], then the folders inside it left empty. The one pruning rule
/// of sluice's caches: the compression cache, `.sluice/compiled/` and `.sluice/bundles/`.
/// Returns how many files were removed.
pub(crate) fn prune_unused(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> usize {
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                removed += prune_unused(&path, keep);
                // Fails harmlessly when not empty.
                let _ = fs::remove_dir(&path);
            }
            Ok(_) if !keep(&path) => {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age >= CACHE_GRACE));
                if old && fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            _ => {}
        }
    }
    removed
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

fn none_marker(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".none");
    file.with_file_name(name)
}

// ---------------------------------------------------------------------------------------
// Outputs: what should be in the output root, and what to do about each file.

/// A named copy of a content: the unhashed original or the hashed copy.
#[derive(Debug, Clone)]
struct Variant {
    name: String,
    /// md5 (hex) of its bytes.
    key: String,
    len: u64,
    /// The hashed copy of a rewritten file (bytes differ from the original's).
    rewritten: bool,
    /// The hashed copy (the manifest's value).
    hashed: bool,
}

/// What kind of output a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raw { hashed: bool },
    Encoded(Encoding),
    Manifest,
}

/// One desired output file.
#[derive(Debug, Clone)]
struct Desired {
    path: String,
    /// The content key: the copy's md5, plus the suffix for compressed copies.
    key: String,
    len: u64,
    kind: Kind,
    /// Index into the copies it comes from.
    copy: usize,
}

fn copies(
    logical: &str,
    original: (&str, u64),
    hashed: Option<(String, String, u64)>,
    options: &BuildOptions,
) -> Vec<Variant> {
    let mut out = Vec::new();
    if !options.keep_only_hashed || hashed.is_none() {
        out.push(Variant {
            name: logical.to_string(),
            key: original.0.to_string(),
            len: original.1,
            rewritten: false,
            hashed: false,
        });
    }
    if let Some((name, key, len)) = hashed {
        let rewritten = key != original.0;
        out.push(Variant {
            name,
            key,
            len,
            rewritten,
            hashed: true,
        });
    }
    out
}

/// The outputs of `copies`, given each content's compression decisions.
fn desired(
    copies: &[Variant],
    records: &mut dyn FnMut(&Variant) -> Option<ContentRecord>,
    codecs: &Codecs,
) -> Option<Vec<Desired>> {
    let mut out = Vec::new();
    for (i, copy) in copies.iter().enumerate() {
        out.push(Desired {
            path: copy.name.clone(),
            key: copy.key.clone(),
            len: copy.len,
            kind: Kind::Raw {
                hashed: copy.hashed,
            },
            copy: i,
        });
        let encodings = encodings(codecs);
        if encodings.is_empty() || !compress::should_compress(&copy.name) || copy.len == 0 {
            continue;
        }
        let record = records(copy)?;
        for encoding in encodings {
            if let Some(len) = record.get(encoding) {
                out.push(Desired {
                    path: format!("{}{}", copy.name, encoding.suffix()),
                    key: format!("{}{}", copy.key, encoding.suffix()),
                    len,
                    kind: Kind::Encoded(encoding),
                    copy: i,
                });
            }
        }
    }
    Some(out)
}

/// What an output file looks like now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Current {
    meta: FileMeta,
    regular: bool,
    /// A folder that holds outputs of the previous build: they are removed (and the folder
    /// pruned) before new outputs move in, so a file may take its place.
    ours_inside: bool,
}

fn lstat(path: &Path) -> Option<Current> {
    let meta = fs::symlink_metadata(path).ok()?;
    Some(Current {
        meta: FileMeta::of(&meta),
        regular: meta.file_type().is_file(),
        ours_inside: false,
    })
}

/// What to do about one output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// It is what sluice wrote, with the right content.
    Keep,
    /// Missing, or sluice's with other content: write it.
    Write,
    /// Not sluice's (or changed since): take it over if its bytes are right, else conflict.
    AdoptIfIdentical,
    /// Not sluice's and not a regular file.
    Conflict,
}

/// The pure core of an output decision.
fn decide(
    recorded: Option<&OutputRecord>,
    current: Option<Current>,
    key: &str,
    force: bool,
) -> Action {
    let Some(current) = current else {
        return Action::Write;
    };
    match recorded {
        Some(record) if record.meta() == current.meta && current.regular => {
            if record.3 == key {
                Action::Keep
            } else {
                Action::Write
            }
        }
        _ if force || current.ours_inside => Action::Write,
        _ if !current.regular => Action::Conflict,
        _ => Action::AdoptIfIdentical,
    }
}

/// Folders known to exist, so each is created once (`create_dir_all` costs a `mkdir` and a
/// `stat` per call, per file).
#[derive(Default)]
struct Folders(Mutex<std::collections::HashSet<PathBuf>>);

impl Folders {
    fn ensure(&self, dir: &Path) -> io::Result<()> {
        let known = |d: &Path| self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(d);
        if known(dir) {
            return Ok(());
        }
        fs::create_dir_all(dir)?;
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut d = Some(dir);
        while let Some(dir) = d {
            if !set.insert(dir.to_path_buf()) {
                break;
            }
            d = dir.parent();
        }
        Ok(())
    }
}

/// Where new outputs wait until the whole build succeeded.
struct Staging {
    root: PathBuf,
    created: OnceLock<io::Result<()>>,
    folders: Folders,
}

impl Staging {
    fn beside(output: &Path) -> Staging {
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let parent = output.parent().unwrap_or(Path::new("."));
        Staging {
            root: parent.join(format!(".{name}.sluice-staging-{}", std::process::id())),
            created: OnceLock::new(),
            folders: Folders::default(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        output_path(&self.root, rel)
    }

    /// Removes staging folders left by builds that were killed (their process is gone).
    fn remove_abandoned(&self) {
        let (Some(parent), Some(name)) = (self.root.parent(), self.root.file_name()) else {
            return;
        };
        let name = name.to_string_lossy();
        let Some(prefix) = name.strip_suffix(&std::process::id().to_string()) else {
            return;
        };
        let Ok(entries) = fs::read_dir(parent) else {
            return;
        };
        for entry in entries.flatten() {
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = entry_name.strip_prefix(prefix) else {
                continue;
            };
            let alive = Path::new("/proc").join(pid).exists();
            if pid.bytes().all(|b| b.is_ascii_digit()) && Path::new("/proc/self").exists() && !alive
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Writes one staged file and returns its metadata, which a rename into place keeps.
    fn write(&self, rel: &str, bytes: &[u8]) -> io::Result<FileMeta> {
        let path = self.prepare(rel)?;
        let mut file = fs::File::create(path)?;
        io::Write::write_all(&mut file, bytes)?;
        Ok(FileMeta::of(&file.metadata()?))
    }

    /// Stages `rel` as a second name of the already staged `existing` (same bytes: the
    /// unhashed and hashed copies of a file Django does not rewrite, and their compressed
    /// copies), so the content is written once. Falls back to writing where the file system
    /// has no hard links.
    fn link_or_write(&self, existing: &str, rel: &str, bytes: &[u8]) -> io::Result<FileMeta> {
        let path = self.prepare(rel)?;
        match fs::hard_link(self.path(existing), &path) {
            Ok(()) => Ok(FileMeta::of(&fs::symlink_metadata(&path)?)),
            Err(_) => self.write(rel, bytes),
        }
    }

    /// Stages `rel` as a hard link to `file` outside the staging folder (the compression
    /// cache), or `None` when that cannot be done (no such file, another file system).
    fn link_or_none(&self, file: &Path, rel: &str) -> Option<FileMeta> {
        let path = self.prepare(rel).ok()?;
        fs::hard_link(file, &path).ok()?;
        Some(FileMeta::of(&fs::symlink_metadata(&path).ok()?))
    }

    fn prepare(&self, rel: &str) -> io::Result<PathBuf> {
        if let Err(e) = self.created.get_or_init(|| fs::create_dir_all(&self.root)) {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            self.folders.ensure(parent)?;
        }
        Ok(path)
    }

    fn remove(&self) {
        if self.created.get().is_some() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// What became of one desired output.
#[derive(Debug, Clone)]
enum Outcome {
    Kept(FileMeta),
    /// Written into the staging folder; the metadata survives the rename into place.
    Staged(FileMeta),
    Adopted(FileMeta),
    Conflict,
}

#[derive(Debug, Clone)]
struct Produced {
    desired: Desired,
    outcome: Outcome,
}

/// Shared by every worker of one build.
struct Context<'a> {
    output: &'a Path,
    options: BuildOptions,
    previous: &'a BuildState,
    compressor: Compressor,
    staging: Staging,
    /// The output root did not exist when the build started: nothing in it to look at, and
    /// the staging folder becomes the output root in one rename.
    output_missing: bool,
    /// Output folders untouched since the previous build: their outputs are not `lstat`ed.
    untouched: std::collections::HashSet<String>,
}

impl Context<'_> {
    fn current(&self, path: &str) -> Option<Current> {
        if self.output_missing {
            return None;
        }
        if let Some(record) = self.previous.outputs.get(path)
            && self
                .untouched
                .contains(sluice_core::state::parent_dir(path))
        {
            return Some(Current {
                meta: record.meta(),
                regular: true,
                ours_inside: false,
            });
        }
        let mut current = lstat(&output_path(self.output, path))?;
        if !current.regular {
            let inside = format!("{path}/");
            current.ours_inside = self
                .previous
                .outputs
                .range(inside.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&inside));
        }
        Some(current)
    }

    /// Decides and stages every output of one file. `contents[i]` are the bytes of
    /// `copies[i]`.
    fn emit(&self, copies: &[Variant], contents: &[&[u8]]) -> Result<Vec<Produced>, String> {
        let mut records = |copy: &Variant| {
            let index = copies.iter().position(|c| c.key == copy.key)?;
            self.compressor.record(&copy.key, contents[index]).ok()
        };
        // Surface a compression-cache failure as an error, not as "no compressed copies".
        for (copy, bytes) in copies.iter().zip(contents) {
            if compress::should_compress(&copy.name) && !encodings(&self.options.codecs).is_empty()
            {
                self.compressor.record(&copy.key, bytes)?;
            }
        }
        let wanted = desired(copies, &mut records, &self.options.codecs)
            .ok_or_else(|| "compression decision missing".to_string())?;
        let mut out = Vec::with_capacity(wanted.len());
        // Content key → the first path staged with it in this call.
        let mut staged: Vec<(String, String)> = Vec::new();
        for desired in wanted {
            let current = self.current(&desired.path);
            let action = decide(
                self.previous.outputs.get(&desired.path),
                current,
                &desired.key,
                self.options.force,
            );
            let bytes = || -> Result<Vec<u8>, String> {
                let original = contents[desired.copy];
                match desired.kind {
                    Kind::Encoded(encoding) => self
                        .compressor
                        .bytes(&copies[desired.copy].key, encoding, original)
                        .map_err(|e| format!("compression cache: {e}")),
                    _ => Ok(original.to_vec()),
                }
            };
            let outcome = match action {
                Action::Keep => Outcome::Kept(current.map(|c| c.meta).unwrap_or(FileMeta {
                    len: 0,
                    mtime_ns: 0,
                    ino: 0,
                })),
                Action::Write
                    if matches!(desired.kind, Kind::Encoded(_))
                        && !staged.iter().any(|(key, _)| *key == desired.key) =>
                {
                    // A compressed copy is in the cache already: link it rather than write
                    // its bytes a second time.
                    let Kind::Encoded(encoding) = desired.kind else {
                        unreachable!()
                    };
                    let cached = self
                        .compressor
                        .cache_file(&copies[desired.copy].key, encoding);
                    let meta = match self.staging.link_or_none(&cached, &desired.path) {
                        Some(meta) => meta,
                        None => self
                            .staging
                            .write(&desired.path, &bytes()?)
                            .map_err(|e| format!("cannot stage {}: {e}", desired.path))?,
                    };
                    staged.push((desired.key.clone(), desired.path.clone()));
                    Outcome::Staged(meta)
                }
                Action::Write => {
                    let data = bytes()?;
                    let first = staged.iter().find(|(key, _)| *key == desired.key);
                    let meta = match first {
                        Some((_, existing)) => {
                            self.staging.link_or_write(existing, &desired.path, &data)
                        }
                        None => self.staging.write(&desired.path, &data),
                    }
                    .map_err(|e| format!("cannot stage {}: {e}", desired.path))?;
                    if first.is_none() {
                        staged.push((desired.key.clone(), desired.path.clone()));
                    }
                    Outcome::Staged(meta)
                }
                Action::AdoptIfIdentical => {
                    let data = bytes()?;
                    let path = output_path(self.output, &desired.path);
                    if fs::read(&path).is_ok_and(|existing| existing == data) {
                        Outcome::Adopted(current.map(|c| c.meta).unwrap_or(FileMeta {
                            len: 0,
                            mtime_ns: 0,
                            ino: 0,
                        }))
                    } else {
                        Outcome::Conflict
                    }
                }
                Action::Conflict => Outcome::Conflict,
            };
            out.push(Produced { desired, outcome });
        }
        Ok(out)
    }
}

/// A source file read in this build.
struct Read {
    logical: String,
    key: String,
    /// Kept for `*.css`/`*.js` files (planned later); dropped for the others.
    bytes: Option<Vec<u8>>,
}

pub(crate) fn read_source(file: &SourceFile) -> Result<Vec<u8>, FileError> {
    fs::read(&file.path).map_err(|e| FileError {
        path: file.path.clone(),
        message: match e.kind() {
            io::ErrorKind::NotFound => "vanished while building".to_string(),
            _ => e.to_string(),
        },
    })
}

/// Runs one build: see the module documentation.
pub fn build(job: &BuildJob, progress: &dyn Progress) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let options = job.options;
    if options.keep_only_hashed && !options.hash {
        return Err(sluice_core::Error::config(
            "--keep-only-hashed needs hashing; it cannot be combined with --no-hash",
        )
        .into());
    }
    check_layout(job.roots, job.output)?;
    let output = job.output;
    let static_url = runtime_static_url(job.static_url);
    let mut previous = BuildState::load(job.state_dir, output);
    let mut report = BuildReport::default();

    if options.clean {
        for (path, record) in std::mem::take(&mut previous.outputs) {
            let file = output_path(output, &path);
            if lstat(&file).is_some_and(|now| now.meta == record.meta()) {
                remove_and_prune(&file, output)
                    .map_err(|e| sluice_core::Error::io("remove", &file, e))?;
            }
        }
        previous = BuildState {
            version: STATE_VERSION,
            output: output.to_path_buf(),
            ..BuildState::default()
        };
        previous.save(job.state_dir)?;
    }
    let plan_valid = options.hash && previous.static_url == static_url;
    if !plan_valid {
        previous.plan.clear();
    }
    let codecs = codecs_key(&options.codecs);
    let known = if previous.codecs == codecs {
        std::mem::take(&mut previous.contents)
    } else {
        BTreeMap::new()
    };

    // The sources, as Django's finders see them.
    let mut index = scan(job.roots, job.ignore);
    let mut files = std::mem::take(&mut index.files);
    let problems: Vec<FileError> = index
        .problems
        .iter()
        .filter(|p| p.kind != ProblemKind::SymlinkLoop)
        .map(|p| FileError {
            path: p.path.clone(),
            message: p.detail.clone(),
        })
        .collect();
    if !problems.is_empty() {
        return Err(BuildError::Files(problems));
    }

    // Bundles become files like the sources (after them: an output overwrites a source of
    // the same name, as django-pipeline's storage does).
    // Compiled sources join them beside their sources, before bundling reads them.
    let compiled = crate::compile_store::add_compiled(job, &mut files)?;
    report.compiled = compiled.compiled;
    report.compiled_outputs = compiled.names;
    report.warnings.extend(compiled.warnings);
    let added = bundle::store::add_bundles(job, &mut files)?;
    report.bundles = added.names;
    report.bundles_built = added.built;
    report.warnings.extend(added.warnings);
    report.minified = job.bundles.minifier.is_some() && !report.bundles.is_empty();

    let ctx = Context {
        output,
        options,
        previous: &previous,
        compressor: Compressor {
            dir: job.state_dir.join("compress"),
            codecs: options.codecs,
            known,
            memo: Mutex::new(HashMap::new()),
            compressed: AtomicUsize::new(0),
            encode_ns: Default::default(),
        },
        staging: Staging::beside(output),
        output_missing: fs::symlink_metadata(output).is_err(),
        untouched: if options.force {
            Default::default()
        } else {
            sluice_core::state::untouched_folders(output, &previous.dirs, previous.loaded_mtime_ns)
                .into_iter()
                .map(str::to_owned)
                .collect()
        },
    };
    ctx.staging.remove_abandoned();
    let result = run(job, &ctx, &files, &static_url, progress, &mut report);
    let produced = match result {
        Ok(Ran::Produced(produced)) => produced,
        Ok(Ran::Unchanged(mut outputs)) => {
            // The state on disk says all there is to say; the report from what is there
            // (in path order, as commit sees them: a copy before its compressed copies).
            ctx.staging.remove();
            outputs.sort_unstable_by(|a, b| a.path.cmp(&b.path));
            let mut totals = Totals::default();
            for desired in &outputs {
                report.unchanged += 1;
                totals.add(&mut report, output, desired, options.hash);
            }
            report.largest = totals.largest();
            return Ok(finish(report, files.len(), &ctx, index, started));
        }
        Err(error) => {
            ctx.staging.remove();
            return Err(error);
        }
    };
    let (mut state, commit_errors) = commit(&ctx, produced, &static_url, &codecs, &mut report);
    ctx.staging.remove();
    state.save(job.state_dir)?;
    // Only a build that changed the output can have left cache entries unused; and as an
    // entry must be unused for an hour to go, looking once an hour is enough (the look
    // reads every output root's state: a sixth of a one-file rebuild at 20 000 files).
    if (report.written > 0 || report.removed > 0) && prune_due(job.state_dir) {
        prune_cache(&ctx.compressor.dir, job.state_dir, &state);
    }
    if !commit_errors.is_empty() {
        return Err(BuildError::Commit(commit_errors));
    }
    Ok(finish(report, files.len(), &ctx, index, started))
}

/// The report's last figures.
fn finish(
    mut report: BuildReport,
    files: usize,
    ctx: &Context,
    index: SourceIndex,
    started: Instant,
) -> BuildReport {
    report.files = files;
    report.compressed = ctx.compressor.compressed.load(Ordering::Relaxed);
    report.compress_cpu = Duration::from_nanos(ctx.compressor.encode_ns.load(Ordering::Relaxed));
    report.index = index;
    report.elapsed = started.elapsed();
    report
}

/// What [`run`] found to do.
enum Ran {
    /// Nothing changed since the previous build (same sources with the same fingerprints,
    /// same options, every output intact): these are its outputs, and its state stands.
    Unchanged(Vec<Desired>),
    Produced(Produce),
}

/// Everything the build produces, by output path, with what the state should say of each
/// source and planned file.
struct Produce {
    outputs: BTreeMap<String, Produced>,
    sources: BTreeMap<String, SourceRecord>,
    plan: BTreeMap<String, PlanRecord>,
    contents: BTreeMap<String, ContentRecord>,
}

fn run(
    job: &BuildJob,
    ctx: &Context,
    files: &BTreeMap<String, SourceFile>,
    static_url: &str,
    progress: &dyn Progress,
    report: &mut BuildReport,
) -> Result<Ran, BuildError> {
    let options = ctx.options;
    let previous = ctx.previous;
    let hashing = options.hash;

    // 1. Which files are clean: known fingerprint, known plan, every output intact.
    type Clean = (String, Vec<Desired>);
    let classified: Vec<(&String, Option<Clean>)> = files
        .par_iter()
        .map(|(logical, file)| {
            let clean = (|| {
                let record = previous.sources.get(logical)?;
                if record.meta() != file.meta {
                    return None;
                }
                let key = &record.3;
                let hashed = if !hashing {
                    None
                } else if adjustable(logical).is_some() {
                    let PlanRecord(name, hkey, len, _) = previous.plan.get(logical)?;
                    Some((name.clone(), hkey.clone(), *len))
                } else {
                    Some((hashed_name(logical, &key[..12]), key.clone(), file.meta.len))
                };
                let copies = copies(logical, (key, file.meta.len), hashed, &options);
                let wanted = desired(
                    &copies,
                    &mut |copy| ctx.compressor.known.get(&copy.key).copied(),
                    &options.codecs,
                )?;
                let intact = wanted.iter().all(|d| {
                    decide(
                        previous.outputs.get(&d.path),
                        ctx.current(&d.path),
                        &d.key,
                        options.force,
                    ) == Action::Keep
                });
                intact.then(|| (key.clone(), wanted))
            })();
            (logical, clean)
        })
        .collect();
    let mut clean: BTreeMap<&str, Clean> = BTreeMap::new();
    let mut dirty: Vec<&String> = Vec::new();
    for (logical, state) in classified {
        match state {
            Some(c) => {
                clean.insert(logical, c);
            }
            None => dirty.push(logical),
        }
    }
    progress.start(dirty.len() as u64);
    if dirty.is_empty()
        && let Some(outputs) = unchanged(ctx, files.len(), &mut clean)
    {
        progress.finish();
        return Ok(Ran::Unchanged(outputs));
    }
    let dirty_set: std::collections::HashSet<&str> = dirty.iter().map(|l| l.as_str()).collect();

    // 2. Read what is dirty (largest first, for an even load): hash it, and finish the
    //    files whose names depend only on their own bytes.
    dirty.sort_by_key(|l| std::cmp::Reverse(files[*l].meta.len));
    let results: Vec<Result<(Read, Vec<Produced>), FileError>> = dirty
        .par_iter()
        .map(|logical| {
            let file = &files[*logical];
            let bytes = read_source(file)?;
            let key = md5_hex(&bytes);
            if hashing && adjustable(logical).is_some() {
                return Ok((
                    Read {
                        logical: (*logical).clone(),
                        key,
                        bytes: Some(bytes),
                    },
                    Vec::new(),
                ));
            }
            let hashed = hashing.then(|| {
                (
                    hashed_name(logical, &key[..12]),
                    key.clone(),
                    bytes.len() as u64,
                )
            });
            let copies = copies(logical, (&key, bytes.len() as u64), hashed, &options);
            let contents: Vec<&[u8]> = copies.iter().map(|_| bytes.as_slice()).collect();
            let produced = ctx.emit(&copies, &contents).map_err(|message| FileError {
                path: file.path.clone(),
                message,
            })?;
            progress.advance();
            Ok((
                Read {
                    logical: (*logical).clone(),
                    key,
                    bytes: None,
                },
                produced,
            ))
        })
        .collect();
    let mut errors = Vec::new();
    let mut read: BTreeMap<String, Read> = BTreeMap::new();
    let mut outputs: BTreeMap<String, Produced> = BTreeMap::new();
    for result in results {
        match result {
            Ok((r, produced)) => {
                for p in produced {
                    outputs.insert(p.desired.path.clone(), p);
                }
                read.insert(r.logical.clone(), r);
            }
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        progress.finish();
        return Err(BuildError::Files(errors));
    }
    report.read = read.len();

    // Every file's md5: known or just computed.
    let key_of = |read: &BTreeMap<String, Read>, logical: &str| -> String {
        read.get(logical).map_or_else(
            || {
                clean
                    .get(logical)
                    .map(|c| c.0.clone())
                    .or_else(|| previous.sources.get(logical).map(|r| r.3.clone()))
                    .unwrap_or_default()
            },
            |r| r.key.clone(),
        )
    };

    // 3. Plan the Django names: re-plan only the dirty *.css/*.js files and those whose
    //    names depend on what changed.
    let mut plan = ManifestPlan::default();
    let mut replanned: BTreeSet<String> = BTreeSet::new();
    if hashing {
        let prev_plan = previous.manifest_plan();
        let mut changed: BTreeSet<String> = read
            .values()
            .filter(|r| {
                previous
                    .sources
                    .get(&r.logical)
                    .is_none_or(|s| s.3 != r.key)
            })
            .map(|r| r.logical.clone())
            .collect();
        let removed: Vec<&String> = previous
            .sources
            .keys()
            .filter(|l| !files.contains_key(*l))
            .collect();
        let names_changed =
            !removed.is_empty() || read.keys().any(|l| !previous.sources.contains_key(l));
        changed.extend(removed.into_iter().cloned());
        let mut affected = prev_plan.affected_by(changed.iter().map(String::as_str));
        if names_changed {
            affected.extend(
                prev_plan
                    .files
                    .iter()
                    .filter(|(_, f)| {
                        f.references
                            .iter()
                            .any(|r| r.kind == ReferenceKind::Directory)
                    })
                    .map(|(n, _)| n.clone()),
            );
        }
        replanned = read
            .iter()
            .filter(|(_, r)| r.bytes.is_some())
            .map(|(l, _)| l.clone())
            .collect();
        let extra: Vec<&String> = affected
            .iter()
            .filter(|l| {
                adjustable(l).is_some() && files.contains_key(*l) && !replanned.contains(*l)
            })
            .collect();
        let extra_read: Vec<Result<Read, FileError>> = extra
            .par_iter()
            .map(|logical| {
                let bytes = read_source(&files[*logical])?;
                Ok(Read {
                    logical: (*logical).clone(),
                    key: md5_hex(&bytes),
                    bytes: Some(bytes),
                })
            })
            .collect();
        for r in extra_read {
            match r {
                Ok(r) => {
                    replanned.insert(r.logical.clone());
                    read.insert(r.logical.clone(), r);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            progress.finish();
            return Err(BuildError::Files(errors));
        }
        report.read = read.len();
        let hashes: HashMap<String, String> = files
            .keys()
            .map(|l| (l.clone(), key_of(&read, l)[..12].to_string()))
            .collect();
        let contents: BTreeMap<&str, &[u8]> = replanned
            .iter()
            .filter_map(|l| Some((l.as_str(), read.get(l)?.bytes.as_deref()?)))
            .collect();
        let manifest_options = ManifestOptions {
            static_url: static_url.to_string(),
        };
        plan = django_manifest::replan(hashes, &contents, &prev_plan, &manifest_options).map_err(
            |error| {
                progress.finish();
                let mut sources = BTreeMap::new();
                for e in error.errors() {
                    let names: Vec<&str> = match e {
                        crate::Error::NotUtf8 { file, .. }
                        | crate::Error::MissingReference { file, .. } => vec![file.as_str()],
                        crate::Error::ReferenceCycle { files } => {
                            files.iter().map(String::as_str).collect()
                        }
                        _ => Vec::new(),
                    };
                    for name in names {
                        if let Some(file) = files.get(name) {
                            sources.insert(name.to_string(), file.path.clone());
                        }
                    }
                }
                BuildError::Manifest {
                    error: Box::new(error),
                    sources,
                }
            },
        )?;
        report.replanned = replanned.len();

        // 4. The re-planned *.css/*.js files: both copies, compressed (largest first, so no
        //    core is left alone with a big file at the end).
        let mut order: Vec<&String> = replanned.iter().collect();
        order.sort_by_key(|l| std::cmp::Reverse(read[*l].bytes.as_ref().map_or(0, Vec::len)));
        let emitted: Vec<Result<Vec<Produced>, FileError>> = order
            .into_par_iter()
            .map(|logical| {
                let r = &read[logical];
                let original = r.bytes.as_deref().unwrap_or_default();
                let planned = &plan.files[logical];
                let hashed_bytes = planned.rewritten.as_deref().unwrap_or(original);
                let hashed_key = match &planned.rewritten {
                    Some(_) => planned.md5.clone().unwrap_or_else(|| md5_hex(hashed_bytes)),
                    None => r.key.clone(),
                };
                let copies = copies(
                    logical,
                    (&r.key, original.len() as u64),
                    Some((
                        planned.hashed_name.clone(),
                        hashed_key,
                        hashed_bytes.len() as u64,
                    )),
                    &options,
                );
                let contents: Vec<&[u8]> = copies
                    .iter()
                    .map(|c| if c.rewritten { hashed_bytes } else { original })
                    .collect();
                let produced = ctx.emit(&copies, &contents).map_err(|message| FileError {
                    path: files[logical].path.clone(),
                    message,
                })?;
                if dirty_set.contains(logical.as_str()) {
                    progress.advance();
                }
                Ok(produced)
            })
            .collect();
        for result in emitted {
            match result {
                Ok(produced) => {
                    for p in produced {
                        outputs.insert(p.desired.path.clone(), p);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    progress.finish();
    if !errors.is_empty() {
        return Err(BuildError::Files(errors));
    }

    // The clean files' outputs stay as they are.
    for (logical, (_, wanted)) in &clean {
        if replanned.contains(*logical) {
            continue; // re-planned because something it references changed
        }
        for d in wanted {
            let meta = previous.outputs.get(&d.path).map(OutputRecord::meta);
            if let Some(meta) = meta {
                outputs.insert(
                    d.path.clone(),
                    Produced {
                        desired: d.clone(),
                        outcome: Outcome::Kept(meta),
                    },
                );
            }
        }
    }

    // 5. staticfiles.json.
    if hashing {
        let json = plan.staticfiles_json();
        let key = md5_hex(json.as_bytes());
        let path = django_manifest::MANIFEST_NAME.to_string();
        let action = decide(
            previous.outputs.get(&path),
            ctx.current(&path),
            &key,
            options.force,
        );
        let desired = Desired {
            path: path.clone(),
            key,
            len: json.len() as u64,
            kind: Kind::Manifest,
            copy: 0,
        };
        let outcome = match action {
            Action::Keep => Outcome::Kept(
                previous
                    .outputs
                    .get(&path)
                    .map(OutputRecord::meta)
                    .unwrap_or(FileMeta {
                        len: 0,
                        mtime_ns: 0,
                        ino: 0,
                    }),
            ),
            Action::Write => {
                let meta = ctx.staging.write(&path, json.as_bytes()).map_err(|e| {
                    BuildError::Files(vec![FileError {
                        path: ctx.staging.path(&path),
                        message: e.to_string(),
                    }])
                })?;
                Outcome::Staged(meta)
            }
            Action::AdoptIfIdentical => match fs::read(output_path(ctx.output, &path)) {
                Ok(existing) if existing == json.as_bytes() => {
                    Outcome::Adopted(ctx.current(&path).map(|c| c.meta).unwrap_or(FileMeta {
                        len: 0,
                        mtime_ns: 0,
                        ino: 0,
                    }))
                }
                _ => Outcome::Conflict,
            },
            Action::Conflict => Outcome::Conflict,
        };
        outputs.insert(path, Produced { desired, outcome });
    }

    let conflicts: Vec<PathBuf> = outputs
        .values()
        .filter(|p| matches!(p.outcome, Outcome::Conflict))
        .map(|p| output_path(job.output, &p.desired.path))
        .collect();
    if !conflicts.is_empty() {
        return Err(BuildError::Conflicts(conflicts));
    }

    // What the next build needs to know.
    let sources: BTreeMap<String, SourceRecord> = files
        .iter()
        .map(|(l, f)| {
            let m = f.meta;
            (
                l.clone(),
                SourceRecord(m.len, m.mtime_ns, m.ino, key_of(&read, l)),
            )
        })
        .collect();
    let mut plan_records = BTreeMap::new();
    if hashing {
        for (logical, planned) in &plan.files {
            if adjustable(logical).is_none() {
                continue;
            }
            let (key, len) = if replanned.contains(logical) {
                let r = &read[logical];
                match &planned.rewritten {
                    Some(bytes) => (
                        planned.md5.clone().unwrap_or_else(|| md5_hex(bytes)),
                        bytes.len() as u64,
                    ),
                    None => (
                        r.key.clone(),
                        r.bytes.as_ref().map_or(0, |b| b.len() as u64),
                    ),
                }
            } else {
                match previous.plan.get(logical) {
                    Some(PlanRecord(_, key, len, _)) => (key.clone(), *len),
                    None => continue,
                }
            };
            let refs = planned
                .references
                .iter()
                .map(|r| (r.target.clone(), kind_to_u8(r.kind)))
                .collect();
            plan_records.insert(
                logical.clone(),
                PlanRecord(planned.hashed_name.clone(), key, len, refs),
            );
        }
    }
    // The compression decisions of every content in the output (also those with no
    // effective encoding: the next build must know that without compressing again).
    let mut contents = BTreeMap::new();
    let memo = ctx
        .compressor
        .memo
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for p in outputs.values() {
        if !matches!(p.desired.kind, Kind::Raw { .. }) {
            continue;
        }
        let key = &p.desired.key;
        let record = ctx.compressor.known.get(key).copied().or_else(|| {
            memo.get(key)
                .and_then(|cell| cell.get())
                .and_then(|r| r.clone().ok())
        });
        if let Some(record) = record {
            contents.insert(key.clone(), record);
        }
    }
    drop(memo);
    Ok(Ran::Produced(Produce {
        outputs,
        sources,
        plan: plan_records,
        contents,
    }))
}

/// When every source is clean (`clean` has them all) and the previous build had exactly
/// these sources and outputs, with `staticfiles.json` intact too, nothing is to be done:
/// the outputs, taken out of `clean`. `None` when something differs (a source removed, an
/// option that changes which copies exist, a touched manifest).
fn unchanged(
    ctx: &Context,
    sources: usize,
    clean: &mut BTreeMap<&str, (String, Vec<Desired>)>,
) -> Option<Vec<Desired>> {
    let previous = ctx.previous;
    if sources != previous.sources.len() {
        return None;
    }
    let manifest = if ctx.options.hash {
        let path = django_manifest::MANIFEST_NAME;
        let record = previous.outputs.get(path)?;
        let action = decide(
            Some(record),
            ctx.current(path),
            &record.3,
            ctx.options.force,
        );
        (action == Action::Keep).then_some(())?;
        Some(Desired {
            path: path.to_string(),
            key: record.3.clone(),
            len: record.0,
            kind: Kind::Manifest,
            copy: 0,
        })
    } else {
        None
    };
    let wanted: usize = clean.values().map(|(_, d)| d.len()).sum();
    if wanted + usize::from(manifest.is_some()) != previous.outputs.len() {
        return None;
    }
    let mut outputs: Vec<Desired> = std::mem::take(clean)
        .into_values()
        .flat_map(|(_, desired)| desired)
        .collect();
    outputs.extend(manifest);
    Some(outputs)
}

/// Moves the staged outputs into place, removes what is no longer produced, and returns the
/// new state (with whatever could not be moved left out of it).
/// What to rename to move the staged `paths` (sorted) into the output: the topmost folder
/// of each path that the output lacks (`is_dir` answers for the output), moved whole, else
/// the file itself. Paths under one folder are contiguous in sorted order, so each folder
/// is found once.
fn move_units(paths: &[&str], mut is_dir: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut known: HashMap<String, bool> = HashMap::new();
    let mut units: Vec<String> = Vec::new();
    for path in paths {
        if let Some(last) = units.last()
            && path
                .strip_prefix(last.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        {
            continue;
        }
        let missing = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .find(|dir| {
                !*known
                    .entry((*dir).to_string())
                    .or_insert_with(|| is_dir(dir))
            });
        units.push(missing.unwrap_or(path).to_string());
    }
    units
}

fn commit(
    ctx: &Context,
    produce: Produce,
    static_url: &str,
    codecs: &str,
    report: &mut BuildReport,
) -> (BuildState, Vec<FileError>) {
    let output = ctx.output;
    let previous = ctx.previous;
    let mut state = BuildState {
        version: STATE_VERSION,
        output: output.to_path_buf(),
        static_url: static_url.to_string(),
        codecs: codecs.to_string(),
        sources: produce.sources,
        plan: produce.plan,
        contents: produce.contents,
        outputs: BTreeMap::new(),
        ..BuildState::default()
    };
    let mut errors = Vec::new();
    // First the outputs of the previous build that are no longer produced, so a file
    // replaced by a folder of the same name (or the reverse) makes room.
    for (path, record) in &previous.outputs {
        if produce.outputs.contains_key(path) {
            continue;
        }
        let file = output_path(output, path);
        match lstat(&file) {
            None => {}
            Some(now) if now.meta == record.meta() => match remove_and_prune(&file, output) {
                Ok(()) => report.removed += 1,
                Err(e) => {
                    state.outputs.insert(path.clone(), record.clone());
                    errors.push(FileError {
                        path: file,
                        message: format!("could not remove: {e}"),
                    });
                }
            },
            Some(_) => report.kept_modified.push(file),
        }
    }
    // Into place: a folder the output does not have yet moves whole, in one rename (a
    // cold build into a missing output root is a single rename).
    let staged: Vec<&str> = produce
        .outputs
        .values()
        .filter(|p| matches!(p.outcome, Outcome::Staged(_)))
        .map(|p| p.desired.path.as_str())
        .collect();
    let units = if ctx.output_missing {
        vec![String::new()]
    } else {
        move_units(&staged, |dir| output_path(output, dir).is_dir())
    };
    let failed: Vec<(String, io::Error)> = units
        .par_iter()
        .filter_map(|unit| {
            let (from, to) = if unit.is_empty() {
                (ctx.staging.root.clone(), output.to_path_buf())
            } else {
                (ctx.staging.path(unit), output_path(output, unit))
            };
            fs::rename(&from, &to).err().map(|e| (unit.clone(), e))
        })
        .collect();
    let mut moved_meta: HashMap<String, FileMeta> = HashMap::new();
    for p in produce.outputs.values() {
        let Outcome::Staged(meta) = p.outcome else {
            continue;
        };
        let path = &p.desired.path;
        let under = |unit: &str| {
            unit.is_empty()
                || path == unit
                || path
                    .strip_prefix(unit)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        match failed.iter().find(|(unit, _)| under(unit)) {
            None => {
                moved_meta.insert(path.clone(), meta);
            }
            Some((_, e)) => errors.push(FileError {
                path: output_path(output, path),
                message: format!("could not move into place: {e}"),
            }),
        }
    }
    let mut totals = Totals::default();
    for (path, p) in &produce.outputs {
        let meta = match &p.outcome {
            Outcome::Kept(meta) => {
                report.unchanged += 1;
                Some(*meta)
            }
            Outcome::Adopted(meta) => {
                report.adopted += 1;
                Some(*meta)
            }
            Outcome::Staged(_) => {
                let meta = moved_meta.get(path).copied();
                if meta.is_some() {
                    report.written += 1;
                }
                meta
            }
            Outcome::Conflict => None,
        };
        let Some(meta) = meta else { continue };
        state
            .outputs
            .insert(path.clone(), OutputRecord::new(meta, &p.desired.key));
        totals.add(report, output, &p.desired, ctx.options.hash);
    }
    report.largest = totals.largest();

    (state, errors)
}

/// The report's byte totals and the sizes behind its largest outputs, one output at a time.
#[derive(Default)]
struct Totals {
    /// Copy → (raw, gzip, brotli) bytes: hashed copies (or every copy without hashing).
    sizes: BTreeMap<String, (u64, Option<u64>, Option<u64>)>,
}

impl Totals {
    fn add(&mut self, report: &mut BuildReport, output: &Path, desired: &Desired, hashing: bool) {
        let path = desired.path.as_str();
        report.outputs += 1;
        match desired.kind {
            Kind::Raw { hashed } => {
                report.bytes.raw += desired.len;
                if hashed || !hashing {
                    self.sizes.entry(path.to_string()).or_default().0 = desired.len;
                }
            }
            Kind::Manifest => {
                report.bytes.raw += desired.len;
                report.manifest = Some(output_path(output, path));
            }
            Kind::Encoded(encoding) => {
                let base = &path[..path.len() - encoding.suffix().len()];
                match encoding {
                    Encoding::Brotli => {
                        report.bytes.brotli += desired.len;
                        if let Some(entry) = self.sizes.get_mut(base) {
                            entry.2 = Some(desired.len);
                        }
                    }
                    Encoding::Gzip => {
                        report.bytes.gzip += desired.len;
                        if let Some(entry) = self.sizes.get_mut(base) {
                            entry.1 = Some(desired.len);
                        }
                    }
                    #[cfg(feature = "zstd")]
                    Encoding::Zstd => report.bytes.zstd += desired.len,
                }
            }
        }
    }

    /// The ten largest, largest first.
    fn largest(self) -> Vec<Largest> {
        let mut largest: Vec<Largest> = self
            .sizes
            .into_iter()
            .map(|(name, (raw, gzip, brotli))| Largest {
                name,
                raw,
                gzip,
                brotli,
            })
            .collect();
        largest.sort_by(|a, b| b.raw.cmp(&a.raw).then_with(|| a.name.cmp(&b.name)));
        largest.truncate(10);
        largest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: FileMeta = FileMeta {
        len: 3,
        mtime_ns: 5,
        ino: 9,
    };

    fn file(meta: FileMeta) -> Option<Current> {
        Some(Current {
            meta,
            regular: true,
            ours_inside: false,
        })
    }

    #[test]
    fn the_cache_is_pruned_at_most_once_per_grace() {
        let dir = tempfile::tempdir().unwrap();
        assert!(prune_due(dir.path()), "never pruned");
        assert!(!prune_due(dir.path()), "just pruned");
        let then = std::time::SystemTime::now() - CACHE_GRACE - Duration::from_secs(1);
        filetime::set_file_mtime(
            dir.path().join("compress.pruned"),
            filetime::FileTime::from_system_time(then),
        )
        .unwrap();
        assert!(prune_due(dir.path()), "pruned longer ago than the grace");
        assert!(!prune_due(dir.path()));
    }

    #[test]
    fn cache_entries_no_state_uses_are_pruned_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join(".sluice");
        let cache = state_dir.join("compress");
        let entry = |key: &str, suffix: &str, age: u64| {
            let file = cache.join(&key[..2]).join(format!("{key}.{suffix}"));
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, b"x").unwrap();
            let then = std::time::SystemTime::now() - Duration::from_secs(age);
            filetime::set_file_mtime(&file, filetime::FileTime::from_system_time(then)).unwrap();
            file
        };
        let state = |output: &str, keys: &[&str]| BuildState {
            version: STATE_VERSION,
            output: dir.path().join(output),
            contents: keys
                .iter()
                .map(|k| (k.to_string(), ContentRecord::default()))
                .collect(),
            ..BuildState::default()
        };
        let current = state("static", &["aa11"]);
        state("other", &["dd44"]).save(&state_dir).unwrap();
        let live = entry("aa11", "br", 7200);
        let live_none = entry("aa11", "gz.none", 7200);
        let other = entry("dd44", "gz", 7200);
        let dead = entry("bb22", "gz", 7200);
        let young = entry("cc33", "br", 60);
        assert_eq!(prune_cache(&cache, &state_dir, &current), 1);
        assert!(live.exists() && live_none.exists() && other.exists() && young.exists());
        assert!(!dead.exists() && !cache.join("bb").exists());
    }

    #[test]
    fn new_folders_move_whole() {
        let existing = ["css", "img"];
        let units = move_units(
            &[
                "app.js",
                "css/a.css",
                "css/new/b.css",
                "css/new/c/d.css",
                "css/new2/e.css",
                "fonts/x.woff",
                "fonts/y/z.woff",
                "img/p.png",
            ],
            |dir| existing.contains(&dir),
        );
        assert_eq!(
            units,
            [
                "app.js",
                "css/a.css",
                "css/new",
                "css/new2",
                "fonts",
                "img/p.png"
            ]
        );
        // A name that only starts like a moved folder is not inside it.
        let units = move_units(&["a/x", "a.b/y", "ab"], |_| false);
        assert_eq!(units, ["a", "a.b", "ab"]);
    }

    #[test]
    fn output_decisions() {
        let ours = OutputRecord::new(M, "k1");
        assert_eq!(decide(None, None, "k1", false), Action::Write);
        assert_eq!(decide(Some(&ours), file(M), "k1", false), Action::Keep);
        assert_eq!(decide(Some(&ours), file(M), "k2", false), Action::Write);
        let touched = FileMeta { mtime_ns: 6, ..M };
        assert_eq!(
            decide(Some(&ours), file(touched), "k1", false),
            Action::AdoptIfIdentical
        );
        assert_eq!(decide(None, file(M), "k1", false), Action::AdoptIfIdentical);
        assert_eq!(decide(None, file(M), "k1", true), Action::Write);
        let link = Some(Current {
            meta: M,
            regular: false,
            ours_inside: false,
        });
        assert_eq!(decide(None, link, "k1", false), Action::Conflict);
        // A folder holding outputs of the previous build makes way for a file.
        let our_folder = Some(Current {
            meta: M,
            regular: false,
            ours_inside: true,
        });
        assert_eq!(decide(None, our_folder, "k1", false), Action::Write);
    }

    #[test]
    fn static_url_as_django_uses_it() {
        assert_eq!(runtime_static_url("static/"), "/static/");
        assert_eq!(runtime_static_url("/static/"), "/static/");
        assert_eq!(runtime_static_url("/s"), "/s/");
        assert_eq!(
            runtime_static_url("https://cdn.example/s/"),
            "https://cdn.example/s/"
        );
    }

    #[test]
    fn keep_only_hashed_drops_the_original_copy() {
        let options = BuildOptions {
            keep_only_hashed: true,
            ..BuildOptions::default()
        };
        let c = copies(
            "a.css",
            ("k", 1),
            Some(("a.123.css".into(), "k".into(), 1)),
            &options,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].name, "a.123.css");
        let c = copies(
            "a.css",
            ("k", 1),
            Some(("a.123.css".into(), "k2".into(), 1)),
            &BuildOptions::default(),
        );
        assert_eq!(
            c.iter().map(|c| c.rewritten).collect::<Vec<_>>(),
            [false, true]
        );
    }
}
