//! The build profile (`sluice build`): every collected file — sources, compiled outputs,
//! bundles (minified, or plain as django-pipeline writes them) — into the output root as
//! `collectstatic` would, named and rewritten as Django's `ManifestStaticFilesStorage` does
//! with `staticfiles.json` ([`sluice_assets::django_manifest`]), and compressed as whitenoise
//! does ([`sluice_assets::compress`]).
//!
//! Incremental through the record: a build with nothing changed reads no source and writes
//! nothing; a change re-reads only the changed files and the `*.css`/`*.js` files whose names
//! depend on them; what another profile wrote is kept where its bytes are the wanted ones and
//! replaced otherwise. All or nothing: new outputs are staged beside the output root and moved
//! in only once everything was read, planned and compressed without error — and within its
//! size budgets ([`budget`], checked by [`inspect`] just before the commit).

pub mod budget;
pub mod composition;
mod compress;
mod inspect;
mod names;
mod outputs;
mod plan;
pub mod shipped;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sluice_assets::Error;
use sluice_core::error::FileError;
use sluice_core::output::output_path;
use sluice_core::progress::Progress;
use sluice_core::sources::{FileMeta, ProblemKind};

pub use crate::setup::codecs_key;
pub use budget::Verdict;
use compress::{Compressor, encodings};
pub use inspect::Analysis;
use outputs::{Desired, Kind};

use crate::engine::Engine;
use crate::graph::bundle::Variant;
use crate::outputs::decide::{Action, Current, FileKind, Want, decide, intact};
use crate::outputs::remove::{Removal, remove_recorded};
use crate::outputs::stage::Staging;
use crate::record::{BlobRef, Key, OutEntry, OutKind};
use crate::report::{BuildError, BuildReport, Largest};
use crate::setup::{BuildOptions, Profile};

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

/// The variant of bundle a build makes: minified for its browsers, or plain.
pub(crate) fn variant(options: &BuildOptions) -> Variant {
    match &options.minify {
        Some(targets) => Variant::Minified(sluice_assets::bundle::TargetedMinifier {
            targets: targets.clone(),
        }),
        None => Variant::Plain,
    }
}

/// A collected file: a source, or a result in the cache (a compiled output, a bundle file).
#[derive(Debug, Clone)]
pub(crate) struct Collected {
    /// Where its bytes are.
    pub path: PathBuf,
    pub len: u64,
    /// A source's fingerprint; `None` for a result in the cache.
    pub source: Option<FileMeta>,
    /// The md5 of its bytes when known without reading them.
    pub md5: Option<Key>,
}

impl Collected {
    pub fn read(&self) -> Result<Vec<u8>, FileError> {
        fs::read(&self.path).map_err(|e| FileError::io(&self.path, &e))
    }
}

/// What became of one wanted output.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Kept(OutEntry),
    /// Written into the staging folder; the metadata survives the rename into place.
    Staged(FileMeta),
    Adopted(FileMeta),
    Conflict,
}

#[derive(Debug, Clone)]
pub(crate) struct Produced {
    pub desired: Desired,
    pub outcome: Outcome,
}

/// Shared by every worker of one build.
pub(crate) struct Context<'a> {
    pub output: &'a Path,
    pub options: &'a BuildOptions,
    pub force: bool,
    pub outputs: &'a crate::record::Outputs,
    pub compressor: Compressor<'a>,
    pub staging: Staging,
    /// The output root did not exist when the build started: nothing in it to look at, and
    /// the staging folder becomes the output root in one rename.
    pub output_missing: bool,
    /// Output folders untouched since the record was saved: their outputs are not `lstat`ed.
    pub untouched: std::collections::HashSet<String>,
    /// The other folders the record names (every folder holding an output is named).
    pub touched: Vec<String>,
}

