//! `sluice sync`: one incremental pass that makes the output root mirror the sources.
//!
//! The pass is split the esbuild way: [`decide`] is a pure function from what the index, the
//! state and one `lstat` of the output say to what must happen to one file; [`sync`] does the I/O
//! around it, in parallel. Nothing in the output that sluice has no record of is deleted or
//! overwritten; an output whose bytes would not change is not rewritten.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::output::{copy_atomic, remove_and_prune, symlink_atomic};
use crate::sources::{
    FileMeta, IgnoreRules, ProblemKind, SourceFile, SourceIndex, SourceRoot, case_collisions,
    relative, scan, scan_subtree,
};
use crate::state::{Entry, SyncState, parent_dir};

#[derive(Debug, Clone, Copy, Default)]
pub struct SyncOptions {
    /// Take over output files sluice did not write (overwrite them).
    pub force: bool,
    /// Remove everything sluice wrote before, forget the state, then sync.
    pub clean: bool,
    /// Symlink outputs to their sources instead of copying (`collectstatic --link`).
    pub link: bool,
}

/// Told about long work, so a terminal can show a progress bar. Called from worker threads.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// What an output file looks like now (`lstat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputStat {
    pub meta: FileMeta,
    pub is_link: bool,
}

/// What must happen to one output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: the output is what sluice wrote from this very source.
    Keep,
    /// The source was touched but the output is ours and intact: compare bytes, write if they
    /// differ, otherwise only refresh the record.
    Refresh,
    /// Write the output (new, deleted since, or switching between copy and link).
    Write,
    /// A file sluice did not write (or that was changed since) is in the way: adopt it if its
    /// bytes equal the source, otherwise it is a conflict.
    AdoptIfIdentical,
    /// In the way, and cannot be identical (a link where a copy goes or the reverse).
    Conflict,
}

/// The pure core of a sync pass for one logical path.
pub fn decide(
    source: &FileMeta,
    recorded: Option<&Entry>,
    current: Option<&OutputStat>,
    options: &SyncOptions,
) -> Decision {
    let Some(current) = current else {
        return Decision::Write;
    };
    let ours = recorded.filter(|e| e.output == current.meta && e.link == current.is_link);
    match ours {
        Some(entry) if entry.link != options.link => Decision::Write,
        Some(entry) if entry.source == *source => Decision::Keep,
        // A link follows its source by itself; only the record needs refreshing.
        Some(_) if options.link => Decision::Keep,
        Some(_) => Decision::Refresh,
        None if options.force => Decision::Write,
        None if current.is_link != options.link => Decision::Conflict,
        None => Decision::AdoptIfIdentical,
    }
}

/// One file that could not be handled.
#[derive(Debug, Clone)]
pub struct FileError {
    pub path: PathBuf,
    pub message: String,
}

/// A file in the output that sluice did not write and left alone.
#[derive(Debug, Clone)]
pub struct OutputConflict {
    pub logical: String,
    pub output: PathBuf,
}

#[derive(Debug, Default)]
pub struct SyncReport {
    /// Files in the sources (after ignores and shadowing).
    pub files: usize,
    pub copied: usize,
    pub unchanged: usize,
    /// Foreign output files identical to their source, now recorded as sluice's own.
    pub adopted: usize,
    pub removed: usize,
    /// Files sluice wrote once, changed by someone since, whose source is gone: left in place.
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

/// Everything a sync pass needs to know.
#[derive(Debug, Clone)]
pub struct SyncJob<'a> {
    pub roots: &'a [SourceRoot],
    pub ignore: &'a IgnoreRules,
    pub output: &'a Path,
    pub state_dir: &'a Path,
    pub options: SyncOptions,
}

