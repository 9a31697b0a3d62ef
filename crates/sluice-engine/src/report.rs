//! What a pass tells the one who ran it: plain data, printed by the binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sluice_core::error::FileError;

use crate::build::{Analysis, Verdict};
use sluice_core::sources::SourceIndex;

/// A file in the output that sluice did not write and left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputConflict {
    pub logical: String,
    pub output: PathBuf,
}

/// A full pass of the dev profile: the sources' copies.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Files in the sources (after ignores and shadowing).
    pub files: usize,
    pub copied: usize,
    pub unchanged: usize,
    /// Output files identical to their source that sluice had no record of, now its own.
    pub adopted: usize,
    /// Outputs removed: their source is gone, or the other profile wanted them.
    pub removed: usize,
    /// Files sluice wrote once, changed by someone since, no longer wanted: left in place.
    pub kept_modified: Vec<PathBuf>,
    pub conflicts: Vec<OutputConflict>,
    pub errors: Vec<FileError>,
    /// Set when a folder could not be read, so removals were skipped to lose nothing.
    pub removals_skipped: bool,
    /// The walk's findings besides the files: shadowed files, problems, folders.
    pub index: SourceIndex,
    pub case_collisions: Vec<Vec<String>>,
    /// Logical paths whose output was written or removed.
    pub changed: Vec<String>,
    pub elapsed: Duration,
}

impl SyncReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One change set applied in a watch.
#[derive(Debug, Default)]
pub struct ChangeReport {
    /// Logical paths whose output was written or removed.
    pub changed: Vec<String>,
    pub copied: usize,
    pub removed: usize,
    pub conflicts: Vec<OutputConflict>,
    pub errors: Vec<FileError>,
    /// Folders that appeared (and were scanned): a watcher must watch them.
    pub new_dirs: Vec<PathBuf>,
    /// Source roots that are missing right now.
    pub missing_roots: Vec<PathBuf>,
    pub elapsed: Duration,
}

impl ChangeReport {
    /// A full pass seen as one change set (the catch-up pass of a watch, a rescan).
    pub fn from_sync(report: SyncReport) -> ChangeReport {
        ChangeReport {
            changed: report.changed,
            copied: report.copied,
            removed: report.removed,
            conflicts: report.conflicts,
            errors: report.errors,
            new_dirs: report.index.dirs,
            missing_roots: Vec::new(),
            elapsed: report.elapsed,
        }
    }

    /// Adds a follow-up update's results to this one.
    pub fn merge(&mut self, other: ChangeReport) {
        self.changed.extend(other.changed);
        self.changed.sort();
        self.changed.dedup();
        self.copied += other.copied;
        self.removed += other.removed;
        self.conflicts.extend(other.conflicts);
        self.errors.extend(other.errors);
        self.new_dirs.extend(other.new_dirs);
        self.missing_roots.extend(other.missing_roots);
    }

    pub fn eventful(&self) -> bool {
        !self.changed.is_empty() || !self.errors.is_empty() || !self.conflicts.is_empty()
    }
}

/// What the dev profile derived in one pass: compiled sources and bundles.
#[derive(Debug, Default)]
pub struct DeriveReport {
    /// Logical paths of outputs written or removed (bundles' `.map` files included).
    pub changed: Vec<String>,
    pub compiled: usize,
    pub bundled: usize,
    /// Errors met in this pass (the outputs they concern keep their last good bytes).
    pub errors: Vec<sluice_assets::Error>,
    /// Outputs left alone: a file sluice did not write is in the way.
    pub conflicts: Vec<String>,
    /// Things worth a warning (a source shadowing a compiled output, …).
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// One pass of the dev profile: the sources' copies, then what was derived.
#[derive(Debug, Default)]
pub struct DevReport {
    pub sync: SyncReport,
    pub derived: DeriveReport,
}

/// One change set of the dev profile.
#[derive(Debug, Default)]
pub struct DevChange {
    pub change: ChangeReport,
    pub derived: DeriveReport,
    /// The errors in force after it (for a browser overlay): one per output that failed
    /// last time, whether or not this change set looked at it.
    pub in_force: Vec<sluice_assets::Error>,
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
    /// Collected files: sources (after ignores and shadowing), compiled outputs, bundles.
    pub files: usize,
    /// Files in the output that this build produced (copies, compressed copies, manifest).
    pub outputs: usize,
    pub written: usize,
    pub unchanged: usize,
    /// Output files that were there already, not recorded as sluice's, with the right bytes.
    pub adopted: usize,
    /// Outputs no longer produced (by an earlier build, or wanted by the dev profile), removed.
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
    /// Outputs sluice wrote, changed by someone since, no longer produced: left alone.
    pub kept_modified: Vec<PathBuf>,
    /// The bundles' outputs (bundle files and their source maps), in definition order.
    pub bundles: Vec<String>,
    /// Whether the bundles were minified.
    pub minified: bool,
    /// Bundles assembled (and minified when minifying) by this build; the others were
    /// unchanged since the last one (or found in the cache).
    pub bundles_built: usize,
    /// Sources compiled by this build (the others were unchanged since the last one).
    pub compiled: usize,
    /// The compiled outputs that joined the collected files (`x.scss` → `x.css`).
    pub compiled_outputs: Vec<String>,
    /// Problems worth showing that did not stop the build (CSS a minifier dropped; a
    /// compiled output or a source shadowed), each naming its file.
    pub warnings: Vec<sluice_assets::Error>,
    /// The walk's findings besides the files (shadowed files).
    pub index: SourceIndex,
    /// Every size budget's verdicts (all within their limits: else the build fails).
    pub budgets: Vec<Verdict>,
    /// What the build report shows, when asked for ([`crate::BuildOptions::analyse`]).
    pub analysis: Option<Analysis>,
    pub elapsed: Duration,
}

/// Size budgets that failed: every budget's verdicts (the failed ones among them) and, when
/// a report was asked for, what it would have shown.
#[derive(Debug)]
pub struct BudgetFailure {
    pub verdicts: Vec<Verdict>,
    pub analysis: Option<Analysis>,
}

/// Why a build stopped. Nothing in the output root changed, except for
/// [`BuildError::Commit`] (a rename failed part-way; what was moved is recorded).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Configuration or layout (exit code 2), or the record could not be saved.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// Django's manifest rules failed: non-UTF-8 `*.css`/`*.js`, missing reference, cycle.
    /// `sources` gives the source file of each logical name involved.
    #[error("{error}")]
    Manifest {
        error: Box<sluice_assets::Error>,
        sources: BTreeMap<String, PathBuf>,
    },
    /// A bundle could not be built (a pattern that finds nothing, an unreadable member…).
    #[error("{0}")]
    Bundles(Box<sluice_assets::Error>),
    /// A source could not be compiled (a syntax error, a missing `lessc`…).
    #[error("{0}")]
    Compile(Box<sluice_assets::Error>),
    /// Files in the output that sluice did not write are in the way.
    #[error("{} output files not written by sluice are in the way", .0.len())]
    Conflicts(Vec<PathBuf>),
    /// Sources or outputs that could not be read or written.
    #[error("{} files could not be handled", .0.len())]
    Files(Vec<FileError>),
    /// Outputs over their size budget, or budgets that cover nothing: checked before
    /// anything moved into the output.
    #[error("{} over budget", .0.verdicts.iter().filter(|v| v.failed()).count())]
    Budgets(Box<BudgetFailure>),
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