impl Context<'_> {
    pub fn current(&self, path: &str) -> Option<Current> {
        if self.output_missing {
            return None;
        }
        if let Some(entry) = self.outputs.get(path)
            && self.untouched.contains(crate::record::parent_dir(path))
        {
            return Some(Current::recorded(entry));
        }
        let mut current = Current::of(&output_path(self.output, path))?;
        if current.kind == FileKind::Other {
            let inside = format!("{path}/");
            current.ours_inside = self
                .outputs
                .range(inside.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&inside));
        }
        Some(current)
    }

    /// Whether an output the record names is not as sluice wrote it (changed or gone), looking
    /// only in the folders changed since the record was saved.
    /// With every folder untouched, the outputs table is not even decoded.
    pub fn damaged(&self) -> bool {
        let damaged = |(path, entry): (&String, &OutEntry)| {
            Current::of(&output_path(self.output, path)).is_none_or(|now| !intact(entry, &now))
        };
        self.touched.iter().any(|dir| {
            let inside = |path: &&String| crate::record::parent_dir(path) == dir.as_str();
            if dir.is_empty() {
                self.outputs.iter().filter(|e| inside(&e.0)).any(damaged)
            } else {
                let prefix = format!("{dir}/");
                self.outputs
                    .range(prefix.clone()..)
                    .take_while(|(path, _)| path.starts_with(&prefix))
                    .filter(|e| inside(&e.0))
                    .any(damaged)
            }
        })
    }

    pub fn action(&self, d: &Desired) -> Action {
        let want = Want {
            key: Some(d.key),
            source: d.source,
            link: false,
        };
        decide(
            &want,
            self.outputs.get(&d.path),
            self.current(&d.path).as_ref(),
            self.force,
        )
    }

    /// Decides and stages every output of one collected file. `contents[i]` are the bytes of
    /// `copies[i]`.
    pub fn emit(
        &self,
        copies: &[outputs::Named],
        contents: &[&[u8]],
        source: Option<FileMeta>,
    ) -> Result<Vec<Produced>, String> {
        let compressing = !encodings(&self.options.codecs).is_empty();
        // Surface a compression-cache failure as an error, not as "no compressed copies".
        // A file's copies (its own name and its Django name: two contents when references
        // were rewritten) compress on their own cores.
        if compressing {
            use rayon::prelude::*;
            copies
                .par_iter()
                .zip(contents.par_iter())
                .filter(|(copy, _)| sluice_assets::compress::should_compress(&copy.name))
                .try_for_each(|(copy, bytes)| self.compressor.record(&copy.key, bytes).map(drop))?;
        }
        let mut records = |copy: &outputs::Named| {
            let index = copies.iter().position(|c| c.key == copy.key)?;
            self.compressor.record(&copy.key, contents[index]).ok()
        };
        let wanted = outputs::desired(copies, &mut records, &self.options.codecs, source)
            .ok_or_else(|| "compression decision missing".to_string())?;
        let mut out = Vec::with_capacity(wanted.len());
        // Content key → the first path staged with it in this call.
        let mut staged: Vec<(Key, String)> = Vec::new();
        let actions: Vec<Action> = wanted.iter().map(|d| self.action(d)).collect();
        // Content key → an output kept as it is (a regular file, as sluice wrote it).
        let kept: Vec<(Key, String)> = wanted
            .iter()
            .zip(&actions)
            .filter(|(d, a)| {
                matches!(a, Action::Keep) && self.outputs.get(&d.path).is_some_and(|e| !e.link)
            })
            .map(|(d, _)| (d.key, d.path.clone()))
            .collect();
        for (desired, action) in wanted.into_iter().zip(actions) {
            let original = contents[desired.copy];
            let bytes = || -> Result<Vec<u8>, String> {
                match desired.kind {
                    Kind::Encoded(encoding) => self
                        .compressor
                        .ensure(&copies[desired.copy].key, encoding, original)
                        .and_then(fs::read)
                        .map_err(|e| format!("compression cache: {e}")),
                    _ => Ok(original.to_vec()),
                }
            };
            let identical = |path: &Path| -> Result<bool, String> {
                Ok(fs::read(path).is_ok_and(|existing| existing == bytes().unwrap_or_default()))
            };
            let outcome = match action {
                Action::Keep => match self.outputs.get(&desired.path) {
                    Some(entry) => Outcome::Kept(*entry),
                    None => Outcome::Conflict,
                },
                Action::Refresh if identical(&output_path(self.output, &desired.path))? => {
                    let meta = self
                        .current(&desired.path)
                        .map(|c| c.meta)
                        .ok_or_else(|| format!("{} vanished", desired.path))?;
                    Outcome::Kept(OutEntry {
                        meta,
                        link: false,
                        source: desired.source,
                        key: Some(desired.key),
                        kind: OutKind::Dev,
                    })
                }
                Action::Write | Action::Refresh => {
                    let first = staged.iter().find(|(key, _)| *key == desired.key);
                    let same = kept.iter().find(|(key, _)| *key == desired.key);
                    let meta = match (first, desired.kind) {
                        (Some((_, existing)), _) => self.staging.link(existing, &desired.path),
                        (None, _) if let Some((_, path)) = same => self
                            .staging
                            .link_kept(&output_path(self.output, path), &desired.path),
                        // A compressed copy in the cache: copied, not written from memory
                        // (and not linked: an edit in the output must not reach the cache).
                        (None, Kind::Encoded(encoding)) => self
                            .compressor
                            .ensure(&copies[desired.copy].key, encoding, original)
                            .and_then(|file| self.staging.copy(&file, &desired.path)),
                        (None, _) => self.staging.write(&desired.path, original),
                    }
                    .map_err(|e| format!("cannot stage {}: {e}", desired.path))?;
                    if first.is_none() {
                        staged.push((desired.key, desired.path.clone()));
                    }
                    Outcome::Staged(meta)
                }
                Action::AdoptIfIdentical => {
                    let path = output_path(self.output, &desired.path);
                    if identical(&path)? {
                        match self.current(&desired.path) {
                            Some(c) => Outcome::Adopted(c.meta),
                            None => Outcome::Conflict,
                        }
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

impl Engine {
    /// One build: see the module documentation.
    pub fn build(&mut self, progress: &dyn Progress) -> Result<BuildReport, BuildError> {
        let started = Instant::now();
        let Profile::Build(options) = self.profile.clone() else {
            return Err(
                sluice_core::Error::config("the engine was opened for the dev profile").into(),
            );
        };
        if options.keep_only_hashed && !options.hash {
            return Err(sluice_core::Error::config(
                "--keep-only-hashed needs hashing; it cannot be combined with --no-hash",
            )
            .into());
        }
        self.clean_outputs()?;
        let static_url = runtime_static_url(&self.setup.static_url);
        let found = self.index.scan();
        let problems: Vec<FileError> = found
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
        let moved = self.refresh_facts(None);
        self.forget_resolutions(&moved);
        let mut report = BuildReport::default();
        let collected = self.build_graph(&options, &mut report)?;

        let codecs = codecs_key(&options.codecs);
        let same_codecs = self.record.codecs == codecs;
        let none = BTreeMap::new();
        let known = if same_codecs {
            &self.record.contents
        } else {
            &none
        };
        let plan_valid = options.hash && self.record.static_url == static_url;
        let same_profile = self.record.profile == self.profile.key(&self.setup.static_url);
        let untouched = self.untouched_dirs();
        let touched = (self.record.dirs.keys())
            .filter(|dir| !untouched.contains(dir.as_str()))
            .cloned()
            .collect();
        let ctx = Context {
            output: &self.setup.output,
            options: &options,
            force: self.options.force,
            outputs: &self.record.outputs,
            compressor: Compressor::new(&self.cache, options.codecs, known),
            staging: Staging::beside(&self.setup.output),
            output_missing: fs::symlink_metadata(&self.setup.output).is_err(),
            untouched,
            touched,
        };
        // Only what changed needs looking at when the record's outputs are this profile's
        // own, none was taken back after a crash, and none was damaged since.
        let incremental = same_profile
            && same_codecs
            && !self.recovered
            && !self.options.force
            && (plan_valid || !options.hash)
            && !ctx.damaged();
        let facts = plan::Facts {
            collected: &self.record.collected,
            plan: if plan_valid {
                Some(&self.record.plan)
            } else {
                None
            },
            incremental,
            integrity: &self.record.integrity,
            bundles: &self.setup.bundles,
        };
        let result = std::thread::scope(|scope| {
            // A source changed: the plan will look its outputs up, so the outputs table (the
            // record's largest, 15 ms at 20 000 files) is decoded on a thread of its own
            // while the plan reads, hashes and re-plans. A no-op build never needs it.
            let changed = || {
                collected
                    .values()
                    .any(|c| c.source.is_some() && c.md5.is_none())
            };
            if incremental && changed() {
                scope.spawn(|| ctx.outputs.decode());
            }
            plan::run(&ctx, &facts, &collected, &static_url, progress, &mut report)
        });
        let produced = match result {
            Ok(plan::Ran::Unchanged) => {
                ctx.staging.remove();
                let inspection =
                    self.inspect(&ctx, &options, &collected, inspect::After::Unchanged)?;
                report.budgets = inspection.verdicts;
                report.analysis = inspection.analysis;
                finish(&mut report, &ctx, started);
                let sums = match &self.record.totals {
                    Some(sums) => sums.clone(),
                    None => totals(&self.record.outputs, options.hash),
                };
                report_totals(&mut report, &self.setup.output, &sums);
                report.unchanged = report.outputs;
                report.files = collected.len();
                report.index = found;
                return Ok(report);
            }
            Ok(plan::Ran::Produced(p)) => p,
            Err(error) => {
                ctx.staging.remove();
                return Err(error);
            }
        };
        let conflicts: Vec<PathBuf> = produced
            .outputs
            .values()
            .filter(|p| matches!(p.outcome, Outcome::Conflict))
            .map(|p| output_path(&self.setup.output, &p.desired.path))
            .collect();
        if !conflicts.is_empty() {
            ctx.staging.remove();
            return Err(BuildError::Conflicts(conflicts));
        }
        // Budgets, and what the report shows: before anything moves into the output.
        let after = inspect::After::Produced {
            produce: &produced,
            plan_valid,
        };
        match self.inspect(&ctx, &options, &collected, after) {
            Ok(inspection) => {
                report.budgets = inspection.verdicts;
                report.analysis = inspection.analysis;
            }
            Err(error) => {
                ctx.staging.remove();
                return Err(error);
            }
        }
        let mut contents = BTreeMap::new();
        for p in produced.outputs.values() {
            if matches!(p.desired.kind, Kind::Raw { .. })
                && let Some(record) = ctx.compressor.decided(&p.desired.key)
            {
                contents.insert(p.desired.key, record);
            }
        }
        finish(&mut report, &ctx, started);
        let (changes, errors) = commit(&ctx, &produced, &mut self.journal, &mut report);
        ctx.staging.remove();
        drop(ctx);
        // The report's totals follow the changes when the last build's are at hand (the same
        // profile, nothing taken back after a crash), instead of a walk over every output.
        let mut sums = (self.record.totals.take()).filter(|_| same_profile && !self.recovered);
        for (path, entry) in changes {
            let old = match entry {
                Some(entry) => self.record.outputs.insert(path.clone(), entry),
                None => self.record.outputs.remove(&path),
            };
            if let Some(t) = &mut sums
                && !follow(t, &path, old.as_ref(), entry.as_ref(), options.hash)
            {
                sums = None;
            }
        }
        // A source counts as done only when everything it made is in place: after a failed
        // commit, the files it read stay dirty and the next build tries them again.
        if errors.is_empty() {
            self.record.sources.extend(produced.facts);
        }
        for (logical, key) in produced.collected {
            match key {
                Some(k) => self.record.collected.insert(logical, k),
                None => self.record.collected.remove(&logical),
            };
        }
        if !plan_valid {
            self.record.plan.clear();
        }
        for (logical, fact) in produced.plan {
            match fact {
                Some(f) => self.record.plan.insert(logical, f),
                None => self.record.plan.remove(&logical),
            };
        }
        for (logical, entry) in produced.integrity {
            match entry {
                Some(e) => self.record.integrity.insert(logical, e),
                None => self.record.integrity.remove(&logical),
            };
        }
        // The compression decisions of every content in the output (those of contents no
        // longer there go when the record is next written whole: `Record::save`).
        if !same_codecs {
            self.record.contents.clear();
        }
        self.record.contents.extend(contents);
        self.record.static_url = static_url;
        self.record.codecs = codecs;
        self.recovered = false;
        self.unfinished = !errors.is_empty();
        let sums = match sums {
            Some(mut t) => {
                settle_largest(&mut t, &self.record.outputs);
                t
            }
            None => totals(&self.record.outputs, options.hash),
        };
        debug_assert_eq!(sums, totals(&self.record.outputs, options.hash));
        report_totals(&mut report, &self.setup.output, &sums);
        self.record.totals = Some(sums);
        self.dirty = true;
        self.save()?;
        if !errors.is_empty() {
            return Err(BuildError::Commit(errors));
        }
        report.unchanged = report
            .outputs
            .saturating_sub(report.written + report.adopted);
        report.files = collected.len();
        report.index = found;
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

fn finish(report: &mut BuildReport, ctx: &Context, started: Instant) {
    report.compressed = ctx.compressor.compressed.load(Ordering::Relaxed);
    report.compress_cpu = Duration::from_nanos(ctx.compressor.encode_ns.load(Ordering::Relaxed));
    report.elapsed = started.elapsed();
}

/// The byte totals and largest outputs of the record's outputs after a build.
fn totals(outputs: &BTreeMap<String, OutEntry>, hashing: bool) -> crate::record::Totals {
    let mut t = crate::record::Totals::default();
    let mut largest: Vec<(&str, u64)> = Vec::new();
    for (path, entry) in outputs {
        t.outputs += 1;
        *bytes_of(&mut t, entry.kind) += entry.meta.len;
        t.manifest |= entry.kind == OutKind::Manifest;
        if among_largest(entry.kind, hashing) {
            largest.push((path, entry.meta.len));
        }
    }
    largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    largest.truncate(10);
    t.largest = (largest.into_iter())
        .map(|(name, raw)| (name.to_string(), raw, None, None))
        .collect();
    settle_largest(&mut t, outputs);
    t
}

/// Whether an output's kind counts among the largest (the files a page loads by name).
fn among_largest(kind: OutKind, hashing: bool) -> bool {
    kind == OutKind::Hashed || (!hashing && kind == OutKind::Copy)
}

/// Brings totals `t` past one output's change from `old` to `new`; `false` when they cannot
/// follow it (a largest output or the manifest went): the caller counts them again.
fn follow(
    t: &mut crate::record::Totals,
    path: &str,
    old: Option<&OutEntry>,
    new: Option<&OutEntry>,
    hashing: bool,
) -> bool {
    if let Some(o) = old {
        if o.kind == OutKind::Manifest || t.largest.iter().any(|(name, ..)| name == path) {
            return false;
        }
        t.outputs -= 1;
        *bytes_of(t, o.kind) -= o.meta.len;
    }
    if let Some(n) = new {
        t.outputs += 1;
        *bytes_of(t, n.kind) += n.meta.len;
        t.manifest |= n.kind == OutKind::Manifest;
        if among_largest(n.kind, hashing) {
            t.largest.push((path.to_string(), n.meta.len, None, None));
        }
    }
    true
}

/// The byte count an output of `kind` adds to.
fn bytes_of(t: &mut crate::record::Totals, kind: OutKind) -> &mut u64 {
    match kind {
        OutKind::Copy | OutKind::Hashed | OutKind::Dev | OutKind::Record | OutKind::Manifest => {
            &mut t.raw
        }
        OutKind::Brotli => &mut t.brotli,
        OutKind::Gzip => &mut t.gzip,
        OutKind::Zstd => &mut t.zstd,
    }
}

/// The ten largest again (by size, then name), with their compressed sizes as they are now.
fn settle_largest(t: &mut crate::record::Totals, outputs: &BTreeMap<String, OutEntry>) {
    let mut largest: Vec<(String, u64)> = std::mem::take(&mut t.largest)
        .into_iter()
        .map(|(name, raw, ..)| (name, raw))
        .collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    largest.dedup_by(|a, b| a.0 == b.0);
    largest.truncate(10);
    let compressed =
        |path: &str, suffix: &str| outputs.get(&format!("{path}{suffix}")).map(|e| e.meta.len);
    t.largest = largest
        .into_iter()
        .map(|(name, raw)| {
            let (gzip, brotli) = (compressed(&name, ".gz"), compressed(&name, ".br"));
            (name, raw, gzip, brotli)
        })
        .collect();
}

/// Puts a build's totals into its report.
fn report_totals(report: &mut BuildReport, output: &Path, t: &crate::record::Totals) {
    report.outputs = usize::try_from(t.outputs).unwrap_or(usize::MAX);
    report.bytes = crate::report::Bytes {
        raw: t.raw,
        gzip: t.gzip,
        brotli: t.brotli,
        zstd: t.zstd,
    };
    report.manifest = t
        .manifest
        .then(|| output_path(output, sluice_assets::django_manifest::MANIFEST_NAME));
    report.largest = (t.largest.iter())
        .map(|(name, raw, gzip, brotli)| Largest {
            name: name.clone(),
            raw: *raw,
            gzip: *gzip,
            brotli: *brotli,
        })
        .collect();
}

/// Moves the staged outputs into place and removes the recorded outputs this build no longer
/// wants; returns the changes to the record's outputs (whatever could not be moved left out)
/// and what failed.
fn commit(
    ctx: &Context,
    produce: &plan::Produce,
    journal: &mut crate::outputs::journal::Journal,
    report: &mut BuildReport,
) -> (Vec<(String, Option<OutEntry>)>, Vec<FileError>) {
    let output = ctx.output;
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    // First what is no longer produced, so a file replaced by a folder of the same name (or
    // the reverse) makes room.
    let items: Vec<(&str, &OutEntry)> = produce
        .removals
        .iter()
        .filter_map(|path| ctx.outputs.get(path).map(|e| (path.as_str(), e)))
        .collect();
    for ((path, _), answer) in items.iter().zip(remove_recorded(output, &items)) {
        match answer {
            Removal::Gone => changes.push((path.to_string(), None)),
            Removal::Removed => {
                report.removed += 1;
                changes.push((path.to_string(), None));
            }
            Removal::Failed(file, e) => errors.push(FileError {
                path: file,
                message: format!("could not remove: {e}"),
            }),
            Removal::Modified(file) => {
                report.kept_modified.push(file);
                changes.push((path.to_string(), None));
            }
        }
    }
    let staged: Vec<&str> = produce
        .outputs
        .values()
        .filter(|p| matches!(p.outcome, Outcome::Staged(_)))
        .map(|p| p.desired.path.as_str())
        .collect();
    if let Err(e) = journal.note(staged.iter().copied()) {
        errors.push(FileError::io(ctx.staging.root(), &e));
        return (changes, errors);
    }
    let failed = ctx.staging.move_in(output, &staged, ctx.output_missing);
    for (path, p) in &produce.outputs {
        let kind = out_kind(p.desired.kind);
        let entry = |meta| OutEntry {
            meta,
            link: false,
            source: p.desired.source,
            key: Some(p.desired.key),
            kind,
        };
        let entry = match &p.outcome {
            Outcome::Kept(e) => OutEntry {
                source: p.desired.source.or(e.source),
                ..entry(e.meta)
            },
            Outcome::Adopted(meta) => {
                report.adopted += 1;
                entry(*meta)
            }
            Outcome::Staged(meta) => match failed.get(path) {
                None => {
                    report.written += 1;
                    entry(*meta)
                }
                Some(e) => {
                    errors.push(FileError {
                        path: output_path(output, path),
                        message: format!("could not move into place: {e}"),
                    });
                    // What was there is untouched, and its record entry (if any) stays.
                    continue;
                }
            },
            Outcome::Conflict => continue,
        };
        changes.push((path.clone(), Some(entry)));
    }
    (changes, errors)
}

fn out_kind(kind: Kind) -> OutKind {
    match kind {
        Kind::Raw { hashed: false } => OutKind::Copy,
        Kind::Raw { hashed: true } => OutKind::Hashed,
        Kind::Encoded(sluice_assets::compress::Encoding::Brotli) => OutKind::Brotli,
        Kind::Encoded(sluice_assets::compress::Encoding::Gzip) => OutKind::Gzip,
        #[cfg(feature = "zstd")]
        Kind::Encoded(sluice_assets::compress::Encoding::Zstd) => OutKind::Zstd,
        Kind::Manifest => OutKind::Manifest,
        Kind::Record => OutKind::Record,
    }
}

impl Engine {
    /// The build's graph: compiles and bundles (stopping at the first failure of either), then
    /// the collected files — sources, compiled outputs a source does not shadow, bundles (which
    /// win over a source of the same name, as django-pipeline's storage writes them over it).
    fn build_graph(
        &mut self,
        options: &BuildOptions,
        report: &mut BuildReport,
    ) -> Result<BTreeMap<String, Collected>, BuildError> {
        let compiles = self.compile_step(None);
        report.compiled = compiles.ran.compiled;
        let failed: Vec<Error> = compiles.ran.failed.into_iter().map(|(_, e)| e).collect();
        if let Some(error) = Error::from_list(failed) {
            return Err(BuildError::Compile(Box::new(error)));
        }
        report.warnings.extend(compiles.shadowed);
        report.compiled_outputs = compiles.compiled.keys().cloned().collect();
        let variant = variant(options);
        let defs = std::mem::take(&mut self.setup.bundles);
        let (compiled, built) =
            self.bundle_step(compiles.compiled, compiles.failed, &variant, None, &defs);
        let mut errors = Vec::new();
        for (_, result) in built {
            match result {
                Ok(b) => {
                    report.bundles_built += usize::from(b.assembled);
                    report.warnings.extend(b.warnings);
                }
                // One mistake in a module many bundles import is one error.
                Err(e) if !errors.contains(&e) => errors.push(e),
                Err(_) => {}
            }
        }
        if let Some(error) = Error::from_list(errors) {
            self.setup.bundles = defs;
            return Err(BuildError::Bundles(Box::new(error)));
        }
        // The record's facts are sorted as the index is: one merge walk, no lookup by name.
        let mut facts = self.record.sources.iter().peekable();
        let mut collected: BTreeMap<String, Collected> = self
            .index
            .files
            .iter()
            .map(|(logical, f)| {
                while facts
                    .next_if(|(l, _)| l.as_str() < logical.as_str())
                    .is_some()
                {}
                let md5 = facts
                    .peek()
                    .filter(|(l, s)| *l == logical && s.meta == f.meta)
                    .and_then(|(_, s)| s.md5);
                (
                    logical.clone(),
                    Collected {
                        path: f.path.clone(),
                        len: f.meta.len,
                        source: Some(f.meta),
                        md5,
                    },
                )
            })
            .collect();
        let blob = |b: &BlobRef| Collected {
            path: self.cache.path(&b.key, ""),
            len: b.len,
            source: None,
            md5: Some(b.key),
        };
        for (logical, c) in &compiled {
            collected.insert(logical.clone(), blob(&c.code));
        }
        let variant_key = variant.key();
        for def in &defs {
            let key = crate::graph::bundle::node_key(&variant_key, def);
            let Some(node) = self.record.bundles.get(&key) else {
                continue;
            };
            for (name, b) in &node.outputs {
                if let Some(file) = self.index.files.get(name) {
                    report.warnings.push(Error::Bundle {
                        bundle: def.label(),
                        origin: def.origin.to_string(),
                        message: format!(
                            "writes {name}, over the source file {} of the same name \
                             (as django-pipeline does)",
                            file.path.display()
                        ),
                    });
                }
                collected.insert(name.clone(), blob(b));
                report.bundles.push(name.clone());
            }
        }
        report.minified = options.minify.is_some() && !report.bundles.is_empty();
        self.setup.bundles = defs;
        Ok(collected)
    }
}
