//! The dev profile's derived outputs: compiled sources (`css/x.scss` → `css/x.css` beside
//! it, as django-pipeline's compilers write them) and unminified bundles with a source map,
//! kept fresh in the output root by `sluice sync`, `watch` and `dev`.
//!
//! The mirror (`sluice_core::sync`) copies every source into the output root first; this
//! module then works on those copies, as django-pipeline compiles in `STATIC_ROOT`: a
//! compile reads `output/css/x.scss` with the output root as its load path, a bundle reads
//! its members (compiled ones under their compiled name) from the output root.
//!
//! What a change affects is decided by pure functions ([`compile_targets`],
//! [`affected_compiles`], [`bundle::affected`]); [`Derived`] does the thin I/O around them.
//! `.sluice/derived-*.json` records every output written, its bytes' metadata and the
//! fingerprint of every file it read (SCSS partials included), so a second `sluice sync`
//! or a restarted `watch` redoes only what changed. Outputs are written atomically, never
//! when their bytes would not change, and never over a file sluice did not write (a
//! conflict) or over a mirrored source of the same name (the source wins). A failed
//! compile or bundle keeps its last good output; the error stays "in force" until a later
//! pass builds that output again.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sluice_core::bundles::{BundleDef, BundleKind, CompilerKind, PipelineSettings, compiled_name};
use sluice_core::output::write_atomic;
use sluice_core::sources::{FileMeta, SourceRoot};
use sluice_core::sync::output_path;

use crate::Error;
use crate::bundle::store::def_key;
use crate::bundle::{self, Context, Tree};
use crate::compile::{Compiler, compile};
use crate::sourcemap::concat_map;

const STATE_VERSION: u32 = 1;

/// Everything the dev profile needs to know.
#[derive(Debug, Clone, Copy)]
pub struct DeriveJob<'a> {
    /// The source roots (to name a source file in an error instead of its copy).
    pub roots: &'a [SourceRoot],
    pub output: &'a Path,
    pub state_dir: &'a Path,
    /// Compilers in effect (`PIPELINE["COMPILERS"]`, all, or none with `compile = false`).
    pub compilers: &'a [CompilerKind],
    pub bundles: &'a [BundleDef],
    pub settings: &'a PipelineSettings,
    /// Overwrite files in the way that sluice did not write (`--force`).
    pub force: bool,
    /// Remove every output recorded before, then derive from scratch (`--clean`).
    pub clean: bool,
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct DeriveReport {
    /// Logical paths of outputs written or removed (bundles' `.map` files included).
    pub changed: Vec<String>,
    pub compiled: usize,
    pub bundled: usize,
    /// Errors met in this pass (the outputs they concern keep their last good bytes).
    pub errors: Vec<Error>,
    /// Outputs left alone: a file sluice did not write is in the way.
    pub conflicts: Vec<String>,
    /// Things worth a warning (a source shadowing a compiled output, …).
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// The compiled name every compilable, non-partial source gets, for the `compilers` in
/// effect and those sluice can run: source → output.
pub fn compile_targets<'a>(
    sources: impl IntoIterator<Item = &'a String>,
    compilers: &[CompilerKind],
) -> BTreeMap<String, String> {
    sources
        .into_iter()
        .filter(|s| !Compiler::is_partial(Path::new(s.as_str())))
        .filter(|s| Compiler::for_path(Path::new(s.as_str())).is_some())
        .filter_map(|s| Some((s.clone(), compiled_name(s, compilers)?.1)))
        .collect()
}

/// Whether the dev profile turns `logical` into something else (a compiled source or a
/// partial): its own copy is not what a page loads, so a change to it is not a reason to
/// reload a page; the outputs it affects are.
pub fn is_compiled_source(logical: &str, compilers: &[CompilerKind]) -> bool {
    Compiler::for_path(Path::new(logical)).is_some() && compiled_name(logical, compilers).is_some()
}

