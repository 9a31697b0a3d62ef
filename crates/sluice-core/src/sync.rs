//! `sluice sync`: one incremental pass that makes the output root mirror the sources.
//!
//! The pass is split the esbuild way: [`decide`] is a pure function from what the index, the
//! state and one `lstat` of the output say to what must happen to one file; [`sync`] does the I/O
//! around it, in parallel. Nothing in the output that sluice has no record of is deleted or
//! overwritten; an output whose bytes would not change is not rewritten.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::output::{copy_atomic, remove_and_prune, symlink_atomic};
use crate::sources::{FileMeta, IgnoreRules, ProblemKind, SourceIndex, SourceRoot, scan};
use crate::state::{Entry, SyncState};

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
    pub index: SourceIndex,
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
            .with_hint("fix the path in the configuration, or pass `--source DIR`"));
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

/// Runs one sync pass.
pub fn sync(job: &SyncJob, progress: &dyn Progress) -> Result<SyncReport> {
    let started = Instant::now();
    check_layout(job.roots, job.output)?;
    let index = scan(job.roots, job.ignore);
    let mut state = SyncState::load(job.state_dir, job.output);
    let before = state.clone();
    let mut report = SyncReport::default();
    if job.options.clean {
        for (logical, entry) in std::mem::take(&mut state.entries) {
            let path = output_path(job.output, &logical);
            if lstat(&path).is_some_and(|now| now.meta == entry.output) {
                remove_and_prune(&path, job.output).map_err(|e| Error::io("remove", &path, e))?;
            }
        }
    }

    let planned: Vec<(&String, Decision, PathBuf)> = index
        .files
        .par_iter()
        .map(|(logical, file)| {
            let dest = output_path(job.output, logical);
            let current = lstat(&dest);
            let decision = decide(
                &file.meta,
                state.entries.get(logical),
                current.as_ref(),
                &job.options,
            );
            (logical, decision, dest)
        })
        .collect();

    let busy = planned.iter().filter(|p| p.1 != Decision::Keep).count();
    progress.start(busy as u64);
    let outcomes: Vec<(&String, Outcome)> = planned
        .par_iter()
        .map(|(logical, decision, dest)| {
            let file = &index.files[*logical];
            let outcome = carry_out(
                *decision, &file.path, &file.meta, dest, &state, logical, job,
            );
            if *decision != Decision::Keep {
                progress.advance();
            }
            (*logical, outcome)
        })
        .collect();
    progress.finish();

    for (logical, outcome) in outcomes {
        match outcome {
            Outcome::Kept(entry) => {
                report.unchanged += 1;
                state.entries.insert(logical.clone(), entry);
            }
            Outcome::Written(entry) => {
                report.copied += 1;
                state.entries.insert(logical.clone(), entry);
            }
            Outcome::Adopted(entry) => {
                report.adopted += 1;
                state.entries.insert(logical.clone(), entry);
            }
            Outcome::Conflict => report.conflicts.push(OutputConflict {
                logical: logical.clone(),
                output: output_path(job.output, logical),
            }),
            Outcome::Failed(error) => report.errors.push(error),
        }
    }

    // Outputs whose source is gone. If a folder could not be read its files look gone too, so
    // then nothing is removed.
    report.removals_skipped = index
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::Unreadable);
    if !report.removals_skipped {
        let stale: Vec<String> = state
            .entries
            .keys()
            .filter(|logical| !index.files.contains_key(*logical))
            .cloned()
            .collect();
        for logical in stale {
            let Some(entry) = state.entries.remove(&logical) else {
                continue;
            };
            let path = output_path(job.output, &logical);
            match lstat(&path) {
                None => {}
                Some(now) if now.meta == entry.output => {
                    match remove_and_prune(&path, job.output) {
                        Ok(()) => report.removed += 1,
                        Err(e) => {
                            report.errors.push(FileError {
                                path: path.clone(),
                                message: format!("could not remove: {e}"),
                            });
                            state.entries.insert(logical, entry);
                        }
                    }
                }
                Some(_) => report.kept_modified.push(path),
            }
        }
    }

    if state != before {
        state.save(job.state_dir)?;
    }
    for problem in &index.problems {
        if problem.kind != ProblemKind::SymlinkLoop {
            report.errors.push(FileError {
                path: problem.path.clone(),
                message: problem.detail.clone(),
            });
        }
    }
    report.files = index.files.len();
    report.index = index;
    report.elapsed = started.elapsed();
    Ok(report)
}

fn carry_out(
    decision: Decision,
    source: &Path,
    source_meta: &FileMeta,
    dest: &Path,
    state: &SyncState,
    logical: &str,
    job: &SyncJob,
) -> Outcome {
    let record = |output: FileMeta| Entry {
        source: *source_meta,
        output,
        link: job.options.link,
    };
    let written = |result: io::Result<()>| match result
        .and_then(|()| fs::symlink_metadata(dest).map(|m| FileMeta::of(&m)))
    {
        Ok(output) => Outcome::Written(record(output)),
        Err(e) => Outcome::Failed(FileError {
            path: source.to_path_buf(),
            message: describe_io(&e),
        }),
    };
    let write = || {
        if job.options.link {
            written(symlink_atomic(source, dest))
        } else {
            written(copy_atomic(source, dest))
        }
    };
    match decision {
        Decision::Keep => {
            let previous = state.entries[logical];
            Outcome::Kept(Entry {
                source: *source_meta,
                ..previous
            })
        }
        Decision::Write => write(),
        Decision::Refresh => match same_bytes(source, dest) {
            Ok(true) => Outcome::Kept(Entry {
                source: *source_meta,
                ..state.entries[logical]
            }),
            _ => write(),
        },
        Decision::AdoptIfIdentical => {
            let identical = if job.options.link {
                fs::read_link(dest).is_ok_and(|target| target == source)
            } else {
                same_bytes(source, dest).unwrap_or(false)
            };
            match identical {
                true => match fs::symlink_metadata(dest) {
                    Ok(m) => Outcome::Adopted(record(FileMeta::of(&m))),
                    Err(e) => Outcome::Failed(FileError {
                        path: dest.to_path_buf(),
                        message: describe_io(&e),
                    }),
                },
                false => Outcome::Conflict,
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