/// Refuses an output inside a source root or a source root inside the output: the mirror would
/// copy itself (Django refuses the same with check `staticfiles.E002`).
pub fn check_layout(roots: &[SourceRoot], output: &Path) -> Result<()> {
    let output = resolve_existing(output);
    for root in roots {
        let meta = fs::metadata(&root.path);
        if !meta.as_ref().is_ok_and(|m| m.is_dir()) {
            return Err(Error::config(format!(
                "source folder {} {}",
                root.path.display(),
                if meta.is_ok() {
                    "is not a folder"
                } else {
                    "does not exist"
                }
            ))
            .with_hint("fix the path where it is set (`sluice config` shows where each value comes from), or pass `--source DIR`"));
        }
        let source = resolve_existing(&root.path);
        if output.starts_with(&source) || source.starts_with(&output) {
            let relation = if output == source {
                "is the same folder as"
            } else if output.starts_with(&source) {
                "is inside"
            } else {
                "contains"
            };
            return Err(Error::config(format!(
                "the output {} {relation} the source folder {}",
                output.display(),
                root.path.display()
            ))
            .with_hint("choose an output outside every source folder (Django: STATIC_ROOT must not be in STATICFILES_DIRS)"));
        }
    }
    Ok(())
}

/// `path` made absolute with symlinks resolved as far as it exists (the output may not yet).
fn resolve_existing(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut current = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    loop {
        if let Ok(real) = current.canonicalize() {
            return missing.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (current.file_name().map(ToOwned::to_owned), current.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                current = parent.to_path_buf();
            }
            _ => return current,
        }
    }
}

fn lstat(path: &Path) -> Option<OutputStat> {
    let meta = fs::symlink_metadata(path).ok()?;
    Some(OutputStat {
        meta: FileMeta::of(&meta),
        is_link: meta.file_type().is_symlink(),
    })
}

/// Where a logical path goes in the output.
pub fn output_path(output: &Path, logical: &str) -> PathBuf {
    logical
        .split('/')
        .fold(output.to_path_buf(), |p, part| p.join(part))
}

enum Outcome {
    Kept(Entry),
    Written(Entry),
    Adopted(Entry),
    Conflict,
    Failed(FileError),
}

/// The engine behind `sync` and `watch`: the index of the sources and the record of the output,
/// kept in memory between passes so a change set costs only the files it names.
pub struct Mirror {
    roots: Vec<SourceRoot>,
    ignore: IgnoreRules,
    output: PathBuf,
    state_dir: PathBuf,
    options: SyncOptions,
    files: BTreeMap<String, SourceFile>,
    state: SyncState,
    dirty: bool,
}

/// What one incremental update did.
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
}

impl Mirror {
    /// Checks the layout and loads the state; does not touch the sources yet.
    pub fn new(job: &SyncJob) -> Result<Mirror> {
        check_layout(job.roots, job.output)?;
        let state = SyncState::load(job.state_dir, job.output);
        Ok(Mirror {
            roots: job.roots.to_vec(),
            ignore: job.ignore.clone(),
            output: job.output.to_path_buf(),
            state_dir: job.state_dir.to_path_buf(),
            options: job.options,
            files: BTreeMap::new(),
            state,
            dirty: false,
        })
    }

    pub fn roots(&self) -> &[SourceRoot] {
        &self.roots
    }

    pub fn ignore(&self) -> &IgnoreRules {
        &self.ignore
    }

    pub fn output(&self) -> &Path {
        &self.output
    }

    /// The indexed source files, by logical path.
    pub fn files(&self) -> &BTreeMap<String, SourceFile> {
        &self.files
    }

    /// Writes the state if it changed since the last save.
    pub fn save(&mut self) -> Result<()> {
        if self.dirty {
            self.state.save(&self.state_dir)?;
            self.dirty = false;
        }
        Ok(())
    }

    fn record(&mut self, logical: &str, entry: Entry) {
        if self.state.entries.get(logical) != Some(&entry) {
            self.state.entries.insert(logical.to_owned(), entry);
            self.dirty = true;
        }
    }

    fn forget(&mut self, logical: &str) -> Option<Entry> {
        let entry = self.state.entries.remove(logical);
        self.dirty |= entry.is_some();
        entry
    }