/// The targets a change set affects: those changed themselves, and those whose last compile
/// read a changed file (a partial, an import).
pub fn affected_compiles(
    targets: &BTreeMap<String, String>,
    inputs: &BTreeMap<String, Vec<String>>,
    changed: &HashSet<&str>,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = targets
        .keys()
        .filter(|s| changed.contains(s.as_str()))
        .cloned()
        .collect();
    for (source, read) in inputs {
        if targets.contains_key(source) && read.iter().any(|p| changed.contains(p.as_str())) {
            out.insert(source.clone());
        }
    }
    out
}

/// The `/`-separated path of `path` inside `root`, `.` and `..` resolved lexically; `None`
/// outside it.
pub fn logical_in(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CompileRecord {
    output: String,
    /// The output as written; `None` while it never compiled.
    written: Option<FileMeta>,
    /// Every file read by the last compile (the source first); `None`: must compile again.
    inputs: Vec<(String, Option<FileMeta>)>,
    /// The output's source map (`<output>.map`) as written, for compilers that give one
    /// (absent in records written before maps were: those outputs compile again).
    #[serde(default)]
    map: Option<FileMeta>,
    /// Taken for a partial: it does not compile on its own and other sources import it.
    /// Nothing is written for it; it is tried again when it changes.
    #[serde(default)]
    partial: bool,
}

/// The source map beside a compiled output.
fn map_name(output: &str) -> String {
    format!("{output}.map")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct BundleRecord {
    key: String,
    members: Vec<String>,
    inputs: Vec<(String, Option<FileMeta>)>,
    /// The bundle and its map, as written.
    outputs: Vec<(String, FileMeta)>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    key: String,
    compiled: BTreeMap<String, CompileRecord>,
    bundles: BTreeMap<String, BundleRecord>,
}

/// A bundle built: its members, the files it read, the files it becomes.
type BuiltBundle = (Vec<String>, Vec<String>, Vec<bundle::OutputFile>);

/// How writing one output went.
enum Wrote {
    Unchanged(FileMeta),
    Written(FileMeta),
    Conflict,
    Failed(String),
}

/// The engine: the set of mirrored sources, the record of derived outputs, the errors in force.
pub struct Derived {
    roots: Vec<SourceRoot>,
    output: PathBuf,
    state_file: PathBuf,
    compilers: Vec<CompilerKind>,
    defs: Vec<BundleDef>,
    settings: PipelineSettings,
    sources: BTreeSet<String>,
    /// [`compile_targets`] of `sources`, recomputed when a source appears or goes.
    targets: BTreeMap<String, String>,
    tree: Tree,
    state: State,
    dirty: bool,
    /// Errors in force, by output.
    failures: BTreeMap<String, Error>,
    force: bool,
    /// `--clean` not yet done (the first full pass does it).
    clean: bool,
}

impl Derived {
    /// Loads the record; `sources` are the logical paths the mirror keeps in the output.
    pub fn new<'a>(job: &DeriveJob, sources: impl IntoIterator<Item = &'a String>) -> Derived {
        let key = format!(
            "{:?}\0{:?}\0{}",
            job.settings,
            job.compilers,
            job.output.display()
        );
        let name = format!("derived-{:016x}.json", fnv(job.output.as_os_str()));
        let state_file = job.state_dir.join(name);
        let state = fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<State>(&b).ok())
            .filter(|s| s.version == STATE_VERSION && s.key == key)
            .unwrap_or(State {
                version: STATE_VERSION,
                key,
                ..State::default()
            });
        let sources: BTreeSet<String> = sources.into_iter().cloned().collect();
        let mut derived = Derived {
            roots: job.roots.to_vec(),
            output: job.output.to_path_buf(),
            state_file,
            compilers: job.compilers.to_vec(),
            defs: job.bundles.to_vec(),
            settings: job.settings.clone(),
            sources,
            targets: BTreeMap::new(),
            tree: Tree::default(),
            state,
            dirty: false,
            failures: BTreeMap::new(),
            force: job.force,
            clean: job.clean,
        };
        derived.rebuild_tree();
        derived
    }

    /// Whether there is anything to derive at all.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
            && self.state.compiled.is_empty()
            && self.state.bundles.is_empty()
            && self.targets.is_empty()
    }

    /// The errors in force (for a browser overlay): one per output that failed last time.
    pub fn errors(&self) -> Vec<&Error> {
        self.failures.values().collect()
    }

    /// Writes the record if it changed.
    pub fn save(&mut self) -> Result<(), sluice_core::Error> {
        if !self.dirty {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&self.state).unwrap_or_default();
        write_atomic(&self.state_file, &bytes)
            .map_err(|e| sluice_core::Error::io("write", &self.state_file, e))?;
        self.dirty = false;
        Ok(())
    }

    /// Everything: compiles and bundles whatever is not up to date, removes outputs whose
    /// source or definition is gone.
    pub fn full_pass(&mut self) -> DeriveReport {
        let started = Instant::now();
        let mut report = DeriveReport::default();
        if std::mem::take(&mut self.clean) {
            // Nothing is a target any more, no bundle defined: every recorded output goes.
            let defs = std::mem::take(&mut self.defs);
            self.remove_stale(&BTreeMap::new(), &mut report);
            self.defs = defs;
        }
        let targets = self.targets.clone();
        self.remove_stale(&targets, &mut report);
        let stale: Vec<String> = targets
            .keys()
            .filter(|s| !self.compile_fresh(s, &targets[*s]))
            .cloned()
            .collect();
        self.compile_all(&stale, &targets, &mut report);
        let all: Vec<usize> = (0..self.defs.len())
            .filter(|&i| !self.bundle_fresh(&self.defs[i]))
            .collect();
        self.bundle_all(&all, &mut report);
        report.changed.sort();
        report.changed.dedup();
        report.elapsed = started.elapsed();
        report
    }

    /// After the mirror applied a change set: `changed` are the logical paths it wrote or
    /// removed. Recompiles what read them, rebuilds the bundles they (or a recompiled file)
    /// belong to.
    pub fn update(&mut self, changed: &[String]) -> DeriveReport {
        let started = Instant::now();
        let mut report = DeriveReport::default();
        let mut membership = false;
        for logical in changed {
            let present = output_path(&self.output, logical).is_file();
            membership |= if present {
                self.sources.insert(logical.clone())
            } else {
                self.sources.remove(logical)
            };
        }
        if membership {
            self.rebuild_tree();
        }
        let targets = self.targets.clone();
        self.remove_stale(&targets, &mut report);
        let set: HashSet<&str> = changed.iter().map(String::as_str).collect();
        let inputs: BTreeMap<String, Vec<String>> = self
            .state
            .compiled
            .iter()
            .map(|(s, r)| (s.clone(), r.inputs.iter().map(|(p, _)| p.clone()).collect()))
            .collect();
        let affected: Vec<String> = affected_compiles(&targets, &inputs, &set)
            .into_iter()
            .collect();
        self.compile_all(&affected, &targets, &mut report);

        let mut touched: Vec<&str> = changed.iter().map(String::as_str).collect();
        touched.extend(report.changed.iter().map(String::as_str));
        let bundle_inputs: Vec<Vec<String>> = self
            .defs
            .iter()
            .map(|d| {
                self.state
                    .bundles
                    .get(&d.output)
                    .map_or_else(Vec::new, |r| {
                        r.inputs.iter().map(|(p, _)| p.clone()).collect()
                    })
            })
            .collect();
        let mut which = BTreeSet::new();
        for logical in touched {
            which.extend(bundle::affected(&self.defs, &bundle_inputs, logical));
        }
        let which: Vec<usize> = which.into_iter().collect();
        self.bundle_all(&which, &mut report);
        report.changed.sort();
        report.changed.dedup();
        report.elapsed = started.elapsed();
        report
    }

    fn rebuild_tree(&mut self) {
        self.targets = compile_targets(&self.sources, &self.compilers);
        self.tree = Tree::new(
            self.sources
                .iter()
                .chain(self.targets.values())
                .map(String::as_str),
        );
    }

    fn meta(&self, logical: &str) -> Option<FileMeta> {
        fs::metadata(output_path(&self.output, logical))
            .ok()
            .map(|m| FileMeta::of(&m))
    }

    fn lmeta(&self, logical: &str) -> Option<FileMeta> {
        fs::symlink_metadata(output_path(&self.output, logical))
            .ok()
            .map(|m| FileMeta::of(&m))
    }

    fn inputs_fresh(&self, inputs: &[(String, Option<FileMeta>)]) -> bool {
        inputs
            .iter()
            .all(|(p, m)| m.is_some() && self.meta(p) == *m)
    }

    fn compile_fresh(&self, source: &str, output: &str) -> bool {
        self.state.compiled.get(source).is_some_and(|r| {
            if r.partial {
                return r.output == output && self.inputs_fresh(&r.inputs);
            }
            r.output == output
                && r.written.is_some()
                && self.lmeta(output) == r.written
                && match r.map {
                    Some(m) => self.lmeta(&map_name(output)) == Some(m),
                    None => {
                        !Compiler::for_path(Path::new(source)).is_some_and(Compiler::writes_map)
                    }
                }
                && self.inputs_fresh(&r.inputs)
        })
    }

    fn bundle_fresh(&self, def: &BundleDef) -> bool {
        self.state.bundles.get(&def.output).is_some_and(|r| {
            r.key == def_key(def)
                && !def.datauri
                && bundle::members(def, &self.tree).is_ok_and(|m| m == r.members)
                && self.inputs_fresh(&r.inputs)
                && r.outputs.iter().all(|(o, m)| self.lmeta(o) == Some(*m))
        })
    }

    /// Whether the output at `logical` is one sluice recorded writing, with these bytes.
    fn ours(&self, logical: &str, recorded: Option<FileMeta>) -> bool {
        recorded.is_some() && self.lmeta(logical) == recorded
    }

    /// Writes `bytes` at `logical` unless they are there already; never over a foreign file.
    fn write(&self, logical: &str, bytes: &[u8], recorded: Option<FileMeta>) -> Wrote {
        let path = output_path(&self.output, logical);
        let existing = fs::read(&path).ok();
        if existing.as_deref() == Some(bytes) {
            return match self.lmeta(logical) {
                Some(m) => Wrote::Unchanged(m),
                None => Wrote::Failed("vanished while being checked".into()),
            };
        }
        if existing.is_some() && !self.force && !self.ours(logical, recorded) {
            return Wrote::Conflict;
        }
        if let Err(e) = write_atomic(&path, bytes) {
            return Wrote::Failed(format!("{}: {e}", path.display()));
        }
        match self.lmeta(logical) {
            Some(m) => Wrote::Written(m),
            None => Wrote::Failed(format!("{}: vanished after writing", path.display())),
        }
    }

    /// Removes an output sluice wrote (if it is still as written).
    fn remove(&self, logical: &str, recorded: Option<FileMeta>, report: &mut DeriveReport) {
        if self.sources.contains(logical) || !self.ours(logical, recorded) {
            return;
        }
        let path = output_path(&self.output, logical);
        match fs::remove_file(&path) {
            Ok(()) => report.changed.push(logical.to_string()),
            Err(e) => report
                .warnings
                .push(format!("{}: cannot remove: {e}", path.display())),
        }
    }

    fn remove_stale(&mut self, targets: &BTreeMap<String, String>, report: &mut DeriveReport) {
        let gone: Vec<String> = self
            .state
            .compiled
            .iter()
            .filter(|(s, r)| targets.get(*s) != Some(&r.output))
            .map(|(s, _)| s.clone())
            .collect();
        for source in gone {
            if let Some(record) = self.state.compiled.remove(&source) {
                self.remove(&record.output, record.written, report);
                if record.map.is_some() {
                    self.remove(&map_name(&record.output), record.map, report);
                }
                self.failures.remove(&record.output);
                self.dirty = true;
            }
        }
        let outputs: HashSet<&str> = self.defs.iter().map(|d| d.output.as_str()).collect();
        let gone: Vec<String> = self
            .state
            .bundles
            .keys()
            .filter(|o| !outputs.contains(o.as_str()))
            .cloned()
            .collect();
        for output in gone {
            if let Some(record) = self.state.bundles.remove(&output) {
                for (logical, meta) in &record.outputs {
                    self.remove(logical, Some(*meta), report);
                }
                self.failures.remove(&output);
                self.dirty = true;
            }
        }
    }

    /// A source's name in the error messages: the source file itself, not its copy.
    fn source_file(&self, logical: &str) -> PathBuf {
        for root in &self.roots {
            let rel = match &root.prefix {
                Some(prefix) => match logical.strip_prefix(prefix.as_str()) {
                    Some(rest) if rest.starts_with('/') => &rest[1..],
                    _ => continue,
                },
                None => logical,
            };
            let path = output_path(&root.path, rel);
            if path.is_file() {
                return path;
            }
        }
        output_path(&self.output, logical)
    }

    /// The source file's name for a file named by its copy in the output.
    fn source_name(&self, file: String) -> String {
        match logical_in(Path::new(&file), &self.output) {
            Some(logical) => self.source_file(&logical).display().to_string(),
            None => file,
        }
    }

    /// An error naming the source file instead of its copy in the output.
    fn located(&self, mut error: Error) -> Error {
        if let Some(file) = error.file_mut() {
            *file = self.source_name(std::mem::take(file));
        }
        error
    }

    fn compile_all(
        &mut self,
        sources: &[String],
        targets: &BTreeMap<String, String>,
        report: &mut DeriveReport,
    ) {
        if sources.is_empty() {
            return;
        }
        let load_paths = vec![self.output.clone()];
        let results: Vec<(String, Result<crate::compile::Compiled, Error>)> = sources
            .par_iter()
            .map(|source| {
                let path = output_path(&self.output, source);
                let result = match Compiler::for_path(&path) {
                    Some(compiler) => compile(compiler, &path, &load_paths),
                    None => Err(Error::Read {
                        file: path.display().to_string(),
                        message: "no compiler for this file".into(),
                    }),
                };
                (source.clone(), result)
            })
            .collect();
        // Successes first: a failure is then judged knowing what this pass's compiles read.
        let (mut results, failed): (Vec<_>, Vec<_>) =
            results.into_iter().partition(|(_, r)| r.is_ok());
        results.extend(failed);
        for (source, result) in results {
            let output = targets[&source].clone();
            if self.sources.contains(&output) {
                report.warnings.push(format!(
                    "{output}: a source of that name is in the sources; it is served instead of \
                     the compiled {source}"
                ));
                continue;
            }
            let recorded = self
                .state
                .compiled
                .get(&source)
                .cloned()
                .unwrap_or_default();
            let same = recorded.output == output;
            let previous = same.then_some(recorded.written).flatten();
            let previous_map = same.then_some(recorded.map).flatten();
            match result {
                Ok(compiled) => {
                    let inputs: Vec<(String, Option<FileMeta>)> = compiled
                        .inputs
                        .iter()
                        .filter_map(|p| logical_in(p, &self.output))
                        .map(|l| {
                            let m = self.meta(&l);
                            (l, m)
                        })
                        .collect();
                    // A map beside the output, linked from it as dev bundles link theirs;
                    // written only where the output could be.
                    let mut code = compiled.code;
                    let map_file = compiled.map.as_ref().map(|_| map_name(&output));
                    if let Some(name) = &map_file {
                        if !code.is_empty() && !code.ends_with('\n') {
                            code.push('\n');
                        }
                        let base = name.rsplit('/').next().unwrap_or(name);
                        code.push_str(&format!("//# sourceMappingURL={base}\n"));
                    }
                    let meta = match self.write(&output, code.as_bytes(), previous) {
                        Wrote::Unchanged(meta) => meta,
                        Wrote::Written(meta) => {
                            report.changed.push(output.clone());
                            meta
                        }
                        Wrote::Conflict => {
                            report.conflicts.push(output);
                            continue;
                        }
                        Wrote::Failed(message) => {
                            report.errors.push(Error::Read {
                                file: output,
                                message,
                            });
                            continue;
                        }
                    };
                    let mut map = None;
                    if let (Some(name), Some(json)) = (map_file, &compiled.map) {
                        match self.write(&name, json.as_bytes(), previous_map) {
                            Wrote::Unchanged(m) => map = Some(m),
                            Wrote::Written(m) => {
                                report.changed.push(name);
                                map = Some(m);
                            }
                            // Recorded without a map: tried again on the next pass.
                            Wrote::Conflict => report.conflicts.push(name),
                            Wrote::Failed(message) => report.errors.push(Error::Read {
                                file: name,
                                message,
                            }),
                        }
                    }
                    report.compiled += 1;
                    self.failures.remove(&output);
                    self.state.compiled.insert(
                        source,
                        CompileRecord {
                            output,
                            written: Some(meta),
                            inputs,
                            map,
                            partial: false,
                        },
                    );
                    self.dirty = true;
                }
                Err(error) => {
                    let error = self.located(error);
                    let partial = self.imported(&source);
                    let inputs = if partial {
                        // A file other sources import that does not compile on its own (a
                        // LESS file of variables and mixins, say) is a partial: no output of
                        // its own, no error while its importers compile; tried again when it
                        // changes.
                        vec![(source.clone(), self.meta(&source))]
                    } else {
                        // Retry when the source, anything read last time, or the file the
                        // error is in changes.
                        let mut inputs = recorded.inputs.clone();
                        let mut extra = vec![source.clone()];
                        if let Error::Syntax { file, .. } | Error::Read { file, .. } = &error {
                            let at = Path::new(file);
                            extra.extend(
                                self.roots
                                    .iter()
                                    .filter_map(|r| Some(r.logical(&logical_in(at, &r.path)?))),
                            );
                        }
                        for logical in extra {
                            inputs.retain(|(p, _)| *p != logical);
                            inputs.push((logical, None));
                        }
                        inputs
                    };
                    self.state.compiled.insert(
                        source,
                        CompileRecord {
                            output: output.clone(),
                            written: previous,
                            inputs,
                            map: previous_map,
                            partial,
                        },
                    );
                    self.dirty = true;
                    if partial {
                        self.failures.remove(&output);
                        continue;
                    }
                    self.failures.insert(output, error.clone());
                    report.errors.push(error);
                }
            }
        }
    }

    /// Whether the last good compile of another source read `source`, and no bundle lists
    /// it (a bundle member must compile: django-pipeline fails on it too).
    fn imported(&self, source: &str) -> bool {
        self.state.compiled.iter().any(|(other, r)| {
            other != source && r.written.is_some() && r.inputs.iter().any(|(p, _)| p == source)
        }) && !self.defs.iter().any(|def| {
            bundle::members(def, &self.tree).is_ok_and(|m| m.iter().any(|m| m == source))
        })
    }

    fn bundle_all(&mut self, which: &[usize], report: &mut DeriveReport) {
        if which.is_empty() {
            return;
        }
        let root = self.output.to_string_lossy().into_owned();
        let output = self.output.clone();
        let tree = &self.tree;
        let read = |logical: &str| -> Result<Vec<u8>, String> {
            if !tree.is_file(logical) {
                return Err("not in the sources (nor a compiled output)".into());
            }
            fs::read(output_path(&output, logical)).map_err(|e| e.to_string())
        };
        let size = |logical: &str| {
            tree.is_file(logical)
                .then(|| fs::metadata(output_path(&output, logical)).ok())
                .flatten()
                .map(|m| m.len())
        };
        // Compiled outputs written with a map beside them.
        let mapped: HashSet<&str> = self
            .state
            .compiled
            .values()
            .filter(|r| r.map.is_some())
            .map(|r| r.output.as_str())
            .collect();
        let source_map = |logical: &str| {
            mapped
                .contains(logical)
                .then(|| fs::read_to_string(output_path(&output, &map_name(logical))).ok())
                .flatten()
        };
        let ctx = Context {
            settings: &self.settings,
            compilers: &self.compilers,
            root: &root,
            tree,
            read: &read,
            size: &size,
            source_map: &source_map,
        };
        let built: Vec<Result<BuiltBundle, Error>> = which
            .par_iter()
            .map(|&i| {
                let def = &self.defs[i];
                let members = bundle::members(def, tree)?;
                let assembled = bundle::assemble(def, &ctx)?;
                let files =
                    dev_bundle(&assembled, &|p| read(p).ok()).map_err(|message| Error::Bundle {
                        bundle: def.label(),
                        origin: def.origin.to_string(),
                        message,
                    })?;
                Ok((members, assembled.inputs, files))
            })
            .collect();
        for (&i, result) in which.iter().zip(built) {
            let def = &self.defs[i];
            let (members, inputs, files) = match result {
                Ok(b) => b,
                Err(error) => {
                    self.failures.insert(def.output.clone(), error.clone());
                    report.errors.push(error);
                    continue;
                }
            };
            let recorded = self.state.bundles.get(&def.output).cloned();
            let previous = |logical: &str| {
                recorded
                    .as_ref()
                    .and_then(|r| r.outputs.iter().find(|(o, _)| o == logical))
                    .map(|(_, m)| *m)
            };
            let mut outputs = Vec::new();
            let mut ok = true;
            for (logical, bytes) in &files {
                if self.sources.contains(logical) {
                    report.warnings.push(format!(
                        "{logical}: a source of that name is in the sources; it is served \
                         instead of {}",
                        def.label()
                    ));
                    ok = false;
                    break;
                }
                match self.write(logical, bytes, previous(logical)) {
                    Wrote::Unchanged(meta) => outputs.push((logical.clone(), meta)),
                    Wrote::Written(meta) => {
                        report.changed.push(logical.clone());
                        outputs.push((logical.clone(), meta));
                    }
                    Wrote::Conflict => {
                        report.conflicts.push(logical.clone());
                        ok = false;
                    }
                    Wrote::Failed(message) => {
                        report.errors.push(Error::Read {
                            file: logical.clone(),
                            message,
                        });
                        ok = false;
                    }
                }
            }
            if !ok {
                continue;
            }
            report.bundled += 1;
            self.failures.remove(&def.output);
            let inputs = inputs
                .into_iter()
                .map(|p| {
                    let m = self.meta(&p);
                    (p, m)
                })
                .collect();
            self.state.bundles.insert(
                def.output.clone(),
                BundleRecord {
                    key: def_key(def),
                    members,
                    inputs,
                    outputs,
                },
            );
            self.dirty = true;
        }
    }
}

/// The files an unminified dev bundle becomes: the joined code with a `sourceMappingURL`
/// comment, and its line-level `.map` (members' text included) beside it.
pub fn dev_bundle(
    assembled: &bundle::Assembled,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<bundle::OutputFile>, String> {
    // Unminified: no minifier, so neither errors nor warnings from one.
    let (mut files, _) = bundle::finish(assembled, None, read).map_err(|e| e.to_string())?;
    let Some((name, bytes)) = files.first_mut() else {
        return Err("nothing was assembled".into());
    };
    let map_name = format!("{name}.map");
    let base = map_name.rsplit('/').next().unwrap_or(&map_name).to_string();
    let file = name.rsplit('/').next().unwrap_or(name).to_string();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let map = concat_map(&file, &assembled.spans, lines);
    let comment = match assembled.kind {
        BundleKind::Css => format!("\n/*# sourceMappingURL={base} */\n"),
        BundleKind::Js => format!("\n//# sourceMappingURL={base}\n"),
    };
    bytes.extend_from_slice(comment.as_bytes());
    files.push((map_name, map.into_bytes()));
    Ok(files)
}

fn fnv(s: &std::ffi::OsStr) -> u64 {
    // FNV-1a: a stable name for the state file of one output root.
    s.as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn targets_follow_the_compilers_and_skip_partials() {
        let sources = s(&[
            "css/site.scss",
            "css/_vars.scss",
            "css/plain.css",
            "js/app.ts",
            "js/types.d.ts",
            "css/old.less",
        ]);
        let all = compile_targets(&sources, CompilerKind::DEFAULT);
        assert_eq!(
            all.into_iter().collect::<Vec<_>>(),
            vec![
                ("css/old.less".to_string(), "css/old.css".to_string()),
                ("css/site.scss".into(), "css/site.css".into()),
                ("js/app.ts".into(), "js/app.js".into()),
            ]
        );
        let sass_only = compile_targets(&sources, &[CompilerKind::Sass]);
        assert_eq!(sass_only.len(), 1);
        assert!(compile_targets(&sources, &[]).is_empty());
    }

    #[test]
    fn a_partial_change_affects_its_importers_only() {
        let sources = s(&["a.scss", "b.scss", "c.scss", "_p.scss"]);
        let targets = compile_targets(&sources, CompilerKind::DEFAULT);
        let mut inputs = BTreeMap::new();
        inputs.insert("a.scss".to_string(), s(&["a.scss", "_p.scss"]));
        inputs.insert("b.scss".to_string(), s(&["b.scss"]));
        inputs.insert("c.scss".to_string(), s(&["c.scss", "_p.scss"]));
        let changed: HashSet<&str> = ["_p.scss"].into_iter().collect();
        assert_eq!(
            affected_compiles(&targets, &inputs, &changed),
            ["a.scss", "c.scss"]
                .iter()
                .map(|x| x.to_string())
                .collect::<BTreeSet<_>>()
        );
        let changed: HashSet<&str> = ["b.scss"].into_iter().collect();
        assert_eq!(
            affected_compiles(&targets, &inputs, &changed),
            ["b.scss".to_string()].into_iter().collect::<BTreeSet<_>>()
        );
        // A source no longer compiled (removed) is not a target, whatever it read.
        let changed: HashSet<&str> = ["_p.scss"].into_iter().collect();
        let fewer = compile_targets(&s(&["a.scss", "_p.scss"]), CompilerKind::DEFAULT);
        assert_eq!(affected_compiles(&fewer, &inputs, &changed).len(), 1);
    }

    #[test]
    fn logical_paths_inside_a_root() {
        let root = Path::new("/out");
        assert_eq!(
            logical_in(Path::new("/out/css/../lib/./_x.scss"), root).as_deref(),
            Some("lib/_x.scss")
        );
        assert_eq!(logical_in(Path::new("/elsewhere/x.scss"), root), None);
        assert_eq!(logical_in(Path::new("/out/../x.scss"), root), None);
    }

    #[test]
    fn dev_bundles_link_their_map() {
        let assembled = bundle::Assembled {
            kind: BundleKind::Css,
            output: "css/all.css".into(),
            datauri: false,
            code: "a{}\nb{}".into(),
            spans: vec![
                crate::sourcemap::MemberSpan {
                    source: "a.css".into(),
                    first_line: 0,
                    line_count: 1,
                    content: Some("a{}".into()),
                    map: None,
                },
                crate::sourcemap::MemberSpan {
                    source: "b.css".into(),
                    first_line: 1,
                    line_count: 1,
                    content: Some("b{}".into()),
                    map: None,
                },
            ],
            members: s(&["css/a.css", "css/b.css"]),
            sources: s(&["css/a.css", "css/b.css"]),
            inputs: s(&["css/a.css", "css/b.css"]),
        };
        let files = dev_bundle(&assembled, &|_| None).unwrap();
        assert_eq!(files[0].0, "css/all.css");
        assert_eq!(
            String::from_utf8(files[0].1.clone()).unwrap(),
            "a{}\nb{}\n/*# sourceMappingURL=all.css.map */\n"
        );
        assert_eq!(files[1].0, "css/all.css.map");
        let map: serde_json::Value = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(map["file"], "all.css");
        assert_eq!(map["mappings"], "AAAA;ACAA");
        assert_eq!(map["sourcesContent"], serde_json::json!(["a{}", "b{}"]));
    }
}