    /// A full pass: walk every root, then make the output match.
    pub fn full_pass(&mut self, progress: &dyn Progress) -> Result<SyncReport> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        if self.options.clean {
            for (logical, entry) in std::mem::take(&mut self.state.entries) {
                let path = output_path(&self.output, &logical);
                if lstat(&path).is_some_and(|now| now.meta == entry.output) {
                    remove_and_prune(&path, &self.output)
                        .map_err(|e| Error::io("remove", &path, e))?;
                }
                self.dirty = true;
            }
        }
        let mut index = scan(&self.roots, &self.ignore);
        self.files = std::mem::take(&mut index.files);

        // Outputs whose source is gone go first, so a file replaced by a folder of the same name
        // (or the reverse) makes room. If a folder could not be read its files look gone too,
        // so then nothing is removed.
        report.removals_skipped = index
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Unreadable);
        if !report.removals_skipped {
            let stale: Vec<String> = self
                .state
                .entries
                .keys()
                .filter(|logical| !self.files.contains_key(*logical))
                .cloned()
                .collect();
            for logical in stale {
                match self.remove_output(&logical) {
                    Removal::Removed => {
                        report.removed += 1;
                        report.changed.push(logical);
                    }
                    Removal::Missing => {}
                    Removal::KeptModified(path) => report.kept_modified.push(path),
                    Removal::Failed(error) => report.errors.push(error),
                }
            }
        }

        let untouched: HashSet<String> = if self.options.clean {
            HashSet::new()
        } else {
            self.state
                .untouched_dirs()
                .into_iter()
                .map(str::to_owned)
                .collect()
        };
        let untouched: HashSet<&str> = untouched.iter().map(String::as_str).collect();
        let applied = self.apply(Selection::All, &untouched, progress);
        report.copied = applied.copied;
        report.unchanged = applied.unchanged;
        report.adopted = applied.adopted;
        report.conflicts = applied.conflicts;
        report.errors.extend(applied.errors);
        report.changed.extend(applied.written);
        for problem in &index.problems {
            if problem.kind != ProblemKind::SymlinkLoop {
                report.errors.push(FileError {
                    path: problem.path.clone(),
                    message: problem.detail.clone(),
                });
            }
        }
        report.changed.sort();
        report.files = self.files.len();
        report.case_collisions = case_collisions(self.files.keys());
        report.index = index;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Brings the given logical paths up to date: write what `decide` says, record it.
    /// In `untouched` output folders, an unchanged source's output is known intact without a
    /// stat (see [`SyncState::untouched_dirs`]).
    fn apply(
        &mut self,
        logicals: Selection,
        untouched: &HashSet<&str>,
        progress: &dyn Progress,
    ) -> Applied {
        // (logical, source, record), without a map lookup per file on a full pass: the index
        // and the state are both sorted by logical path, so one merge walk pairs them.
        // The fourth field: whether the output's folder is untouched, decided once per folder.
        let mut folder: (String, bool) = ("\0".into(), false);
        let mut trusted = |logical: &str| {
            let dir = parent_dir(logical);
            if dir != folder.0 {
                folder = (dir.to_owned(), untouched.contains(dir));
            }
            folder.1
        };
        let items: Vec<(&String, &SourceFile, Option<&Entry>, bool)> = match logicals {
            Selection::All => {
                let mut records = self.state.entries.iter().peekable();
                self.files
                    .iter()
                    .map(|(logical, file)| {
                        while records.next_if(|(k, _)| *k < logical).is_some() {}
                        let record = records.next_if(|(k, _)| *k == logical).map(|(_, e)| e);
                        (logical, file, record, trusted(logical))
                    })
                    .collect()
            }
            Selection::Some(list) => list
                .iter()
                .filter_map(|l| {
                    Some((l, self.files.get(l)?, self.state.entries.get(l), trusted(l)))
                })
                .collect(),
        };
        let (options, output) = (&self.options, &self.output);
        let plan =
            |&(logical, file, record, trusted): &(&String, &SourceFile, Option<&Entry>, bool)| {
                if let Some(entry) = record
                    && entry.source == file.meta
                    && entry.link == options.link
                    && trusted
                {
                    return Decision::Keep;
                }
                let current = lstat(&output_path(output, logical));
                decide(&file.meta, record, current.as_ref(), options)
            };
        let planned: Vec<Decision> = items.par_iter().map(plan).collect();
        let busy = planned.iter().filter(|d| **d != Decision::Keep).count();
        progress.start(busy as u64);
        let mut applied = Applied::default();
        // Only what changes leaves this parallel section with an owned name.
        let outcomes: Vec<(String, Outcome)> = items
            .par_iter()
            .zip(planned.par_iter())
            .filter_map(|(&(logical, file, record, _), &decision)| {
                if decision == Decision::Keep
                    && let Some(entry) = record
                    && entry.source == file.meta
                {
                    return None; // intact and recorded as it is: nothing to do
                }
                let dest = output_path(output, logical);
                let outcome = carry_out(decision, file, &dest, record, options);
                if decision != Decision::Keep {
                    progress.advance();
                }
                Some((logical.clone(), outcome))
            })
            .collect();
        progress.finish();
        applied.unchanged = items.len() - outcomes.len();
        for (logical, outcome) in outcomes {
            match outcome {
                Outcome::Kept(entry) => {
                    applied.unchanged += 1;
                    self.record(&logical, entry);
                }
                Outcome::Written(entry) => {
                    applied.copied += 1;
                    self.record(&logical, entry);
                    applied.written.push(logical);
                }
                Outcome::Adopted(entry) => {
                    applied.adopted += 1;
                    self.record(&logical, entry);
                }
                Outcome::Conflict => applied.conflicts.push(OutputConflict {
                    output: output_path(&self.output, &logical),
                    logical,
                }),
                Outcome::Failed(error) => applied.errors.push(error),
            }
        }
        applied
    }

    /// Removes the output of `logical` if it is still what sluice wrote.
    fn remove_output(&mut self, logical: &str) -> Removal {
        let Some(entry) = self.forget(logical) else {
            return Removal::Missing;
        };
        let path = output_path(&self.output, logical);
        match lstat(&path) {
            None => Removal::Missing,
            Some(now) if now.meta == entry.output => match remove_and_prune(&path, &self.output) {
                Ok(()) => Removal::Removed,
                Err(e) => {
                    self.record(logical, entry);
                    Removal::Failed(FileError {
                        path,
                        message: format!("could not remove: {e}"),
                    })
                }
            },
            Some(_) => Removal::KeptModified(path),
        }
    }

    /// The file that owns `logical` now: the first root that has it, as Django's finders say.
    fn resolve(&self, logical: &str) -> std::result::Result<Option<SourceFile>, FileError> {
        for (i, root) in self.roots.iter().enumerate() {
            let rel = match &root.prefix {
                Some(prefix) => match logical
                    .strip_prefix(prefix.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                {
                    Some(rel) => rel,
                    None => continue,
                },
                None => logical,
            };
            if self.ignore.ignores_path(rel) {
                continue;
            }
            let path = output_path(&root.path, rel);
            match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    return Ok(Some(SourceFile {
                        root: i,
                        path,
                        meta: FileMeta::of(&meta),
                    }));
                }
                Ok(_) => {}
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || e.kind() == io::ErrorKind::NotADirectory => {}
                Err(e) => {
                    return Err(FileError {
                        path,
                        message: describe_io(&e),
                    });
                }
            }
        }
        Ok(None)
    }

    /// The logical paths a changed path can affect, scanning folders that appeared.
    fn affected(&self, changed: &Path, logicals: &mut BTreeSet<String>, report: &mut ChangeReport) {
        for root in &self.roots {
            let Ok(inside) = changed.strip_prefix(&root.path) else {
                continue;
            };
            let Some(rel) = relative(changed, &root.path) else {
                continue; // a non-UTF-8 name: the full pass reports it
            };
            let under = |prefix: &str| -> Vec<String> {
                let start = format!("{prefix}/");
                self.files
                    .range(start.clone()..)
                    .take_while(|(k, _)| k.starts_with(&start))
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            if inside.as_os_str().is_empty() {
                // The root itself: everything it holds may have changed.
                match &root.prefix {
                    Some(prefix) => logicals.extend(under(prefix)),
                    None => logicals.extend(self.files.keys().cloned()),
                }
            } else {
                let parent = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
                if !parent.is_empty() && self.ignore.ignores_dir_path(parent) {
                    continue;
                }
                let logical = root.logical(&rel);
                logicals.extend(under(&logical));
                let name = rel.rsplit('/').next().unwrap_or(&rel);
                if !self.ignore.ignores_file(name, &rel) {
                    // Also when it is a folder now: a file of that name may be gone.
                    logicals.insert(logical);
                }
                if !fs::metadata(changed).is_ok_and(|m| m.is_dir()) || self.ignore.ignores_dir(name)
                {
                    continue;
                }
            }
            if fs::metadata(&root.path).is_ok_and(|m| m.is_dir()) {
                let found = scan_subtree(root, changed, &self.ignore);
                logicals.extend(found.files.into_iter().map(|(logical, ..)| logical));
                report.new_dirs.extend(found.dirs);
                report.errors.extend(
                    found
                        .problems
                        .into_iter()
                        .filter(|p| p.kind != ProblemKind::SymlinkLoop)
                        .map(|p| FileError {
                            path: p.path,
                            message: p.detail,
                        }),
                );
            }
        }
    }

    /// Applies one change set: `changed` are absolute paths that may have been created,
    /// modified, deleted or renamed (files or folders). Only what they affect is touched.
    pub fn update(&mut self, changed: &[PathBuf]) -> ChangeReport {
        let started = Instant::now();
        let mut report = ChangeReport::default();
        let mut logicals = BTreeSet::new();
        for path in changed {
            self.affected(path, &mut logicals, &mut report);
        }
        // A root that is gone (deleted, renamed away, unmounted) keeps its outputs until it is
        // back: its files are not resolved, so neither removed nor replaced by a later root's.
        let missing: Vec<usize> = (0..self.roots.len())
            .filter(|&i| !self.roots[i].path.is_dir())
            .collect();
        let logicals: Vec<String> = logicals
            .into_iter()
            .filter(|l| self.files.get(l).is_none_or(|f| !missing.contains(&f.root)))
            .collect();
        let resolved: Vec<(String, std::result::Result<Option<SourceFile>, FileError>)> = logicals
            .par_iter()
            .map(|logical| (logical.clone(), self.resolve(logical)))
            .collect();
        let mut present = Vec::new();
        for (logical, found) in resolved {
            match found {
                Ok(Some(file)) => {
                    self.files.insert(logical.clone(), file);
                    present.push(logical);
                }
                Ok(None) => {
                    self.files.remove(&logical);
                    match self.remove_output(&logical) {
                        Removal::Removed => {
                            report.removed += 1;
                            report.changed.push(logical);
                        }
                        Removal::Failed(error) => report.errors.push(error),
                        Removal::Missing | Removal::KeptModified(_) => {}
                    }
                }
                Err(error) => report.errors.push(error),
            }
        }
        let applied = self.apply(Selection::Some(&present), &HashSet::new(), &Silent);
        report.copied = applied.copied;
        report.changed.extend(applied.written);
        report.changed.sort();
        report.conflicts = applied.conflicts;
        report.errors.extend(applied.errors);
        report.missing_roots = missing
            .into_iter()
            .map(|i| self.roots[i].path.clone())
            .collect();
        report.elapsed = started.elapsed();
        report
    }
}

/// Which indexed files a pass looks at.
enum Selection<'a> {
    All,
    Some(&'a [String]),
}

#[derive(Default)]
struct Applied {
    copied: usize,
    unchanged: usize,
    adopted: usize,
    written: Vec<String>,
    conflicts: Vec<OutputConflict>,
    errors: Vec<FileError>,
}

enum Removal {
    Removed,
    Missing,
    KeptModified(PathBuf),
    Failed(FileError),
}

fn carry_out(
    decision: Decision,
    file: &SourceFile,
    dest: &Path,
    previous: Option<&Entry>,
    options: &SyncOptions,
) -> Outcome {
    let source = file.path.as_path();
    let record = |output: FileMeta| Entry {
        source: file.meta,
        output,
        link: options.link,
    };
    let failed = |path: &Path, e: &io::Error| {
        Outcome::Failed(FileError {
            path: path.to_path_buf(),
            message: describe_io(e),
        })
    };
    let write = || {
        let result = if options.link {
            symlink_atomic(source, dest)
        } else {
            copy_atomic(source, dest)
        };
        match result.and_then(|()| fs::symlink_metadata(dest)) {
            Ok(meta) => Outcome::Written(record(FileMeta::of(&meta))),
            Err(e) => failed(source, &e),
        }
    };
    let refreshed = |previous: Option<&Entry>| match previous {
        Some(entry) => Outcome::Kept(Entry {
            source: file.meta,
            ..*entry
        }),
        None => write(),
    };
    match decision {
        Decision::Keep => refreshed(previous),
        Decision::Write => write(),
        Decision::Refresh => match same_bytes(source, dest) {
            Ok(true) => refreshed(previous),
            _ => write(),
        },
        Decision::AdoptIfIdentical => {
            let identical = if options.link {
                fs::read_link(dest).is_ok_and(|target| target == source)
            } else {
                same_bytes(source, dest).unwrap_or(false)
            };
            if !identical {
                return Outcome::Conflict;
            }
            match fs::symlink_metadata(dest) {
                Ok(meta) => Outcome::Adopted(record(FileMeta::of(&meta))),
                Err(e) => failed(dest, &e),
            }
        }
        Decision::Conflict => Outcome::Conflict,
    }
}

fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
    let (ma, mb) = (fs::metadata(a)?, fs::metadata(b)?);
    if ma.len() != mb.len() || !mb.is_file() {
        return Ok(false);
    }
    Ok(fs::read(a)? == fs::read(b)?)
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!("permission denied ({e})"),
        io::ErrorKind::NotFound => "vanished while syncing".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: FileMeta = FileMeta {
        len: 1,
        mtime_ns: 10,
        ino: 7,
    };
    const M2: FileMeta = FileMeta {
        len: 2,
        mtime_ns: 20,
        ino: 7,
    };
    const OUT: FileMeta = FileMeta {
        len: 1,
        mtime_ns: 11,
        ino: 9,
    };
    const COPY: SyncOptions = SyncOptions {
        force: false,
        clean: false,
        link: false,
    };

    fn stat(meta: FileMeta, is_link: bool) -> OutputStat {
        OutputStat { meta, is_link }
    }

    #[test]
    fn decisions() {
        let entry = Entry {
            source: M1,
            output: OUT,
            link: false,
        };
        // Missing output is always (re)written.
        assert_eq!(decide(&M1, None, None, &COPY), Decision::Write);
        assert_eq!(decide(&M1, Some(&entry), None, &COPY), Decision::Write);
        // Ours and untouched.
        assert_eq!(
            decide(&M1, Some(&entry), Some(&stat(OUT, false)), &COPY),
            Decision::Keep
        );
        // Source touched.
        assert_eq!(
            decide(&M2, Some(&entry), Some(&stat(OUT, false)), &COPY),
            Decision::Refresh
        );
        // Output changed behind our back, or never ours.
        let changed = stat(M2, false);
        assert_eq!(
            decide(&M1, Some(&entry), Some(&changed), &COPY),
            Decision::AdoptIfIdentical
        );
        assert_eq!(
            decide(&M1, None, Some(&changed), &COPY),
            Decision::AdoptIfIdentical
        );
        assert_eq!(
            decide(&M1, None, Some(&stat(M2, true)), &COPY),
            Decision::Conflict
        );
        let force = SyncOptions {
            force: true,
            ..COPY
        };
        assert_eq!(decide(&M1, None, Some(&changed), &force), Decision::Write);
        // Switching to links rewrites our own copies.
        let link = SyncOptions { link: true, ..COPY };
        assert_eq!(
            decide(&M1, Some(&entry), Some(&stat(OUT, false)), &link),
            Decision::Write
        );
        let linked = Entry {
            link: true,
            ..entry
        };
        assert_eq!(
            decide(&M2, Some(&linked), Some(&stat(OUT, true)), &link),
            Decision::Keep
        );
    }
}
